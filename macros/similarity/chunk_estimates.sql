{#- The row counts the chunked models' aggregations will read, from which the materialization
    chunked_table works out their number of chunks (config chunk_estimate; macro
    chunks_to_build). Each is a query of one row and one column, run before the first chunk. -#}

{#- int_item_pairs: one row per user and pair of the user's kept items, n (n - 1) / 2 for a user
    with n; exact. -#}
{% macro item_pair_rows() -%}
    {{ return(adapter.dispatch('item_pair_rows', 'sqlrec')()) }}
{%- endmacro %}

{% macro default__item_pair_rows() -%}
    select coalesce(sum(cast(kept_items as bigint) * (kept_items - 1) / 2), 0) as pair_rows
    from (
        select count(*) as kept_items
        from {{ ref('int_user_item_vectors') }}
        group by user_key
    ) as users
{%- endmacro %}

{#- DuckDB: the per-user lists the pairs come from, one row per user. -#}
{% macro duckdb__item_pair_rows() -%}
    select coalesce(sum(cast(len(items) as bigint) * (len(items) - 1) // 2), 0) as pair_rows
    from {{ ref('int_user_item_lists') }}
{%- endmacro %}


{#- int_similarity_recommendations: one row per user, recent item and neighbour of that item
    (before sold-out neighbours are dropped, so an upper bound). -#}
{% macro similarity_candidate_rows() -%}
    {{ return(adapter.dispatch('similarity_candidate_rows', 'sqlrec')()) }}
{%- endmacro %}

{% macro default__similarity_candidate_rows() -%}
    select coalesce(sum(recent.users * neighbours.neighbours), 0) as candidate_rows
    from (
        select item_id, count(*) as users
        from {{ ref('user_recent_items') }}
        group by item_id
    ) as recent
    inner join (
        select item_id, count(*) as neighbours
        from {{ ref('item_similarity') }}
        group by item_id
    ) as neighbours
        on recent.item_id = neighbours.item_id
{%- endmacro %}
