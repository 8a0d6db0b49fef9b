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


{# The column never increases along order_by within each group_by group: fails on every row
   greater than the row before it. #}
{% test non_increasing_within(model, column_name, group_by, order_by) %}
    select *
    from (
        select
            {{ group_by }},
            {{ order_by }},
            {{ column_name }},
            lag({{ column_name }}) over (
                partition by {{ group_by }} order by {{ order_by }}
            ) as previous_value
        from {{ model }}
    ) as ordered
    where {{ column_name }} > previous_value
{% endtest %}
