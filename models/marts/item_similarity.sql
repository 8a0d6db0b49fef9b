{#- "Viewed together": each item's top_k most similar items. The pairs come once each
    (a < b) from int_item_pairs and are mirrored only here, before the top-k cut, which halves
    the pair join and its aggregation, where nearly all of the time goes. -#}

{%- set top_k = var('top_k') | int -%}

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

{% if top_k > 0 -%}
{# Ranking every pair is the costly part of this model. A cheap lower bound for each item's k-th
   best score comes from ranking only its well-supported pairs (a subset: the k-th best of a
   subset can only be lower), and every pair below that bound is dropped before the full ranking.
   No true top-k pair is ever dropped; ties at the bound are kept. #}
well_supported_pairs as (

    select item_key, score
    from both_directions
    where common_users >= {{ var('min_common_users') | int + 2 }}

),

score_floors as (

    select item_key, score as score_floor
    from ({{ sqlrec.top_n_per_group('well_supported_pairs', 'item_key', 'score desc', top_k, 'floor_rank') }}) as ranked
    where floor_rank = {{ top_k }}

),

candidate_pairs as (

    select both_directions.*
    from both_directions
    left join score_floors
        on both_directions.item_key = score_floors.item_key
    where score_floors.score_floor is null
        or both_directions.score >= score_floors.score_floor

),

{% else -%}
candidate_pairs as (

    select * from both_directions

),

{% endif -%}
top_pairs as (

    {{ sqlrec.top_n_per_group(
        'candidate_pairs', 'item_key', 'score desc, similar_item_key', top_k
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
