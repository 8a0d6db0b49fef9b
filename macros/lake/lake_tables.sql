{#- The lake as tables. DuckDB reads the Parquet files directly (the sources' meta
    external_location), so there is nothing to do. Trino reads them through external tables of a
    Hive catalog (var lake_catalog, default `lake`; schema var lake_schema, default `lake`) over
    the very folders DuckDB reads: this macro, an on-run-start hook, creates them when missing and
    syncs the events' partitions on every run, so a new event_date folder is seen by the next
    build. Tables that already exist (a cluster's own) are left as they are; var
    register_lake_tables: false skips the hook altogether. -#}

{% macro register_lake_tables() -%}
    {{ return(adapter.dispatch('register_lake_tables', 'sqlrec')()) }}
{%- endmacro %}

{% macro default__register_lake_tables() -%}
    {{ return('') }}
{%- endmacro %}

{% macro trino__register_lake_tables() -%}
    {% if not execute or not var('register_lake_tables') %}{{ return('') }}{% endif %}
    {%- set schema = sqlrec.sql_identifier(var('lake_catalog')) ~ '.' ~ sqlrec.sql_identifier(var('lake_schema')) -%}
    {#- events from a relation of the team's: no lake at all (the catalogue is catalog_relation
        or none); a catalog_relation alone stands in for the items table -#}
    {%- if var('events_relation') is not none -%}{{ return('') }}{%- endif -%}

    {% do run_query('create schema if not exists ' ~ schema) %}
    {%- set events_location = var('events_location')
        or sqlrec.lake_location(var('events_path'), 'events_path') -%}
    {#- Parquet columns are matched by name; an integer id read as varchar becomes its text. The
        partition column comes last, as the Hive connector requires. -#}
    {% set column_list = [] %}
    {% for name, type in var('lake_events_columns').items() %}
        {% do column_list.append(sqlrec.sql_identifier(name) ~ ' ' ~ type) %}
    {% endfor %}
    {% do column_list.append('"event_date" varchar') %}
    {% do run_query(
        'create table if not exists ' ~ schema ~ '.events ('
        ~ column_list | join(', ') ~ ") with (format = 'PARQUET', "
        ~ "partitioned_by = array['event_date'], "
        ~ 'external_location = ' ~ sqlrec.sql_string(events_location) ~ ')'
    ) %}
    {% do sqlrec.check_lake_table_location(schema ~ '.events', events_location) %}
    {#- FULL: partitions whose folder appeared are added, those whose folder went are dropped. -#}
    {% do run_query(
        'call ' ~ sqlrec.sql_identifier(var('lake_catalog')) ~ '.system.sync_partition_metadata('
        ~ 'schema_name => ' ~ sqlrec.sql_string(var('lake_schema'))
        ~ ", table_name => 'events', mode => 'FULL')"
    ) %}
    {#- The catalogue is optional. A missing folder is created empty by Trino, so the table then
        exists but has no rows, which gives what DuckDB gives without a catalogue file: an empty
        stg_lake__items, every item available. var lake_has_catalog: false skips the table. -#}
    {% if var('lake_has_catalog') and var('catalog_relation') is none %}
        {%- set catalog_location = var('catalog_location')
            or sqlrec.lake_location(var('catalog_path'), 'catalog_path') -%}
        {% set column_list = [] %}
        {% for name, type in var('lake_catalog_columns').items() %}
            {% do column_list.append(sqlrec.sql_identifier(name) ~ ' ' ~ type) %}
        {% endfor %}
        {% do run_query(
            'create table if not exists ' ~ schema ~ '.items ('
            ~ column_list | join(', ') ~ ") with (format = 'PARQUET', "
            ~ 'external_location = ' ~ sqlrec.sql_string(catalog_location) ~ ')'
        ) %}
        {% do sqlrec.check_lake_table_location(schema ~ '.items', catalog_location) %}
    {% endif %}
    {{ return('') }}
{%- endmacro %}


{% macro check_lake_table_location(table, location) -%}
    {#- A table that already exists over another folder is never silently read instead of the
        lake the vars name (nor dropped: it may be a cluster's own): stop and say so. -#}
    {%- set ddl = run_query('show create table ' ~ table).columns[0].values()[0] -%}
    {%- set found = modules.re.search("external_location = '((?:[^']|'')*)'", ddl) -%}
    {%- set existing = found.group(1) | replace("''", "'") if found else '(a managed table)' -%}
    {%- if existing.rstrip('/') != location.rstrip('/') -%}
        {{ exceptions.raise_compiler_error(
            "The lake table " ~ table ~ " exists over " ~ existing ~ ", not over " ~ location
            ~ " as the vars say. Drop it (its files stay) or choose another schema with var "
            ~ "lake_schema."
        ) }}
    {%- endif -%}
{%- endmacro %}


{% macro lake_location(path_glob, var_name) -%}
    {#- The folder of a lake table from the glob over its files: `/lake/events/*/*.parquet`
        gives `local:///lake/events` (the local Trino's file system); a path with a scheme
        (s3://, hdfs://, ...) keeps it. Set var events_location / catalog_location to override. -#}
    {%- set folder = sqlrec.glob_folder(path_glob) or '' -%}
    {%- if '://' in folder -%}
        {{ return(folder) }}
    {%- elif folder.startswith('/') -%}
        {{ return('local://' ~ folder) }}
    {%- else -%}
        {{ exceptions.raise_compiler_error(
            "On Trino the lake's folders must be absolute paths or URLs: var " ~ var_name ~ " is '"
            ~ path_glob ~ "'. Pass an absolute path (sqlrec build --lake does) or set var "
            ~ var_name | replace('_path', '_location') ~ "."
        ) }}
    {%- endif -%}
{%- endmacro %}
