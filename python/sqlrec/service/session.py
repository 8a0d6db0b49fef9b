"""`recent_items`: the available items most similar to what a session just viewed, best first.

A request names a few items; the answer merges their similar-items lists. Doing that with numpy
costs a dozen array calls of a few microseconds each on lists of a few dozen rows, more than the
rest of the request: here each item's list is turned into plain Python lists once (on its first
request, kept per snapshot) and merged in Python.

The order is the one the numpy merge gave, so the answers do not change: by summed score
descending, ties by item code (codes follow item ids); an item listed once keeps its score, one
listed by several session items gets the sum of its scores in the order numpy's `add.reduce`
sums them, and the reason is the session item whose row scores it highest (on equal scores, the
row first in `Snapshot.similar_order`).
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from itertools import chain

import numpy as np

from sqlrec.service.lists import RankedLists

Row = tuple[int, int, float, int]  # place, item code, score, reason (a session item's code)

# items whose lists are kept as Python lists per snapshot: beyond this, the cache starts again
# (a few dozen values an item: tens of MB at the cap)
MAX_CACHED_ITEMS = 100_000


class SessionNeighbours:
    """Each item's available similar items as (place, item code, score, the item's code) tuples
    in place order, and the set of their codes, made on first use. Filled from the event loop's
    one thread: no lock needed."""

    __slots__ = ("_lists", "_places", "_codes", "_cache")

    def __init__(self, lists: RankedLists, places: np.ndarray, codes: dict[str, int]):
        self._lists = lists
        self._places = places
        self._codes = codes
        self._cache: dict[str, tuple[list[Row], frozenset[int]]] = {}

    def of(self, item_id: str) -> tuple[list[Row], frozenset[int]] | None:
        found = self._cache.get(item_id)
        if found is not None:
            return found
        rows = self._lists.index.get(item_id)
        if rows is None:
            return None
        start, stop = rows
        codes = self._lists.item_codes[start:stop].tolist()
        origin = self._codes[item_id]
        found = (sorted(zip(self._places[start:stop].tolist(), codes,
                            self._lists.scores[start:stop].tolist(),
                            [origin] * len(codes), strict=True)), frozenset(codes))
        if len(self._cache) >= MAX_CACHED_ITEMS:
            self._cache.clear()
        self._cache[item_id] = found
        return found


def session_candidates(codes: dict[str, int], neighbours: SessionNeighbours,
                       recent_items: Sequence[str]) -> tuple[set[int], Iterable[Row]]:
    """The session's item codes, and the available items similar to them, best first, as
    (place, item code, score summed over the session, the session item that contributes most:
    the reason). Lazily where no item is listed twice: a request reads only the first few."""
    session: set[int] = set()
    lists, code_sets = [], []
    for item_id in recent_items:
        code = codes.get(item_id)
        if code is None or code in session:
            continue
        session.add(code)
        found = neighbours.of(item_id)
        if found is not None and found[0]:
            lists.append(found[0])
            code_sets.append(found[1])
    if len(lists) <= 1:
        return session, lists[0] if lists else ()
    if len(frozenset().union(*code_sets)) == sum(map(len, lists)):
        return session, heapq.merge(*lists)  # places are unique: tuples compare by place
    return session, _summed(sorted(chain.from_iterable(lists)))


def _summed(merged: list[Row]) -> list[Row]:
    """Each item once, with the sum of its scores and the reason of its largest score, best
    first, ties by item code. ``merged`` is in place order."""
    by_code: dict[int, list[tuple[float, int, int]]] = {}
    for place, code, score, origin in merged:
        by_code.setdefault(code, []).append((-score, place, origin))
    if any(len(rows) > 2 for rows in by_code.values()):
        # numpy sums three terms or more in an order of its own (SIMD): sum them as it does
        return _summed_by_numpy(merged)
    totals = []
    for code, rows in by_code.items():
        rows.sort()  # largest score first; equal scores in place order
        # one or two terms: every order gives the same float
        total = -rows[0][0] if len(rows) == 1 else -rows[0][0] + -rows[1][0]
        totals.append((-total, code, rows[0][2]))
    totals.sort()
    return [(0, code, -total, reason) for total, code, reason in totals]


def _summed_by_numpy(merged: list[Row]) -> list[Row]:
    """`_summed` with numpy, as the service summed before: np.add.reduceat per item."""
    codes = np.array([row[1] for row in merged], dtype=np.int64)
    scores = np.array([row[2] for row in merged], dtype=np.float64)
    reasons = np.array([row[3] for row in merged], dtype=np.int64)
    by_code = np.lexsort((-scores, codes))  # per code, its largest score first
    codes, scores, reasons = codes[by_code], scores[by_code], reasons[by_code]
    first = np.empty(len(codes), dtype=bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    firsts = first.nonzero()[0]
    sums = np.add.reduceat(scores, firsts)
    best_first = (-sums).argsort(kind="stable")
    return [(0, code, total, reason) for code, total, reason in zip(
        codes[firsts][best_first].tolist(), sums[best_first].tolist(),
        reasons[firsts][best_first].tolist(), strict=True)]
