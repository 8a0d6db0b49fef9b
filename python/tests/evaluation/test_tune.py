"""The parameters file a search writes: regularisation relative to the data, and the lake."""

from __future__ import annotations

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
