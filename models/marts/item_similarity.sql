{#- "Viewed together": each item's top_k most similar items. The pairs come once each
    (a < b) from int_item_pairs and are mirrored only here, before the top-k cut, which halves
    the pair join and its aggregation, where nearly all of the time goes. -#}

with

item_pairs as (

    select * from {{ ref('int_item_pairs') }}

),

item_keys as (

    select distinct item_key, item_id from {{ ref('int_user_item_vectors') }}

),

both_directions as (

    select item_key, similar_item_key, score, common_users from item_pairs
    union all
    select similar_item_key, item_key, score, common_users from item_pairs

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
