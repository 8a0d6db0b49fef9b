"""The ranking metrics, per scored user u with test items T and ranked list L, averaged over
users (a user with no list scores 0):

- NDCG@10 = sum over ranks r <= 10 with L[r] in T of 1 / log2(r + 1), divided by the same sum
  for a perfect list (min(|T|, 10) hits at the top);
- MAP@10 = (1 / min(|T|, 10)) · sum over ranks r <= 10 with L[r] in T of precision@r;
- Recall@20 = |L[:20] ∩ T| / |T|;  HitRate@10 = 1 when L[:10] holds a test item;
- coverage = distinct items in the top-10 lists of scored users / items of the training part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlrec.errors import UserError

if TYPE_CHECKING:
    import pandas as pd

LIST_LENGTH = 20  # Recall@20 needs 20; the other metrics read the first 10
METRIC_NAMES = ("ndcg@10", "map@10", "recall@20", "hitrate@10", "coverage@10")
METRIC_LABELS = ("NDCG@10", "MAP@10", "Recall@20", "HitRate@10", "coverage@10")


def ranking_metrics(recommendations: pd.DataFrame, test: pd.DataFrame,
                    catalogue_size: int) -> dict[str, float]:
    """NDCG@10, MAP@10, Recall@20, HitRate@10 and coverage@10 of ranked lists (user_id, item_id,
    rank starting at 1) against held-out (user_id, item_id) pairs; definitions in the module
    docstring. Users with test items but no list count as zeros; lists of other users are
    ignored."""
    import numpy as np

    relevant = test.drop_duplicates(["user_id", "item_id"])
    relevant_counts = relevant.groupby("user_id").size()
    if relevant_counts.empty:
        raise UserError("no held-out items to score against")
    lists = recommendations[["user_id", "item_id", "rank"]]
    lists = lists[lists["user_id"].isin(relevant_counts.index) & (lists["rank"] <= LIST_LENGTH)]
    hits = lists.merge(relevant, on=["user_id", "item_id"])
    hits = hits.sort_values(["user_id", "rank"])
    hits["hits_so_far"] = hits.groupby("user_id").cumcount() + 1
    top10 = hits[hits["rank"] <= 10]

    ideal_hits = np.minimum(relevant_counts, 10)
    discounts = np.cumsum(1 / np.log2(np.arange(2, 12)))
    idcg = ideal_hits.map(lambda n: discounts[n - 1])
    dcg = (1 / np.log2(top10["rank"] + 1)).groupby(top10["user_id"]).sum()
    average_precision = (top10["hits_so_far"] / top10["rank"]).groupby(top10["user_id"]).sum()
    recall_hits = hits.groupby("user_id").size()

    users = relevant_counts.index
    covered = lists.loc[lists["rank"] <= 10, "item_id"].nunique()
    return {
        "ndcg@10": float((dcg.reindex(users, fill_value=0) / idcg).mean()),
        "map@10": float((average_precision.reindex(users, fill_value=0) / ideal_hits).mean()),
        "recall@20": float((recall_hits.reindex(users, fill_value=0) / relevant_counts).mean()),
        "hitrate@10": float(top10.groupby("user_id").size().reindex(users, fill_value=0)
                            .gt(0).mean()),
        "coverage@10": covered / catalogue_size if catalogue_size else 0.0,
        "users": int(len(users)),
    }
