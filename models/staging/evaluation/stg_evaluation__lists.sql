{#- Every recommender's ranked lists of the latest `sqlrec evaluate` run (empty before the first). -#}
{{ config(materialized='view', tags=['evaluation']) }}

{{ sqlrec.optional_source('evaluation', 'evaluation_lists', {
    'run_id': dbt.type_string(), 'recommender': dbt.type_string(), 'user_id': dbt.type_string(),
    'item_id': dbt.type_string(), 'rank': 'integer'}) }}
