{#- Offline metrics of every recommender of every `sqlrec evaluate` run, computed in SQL from the
    run's held-out interactions and lists (the same definitions as sqlrec.evaluation.metrics,
    which a test checks row for row; docs/design.md, "Evaluation"):

    - NDCG@10: sum over ranks r <= 10 of hits of 1 / log2(r + 1), over the same sum for a perfect
      list (min(|T|, 10) hits at the top); MAP@10: (1 / min(|T|, 10)) * sum over hits at r <= 10
      of precision@r; Recall@20: hits in the first 20 / |T|; HitRate@10: a hit in the first 10.
      Averaged over the scored users (users with held-out items); a user without a list scores 0.
    - coverage@10: distinct items in the scored users' first 10 / items of the training part.
    - mean_popularity@10: mean over those list rows of the item's share of training users.
    - diversity@10: per user, the share of pairs of categorised items in the first 10 that differ
      in category, averaged over users with at least two; null without a catalogue.

    Appended per run: a run is computed once, and earlier runs stay for comparison. -#}

{{ config(
    materialized='incremental',
    incremental_strategy='append',
    tags=['evaluation'],
) }}

with

runs as (

    select * from {{ ref('stg_evaluation__runs') }}
    {% if is_incremental() -%}
    where run_id not in (select run_id from {{ this }})
    {%- endif %}

),

holdout as (

    select holdout.*
    from {{ ref('stg_evaluation__holdout') }} as holdout
    inner join runs
        on holdout.run_id = runs.run_id

),

lists as (

    select lists.*
    from {{ ref('stg_evaluation__lists') }} as lists
    inner join runs
        on lists.run_id = runs.run_id
    where lists.rank <= 20

),

items as (

    select * from {{ ref('stg_evaluation__items') }}

),

scored_users as (

    select run_id, user_id, count(*) as relevant_items
    from holdout
    group by run_id, user_id

),

recommenders as (

    select distinct run_id, recommender from lists

),

{# Each scored user once per recommender, so that a user without a list counts as a zero. #}
user_recommenders as (

    select recommenders.run_id, recommenders.recommender, scored_users.user_id,
        scored_users.relevant_items
    from recommenders
    inner join scored_users
        on recommenders.run_id = scored_users.run_id

),

scored_lists as (

    select lists.*
    from lists
    inner join scored_users
        on lists.run_id = scored_users.run_id
        and lists.user_id = scored_users.user_id

),

hits as (

    select
        scored_lists.run_id,
        scored_lists.recommender,
        scored_lists.user_id,
        scored_lists.rank,
        row_number() over (
            partition by scored_lists.run_id, scored_lists.recommender, scored_lists.user_id
            order by scored_lists.rank
        ) as hits_so_far
    from scored_lists
    inner join holdout
        on scored_lists.run_id = holdout.run_id
        and scored_lists.user_id = holdout.user_id
        and scored_lists.item_id = holdout.item_id

),

{# The perfect list's DCG for n relevant items: the sum of 1 / log2(r + 1) for r = 1 .. n. #}
ideal_gains as (

    select positions.n, sum(1.0 / log2(ranks.r + 1)) as ideal_dcg
    from (select distinct least(relevant_items, 10) as n from scored_users) as positions
    inner join (
        {% for r in range(1, 11) %}select {{ r }} as r{% if not loop.last %} union all {% endif %}{% endfor %}
    ) as ranks
        on ranks.r <= positions.n
    group by positions.n

),

user_metrics as (

    select
        user_recommenders.run_id,
        user_recommenders.recommender,
        user_recommenders.user_id,
        coalesce(sum(case when hits.rank <= 10 then 1.0 / log2(hits.rank + 1) end), 0)
            / max(ideal_gains.ideal_dcg) as ndcg_at_10,
        coalesce(sum(case when hits.rank <= 10 then 1.0 * hits.hits_so_far / hits.rank end), 0)
            / least(max(user_recommenders.relevant_items), 10) as map_at_10,
        1.0 * count(hits.rank) / max(user_recommenders.relevant_items) as recall_at_20,
        case when count(case when hits.rank <= 10 then 1 end) > 0 then 1.0 else 0.0 end
            as hitrate_at_10
    from user_recommenders
    inner join ideal_gains
        on least(user_recommenders.relevant_items, 10) = ideal_gains.n
    left join hits
        on user_recommenders.run_id = hits.run_id
        and user_recommenders.recommender = hits.recommender
        and user_recommenders.user_id = hits.user_id
    group by user_recommenders.run_id, user_recommenders.recommender, user_recommenders.user_id

),

accuracy as (

    select
        run_id,
        recommender,
        count(*) as scored_users,
        avg(ndcg_at_10) as ndcg_at_10,
        avg(map_at_10) as map_at_10,
        avg(recall_at_20) as recall_at_20,
        avg(hitrate_at_10) as hitrate_at_10
    from user_metrics
    group by run_id, recommender

),

first_ten as (

    select
        scored_lists.run_id,
        scored_lists.recommender,
        scored_lists.user_id,
        scored_lists.item_id,
        items.training_users,
        items.category
    from scored_lists
    left join items
        on scored_lists.run_id = items.run_id
        and scored_lists.item_id = items.item_id
    where scored_lists.rank <= 10

),

catalogue as (

    select run_id, count(*) as items
    from items
    group by run_id

),

beyond_accuracy as (

    select
        first_ten.run_id,
        first_ten.recommender,
        1.0 * count(distinct first_ten.item_id) / max(catalogue.items) as coverage_at_10,
        avg(1.0 * first_ten.training_users / runs.training_users) as mean_popularity_at_10
    from first_ten
    inner join catalogue
        on first_ten.run_id = catalogue.run_id
    inner join runs
        on first_ten.run_id = runs.run_id
    group by first_ten.run_id, first_ten.recommender

),

{# Pairs of a user's first ten with a category each: the share that differ. #}
category_pairs as (

    select
        first.run_id,
        first.recommender,
        first.user_id,
        avg(case when first.category <> second.category then 1.0 else 0.0 end) as diversity
    from first_ten as first
    inner join first_ten as second
        on first.run_id = second.run_id
        and first.recommender = second.recommender
        and first.user_id = second.user_id
        and first.item_id < second.item_id
    where first.category is not null and second.category is not null
    group by first.run_id, first.recommender, first.user_id

),

diversity as (

    select run_id, recommender, avg(diversity) as diversity_at_10
    from category_pairs
    group by run_id, recommender

)

select
    runs.run_id,
    runs.dataset,
    runs.evaluated_at,
    accuracy.recommender,
    accuracy.scored_users,
    accuracy.ndcg_at_10,
    accuracy.map_at_10,
    accuracy.recall_at_20,
    accuracy.hitrate_at_10,
    beyond_accuracy.coverage_at_10,
    beyond_accuracy.mean_popularity_at_10,
    diversity.diversity_at_10
from accuracy
inner join runs
    on accuracy.run_id = runs.run_id
left join beyond_accuracy
    on accuracy.run_id = beyond_accuracy.run_id
    and accuracy.recommender = beyond_accuracy.recommender
left join diversity
    on accuracy.run_id = diversity.run_id
    and accuracy.recommender = diversity.recommender
