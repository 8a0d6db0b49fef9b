{#- How much of the available catalogue the recommendations reach, per category: items that
    appear in at least one user's list and in at least one "viewed together" list. -#}

with

items as (

    select * from {{ ref('int_items_enriched') }}
    where is_available

),

recommended as (

    select distinct item_id from {{ ref('user_recommendations') }}

),

related as (

    select distinct similar_item_id as item_id from {{ ref('item_similarity') }}

)

select
    coalesce(items.category, '(no category)') as category,
    count(*) as available_items,
    count(recommended.item_id) as recommended_items,
    round(1.0 * count(recommended.item_id) / count(*), 4) as recommendation_coverage,
    count(related.item_id) as related_items,
    round(1.0 * count(related.item_id) / count(*), 4) as related_coverage
from items
left join recommended
    on items.item_id = recommended.item_id
left join related
    on items.item_id = related.item_id
group by 1
order by 1
