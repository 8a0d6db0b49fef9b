{#- "Viewed together" for one item, with category and brand on both sides:
    dbt show --select related_items --vars '{item_id: "i_42"}'
    (dbt compile writes the SQL to target/compiled/ for any SQL client). -#}

with

item_similarity as (

    select * from {{ ref('item_similarity') }}

),

items as (

    select * from {{ ref('int_items_enriched') }}

)

select
    item_similarity.rank,
    item_similarity.similar_item_id,
    similar_items.category,
    similar_items.brand,
    similar_items.is_available,
    similar_items.price,
    round(item_similarity.score, 4) as score,
    item_similarity.common_users,
    source_items.category as source_category,
    source_items.brand as source_brand
from item_similarity
inner join items as source_items
    on item_similarity.item_id = source_items.item_id
left join items as similar_items
    on item_similarity.similar_item_id = similar_items.item_id
where item_similarity.item_id = {{ sqlrec.sql_string(var('item_id')) }}
order by item_similarity.rank
