"""int_item_next_items ("viewed next", built with var ranker) on a generated lake equals a
computation written here with pandas: each user's events in time order (ties by item id), an
event on the item of the step before it the same step, and the moves from each step to the
items of the next `next_items_window` steps."""

from __future__ import annotations

from collections import Counter

import pytest

from helpers import build_into, read_table
from reference import read_events

# a build
pytestmark = pytest.mark.slow

WINDOW = 2  # not the default (3): the var is read


def expected_moves(events, window: int) -> Counter:
    ordered = events.sort_values(["user_id", "event_time", "item_id"], kind="stable")
    repeated = ((ordered["user_id"] == ordered["user_id"].shift())
                & (ordered["item_id"] == ordered["item_id"].shift()))
    moves: Counter = Counter()
    for _, items in ordered[~repeated].groupby("user_id")["item_id"]:
        steps = items.tolist()
        for start, item in enumerate(steps):
            for later in steps[start + 1:start + 1 + window]:
                if later != item:
                    moves[item, later] += 1
    return moves


def test_viewed_next_counts_every_users_moves_within_the_window(small_lake, tmp_path,
                                                                 monkeypatch):
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, small_lake, monkeypatch, select="+int_item_next_items",
               extra_vars={"ranker": True, "next_items_window": WINDOW})
    built = read_table(database, "int_item_next_items", "item_id, next_item_id")

    moves = expected_moves(read_events(small_lake), WINDOW)
    assert len(built) == len(moves) > 1_000
    assert {(row.item_id, row.next_item_id): row.move_count
            for row in built.itertuples()} == dict(moves)
    totals = Counter()
    for (item, _), count in moves.items():
        totals[item] += count
    for row in built.itertuples():
        assert row.next_share == pytest.approx(moves[row.item_id, row.next_item_id]
                                               / totals[row.item_id], rel=1e-12)
