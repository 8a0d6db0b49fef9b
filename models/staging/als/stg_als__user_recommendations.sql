{#- ALS recommendations as `sqlrec train` wrote them, typed. Before the first training run the
    table does not exist and this model is empty, so the blend falls back to item similarity
    and popular items. -#}

{# A view: the Python step replaces the table wholesale, and a copy would only double it. #}
{{ config(materialized='view') }}

{%- set als_source = source('als', 'als_user_recommendations') -%}
{%- set als_table = none -%}
{%- if execute -%}
    {%- set als_table = adapter.get_relation(
        database=als_source.database, schema=als_source.schema, identifier=als_source.identifier
    ) -%}
{%- endif %}

with

{% if als_table is not none -%}
source as (

    select * from {{ als_source }}

),
{%- else -%}
source as (

    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cast(null as {{ dbt.type_string() }}) as item_id,
        cast(null as double) as score,
        cast(null as integer) as rank
    where 1 = 0

),
{%- endif %}

renamed as (

    select
        ---------- ids
        cast(user_id as {{ dbt.type_string() }}) as user_id,
        cast(item_id as {{ dbt.type_string() }}) as item_id,

        ---------- scores
        cast(score as double) as als_score,
        cast(rank as integer) as als_rank

    from source

)

select * from renamed
