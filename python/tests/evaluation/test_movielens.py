"""MovieLens-100k (needs the recbole wheel): tuned ALS beats popularity, and the search runs."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pytest  # noqa: E402

from sqlrec.data import movielens  # noqa: E402
from sqlrec.evaluation.baselines import als_lists, popularity_lists  # noqa: E402
from sqlrec.evaluation.metrics import ranking_metrics  # noqa: E402
from sqlrec.evaluation.split import temporal_split  # noqa: E402
from sqlrec.evaluation.tune import movielens_tuned_params, tune  # noqa: E402
from sqlrec.recommend.matrix import score_matrix  # noqa: E402
from sqlrec.recommend.params import AlsParams  # noqa: E402

needs_movielens = pytest.mark.skipif(
    movielens.ratings_path() is None,
    reason=f"MovieLens-100k comes with the recbole wheel: `{movielens.INSTALL_HINT}`")


@needs_movielens
def test_movielens_tuned_als_beats_popularity_and_reaches_the_target():
    events = movielens.load_events()
    assert len(events) == 55_375 and (events["event_type"] == "view").all()
    split = temporal_split(events)
    params = movielens_tuned_params()
    data = score_matrix(split.train, half_life_days=params.half_life_days,
                                 as_of=split.split_at)
    items = data.matrix.shape[1]

    tuned = ranking_metrics(als_lists(data, params), split.test, items)
    popular = ranking_metrics(popularity_lists(data), split.test, items)

    assert tuned["ndcg@10"] >= 0.13
    assert tuned["ndcg@10"] > popular["ndcg@10"]
    assert popular["ndcg@10"] == pytest.approx(0.074, abs=0.01)  # the reference run


@needs_movielens
def test_tune_runs_a_few_trials_and_starts_from_the_defaults():
    result = tune(movielens.load_events(), trials=2, seed=1)
    assert len(result.study.trials) == 2
    assert result.study.trials[0].params["factors"] == AlsParams().factors
    assert 0 < result.ndcg < 1 and 0 < result.map < 1
