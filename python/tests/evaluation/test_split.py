"""The temporal per-user holdout on a worked example, and the validation split carved from its
training part."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sqlrec.evaluation.split import temporal_split
from sqlrec.evaluation.tune import validation_split, validation_splits

from helpers import DAY, T0, events_frame


def test_temporal_split_on_a_worked_example():
    rows = [("u1", f"i{n}", "view", T0 + n * DAY) for n in range(10)]  # i8, i9: the last 20%
    rows += [
        ("u1", "i3", "like", T0 + 8 * DAY),  # a training item, at the cutoff: kept
        ("u1", "i2", "cart", T0 + 11 * DAY),  # a training item, after the cutoff: dropped
        ("u1", "i8", "like", T0 + 12 * DAY),  # more events of a test item: dropped
        ("u2", "a", "view", T0), ("u2", "b", "view", T0 + DAY), ("u2", "c", "view", T0 + 2 * DAY),
        ("u2", "i8", "view", T0 + 3 * DAY),  # 4 items: floor(0.8) = 0, so one is held out
        ("u3", "i8", "view", T0),  # one item: nothing held out; puts i8 into training
        ("u4", "x", "view", T0 + DAY), ("u4", "w", "view", T0 + DAY),  # a tie: by item id
        ("u5", "x", "view", T0),
    ]
    split = temporal_split(events_frame(rows))

    # u1's i9 is held out too, but no user has it in training, so it is dropped
    assert sorted(map(tuple, split.test.to_numpy())) == [("u1", "i8"), ("u2", "i8"), ("u4", "x")]
    train = sorted((u, i, t) for u, i, t in split.train[["user_id", "item_id", "event_type"]]
                   .itertuples(index=False))
    expected = sorted([("u1", f"i{n}", "view") for n in range(8)] + [("u1", "i3", "like")]
                      + [("u2", item, "view") for item in "abc"]
                      + [("u3", "i8", "view"), ("u4", "w", "view"), ("u5", "x", "view")])
    assert train == expected
    assert split.split_at == T0 + 8 * DAY


def test_validation_is_carved_from_the_training_part_only():
    rng = np.random.default_rng(3)
    rows = [(f"u{rng.integers(30)}", f"i{rng.integers(40)}", "view",
             T0 + pd.Timedelta(minutes=int(minute))) for minute in rng.permutation(3_000)[:900]]
    events = events_frame(rows)
    outer = temporal_split(events)
    inner = validation_split(events)

    def pairs(df):
        return set(map(tuple, df[["user_id", "item_id"]].drop_duplicates().to_numpy()))

    assert pairs(inner.train) | pairs(inner.test) <= pairs(outer.train)
    assert not pairs(inner.test) & pairs(outer.test)
    assert inner.split_at <= outer.split_at


def test_the_second_fold_is_the_window_before_the_validation_split():
    rng = np.random.default_rng(4)
    rows = [(f"u{rng.integers(30)}", f"i{rng.integers(40)}", "view",
             T0 + pd.Timedelta(minutes=int(minute))) for minute in rng.permutation(3_000)[:900]]
    events = events_frame(rows)
    latest, earlier = validation_splits(events, folds=2)

    def pairs(df):
        return set(map(tuple, df[["user_id", "item_id"]].drop_duplicates().to_numpy()))

    assert pairs(latest.test) == pairs(validation_split(events).test)
    # the earlier fold lies wholly inside the latest fold's training part
    assert pairs(earlier.train) | pairs(earlier.test) <= pairs(latest.train)
    assert earlier.split_at <= latest.split_at and len(earlier.test) > 0
