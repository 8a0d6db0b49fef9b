{#- The neighbour lists of item_similarity as int_similarity_recommendations reads them: integer
    keys (macro item_keys) instead of the id strings, and only the neighbours that are
    available now. Built once, not once per chunk of users: at 10M events item_similarity has
    10M rows, and each chunk keyed and filtered them all again. -#}

with

item_keys as (

    {{ sqlrec.item_keys() }}

)

select
    items.item_key,
    similar_items.item_key as similar_item_key,
    item_similarity.score
from {{ ref('item_similarity') }} as item_similarity
inner join item_keys as items
    on item_similarity.item_id = items.item_id
inner join item_keys as similar_items
    on item_similarity.similar_item_id = similar_items.item_id
where similar_items.is_available
