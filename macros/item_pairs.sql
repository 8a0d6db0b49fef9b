{% macro item_pair_chunk(chunk, chunks) -%}
{#- The cosine of every unordered item pair (a < b) whose smaller item a falls in chunk `chunk`
    of `chunks`. int_item_pairs builds the chunks one statement after another: aggregating all
    pairs at once needs a hash table of every distinct pair, most of which occur once; one chunk
    at a time keeps that table, and the memory, `chunks` times smaller.

    Chunks are ranges of item_key. Item a pairs only with items b > a, so low keys have more
    partners: the range bounds follow 1 - sqrt(1 - i / chunks), which gives the chunks about
    equal numbers of pairs. -#}
{%- set pair_key_base = 4294967296 -%}
{%- set chunks = chunks | int -%}
{%- set key_range = none -%}
{%- if chunks > 1 and execute -%}
    {%- set item_count = run_query(
        "select coalesce(max(item_key), 0) from " ~ ref('int_user_item_vectors')
    ).columns[0].values()[0] | int -%}
    {%- set key_range = {
        'lower': (item_count * (1 - (1 - chunk / chunks) ** 0.5)) | int,
        'upper': item_count if chunk == chunks - 1
            else (item_count * (1 - (1 - (chunk + 1) / chunks) ** 0.5)) | int,
    } -%}
{%- endif -%}
select
    {{ sqlrec.integer_divide('pair_key', pair_key_base) }} as item_key,
    pair_key % {{ pair_key_base }} as similar_item_key,
    score,
    common_users
from (
    {#- A pair travels as one bigint (a * 2^32 + b): hashing one integer instead of two columns
        is the cheaper aggregation over hundreds of millions of pair rows. #}
    select
        pair_key,
        sum(product) as score,
        count(*) as common_users
    from (
        {{ sqlrec.user_item_pair_products(pair_key_base, key_range, chunks > 1) }}
    ) as pair_products
    group by pair_key
    having count(*) >= {{ var('min_common_users') | int }}
) as packed_pairs
{%- endmacro %}


{% macro user_item_pair_products(pair_key_base, key_range, chunked) -%}
    {{ return(adapter.dispatch('user_item_pair_products', 'sqlrec')(pair_key_base, key_range, chunked)) }}
{%- endmacro %}

{#- One row per user and pair of the user's items a < b (a within key_range when given): the
    pair as a packed key, and the product of the two unit-column entries. ANSI: a self-join on
    the user. -#}
{% macro default__user_item_pair_products(pair_key_base, key_range, chunked) -%}
    select
        cast(item_a.item_key as bigint) * {{ pair_key_base }} + item_b.item_key as pair_key,
        item_a.unit_column_score * item_b.unit_column_score as product
    from {{ ref('int_user_item_vectors') }} as item_a
    inner join {{ ref('int_user_item_vectors') }} as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key < item_b.item_key
    {% if key_range -%}
    where item_a.item_key > {{ key_range.lower }} and item_a.item_key <= {{ key_range.upper }}
        and item_b.item_key > {{ key_range.lower }}
    {%- endif %}
{%- endmacro %}

{#- DuckDB: from each user's items as one list sorted by key, each item pairs with the slice
    of the list after it. No join: the self-join above matches every user's n items with all n
    of them and throws half away, and its hash table of 7M rows costs more than the lists. With
    several chunks the lists are built once, into a temp table (macro item_pair_hook); a
    single statement (and a dbt unit test) builds them inline. -#}
{% macro duckdb__user_item_pair_products(pair_key_base, key_range, chunked) -%}
    select
        cast(items[position].item_key as bigint) * {{ pair_key_base }}
            + unnest(items[position + 1:]).item_key as pair_key,
        items[position].unit_column_score
            * unnest(items[position + 1:]).unit_column_score as product
    from (
        select items, unnest(range(1, len(items) + 1)) as position
        from {% if chunked -%}
            {{ sqlrec.user_item_pair_lists_relation() }}
        {%- else -%}
            ({{ sqlrec.duckdb__user_item_pair_lists() }}) as user_item_lists
        {%- endif %}
    ) as user_positions
    {% if key_range -%}
    where items[position].item_key > {{ key_range.lower }}
        and items[position].item_key <= {{ key_range.upper }}
    {%- endif %}
{%- endmacro %}

{#- Each user's kept items as one list of (item_key, unit_column_score), sorted by item_key. -#}
{% macro duckdb__user_item_pair_lists() -%}
    select
        user_key,
        list_sort(list({'item_key': item_key, 'unit_column_score': unit_column_score})) as items
    from {{ ref('int_user_item_vectors') }}
    group by user_key
{%- endmacro %}

{% macro user_item_pair_lists_relation() -%}
    {{ this.identifier }}__user_item_lists
{%- endmacro %}

{#- The statements int_item_pairs runs before (step build_lists) and after (drop_lists) its
    chunks. Only DuckDB has any, and only with several chunks: each user's sorted item list is
    built once into a temp table of this connection, which the chunks read and the last step
    drops. Elsewhere each step renders empty and dbt skips it. -#}
{% macro item_pair_hook(step, chunked) -%}
    {{ return(adapter.dispatch('item_pair_hook', 'sqlrec')(step, chunked)) }}
{%- endmacro %}

{% macro default__item_pair_hook(step, chunked) -%}{%- endmacro %}

{% macro duckdb__item_pair_hook(step, chunked) -%}
    {%- if step == 'build_lists' and chunked -%}
        create or replace temp table {{ sqlrec.user_item_pair_lists_relation() }} as
        {{ sqlrec.duckdb__user_item_pair_lists() }}
    {%- elif step == 'drop_lists' and chunked -%}
        drop table if exists {{ sqlrec.user_item_pair_lists_relation() }}
    {%- endif -%}
{%- endmacro %}
