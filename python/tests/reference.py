"""An independent numpy/scipy computation of item similarity (docs/design.md), to check the SQL.

Written from the definition, not from the models: sparse matrices instead of joins, a full
ordered product X^T X instead of unordered pairs, and Python-side sorting for the top-k.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import scipy.sparse as sp

from helpers import seed_event_weights


def read_events(lake: Path) -> pd.DataFrame:
    """All events of a lake, ids as strings (as the models type them)."""
    table = ds.dataset(Path(lake) / "events", format="parquet", partitioning="hive").to_table()
    events = table.to_pandas()
    events["user_id"] = events["user_id"].astype(str)
    events["item_id"] = events["item_id"].astype(str)
    return events


def user_item_scores(events: pd.DataFrame, *, half_life_days: float,
                     weights: dict[str, float] | None = None, as_of=None) -> pd.DataFrame:
    """w(u,i) for every user-item pair: weighted (default: the seed's weights), decayed,
    log-damped."""
    weights = weights if weights is not None else seed_event_weights()
    as_of = pd.Timestamp(as_of) if as_of is not None else events["event_time"].max()
    events = events[events["event_time"] <= as_of]
    age_days = (as_of - events["event_time"]).dt.total_seconds().to_numpy() / 86_400.0
    decay = 0.5 ** (age_days / half_life_days) if half_life_days > 0 else np.ones(len(events))
    strength = events["event_type"].map(weights).to_numpy() * decay
    pairs = (
        pd.DataFrame({"user_id": events["user_id"].to_numpy(),
                      "item_id": events["item_id"].to_numpy(), "c": strength})
        .groupby(["user_id", "item_id"], as_index=False)["c"].sum()
    )
    pairs["w"] = np.where(pairs["c"] >= 1, 1 + np.log(np.maximum(pairs["c"], 1)), pairs["c"])
    return pairs


def item_similarity(events: pd.DataFrame, *, half_life_days: float, max_items_per_user: int,
                    min_common_users: int, top_k: int, as_of=None, similarity: str = "cosine",
                    alpha: float = 0.5, beta: float = 0.5) -> pd.DataFrame:
    """Each item's top_k neighbours by the model: cosine of the user-normalised w, or on the
    binary capped matrix B rp3beta (W = sum_u P(u|i)^alpha P(j|u)^alpha / pop(j)^beta with
    P(u|i) = B/column sums, P(j|u) = B/row sums, pop = column sums) or the asymmetric cosine
    (C(i,j) / (d_i^alpha d_j^(1-alpha)), C = B^T B, d = column sums)."""
    pairs = user_item_scores(events, half_life_days=half_life_days, as_of=as_of)
    if max_items_per_user > 0:
        pairs = pairs.sort_values(["user_id", "w", "item_id"], ascending=[True, False, True])
        pairs = pairs.groupby("user_id").head(max_items_per_user)

    users, user_index = np.unique(pairs["user_id"].to_numpy(), return_inverse=True)
    items, item_index = np.unique(pairs["item_id"].to_numpy(), return_inverse=True)
    matrix = sp.csr_matrix((pairs["w"].to_numpy(), (user_index, item_index)),
                           shape=(len(users), len(items)))

    # per-user L2 normalisation, then each item column to unit length: X^T X is then the cosine
    row_norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.diags(1.0 / row_norms) @ matrix
    column_norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=0)).ravel())
    matrix = (matrix @ sp.diags(1.0 / column_norms)).tocsc()

    binary = matrix.copy()
    binary.data[:] = 1.0
    common = (binary.T @ binary).tocsr()
    if similarity == "cosine":
        scores = (matrix.T @ matrix).tocoo()
    elif similarity == "rp3beta":
        degree = np.asarray(binary.sum(axis=0)).ravel()
        user_given_item = (binary @ sp.diags(1.0 / degree)).power(alpha)  # P(u|i)^alpha
        item_given_user = (sp.diags(1.0 / np.asarray(binary.sum(axis=1)).ravel())
                           @ binary).power(alpha)  # P(j|u)^alpha
        scores = (user_given_item.T @ item_given_user @ sp.diags(degree ** -beta)).tocoo()
    elif similarity == "asymmetric_cosine":
        degree = np.asarray(binary.sum(axis=0)).ravel()
        scores = (sp.diags(degree ** -alpha) @ common @ sp.diags(degree ** (alpha - 1))).tocoo()
    else:
        raise ValueError(similarity)

    result = pd.DataFrame({"a": scores.row, "b": scores.col, "score": scores.data})
    result = result[result["a"] != result["b"]]
    result["common_users"] = np.asarray(
        common[result["a"].to_numpy(), result["b"].to_numpy()]
    ).ravel().astype(np.int64)
    result = result[result["common_users"] >= min_common_users]
    result["item_id"] = items[result["a"].to_numpy()]
    result["similar_item_id"] = items[result["b"].to_numpy()]
    result = result.sort_values(["item_id", "score", "similar_item_id"],
                                ascending=[True, False, True])
    result["rank"] = result.groupby("item_id").cumcount() + 1
    if top_k > 0:
        result = result[result["rank"] <= top_k]
    return result[["item_id", "similar_item_id", "score", "rank", "common_users"]].reset_index(
        drop=True
    )


def assert_same_similarity(actual: pd.DataFrame, expected: pd.DataFrame, rel: float = 1e-9):
    """Same rows and scores; rows may differ only among exact ties at an item's top-k boundary."""
    assert set(actual["item_id"]) == set(expected["item_id"])
    merged = actual.merge(expected, on=["item_id", "similar_item_id"], how="outer",
                          suffixes=("_sql", "_ref"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    assert len(both) > 0
    np.testing.assert_allclose(both["score_sql"], both["score_ref"], rtol=rel)
    assert (both["common_users_sql"] == both["common_users_ref"]).all()

    # each item's list of scores, best first, must agree position by position
    for item_id, group in actual.groupby("item_id"):
        ref_scores = np.sort(expected.loc[expected["item_id"] == item_id, "score"].to_numpy())
        np.testing.assert_allclose(np.sort(group["score"].to_numpy()), ref_scores, rtol=rel)

    # a row in only one side must tie (within rel) with that item's last kept score
    only_one_side = merged[merged["_merge"] != "both"]
    for _, row in only_one_side.iterrows():
        score = row["score_sql"] if row["_merge"] == "left_only" else row["score_ref"]
        last = expected.loc[expected["item_id"] == row["item_id"], "score"].min()
        assert abs(score - last) <= rel * last, f"{dict(row)} is not a tie at the top-k boundary"
