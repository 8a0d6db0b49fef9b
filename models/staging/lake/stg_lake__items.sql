{#- The catalogue is optional: with no file, this model is empty and every item counts as available. -#}
{%- set has_catalog = sqlrec.lake_files_exist(var('catalog_path')) -%}

with

{% if has_catalog -%}
source as (

    select * from {{ source('lake', 'items') }}

),

renamed as (

    select
        ---------- ids
        nullif({{ sqlrec.trim_spaces('cast(item_id as ' ~ dbt.type_string() ~ ')') }}, '') as item_id,

        ---------- categories
        lower({{ sqlrec.trim_spaces('cast(category as ' ~ dbt.type_string() ~ ')') }}) as category,
        {{ sqlrec.trim_spaces('cast(brand as ' ~ dbt.type_string() ~ ')') }} as brand,

        ---------- flags and amounts
        coalesce(cast(is_available as boolean), true) as is_available,
        cast(price as double) as price

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
