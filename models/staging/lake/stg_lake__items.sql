{#- The catalogue is optional: with no file, this model is empty and every item counts as available. -#}
{%- set has_catalog = sqlrec.lake_files_exist(var('catalog_path')) -%}
{#- Only item_id is required; a catalogue without one of the other columns gives nulls there. -#}
{%- set raw_columns = sqlrec.relation_columns(source('lake', 'items')) if has_catalog else {} -%}

with

{% if has_catalog -%}
source as (

    select * from {{ source('lake', 'items') }}

),

renamed as (

    select
        ---------- ids
        {{ sqlrec.clean_id('item_id') }} as item_id,

        ---------- categories
        {% if 'category' in raw_columns -%}
        lower({{ sqlrec.trim_whitespace('cast(category as ' ~ dbt.type_string() ~ ')') }})
        {%- else %}cast(null as {{ dbt.type_string() }}){% endif %} as category,
        {% if 'brand' in raw_columns -%}
        {{ sqlrec.trim_whitespace('cast(brand as ' ~ dbt.type_string() ~ ')') }}
        {%- else %}cast(null as {{ dbt.type_string() }}){% endif %} as brand,

        ---------- flags and amounts
        {% if 'is_available' in raw_columns -%}
        coalesce(cast(is_available as boolean), true)
        {%- else %}true{% endif %} as is_available,
        {% if 'price' in raw_columns %}cast(price as double){% else %}cast(null as double){% endif %} as price

    from source

),

{# One row per item even if the catalogue repeats an id: the first by the columns' order. #}
deduplicated as (

    {{ sqlrec.top_n_per_group(
        'renamed', 'item_id', 'is_available desc, category, brand, price', 1, 'item_occurrence'
    ) }}

)

select item_id, category, brand, is_available, price
from deduplicated
where item_id is not null
{%- else -%}
empty_catalog as (

    select
        cast(null as {{ dbt.type_string() }}) as item_id,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as brand,
        cast(null as boolean) as is_available,
        cast(null as double) as price

)

select * from empty_catalog where 1 = 0
{%- endif %}
