{% macro item_pair_chunk(chunk, chunks) -%}
{#- The cosine of every unordered item pair (a < b) whose item a falls in chunk `chunk` of
    `chunks` (by item_key modulo). int_item_pairs builds the chunks one statement after another:
    the aggregation of all pairs at once needs a hash table of every distinct pair, most of which
    occur once; one chunk at a time keeps that table, and the memory, `chunks` times smaller. -#}
{%- set pair_key_base = 4294967296 -%}
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
    {% if chunks | int > 1 -%}
    where item_a.item_key % {{ chunks }} = {{ chunk }}
    {%- endif %}
    group by 1
    having count(*) >= {{ var('min_common_users') | int }}
) as packed_pairs
{%- endmacro %}
