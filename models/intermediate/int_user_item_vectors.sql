{#- The rows of the user-item matrix that item similarity is computed on: each user's strongest
    max_items_per_user items (the cap bounds the quadratic pair join), L2-normalised per user,
    and each entry's pair_weight, the factor whose products int_item_pairs sums over a pair's
    common users (macro pair_weight: the unit-column entry for the cosine, a user and item
    degree term for rp3beta and asymmetric_cosine). Dense integer keys let the pair
    aggregation hash integers, not strings. -#}

{%- set max_items_per_user = var('max_items_per_user') | int -%}

with

{# int_user_item_scores is read where needed rather than through a CTE: DuckDB materialises a
   CTE that is used more than once, and copying 7M rows costs more than scanning them again. #}
user_totals as (

    select
        user_id,
        row_number() over (order by user_id) as user_key,
        count(*) as item_count,
        sum(score * score) as sum_of_squares
    from {{ ref('int_user_item_scores') }}
    group by user_id

),

{# Nearly every user is within the cap: only the few above it need their items ranked. #}
users_within_cap as (

    select
        user_totals.user_key,
        scores.item_id,
        scores.score,
        user_totals.sum_of_squares,
        user_totals.item_count as kept_items
    from {{ ref('int_user_item_scores') }} as scores
    inner join user_totals
        on scores.user_id = user_totals.user_id
    {% if max_items_per_user > 0 -%}
    where user_totals.item_count <= {{ max_items_per_user }}
    {%- endif %}

),

{% if max_items_per_user > 0 -%}
users_above_cap as (

    select user_totals.user_key, scores.item_id, scores.score
    from {{ ref('int_user_item_scores') }} as scores
    inner join user_totals
        on scores.user_id = user_totals.user_id
    where user_totals.item_count > {{ max_items_per_user }}

),

strongest_items as (

    {{ sqlrec.top_n_per_group(
        'users_above_cap', 'user_key', 'score desc, item_id', max_items_per_user, 'score_rank'
    ) }}

),

{%- endif %}

kept as (

    select user_key, item_id, score, sum_of_squares, kept_items from users_within_cap
    {% if max_items_per_user > 0 -%}
    union all
    select
        user_key,
        item_id,
        score,
        sum(score * score) over (partition by user_key) as sum_of_squares,
        {{ max_items_per_user }} as kept_items
    from strongest_items
    {%- endif %}

),

user_normalised as (

    select user_key, item_id, score / sqrt(sum_of_squares) as normalized_score, kept_items
    from kept

),

{# Keys follow the string order of the ids, so ordering by key is ordering by id. #}
item_columns as (

    select
        item_id,
        row_number() over (order by item_id) as item_key,
        sqrt(sum(normalized_score * normalized_score)) as column_norm,
        count(*) as user_count
    from user_normalised
    group by item_id

)

{# Only what the pair join and the mart need: every column of a 7M-row table costs its write. #}
select
    user_normalised.user_key,
    item_columns.item_key,
    user_normalised.item_id,
    user_normalised.normalized_score,
    {{ sqlrec.pair_weight(
        unit_column_score='user_normalised.normalized_score / item_columns.column_norm',
        user_items='user_normalised.kept_items',
        item_users='item_columns.user_count',
    ) }} as pair_weight
from user_normalised
inner join item_columns
    on user_normalised.item_id = item_columns.item_id
