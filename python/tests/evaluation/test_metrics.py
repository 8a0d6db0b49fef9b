"""The ranking metrics against hand-computed values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sqlrec.errors import UserError
from sqlrec.evaluation.metrics import METRIC_NAMES, ranking_metrics


def test_metrics_match_hand_computed_values():
    lists = pd.DataFrame(
        [("A", item, rank) for rank, item in enumerate(["x", "p", "y", "q"], start=1)]
        + [("B", f"b{rank}", rank) for rank in range(1, 12)] + [("B", "z", 12)]
        + [("D", "x", 1)],  # D has no test items: not scored, not counted in coverage
        columns=["user_id", "item_id", "rank"],
    )
    test = pd.DataFrame([("A", "x"), ("A", "y"), ("B", "z"), ("C", "w")],
                        columns=["user_id", "item_id"])

    metrics = ranking_metrics(lists, test, catalogue_size=28)

    # A: hits at ranks 1 and 3 of 2 relevant; B: its one hit at rank 12; C: no list at all
    ndcg_a = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3))
    ap_a = (1 / 1 + 2 / 3) / 2
    assert metrics["ndcg@10"] == pytest.approx(ndcg_a / 3)  # 0.30657...
    assert metrics["map@10"] == pytest.approx(ap_a / 3)  # 0.27778
    assert metrics["recall@20"] == pytest.approx((1 + 1 + 0) / 3)
    assert metrics["hitrate@10"] == pytest.approx(1 / 3)
    assert metrics["coverage@10"] == pytest.approx((4 + 10) / 28)
    assert metrics["users"] == 3


def test_metrics_of_a_perfect_list_are_one():
    lists = pd.DataFrame({"user_id": ["A"] * 3, "item_id": ["x", "y", "z"], "rank": [1, 2, 3]})
    test = pd.DataFrame({"user_id": ["A"] * 3, "item_id": ["z", "y", "x"]})
    metrics = ranking_metrics(lists, test, catalogue_size=3)
    assert {name: metrics[name] for name in METRIC_NAMES} == pytest.approx(
        {"ndcg@10": 1.0, "map@10": 1.0, "recall@20": 1.0, "hitrate@10": 1.0, "coverage@10": 1.0})


def test_metrics_without_test_items_is_a_clear_error():
    empty = pd.DataFrame({"user_id": [], "item_id": []})
    with pytest.raises(UserError, match="no held-out items"):
        ranking_metrics(pd.DataFrame({"user_id": [], "item_id": [], "rank": []}), empty, 5)
