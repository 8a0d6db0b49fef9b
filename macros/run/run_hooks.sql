{#- The project's on-run-start and on-run-end hooks (dbt_project.yml). -#}

{#- Before any node: the vars, the lake's tables (Trino) and layout, then the "started" marker. -#}
{% macro start_run() -%}
    {#- read at parse time too: a ref() the consumer's project puts in these vars must be known
        to the hook before it runs, or dbt refuses to resolve it -#}
    {%- do var('events_relation') -%}
    {%- do var('catalog_relation') -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- do sqlrec.validate_vars() -%}
    {%- do sqlrec.register_lake_tables() -%}
    {%- do sqlrec.check_lake() -%}
    {%- if sqlrec.build_markers_apply() -%}
        {%- do sqlrec.write_build_marker('started') -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{#- After the run: the "finished" marker, only when every node succeeded. -#}
{% macro end_run(results) -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- if sqlrec.build_markers_apply() and sqlrec.run_succeeded(results) -%}
        {%- do sqlrec.write_build_marker('finished') -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
