{#- Not built when a relation of the team's stands in for the lake (stg_relation__items). -#}
{{ config(enabled=not sqlrec.items_from_relation()) }}

{#- The catalogue is optional: with no file, this model is empty and every item counts as available.
    Only item_id is required; a catalogue without one of the other columns gives nulls there. -#}
{%- set has_catalog = sqlrec.lake_files_exist(var('catalog_path')) -%}

{{ sqlrec.stage_items(
    source('lake', 'items') if has_catalog else none,
    sqlrec.relation_columns(source('lake', 'items')) if has_catalog else {}
) }}
