{#- "For you": top_k items per user, the personalised signals blended, then popular items to
    fill the list. The signals, each scaled by the user's best item of that signal so that it
    scores 1, then weighted by its var:
    - item similarity over the user's recent items (int_similarity_recommendations),
      blend_similarity_weight;
    - ALS and EASE, the models of the Python step (int_model_recommendations),
      blend_als_weight and blend_ease_weight.
    An item's score is the sum of its parts; source names the largest part (on a tie als, then
    ease, then item_similarity) and because_item_id is that part's reason. A signal with weight
    0, or without rows (a model not trained yet), takes no part. Max-scaling and weights that
    may be 0 are what keep the blend from falling below its best part (docs/design.md, "For
    you"). Never an item the user already interacted with, never an unavailable item (the
    candidate models leave them out; popular_items holds only available items).
    Within a user, score never increases down the list: the popular fill of a user with
    personalised items scores its popularity times half the user's lowest personalised score. -#}

{%- set top_k = var('top_k') | int -%}
{%- set weights = {
    'item_similarity': var('blend_similarity_weight') | float,
    'als': var('blend_als_weight') | float,
    'ease': var('blend_ease_weight') | float,
} -%}
{#- which source a tie between parts goes to -#}
{%- set priority = {'item_similarity': 1, 'ease': 2, 'als': 3} -%}

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

{# The reasons travel through the blend's aggregation as integer item keys, which DuckDB's
   arg_max keeps in place where it copies every string (at 10M events the aggregation of 42M
   candidate rows: 39.5 -> 15.2 s of CPU); ids come back for the rows kept. #}
item_keys as (

    {{ sqlrec.item_keys() }}

),

{# Each signal scaled by the user's best item of that signal, then weighted. The best score
   comes from one hash aggregate per signal (a few rows per user) joined back, not from a window
   that sorts every candidate by (user, part); each signal is read twice rather than through a
   CTE, which DuckDB would copy. Only each signal's own top list takes part, which keeps the
   blend as cheap as the similarity list alone. #}
candidates as (

    select
        similarity.user_id,
        similarity.item_id,
        'item_similarity' as part,
        similarity.raw_score,
        best.max_raw_score,
        similarity.because_item_id
    from {{ ref('int_similarity_recommendations') }} as similarity
    inner join (
        select user_id, max(raw_score) as max_raw_score
        from {{ ref('int_similarity_recommendations') }}
        group by user_id
    ) as best
        on similarity.user_id = best.user_id

    union all

    select
        models.user_id,
        models.item_id,
        models.model as part,
        models.raw_score,
        best.max_raw_score,
        models.because_item_id
    from {{ ref('int_model_recommendations') }} as models
    inner join (
        select model, user_id, max(raw_score) as max_raw_score
        from {{ ref('int_model_recommendations') }}
        group by model, user_id
    ) as best
        on models.model = best.model
        and models.user_id = best.user_id

),

weighted_parts as (

    select
        candidates.user_id,
        candidates.item_id,
        candidates.part,
        case candidates.part
            {% for part, weight in weights.items() -%}
            when '{{ part }}' then {{ weight }}
            {% endfor -%}
        end * candidates.raw_score / candidates.max_raw_score as contribution,
        case candidates.part
            {% for part, rank in priority.items() -%}
            when '{{ part }}' then {{ rank }}
            {% endfor -%}
        end as part_priority,
        because_items.item_key as because_item_key
    from candidates
    left join item_keys as because_items
        on candidates.because_item_id = because_items.item_id

),

blended_candidates as (

    select
        user_id,
        item_id,
        sum(contribution) as raw_score,
        {{ sqlrec.arg_max_by('part_priority', 'contribution', 'part_priority') }}
            as source_priority,
        {{ sqlrec.arg_max_by('because_item_key', 'contribution', 'part_priority') }}
            as because_item_key
    from weighted_parts
    where contribution > 0
    group by user_id, item_id

),

{# As in int_similarity_recommendations: each user's top_k-th blended score first (an aggregate
   keeping k values per user), and only the candidates at or above it ranked. Ties at the floor
   are kept and the ranking decides them; the relative 1e-9 covers an engine that sums the
   parts of the CTE in another order when it computes it twice. #}
{#- top_k >= 1: validate_vars refuses anything else -#}
score_floors as (

    select user_id, {{ sqlrec.nth_largest('raw_score', top_k) }} as score_floor
    from blended_candidates
    group by user_id

),

candidates_above_floor as (

    select blended_candidates.*
    from blended_candidates
    left join score_floors
        on blended_candidates.user_id = score_floors.user_id
    where score_floors.score_floor is null
        or blended_candidates.raw_score >= score_floors.score_floor - 1e-9 * abs(score_floors.score_floor)

),

personalised_ranked as (

    {{ sqlrec.top_n_per_group('candidates_above_floor', 'user_id', 'raw_score desc, item_id', top_k) }}

),

personalised_recommendations as (

    select
        personalised_ranked.user_id,
        personalised_ranked.item_id,
        personalised_ranked.raw_score
            / max(personalised_ranked.raw_score) over (partition by personalised_ranked.user_id)
            as score,
        personalised_ranked.rank,
        case personalised_ranked.source_priority
            {% for part, rank in priority.items() -%}
            when {{ rank }} then '{{ part }}'
            {% endfor -%}
        end as source,
        because_items.item_id as because_item_id
    from personalised_ranked
    left join item_keys as because_items
        on personalised_ranked.because_item_key = because_items.item_key

),

{# The popular items the fill must skip for a user: those the user interacted with and those
   already in the personalised list. Only popular items can be skipped, so only they are
   collected: a few per user, not a copy of every interaction and recommendation. #}
excluded_popular_items as (

    select interactions.user_id, interactions.item_id
    from interactions
    inner join popular_items
        on interactions.item_id = popular_items.item_id

    union

    select personalised_recommendations.user_id, personalised_recommendations.item_id
    from personalised_recommendations
    inner join popular_items
        on personalised_recommendations.item_id = popular_items.item_id

),

fill_needs as (

    select
        users.user_id,
        {{ top_k }} - coalesce(personalised.item_count, 0) as open_slots,
        coalesce(skipped.item_count, 0) as skipped_popular,
        {#- the fill scores below every personalised item (popularity is at most 1), so that
            score never increases down the list; 1 for a user with none -#}
        coalesce(personalised.lowest_score / 2, 1.0) as fill_scale
    from users
    left join (
        select user_id, count(*) as item_count, min(score) as lowest_score
        from personalised_recommendations
        group by user_id
    ) as personalised
        on users.user_id = personalised.user_id
    left join (
        select user_id, count(*) as item_count
        from excluded_popular_items
        group by user_id
    ) as skipped
        on users.user_id = skipped.user_id

),

popular_candidates as (

    select
        fill_needs.user_id,
        fill_needs.open_slots,
        popular_items.item_id,
        popular_items.score * fill_needs.fill_scale as score,
        popular_items.rank as popular_rank
    from fill_needs
    inner join popular_items
        on popular_items.rank <= fill_needs.open_slots + fill_needs.skipped_popular
    left join excluded_popular_items
        on fill_needs.user_id = excluded_popular_items.user_id
        and popular_items.item_id = excluded_popular_items.item_id
    where fill_needs.open_slots > 0
        and excluded_popular_items.item_id is null

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
        'popular' as source,
        cast(null as {{ dbt.type_string() }}) as because_item_id
    from popular_ranked
    where fill_rank <= open_slots

)

select user_id, item_id, score, rank, source, because_item_id from personalised_recommendations
union all
select user_id, item_id, score, rank, source, because_item_id from popular_recommendations
