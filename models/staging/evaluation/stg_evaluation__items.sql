{#- The training part's items of the latest `sqlrec evaluate` run, with their popularity and
    category (empty before the first). -#}
{{ config(materialized='view', tags=['evaluation']) }}

{{ sqlrec.optional_source('evaluation', 'evaluation_items', {
    'run_id': dbt.type_string(), 'item_id': dbt.type_string(), 'training_users': 'bigint',
    'category': dbt.type_string()}) }}
