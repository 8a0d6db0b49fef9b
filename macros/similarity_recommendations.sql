{% macro similarity_recommendations(chunk, chunks) -%}
{#- The item-similarity part of user_recommendations: each user's top_k new, available items
    scored by item similarity over the user's recent items (each neighbour weighted by how
    strongly the user holds the recent item), as (user_id, item_id, raw_score, rank).

    With chunks > 1 (only on DuckDB, macro recommendation_chunks), only the users whose id
    hashes to slice `chunk`. At 10M events users have 80M (user, neighbour) rows, 71M of them
    distinct, and aggregating them all at once takes 9-11 GB; the hooks of user_recommendations
    build the slices one statement after another, in about a third of that. -#}
{%- set top_k = var('top_k') | int -%}
{%- set user_filter -%}
    {%- if chunks > 1 %} where hash(user_id) % {{ chunks }} = {{ chunk }}{% endif -%}
{%- endset -%}
with

recent_items as (

    select user_id, item_id, score from {{ ref('user_recent_items') }}{{ user_filter }}

),

interactions as (

    select user_id, item_id from {{ ref('int_user_item_scores') }}{{ user_filter }}

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
        sum(recent_items.score * available_similarity.score) as raw_score
    from recent_items
    inner join available_similarity
        on recent_items.item_id = available_similarity.item_id
    group by recent_items.user_id, available_similarity.similar_item_id

),

new_similarity as (

    select similarity_candidates.*
    from similarity_candidates
    left join interactions
        on similarity_candidates.user_id = interactions.user_id
        and similarity_candidates.item_id = interactions.item_id
    where interactions.item_id is null

),

{# Each user has some 150 candidates at 10M events; ranking them all is the costliest step.
   Each user's top_k-th best score is found first (an aggregate keeping k values per user)
   and only candidates at or above it are ranked: no true top-k candidate is dropped, ties at
   the floor are kept and the ranking decides them. A user with fewer than k has no floor. #}
{% if top_k > 0 -%}
similarity_floors as (

    select user_id, {{ sqlrec.nth_largest('raw_score', top_k) }} as score_floor
    from new_similarity
    group by user_id

),

{% endif -%}
similarity_above_floor as (

    select new_similarity.*
    from new_similarity
    {% if top_k > 0 -%}
    left join similarity_floors
        on new_similarity.user_id = similarity_floors.user_id
    where similarity_floors.score_floor is null
        or new_similarity.raw_score >= similarity_floors.score_floor
    {%- endif %}

)

select user_id, item_id, raw_score, rank from (
    {{ sqlrec.top_n_per_group('similarity_above_floor', 'user_id', 'raw_score desc, item_id', top_k) }}
) as similarity_ranked
{%- endmacro %}


{#- How many slices of users user_recommendations builds its similarity part in. DuckDB: var
    recommendation_chunks, built into a temp table by hooks. Other engines: one statement
    (Trino spreads and spills a big aggregation itself, and has no temp tables). -#}
{% macro recommendation_chunks() -%}
    {{ return(adapter.dispatch('recommendation_chunks', 'sqlrec')()) }}
{%- endmacro %}

{% macro default__recommendation_chunks() -%}
    {{ return(1) }}
{%- endmacro %}

{% macro duckdb__recommendation_chunks() -%}
    {{ return([var('recommendation_chunks') | int, 1] | max) }}
{%- endmacro %}

{% macro similarity_recommendations_relation() -%}
    {{ this.identifier }}__similarity
{%- endmacro %}

{#- Hook of user_recommendations: slice `chunk` of the similarity part into the temp table (the
    first slice creates it); chunk none drops it. DuckDB only. -#}
{% macro similarity_recommendations_hook(chunk, chunks) -%}
    {%- if chunk is none -%}
        drop table if exists {{ sqlrec.similarity_recommendations_relation() }}
    {%- elif chunk == 0 -%}
        create or replace temp table {{ sqlrec.similarity_recommendations_relation() }} as
        {{ sqlrec.similarity_recommendations(chunk, chunks) }}
    {%- else -%}
        insert into {{ sqlrec.similarity_recommendations_relation() }}
        {{ sqlrec.similarity_recommendations(chunk, chunks) }}
    {%- endif -%}
{%- endmacro %}
