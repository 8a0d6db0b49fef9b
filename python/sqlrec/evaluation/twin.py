"""A Python twin of the served pipeline, so that `sqlrec tune` can score many parameter sets
without running dbt each time: the same w(u,i), cap, item-similarity models, recent-items list,
ALS and EASE lists (by the very code `sqlrec train` runs), blend and popular fill as the dbt
models compute (docs/design.md, "The maths"). A test builds a generated lake with dbt and the
Python step and checks that this twin gives the same lists.

Everything is keyed by dense item and user numbers in id order, as the dbt models and
`interaction_matrix` number them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import scipy.sparse as sp

    from sqlrec.recommend.matrix import InteractionMatrix


# The dbt vars the twin reads, by their names, and the type the SQL casts each to (`| int`).
TWIN_VARS = {
    "half_life_days": float, "max_items_per_user": int, "min_common_users": int,
    "similarity": str, "rp3beta_alpha": float, "rp3beta_beta": float,
    "asymmetric_cosine_alpha": float, "similar_items_k": int, "recent_items_per_user": int,
    "top_k": int, "popular_items_k": int, "blend_similarity_weight": float,
    "blend_als_weight": float, "blend_ease_weight": float,
}
# Each part of the blend and the var of its weight, as models/marts/user_recommendations.sql
# pairs them
PART_WEIGHTS = {"item_similarity": "blend_similarity_weight", "als": "blend_als_weight",
                "ease": "blend_ease_weight"}


@dataclass
class Lists:
    """Ranked lists of some users: row r of `items` holds user `users[r]`'s items best first
    (column numbers, -1 past the end) and `scores` their raw scores."""

    users: np.ndarray
    items: np.ndarray
    scores: np.ndarray

    def frame(self, prepared: Prepared) -> pd.DataFrame:
        """(user_id, item_id, rank) rows, as the metrics read them."""
        import numpy as np
        import pandas as pd

        rows, slots = np.nonzero(self.items >= 0)
        return pd.DataFrame({
            "user_id": prepared.user_ids[self.users[rows]],
            "item_id": prepared.item_ids[self.items[rows, slots]],
            "rank": slots + 1,
        })


@dataclass
class Prepared:
    """The events of one training part, ready to build any variant's lists from."""

    events: pd.DataFrame  # user_id, item_id, event_type, event_at
    as_of: Any
    unavailable_ids: set[str] = field(default_factory=set)
    _scores: dict = field(default_factory=dict, repr=False)

    @cached_property
    def user_ids(self) -> np.ndarray:
        """The matrix's users, in id order (as `score_matrix` numbers them)."""
        return self.scores(0).user_ids.to_numpy(zero_copy_only=False)

    @cached_property
    def item_ids(self) -> np.ndarray:
        return self.scores(0).item_ids.to_numpy(zero_copy_only=False)

    @cached_property
    def unavailable(self) -> np.ndarray:
        import numpy as np

        return np.flatnonzero([item in self.unavailable_ids for item in self.item_ids])

    def list_knobs(self, dbt_vars: dict[str, Any]) -> dict[str, Any]:
        """The dbt vars the twin reads (TWIN_VARS), the project's defaults (dbt_project.yml)
        under the given ones, typed as the SQL casts them."""
        from sqlrec import project

        merged = {**project.dbt_var_defaults(), **dbt_vars}
        return {name: kind(merged[name]) for name, kind in TWIN_VARS.items()}

    def scores(self, half_life_days: float, dtype: str = "float64") -> InteractionMatrix:
        """w(u,i) (int_user_item_scores) at a half-life, cached: in double, as the SQL computes
        it (float32 w moved cosine scores by 1e-8 and could swap near ties), or in float32, the
        matrix `sqlrec train` gives ALS and EASE (`model_scores`)."""
        from sqlrec.recommend.matrix import score_matrix

        if (half_life_days, dtype) not in self._scores:
            self._scores[half_life_days, dtype] = score_matrix(
                self.events, half_life_days=half_life_days, as_of=self.as_of, dtype=dtype)
        return self._scores[half_life_days, dtype]

    def model_scores(self, half_life_days: float) -> InteractionMatrix:
        """w(u,i) as the models train on it (float32)."""
        return self.scores(half_life_days, "float32")

    @cached_property
    def last_event_ranks(self) -> sp.csr_matrix:
        """Per user the recency rank of each item (1 = the most recent; ties by item id), the
        order of user_recent_items."""
        import numpy as np
        import scipy.sparse as sp

        events = self.events[self.events["event_at"] <= self.as_of]
        last = events.groupby(["user_id", "item_id"], as_index=False)["event_at"].max()
        last["user"] = np.searchsorted(self.user_ids, last["user_id"].to_numpy())
        last["item"] = np.searchsorted(self.item_ids, last["item_id"].to_numpy())
        last = last.sort_values(["user", "event_at", "item"], ascending=[True, False, True])
        last["rank"] = last.groupby("user").cumcount() + 1
        return sp.csr_matrix((last["rank"].to_numpy(np.float64),
                              (last["user"].to_numpy(), last["item"].to_numpy())),
                             shape=(len(self.user_ids), len(self.item_ids)))

    def popular_order(self, half_life_days: float, popular_items_k: int) -> np.ndarray:
        """popular_items (global): available items by summed w desc, then id, the first
        popular_items_k (0 = all)."""
        import numpy as np

        totals = np.asarray(self.scores(half_life_days).matrix.sum(axis=0)).ravel()
        order = np.lexsort((np.arange(len(totals)), -totals))
        order = order[~np.isin(order, self.unavailable)]
        return order[:popular_items_k] if popular_items_k else order


