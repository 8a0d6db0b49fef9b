{#- The rows of the user-item matrix that the cosine is computed on: each user's strongest
    max_items_per_user items (the cap bounds the quadratic pair join), L2-normalised per user;
    then each item's column scaled to unit length, so that a pair's cosine is a plain sum of
    products. Dense integer keys let the pair join hash integers, not strings. -#}

{%- set max_items_per_user = var('max_items_per_user') | int -%}

with

user_item_scores as (

    select * from {{ ref('int_user_item_scores') }}
    {% if max_items_per_user > 0 -%}
    where score_rank <= {{ max_items_per_user }}
    {%- endif %}

),

{# Keys follow the string order of the ids, so ordering by key is ordering by id. #}
item_keys as (

    select item_id, row_number() over (order by item_id) as item_key
    from (select distinct item_id from user_item_scores) as items

),

user_keys as (

    select user_id, row_number() over (order by user_id) as user_key
    from (select distinct user_id from user_item_scores) as users

),

user_normalised as (

    select
        user_id,
        item_id,
        score,
        score / sqrt(sum(score * score) over (partition by user_id)) as normalized_score
    from user_item_scores

),

column_normalised as (

    select
        *,
        normalized_score
            / sqrt(sum(normalized_score * normalized_score) over (partition by item_id))
            as unit_column_score
    from user_normalised

)

select
    user_keys.user_key,
    item_keys.item_key,
    normalised.user_id,
    normalised.item_id,
    normalised.score,
    normalised.normalized_score,
    normalised.unit_column_score
from column_normalised as normalised
inner join user_keys
    on normalised.user_id = user_keys.user_id
inner join item_keys
    on normalised.item_id = item_keys.item_id
