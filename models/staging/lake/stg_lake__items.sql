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

{# An item listed both available and sold out (two catalogue files disagree) is sold out: an item
   recommended and then not for sale costs more than one left out. The conflict is kept for the
   warn-severity test that counts such items. #}
flagged as (

    select
        renamed.*,
        min(case when is_available then 1 else 0 end) over (partition by item_id)
            <> max(case when is_available then 1 else 0 end) over (partition by item_id)
            as availability_conflict
    from renamed

),

{# One row per item even if the catalogue repeats an id: a sold-out row first, then the first by
   the columns' order. #}
deduplicated as (

    {{ sqlrec.top_n_per_group(
        'flagged', 'item_id', 'is_available, category, brand, price', 1, 'item_occurrence'
    ) }}

)

select item_id, category, brand, is_available, price, availability_conflict
from deduplicated
where item_id is not null
{%- else -%}
empty_catalog as (

    select
        cast(null as {{ dbt.type_string() }}) as item_id,
        cast(null as {{ dbt.type_string() }}) as category,
        cast(null as {{ dbt.type_string() }}) as brand,
        cast(null as boolean) as is_available,
        cast(null as double) as price,
        cast(null as boolean) as availability_conflict

)

select * from empty_catalog where 1 = 0
{%- endif %}
