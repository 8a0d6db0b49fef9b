{#- "Viewed together": cosine similarity of items over users' normalised vectors, top_k per item.
    Each unordered pair is generated once (a < b) and mirrored only before the top-k cut, which
    halves the pair join and its aggregation, where nearly all of the time goes. -#}

with

user_item_vectors as (

    select user_key, item_key, item_id, normalized_score
    from {{ ref('int_user_item_vectors') }}

),

item_keys as (

    select distinct item_key, item_id from user_item_vectors

),

unordered_pairs as (

    select
        item_a.item_key as item_key,
        item_b.item_key as similar_item_key,
        sum(item_a.normalized_score * item_b.normalized_score) as score,
        count(*) as common_users
    from user_item_vectors as item_a
    inner join user_item_vectors as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key < item_b.item_key
    group by item_a.item_key, item_b.item_key
    having count(*) >= {{ var('min_common_users') | int }}

),

both_directions as (

    select item_key, similar_item_key, score, common_users from unordered_pairs
    union all
    select similar_item_key, item_key, score, common_users from unordered_pairs

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
