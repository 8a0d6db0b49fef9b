{#- "For you": top_k items per user, the personalised signals blended, then popular items to
    fill the list.
    - ALS (int_als_recommendations, users with factors from the last `sqlrec train`): each score
      divided by the user's largest, times var blend_als_weight;
    - item similarity over the user's recent items (int_similarity_recommendations): each score
      divided by the user's largest, times var blend_similarity_weight.
    An item's score is the sum of both parts; source says which part is larger ('als' on a tie).
    Without ALS tables (before the first training) the list is item similarity then popular.
    Never an item the user already interacted with, never an unavailable item (the candidate
    models leave them out; popular_items holds only available items). -#}

{%- set top_k = var('top_k') | int -%}
{%- set als_weight = var('blend_als_weight') | float -%}
{%- set similarity_weight = var('blend_similarity_weight') | float -%}

with

interactions as (

    select user_id, item_id from {{ ref('int_user_item_scores') }}

),

popular_items as (

    select item_id, score, rank from {{ ref('popular_items') }}
    where scope = 'global'

),

users as (

    select distinct user_id from interactions

),

similarity_candidates as (

    select user_id, item_id, raw_score from {{ ref('int_similarity_recommendations') }}

),

als_candidates as (

    select user_id, item_id, raw_score from {{ ref('int_als_recommendations') }}

),

{# Each signal scaled by the user's best remaining item, then weighted. Only each signal's own
    top list takes part, which keeps the blend as cheap as the similarity list alone. #}
weighted_parts as (

    select
        user_id,
        item_id,
        {{ similarity_weight }} * raw_score / max(raw_score) over (partition by user_id)
            as similarity_part,
        0.0 as als_part
    from similarity_candidates

    union all

    select
        user_id,
        item_id,
        0.0 as similarity_part,
        {{ als_weight }} * raw_score / max(raw_score) over (partition by user_id) as als_part
    from als_candidates

),

weighted_candidates as (

    select
        user_id,
        item_id,
        sum(similarity_part) as similarity_part,
        sum(als_part) as als_part
    from weighted_parts
    group by user_id, item_id

),

blended_candidates as (

    select
        user_id,
        item_id,
        similarity_part + als_part as raw_score,
        case when als_part >= similarity_part then 'als' else 'item_similarity' end as source
    from weighted_candidates
    where similarity_part + als_part > 0

),

personalised_ranked as (

    {{ sqlrec.top_n_per_group('blended_candidates', 'user_id', 'raw_score desc, item_id', top_k) }}

),

personalised_recommendations as (

    select
        user_id,
        item_id,
        raw_score / max(raw_score) over (partition by user_id) as score,
        rank,
        source
    from personalised_ranked

),

{# How many popular items each user must skip (already known or already recommended) bounds how
    far down the popular list the fill has to look, so the fill never pairs every user with every
    popular item. #}
excluded_items as (

    select user_id, item_id from interactions
    union
    select user_id, item_id from personalised_recommendations

),

fill_needs as (

    select
        users.user_id,
        {{ top_k }} - coalesce(personalised.item_count, 0) as open_slots,
        coalesce(skipped.item_count, 0) as skipped_popular
    from users
    left join (
        select user_id, count(*) as item_count
        from personalised_recommendations
        group by user_id
    ) as personalised
        on users.user_id = personalised.user_id
    left join (
        select excluded_items.user_id, count(*) as item_count
        from excluded_items
        inner join popular_items
            on excluded_items.item_id = popular_items.item_id
        group by excluded_items.user_id
    ) as skipped
        on users.user_id = skipped.user_id

),

popular_candidates as (

    select
        fill_needs.user_id,
        fill_needs.open_slots,
        popular_items.item_id,
        popular_items.score,
        popular_items.rank as popular_rank
    from fill_needs
    inner join popular_items
        on popular_items.rank <= fill_needs.open_slots + fill_needs.skipped_popular
    left join excluded_items
        on fill_needs.user_id = excluded_items.user_id
        and popular_items.item_id = excluded_items.item_id
    where fill_needs.open_slots > 0
        and excluded_items.item_id is null

),

popular_ranked as (

    {{ sqlrec.top_n_per_group('popular_candidates', 'user_id', 'popular_rank', none, 'fill_rank') }}

),

popular_recommendations as (

    select
        user_id,
        item_id,
        score,
        {{ top_k }} - open_slots + fill_rank as rank,
        'popular' as source
    from popular_ranked
    where fill_rank <= open_slots

)

select user_id, item_id, score, rank, source from personalised_recommendations
union all
select user_id, item_id, score, rank, source from popular_recommendations
