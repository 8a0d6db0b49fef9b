{#- Every unordered item pair (item_key < similar_item_key) with at least min_common_users common
    users, and its cosine. The first chunk of pairs creates the table, post-hooks insert the rest
    (see macro item_pair_chunk for why); with several chunks, the hooks around them build and
    drop what the chunks share (macro prepare_user_item_pair_lists). -#}

{%- set chunks = var('pair_chunks') | int -%}
{%- set pre_hooks = [] -%}
{%- set post_hooks = [] -%}
{%- if chunks > 1 -%}
    {%- do pre_hooks.append("{{ sqlrec.prepare_user_item_pair_lists() }}") -%}
    {%- for chunk in range(1, chunks) -%}
        {%- do post_hooks.append(
            "insert into {{ this }} (item_key, similar_item_key, score, common_users) "
            ~ "{{ sqlrec.item_pair_chunk(" ~ chunk ~ ", " ~ chunks ~ ") }}"
        ) -%}
    {%- endfor -%}
    {%- do post_hooks.append("{{ sqlrec.drop_user_item_pair_lists() }}") -%}
{%- endif -%}

{{ config(pre_hook=pre_hooks, post_hook=post_hooks) }}

{{ sqlrec.item_pair_chunk(0, chunks) }}
