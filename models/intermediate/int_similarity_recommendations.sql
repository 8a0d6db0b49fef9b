{#- The item-similarity signal of "for you": each user's top_k new, available items by their
    similarity to the user's recent items, each neighbour weighted by how strongly the user holds
    the recent item: raw_score(u, j) = sum over recent items i of w(u,i) * sim(i -> j).
    because_item_id is the recent item with the largest term (on a tie the more recent one).

    Built in chunks of users (materialization chunked_table), as many as the (user, recent item,
    neighbour) rows (macro similarity_candidate_rows) need at candidate_rows_per_chunk each: at
    10M events users have 80M of them, 71M distinct (user, neighbour), and aggregating them all
    at once takes 9-11 GB. -#}

{{ config(
    materialized='chunked_table',
    chunk_estimate='similarity_candidate_rows',
    chunk_rows=var('candidate_rows_per_chunk'),
    chunks=var('recommendation_chunks'),
    min_threads=3,
) }}

{%- set top_k = var('top_k') | int -%}

with

recent_items as (

    select user_id, item_id, score, recency_rank
    from {{ ref('user_recent_items') }}
    where {{ sqlrec.string_hash('user_id') }} % {{ sqlrec.chunk_count() }} = {{ sqlrec.chunk_number() }}

),

interactions as (

    select user_id, item_id
    from {{ ref('int_user_item_scores') }}
    where {{ sqlrec.string_hash('user_id') }} % {{ sqlrec.chunk_count() }} = {{ sqlrec.chunk_number() }}

),

{# Unavailable items are dropped from the neighbour lists before they meet the users' recent
   items: a filter on the similarity rows instead of on every user's candidates. #}
available_similarity as (

    select item_similarity.item_id, item_similarity.similar_item_id, item_similarity.score
    from {{ ref('item_similarity') }} as item_similarity
    left join {{ ref('int_items_enriched') }} as items
        on item_similarity.similar_item_id = items.item_id
    where coalesce(items.is_available, true)

),

similarity_candidates as (

    select
        recent_items.user_id,
        available_similarity.similar_item_id as item_id,
        sum(recent_items.score * available_similarity.score) as raw_score,
        {{ sqlrec.arg_max_by('recent_items.item_id',
            'recent_items.score * available_similarity.score', '-recent_items.recency_rank') }}
            as because_item_id
    from recent_items
    inner join available_similarity
        on recent_items.item_id = available_similarity.item_id
    group by recent_items.user_id, available_similarity.similar_item_id

),

new_candidates as (

    select similarity_candidates.*
    from similarity_candidates
    left join interactions
        on similarity_candidates.user_id = interactions.user_id
        and similarity_candidates.item_id = interactions.item_id
    where interactions.item_id is null

),

{# Ranking every candidate is the costliest step, so each user's top_k-th best score is found
   first (an aggregate keeping k values per user) and only candidates at or above it are
   ranked: no true top-k candidate is dropped, ties at the floor are kept and the ranking
   decides them. A user with fewer than k candidates has no floor. The floor is lowered by a
   relative 1e-9: Trino computes the CTE twice, summing the floats in another order, so the k-th
   score itself can land a hair below its own floor. #}
{% if top_k > 0 -%}
score_floors as (

    select user_id, {{ sqlrec.nth_largest('raw_score', top_k) }} as score_floor
    from new_candidates
    group by user_id

),

{% endif -%}
candidates_above_floor as (

    select new_candidates.*
    from new_candidates
    {% if top_k > 0 -%}
    left join score_floors
        on new_candidates.user_id = score_floors.user_id
    where score_floors.score_floor is null
        or new_candidates.raw_score >= score_floors.score_floor - 1e-9 * abs(score_floors.score_floor)
    {%- endif %}

),

ranked as (

    {{ sqlrec.top_n_per_group('candidates_above_floor', 'user_id', 'raw_score desc, item_id', top_k) }}

)

select user_id, item_id, raw_score, rank, because_item_id
from ranked
