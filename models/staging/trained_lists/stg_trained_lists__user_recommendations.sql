{#- The recommendations of each model of the Python step (ALS, EASE) from its latest complete
    `sqlrec train` run, typed, in one table with the model's name.

    The train step appends its rows under their run_id and only then appends the run's row to
    model_runs: that row is what makes a run complete. So this model reads, per model, the rows
    of its latest run in model_runs and nothing else: a run killed half-way is never blended.
    Before the first training run (or with tables an older sqlrec wrote, without run_id) a
    model has no rows, and the blend goes without it. -#}

{# A view: the Python step rewrites the tables, and a copy would only double them. #}
{{ config(materialized='view') }}

{%- set runs = sqlrec.existing_source_columns('trained_lists', 'model_runs') -%}
{%- set tables = [] -%}
{%- for model, table in [('als', 'als_user_recommendations'), ('ease', 'ease_user_recommendations')] -%}
    {%- set columns = sqlrec.existing_source_columns('trained_lists', table) -%}
    {%- if 'run_id' in columns and 'run_id' in runs -%}
        {%- do tables.append({'model': model, 'table': table,
                              'explained': 'because_item_id' in columns}) -%}
    {%- endif -%}
{%- endfor %}

with

{% if tables -%}
latest_runs as (

    select model, run_id
    from (
        select
            {% if 'model' in runs %}model{% else %}'als'{% endif %} as model,
            run_id,
            row_number() over (
                partition by {% if 'model' in runs %}model{% else %}1{% endif %}
                order by trained_at desc, run_id desc
            ) as recency
        from {{ source('trained_lists', 'model_runs') }}
    ) as runs
    where recency = 1

),

source as (
{% for each in tables %}
    {%- if not loop.first %}
    union all
    {% endif %}
    select
        '{{ each.model }}' as model,
        recommendations.user_id,
        recommendations.item_id,
        recommendations.score,
        recommendations.rank,
        {% if each.explained %}recommendations.because_item_id{% else %}cast(null as {{ dbt.type_string() }}){% endif %} as because_item_id,
        recommendations.run_id
    from {{ source('trained_lists', each.table) }} as recommendations
    inner join latest_runs
        on recommendations.run_id = latest_runs.run_id
        and latest_runs.model = '{{ each.model }}'
{% endfor %}
),
{%- else -%}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as model,
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as item_id,
        cast(null as double) as score,
        cast(null as integer) as rank,
        cast(null as {{ dbt.type_string() }}) as because_item_id,
        cast(null as {{ dbt.type_string() }}) as run_id
    where 1 = 0

),
{%- endif %}

renamed as (

    select
        ---------- ids
        cast(model as {{ dbt.type_string() }}) as model,
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(item_id as {{ dbt.type_string() }}) as item_id,
        cast(because_item_id as {{ dbt.type_string() }}) as because_item_id,
        cast(run_id as {{ dbt.type_string() }}) as run_id,

        ---------- scores
        cast(score as double) as model_score,
        cast(rank as integer) as model_rank

    from source

)

select * from renamed
