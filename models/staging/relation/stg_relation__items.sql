{#- The catalogue of a relation of the team's own (var catalog_relation) instead of the lake's
    files; with events from a relation (var events_relation) and no catalog_relation there is no
    catalogue: this model is empty and every item counts as available. -#}
{{ config(enabled=sqlrec.items_from_relation()) }}

{%- set relation = sqlrec.input_relation('catalog_relation') if var('catalog_relation') is not none else none -%}

{{ sqlrec.stage_items(relation, {} if relation is none else sqlrec.checked_input_columns(relation, 'catalog_relation', {
    'item_id': (true, ['text', 'integer', 'number']),
    'category': (false, ['text']),
    'brand': (false, ['text']),
    'is_available': (false, ['boolean']),
    'price': (false, ['number', 'integer']),
})) }}