def capped(matrix: sp.csr_matrix, cap: int) -> sp.csr_matrix:
    """Each user's `cap` strongest entries (ties by item), all when cap is 0."""
    import numpy as np

    matrix = matrix.tocsr().astype(np.float64)
    if not cap:
        return matrix
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order)) - matrix.indptr[rows[order]]
    kept = matrix.copy()
    kept.data = np.where(position < cap, kept.data, 0.0)
    kept.eliminate_zeros()
    return kept


def similarity(weights: sp.csr_matrix, knobs: dict[str, Any]) -> sp.csr_matrix:
    """item_similarity as a sparse items x items matrix: sim(i -> j) of the model (the vars
    `knobs`, `Prepared.list_knobs`) on the capped w (`weights`), pairs with common users >=
    min_common_users, each item's similar_items_k best (score desc, then item)."""
    import numpy as np
    import scipy.sparse as sp

    model, min_common_users = knobs["similarity"], knobs["min_common_users"]

    binary = weights.copy()
    binary.data[:] = 1.0
    common = (binary.T @ binary).tocsr()
    # an item no user keeps has degree 0 and no entry to scale: any finite factor will do
    degree = np.maximum(np.asarray(binary.sum(axis=0)).ravel(), 1.0)
    if model == "cosine":
        rows = sp.diags(1.0 / np.sqrt(np.asarray(weights.multiply(weights).sum(axis=1)).ravel()))
        normalised = rows @ weights
        columns = sp.diags(1.0 / np.sqrt(np.asarray(normalised.multiply(normalised).sum(axis=0))
                                         .ravel()))
        unit = normalised @ columns
        scores = (unit.T @ unit).tocsr()
    elif model == "rp3beta":
        user_items = np.asarray(binary.sum(axis=1)).ravel()
        alpha, beta = knobs["rp3beta_alpha"], knobs["rp3beta_beta"]
        scores = (binary.T @ sp.diags(user_items ** -alpha) @ binary)
        scores = (sp.diags(degree ** -alpha) @ scores @ sp.diags(degree ** -beta)).tocsr()
    elif model == "asymmetric_cosine":
        alpha = knobs["asymmetric_cosine_alpha"]
        scores = (sp.diags(degree ** -alpha) @ common @ sp.diags(degree ** (alpha - 1))).tocsr()
    else:
        raise ValueError(f"unknown similarity model {model!r}")
    scores = scores.tocoo()
    supported = np.asarray(common[scores.row, scores.col]).ravel() >= max(min_common_users, 1)
    keep = supported & (scores.row != scores.col)
    return top_per_row(scores.row[keep], scores.col[keep], scores.data[keep], scores.shape,
                       knobs["similar_items_k"])


def top_per_row(rows, cols, values, shape, k: int) -> sp.csr_matrix:
    """The k largest entries of each row (value desc, then column) as a CSR matrix."""
    import numpy as np
    import scipy.sparse as sp

    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.r_[0, np.cumsum(np.bincount(rows, minlength=shape[0]))]
    keep = np.arange(len(rows)) - starts[rows] < k
    return sp.csr_matrix((values[keep], (rows[keep], cols[keep])), shape=shape)


def top_lists(scores: sp.csr_matrix, users: np.ndarray, k: int) -> Lists:
    """Each of `users`' k best positive entries of its row (score desc, then item)."""
    import numpy as np

    block = scores[users].tocoo()
    positive = block.data > 0
    kept = top_per_row(block.row[positive], block.col[positive], block.data[positive],
                       block.shape, k).tocsr()
    items = -np.ones((len(users), k), dtype=np.int64)
    values = np.zeros((len(users), k))
    for row in range(len(users)):
        start, stop = kept.indptr[row], kept.indptr[row + 1]
        order = np.lexsort((kept.indices[start:stop], -kept.data[start:stop]))
        items[row, :stop - start] = kept.indices[start:stop][order]
        values[row, :stop - start] = kept.data[start:stop][order]
    return Lists(users, items, values)


