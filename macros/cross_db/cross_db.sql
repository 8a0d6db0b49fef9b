{#- Engine-specific SQL. Each macro dispatches through adapter.dispatch so that the models stay
    identical on DuckDB and Trino; a duckdb__/trino__ version exists only where the engines differ. -#}

{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'sqlrec')(start_at, end_at)) }}
{%- endmacro %}

{# Both engines have epoch-second functions, but under different names; both keep microseconds. #}
{% macro default__seconds_between(start_at, end_at) -%}
    (to_unixtime({{ end_at }}) - to_unixtime({{ start_at }}))
{%- endmacro %}

{% macro duckdb__seconds_between(start_at, end_at) -%}
    (epoch({{ end_at }}) - epoch({{ start_at }}))
{%- endmacro %}

{# Trino's to_unixtime takes a timestamp with time zone, and a plain timestamp would be read in
   the session's zone (an hour off across a daylight-saving change): read it in UTC instead. #}
{% macro trino__seconds_between(start_at, end_at) -%}
    (to_unixtime(with_timezone({{ end_at }}, 'UTC')) - to_unixtime(with_timezone({{ start_at }}, 'UTC')))
{%- endmacro %}


{% macro top_n_per_group(relation, partition_by, order_by, n, rank_column='rank') -%}
    {{ return(adapter.dispatch('top_n_per_group', 'sqlrec')(relation, partition_by, order_by, n, rank_column)) }}
{%- endmacro %}

{# ANSI: rank in a subquery, filter outside. n = 0 keeps every row. #}
{% macro default__top_n_per_group(relation, partition_by, order_by, n, rank_column) -%}
    select * from (
        select
            *,
            row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as {{ rank_column }}
        from {{ relation }}
    ) as ranked
    {% if n | int > 0 %}where {{ rank_column }} <= {{ n }}{% endif %}
{%- endmacro %}

{# DuckDB filters windows in place with QUALIFY, which saves it one projection of the rows. #}
{% macro duckdb__top_n_per_group(relation, partition_by, order_by, n, rank_column) -%}
    select
        *,
        row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as {{ rank_column }}
    from {{ relation }}
    {% if n | int > 0 %}qualify {{ rank_column }} <= {{ n }}{% endif %}
{%- endmacro %}


{% macro lake_files_exist(path_glob) -%}
    {{ return(adapter.dispatch('lake_files_exist', 'sqlrec')(path_glob)) }}
{%- endmacro %}

{# DuckDB reads the lake directly: ask its glob() whether any file matches. #}
{% macro duckdb__lake_files_exist(path_glob) -%}
    {% if not execute %}{{ return(true) }}{% endif %}
    {% set result = run_query("select count(*) from glob('" ~ path_glob ~ "')") %}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}

{# Engines that read the lake through tables (Trino) cannot see files: the table decides. #}
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
        database=var('lake_catalog', 'lake'), schema=var('lake_schema', 'lake'), identifier=table
    ) -%}
    {% if relation is none %}{{ return(false) }}{% endif %}
    {% if table == 'items' %}{{ return(true) }}{% endif %}
    {% set result = run_query('select count(*) from ' ~ relation.database ~ '.' ~ relation.schema
        ~ '."' ~ table ~ '$partitions"') %}
    {{ return(result.columns[0].values()[0] > 0) }}
{%- endmacro %}


{% macro relation_column_names(relation) -%}
    {{ return(adapter.dispatch('relation_column_names', 'sqlrec')(relation)) }}
{%- endmacro %}

{% macro default__relation_column_names(relation) -%}
    {% if not execute %}{{ return([]) }}{% endif %}
    {% set columns = adapter.get_columns_in_relation(relation) %}
    {{ return(columns | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}

{# A DuckDB lake source is a read_parquet(...) call, not a catalog relation: describe a query. #}
{% macro duckdb__relation_column_names(relation) -%}
    {% if not execute %}{{ return([]) }}{% endif %}
    {% set result = run_query("describe select * from " ~ relation) %}
    {{ return(result.columns[0].values() | map('lower') | list) }}
{%- endmacro %}


{% macro trim_spaces(expression) -%}
    {{ return(adapter.dispatch('trim_spaces', 'sqlrec')(expression)) }}
{%- endmacro %}

{% macro default__trim_spaces(expression) -%}
    trim({{ expression }})
{%- endmacro %}

{# DuckDB's trim copies every string, which costs more than the rest of staging's cleaning put
   together; ids almost never carry spaces, and looking at the first and last character is
   cheap. Same result: trim only where there is something to trim. #}
{% macro duckdb__trim_spaces(expression) -%}
    case
        when starts_with({{ expression }}, ' ') or ends_with({{ expression }}, ' ')
            then trim({{ expression }})
        else {{ expression }}
    end
{%- endmacro %}


{% macro integer_divide(dividend, divisor) -%}
    {{ return(adapter.dispatch('integer_divide', 'sqlrec')(dividend, divisor)) }}
{%- endmacro %}

{# Trino divides integers as integers; DuckDB's / always returns a double and has // instead. #}
{% macro default__integer_divide(dividend, divisor) -%}
    ({{ dividend }} / {{ divisor }})
{%- endmacro %}

{% macro duckdb__integer_divide(dividend, divisor) -%}
    ({{ dividend }} // {{ divisor }})
{%- endmacro %}


{% macro try_cast_timestamp(expression) -%}
    {{ return(adapter.dispatch('try_cast_timestamp', 'sqlrec')(expression)) }}
{%- endmacro %}

{# A timestamp, or null where the text does not parse (dbt.safe_cast is a plain cast on DuckDB). #}
{% macro default__try_cast_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp)
{%- endmacro %}

{# Trino's plain timestamp keeps milliseconds; the lake's events carry microseconds. #}
{% macro trino__try_cast_timestamp(expression) -%}
    try_cast({{ expression }} as timestamp(6))
{%- endmacro %}


{% macro nth_largest(expression, n) -%}
    {{ return(adapter.dispatch('nth_largest', 'sqlrec')(expression, n)) }}
{%- endmacro %}

{# max(x, n), the n largest values of the group as a list, keeps a heap of n per group: far
   cheaper than ranking every row. The smallest of them is the n-th largest, duplicates
   counted; fewer than n values give null. Trino/Presto spelling by default. #}
{% macro default__nth_largest(expression, n) -%}
    case when count({{ expression }}) >= {{ n }} then array_min(max({{ expression }}, {{ n }})) end
{%- endmacro %}

{% macro duckdb__nth_largest(expression, n) -%}
    case when count({{ expression }}) >= {{ n }} then list_min(max({{ expression }}, {{ n }})) end
{%- endmacro %}


{% macro string_hash(expression) -%}
    {{ return(adapter.dispatch('string_hash', 'sqlrec')(expression)) }}
{%- endmacro %}

{# An integer stand-in for a string, for grouping or joining where a collision only adds
   candidates that an exact step then settles. Other engines keep the string itself (exact). #}
{% macro default__string_hash(expression) -%}
    {{ expression }}
{%- endmacro %}

{# DuckDB's hash() is a 64-bit hash; hashing and comparing one integer beats long strings. #}
{% macro duckdb__string_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}
