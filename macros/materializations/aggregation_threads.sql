{#- DuckDB threads around the big hash aggregations of a chunked_table.

    With at most two threads, DuckDB's hash aggregation keeps two partitions for good: it grows
    its partitioning only from three threads on, and with tens of millions of groups each
    partition's hash table is then far larger than the cache (docs/design.md, "Performance").
    raise_aggregation_threads returns the setting it replaced; restore_aggregation_threads puts
    it back. Other engines: nothing to do. -#}

{% macro raise_aggregation_threads(min_threads) -%}
    {{ return(adapter.dispatch('raise_aggregation_threads', 'sqlrec')(min_threads)) }}
{%- endmacro %}

{% macro default__raise_aggregation_threads(min_threads) -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__raise_aggregation_threads(min_threads) -%}
    {%- if not min_threads -%}{{ return(none) }}{%- endif -%}
    {%- set current = run_query("select current_setting('threads')").columns[0].values()[0] | int -%}
    {%- if current < min_threads | int -%}
        {%- do run_query('set threads = ' ~ (min_threads | int)) -%}
    {%- endif -%}
    {{ return(current) }}
{%- endmacro %}

{% macro restore_aggregation_threads(saved) -%}
    {{ return(adapter.dispatch('restore_aggregation_threads', 'sqlrec')(saved)) }}
{%- endmacro %}

{% macro default__restore_aggregation_threads(saved) -%}
{%- endmacro %}

{% macro duckdb__restore_aggregation_threads(saved) -%}
    {%- if saved is not none -%}
        {%- do run_query('set threads = ' ~ (saved | int)) -%}
    {%- endif -%}
{%- endmacro %}
