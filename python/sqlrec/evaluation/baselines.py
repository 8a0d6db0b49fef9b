"""Ranked lists (user_id, item_id, rank) of the recommenders evaluated outside dbt's marts:
popularity read from the warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlrec.evaluation.metrics import LIST_LENGTH

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.warehouse import Warehouse


def popularity_from_warehouse(store: Warehouse, k: int = LIST_LENGTH) -> pd.DataFrame:
    """popular_items (global), minus each user's own items, top k: the lists popular fill gives
    a user with no personalised items. Each user looks only k + (own items) deep."""
    return store.query(f"""
        with known as (
            select user_id, item_id from int_user_item_scores
        ),
        users as (
            select user_id, count(*) as known_items from known group by user_id
        ),
        popular as (
            select item_id, rank from popular_items where scope = 'global'
        ),
        candidates as (
            select users.user_id, popular.item_id, popular.rank as popular_rank
            from users
            inner join popular on popular.rank <= {k} + users.known_items
            left join known
                on users.user_id = known.user_id and popular.item_id = known.item_id
            where known.item_id is null
        )
        select user_id, item_id,
            row_number() over (partition by user_id order by popular_rank) as rank
        from candidates
        qualify rank <= {k}
    """).to_pandas()
