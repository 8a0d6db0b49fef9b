{#- The few generic tests this project needs; dbt packages (dbt_utils) cannot be installed here.
    Each returns the failing rows, so dbt reports how many there are. -#}

{# Given under a column, the expression may use that column's name like any other. #}
{% test expression_is_true(model, expression, column_name=none) %}
    select * from {{ model }} where not ({{ expression }})
{% endtest %}


{% test unique_combination_of_columns(model, combination_of_columns) %}
    select {{ combination_of_columns | join(', ') }}, count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
{% endtest %}


{% test has_no_rows(model) %}
    select * from {{ model }}
{% endtest %}
