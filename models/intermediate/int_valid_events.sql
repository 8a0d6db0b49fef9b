{#- The events every score is computed from: the checked events with no reject reason, each event_id
    once (its kept occurrence, int_event_id_repeats).

    A view: it is read once per build, and a copy of every event would cost more than the
    anti-join against the few repeated ids. It depends on int_event_counts so that the build's
    quality gate (test assert_enough_valid_events) runs before anything reads it. -#}

{{ config(materialized='view') }}

-- depends_on: {{ ref('int_event_counts') }}

with

repeated_ids as (

    select distinct event_id_hash from {{ ref('int_event_id_repeats') }}

),

unrepeated as (

    select
        checked.event_id,
        checked.user_id,
        checked.item_id,
        checked.event_type,
        checked.event_at,
        checked.event_date
    from {{ ref('int_events_checked') }} as checked
    left join repeated_ids
        on checked.event_id is not null
        and {{ sqlrec.string_hash('checked.event_id') }} = repeated_ids.event_id_hash
    where checked.reject_reason is null
        and repeated_ids.event_id_hash is null

),

kept_repeats as (

    select event_id, user_id, item_id, event_type, event_at, event_date
    from {{ ref('int_event_id_repeats') }}
    where occurrence = 1

)

select * from unrepeated
union all
select * from kept_repeats
