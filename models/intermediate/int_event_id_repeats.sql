{#- The valid staged rows whose event_id occurs more than once, numbered in the order that decides
    which copy is kept: the earliest (event_date, event_at, then the other columns and the file,
    so that the order is total). Occurrence 1 is kept; every other one is a duplicate_event_id.
    Deciding this over all staged rows on every run, not within a batch, gives the same result
    whatever order the files arrived in.

    Repeats are rare, so only they are ranked: repeated ids are found by a 64-bit hash of the id
    (grouping one integer is cheaper than the long strings). A collision only adds an unrepeated
    id here, as the only row of its own event_id: occurrence 1, kept. The checked events are read
    twice rather than through a CTE, which DuckDB would copy. -#}

with

repeated_hashes as (

    select {{ sqlrec.string_hash('event_id') }} as event_id_hash
    from {{ ref('int_events_checked') }}
    where reject_reason is null and event_id is not null
    group by {{ sqlrec.string_hash('event_id') }}
    having count(*) > 1

),

repeated_rows as (

    select checked.*, repeated_hashes.event_id_hash
    from {{ ref('int_events_checked') }} as checked
    inner join repeated_hashes
        on {{ sqlrec.string_hash('checked.event_id') }} = repeated_hashes.event_id_hash
    where checked.reject_reason is null and checked.event_id is not null

)

select
    event_id_hash,
    event_id,
    user_id,
    item_id,
    event_type,
    event_at,
    event_date,
    source_file,
    row_number() over (
        partition by event_id
        order by event_date, event_at, user_id, item_id, event_type, source_file
    ) as occurrence
from repeated_rows
