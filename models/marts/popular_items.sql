{#- Popularity, the fallback for cold users: each available item's summed w(u,i), scaled so that
    the top item of its scope scores 1. One list over all items, one per category. -#}

{%- set popular_k = var('popular_items_k') | int -%}

with

items as (

    select * from {{ ref('int_items_enriched') }}
    where is_available

),

scoped as (

    select
        'global' as scope,
        cast(null as {{ dbt.type_string() }}) as category,
        item_id,
        total_score,
        user_count
    from items

    union all

    select
        'category' as scope,
        category,
        item_id,
        total_score,
        user_count
    from items
    where category is not null

),

scaled as (

    select
        scope,
        category,
        item_id,
        total_score / max(total_score) over (partition by scope, category) as score,
        user_count
    from scoped

),

ranked as (

    {{ sqlrec.top_n_per_group('scaled', 'scope, category', 'score desc, item_id', popular_k) }}

)

select scope, category, item_id, score, rank, user_count
from ranked
