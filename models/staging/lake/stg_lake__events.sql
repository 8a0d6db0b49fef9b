{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
    )
}}

{#- Fail early, naming the path, when the lake has no events at all. -#}
{%- if not sqlrec.lake_files_exist(var('events_path')) -%}
    {{ exceptions.raise_compiler_error(
        "No event files match events_path '" ~ var('events_path') ~ "'. Point the var at your "
        ~ "lake (dbt build --vars '{events_path: \"<lake>/events/*/*.parquet\"}') or generate "
        ~ "demo data with `sqlrec generate --out <lake>`."
    ) }}
{%- endif -%}

{%- set raw_columns = sqlrec.relation_column_names(source('lake', 'events')) -%}
{%- set has_event_id = 'event_id' in raw_columns -%}

{# Partitions are processed once: a run reads only days after the newest one already staged.
    The watermark is inlined as a literal so that the engine can prune partitions by name. #}
{%- set watermark = none -%}
{%- if is_incremental() and execute -%}
    {%- set watermark = run_query("select cast(max(event_date) as varchar) from " ~ this).columns[0].values()[0] -%}
{%- endif -%}

{%- set future_limit = run_started_at + modules.datetime.timedelta(hours=var('future_tolerance_hours') | int) -%}

with

source as (

    select * from {{ source('lake', 'events') }}
    {% if watermark %}
    where cast(event_date as date) > cast('{{ watermark }}' as date)
    {% endif %}

),

event_weights as (

    select * from {{ ref('event_weights') }}

),

renamed as (

    select
        ---------- ids
        {% if has_event_id -%}
        nullif({{ sqlrec.trim_spaces('cast(event_id as ' ~ dbt.type_string() ~ ')') }}, '') as event_id,
        {%- else -%}
        cast(null as {{ dbt.type_string() }}) as event_id,
        {%- endif %}
        nullif({{ sqlrec.trim_spaces('cast(user_id as ' ~ dbt.type_string() ~ ')') }}, '') as user_id,
        nullif({{ sqlrec.trim_spaces('cast(item_id as ' ~ dbt.type_string() ~ ')') }}, '') as item_id,

        ---------- categories
        lower({{ sqlrec.trim_spaces('cast(event_type as ' ~ dbt.type_string() ~ ')') }}) as event_type,

        ---------- timestamps
        {{ sqlrec.try_cast_timestamp('event_time') }} as event_at,
        event_time as event_time_source,
        cast(event_date as date) as event_date

    from source

),

checked as (

    select
        renamed.*,
        case
            when renamed.user_id is null then 'missing_user_id'
            when renamed.item_id is null then 'missing_item_id'
            when event_weights.event_type is null then 'unknown_event_type'
            when renamed.event_time_source is null then 'missing_event_time'
            when renamed.event_at is null then 'unparsable_event_time'
            when renamed.event_at > cast('{{ future_limit.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp)
                then 'future_event_time'
        end as invalid_reason
    from renamed
    left join event_weights
        on renamed.event_type = event_weights.event_type

),

{# A repeated event_id is kept once: its earliest occurrence, in this batch or an earlier one.
   Repeats are rare, so only the rows of repeated ids are ranked. Finding them groups every
   event_id, and grouping (then joining) on a hash of the id is cheaper than on the long string.
   A hash collision can only flag a few unrepeated ids as candidates: the ranking below goes by
   the exact event_id, so such an id still ranks first and is kept. #}
repeated_event_ids as (

    select {{ sqlrec.string_hash('event_id') }} as event_id_hash
    from checked
    where invalid_reason is null and event_id is not null
    group by {{ sqlrec.string_hash('event_id') }}
    having count(*) > 1

),

{# The rows of repeated ids are picked straight from checked, the others by an anti-join: no
   flagged copy of every row in between (DuckDB materialises a CTE that is used twice). #}
ordered as (

    select checked.*, 1 as event_id_occurrence
    from checked
    left join repeated_event_ids
        on {{ sqlrec.string_hash('checked.event_id') }} = repeated_event_ids.event_id_hash
        and checked.event_id is not null
        and checked.invalid_reason is null
    where repeated_event_ids.event_id_hash is null

    union all

    select
        checked.*,
        row_number() over (
            partition by checked.event_id
            order by checked.event_date, checked.event_at, checked.user_id, checked.item_id,
                checked.event_type
        ) as event_id_occurrence
    from checked
    inner join repeated_event_ids
        on {{ sqlrec.string_hash('checked.event_id') }} = repeated_event_ids.event_id_hash
        and checked.event_id is not null
        and checked.invalid_reason is null

)

select
    ordered.event_id,
    ordered.user_id,
    ordered.item_id,
    ordered.event_type,
    ordered.event_at,
    ordered.event_date,
    case
        when ordered.invalid_reason is not null then ordered.invalid_reason
        when ordered.event_id_occurrence > 1 then 'duplicate_event_id'
        {% if watermark -%}
        when ordered.event_id in (
            select staged.event_id from {{ this }} as staged
            where staged.reject_reason is null and staged.event_id is not null
        ) then 'duplicate_event_id'
        {%- endif %}
    end as reject_reason,
    {# The raw text is kept only where it explains a rejection. #}
    case
        when ordered.invalid_reason is not null
            then cast(ordered.event_time_source as {{ dbt.type_string() }})
    end as event_time_raw
from ordered
