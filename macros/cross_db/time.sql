{#- Timestamps across engines. Both engines keep microseconds; every timestamp is UTC. -#}

{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'sqlrec')(start_at, end_at)) }}
{%- endmacro %}

{# Both engines have epoch-second functions, under different names. #}
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


{#- An epoch number as a UTC timestamp, its unit told by its magnitude: seconds below 1e11
    (until the year 5138), milliseconds below 1e14, microseconds below 1e17, else nanoseconds.
    Any of those units gives a date after 1973 in that range, so the magnitude is unambiguous
    for event data. -#}
{% macro epoch_to_timestamp(expression) -%}
    {{ sqlrec.epoch_microseconds_to_timestamp(
        'cast(round(cast(' ~ expression ~ ' as double) * case'
        ~ ' when abs(cast(' ~ expression ~ ' as double)) < 1e11 then 1e6'
        ~ ' when abs(cast(' ~ expression ~ ' as double)) < 1e14 then 1e3'
        ~ ' when abs(cast(' ~ expression ~ ' as double)) < 1e17 then 1'
        ~ ' else 1e-3 end) as bigint)'
    ) }}
{%- endmacro %}

{% macro epoch_microseconds_to_timestamp(expression) -%}
    {{ return(adapter.dispatch('epoch_microseconds_to_timestamp', 'sqlrec')(expression)) }}
{%- endmacro %}

{% macro default__epoch_microseconds_to_timestamp(expression) -%}
    cast(from_unixtime_nanos({{ expression }} * 1000) at time zone 'UTC' as timestamp(6))
{%- endmacro %}

{# make_timestamp(bigint) reads microseconds since the epoch into a plain (UTC) timestamp. #}
{% macro duckdb__epoch_microseconds_to_timestamp(expression) -%}
    make_timestamp({{ expression }})
{%- endmacro %}


{#- The lake's event_time as a UTC timestamp, whatever its type: a timestamp as it is; a number as
    epoch time (macro epoch_to_timestamp); text as a timestamp when it parses as one, else as
    epoch time when it is a number. Null where none of these applies. `data_type` is the
    column's type in the lake (one type for every file: the engine unifies them). -#}
{% macro event_timestamp(column, data_type) -%}
    {%- set type = (data_type or '') | lower -%}
    {%- if type.startswith(('tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint', 'ubigint',
                            'uinteger', 'usmallint', 'utinyint', 'double', 'float', 'real',
                            'decimal', 'numeric')) -%}
        {{ sqlrec.epoch_to_timestamp(column) }}
    {%- elif type.startswith(('varchar', 'char', 'string', 'text')) -%}
        coalesce(
            {{ sqlrec.try_cast_timestamp(column) }},
            case
                when {{ sqlrec.is_decimal_number(column) }}
                    then {{ sqlrec.epoch_to_timestamp(column) }}
            end
        )
    {%- else -%}
        {{ sqlrec.try_cast_timestamp(column) }}
    {%- endif -%}
{%- endmacro %}
