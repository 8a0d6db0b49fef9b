"""The answers, as JSON bytes, from a snapshot: no HTTP here, and nothing but lookups.

The plain requests ("the first k similar items", "the first k recommendations") are a dict
lookup and a slice of pre-rendered JSON. Filters (category, exclude) and the session's
`recent_items` walk the same lists in rank order (the session's merged in
`sqlrec.service.session`) and render the few items they keep.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache

from sqlrec.service.lists import RankedLists
from sqlrec.service.session import session_candidates
from sqlrec.service.snapshot import Snapshot

RECENT_ITEMS_SOURCE = "recent_items"
RECENT_ITEMS_SOURCE_JSON = json.dumps(RECENT_ITEMS_SOURCE)


class UnknownItem(LookupError):
    def __init__(self, item_id: str):
        super().__init__(f"unknown item {item_id!r}: not in the current snapshot")
        self.item_id = item_id


class UnknownCategory(ValueError):
    def __init__(self, category: str, known: Sequence[str]):
        super().__init__(f"unknown category {category!r}; known categories: {', '.join(known)}")
        self.category = category


def similar_items(snapshot: Snapshot, item_id: str, k: int, *,
                  include_unavailable: bool = False) -> bytes:
    """'Viewed together': the item's k most similar items, best first. Sold-out items are left
    out (and `rank` is the position in the answer) unless `include_unavailable`: then the
    table's rows come as they are, with the table's rank."""
    if include_unavailable:
        rows, render = snapshot.similar.index.get(item_id), _table_rows_json
    else:
        rows, render = snapshot.similar_available.index.get(item_id), _slice_json
    if rows is None:
        if item_id not in snapshot.catalogue.codes:
            raise UnknownItem(item_id)
        start = stop = 0  # a known item with no neighbour strong enough (or available) to list
    else:
        start, stop = rows
        stop = min(stop, start + k)
    return b'{"item_id":%s,"snapshot_version":%s,"k_served":%d,"items":[%s]}' % (
        _json(item_id), snapshot.version_json, stop - start, render(snapshot, start, stop))


def _slice_json(snapshot: Snapshot, start: int, stop: int) -> bytes:
    return snapshot.similar_available.json_items(start, stop)


def _table_rows_json(snapshot: Snapshot, start: int, stop: int) -> bytes:
    rows = snapshot.similar
    codes = rows.item_codes[start:stop]
    ids_json = snapshot.catalogue.ids_json
    return ",".join(
        f'{{"item_id":{ids_json[code]},"score":{score!r},"rank":{rank},'
        f'"common_users":{common_users},"is_available":{"true" if available else "false"}}}'
        for code, score, rank, common_users, available in zip(
            codes.tolist(), rows.scores[start:stop].tolist(), rows.ranks[start:stop].tolist(),
            rows.common_users[start:stop].tolist(),
            snapshot.catalogue.available[codes].tolist(), strict=True)).encode()


def recommendations(snapshot: Snapshot, user_id: str, k: int, *, category: str | None = None,
                    exclude: Sequence[str] = (), recent_items: Sequence[str] = ()) -> bytes:
    """'For you': the user's list, or popular items for a user the snapshot does not know.

    `category` keeps items of that category; `exclude` drops the items named. `recent_items`
    (what the client just viewed) puts first the items most similar to them: the sum of their
    similarity rows, each listed item weighing the same, scaled so that the best scores 1 (the
    best of the items the session may bring: available, neither viewed nor known to the user
    already; ties by item id). When filters leave fewer than k, popular items of the category (or
    overall) fill the list, scored below everything before them (popularity times half the
    lowest score so far, as the table's own fill). Each item says where it came from in
    `source`; `rank` is its position in this answer.
    """
    rows = snapshot.recommendations.index.get(user_id)
    known_user = rows is not None
    if category is None and not exclude and not recent_items:
        lists, (start, stop) = ((snapshot.recommendations, rows) if known_user
                                else (snapshot.popular, snapshot.popular.index.get(None, (0, 0))))
        if stop - start >= k or not known_user:
            served = min(k, stop - start)
            return _recommendations_body(user_id, known_user, snapshot, served,
                                         lists.json_items(start, start + served))
    picked = _pick(snapshot, user_id, rows, k, category, exclude, recent_items)
    served = len(picked) // 4
    return _recommendations_body(user_id, known_user, snapshot, served,
                                 (_items_template(served) % tuple(picked)).encode())


@cache
def _items_template(count: int) -> str:
    """The JSON of `count` recommendations to %-format with (item id JSON, score, source JSON,
    because item id JSON) each: one formatting call renders the answer, ranks written in
    already."""
    return ",".join('{"item_id":%s,"score":%r,"rank":' + str(rank)
                    + ',"source":%s,"because_item_id":%s}' for rank in range(1, count + 1))


def _pick(snapshot: Snapshot, user_id: str, rows: tuple[int, int] | None, k: int,
          category: str | None, exclude: Sequence[str], recent_items: Sequence[str]) -> list:
    """The items to answer, in order, flat: item id JSON, score, source JSON, because JSON, item
    id JSON..."""
    catalogue = snapshot.catalogue
    codes = catalogue.codes
    category_code = None
    if category is not None:
        category_code = catalogue.category_index.get(category)
        if category_code is None:
            raise UnknownCategory(category, catalogue.categories)
    category_codes, ids_json = catalogue.category_codes, catalogue.ids_json
    taken = {code for code in map(codes.get, exclude) if code is not None}
    # Items the user already interacted with (as far as the snapshot keeps them): the batch
    # lists already leave them out, the lists made here must too.
    known = snapshot.recent.codes_of(user_id)
    picked: list = []
    limit = 4 * k
    if recent_items:
        session, candidates = session_candidates(
            catalogue.codes, snapshot.session_neighbours, recent_items)
        never = set(known)
        never |= session
        best = None
        for _, code, score, reason in candidates:
            if code in never:
                continue
            if best is None:  # the scale: the best the session brings, whatever the filters
                best = score if score > 0 else 1.0
            if code in taken or (category_code is not None
                                 and category_codes[code] != category_code):
                continue
            taken.add(code)
            picked += (ids_json[code], score / best, RECENT_ITEMS_SOURCE_JSON, ids_json[reason])
            if len(picked) == limit:
                return picked
        taken |= session
    if rows is not None:
        _fill(picked, limit, snapshot.recommendations, *rows, taken, category_code,
              category_codes, ids_json)
    if len(picked) < limit:
        popular = snapshot.popular.index.get(category)
        if popular is not None:
            taken.update(known)
            # the fill scores below everything picked before it, as in user_recommendations:
            # popularity (at most 1) times half the lowest score so far
            scale = min(picked[1::4]) / 2 if picked else 1.0
            _fill(picked, limit, snapshot.popular, *popular, taken, category_code,
                  category_codes, ids_json, scale=scale)
    return picked


def _fill(picked: list, limit: int, lists: RankedLists, start: int, stop: int, taken: set[int],
          category_code: int | None, category_codes, ids_json: list[str], *,
          scale: float = 1.0) -> None:
    """Rows [start, stop) of the lists in order into `picked`, but for taken items and other
    categories, until it holds `limit` values; their scores times `scale`."""
    if len(picked) >= limit:
        return
    sources_json = lists.sources_json
    for code, score, source, reason in zip(lists.item_codes[start:stop].tolist(),
                                           lists.scores[start:stop].tolist(),
                                           lists.source_codes[start:stop].tolist(),
                                           lists.because_codes[start:stop].tolist(), strict=True):
        if code in taken or (category_code is not None
                             and category_codes[code] != category_code):
            continue
        taken.add(code)
        picked += (ids_json[code], score * scale if scale != 1.0 else score, sources_json[source],
                   ids_json[reason] if reason >= 0 else "null")
        if len(picked) == limit:
            return


def _recommendations_body(user_id: str, known_user: bool, snapshot: Snapshot, served: int,
                          items: bytes) -> bytes:
    return b'{"user_id":%s,"known_user":%s,"snapshot_version":%s,"k_served":%d,"items":[%s]}' % (
        _json(user_id), b"true" if known_user else b"false", snapshot.version_json, served,
        items)


def _json(text: str) -> bytes:
    return json.dumps(text).encode()
