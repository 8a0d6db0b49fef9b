"""The codes the generator's arrays hold, and its unit of time.

Arrays of events hold an `EventKind` per event, bad rows a `BadRowKind` per row, sessions a
`NextView` per view: small integers, named here once.
"""

from __future__ import annotations

import datetime as dt
from enum import IntEnum


class EventKind(IntEnum):
    """What an event is. The values follow the order of the events a view brings (the view,
    then its like, its cart and the purchase of the cart), which is how they are assigned."""

    VIEW = 0
    LIKE = 1
    CART = 2
    PURCHASE = 3


# event_type per EventKind (the seed's types); codes past them are unknown types (bad rows)
EVENT_TYPES = tuple(kind.name.lower() for kind in EventKind)
BAD_EVENT_TYPES = ("click", "share", "impression")
TYPE_VOCABULARY = EVENT_TYPES + BAD_EVENT_TYPES


class BadRowKind(IntEnum):
    """The one defect of a malformed row."""

    NULL_USER_ID = 0
    NULL_ITEM_ID = 1
    UNKNOWN_EVENT_TYPE = 2
    FUTURE_EVENT_TIME = 3
    NULL_EVENT_TIME = 4
    DUPLICATE = 5  # an exact copy of a valid event, event_id included


class NextView(IntEnum):
    """What the next view of a session is, relative to the previous view."""

    REVISIT = 0  # an earlier item of the same session
    MODEL = 1  # another item of the same model
    BRAND = 2  # the same brand
    CATEGORY = 3  # the same category
    JUMP = 4  # anywhere in the catalogue


DAY_US = 86_400_000_000  # times are microseconds since the epoch
EPOCH = dt.date(1970, 1, 1)
