"""`recent_items`' merge of the session items' similar-items lists (sqlrec.service.session),
against a reference written here with numpy: every item once, its scores summed by
np.add.reduceat largest first, best sum first, ties by item code, the reason the session item
whose row scores it highest. Random lists with shared items, equal scores and sessions of up to
twelve items (sums of more terms than numpy adds one by one)."""

from __future__ import annotations

from array import array
from itertools import islice

import numpy as np
import pytest

from sqlrec.service.lists import RankedLists
from sqlrec.service.session import SessionNeighbours, session_candidates


def lists_of(neighbours: dict[str, list[tuple[int, float]]]) -> RankedLists:
    """RankedLists of item id -> [(similar item code, score)], best first."""
    index, codes, scores = {}, [], []
    for item_id, rows in neighbours.items():
        index[item_id] = (len(codes), len(codes) + len(rows))
        codes += [code for code, _ in rows]
        scores += [score for _, score in rows]
    return RankedLists(index=index, item_codes=np.array(codes, dtype=np.int32),
                       scores=np.array(scores, dtype=np.float64), source_codes=None,
                       source_names=[], sources_json=[], body=b"", row_offsets=array("q"))


def places_of(lists: RankedLists) -> np.ndarray:
    """Each row's place in one order of all rows: score descending, ties by item code."""
    order = np.lexsort((lists.item_codes, -lists.scores))
    places = np.empty(len(order), dtype=np.int32)
    places[order] = np.arange(len(order), dtype=np.int32)
    return places


def reference(neighbours: dict[str, list[tuple[int, float]]], codes: dict[str, int],
              session: list[str], places: np.ndarray, lists: RankedLists) -> list[tuple]:
    """(item code, summed score, reason code), best first."""
    terms = []  # (code, score, place, origin)
    for item_id in dict.fromkeys(session):
        start, stop = lists.index[item_id]
        terms += [(int(lists.item_codes[row]), float(lists.scores[row]), int(places[row]),
                   codes[item_id]) for row in range(start, stop)]
    item, score, place, origin = (np.array(column) for column in zip(*terms, strict=True))
    order = np.lexsort((place, -score, item))  # per item, largest score first, then place
    item, score, origin = item[order], score[order], origin[order]
    firsts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    sums = np.add.reduceat(score, firsts)
    best = np.lexsort((item[firsts], -sums))
    return [(int(item[firsts][i]), float(sums[i]), int(origin[firsts][i])) for i in best]


@pytest.mark.parametrize("seed", range(40))
def test_the_merge_is_numpys_sum_best_first_however_far_it_is_read(seed):
    rng = np.random.default_rng(seed)
    catalogue = int(rng.integers(20, 120))
    session_size = int(rng.integers(2, 13))
    # scores on a coarse grid as well: equal scores and equal sums happen
    grid = bool(rng.integers(0, 2))
    neighbours = {}
    for item in range(session_size + 3):
        similar = rng.choice(catalogue, size=int(rng.integers(1, 40)) % catalogue + 1,
                             replace=False)
        values = np.round(rng.random(len(similar)), 1) + 0.1 if grid else rng.random(len(similar))
        rows = sorted(zip(similar.tolist(), values.tolist(), strict=True),
                      key=lambda row: (-row[1], row[0]))
        neighbours[f"i{item}"] = rows
    codes = {f"i{item}": catalogue + item for item in range(session_size + 3)}
    lists = lists_of(neighbours)
    places = places_of(lists)
    session = [f"i{item}" for item in rng.choice(session_size + 3, size=session_size,
                                                  replace=False)]
    expected = reference(neighbours, codes, session, places, lists)

    merged = session_candidates(codes, SessionNeighbours(lists, places, codes), session)[1]
    got = [(code, score, reason) for _, code, score, reason in merged]
    assert got == expected  # exact: the same floats, the same order
    # read partly, as a request reads it: the same first rows
    for first in (1, 3, 10):
        partial = session_candidates(codes, SessionNeighbours(lists, places, codes), session)[1]
        assert [(code, score, reason) for _, code, score, reason in islice(partial, first)] \
            == expected[:first]
