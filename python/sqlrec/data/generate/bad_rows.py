"""Malformed rows for the lake: copies of valid events, each with one `BadRowKind` defect (null
user_id, null item_id, unknown event_type, event_time in 2099, null event_time, exact
duplicate), in roughly equal numbers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlrec.data.generate.codes import BAD_EVENT_TYPES, DAY_US, EPOCH, EVENT_TYPES, BadRowKind
from sqlrec.data.generate.sessions import Events

FUTURE_YEAR = 2099


@dataclass
class BadRows:
    """The bad rows, by position of the valid event each copies (``source``)."""

    source: Any  # index of the copied valid event; sorted
    defect: Any  # BadRowKind
    user: Any
    item: Any
    kind: Any  # an EventKind, or a code past them for an unknown event type
    time: Any
    number: Any  # the event_id number: a fresh one, or the source's for a duplicate
    user_null: Any
    item_null: Any
    time_null: Any


def make_bad_rows(rng: Any, ev: Events, count: int) -> BadRows:
    """Malformed copies of random valid events, equal numbers of each kind (by position)."""
    import numpy as np

    n_valid = len(ev.time)
    per_kind = np.full(len(BadRowKind), count // len(BadRowKind))
    per_kind[: count % len(BadRowKind)] += 1
    kind_of_row = rng.permutation(np.repeat(np.arange(len(BadRowKind)), per_kind))
    source = np.sort(rng.integers(0, n_valid, count))
    bad = BadRows(
        source=source,
        defect=kind_of_row,
        user=ev.user[source].copy(),
        item=ev.item[source].copy(),
        kind=ev.kind[source].astype(np.int8),
        time=ev.time[source].copy(),
        number=np.zeros(count, dtype=np.int64),
        user_null=kind_of_row == BadRowKind.NULL_USER_ID,
        item_null=kind_of_row == BadRowKind.NULL_ITEM_ID,
        time_null=kind_of_row == BadRowKind.NULL_EVENT_TIME,
    )
    duplicate = kind_of_row == BadRowKind.DUPLICATE
    bad.number[duplicate] = source[duplicate] + 1  # the very same event_id as the source
    bad.number[~duplicate] = n_valid + 1 + np.arange(int((~duplicate).sum()))
    unknown = kind_of_row == BadRowKind.UNKNOWN_EVENT_TYPE
    bad.kind[unknown] = (len(EVENT_TYPES)
                         + rng.integers(0, len(BAD_EVENT_TYPES), int(unknown.sum())))
    future = kind_of_row == BadRowKind.FUTURE_EVENT_TIME
    future_start = (dt.date(FUTURE_YEAR, 1, 1) - EPOCH).days * DAY_US
    bad.time[future] = (future_start
                        + rng.integers(0, 365, int(future.sum())) * DAY_US
                        + bad.time[future] % DAY_US)
    bad.time[bad.time_null] = 0
    return bad
