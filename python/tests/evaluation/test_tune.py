"""The parameters file a search writes (regularisation relative to the data, the lake), and how
its lines name the trials."""

from __future__ import annotations

import re

import pandas as pd

from sqlrec.evaluation import tune


def test_a_trials_regularisation_is_written_relative_to_the_data():
    values = {**tune.default_values(), "als_regularization_per_score": 3e-4,
              "ease_regularization_factor": 2.0}
    params = tune.pipeline_params(values, seed=7)
    # absolute values tuned on one lake would be wrong for another of another size
    assert params.als.regularization is None and params.als.regularization_per_score == 3e-4
    assert params.ease.regularization is None and params.ease.regularization_factor == 2.0
    assert params.als.resolved(1_000).regularization == 0.3


def test_the_lake_record_counts_events_users_and_items():
    events = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"], "item_id": ["a", "b", "a", "a"]})
    assert tune.lake_record(events, "/data/lake") == {"path": "/data/lake", "events": 4,
                                                       "users": 3, "items": 2}


def test_the_best_so_far_lines_number_trials_as_optuna_does(monkeypatch):
    """Optuna numbers trials from 0 (its progress bar says "Best trial: 0"); the lines that
    report a new best must name the same trial, the defaults being trial 0."""
    scores = iter(0.1 * step for step in range(1, 100))  # each trial beats the one before

    class RisingScorer:
        def params(self, values, seed):
            return tune.pipeline_params(values, seed)

        def score(self, params, weights=None):
            score = next(scores)
            return {"ndcg@10": score, "map@10": score / 2}

    monkeypatch.setattr(tune, "validation_scorer", lambda events, **kw: RisingScorer())
    lines = []
    result = tune.tune(pd.DataFrame(), trials=3, echo=lines.append)

    numbers = [trial.number for trial in result.study.trials]
    assert numbers == [0, 1, 2]
    assert [int(re.match(r"sqlrec tune: trial (\d+)", line)[1]) for line in lines] == numbers
    assert lines[0].startswith("sqlrec tune: trial 0 (the defaults): best so far")
