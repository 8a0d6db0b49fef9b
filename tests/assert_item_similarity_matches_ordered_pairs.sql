{#- item_similarity holds exactly the scores that every ordered pair gives when computed on its
    own, and sim(a,b) = sim(b,a) before the top-k cut wherever the model is symmetric (cosine,
    rp3beta with alpha = beta, asymmetric_cosine with alpha 1/2). The mart generates each
    unordered pair once and mirrors it; this test instead aggregates every ordered pair
    independently by a self-join, for a sample of items (every 97th key, to keep it cheap on
    big data), and checks both directions and the mart's rows against that recomputation. -#}

{%- set exponent = sqlrec.similarity_directional_exponent() -%}

with

vectors as (

    select * from {{ ref('int_user_item_vectors') }}

),

item_users as (

    select item_key, count(*) as user_count
    from vectors
    group by item_key

),

item_similarity as (

    select * from {{ ref('item_similarity') }}

),

ordered_pairs as (

    select
        item_a.item_key,
        item_b.item_key as other_item_key,
        item_a.item_id,
        item_b.item_id as other_item_id,
        sum(item_a.pair_weight * item_b.pair_weight)
            * power(cast(max(users_b.user_count) as double) / max(users_a.user_count), {{ exponent }})
            as score
    from vectors as item_a
    inner join vectors as item_b
        on item_a.user_key = item_b.user_key
        and item_a.item_key <> item_b.item_key
    inner join item_users as users_a
        on item_a.item_key = users_a.item_key
    inner join item_users as users_b
        on item_b.item_key = users_b.item_key
    where item_a.item_key % 97 = 1 or item_b.item_key % 97 = 1
    group by item_a.item_key, item_b.item_key, item_a.item_id, item_b.item_id

),

{% if exponent == 0 -%}
asymmetric_pairs as (

    select forward.item_id, forward.other_item_id, forward.score, backward.score as reverse_score,
        'sim(a,b) <> sim(b,a)' as problem
    from ordered_pairs as forward
    left join ordered_pairs as backward
        on forward.item_key = backward.other_item_key
        and forward.other_item_key = backward.item_key
    where backward.score is null
        or abs(forward.score - backward.score) > 1e-9 * forward.score

),

{% endif -%}
mart_differs as (

    select item_similarity.item_id, item_similarity.similar_item_id, item_similarity.score,
        ordered_pairs.score as reverse_score, 'mart score <> recomputed score' as problem
    from item_similarity
    inner join ordered_pairs
        on item_similarity.item_id = ordered_pairs.item_id
        and item_similarity.similar_item_id = ordered_pairs.other_item_id
    where abs(item_similarity.score - ordered_pairs.score) > 1e-9 * ordered_pairs.score

)

{% if exponent == 0 -%}
select * from asymmetric_pairs
union all
{% endif -%}
select * from mart_differs
