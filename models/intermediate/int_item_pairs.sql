{#- Every unordered item pair (item_key < similar_item_key) with at least min_common_users common
    users: the sum over those users of the products of the two entries' pair_weight (for the
    cosine, the cosine itself; see macros/similarity), and their number.

    Built in chunks of the smaller item's key (materialization chunked_table), as many as the
    users' pairs (macro item_pair_rows) need at pair_rows_per_chunk each. Item a pairs only with
    items b > a, so low keys have more partners: bounds at 1 - sqrt(1 - chunk / chunks) of the
    key range give the chunks about equal numbers of pairs. -#}

{{ config(
    materialized='chunked_table',
    chunk_estimate='item_pair_rows',
    chunk_rows=var('pair_rows_per_chunk'),
    chunks=var('pair_chunks'),
    min_threads=3,
) }}

with

item_keys as (

    select coalesce(max(item_key), 0) as item_count
    from {{ ref('int_user_item_vectors') }}

),

chunk_bounds as (

    select
        floor(item_count * (1 - sqrt(
            1 - cast({{ sqlrec.chunk_number() }} as double) / {{ sqlrec.chunk_count() }}
        ))) as lower_key,
        case
            when {{ sqlrec.chunk_number() }} = {{ sqlrec.chunk_count() }} - 1 then item_count
            else floor(item_count * (1 - sqrt(
                1 - cast({{ sqlrec.chunk_number() }} + 1 as double) / {{ sqlrec.chunk_count() }}
            )))
        end as upper_key
    from item_keys

),

user_item_pairs as (

    {{ sqlrec.user_item_pairs('chunk_bounds') }}

),

pairs as (

    select
        pair_key,
        sum(product) as pair_weight_sum,
        count(*) as common_users
    from user_item_pairs
    group by pair_key
    having count(*) >= {{ var('min_common_users') | int }}

)

select
    {{ sqlrec.integer_divide('pair_key', 4294967296) }} as item_key,
    pair_key % 4294967296 as similar_item_key,
    pair_weight_sum,
    common_users
from pairs
