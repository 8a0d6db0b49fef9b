{#- "Viewed together": each item's top_k most similar items. The pairs come once each
    (a < b) from int_item_pairs and are mirrored only here, before the top-k cut, which halves
    the pair join and its aggregation, where nearly all of the time goes. int_item_pairs is
    read where needed, not through a CTE: DuckDB would materialise a CTE used more than once,
    a copy of every pair. -#}

{%- set top_k = var('top_k') | int -%}

with

{# item_key -> item_id is one to one: grouping by the integer alone is cheaper than a distinct
   over both columns of every row. #}
item_keys as (

    select item_key, min(item_id) as item_id
    from {{ ref('int_user_item_vectors') }}
    group by item_key

),

{% if top_k > 0 -%}
{# Ranking every pair (both directions: twice the pairs) is the costly part of this model. So
   each item's k-th best score is found first, with an aggregate that keeps only the k best per
   item, and every pair below it is dropped before the ranking. No true top-k pair is ever
   dropped; ties at the floor are kept and the ranking decides them. #}
score_floors as (

    select item_key, {{ sqlrec.nth_largest('score', top_k) }} as score_floor
    from (
        select item_key, score from {{ ref('int_item_pairs') }}
        union all
        select similar_item_key, score from {{ ref('int_item_pairs') }}
    ) as both_directions
    group by item_key

),

{% endif -%}
{# Both directions of every pair, each filtered by its own item's floor before the mirror, so
   the mirror never holds all the pairs twice. An item with fewer than k pairs has no floor and
   keeps them all. #}
candidate_pairs as (
{% for item_key, similar_item_key in [('item_key', 'similar_item_key'),
                                      ('similar_item_key', 'item_key')] %}
    {%- if not loop.first %}
    union all
    {% endif %}
    select
        item_pairs.{{ item_key }} as item_key,
        item_pairs.{{ similar_item_key }} as similar_item_key,
        item_pairs.score,
        item_pairs.common_users
    from {{ ref('int_item_pairs') }} as item_pairs
    {% if top_k > 0 -%}
    left join score_floors
        on item_pairs.{{ item_key }} = score_floors.item_key
    where score_floors.score_floor is null
        or item_pairs.score >= score_floors.score_floor
    {%- endif %}
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
