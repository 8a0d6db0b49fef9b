{{
    config(
        enabled=var('events_relation') is not none,
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='loaded_at',
        on_schema_change='fail',
    )
}}

{#- The events of a relation of the team's own (var events_relation) instead of the lake's files. -#}
{%- set relation = sqlrec.input_relation('events_relation') -%}
{%- set raw_columns = sqlrec.checked_input_columns(relation, 'events_relation', {
    'event_id': (false, ['text', 'integer', 'number']),
    'user_id': (true, ['text', 'integer', 'number']),
    'item_id': (true, ['text', 'integer', 'number']),
    'event_type': (true, ['text']),
    'event_time': (true, ['timestamp', 'text', 'integer', 'number']),
    'event_date': (false, ['date', 'timestamp', 'text']),
    'loaded_at': (false, ['timestamp', 'date']),
}) -%}

{#- The watermark a routine run follows: loaded_at when the relation has it, else event_time. A
    row without one is kept under 1970-01-01 and read again by every run, as is a row whose
    watermark is that instant (such rows are rejected rows, and few), so that none is lost nor
    staged twice. -#}
{%- set watermark = sqlrec.try_cast_timestamp('source.loaded_at') if 'loaded_at' in raw_columns
    else sqlrec.event_timestamp('source.event_time', raw_columns['event_time']) -%}
{%- set no_watermark = sqlrec.try_cast_timestamp("'1970-01-01 00:00:00'") -%}
{#- A watermark later than the run's start (a future event_time, which is rejected) never moves
    the next run's cutoff: such rows are read again by every run instead. -#}
{%- set run_started = sqlrec.try_cast_timestamp(
    sqlrec.sql_string(run_started_at.strftime('%Y-%m-%d %H:%M:%S'))) -%}

{#- A routine run reads the rows at most lookback_hours older than the newest staged watermark
    (late rows land there) and replaces the staged rows of every watermark it read
    (delete+insert by loaded_at). #}

with

source as (

    select * from {{ relation }} as source
    {% if is_incremental() -%}
    where coalesce({{ watermark }}, {{ no_watermark }}) = {{ no_watermark }}
        or {{ watermark }} >= (
            select {{ dbt.dateadd('hour', -(var('lookback_hours') | int),
                                   'coalesce(max(loaded_at), ' ~ no_watermark ~ ')') }}
            from {{ this }}
            where loaded_at <= {{ run_started }}
        )
    {%- endif %}

),

renamed as (

    select
        {{ sqlrec.staged_event_columns('source', raw_columns) }},
        {% if 'event_date' in raw_columns -%}
        try_cast(source.event_date as date)
        {%- else -%}
        cast(null as date)
        {%- endif %} as event_date,

        ---------- lineage
        {{ sqlrec.sql_string(relation | string) }} as source_file,
        coalesce({{ watermark }}, {{ no_watermark }}) as loaded_at

    from source

)

{#- event_date, which the lake takes from its partition folders: the relation's own, else the
    event's UTC day. -#}
select
    event_id,
    user_id,
    item_id,
    event_type,
    event_at,
    event_time_raw,
    coalesce(event_date, cast(event_at as date)) as event_date,
    source_file,
    loaded_at
from renamed
