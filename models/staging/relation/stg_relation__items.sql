{{ config(enabled=var('catalog_relation') is not none) }}

{#- The catalogue of a relation of the team's own (var catalog_relation) instead of the lake's files. -#}
{%- set relation = sqlrec.input_relation('catalog_relation') -%}

{{ sqlrec.stage_items(relation, sqlrec.checked_input_columns(relation, 'catalog_relation', {
    'item_id': (true, ['text', 'integer', 'number']),
    'category': (false, ['text']),
    'brand': (false, ['text']),
    'is_available': (false, ['boolean']),
    'price': (false, ['number', 'integer']),
})) }}
