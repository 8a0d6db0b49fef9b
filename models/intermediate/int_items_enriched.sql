{#- Every item seen in valid events, with its catalogue attributes. An item the catalogue does
    not list (or no catalogue at all) counts as available, with no category. -#}

with

user_item_scores as (

    select * from {{ ref('int_user_item_scores') }}

),

catalogue as (

    select * from {{ sqlrec.staged_items() }}

),

item_activity as (

    select
        item_id,
        sum(score) as total_score,
        count(*) as user_count,
        max(last_event_at) as last_event_at
    from user_item_scores
    group by item_id

)

select
    item_activity.item_id,
    catalogue.category,
    catalogue.brand,
    coalesce(catalogue.is_available, true) as is_available,
    catalogue.price,
    item_activity.total_score,
    item_activity.user_count,
    item_activity.last_event_at
from item_activity
left join catalogue
    on item_activity.item_id = catalogue.item_id
