{#- The lake's event files, and how they differ from what stg_lake__events already staged.

    Staging tracks files, not days: every staged row carries its file (source_file) with the
    size and modification time the file had when it was read. A run reads the files it has not
    staged yet and the files that changed since (their old rows are replaced), so a late file
    in an old day, or a file added to a day already staged, is never skipped. -#}

{% macro lake_files_exist(path_glob) -%}
    {{ return(adapter.dispatch('lake_files_exist', 'sqlrec')(path_glob)) }}
{%- endmacro %}

{# DuckDB reads the lake directly: ask its glob() whether any file matches. #}
{% macro duckdb__lake_files_exist(path_glob) -%}
    {% if not execute %}{{ return(true) }}{% endif %}
    {% set result = run_query("select count(*) from glob(" ~ sqlrec.sql_string(path_glob) ~ ")") %}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{# Engines that read the lake through tables cannot see files: the table decides. #}
{% macro default__lake_files_exist(path_glob) -%}
    {{ return(true) }}
{%- endmacro %}

{# Trino sees the lake only as tables (macro register_lake_tables makes them): the glob of var
   catalog_path stands for the table lake.items, which must exist; any other glob (events_path)
   for lake.events, which must exist and have at least one partition. #}
{% macro trino__lake_files_exist(path_glob) -%}
    {% if not execute %}{{ return(true) }}{% endif %}
    {%- set table = 'items' if path_glob == var('catalog_path') else 'events' -%}
    {%- set relation = adapter.get_relation(
        database=var('lake_catalog'), schema=var('lake_schema'), identifier=table
    ) -%}
    {% if relation is none %}{{ return(false) }}{% endif %}
    {% if table == 'items' %}{{ return(true) }}{% endif %}
    {% set result = run_query('select count(*) from ' ~ sqlrec.sql_identifier(relation.database)
        ~ '.' ~ sqlrec.sql_identifier(relation.schema) ~ '.' ~ sqlrec.sql_identifier(table ~ '$partitions')) %}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}


{#- The column of a lake row that names the file it was read from. -#}
{% macro lake_file_column() -%}
    {{ return(adapter.dispatch('lake_file_column', 'sqlrec')()) }}
{%- endmacro %}

{% macro default__lake_file_column() -%}
    "$path"
{%- endmacro %}

{# DuckDB's Parquet reader has the file of each row as the virtual column `filename`. #}
{% macro duckdb__lake_file_column() -%}
    filename
{%- endmacro %}


{#- A select of the event files in the lake now: source_file, file_size (bytes) and
    file_modified_at (UTC). -#}
{% macro lake_event_files() -%}
    {{ return(adapter.dispatch('lake_event_files', 'sqlrec')()) }}
{%- endmacro %}

{# The Hive connector knows each row's file, its size and modification time. #}
{% macro default__lake_event_files() -%}
    select distinct
        "$path" as source_file,
        "$file_size" as file_size,
        cast("$file_modified_time" at time zone 'UTC' as timestamp(6)) as file_modified_at
    from {{ source('lake', 'events') }}
{%- endmacro %}

{# read_blob lists the files with their size and time and reads no content unless asked to. #}
{% macro duckdb__lake_event_files() -%}
    select
        filename as source_file,
        size as file_size,
        last_modified at time zone 'UTC' as file_modified_at
    from read_blob({{ sqlrec.sql_string(var('events_path')) }})
{%- endmacro %}


{#- How the lake differs from what `staged` (stg_lake__events) holds, as
    {'new': [...], 'changed': [...], 'removed': [...]} lists of files. A changed file has another
    size or modification time than when it was staged. Logged, so that every run says what it
    reads and what it found changed or gone. -#}
{% macro lake_file_changes(staged) -%}
    {%- set changes = {'new': [], 'changed': [], 'removed': []} -%}
    {%- if not execute -%}{{ return(changes) }}{%- endif -%}
    {%- set query -%}
        with

        lake_files as (
            {{ sqlrec.lake_event_files() }}
        ),

        staged_files as (
            select distinct source_file, file_size, file_modified_at from {{ staged }}
        )

        select
            coalesce(lake_files.source_file, staged_files.source_file) as source_file,
            case
                when staged_files.source_file is null then 'new'
                when lake_files.source_file is null then 'removed'
                else 'changed'
            end as change
        from lake_files
        full outer join staged_files
            on lake_files.source_file = staged_files.source_file
        where staged_files.source_file is null
            or lake_files.source_file is null
            or lake_files.file_size is distinct from staged_files.file_size
            or lake_files.file_modified_at is distinct from staged_files.file_modified_at
        order by 1
    {%- endset -%}
    {%- for row in run_query(query).rows -%}
        {%- do changes[row[1]].append(row[0]) -%}
    {%- endfor -%}
    {%- if changes.changed -%}
        {{ log("stg_lake__events: " ~ changes.changed | length ~ " staged file(s) changed since they "
            ~ "were read and are read again, their old rows replaced: " ~ changes.changed[:5] | join(', ')
            ~ (' ...' if changes.changed | length > 5 else ''), info=True) }}
    {%- endif -%}
    {%- if changes.removed -%}
        {{ log("stg_lake__events: " ~ changes.removed | length ~ " staged file(s) are no longer in "
            ~ "the lake; their rows stay staged (dbt build --full-refresh drops them): "
            ~ changes.removed[:5] | join(', ') ~ (' ...' if changes.removed | length > 5 else ''),
            info=True) }}
    {%- endif -%}
    {{ log("stg_lake__events: " ~ changes.new | length ~ " new file(s), " ~ changes.changed | length
        ~ " changed, " ~ changes.removed | length ~ " removed", info=True) }}
    {{ return(changes) }}
{%- endmacro %}
