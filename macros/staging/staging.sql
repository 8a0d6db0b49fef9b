{#- What the two kinds of staging share: the Parquet lake's files (models/staging/lake) and a
    relation of the team's own (vars events_relation / catalog_relation, models/staging/relation)
    stage events and items with the same renames and casts. -#}

{#- The staged events model the rest of the project reads: the relation's when var
    events_relation names one, else the lake's. -#}
{% macro staged_events() -%}
    {{ return(ref('stg_relation__events') if var('events_relation') is not none
        else ref('stg_lake__events')) }}
{%- endmacro %}

{#- Whether the catalogue comes from a relation of the team's: catalog_relation names one, or
    the events come from one (then no lake is read at all, and without catalog_relation there
    is no catalogue). The lake source's items config in YAML spells it again: YAML cannot call
    a macro. -#}
{% macro items_from_relation() -%}
    {{ return(var('events_relation') is not none or var('catalog_relation') is not none) }}
{%- endmacro %}

{#- The staged catalogue: the relation's (none when the events come from a relation and no
    catalogue relation is named), else the lake's. -#}
{% macro staged_items() -%}
    {{ return(ref('stg_relation__items') if sqlrec.items_from_relation()
        else ref('stg_lake__items')) }}
{%- endmacro %}


{#- The event columns every staging gives, renamed and cast from `source` (a CTE of the raw
    rows) whose columns and types are `raw_columns`: event_id, user_id, item_id, event_type,
    event_at and event_time_raw. -#}
{% macro staged_event_columns(source, raw_columns) -%}
    {#- A plain timestamp column is its own parse (event_at); any other type (text, epoch numbers,
        a zoned timestamp) also keeps its text, which is all a row that does not parse still has. -#}
    {%- set event_time_type = raw_columns.get('event_time') or '' -%}
    {%- set keeps_event_time_text = not modules.re.fullmatch('timestamp(\(6\))?', event_time_type) -%}
        ---------- ids
        {% if 'event_id' in raw_columns -%}
        {{ sqlrec.clean_id(source ~ '.event_id') }} as event_id,
        {%- else -%}
        cast(null as {{ dbt.type_string() }}) as event_id,
        {%- endif %}
        {{ sqlrec.clean_id(source ~ '.user_id') }} as user_id,
        {{ sqlrec.clean_id(source ~ '.item_id') }} as item_id,

        ---------- categories
        lower({{ sqlrec.trim_whitespace('cast(' ~ source ~ '.event_type as ' ~ dbt.type_string() ~ ')') }}) as event_type,

        ---------- timestamps
        {{ sqlrec.event_timestamp(source ~ '.event_time', event_time_type) }} as event_at,
        {% if keeps_event_time_text -%}
        cast({{ source }}.event_time as {{ dbt.type_string() }})
        {%- else -%}
        cast(null as {{ dbt.type_string() }})
        {%- endif %} as event_time_raw
{%- endmacro %}


{#- The catalogue staged from `source` (a relation, or the lake's items source), whose columns and
    types are `raw_columns`; with no catalogue (`source` none) an empty table of the same columns,
    and every item then counts as available. -#}
{% macro stage_items(source, raw_columns) -%}
with

{% if source is not none -%}
source as (

    select * from {{ source }}

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
{%- endmacro %}


{#- The relation a var such as events_relation names ("{{ ref('my_events') }}", a source, or
    "schema.table"), looked up in the warehouse; stops the run naming the var and the relation
    when it does not exist. -#}
{% macro input_relation(var_name) -%}
    {%- set named = var(var_name) | string -%}
    {%- if not execute -%}{{ return(named) }}{%- endif -%}
    {%- set parts = [] -%}
    {%- for part in modules.re.findall('"((?:[^"]|"")*)"|([^."]+)', named) -%}
        {%- do parts.append((part[0] | replace('""', '"')) or part[1] | trim) -%}
    {%- endfor -%}
    {%- set parts = [target.database, target.schema][:3 - parts | length] + parts
        if parts | length in (1, 2) else parts -%}
    {%- set found = adapter.get_relation(database=parts[0], schema=parts[1], identifier=parts[2])
        if parts | length == 3 else none -%}
    {%- if found is none -%}
        {{ exceptions.raise_compiler_error(
            'sqlrec: var ' ~ var_name ~ ' names ' ~ named ~ ', which is not a table or view in '
            ~ 'the warehouse (nothing was built from it); build it first or correct the var.') }}
    {%- endif -%}
    {{ return(found) }}
{%- endmacro %}


{#- The columns of an input relation (name -> type, lower-cased), checked against `expected`:
    column -> (required, the kinds of type it may have: text, integer, number, timestamp, date,
    boolean). Stops the run naming the relation and every column that is missing or of another
    type. -#}
{% macro checked_input_columns(relation, var_name, expected) -%}
    {%- if not execute -%}{{ return({}) }}{%- endif -%}
    {%- set columns = sqlrec.relation_columns(relation) -%}
    {%- set problems = [] -%}
    {%- for name, (required, kinds) in expected.items() -%}
        {%- if name not in columns -%}
            {%- if required -%}{%- do problems.append('no column ' ~ name) -%}{%- endif -%}
        {%- elif sqlrec.type_kind(columns[name]) not in kinds -%}
            {%- do problems.append('column ' ~ name ~ ' is ' ~ columns[name] ~ '; it must be '
                ~ kinds | join(' or ')) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            'sqlrec: var ' ~ var_name ~ ' names ' ~ relation ~ ', which does not follow the input '
            ~ 'contract (nothing was built from it): ' ~ problems | join('; ')) }}
    {%- endif -%}
    {{ return(columns) }}
{%- endmacro %}


{#- The kind of an engine's column type: text, integer, number, timestamp, date, boolean or
    other (lists, maps, structs, binary). -#}
{% macro type_kind(data_type) -%}
    {%- set type = data_type | lower -%}
    {%- if type.endswith(']') or type.startswith(('array', 'map', 'struct', 'row', 'union', 'interval')) -%}
        {{ return('other') }}
    {%- elif type.startswith(('varchar', 'char', 'string', 'text', 'uuid')) -%}{{ return('text') }}
    {%- elif type.startswith(('tinyint', 'smallint', 'integer', 'int', 'bigint', 'hugeint',
                              'ubigint', 'uinteger', 'usmallint', 'utinyint')) -%}{{ return('integer') }}
    {%- elif type.startswith(('double', 'float', 'real', 'decimal', 'numeric')) -%}{{ return('number') }}
    {%- elif type.startswith('timestamp') -%}{{ return('timestamp') }}
    {%- elif type == 'date' -%}{{ return('date') }}
    {%- elif type.startswith('bool') -%}{{ return('boolean') }}
    {%- else -%}{{ return('other') }}
    {%- endif -%}
{%- endmacro %}
