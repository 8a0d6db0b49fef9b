{#- A table built in several statements, one chunk of the data each.

    The model keeps its whole SQL; where it splits the data it writes {{ sqlrec.chunk_number() }}
    and {{ sqlrec.chunk_count() }}. Those render as `0` and `1` with a marker comment, so the
    compiled SQL alone (dbt compile, dbt show, a unit test) is the whole table in one statement.
    This materialisation runs it once per chunk with the marker values replaced: the first chunk
    creates the new table, the others insert into it, and it replaces the old table the way
    dbt's table materialisation does (build beside it, rename, drop the backup).

    Why chunks: the models that aggregate hundreds of millions of rows (int_item_pairs,
    int_similarity_recommendations) need a hash table of every distinct group at once; one chunk
    at a time keeps it, and the memory, `chunks` times smaller (docs/design.md, "Performance").

    How many chunks follows the data, worked out when the model runs (macro chunks_to_build):
    the model names a macro that counts the rows its aggregation will read (chunk_estimate) and
    how many rows one chunk may take (chunk_rows); chunks = ceil(rows / chunk_rows). A fixed
    number (config chunks, from a var) overrides the count. Results do not depend on it.

    Config: chunk_estimate (a dispatched macro in this project returning a one-row, one-column
    query), chunk_rows, chunks (none = from the estimate), min_threads (DuckDB: threads raised
    to at least this many around the chunks and put back afterwards, see macro
    aggregation_threads). -#}

{% materialization chunked_table, default %}
    {%- set chunks = sqlrec.chunks_to_build(
        config.get('chunks'), config.get('chunk_rows'), config.get('chunk_estimate')) -%}
    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(
        target_relation, 'table' if existing_relation is none else existing_relation.type) -%}
    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- set saved_threads = sqlrec.raise_aggregation_threads(config.get('min_threads', none)) -%}
    {%- for chunk in range(chunks) -%}
        {%- set chunk_sql = sqlrec.chunk_sql(sql, chunk, chunks) -%}
        {%- set started = modules.datetime.datetime.now() -%}
        {%- if loop.first -%}
            {% call statement('main') -%}
                {{ create_table_as(False, intermediate_relation, chunk_sql) }}
            {%- endcall %}
        {%- else -%}
            {% call statement('chunk_' ~ chunk) -%}
                insert into {{ intermediate_relation }} {{ chunk_sql }}
            {%- endcall %}
        {%- endif -%}
        {%- if chunks > 1 -%}
            {{ log(this.identifier ~ ': chunk ' ~ (chunk + 1) ~ ' of ' ~ chunks ~ ' in '
                ~ '%.1f' | format((modules.datetime.datetime.now() - started).total_seconds())
                ~ ' s', info=True) }}
        {%- endif -%}
    {%- endfor -%}
    {%- do sqlrec.restore_aggregation_threads(saved_threads) -%}

    {% if existing_relation is not none %}
        {{ adapter.rename_relation(existing_relation, backup_relation) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {% do persist_docs(target_relation, model) %}
    {{ adapter.commit() }}
    {{ drop_relation_if_exists(backup_relation) }}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{#- Where a chunked_table model splits its data: this chunk's number (0 .. chunk_count - 1). -#}
{% macro chunk_number() -%}
    0 /* sqlrec:chunk_number */
{%- endmacro %}

{#- How many chunks a chunked_table model is built in. -#}
{% macro chunk_count() -%}
    1 /* sqlrec:chunk_count */
{%- endmacro %}

{#- The compiled SQL of one chunk: the markers of chunk_number and chunk_count replaced. -#}
{% macro chunk_sql(sql, chunk, chunks) -%}
    {{ return(sql
        | replace(sqlrec.chunk_number(), chunk ~ ' /* sqlrec:chunk_number */')
        | replace(sqlrec.chunk_count(), chunks ~ ' /* sqlrec:chunk_count */')) }}
{%- endmacro %}

{#- How many chunks a chunked_table is built in, at execution time. DuckDB: `fixed` when it is
    given (a var's explicit override), else ceil(rows / rows_per_chunk) with rows the result of
    the estimate macro's query, from 1 to 4096 chunks; 1 without an estimate. Other engines: one
    (Trino spreads and spills a big aggregation itself). -#}
{% macro chunks_to_build(fixed, rows_per_chunk, estimate) -%}
    {{ return(adapter.dispatch('chunks_to_build', 'sqlrec')(fixed, rows_per_chunk, estimate)) }}
{%- endmacro %}

{% macro default__chunks_to_build(fixed, rows_per_chunk, estimate) -%}
    {{ return(1) }}
{%- endmacro %}

{% macro duckdb__chunks_to_build(fixed, rows_per_chunk, estimate) -%}
    {%- if fixed is not none -%}
        {{ return([fixed | int, 1] | max) }}
    {%- endif -%}
    {%- if not estimate or not rows_per_chunk -%}
        {{ return(1) }}
    {%- endif -%}
    {%- set rows = run_query(context['sqlrec'][estimate]()).columns[0].values()[0] -%}
    {%- set rows = (rows or 0) | int -%}
    {%- set per_chunk = [rows_per_chunk | int, 1] | max -%}
    {%- set chunks = [[(rows + per_chunk - 1) // per_chunk, 1] | max, 4096] | min -%}
    {{ log(this.identifier ~ ': ' ~ '{:,}'.format(rows) ~ ' rows to aggregate, '
        ~ chunks ~ ' chunk(s) of at most ' ~ '{:,}'.format(per_chunk), info=True) }}
    {{ return(chunks) }}
{%- endmacro %}
