{#- Cleaning ids and other text the same way on every engine. -#}

{#- The characters with Unicode's White_Space property (tab, newline, vertical tab, form feed,
    carriage return, space, NEL, no-break space, Ogham space, the en/em spaces U+2000..U+200A,
    line and paragraph separators, narrow no-break space, medium mathematical space,
    ideographic space), as a SQL string expression. -#}
{% macro unicode_whitespace() -%}
    {%- set code_points = [9, 10, 11, 12, 13, 32, 133, 160, 5760] + range(8192, 8203) | list
        + [8232, 8233, 8239, 8287, 12288] -%}
    ({% for code_point in code_points %}chr({{ code_point }}){% if not loop.last %} || {% endif %}{% endfor %})
{%- endmacro %}


{% macro trim_whitespace(expression) -%}
    {{ return(adapter.dispatch('trim_whitespace', 'sqlrec')(expression)) }}
{%- endmacro %}

{% macro default__trim_whitespace(expression) -%}
    trim(both {{ sqlrec.unicode_whitespace() }} from {{ expression }})
{%- endmacro %}

{# DuckDB's trim copies every string, which costs more than the rest of staging's cleaning put
   together; ids almost never carry whitespace, and looking at the first and last character is
   cheap. Same result: trim only where there is something to trim. #}
{% macro duckdb__trim_whitespace(expression) -%}
    case
        when position(left({{ expression }}, 1) in {{ sqlrec.unicode_whitespace() }}) > 0
            or position(right({{ expression }}, 1) in {{ sqlrec.unicode_whitespace() }}) > 0
            then trim({{ expression }}, {{ sqlrec.unicode_whitespace() }})
        else {{ expression }}
    end
{%- endmacro %}


{#- Whether a text is a decimal number (an optional sign, digits, an optional fraction). -#}
{% macro is_decimal_number(expression) -%}
    {{ return(adapter.dispatch('is_decimal_number', 'sqlrec')(expression)) }}
{%- endmacro %}

{% macro default__is_decimal_number(expression) -%}
    regexp_like({{ expression }}, '^[+-]?[0-9]+(\.[0-9]*)?$')
{%- endmacro %}

{% macro duckdb__is_decimal_number(expression) -%}
    regexp_full_match({{ expression }}, '[+-]?[0-9]+(\.[0-9]*)?')
{%- endmacro %}


{#- An id's text with an integral number written as an integer: a lake whose partitions store an
    id as integers in one file and as floats in another (1427 and 1427.0) must give one id,
    "1427", as the catalogue does. Any other text is kept as it is. -#}
{% macro integral_number_text(expression) -%}
    {{ return(adapter.dispatch('integral_number_text', 'sqlrec')(expression)) }}
{%- endmacro %}

{% macro default__integral_number_text(expression) -%}
    case
        when regexp_like({{ expression }}, '^-?[0-9]+\.0+$')
            then substr({{ expression }}, 1, strpos({{ expression }}, '.') - 1)
        else {{ expression }}
    end
{%- endmacro %}

{# The regular expression runs only on ids that contain a point: almost none. #}
{% macro duckdb__integral_number_text(expression) -%}
    case
        when contains({{ expression }}, '.') and regexp_full_match({{ expression }}, '-?[0-9]+\.0+')
            then substr({{ expression }}, 1, strpos({{ expression }}, '.') - 1)
        else {{ expression }}
    end
{%- endmacro %}


{#- An id of the lake as the project's text id: cast to text, integral numbers as integers, Unicode
    whitespace trimmed, empty text as null. -#}
{% macro clean_id(column) -%}
    nullif({{ sqlrec.integral_number_text(sqlrec.trim_whitespace(
        'cast(' ~ column ~ ' as ' ~ dbt.type_string() ~ ')')) }}, '')
{%- endmacro %}


{% macro string_hash(expression) -%}
    {{ return(adapter.dispatch('string_hash', 'sqlrec')(expression)) }}
{%- endmacro %}

{# A non-negative 64-bit integer stand-in for a string, for grouping, joining or slicing where a
   collision only adds candidates that an exact step then settles. Hashing and comparing one
   integer beats long strings. #}
{% macro default__string_hash(expression) -%}
    bitwise_and(from_big_endian_64(xxhash64(to_utf8({{ expression }}))), 9223372036854775807)
{%- endmacro %}

{% macro duckdb__string_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}
