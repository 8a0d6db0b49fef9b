{#- The held-out interactions of the latest `sqlrec evaluate` run (empty before the first). -#}
{{ config(materialized='view', tags=['evaluation']) }}

{{ sqlrec.optional_source('evaluation', 'evaluation_holdout', {
    'run_id': dbt.type_string(), 'user_id': dbt.type_string(), 'item_id': dbt.type_string()}) }}
