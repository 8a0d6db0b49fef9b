"""MovieLens-100k (needs the recbole wheel): ALS with the defaults beats popularity, and the
search runs and keeps the blend at least as good as its parts."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from sqlrec.data import movielens  # noqa: E402
from sqlrec.evaluation.metrics import LIST_LENGTH, ranking_metrics  # noqa: E402
from sqlrec.evaluation.split import temporal_split  # noqa: E402
from sqlrec.evaluation.tune import default_values, tune  # noqa: E402
from sqlrec.recommend import als  # noqa: E402
from sqlrec.recommend.matrix import InteractionMatrix, score_matrix  # noqa: E402
from sqlrec.recommend.params import AlsParams  # noqa: E402

# ---------- the lists scored here (only here: `sqlrec evaluate` scores the warehouse's tables)


def als_lists(data: InteractionMatrix, params: AlsParams, *, k: int = LIST_LENGTH,
              device: str = "cpu") -> pd.DataFrame:
    """Top-k ALS lists for every user of the matrix, by the same code `sqlrec train` writes its
    table with."""
    model = als.fit(data.matrix, params, device=device)
    frames = []
    for _, users, items, _scores in als.recommend_batches(model, data.matrix, k):
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


needs_movielens = pytest.mark.skipif(
    movielens.ratings_path() is None,
    reason=f"MovieLens-100k comes with the recbole wheel: `{movielens.INSTALL_HINT}`")


@needs_movielens
def test_movielens_default_als_beats_popularity_and_reaches_the_target():
    events = movielens.load_events()
    assert len(events) == 55_375 and (events["event_type"] == "view").all()
    split = temporal_split(events)
    data = score_matrix(split.train, half_life_days=30, as_of=split.split_at)
    items = data.matrix.shape[1]
    params = AlsParams().resolved(data.nnz)  # regularisation 2e-4 per score

    default = ranking_metrics(als_lists(data, params), split.test, items)
    popular = ranking_metrics(popularity_lists(data), split.test, items)

    assert default["ndcg@10"] >= 0.13
    assert default["ndcg@10"] > popular["ndcg@10"]
    assert popular["ndcg@10"] == pytest.approx(0.074, abs=0.01)  # the reference run


@pytest.mark.slow
@needs_movielens
def test_tune_runs_a_few_trials_starts_from_the_defaults_and_never_loses_to_a_part():
    result = tune(movielens.load_events(), trials=2, seed=1)
    assert result.completed_trials == 2
    first = result.study.trials[0].params
    names = ("similarity", "als_factors", "half_life_days")
    assert {name: first[name] for name in names} == {
        name: default_values()[name] for name in names}
    assert 0 < result.ndcg < 1 and 0 < result.map < 1
    assert set(result.parts) == {"item_similarity", "als", "ease"}
    assert result.ndcg >= max(result.parts.values())
