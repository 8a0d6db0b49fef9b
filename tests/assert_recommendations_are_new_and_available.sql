{#- A recommendation is never an item the user already interacted with, nor a sold-out item. -#}
with

recommendations as (

    select * from {{ ref('user_recommendations') }}

),

interactions as (

    select * from {{ ref('int_user_item_scores') }}

),

items as (

    select * from {{ ref('int_items_enriched') }}

)

select recommendations.*, 'already interacted' as problem
from recommendations
inner join interactions
    on recommendations.user_id = interactions.user_id
    and recommendations.item_id = interactions.item_id

union all

select recommendations.*, 'unavailable' as problem
from recommendations
inner join items
    on recommendations.item_id = items.item_id
where not items.is_available
