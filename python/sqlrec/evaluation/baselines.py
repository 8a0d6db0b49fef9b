"""Ranked lists (user_id, item_id, rank) of the recommenders evaluated outside dbt's marts: ALS
and popularity computed in Python (tuning, tests), and popularity read from the warehouse."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlrec.evaluation.metrics import LIST_LENGTH

if TYPE_CHECKING:
    import pandas as pd

    from sqlrec.recommend.matrix import InteractionMatrix
    from sqlrec.recommend.params import AlsParams
    from sqlrec.warehouse import Warehouse


def als_lists(data: InteractionMatrix, params: AlsParams, *, k: int = LIST_LENGTH,
              device: str = "cpu", unavailable=None, model=None) -> pd.DataFrame:
    """Top-k ALS lists for every user of the matrix, by the same code `sqlrec train` writes its
    table with."""
    import numpy as np
    import pandas as pd

    from sqlrec.recommend import als

    model = model if model is not None else als.fit(data.matrix, params, device=device)
    frames = []
    for _, users, items, _scores in als.recommend_batches(model, data.matrix, k,
                                                          unavailable=unavailable):
        starts = np.r_[True, users[1:] != users[:-1]] if len(users) else np.zeros(0, bool)
        first = np.flatnonzero(starts)
        rank = np.arange(len(users)) - first[np.cumsum(starts) - 1] + 1
        frames.append(pd.DataFrame({
            "user_id": data.user_ids.take(users).to_numpy(zero_copy_only=False),
            "item_id": data.item_ids.take(items).to_numpy(zero_copy_only=False),
            "rank": rank,
        }))
    if not frames:
        return pd.DataFrame({"user_id": [], "item_id": [], "rank": []})
    return pd.concat(frames, ignore_index=True)


def popularity_lists(data: InteractionMatrix, *, k: int = LIST_LENGTH) -> pd.DataFrame:
    """Top-k items by summed w(u,i) (the popular_items order), minus each user's own items."""
    import numpy as np
    import pandas as pd

    totals = np.asarray(data.matrix.sum(axis=0)).ravel()
    item_names = data.item_ids.to_numpy(zero_copy_only=False)
    order = np.lexsort((item_names, -totals))
    rows = []
    for user in range(data.matrix.shape[0]):
        known = set(data.matrix.indices[data.matrix.indptr[user]:data.matrix.indptr[user + 1]])
        picked = [item for item in order[:k + len(known)] if item not in known][:k]
        rows.append(pd.DataFrame({"user": user, "item": picked,
                                  "rank": np.arange(1, len(picked) + 1)}))
    lists = pd.concat(rows, ignore_index=True)
    return pd.DataFrame({
        "user_id": data.user_ids.to_numpy(zero_copy_only=False)[lists["user"]],
        "item_id": item_names[lists["item"]],
        "rank": lists["rank"],
    })


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
