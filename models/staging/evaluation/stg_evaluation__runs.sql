{#- The latest `sqlrec evaluate` run (empty before the first). -#}
{{ config(materialized='view', tags=['evaluation']) }}

{{ sqlrec.optional_source('evaluation', 'evaluation_runs', {
    'run_id': dbt.type_string(), 'dataset': dbt.type_string(), 'evaluated_at': dbt.type_timestamp(), 'training_users': 'bigint',
    'details': dbt.type_string()}) }}
