{#- Every var that becomes part of a SQL statement goes through one of these two macros, so that
    no value — a path with a quote, a hostile item id — can end the literal and run SQL of its
    own. -#}

{#- A SQL string literal holding `value` exactly: quotes doubled, the whole in single quotes. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}

{#- A SQL identifier (catalog, schema, table or column name) in double quotes, quotes doubled. -#}
{% macro sql_identifier(name) -%}
    "{{ name | string | replace('"', '""') }}"
{%- endmacro %}