def similarity_lists(prepared: Prepared, users: np.ndarray, knobs: dict[str, Any],
                     sim: sp.csr_matrix | None = None) -> Lists:
    """int_similarity_recommendations: sum over the user's recent items of w(u,i)·sim(i -> j),
    never known or sold out, top_k. ``sim``: item_similarity, when the caller has it."""
    import numpy as np
    import scipy.sparse as sp

    data = prepared.scores(knobs["half_life_days"])
    if sim is None:
        sim = similarity(capped(data.matrix, knobs["max_items_per_user"]), knobs)
    sim = sim.tolil()
    sim[:, prepared.unavailable] = 0
    sim = sim.tocsr()
    recent_mask = prepared.last_event_ranks.copy()
    recent_mask.data = (recent_mask.data <= knobs["recent_items_per_user"]).astype(np.float64)
    recent = data.matrix.astype(np.float64).multiply(recent_mask).tocsr()
    scores = (recent @ sim).tocsr()
    known = data.matrix.copy().astype(bool).astype(np.float64)
    scores = (scores - scores.multiply(known)).tocsr()  # known items out
    scores.eliminate_zeros()
    return top_lists(sp.csr_matrix(scores), users, knobs["top_k"])


def model_lists(prepared: Prepared, users: np.ndarray, batches) -> Lists:
    """The top-k rows a model's batches give (`recommend.als` / `recommend.ease`), as Lists of
    `users`, positive scores only (int_model_recommendations' `score > 0`)."""
    import numpy as np
    import scipy.sparse as sp

    shape = (len(prepared.user_ids), len(prepared.item_ids))
    rows, cols, values = [], [], []
    for _, batch_users, items, scores, *_because in batches:
        positive = scores > 0
        rows.append(batch_users[positive])
        cols.append(items[positive])
        values.append(scores[positive])
    if not rows:
        return Lists(users, -np.ones((len(users), 1), np.int64), np.zeros((len(users), 1)))
    matrix = sp.csr_matrix((np.concatenate(values).astype(np.float64),
                            (np.concatenate(rows), np.concatenate(cols))), shape=shape)
    return top_lists(matrix, users, max(int(np.diff(matrix.indptr).max(initial=1)), 1))


def blend(prepared: Prepared, parts: dict[str, Lists], knobs: dict[str, Any],
          weights: dict[str, float] | None = None) -> Lists:
    """user_recommendations: each part's scores divided by the user's best of that part, times
    its weight (by part; default the knobs' blend vars), summed; the top_k, then popular items
    fill the list."""
    import numpy as np
    import scipy.sparse as sp

    if weights is None:
        weights = {part: knobs[var] for part, var in PART_WEIGHTS.items()}
    top_k = knobs["top_k"]
    users = next(iter(parts.values())).users
    shape = (len(users), len(prepared.item_ids))
    total = sp.csr_matrix(shape)
    for name, lists in parts.items():
        weight = weights.get(name, 0.0)
        if weight <= 0:
            continue
        valid = lists.items >= 0
        best = np.where(valid, lists.scores, -np.inf).max(axis=1, keepdims=True)
        scaled = np.where(valid, weight * lists.scores / np.where(best > 0, best, 1.0), 0.0)
        rows = np.repeat(np.arange(len(users)), valid.sum(axis=1))
        total = total + sp.csr_matrix((scaled[valid], (rows, lists.items[valid])), shape=shape)
    personal = top_lists(total.tocsr(), np.arange(len(users)), top_k)
    popular = prepared.popular_order(knobs["half_life_days"], knobs["popular_items_k"])
    return Lists(users, fill_from_popular(prepared, users, personal.items, top_k, popular),
                 personal.scores)


def fill_from_popular(prepared: Prepared, users: np.ndarray, items: np.ndarray, top_k: int,
                      popular: np.ndarray) -> np.ndarray:
    """Empty slots filled with the most popular items the user neither knows nor has."""
    import numpy as np

    known = prepared.scores(0).matrix  # the pattern does not depend on the half-life
    filled = -np.ones((len(users), top_k), dtype=np.int64)
    filled[:, :min(items.shape[1], top_k)] = items[:, :top_k]
    for row, user in enumerate(users):
        count = int((filled[row] >= 0).sum())
        if count == top_k:
            continue
        taken = set(known.indices[known.indptr[user]:known.indptr[user + 1]].tolist())
        taken.update(filled[row, :count].tolist())
        extra = [item for item in popular[:top_k + len(taken)] if item not in taken]
        extra = extra[:top_k - count]
        filled[row, count:count + len(extra)] = extra
    return filled
