{#- Raw events that could not be used, each with the reason and the file it came from: nothing read
    from the lake is lost. -#}

with

checked_events as (

    select * from {{ ref('int_events_checked') }}

),

repeats as (

    select * from {{ ref('int_event_id_repeats') }}

)

select
    event_id,
    user_id,
    item_id,
    event_type,
    coalesce(event_time_raw, cast(event_at as {{ dbt.type_string() }})) as event_time,
    event_date,
    reject_reason as reason,
    source_file
from checked_events
where reject_reason is not null

union all

select
    event_id,
    user_id,
    item_id,
    event_type,
    cast(event_at as {{ dbt.type_string() }}) as event_time,
    event_date,
    'duplicate_event_id' as reason,
    source_file
from repeats
where occurrence > 1
