{#- The maths (docs/design.md) as reusable expressions, so each formula is written once. -#}

{% macro decay_factor(event_at, as_of_at) -%}
    {#- 0.5 ^ (age / half_life); half_life_days = 0 turns decay off. -#}
    {%- set half_life_days = var('half_life_days') | float -%}
    {%- if half_life_days <= 0 -%}
        1.0
    {%- else -%}
        power(0.5, {{ sqlrec.seconds_between(event_at, as_of_at) }} / {{ half_life_days * 86400.0 }})
    {%- endif -%}
{%- endmacro %}


{% macro log_damped(strength) -%}
    {#- 1 + ln(c) for c >= 1, else c: the classic ln(count) + 1 that stays positive under decay. -#}
    case when {{ strength }} >= 1 then 1 + ln({{ strength }}) else {{ strength }} end
{%- endmacro %}


{% macro as_of_timestamp(valid_events_relation) -%}
    {#- The scoring instant: var as_of, or the latest valid event. -#}
    {%- if var('as_of') -%}
        cast({{ sqlrec.sql_string(var('as_of')) }} as timestamp)
    {%- else -%}
        (select max(event_at) from {{ valid_events_relation }})
    {%- endif -%}
{%- endmacro %}
