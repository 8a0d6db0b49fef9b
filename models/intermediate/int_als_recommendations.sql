{#- The ALS signal of "for you": the ALS list of every user who still has valid events, minus
    what the user already touched and what is sold out now (the ALS tables may be older than
    this build), positive predictions only. Empty before the first `sqlrec train`. -#}

with

als_recommendations as (

    select user_id, item_id, als_score
    from {{ ref('stg_als__user_recommendations') }}
    where als_score > 0

),

interactions as (

    select user_id, item_id from {{ ref('int_user_item_scores') }}

),

users as (

    select distinct user_id from interactions

),

items as (

    select item_id, is_available from {{ ref('int_items_enriched') }}

)

select
    als_recommendations.user_id,
    als_recommendations.item_id,
    als_recommendations.als_score as raw_score
from als_recommendations
inner join users
    on als_recommendations.user_id = users.user_id
left join interactions
    on als_recommendations.user_id = interactions.user_id
    and als_recommendations.item_id = interactions.item_id
left join items
    on als_recommendations.item_id = items.item_id
where interactions.item_id is null
    and coalesce(items.is_available, true)
