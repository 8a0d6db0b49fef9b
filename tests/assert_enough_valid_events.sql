{#- The build's quality gate: when no event is valid, or more than var max_rejected_share of the
    events read are rejected, the build stops here — before any score is computed (everything
    after int_valid_events is skipped) — with the counts by reason in the error. events_rejected
    is still built, for the rows themselves. -#}

with

counts as (

    select * from {{ ref('int_event_counts') }}

),

totals as (

    select
        sum(events) as all_events,
        sum(case when outcome = 'valid' then events else 0 end) as valid_events,
        {{ dbt.listagg(
            "case when outcome <> 'valid' and events > 0 then outcome || ' ' || cast(events as "
                ~ dbt.type_string() ~ ") end",
            "', '", 'order by events desc, outcome'
        ) }} as rejected_by_reason
    from counts

)

{# Why an engine error and not failing rows: a failing test says only "Got 1 result", while the
   user needs the counts by reason and what to do, in one line, before anything is scored. The
   error is raised in the filter: dbt only counts a test's rows, so an error in a selected column
   would never be evaluated. The advice depends on the case: raising max_rejected_share lets
   nothing through when no event is valid, and a lake whose files hold no rows has no reasons. #}
{%- set text = dbt.type_string() -%}
{%- set counts = "cast(valid_events as " ~ text ~ ") || ' of ' || cast(all_events as " ~ text
    ~ ") || ' events are valid; rejected by reason: ' || coalesce(rejected_by_reason, 'none')" -%}
select all_events, valid_events, rejected_by_reason
from totals
where case
    when valid_events = 0
        or all_events - valid_events > {{ var('max_rejected_share') | float }} * all_events
        then {{ sqlrec.raise_error(
            "case"
            ~ " when all_events = 0 then 'sqlrec: the event files of the lake hold no events (0 rows"
            ~ " read); a build needs at least one valid event. Write events into the lake, or point"
            ~ " var events_path at the files that hold them.'"
            ~ " when valid_events = 0 then 'sqlrec: ' || " ~ counts ~ " || '. A build needs at least"
            ~ " one valid event: fix the lake (events_rejected has the rows and their reason).'"
            ~ " else 'sqlrec: ' || " ~ counts ~ " || '. A build stops when more than "
            ~ var('max_rejected_share') ~ " of them are rejected (var max_rejected_share). Fix the"
            ~ " lake (events_rejected has the rows and their reason) or raise the var.'"
            ~ " end"
        ) }} is null
    else false
end
