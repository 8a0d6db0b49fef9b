{#- How the events read from the lake ended: one row per outcome, 'valid' or a reject reason (every
    reason of the reject_reasons seed, 0 when none), with its count and its share of all events
    staged. The build's quality gate (test assert_enough_valid_events) reads this table. -#}

with

staged_outcomes as (

    select coalesce(reject_reason, 'valid') as outcome, count(*) as events
    from {{ ref('int_events_checked') }}
    group by coalesce(reject_reason, 'valid')

),

duplicates as (

    select count(*) as events
    from {{ ref('int_event_id_repeats') }}
    where occurrence > 1

),

outcomes as (

    select 'valid' as outcome
    union all
    select reason from {{ ref('reject_reasons') }}

),

counted as (

    select
        outcomes.outcome,
        case
            when outcomes.outcome = 'valid'
                then coalesce(staged_outcomes.events, 0) - duplicates.events
            when outcomes.outcome = 'duplicate_event_id' then duplicates.events
            else coalesce(staged_outcomes.events, 0)
        end as events
    from outcomes
    cross join duplicates
    left join staged_outcomes
        on outcomes.outcome = staged_outcomes.outcome

)

select
    outcome,
    events,
    case when sum(events) over () > 0 then 1.0 * events / sum(events) over () else 0.0 end as share
from counted
