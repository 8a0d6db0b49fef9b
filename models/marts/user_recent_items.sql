{#- Each user's most recently touched items, newest first: the seeds of "similar to what you
    recently viewed". -#}

with

user_item_scores as (

    select * from {{ ref('int_user_item_scores') }}

),

ranked as (

    {{ sqlrec.top_n_per_group(
        'user_item_scores', 'user_id', 'last_event_at desc, item_id',
        var('recent_items_per_user'), 'recency_rank'
    ) }}

)

select
    user_id,
    item_id,
    last_event_at,
    recency_rank,
    score,
    event_count
from ranked
