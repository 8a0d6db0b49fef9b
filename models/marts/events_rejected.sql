{#- Raw events that could not be used, each with the reason: nothing read from the lake is lost. -#}

with

staged_events as (

    select * from {{ ref('stg_lake__events') }}

)

select
    event_id,
    user_id,
    item_id,
    event_type,
    coalesce(event_time_raw, cast(event_at as {{ dbt.type_string() }})) as event_time,
    event_date,
    reject_reason as reason
from staged_events
where reject_reason is not null
