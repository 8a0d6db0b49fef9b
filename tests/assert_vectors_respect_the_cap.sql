{#- No user keeps more than max_items_per_user items in the cosine's matrix. -#}
{%- set max_items_per_user = var('max_items_per_user') | int -%}

select user_key, count(*) as kept_items
from {{ ref('int_user_item_vectors') }}
group by user_key
{% if max_items_per_user > 0 -%}
having count(*) > {{ max_items_per_user }}
{%- else -%}
having false
{%- endif %}
