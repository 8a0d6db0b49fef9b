{{
    config(
        enabled=not var('events_relation'),
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

{#- Why staging joins the file listing: a routine run decides what to read by comparing the lake's
    files with the size and modification time each staged row recorded when its file was read
    (macro lake_file_changes reads them back from this table), and only the run that reads a
    file can record them. -#}
lake_files as (

    {{ sqlrec.lake_event_files() }}

),

renamed as (

    select
        {{ sqlrec.staged_event_columns('source', raw_columns) }},
        cast(source.event_date as date) as event_date,

        ---------- lineage
        source.source_file,
        lake_files.file_size,
        lake_files.file_modified_at

    from source
    {# A left join: a row is never lost, even if its file vanished between the listing and the read. #}
    left join lake_files
        on source.source_file = lake_files.source_file

)

select * from renamed
