{#- Which share of users get a personalised list: fully (every row from a personal signal),
    partly (topped up with popular items), or not at all (popular items only). -#}

with

recommendations as (

    select * from {{ ref('user_recommendations') }}

),

per_user as (

    select
        user_id,
        count(*) as list_length,
        sum(case when source = 'popular' then 0 else 1 end) as personalised_rows
    from recommendations
    group by user_id

)

select
    case
        when personalised_rows = list_length then 'fully personalised'
        when personalised_rows > 0 then 'partly personalised'
        else 'popular only'
    end as personalisation,
    count(*) as users,
    round(1.0 * count(*) / sum(count(*)) over (), 4) as share_of_users,
    round(avg(list_length), 2) as average_list_length
from per_user
group by 1
order by 1
