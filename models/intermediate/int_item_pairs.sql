{#- Every unordered item pair (item_key < similar_item_key) with at least min_common_users common
    users, and its cosine. The first chunk of pairs creates the table, post-hooks insert the rest
    (see macro item_pair_chunk for why). -#}

{%- set chunks = var('pair_chunks') | int -%}
{%- set insert_chunks = [] -%}
{%- for chunk in range(1, chunks) -%}
    {%- do insert_chunks.append(
        "insert into {{ this }} (item_key, similar_item_key, score, common_users) "
        ~ "{{ sqlrec.item_pair_chunk(" ~ chunk ~ ", " ~ chunks ~ ") }}"
    ) -%}
{%- endfor -%}

{{ config(post_hook=insert_chunks) }}

{{ sqlrec.item_pair_chunk(0, chunks) }}
