"""MovieLens-100k (needs the recbole wheel): ALS with the defaults beats popularity, and the
search runs and keeps the blend at least as good as its parts."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

from sqlrec.data import movielens  # noqa: E402
from sqlrec.evaluation.baselines import als_lists, popularity_lists  # noqa: E402
from sqlrec.evaluation.metrics import ranking_metrics  # noqa: E402
from sqlrec.evaluation.split import temporal_split  # noqa: E402
from sqlrec.evaluation.tune import DEFAULT_VALUES, tune  # noqa: E402
from sqlrec.recommend.matrix import score_matrix  # noqa: E402
from sqlrec.recommend.params import AlsParams  # noqa: E402

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
    assert {name: first[name] for name in ("similarity", "factors", "half_life_days")} == {
        name: DEFAULT_VALUES[name] for name in ("similarity", "factors", "half_life_days")}
    assert 0 < result.ndcg < 1 and 0 < result.map < 1
    assert set(result.parts) == {"item_similarity", "als", "ease"}
    assert result.ndcg >= max(result.parts.values())
