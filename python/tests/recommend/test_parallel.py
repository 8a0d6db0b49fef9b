"""ordered_map: results in the items' order whatever the threads' timing."""

from __future__ import annotations

import random
import time

from sqlrec.recommend.parallel import ordered_map


def slow_square(value: int) -> int:
    time.sleep(random.Random(value).random() / 200)  # finish out of order
    return value * value


def test_results_come_in_order_on_any_number_of_workers():
    for workers in (1, 2, 5):
        assert list(ordered_map(slow_square, range(23), workers)) == [v * v for v in range(23)]


def test_items_are_consumed_lazily_at_most_a_few_ahead():
    seen = []

    def items():
        for value in range(100):
            seen.append(value)
            yield value

    results = ordered_map(slow_square, items(), 3)
    assert next(results) == 0
    assert len(seen) <= 4  # the pool's three, and the one that made room
