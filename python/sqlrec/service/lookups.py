"""The answers, as JSON bytes, from a snapshot: no HTTP here, and nothing but lookups.

The plain requests ("the first k similar items", "the first k recommendations") are a dict
lookup and a slice of pre-rendered JSON. Filters (category, exclude) and the session's
`recent_items` walk the same lists in rank order and render the few items they keep.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlrec.service.snapshot import POPULAR_SOURCE, RankedLists, Snapshot

RECENT_ITEMS_SOURCE = "recent_items"


class UnknownItem(LookupError):
    def __init__(self, item_id: str):
        super().__init__(f"unknown item {item_id!r}: not in the current snapshot")
        self.item_id = item_id


class UnknownCategory(ValueError):
    def __init__(self, category: str, known: Sequence[str]):
        super().__init__(f"unknown category {category!r}; known categories: {', '.join(known)}")
        self.category = category


def similar_items(snapshot: Snapshot, item_id: str, k: int) -> bytes:
    """'Viewed together': the item's k most similar items, best first."""
    rows = snapshot.similar.index.get(item_id)
    if rows is None:
        if item_id not in snapshot.catalogue.codes:
            raise UnknownItem(item_id)
        items = b""  # a known item with no neighbour strong enough to list
    else:
        start, stop = rows
        items = snapshot.similar.json_items(start, min(stop, start + k))
    return b'{"item_id":%s,"snapshot_version":%s,"items":[%s]}' % (
        _json(item_id), snapshot.version_json, items)


def recommendations(snapshot: Snapshot, user_id: str, k: int, *, category: str | None = None,
                    exclude: Sequence[str] = (), recent_items: Sequence[str] = ()) -> bytes:
    """'For you': the user's list, or popular items for a user the snapshot does not know.

    `category` keeps items of that category; `exclude` drops the items named. `recent_items`
    (what the client just viewed) puts first the items most similar to them: the sum of their
    similarity rows, each listed item weighing the same, scaled so that the best scores 1. When
    filters leave fewer than k, popular items of the category (or overall) fill the list. Each
    item says where it came from in `source`; `rank` is its position in this answer.
    """
    rows = snapshot.recommendations.index.get(user_id)
    known_user = rows is not None
    if category is None and not exclude and not recent_items:
        lists, (start, stop) = ((snapshot.recommendations, rows) if known_user
                                else (snapshot.popular, snapshot.popular.index.get(None, (0, 0))))
        if stop - start >= k or not known_user:
            return _recommendations_body(user_id, known_user, snapshot,
                                         lists.json_items(start, start + min(k, stop - start)))
    picked = _pick(snapshot, user_id, rows, k, category, exclude, recent_items)
    ids_json = snapshot.catalogue.ids_json
    items = ",".join(
        f'{{"item_id":{ids_json[code]},"score":{score!r},"rank":{rank},"source":{source}}}'
        for rank, (code, score, source) in enumerate(picked, start=1))
    return _recommendations_body(user_id, known_user, snapshot, items.encode())


def _pick(snapshot: Snapshot, user_id: str, rows: tuple[int, int] | None, k: int,
          category: str | None, exclude: Sequence[str],
          recent_items: Sequence[str]) -> list[tuple[int, float, str]]:
    """(item code, score, JSON-encoded source) of the items to answer, in order."""
    catalogue = snapshot.catalogue
    category_code = None
    if category is not None:
        category_code = catalogue.category_index.get(category)
        if category_code is None:
            raise UnknownCategory(category, catalogue.categories)
    category_codes = catalogue.category_codes
    session = list(dict.fromkeys(
        code for code in (catalogue.codes.get(item_id) for item_id in recent_items)
        if code is not None))
    taken = {code for code in (catalogue.codes.get(item_id) for item_id in exclude)
             if code is not None}
    taken.update(session)
    # Items the user already interacted with (as far as the snapshot keeps them): the batch
    # lists already leave them out, the lists made here must too.
    known = set(snapshot.recent.codes_of(user_id))
    picked: list[tuple[int, float, str]] = []

    def wanted(code: int) -> bool:
        return code not in taken and (category_code is None
                                      or category_codes[code] == category_code)

    def take(code: int, score: float, source: str) -> None:
        picked.append((code, score, source))
        taken.add(code)

    if session:
        recent_source = json.dumps(RECENT_ITEMS_SOURCE)
        for code, score in _session_candidates(snapshot, session, known):
            if len(picked) == k:
                break
            if wanted(code):
                take(code, score, recent_source)
    if rows is not None:
        _fill_from(snapshot.recommendations, *rows, picked, k, wanted, take)
    if len(picked) < k:
        popular = snapshot.popular.index.get(category)
        if popular is not None:
            _fill_from(snapshot.popular, *popular, picked, k,
                       lambda code: wanted(code) and code not in known, take)
    return picked


def _session_candidates(snapshot: Snapshot, session: list[int],
                        known: set[int]) -> list[tuple[int, float]]:
    """Items similar to the session's, best first: summed similarity scaled to a best of 1."""
    similar = snapshot.similar
    ids = snapshot.catalogue.ids
    unavailable = snapshot.catalogue.unavailable
    summed: dict[int, float] = {}
    for code in session:
        rows = similar.index.get(ids[code])
        if rows is None:
            continue
        start, stop = rows
        for neighbour, score in zip(similar.item_codes[start:stop].tolist(),
                                    similar.scores[start:stop].tolist(), strict=True):
            summed[neighbour] = summed.get(neighbour, 0.0) + score
    # best first, ties by item id as in the SQL models
    ranked = sorted((-score, ids[code], code) for code, score in summed.items()
                    if code not in known and code not in unavailable)
    if not ranked:
        return []
    best = -ranked[0][0] if ranked[0][0] < 0 else 1.0
    return [(code, -negative / best) for negative, _, code in ranked]


def _fill_from(lists: RankedLists, start: int, stop: int, picked: list, k: int,
               wanted, take) -> None:
    if len(picked) >= k:
        return
    codes = lists.item_codes[start:stop].tolist()
    scores = lists.scores[start:stop].tolist()
    if lists.source_codes is not None:
        names = [json.dumps(name) for name in lists.source_names]
        sources = [names[code] for code in lists.source_codes[start:stop].tolist()]
    else:
        sources = [json.dumps(POPULAR_SOURCE)] * len(codes)
    for code, score, source in zip(codes, scores, sources, strict=True):
        if wanted(code):
            take(code, score, source)
            if len(picked) == k:
                return


def _recommendations_body(user_id: str, known_user: bool, snapshot: Snapshot,
                          items: bytes) -> bytes:
    return b'{"user_id":%s,"known_user":%s,"snapshot_version":%s,"items":[%s]}' % (
        _json(user_id), b"true" if known_user else b"false", snapshot.version_json, items)


def _json(text: str) -> bytes:
    return json.dumps(text).encode()
