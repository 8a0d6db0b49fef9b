{#- DuckDB only: each user's kept items as one list of (item_key, pair_weight) sorted by
    item_key, from which int_item_pairs generates the user's pairs without a self-join. Other
    engines join int_user_item_vectors with itself instead (macro user_item_pairs). -#}

{{ config(enabled=(target.type == 'duckdb')) }}

select
    user_key,
    list_sort(list({'item_key': item_key, 'pair_weight': pair_weight})) as items
from {{ ref('int_user_item_vectors') }}
group by user_key
