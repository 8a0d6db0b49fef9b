{#- One row per user and pair of the user's kept items (item_key < similar_item_key) whose
    smaller item falls in a chunk's key range: the pair as one packed bigint
    (item_key * 2^32 + similar_item_key; one integer is the cheaper group key over hundreds of
    millions of rows) and the product of the two entries' pair_weight.

    `bounds` names a relation with one row (lower_key, upper_key): the chunk is
    lower_key < item_key <= upper_key. -#}
{% macro user_item_pairs(bounds) -%}
    {{ return(adapter.dispatch('user_item_pairs', 'sqlrec')(bounds)) }}
{%- endmacro %}

{#- ANSI: a self-join of the user-item vectors on the user. -#}
{% macro default__user_item_pairs(bounds) -%}
    select
        cast(item_a.item_key as bigint) * 4294967296 + item_b.item_key as pair_key,
        item_a.pair_weight * item_b.pair_weight as product
    from {{ ref('int_user_item_vectors') }} as item_a
    inner join {{ ref('int_user_item_vectors') }} as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key < item_b.item_key
    cross join {{ bounds }} as chunk_bounds
    where item_a.item_key > chunk_bounds.lower_key
        and item_a.item_key <= chunk_bounds.upper_key
{%- endmacro %}

{#- DuckDB: each user's items as one list sorted by key (int_user_item_lists); each item pairs
    with the slice of the list after it. No join: the self-join matches every user's n items
    with all n of them and throws half away, and its hash table of the vectors costs more than
    the lists (docs/design.md, "Performance"). -#}
{% macro duckdb__user_item_pairs(bounds) -%}
    select
        cast(item.item_key as bigint) * 4294967296 + partner.item_key as pair_key,
        item.pair_weight * partner.pair_weight as product
    from (
        {# the slice is unnested once, as whole entries, not once per field -#}
        select items[position] as item, unnest(items[position + 1:]) as partner
        from (
            select items, unnest(range(1, len(items) + 1)) as position
            from {{ ref('int_user_item_lists') }}
        ) as user_positions
        cross join {{ bounds }} as chunk_bounds
        where items[position].item_key > chunk_bounds.lower_key
            and items[position].item_key <= chunk_bounds.upper_key
    ) as user_pairs
{%- endmacro %}
