{#- w(u,i) (docs/design.md, "The maths"): the weighted, time-decayed, log-damped interaction
    strength of a user with an item, for every pair with at least one valid event up to as_of. -#}

with

valid_events as (

    select * from {{ ref('int_valid_events') }}

),

event_weights as (

    select * from {{ ref('event_weights') }}

),

{# The latest valid event is read from the view itself, not from valid_events: DuckDB would
   materialise a CTE used twice, a copy of every event. #}
scoring_instant as (

    select {{ sqlrec.as_of_timestamp(ref('int_valid_events')) }} as as_of_at

),

strengths as (

    select
        valid_events.user_id,
        valid_events.item_id,
        sum(
            event_weights.weight
            * {{ sqlrec.decay_factor('valid_events.event_at', 'scoring_instant.as_of_at') }}
        ) as interaction_strength,
        count(*) as event_count,
        max(valid_events.event_at) as last_event_at
    from valid_events
    inner join event_weights
        on valid_events.event_type = event_weights.event_type
    cross join scoring_instant
    where valid_events.event_at <= scoring_instant.as_of_at
    group by valid_events.user_id, valid_events.item_id

),

scored as (

    select
        user_id,
        item_id,
        interaction_strength,
        {{ sqlrec.log_damped('interaction_strength') }} as score,
        event_count,
        last_event_at
    from strengths
    {# Zero-weight event types (weight 0 in the seed) carry no signal. #}
    where interaction_strength > 0

)

select * from scored
