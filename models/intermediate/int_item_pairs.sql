{#- Every unordered item pair (item_key < similar_item_key) with at least min_common_users common
    users, and its cosine. The first chunk of pairs creates the table, post-hooks insert the rest
    (see macro item_pair_chunk for why); the hooks around them prepare the engine (macro
    aggregation_threads_hooks) and what the chunks share (macro item_pair_hook). -#}

{%- set chunks = var('pair_chunks') | int -%}
{%- set hook = "{{ sqlrec.item_pair_hook('%s', " ~ (chunks > 1) ~ ") }}" -%}
{%- set threads_hooks = sqlrec.aggregation_threads_hooks() -%}
{%- set post_hooks = [] -%}
{%- for chunk in range(1, chunks) -%}
    {%- do post_hooks.append(
        "insert into {{ this }} (item_key, similar_item_key, score, common_users) "
        ~ "{{ sqlrec.item_pair_chunk(" ~ chunk ~ ", " ~ chunks ~ ") }}"
    ) -%}
{%- endfor -%}

{{ config(
    pre_hook=threads_hooks.before + [hook | format('build_lists')],
    post_hook=post_hooks + [hook | format('drop_lists')] + threads_hooks.after,
) }}

{{ sqlrec.item_pair_chunk(0, chunks) }}
