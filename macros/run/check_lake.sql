{#- The lake's layout and columns, checked at the start of a run so that a lake that breaks the
    input contract fails with the file, the column and what was expected, not with an engine
    error deep inside a model. An events_relation or catalog_relation in place of the files is
    checked by its staging model, once the models it may come from are built. -#}

{% macro check_lake() -%}
    {{ return(adapter.dispatch('check_lake', 'sqlrec')()) }}
{%- endmacro %}

{# On Trino the lake is a pair of tables whose columns the project declares (var
   lake_events_columns): a file without a column reads as nulls there, and its rows are rejected
   with a reason, which the build's quality gate counts. #}
{% macro default__check_lake() -%}
{%- endmacro %}

{% macro duckdb__check_lake() -%}
    {%- set events_root = sqlrec.glob_folder(var('events_path')) -%}
    {%- set problems = [] -%}
    {#- a path naming one file (no wildcard) has no layout to check -#}
    {%- if events_root is not none and sqlrec.is_wildcard(var('events_path'))
        and var('events_relation') is none -%}
        {#- Files that are not Parquet, or not in an event_date=YYYY-MM-DD folder, would be skipped
            by the glob or break the partitioning. Names starting with _ or . are a writer's own
            (_SUCCESS, .crc) and skipped. -#}
        {%- set listing -%}
            select file from glob({{ sqlrec.sql_string(events_root ~ '/**') }})
            where not regexp_matches(file, '(^|/)[._][^/]*$')
            order by file
        {%- endset -%}
        {%- for row in run_query(listing).rows -%}
            {%- set relative = row[0][events_root | length:].lstrip('/') -%}
            {%- if not row[0].endswith('.parquet') -%}
                {%- do problems.append(row[0] ~ ': not a Parquet file (the lake holds events as '
                    ~ 'events/event_date=YYYY-MM-DD/*.parquet)') -%}
            {%- elif not modules.re.fullmatch('event_date=[0-9]{4}-[0-9]{2}-[0-9]{2}/[^/]+', relative) -%}
                {%- do problems.append(row[0] ~ ': not in an event_date=YYYY-MM-DD folder directly '
                    ~ 'under ' ~ events_root) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if var('events_relation') is none and sqlrec.lake_files_exist(var('events_path')) -%}
        {%- do problems.extend(sqlrec.missing_lake_columns(
            var('events_path'), ['user_id', 'item_id', 'event_type', 'event_time'],
            'user_id, item_id, event_type, event_time [, event_id]')) -%}
    {%- endif -%}
    {%- if not sqlrec.items_from_relation() and sqlrec.lake_files_exist(var('catalog_path')) -%}
        {%- do problems.extend(sqlrec.missing_lake_columns(
            var('catalog_path'), ['item_id'], 'item_id [, category, brand, is_available, price]')) -%}
    {%- endif -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            'sqlrec: the lake does not follow the input contract (nothing was built):\n  - '
            ~ problems[:20] | join('\n  - ')
            ~ ('\n  ... and ' ~ (problems | length - 20) ~ ' more' if problems | length > 20 else '')
        ) }}
    {%- endif -%}
{%- endmacro %}


{#- The Parquet files of a glob that lack one of `required` columns, as messages. Reads only the
    files' footers. -#}
{% macro missing_lake_columns(path_glob, required, expected) -%}
    {%- set query -%}
        with

        files as (
            select distinct file_name from parquet_schema({{ sqlrec.sql_string(path_glob) }})
        ),

        columns as (
            select file_name, lower(name) as name from parquet_schema({{ sqlrec.sql_string(path_glob) }})
        ),

        required as (
            select unnest([{% for column in required %}{{ sqlrec.sql_string(column) }}{% if not loop.last %}, {% endif %}{% endfor %}]) as name
        )

        select files.file_name, string_agg(required.name, ', ' order by required.name)
        from files
        cross join required
        left join columns
            on files.file_name = columns.file_name and required.name = columns.name
        where columns.name is null
        group by files.file_name
        order by files.file_name
    {%- endset -%}
    {%- set problems = [] -%}
    {%- for row in run_query(query).rows -%}
        {%- do problems.append(row[0] ~ ': no column ' ~ row[1] ~ ' (expected ' ~ expected ~ ')') -%}
    {%- endfor -%}
    {{ return(problems) }}
{%- endmacro %}


{#- The folder part of a lake path: everything before the first part that is a wildcard or
    names a Parquet file (`/lake/events/*/*.parquet` gives `/lake/events`, and
    `/lake/catalog/items.parquet` gives `/lake/catalog`); none when nothing comes before. The one
    reading of the path globs: check_lake lists the events folder with it, and lake_location
    (Trino) places the lake's tables with it. -#}
{% macro glob_folder(path_glob) -%}
    {%- set parts = [] -%}
    {%- for part in path_glob.rstrip('/').split('/') -%}
        {%- if sqlrec.is_wildcard(part) or part.endswith('.parquet') -%}{%- break -%}{%- endif -%}
        {%- do parts.append(part) -%}
    {%- endfor -%}
    {{ return(parts | join('/') or none) }}
{%- endmacro %}


{% macro is_wildcard(path_part) -%}
    {{ return('*' in path_part or '?' in path_part or '[' in path_part) }}
{%- endmacro %}
