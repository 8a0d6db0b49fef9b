"""The interaction matrix: from dbt's score table (`sqlrec train`) and, as the Python twin of
that model, from raw events (`sqlrec tune`)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from sqlrec.errors import UserError
from sqlrec.recommend.matrix import interaction_matrix, score_matrix

from helpers import DAY, T0, events_frame, log_damped, seed_event_weights


def test_interaction_matrix_keeps_positive_scores_and_names_rows_and_columns():
    scores = pa.table({
        "user_id": ["u2", "u1", "u1", "u3", None],
        "item_id": ["a", "b", "a", "c", "a"],
        "score": [1.5, 2.0, None, -1.0, 1.0],
    })
    data = interaction_matrix(scores)

    users = data.user_ids.to_pylist()
    items = data.item_ids.to_pylist()
    dense = {(users[u], items[i]): float(data.matrix[u, i])
             for u, i in zip(*data.matrix.nonzero(), strict=True)}
    assert dense == {("u2", "a"): 1.5, ("u1", "b"): 2.0}
    assert data.matrix.dtype == np.float32
    # rows and columns are numbered in id order, whatever order the rows came in
    assert users == ["u1", "u2"] and items == ["a", "b"]


def test_empty_score_table_is_a_clear_error():
    empty = pa.table({"user_id": pa.array([], pa.string()), "item_id": pa.array([], pa.string()),
                      "score": pa.array([], pa.float64())})
    with pytest.raises(UserError, match="nothing to train on"):
        interaction_matrix(empty)


def test_score_matrix_is_w_of_the_design():
    """With the seed's weights (read by the code itself), a 30-day half-life and as_of T0."""
    weights = seed_event_weights()
    events = events_frame([
        ("u1", "a", "view", T0),  # no decay
        ("u1", "b", "purchase", T0 - 30 * DAY),  # one half-life: half the weight
        ("u1", "c", "like", T0 - 60 * DAY),  # two half-lives: a quarter
        ("u2", "a", "view", T0), ("u2", "a", "view", T0),  # twice the weight
        ("u2", "b", "view", T0 + DAY),  # after as_of: left out
    ])
    data = score_matrix(events, half_life_days=30, as_of=T0)
    users, items = data.user_ids.to_pylist(), data.item_ids.to_pylist()
    scores = {(users[u], items[i]): float(data.matrix[u, i])
              for u, i in zip(*data.matrix.nonzero(), strict=True)}
    assert scores == pytest.approx({("u1", "a"): log_damped(weights["view"]),
                                    ("u1", "b"): log_damped(weights["purchase"] / 2),
                                    ("u1", "c"): log_damped(weights["like"] / 4),
                                    ("u2", "a"): log_damped(2 * weights["view"])})

    undecayed = score_matrix(events, half_life_days=0, as_of=T0)
    assert undecayed.matrix.sum() == pytest.approx(
        log_damped(weights["view"]) + log_damped(weights["purchase"])
        + log_damped(weights["like"]) + log_damped(2 * weights["view"]))
