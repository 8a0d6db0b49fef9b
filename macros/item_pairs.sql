{% macro item_pair_chunk(chunk, chunks) -%}
{#- The cosine of every unordered item pair (a < b) whose smaller item a falls in chunk `chunk`
    of `chunks`. int_item_pairs builds the chunks one statement after another: aggregating all
    pairs at once needs a hash table of every distinct pair, most of which occur once; one chunk
    at a time keeps that table, and the memory, `chunks` times smaller.

    Chunks are ranges of item_key. Item a pairs only with items b > a, so a chunk's pairs also
    only need the rows with item_key above the chunk's start, and low keys have more partners:
    the range bounds follow 1 - sqrt(1 - i / chunks), which gives the chunks about equal numbers
    of pairs. -#}
{%- set pair_key_base = 4294967296 -%}
{%- set chunks = chunks | int -%}
{%- if chunks > 1 and execute -%}
    {%- set item_count = run_query(
        "select coalesce(max(item_key), 0) from " ~ ref('int_user_item_vectors')
    ).columns[0].values()[0] | int -%}
    {%- set lower = (item_count * (1 - (1 - chunk / chunks) ** 0.5)) | int -%}
    {%- set upper = item_count if chunk == chunks - 1
        else (item_count * (1 - (1 - (chunk + 1) / chunks) ** 0.5)) | int -%}
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
        cast(item_a.item_key as bigint) * {{ pair_key_base }} + item_b.item_key as pair_key,
        sum(item_a.unit_column_score * item_b.unit_column_score) as score,
        count(*) as common_users
    from {{ ref('int_user_item_vectors') }} as item_a
    inner join {{ ref('int_user_item_vectors') }} as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key < item_b.item_key
    {% if chunks > 1 and execute -%}
    where item_a.item_key > {{ lower }} and item_a.item_key <= {{ upper }}
        and item_b.item_key > {{ lower }}
    {%- endif %}
    group by 1
    having count(*) >= {{ var('min_common_users') | int }}
) as packed_pairs
{%- endmacro %}
