{#- The build markers: what tells the HTTP service that the warehouse holds a finished build.

    At the start of a `dbt run` or `dbt build` (plain dbt or `sqlrec build`) a "started" marker
    names the run (dbt's invocation_id); at its end a "finished" marker with the same name is
    written only when every node succeeded. The service loads a build only when the latest
    finished marker names the latest started run, so a failed, killed or running build is never
    served, and a bare `dbt build` is served as soon as it finishes.

    DuckDB: two small JSON files beside the database, <database>.building and <database>.built
    (the service reads them without opening the database, which a build holds locked).
    Trino: rows of the table sqlrec_build_markers in the target schema (the service usually runs
    on another host; the warehouse is what both see). -#}

{% macro build_markers_apply() -%}
    {{ return(flags.WHICH in ('run', 'build')) }}
{%- endmacro %}

{% macro write_build_marker(state) -%}
    {{ return(adapter.dispatch('write_build_marker', 'sqlrec')(state)) }}
{%- endmacro %}

{% macro duckdb__write_build_marker(state) -%}
    {%- set path = target.path ~ ('.building' if state == 'started' else '.built') -%}
    {%- do run_query(
        "copy (select " ~ sqlrec.sql_string(invocation_id) ~ " as version, "
        ~ "strftime(now() at time zone 'UTC', '%Y-%m-%dT%H:%M:%S.%f+00:00') as "
        ~ ("started_at" if state == 'started' else "built_at") ~ ", "
        ~ sqlrec.sql_string(flags.WHICH) ~ " as step, " ~ sqlrec.sql_string(target.name) ~ " as target) "
        ~ "to " ~ sqlrec.sql_string(path) ~ " (format json)"
    ) -%}
{%- endmacro %}

{% macro trino__write_build_marker(state) -%}
    {%- set table = sqlrec.sql_identifier(target.database) ~ '.' ~ sqlrec.sql_identifier(target.schema)
        ~ '.sqlrec_build_markers' -%}
    {%- do run_query('create schema if not exists ' ~ sqlrec.sql_identifier(target.database) ~ '.'
        ~ sqlrec.sql_identifier(target.schema)) -%}
    {%- do run_query('create table if not exists ' ~ table ~ ' (version varchar, built_at '
        ~ 'timestamp(6), step varchar, target varchar, state varchar)') -%}
    {%- do run_query('alter table ' ~ table ~ ' add column if not exists state varchar') -%}
    {%- do run_query(
        'insert into ' ~ table ~ ' (version, built_at, step, target, state) values ('
        ~ sqlrec.sql_string(invocation_id) ~ ", cast(current_timestamp at time zone 'UTC' as timestamp(6)), "
        ~ sqlrec.sql_string(flags.WHICH) ~ ', ' ~ sqlrec.sql_string(target.name) ~ ', '
        ~ sqlrec.sql_string(state) ~ ')'
    ) -%}
{%- endmacro %}


{#- on-run-end: whether every node of the run succeeded (warnings count as success). -#}
{% macro run_succeeded(results) -%}
    {%- for result in results -%}
        {%- if result.status in ('error', 'fail', 'skipped', 'runtime error', 'partial success') -%}
            {{ return(false) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}
