{#- "Viewed together": the cosine of two items' columns in the user-normalised matrix, top_k per
    item. Each column is scaled to unit length first, so a pair's cosine is a plain sum of
    products. Each unordered pair is generated once (a < b) and mirrored only before the top-k cut, which
    halves the pair join and its aggregation, where nearly all of the time goes. -#}

{%- set pair_key_base = 4294967296 -%}

with

user_item_vectors as (

    select user_key, item_key, item_id, normalized_score
    from {{ ref('int_user_item_vectors') }}

),

{# Dividing each entry by its item's column norm turns the dot product below into the cosine. #}
item_columns as (

    select
        user_key,
        item_key,
        normalized_score / sqrt(sum(normalized_score * normalized_score) over (partition by item_key))
            as unit_column_score
    from user_item_vectors

),

item_keys as (

    select distinct item_key, item_id from user_item_vectors

),

{# A pair travels as one bigint (a * 2^32 + b): hashing one integer instead of two columns is what
   makes the aggregation of hundreds of millions of pair rows affordable. #}
unordered_pairs as (

    select
        cast(item_a.item_key as bigint) * {{ pair_key_base }} + item_b.item_key as pair_key,
        sum(item_a.unit_column_score * item_b.unit_column_score) as score,
        count(*) as common_users
    from item_columns as item_a
    inner join item_columns as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key < item_b.item_key
    group by 1
    having count(*) >= {{ var('min_common_users') | int }}

),

unpacked_pairs as (

    select
        {{ sqlrec.integer_divide('pair_key', pair_key_base) }} as item_key,
        pair_key % {{ pair_key_base }} as similar_item_key,
        score,
        common_users
    from unordered_pairs

),

both_directions as (

    select item_key, similar_item_key, score, common_users from unpacked_pairs
    union all
    select similar_item_key, item_key, score, common_users from unpacked_pairs

),

top_pairs as (

    {{ sqlrec.top_n_per_group(
        'both_directions', 'item_key', 'score desc, similar_item_key', var('top_k')
    ) }}

)

select
    items.item_id,
    similar_items.item_id as similar_item_id,
    top_pairs.score,
    top_pairs.rank,
    top_pairs.common_users
from top_pairs
inner join item_keys as items
    on top_pairs.item_key = items.item_key
inner join item_keys as similar_items
    on top_pairs.similar_item_key = similar_items.item_key
