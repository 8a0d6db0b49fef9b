{#- Hooks for the models whose hash aggregations group tens or hundreds of millions of rows
    (int_item_pairs, user_recommendations), as {'before': [...], 'after': [...]} for the
    model's pre_hook and post_hook lists. Each hook is one step of aggregation_threads_hook;
    only DuckDB has anything to do, elsewhere each step renders empty and dbt skips it.

    With at most two threads, DuckDB's hash aggregation keeps two partitions for good: it grows
    its partitioning only from three threads on. With tens of millions of groups each
    partition's hash table is then far larger than the cache and most inserts miss. So these
    models run with at least three threads, and the setting is put back afterwards. Measured at
    10M events on two cores: int_item_pairs 21.5 s with two threads, 15.5 s with three;
    user_recommendations (in one statement) 29.8 s and 24.1 s. -#}
{% macro aggregation_threads_hooks() -%}
    {%- set step = "{{ sqlrec.aggregation_threads_hook('%s') }}" -%}
    {{ return({
        'before': [step | format('save_threads'), step | format('raise_threads')],
        'after': [step | format('restore_threads')],
    }) }}
{%- endmacro %}

{% macro aggregation_threads_hook(step) -%}
    {{ return(adapter.dispatch('aggregation_threads_hook', 'sqlrec')(step)) }}
{%- endmacro %}

{% macro default__aggregation_threads_hook(step) -%}{%- endmacro %}

{% macro duckdb__aggregation_threads_hook(step) -%}
    {%- set saved = 'sqlrec_threads_before_' ~ this.identifier -%}
    {%- if step == 'save_threads' -%}
        set variable {{ saved }} = current_setting('threads')
    {%- elif step == 'raise_threads' -%}
        set threads = greatest(cast(current_setting('threads') as integer), 3)
    {%- elif step == 'restore_threads' -%}
        set threads = getvariable('{{ saved }}')
    {%- endif -%}
{%- endmacro %}
