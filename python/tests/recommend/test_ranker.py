"""The learned second stage (sqlrec.recommend.ranker) on tiny made-up candidates whose order is
known: it must learn an order no single feature gives, read a missing value as a signal, give
the same scores for the same seed and after a round trip through its text, and refuse what it
cannot learn from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sqlrec.errors import UserError
from sqlrec.recommend import ranker

CANDIDATES = 8


def candidates(users: int, seed: int) -> pd.DataFrame:
    """Each user's candidates with features a and b uniform on [0, 1); the one candidate taken
    is the user's largest a·b, which neither a nor b alone orders."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "user_id": np.repeat([f"u{user}" for user in range(users)], CANDIDATES),
        "item_id": np.tile([f"i{item}" for item in range(CANDIDATES)], users),
        "a": rng.random(users * CANDIDATES),
        "b": rng.random(users * CANDIDATES)})
    product = frame["a"] * frame["b"]
    frame["label"] = product == product.groupby(frame["user_id"]).transform("max")
    return frame


def hit_at_1(frame: pd.DataFrame, scores: np.ndarray) -> float:
    """Share of users whose best-scored candidate is the one taken."""
    top = ranker.ranked_lists(frame, scores, 1)
    taken = frame.loc[frame["label"], ["user_id", "item_id"]]
    return len(top.merge(taken, on=["user_id", "item_id"])) / frame["user_id"].nunique()


SMALL = ranker.RankerParams(min_rows_per_leaf=20)


def test_it_learns_an_order_no_single_feature_gives():
    fitted = ranker.fit(candidates(600, seed=1), ["a", "b"], params=SMALL)
    unseen = candidates(300, seed=2)
    learned = hit_at_1(unseen, fitted.scores(unseen))
    by_a, by_b = hit_at_1(unseen, unseen["a"].to_numpy()), hit_at_1(unseen, unseen["b"].to_numpy())
    assert learned >= 0.85, learned
    assert learned >= max(by_a, by_b) + 0.15, (learned, by_a, by_b)


def test_a_missing_feature_is_a_signal():
    """The taken candidate is the one a part does not list (its score missing)."""
    frame = candidates(400, seed=3)
    frame["part_score"] = np.where(frame["label"], np.nan, frame["a"])
    fitted = ranker.fit(frame, ["part_score"], params=SMALL)
    unseen = candidates(200, seed=4)
    unseen["part_score"] = np.where(unseen["label"], np.nan, unseen["a"])
    assert hit_at_1(unseen, fitted.scores(unseen)) == 1.0


def test_same_seed_same_scores_and_the_text_round_trip_keeps_them():
    frame, unseen = candidates(300, seed=5), candidates(100, seed=6)
    first = ranker.fit(frame, ["a", "b"], params=SMALL)
    again = ranker.fit(frame, ["a", "b"], params=SMALL)
    assert np.array_equal(first.scores(unseen), again.scores(unseen))
    restored = ranker.Ranker.from_text(first.to_text())
    assert restored.features == ("a", "b")
    assert np.array_equal(restored.scores(unseen), first.scores(unseen))


def test_users_without_a_taken_candidate_are_left_out_and_none_at_all_is_refused():
    frame = candidates(300, seed=7)
    idle = candidates(50, seed=8).assign(label=False, user_id=lambda f: "idle-" + f["user_id"])
    with_idle = ranker.fit(pd.concat([frame, idle]), ["a", "b"], params=SMALL)
    without = ranker.fit(frame, ["a", "b"], params=SMALL)
    unseen = candidates(100, seed=9)
    assert np.array_equal(with_idle.scores(unseen), without.scores(unseen))
    with pytest.raises(UserError, match="nothing to learn from"):
        ranker.fit(idle, ["a", "b"])
    with pytest.raises(UserError, match="lack the columns c"):
        ranker.fit(frame, ["a", "c"])


def test_ranked_lists_keep_the_k_best_per_user_ties_by_item():
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u1", "u2", "u2"],
                          "item_id": ["i3", "i1", "i2", "i9", "i8"]})
    lists = ranker.ranked_lists(frame, np.array([0.5, 0.5, 0.9, 0.1, 0.2]), 2)
    assert list(lists.itertuples(index=False, name=None)) == [
        ("u1", "i2", 0.9, 1), ("u1", "i1", 0.5, 2), ("u2", "i8", 0.2, 1), ("u2", "i9", 0.1, 2)]
