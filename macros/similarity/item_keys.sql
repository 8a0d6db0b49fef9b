{#- A select of every item of int_items_enriched (every item with a valid event) with a dense
    integer key in the order of the ids, and its availability: the surrogate keys the
    recommendation models join and group on instead of the id strings. One definition, so that
    int_item_neighbours and int_similarity_recommendations give an item the same key. -#}
{% macro item_keys() -%}
    select
        item_id,
        is_available,
        row_number() over (order by item_id) as item_key
    from {{ ref('int_items_enriched') }}
{%- endmacro %}
