{#- "Viewed together": each item's similar_items_k most similar items under the similarity model of
    var similarity (macros/similarity). The pairs come once each (a < b) from int_item_pairs and
    are mirrored only here, each direction scored, before the top-k cut: that halves the pair
    aggregation, where nearly all of the time goes. int_item_pairs is read where needed, not
    through a CTE: DuckDB would materialise a CTE used more than once, a copy of every pair. -#}

{%- set top_k = var('similar_items_k') | int -%}
{%- set exponent = sqlrec.similarity_directional_exponent() -%}
{%- set directions = [('item_key', 'similar_item_key'), ('similar_item_key', 'item_key')] -%}

{#- One direction of the pairs (source -> target) with its score: the pair's symmetric sum, times
    (d_target / d_source) ^ exponent for a directional model (macros/similarity). -#}
{%- set directed_pairs -%}
    select
        item_pairs.__SOURCE__ as item_key,
        item_pairs.__TARGET__ as similar_item_key,
        {% if exponent == 0 -%}
        item_pairs.pair_weight_sum as score,
        {%- else -%}
        item_pairs.pair_weight_sum * power(
            cast(target_items.user_count as double) / source_items.user_count, {{ exponent }}
        ) as score,
        {%- endif %}
        item_pairs.common_users
    from {{ ref('int_item_pairs') }} as item_pairs
    {% if exponent != 0 -%}
    inner join item_keys as source_items
        on item_pairs.__SOURCE__ = source_items.item_key
    inner join item_keys as target_items
        on item_pairs.__TARGET__ = target_items.item_key
    {%- endif %}
{%- endset -%}

with

{# item_key -> item_id is one to one: grouping by the integer alone is cheaper than a distinct
   over both columns of every row. #}
item_keys as (

    select item_key, min(item_id) as item_id, count(*) as user_count
    from {{ ref('int_user_item_vectors') }}
    group by item_key

),

{# Ranking every pair (both directions: twice the pairs) is the costly part of this model. So
   each item's k-th best score is found first, with an aggregate that keeps only the k best per
   item, and every pair below it is dropped before the ranking. No true top-k pair is ever
   dropped; ties at the floor are kept and the ranking decides them. #}
score_floors as (

    select item_key, {{ sqlrec.nth_largest('score', top_k) }} as score_floor
    from (
        {% for source, target in directions -%}
        {% if not loop.first %}union all{% endif %}
        select item_key, score from (
            {{ directed_pairs | replace('__SOURCE__', source) | replace('__TARGET__', target) }}
        ) as direction_{{ loop.index }}
        {% endfor %}
    ) as both_directions
    group by item_key

),

{# Both directions of every pair, each filtered by its own item's floor before the mirror, so
   the mirror never holds all the pairs twice. An item with fewer than k pairs has no floor and
   keeps them all. #}
candidate_pairs as (
{% for source, target in directions %}
    {%- if not loop.first %}
    union all
    {% endif %}
    select directed.*
    from (
        {{ directed_pairs | replace('__SOURCE__', source) | replace('__TARGET__', target) }}
    ) as directed
    left join score_floors
        on directed.item_key = score_floors.item_key
    where score_floors.score_floor is null
        or directed.score >= score_floors.score_floor
{% endfor %}
),

top_pairs as (

    {{ sqlrec.top_n_per_group(
        'candidate_pairs', 'item_key', 'score desc, similar_item_key', top_k
    ) }}

)

{# The table stays complete for analysts; the availability column lets the service (and any
   reader) leave sold-out neighbours out. #}
select
    items.item_id,
    similar_items.item_id as similar_item_id,
    top_pairs.score,
    top_pairs.rank,
    top_pairs.common_users,
    coalesce(catalogue.is_available, true) as similar_item_is_available
from top_pairs
inner join item_keys as items
    on top_pairs.item_key = items.item_key
inner join item_keys as similar_items
    on top_pairs.similar_item_key = similar_items.item_key
left join {{ ref('int_items_enriched') }} as catalogue
    on similar_items.item_id = catalogue.item_id
