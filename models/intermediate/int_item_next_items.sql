{#- "Viewed next": for each item, the items users went on to within next_items_window steps after
    it, and the share of those moves each takes: next_share(i -> j) = moves(i -> j) / moves(i).
    A user's steps are their valid events up to as_of in time order (ties by item id), an event
    on the item of the step before it being the same step. An input of the learned second stage
    (var ranker; docs/training.md, "A learned second stage"). -#}

{{ config(enabled=var('ranker')) }}

{%- set window = var('next_items_window') | int -%}

with

valid_events as (

    select * from {{ ref('int_valid_events') }}

),

scoring_instant as (

    select {{ sqlrec.as_of_timestamp(ref('int_valid_events')) }} as as_of_at

),

ordered_events as (

    select
        valid_events.user_id,
        valid_events.item_id,
        valid_events.event_at,
        lag(valid_events.item_id) over (
            partition by valid_events.user_id
            order by valid_events.event_at, valid_events.item_id
        ) as previous_item_id
    from valid_events
    cross join scoring_instant
    where valid_events.event_at <= scoring_instant.as_of_at

),

steps as (

    select
        user_id,
        item_id,
        row_number() over (partition by user_id order by event_at, item_id) as step_number
    from ordered_events
    where previous_item_id is null or previous_item_id <> item_id

),

moves as (

    select
        steps.item_id,
        later_steps.item_id as next_item_id,
        count(*) as move_count
    from steps
    inner join steps as later_steps
        on steps.user_id = later_steps.user_id
        and later_steps.step_number > steps.step_number
        and later_steps.step_number <= steps.step_number + {{ window }}
    where later_steps.item_id <> steps.item_id
    group by steps.item_id, later_steps.item_id

)

select
    item_id,
    next_item_id,
    move_count,
    cast(move_count as double) / sum(move_count) over (partition by item_id) as next_share
from moves
