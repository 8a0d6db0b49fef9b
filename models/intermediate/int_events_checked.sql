{#- Every staged event with the reason it cannot be used, or null for a usable one. The checks run
    on every build over the whole staged history, so a var that changes (future_tolerance_hours)
    applies to every event, as a full refresh would. Repeated event_ids are settled after this,
    in int_event_id_repeats.

    A view: each of its readers takes one pass over the staged events, and a copy of every event
    would cost more than the join with the few rows of event_weights. -#}

{{ config(materialized='view') }}

{%- set future_limit = run_started_at + modules.datetime.timedelta(hours=var('future_tolerance_hours') | float) -%}

with

staged_events as (

    select * from {{ sqlrec.staged_events() }}

),

event_weights as (

    select * from {{ ref('event_weights') }}

),

checked as (

    select
        staged_events.event_id,
        staged_events.user_id,
        staged_events.item_id,
        staged_events.event_type,
        staged_events.event_at,
        staged_events.event_date,
        case
            when staged_events.user_id is null then 'missing_user_id'
            when staged_events.item_id is null then 'missing_item_id'
            when {{ dbt.length('staged_events.user_id') }} > {{ var('max_id_length') | int }}
                or {{ dbt.length('staged_events.item_id') }} > {{ var('max_id_length') | int }}
                then 'id_too_long'
            when event_weights.event_type is null then 'unknown_event_type'
            when staged_events.event_at is null and staged_events.event_time_raw is null
                then 'missing_event_time'
            when staged_events.event_at is null then 'unparsable_event_time'
            when staged_events.event_at < cast({{ sqlrec.sql_string(var('min_event_time') | trim | replace('T', ' ')) }} as timestamp)
                then 'too_old_event_time'
            when staged_events.event_at > cast({{ sqlrec.sql_string(future_limit.strftime("%Y-%m-%d %H:%M:%S")) }} as timestamp)
                then 'future_event_time'
        end as reject_reason,
        staged_events.event_time_raw,
        staged_events.source_file
    from staged_events
    left join event_weights
        on staged_events.event_type = event_weights.event_type

)

select * from checked
