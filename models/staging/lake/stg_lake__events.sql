{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='source_file',
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

{%- set raw_columns = sqlrec.relation_columns(source('lake', 'events')) -%}

{#- A routine run reads only the files not staged yet and those that changed since they were
    staged; delete+insert by source_file replaces a changed file's old rows. The file names are
    inlined as literals so that the engine reads only those files. -#}
{%- set files_to_read = none -%}
{%- if is_incremental() -%}
    {%- set changes = sqlrec.lake_file_changes(this) -%}
    {%- set files_to_read = changes.new + changes.changed -%}
{%- endif -%}

{%- set future_limit = run_started_at + modules.datetime.timedelta(hours=var('future_tolerance_hours') | float) -%}

with

source as (

    select *, {{ sqlrec.lake_file_column() }} as source_file
    from {{ source('lake', 'events') }}
    {% if files_to_read is not none -%}
    where {% if files_to_read -%}
        {{ sqlrec.lake_file_column() }} in (
            {%- for file in files_to_read %}{{ sqlrec.sql_string(file) }}{% if not loop.last %}, {% endif %}{% endfor -%}
        )
        {%- else -%}
        1 = 0
        {%- endif %}
    {%- endif %}

),

lake_files as (

    {{ sqlrec.lake_event_files() }}

),

event_weights as (

    select * from {{ ref('event_weights') }}

),

renamed as (

    select
        ---------- ids
        {% if 'event_id' in raw_columns -%}
        {{ sqlrec.clean_id('source.event_id') }} as event_id,
        {%- else -%}
        cast(null as {{ dbt.type_string() }}) as event_id,
        {%- endif %}
        {{ sqlrec.clean_id('source.user_id') }} as user_id,
        {{ sqlrec.clean_id('source.item_id') }} as item_id,

        ---------- categories
        lower({{ sqlrec.trim_whitespace('cast(source.event_type as ' ~ dbt.type_string() ~ ')') }}) as event_type,

        ---------- timestamps
        {{ sqlrec.event_timestamp('source.event_time', raw_columns.get('event_time')) }} as event_at,
        source.event_time as event_time_source,
        cast(source.event_date as date) as event_date,

        ---------- lineage
        source.source_file,
        lake_files.file_size,
        lake_files.file_modified_at

    from source
    {# A left join: a row is never lost, even if its file vanished between the listing and the read. #}
    left join lake_files
        on source.source_file = lake_files.source_file

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
            when renamed.event_at > cast({{ sqlrec.sql_string(future_limit.strftime("%Y-%m-%d %H:%M:%S")) }} as timestamp)
                then 'future_event_time'
        end as reject_reason
    from renamed
    left join event_weights
        on renamed.event_type = event_weights.event_type

)

select
    event_id,
    user_id,
    item_id,
    event_type,
    event_at,
    event_date,
    reject_reason,
    {# The raw text is kept only where it explains a rejection. #}
    case
        when reject_reason is not null then cast(event_time_source as {{ dbt.type_string() }})
    end as event_time_raw,
    source_file,
    file_size,
    file_modified_at
from checked
