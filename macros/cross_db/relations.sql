{#- Relations and aggregates whose spelling differs between engines. -#}

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


{#- The columns of a relation as a mapping of lower-cased name to lower-cased type. -#}
{% macro relation_columns(relation) -%}
    {{ return(adapter.dispatch('relation_columns', 'sqlrec')(relation)) }}
{%- endmacro %}

{% macro default__relation_columns(relation) -%}
    {% if not execute %}{{ return({}) }}{% endif %}
    {% set columns = {} %}
    {% for column in adapter.get_columns_in_relation(relation) %}
        {% do columns.update({column.name | lower: column.data_type | lower}) %}
    {% endfor %}
    {{ return(columns) }}
{%- endmacro %}

{# A DuckDB lake source is a read_parquet(...) call, not a catalog relation: describe a query. #}
{% macro duckdb__relation_columns(relation) -%}
    {% if not execute %}{{ return({}) }}{% endif %}
    {% set result = run_query("describe select * from " ~ relation) %}
    {% set columns = {} %}
    {% for row in result.rows %}
        {% do columns.update({row[0] | lower: row[1] | lower}) %}
    {% endfor %}
    {{ return(columns) }}
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


{#- A SQL expression that stops the query with `message` (a SQL string expression) as its error. -#}
{% macro raise_error(message) -%}
    {{ return(adapter.dispatch('raise_error', 'sqlrec')(message)) }}
{%- endmacro %}

{% macro default__raise_error(message) -%}
    fail({{ message }})
{%- endmacro %}

{% macro duckdb__raise_error(message) -%}
    error({{ message }})
{%- endmacro %}

{#- The lower-cased column names of a source table, or an empty list when the table does not
    exist (yet): tables the Python step writes appear only after its first run. -#}
{% macro existing_source_columns(source_name, table_name) -%}
    {#- source() first, also at parse time: that records the model's dependency on it. -#}
    {%- set declared = source(source_name, table_name) -%}
    {%- if not execute -%}{{ return([]) }}{%- endif -%}
    {%- set relation = adapter.get_relation(
        database=declared.database, schema=declared.schema, identifier=declared.identifier) -%}
    {%- if relation is none -%}{{ return([]) }}{%- endif -%}
    {{ return(adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list) }}
{%- endmacro %}


{#- A select of the given columns of a source table, or an empty select of those columns (typed)
    when the table does not exist yet: for tables the Python steps write. `columns` maps each
    column to its SQL type. -#}
{% macro optional_source(source_name, table_name, columns) -%}
    {%- if sqlrec.existing_source_columns(source_name, table_name) -%}
        select {{ columns.keys() | join(', ') }} from {{ source(source_name, table_name) }}
    {%- else -%}
        select
            {% for name, type in columns.items() -%}
            cast(null as {{ type }}) as {{ name }}{% if not loop.last %},{% endif %}
            {% endfor -%}
        where 1 = 0
    {%- endif -%}
{%- endmacro %}


{#- An aggregate: `value` of the row with the largest `key`, a tie decided by the larger
    `tiebreak`. One scalar sort key, key * (1 + 1e-12 * tiebreak), rather than an array of both:
    arrays made the aggregation of 300M+ candidate rows twice as slow. So `key` must be positive
    and `tiebreak` a small integer (|tiebreak| <= 1000): keys within a relative 1e-12 times the
    tiebreaks' difference count as tied. Both engines compute the product alike (IEEE doubles). -#}
{% macro arg_max_by(value, key, tiebreak) -%}
    {{ return(adapter.dispatch('arg_max_by', 'sqlrec')(value, key, tiebreak)) }}
{%- endmacro %}

{% macro arg_max_sort_key(key, tiebreak) -%}
    cast({{ key }} as double) * (1 + 1e-12 * cast({{ tiebreak }} as double))
{%- endmacro %}

{% macro default__arg_max_by(value, key, tiebreak) -%}
    max_by({{ value }}, {{ sqlrec.arg_max_sort_key(key, tiebreak) }})
{%- endmacro %}

{% macro duckdb__arg_max_by(value, key, tiebreak) -%}
    arg_max({{ value }}, {{ sqlrec.arg_max_sort_key(key, tiebreak) }})
{%- endmacro %}
