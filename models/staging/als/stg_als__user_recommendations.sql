{#- ALS recommendations of the last complete `sqlrec train` run, typed.

    The train step appends its rows under their run_id and only then appends the run's row to
    model_runs: that row is what makes a run complete. So this model reads the rows of the
    latest ALS run in model_runs and nothing else, and a run killed half-way through its writes
    is never blended. Before the first training run (or with tables an older sqlrec wrote,
    without run_id) this model is empty, so the blend falls back to item similarity and popular
    items. -#}

{# A view: the Python step rewrites the table, and a copy would only double it. #}
{{ config(materialized='view') }}

{%- set recommendations = sqlrec.existing_source_columns('als', 'als_user_recommendations') -%}
{%- set runs = sqlrec.existing_source_columns('als', 'model_runs') -%}
{%- set readable = 'run_id' in recommendations and 'run_id' in runs -%}

with

{% if readable -%}
latest_run as (

    select run_id
    from {{ source('als', 'model_runs') }}
    {% if 'model' in runs %}where model = 'als'{% endif %}
    order by trained_at desc, run_id desc
    limit 1

),

source as (

    select recommendations.*
    from {{ source('als', 'als_user_recommendations') }} as recommendations
    inner join latest_run
        on recommendations.run_id = latest_run.run_id

),
{%- else -%}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as item_id,
        cast(null as double) as score,
        cast(null as integer) as rank,
        cast(null as {{ dbt.type_string() }}) as run_id
    where 1 = 0

),
{%- endif %}

renamed as (

    select
        ---------- ids
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(item_id as {{ dbt.type_string() }}) as item_id,
        cast(run_id as {{ dbt.type_string() }}) as run_id,

        ---------- scores
        cast(score as double) as als_score,
        cast(rank as integer) as als_rank

    from source

)

select * from renamed
