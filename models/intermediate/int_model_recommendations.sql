{#- The model signals of "for you" (ALS, EASE): each model's list for every user who still has
    valid events, minus what the user already touched and what is sold out now (the model tables
    may be older than this build), positive scores only. Empty for a model before its first
    `sqlrec train`. -#}

with

model_recommendations as (

    select model, user_id, item_id, model_score, because_item_id
    from {{ ref('stg_trained_lists__user_recommendations') }}
    where model_score > 0

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
    model_recommendations.model,
    model_recommendations.user_id,
    model_recommendations.item_id,
    model_recommendations.model_score as raw_score,
    model_recommendations.because_item_id
from model_recommendations
inner join users
    on model_recommendations.user_id = users.user_id
left join interactions
    on model_recommendations.user_id = interactions.user_id
    and model_recommendations.item_id = interactions.item_id
left join items
    on model_recommendations.item_id = items.item_id
where interactions.item_id is null
    and coalesce(items.is_available, true)
