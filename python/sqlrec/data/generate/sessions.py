"""The generated events: users with an activity and a preference, sessions of views that follow
the catalogue's structure, and the likes, carts and purchases those views bring."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlrec.data.generate.catalogue import CATEGORIES, Catalogue, draw_in_ranges
from sqlrec.data.generate.codes import DAY_US, EPOCH, EventKind, NextView

USER_ACTIVITY_SIGMA = 1.3  # lognormal sigma of users' activity weights
PREFERRED_CATEGORY = 0.80  # a session's category is the user's preferred one this often
PREFERRED_BRAND = 0.50  # ... and then starts in the user's preferred brand this often
MEAN_VIEWS_PER_SESSION = 5.0  # geometric
MAX_VIEWS_PER_SESSION = 60
SESSIONS_MARGIN = 1.03  # sessions drawn per round beyond the expected need
NEXT_VIEW_SHARES = {
    NextView.REVISIT: 0.07,
    NextView.MODEL: 0.40,
    NextView.BRAND: 0.28,
    NextView.CATEGORY: 0.22,
    NextView.JUMP: 0.03,
}
GROUP_OF = {NextView.MODEL: "model", NextView.BRAND: "brand", NextView.CATEGORY: "category"}
P_LIKE = 0.035  # per view
P_CART = 0.027  # per view
P_PURCHASE = 0.40  # per cart
WEEKDAY_WEIGHTS = (1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.25)  # Monday .. Sunday
DAILY_GROWTH = 0.2  # the last day is this much busier than the first
DAY_NOISE_SIGMA = 0.05  # lognormal noise of each day's weight
HOUR_WEIGHTS = (  # 00 .. 23, UTC
    1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.5, 2.6, 2.7,
    3.0, 3.0, 2.8, 2.8, 3.0, 3.4, 3.9, 4.4, 4.8, 4.6, 3.6, 2.2,
)
# gaps between views, and delays of an extra after its view: microseconds
VIEW_GAP_MEDIAN_US, VIEW_GAP_SIGMA, VIEW_GAP_RANGE_US = 30e6, 0.9, (2e6, 900e6)
LIKE_DELAY_RANGE_US = (2e6, 30e6)  # uniform
CART_DELAY_RANGE_US = (5e6, 90e6)  # uniform
PURCHASE_DELAY_MEDIAN_US, PURCHASE_DELAY_SIGMA = 120e6, 0.7
PURCHASE_DELAY_RANGE_US = (15e6, 1800e6)


@dataclass
class Events:
    """Valid events sorted by time: internal user and item indexes, kind, time (us)."""

    user: Any
    item: Any
    kind: Any  # EventKind
    time: Any
    day_start: Any  # the first microsecond of each day of the history


@dataclass
class Views:
    """Sessions of views and the extras each view brings, cut to exactly the events asked for."""

    length: Any  # views per session
    like: Any  # per view: liked
    cart: Any  # per view: carted
    per_view_events: Any  # per view: 1 + its extras (a purchase counts with its cart)
    block_end: Any  # per view: events up to and including its block
    session_start: Any  # per session: its first view
    view_session: Any  # per view: its session

    @property
    def n_views(self) -> int:
        return len(self.like)

    @property
    def n_sessions(self) -> int:
        return len(self.length)


@dataclass
class Audience:
    """Who starts each session, and where: the session's user, day and first item's range."""

    session_user: Any
    session_day: Any
    first_lo: Any  # the first item is drawn by popularity from items [first_lo, first_hi)
    first_hi: Any


def make_events(rng: Any, cat: Catalogue, *, users: int, events: int, days: int,
                first: dt.date) -> Events:
    """Valid events sorted by time: arrays user, item (internal), kind, time (us). The steps
    draw from ``rng`` in a fixed order, so that the same arguments give the same lake."""
    import numpy as np

    dates = [first + dt.timedelta(days=d) for d in range(days)]
    views = _sessions_of_views(rng, events)
    audience = _audience(rng, cat, views.n_sessions, users=users, dates=dates)
    item = np.empty(views.n_views, dtype=np.int64)
    item[views.session_start] = draw_in_ranges(rng, cat.cum, audience.first_lo,
                                               audience.first_hi)
    _next_views(rng, cat, views, item)
    day_start = (np.array([(d - EPOCH).days for d in dates], dtype=np.int64)) * DAY_US
    event_view, kind, event_time = _event_times(rng, views, audience, events, day_start)

    order = np.argsort(event_time, kind="stable")
    user = audience.session_user.astype(np.int32)[views.view_session[event_view]][order]
    item_of_event = item.astype(np.int32)[event_view][order]
    return Events(user=user, item=item_of_event, kind=kind[order], time=event_time[order],
                  day_start=day_start)


def _sessions_of_views(rng: Any, events: int) -> Views:
    """Session lengths and per-view extras, drawn in rounds until there are enough events, then
    cut so that they make exactly ``events``."""
    import numpy as np

    per_view = 1.0 + P_LIKE + P_CART * (1.0 + P_PURCHASE)
    lengths, likes, carts, buys = [], [], [], []
    total = 0
    while total < events:
        n_sessions = int((events - total) / (MEAN_VIEWS_PER_SESSION * per_view)
                         * SESSIONS_MARGIN) + 8
        length = np.minimum(rng.geometric(1.0 / MEAN_VIEWS_PER_SESSION, n_sessions),
                            MAX_VIEWS_PER_SESSION)
        n_views = int(length.sum())
        like = rng.random(n_views) < P_LIKE
        cart = rng.random(n_views) < P_CART
        buy = cart & (rng.random(n_views) < P_PURCHASE)
        lengths.append(length)
        likes.append(like)
        carts.append(cart)
        buys.append(buy)
        total += n_views + int(like.sum() + cart.sum() + buy.sum())
    length = np.concatenate(lengths)
    like, cart, buy = np.concatenate(likes), np.concatenate(carts), np.concatenate(buys)
    per_view_events = 1 + like.astype(np.int64) + cart + buy
    block_end = np.cumsum(per_view_events)  # events up to and including each view
    # keep the views (and sessions) needed to reach exactly `events` events
    n_views = int(np.searchsorted(block_end, events, side="left")) + 1
    session_end = np.cumsum(length)
    n_sessions = int(np.searchsorted(session_end, n_views, side="left")) + 1
    length = length[:n_sessions].copy()
    length[-1] -= int(session_end[n_sessions - 1]) - n_views
    return Views(length=length, like=like[:n_views], cart=cart[:n_views],
                 per_view_events=per_view_events[:n_views], block_end=block_end[:n_views],
                 session_start=np.concatenate([[0], np.cumsum(length)[:-1]]),
                 view_session=np.repeat(np.arange(n_sessions, dtype=np.int32), length))


def _audience(rng: Any, cat: Catalogue, n_sessions: int, *, users: int,
              dates: list[dt.date]) -> Audience:
    """Users with an activity, a preferred category and brand; each session's user, day, and
    the range its first item comes from (the user's category, often the preferred brand)."""
    import numpy as np

    activity = rng.lognormal(0.0, USER_ACTIVITY_SIGMA, users)
    user_cum = np.cumsum(activity)
    session_user = np.minimum(np.searchsorted(user_cum, rng.random(n_sessions) * user_cum[-1],
                                              side="right"), users - 1)
    crange = cat.category_range
    category_weight = np.array([CATEGORIES[c][0] for c in cat.category_names])
    category_weight = category_weight * (crange[1] > crange[0])  # categories that have items
    category_cum = np.cumsum(category_weight / category_weight.sum())
    n_categories = len(category_cum)

    def draw_category(n: int) -> Any:
        return np.minimum(np.searchsorted(category_cum, rng.random(n), side="right"),
                          n_categories - 1)

    preferred = draw_category(users)
    # a preferred brand: the brand of an item drawn by popularity in the preferred category
    favourite = draw_in_ranges(rng, cat.cum, crange[0][preferred], crange[1][preferred])
    brand_lo, brand_hi = cat.bounds["brand"]

    days = len(dates)
    day_weight = np.array([WEEKDAY_WEIGHTS[d.weekday()] for d in dates])
    day_weight *= 1.0 + DAILY_GROWTH * np.arange(days) / max(days - 1, 1)
    day_weight *= rng.lognormal(0.0, DAY_NOISE_SIGMA, days)
    day_cum = np.cumsum(day_weight / day_weight.sum())
    session_day = np.minimum(np.searchsorted(day_cum, rng.random(n_sessions), side="right"),
                             days - 1)
    own = rng.random(n_sessions) < PREFERRED_CATEGORY
    session_category = np.where(own, preferred[session_user], draw_category(n_sessions))
    in_brand = own & (rng.random(n_sessions) < PREFERRED_BRAND)
    fav = favourite[session_user]
    return Audience(session_user=session_user, session_day=session_day,
                    first_lo=np.where(in_brand, brand_lo[fav], crange[0][session_category]),
                    first_hi=np.where(in_brand, brand_hi[fav], crange[1][session_category]))


def _next_views(rng: Any, cat: Catalogue, views: Views, item: Any) -> None:
    """Fill ``item`` after each session's first view: position by position, vectorised over all
    sessions at that position, each view related to the one before (NEXT_VIEW_SHARES)."""
    import numpy as np

    length, session_start = views.length, views.session_start
    relation_cum = np.cumsum(list(NEXT_VIEW_SHARES.values()))
    relation = np.searchsorted(relation_cum / relation_cum[-1], rng.random(views.n_views),
                               side="right").astype(np.int8)
    by_length = np.argsort(-length, kind="stable")
    sorted_lengths = length[by_length]
    for k in range(1, int(length.max())):
        live = by_length[: int(np.searchsorted(-sorted_lengths, -k, side="left"))]
        idx = session_start[live] + k
        prev = item[idx - 1]
        rel = relation[idx]
        new = prev.copy()
        for next_view in NextView:
            pick = rel == next_view
            if not pick.any():
                continue
            if next_view == NextView.REVISIT:
                back = (rng.random(int(pick.sum())) * k).astype(np.int64)
                new[pick] = item[session_start[live[pick]] + back]
                continue
            if next_view == NextView.JUMP:
                g_lo = np.zeros(int(pick.sum()), dtype=np.int64)
                g_hi = np.full(int(pick.sum()), cat.n, dtype=np.int64)
            else:
                g_lo = cat.bounds[GROUP_OF[next_view]][0][prev[pick]]
                g_hi = cat.bounds[GROUP_OF[next_view]][1][prev[pick]]
            new[pick] = draw_in_ranges(rng, cat.cum, g_lo, g_hi)
        item[idx] = new


def _event_times(rng: Any, views: Views, audience: Audience, events: int,
                 day_start: Any) -> tuple[Any, Any, Any]:
    """(view, kind, time in us) of each event: views seconds to minutes apart within a session,
    extras just after their view, sessions at an hour of the day drawn by HOUR_WEIGHTS and
    kept inside their day."""
    import numpy as np

    length, session_start = views.length, views.session_start
    n_views, n_sessions = views.n_views, views.n_sessions
    gap = np.clip(VIEW_GAP_MEDIAN_US * np.exp(VIEW_GAP_SIGMA * rng.standard_normal(n_views)),
                  *VIEW_GAP_RANGE_US).astype(np.int64)
    gap[session_start] = 0
    gap_cum = np.cumsum(gap)
    view_offset = gap_cum - np.repeat(gap_cum[session_start], length)
    del gap, gap_cum

    # one block of events per view: the view, then its like, cart and purchase if any
    event_view = np.repeat(np.arange(n_views, dtype=np.int32), views.per_view_events)[:events]
    block_start = views.block_end - views.per_view_events
    event_block = block_start[event_view]
    k = np.arange(events, dtype=np.int64)
    k -= event_block
    # position k in a view's block is EventKind k, one further on when the view has no like
    kind = (k + ((k >= 1) & ~views.like[event_view])).astype(np.int8)
    del k
    delta = np.zeros(events, dtype=np.int64)
    for extra, (low, high) in ((EventKind.LIKE, LIKE_DELAY_RANGE_US),
                               (EventKind.CART, CART_DELAY_RANGE_US)):
        mask = kind == extra
        delta[mask] = rng.uniform(low, high, int(mask.sum())).astype(np.int64)
    mask = kind == EventKind.PURCHASE
    delta[mask] = np.clip(
        PURCHASE_DELAY_MEDIAN_US
        * np.exp(PURCHASE_DELAY_SIGMA * rng.standard_normal(int(mask.sum()))),
        *PURCHASE_DELAY_RANGE_US).astype(np.int64)
    delta_cum = np.cumsum(delta)
    del delta
    offset = view_offset[event_view]
    offset += delta_cum
    offset -= delta_cum[event_block]
    del delta_cum, event_block
    np.minimum(offset, DAY_US - 1, out=offset)
    event_session = views.view_session[event_view]
    span = np.maximum.reduceat(offset, block_start[session_start])

    hour_cum = np.cumsum(HOUR_WEIGHTS) / np.sum(HOUR_WEIGHTS)
    hour = np.searchsorted(hour_cum, rng.random(n_sessions), side="right")
    start = ((hour + rng.random(n_sessions)) * 3_600e6).astype(np.int64)
    # a session that would run past midnight starts as much earlier (reflected at the limit)
    limit = DAY_US - 1 - span
    start = np.where(start > limit, 2 * limit - start, start)
    start = np.where(start < 0, (limit * rng.random(n_sessions)).astype(np.int64), start)
    event_time = (day_start[audience.session_day] + start)[event_session]
    event_time += offset
    return event_view, kind, event_time
