"""`sqlrec generate`: a synthetic resale-marketplace lake for demos, tests and benchmarks.

The output follows the project's input contract::

    <out>/events/event_date=YYYY-MM-DD/part-00000.parquet   event_id, user_id, item_id,
                                                             event_type, event_time
    <out>/catalog/items.parquet                              item_id, category, brand,
                                                             is_available, price

How the data is made (everything vectorised with numpy; no per-event Python loop):

- Catalogue: three categories (sneakers, tech, life), each with a handful of brands; within a
  brand, items are grouped into "models" (colourways, sizes, conditions of one product) of about
  eight items. Prices are lognormal per category, scaled per brand, shared within a model.
  Item popularity is Zipf-like (weight ``rank ** -0.8`` over a random ranking of the catalogue).
- Users: a lognormal activity weight (most users have few sessions, a few have many), a
  preferred category and a preferred brand within it.
- Sessions: a user (drawn by activity), a day (weekly pattern, slight growth), a start time
  (diurnal), a category (mostly the preferred one) and a geometric number of views. The first
  item is drawn by popularity within the category (or the preferred brand); each next item is,
  relative to the previous one, another item of the same model, of the same brand, of the same
  category, a revisit of an earlier item of the session, or (rarely) a jump anywhere. Every draw
  within a group is proportional to popularity, so popularity is preserved while co-viewing
  follows the catalogue's structure. Views are seconds to minutes apart.
- Event types: each view may be followed by a like, and by a cart that may be followed by a
  purchase of the same item.
- About 12% of items are sold out, preferring items that were bought.
- ``bad_rows`` adds malformed rows (null user_id, null item_id, unknown event_type, event_time in
  2099, null event_time, exact duplicates), in roughly equal numbers, spread over partitions.

The same arguments give byte-identical files (fixed seed, fixed end date, pinned writer options).
"""

from __future__ import annotations

import argparse
import datetime as dt
import operator
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from sqlrec.errors import UserError

DEFAULT_USERS = 20_000
DEFAULT_ITEMS = 5_000
DEFAULT_EVENTS = 1_000_000
DEFAULT_DAYS = 30
DEFAULT_SEED = 42
DEFAULT_OUT = "data/lake"
DEFAULT_END_DATE = "2026-10-31"

EVENT_TYPES = ("view", "like", "cart", "purchase")
BAD_EVENT_TYPES = ("click", "share", "impression")
BAD_ROW_KINDS = (
    "null_user_id",
    "null_item_id",
    "unknown_event_type",
    "future_event_time",
    "null_event_time",
    "duplicate",
)

# category -> (share of items and of users' preferences, median price, price sigma,
#              {brand: (share within the category, price multiplier)})
CATEGORIES: dict[str, tuple[float, float, float, dict[str, tuple[float, float]]]] = {
    "sneakers": (0.40, 140.0, 0.45, {
        "Nike": (0.28, 1.0),
        "Adidas": (0.20, 0.9),
        "Jordan": (0.12, 1.5),
        "New Balance": (0.14, 1.0),
        "Asics": (0.10, 0.85),
        "Salomon": (0.08, 1.2),
        "Converse": (0.08, 0.6),
    }),
    "tech": (0.30, 320.0, 0.80, {
        "Apple": (0.30, 1.5),
        "Samsung": (0.20, 1.1),
        "Sony": (0.15, 1.0),
        "Nintendo": (0.12, 0.8),
        "Google": (0.08, 1.0),
        "Bose": (0.08, 0.9),
        "DJI": (0.07, 1.6),
    }),
    "life": (0.30, 55.0, 0.75, {
        "IKEA": (0.25, 0.5),
        "Muji": (0.15, 0.6),
        "Le Creuset": (0.10, 2.5),
        "Dyson": (0.12, 4.0),
        "Stanley": (0.12, 0.8),
        "Smeg": (0.08, 3.0),
        "Bodum": (0.08, 0.7),
        "Hay": (0.10, 1.2),
    }),
}

ZIPF_EXPONENT = 0.8  # top 1% of 5,000 items: ~28% of the popularity mass
MODEL_SIZE = 8.0  # mean items per model (colourways, sizes, conditions of one product)
USER_ACTIVITY_SIGMA = 1.3  # lognormal sigma of users' activity weights
PREFERRED_CATEGORY = 0.80  # a session's category is the user's preferred one this often
PREFERRED_BRAND = 0.50  # ... and then starts in the user's preferred brand this often
MEAN_VIEWS_PER_SESSION = 5.0  # geometric
MAX_VIEWS_PER_SESSION = 60
# What the next view of a session is, relative to the previous view.
NEXT_VIEW = (
    ("revisit", 0.07),  # an earlier item of the same session
    ("model", 0.40),  # another item of the same model
    ("brand", 0.28),  # the same brand
    ("category", 0.22),  # the same category
    ("jump", 0.03),  # anywhere in the catalogue
)
P_LIKE = 0.035  # per view
P_CART = 0.027  # per view
P_PURCHASE = 0.40  # per cart
SOLD_OUT_SHARE = 0.12
WEEKDAY_WEIGHTS = (1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.25)  # Monday .. Sunday
HOUR_WEIGHTS = (  # 00 .. 23, UTC
    1.2, 0.7, 0.4, 0.3, 0.3, 0.4, 0.8, 1.5, 2.2, 2.5, 2.6, 2.7,
    3.0, 3.0, 2.8, 2.8, 3.0, 3.4, 3.9, 4.4, 4.8, 4.6, 3.6, 2.2,
)

DAY_US = 86_400_000_000
EPOCH = dt.date(1970, 1, 1)
FUTURE_YEAR = 2099
LAKE_ENTRIES = ("events", "catalog")
TMP_NAME = ".sqlrec-generate.tmp"
PARQUET_OPTIONS = {
    "compression": "snappy",
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
    "row_group_size": 1 << 20,
}


# --------------------------------------------------------------------------- command line


def add_command(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="write a synthetic marketplace event lake (Parquet) for demos and benchmarks",
        description=(
            "Write a synthetic resale-marketplace lake: date-partitioned events "
            "(<out>/events/event_date=YYYY-MM-DD/part-00000.parquet) and an item catalogue "
            "(<out>/catalog/items.parquet). The same arguments give identical files."
        ),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="number of users")
    parser.add_argument("--items", type=int, default=DEFAULT_ITEMS, help="catalogue size")
    parser.add_argument("--events", type=int, default=DEFAULT_EVENTS,
                        help="number of valid events")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS,
                        help="days of history, ending at --end-date")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--out", default=DEFAULT_OUT, help="lake directory to write")
    parser.add_argument("--bad-rows", type=int, default=0,
                        help="malformed rows to add (nulls, unknown types, future times, "
                             "duplicates), on top of --events")
    parser.add_argument("--end-date", default=DEFAULT_END_DATE,
                        help="last day of history (YYYY-MM-DD)")
    parser.add_argument("--int-ids", action="store_true",
                        help="write user_id and item_id as int64 instead of strings")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace events/ and catalog/ if --out already has them")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    summary = generate_lake(
        args.out,
        users=args.users,
        items=args.items,
        events=args.events,
        days=args.days,
        seed=args.seed,
        bad_rows=args.bad_rows,
        end_date=args.end_date,
        int_ids=args.int_ids,
        overwrite=args.overwrite,
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    bad = f" + {summary['bad_rows']:,} bad rows" if summary["bad_rows"] else ""
    print(
        f"wrote {summary['events']:,} events{bad} to {summary['out']}: "
        f"{summary['partitions']} partitions ({summary['first_date']} .. {summary['last_date']}), "
        f"{summary['files']} files, {summary['seconds']:.1f} s"
    )
    print(
        f"  {summary['users_with_events']:,} of {summary['users']:,} users and "
        f"{summary['items_with_events']:,} of {summary['items']:,} items have events; "
        f"{summary['items_sold_out']:,} items sold out"
    )
    return 0


# --------------------------------------------------------------------------- public API


def generate_lake(
    out: str | os.PathLike[str],
    *,
    users: int = DEFAULT_USERS,
    items: int = DEFAULT_ITEMS,
    events: int = DEFAULT_EVENTS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    bad_rows: int = 0,
    end_date: str | dt.date = DEFAULT_END_DATE,
    int_ids: bool = False,
    overwrite: bool = False,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Write a synthetic lake to ``out`` and return a summary.

    ``events`` valid events are written, plus ``bad_rows`` malformed ones. Raises UserError for
    bad arguments and for an ``out`` that already holds files (unless ``overwrite``; then only
    its ``events/`` and ``catalog/`` are replaced).
    """
    started = time.perf_counter()
    users, items, events, days = (_count(name, value, 1) for name, value in (
        ("users", users), ("items", items), ("events", events), ("days", days)))
    bad_rows, seed = _count("bad-rows", bad_rows, 0), _count("seed", seed, 0)
    end = _parse_date(end_date)
    first = end - dt.timedelta(days=days - 1)
    if first.year < 1971:
        raise UserError(f"--days {days} before --end-date {end} starts before 1971")
    out_path = Path(out)
    _check_out(out_path, overwrite)

    import numpy as np
    from tqdm import tqdm

    # progress: one step for generating everything, then one per day written
    progress = tqdm(total=days + 1, desc="sqlrec generate: events", unit="step",
                    disable=not show_progress)
    rng = np.random.default_rng(seed)
    catalog = _make_catalog(rng, items)
    ev = _make_events(rng, catalog, users=users, events=events, days=days, first=first)
    purchases = np.bincount(ev["item"][ev["kind"] == 3], minlength=items)
    catalog["available"] = _sold_out(rng, purchases)
    bad = _make_bad_rows(rng, ev, bad_rows)
    progress.set_description("sqlrec generate: writing")
    progress.update()

    tmp = out_path / TMP_NAME
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        partitions = _write_events(tmp / "events", ev, bad, catalog, users, first, days,
                                   int_ids, progress)
        _write_catalog(tmp / "catalog" / "items.parquet", catalog, int_ids)
        for entry in LAKE_ENTRIES:
            target = out_path / entry
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(tmp / entry, target)
    finally:
        progress.close()
        shutil.rmtree(tmp, ignore_errors=True)

    dates = [first + dt.timedelta(days=int(d)) for d in partitions]
    return {
        "out": str(out_path),
        "events": events,
        "bad_rows": bad_rows,
        "rows": events + bad_rows,
        "partitions": len(partitions),
        "files": len(partitions) + 1,
        "first_date": dates[0].isoformat(),
        "last_date": dates[-1].isoformat(),
        "users": users,
        "items": items,
        "users_with_events": int(np.count_nonzero(np.bincount(ev["user"], minlength=users))),
        "items_with_events": int(np.count_nonzero(np.bincount(ev["item"], minlength=items))),
        "items_sold_out": int(items - np.count_nonzero(catalog["available"])),
        "seed": seed,
        "int_ids": int_ids,
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- checks


def _count(name: str, value: Any, minimum: int) -> int:
    """An integer option, at least ``minimum``; numpy integers are accepted, bools are not."""
    try:
        number = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        number = None
    if number is None or number < minimum:
        wanted = "a positive integer" if minimum > 0 else "zero or a positive integer"
        raise UserError(f"--{name} must be {wanted}, got {value!r}")
    return int(number)


def _parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise UserError(f"--end-date must be a date like 2026-10-31, got {value!r}") from None


def _check_out(out: Path, overwrite: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out} exists and is not a directory")
    if not out.is_dir():
        return
    entries = sorted(p.name for p in out.iterdir() if p.name != TMP_NAME)
    if not entries or overwrite:
        return
    visible = [name for name in entries if not name.startswith(".")]
    if visible and set(visible) <= set(LAKE_ENTRIES):
        raise UserError(
            f"--out {out} already holds a lake ({', '.join(visible)}); "
            "pass --overwrite to replace it"
        )
    raise UserError(
        f"--out {out} is a non-empty directory that is not a sqlrec lake "
        f"(it holds {', '.join(entries[:5])}{', ...' if len(entries) > 5 else ''}); choose "
        "another --out, or pass --overwrite to write events/ and catalog/ into it"
    )


# --------------------------------------------------------------------------- catalogue


def _largest_remainder(shares: Any, total: int) -> Any:
    import numpy as np

    raw = np.asarray(shares, dtype=np.float64) / np.sum(shares) * total
    counts = np.floor(raw).astype(np.int64)
    order = np.argsort(-(raw - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _group_bounds(keys: Any) -> tuple[Any, Any]:
    """For a sorted key array: the [start, end) of each element's run of equal keys."""
    import numpy as np

    return (np.searchsorted(keys, keys, side="left").astype(np.int64),
            np.searchsorted(keys, keys, side="right").astype(np.int64))


def _make_catalog(rng: Any, n_items: int) -> dict[str, Any]:
    """Items in internal order: sorted by category, brand, model (so every group is a range)."""
    import numpy as np

    names = list(CATEGORIES)
    per_category = _largest_remainder([CATEGORIES[c][0] for c in names], n_items)
    category = np.repeat(np.arange(len(names)), per_category)
    brand_names: list[str] = []
    brand = np.empty(n_items, dtype=np.int64)  # global brand index
    price = np.empty(n_items, dtype=np.float64)
    new_model = np.zeros(n_items, dtype=bool)
    start = 0
    for c, name in enumerate(names):
        _, median, sigma, brands = CATEGORIES[name]
        shares = np.array([s for s, _ in brands.values()])
        mult = np.array([m for _, m in brands.values()])
        n = int(per_category[c])
        local = np.sort(rng.choice(len(brands), size=n, p=shares / shares.sum()))
        brand[start:start + n] = len(brand_names) + local
        brand_names.extend(brands)
        # models: runs of about MODEL_SIZE items within a brand, sharing a base price
        breaks = rng.random(n) < 1.0 / MODEL_SIZE
        if n:
            breaks[0] = True
            breaks[1:] |= local[1:] != local[:-1]
        model_local = np.cumsum(breaks) - 1
        base = median * np.exp(sigma * rng.standard_normal(int(breaks.sum())))
        item_price = base[model_local] * mult[local] * np.exp(0.1 * rng.standard_normal(n))
        price[start:start + n] = np.maximum(np.round(item_price, 2), 1.0)
        new_model[start:start + n] = breaks
        start += n
    model = np.cumsum(new_model) - 1
    popularity = (rng.permutation(n_items) + 1.0) ** -ZIPF_EXPONENT
    cum = np.concatenate([[0.0], np.cumsum(popularity)])
    bounds = {
        "model": _group_bounds(model),
        "brand": _group_bounds(brand),
        "category": _group_bounds(category),
    }
    category_range = np.stack([np.searchsorted(category, np.arange(len(names)), side="left"),
                               np.searchsorted(category, np.arange(len(names)), side="right")])
    return {
        "n": n_items,
        "category": category,
        "category_names": names,
        "category_range": category_range,
        "brand": brand,
        "brand_names": brand_names,
        "price": price,
        "cum": cum,
        "bounds": bounds,
        "number": rng.permutation(n_items) + 1,  # the public id number of each internal item
    }


def _draw_in_ranges(rng: Any, cum: Any, lo: Any, hi: Any) -> Any:
    """One index per row, drawn from [lo, hi) with probability proportional to popularity."""
    import numpy as np

    x = cum[lo] + rng.random(len(lo)) * (cum[hi] - cum[lo])
    return np.clip(np.searchsorted(cum, x, side="right") - 1, lo, hi - 1)


def _sold_out(rng: Any, purchases: Any) -> Any:
    """is_available per item: SOLD_OUT_SHARE of items sold out, bought items far more likely."""
    import numpy as np

    n = len(purchases)
    weight = 1.0 + 4.0 * (purchases > 0) + np.minimum(purchases, 20) / 4.0
    keys = np.log(rng.random(n) + 1e-300) / weight  # weighted sampling without replacement
    sold = np.argsort(-keys, kind="stable")[: int(round(SOLD_OUT_SHARE * n))]
    available = np.ones(n, dtype=bool)
    available[sold] = False
    return available


# --------------------------------------------------------------------------- events


def _make_events(rng: Any, cat: dict[str, Any], *, users: int, events: int, days: int,
                 first: dt.date) -> dict[str, Any]:
    """Valid events sorted by time: arrays user, item (internal), kind (0..3), time (us)."""
    import numpy as np

    # 1. Session lengths and per-view extras, until there are enough events.
    per_view = 1.0 + P_LIKE + P_CART * (1.0 + P_PURCHASE)
    lengths, likes, carts, buys = [], [], [], []
    total = 0
    while total < events:
        n_sessions = int((events - total) / (MEAN_VIEWS_PER_SESSION * per_view) * 1.03) + 8
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
    view_end = np.cumsum(per_view_events)  # events up to and including each view
    # keep the views (and sessions) needed to reach exactly `events` events
    n_views = int(np.searchsorted(view_end, events, side="left")) + 1
    session_end = np.cumsum(length)
    n_sessions = int(np.searchsorted(session_end, n_views, side="left")) + 1
    length = length[:n_sessions].copy()
    length[-1] -= int(session_end[n_sessions - 1]) - n_views
    like, cart, per_view_events = like[:n_views], cart[:n_views], per_view_events[:n_views]
    session_start = np.concatenate([[0], np.cumsum(length)[:-1]])
    view_session = np.repeat(np.arange(n_sessions, dtype=np.int32), length)

    # 2. Users: activity, preferred category and brand.
    activity = rng.lognormal(0.0, USER_ACTIVITY_SIGMA, users)
    user_cum = np.cumsum(activity)
    session_user = np.minimum(np.searchsorted(user_cum, rng.random(n_sessions) * user_cum[-1],
                                              side="right"), users - 1)
    crange = cat["category_range"]
    category_weight = np.array([CATEGORIES[c][0] for c in cat["category_names"]])
    category_weight = category_weight * (crange[1] > crange[0])  # categories that have items
    category_cum = np.cumsum(category_weight / category_weight.sum())
    n_categories = len(category_cum)

    def draw_category(n: int) -> Any:
        return np.minimum(np.searchsorted(category_cum, rng.random(n), side="right"),
                          n_categories - 1)

    preferred = draw_category(users)
    # a preferred brand: the brand of an item drawn by popularity in the preferred category
    favourite = _draw_in_ranges(rng, cat["cum"], crange[0][preferred], crange[1][preferred])
    brand_lo, brand_hi = cat["bounds"]["brand"]

    # 3. Sessions: day, start, category, first item.
    dates = [first + dt.timedelta(days=d) for d in range(days)]
    day_weight = np.array([WEEKDAY_WEIGHTS[d.weekday()] for d in dates])
    day_weight *= 1.0 + 0.2 * np.arange(days) / max(days - 1, 1)  # slight growth
    day_weight *= rng.lognormal(0.0, 0.05, days)
    day_cum = np.cumsum(day_weight / day_weight.sum())
    session_day = np.minimum(np.searchsorted(day_cum, rng.random(n_sessions), side="right"),
                             days - 1)
    own = rng.random(n_sessions) < PREFERRED_CATEGORY
    session_category = np.where(own, preferred[session_user], draw_category(n_sessions))
    in_brand = own & (rng.random(n_sessions) < PREFERRED_BRAND)
    fav = favourite[session_user]
    lo = np.where(in_brand, brand_lo[fav], crange[0][session_category])
    hi = np.where(in_brand, brand_hi[fav], crange[1][session_category])
    item = np.empty(n_views, dtype=np.int64)
    item[session_start] = _draw_in_ranges(rng, cat["cum"], lo, hi)

    # 4. The next views, position by position (vectorised over all sessions at that position).
    relation_cum = np.cumsum([p for _, p in NEXT_VIEW])
    relation = np.searchsorted(relation_cum / relation_cum[-1], rng.random(n_views),
                               side="right").astype(np.int8)
    levels = [name for name, _ in NEXT_VIEW]
    by_length = np.argsort(-length, kind="stable")
    sorted_lengths = length[by_length]
    for k in range(1, int(length.max())):
        live = by_length[: int(np.searchsorted(-sorted_lengths, -k, side="left"))]
        idx = session_start[live] + k
        prev = item[idx - 1]
        rel = relation[idx]
        new = prev.copy()
        for code, level in enumerate(levels):
            pick = rel == code
            if not pick.any():
                continue
            if level == "revisit":
                back = (rng.random(int(pick.sum())) * k).astype(np.int64)
                new[pick] = item[session_start[live[pick]] + back]
                continue
            if level == "jump":
                g_lo = np.zeros(int(pick.sum()), dtype=np.int64)
                g_hi = np.full(int(pick.sum()), cat["n"], dtype=np.int64)
            else:
                g_lo = cat["bounds"][level][0][prev[pick]]
                g_hi = cat["bounds"][level][1][prev[pick]]
            new[pick] = _draw_in_ranges(rng, cat["cum"], g_lo, g_hi)
        item[idx] = new

    # 5. Times within a session: views seconds to minutes apart, extras just after their view.
    gap = np.clip(30e6 * np.exp(0.9 * rng.standard_normal(n_views)), 2e6, 900e6).astype(np.int64)
    gap[session_start] = 0
    gap_cum = np.cumsum(gap)
    view_offset = gap_cum - np.repeat(gap_cum[session_start], length)
    del gap, gap_cum, relation

    # one block of events per view: the view, then its like, cart and purchase if any
    event_view = np.repeat(np.arange(n_views, dtype=np.int32), per_view_events)[:events]
    block_start = view_end[:n_views] - per_view_events
    del view_end, per_view_events
    event_block = block_start[event_view]
    k = np.arange(events, dtype=np.int64)
    k -= event_block
    kind = (k + ((k >= 1) & ~like[event_view])).astype(np.int8)
    del k
    delta = np.zeros(events, dtype=np.int64)
    for code, low, high in ((1, 2e6, 30e6), (2, 5e6, 90e6)):
        mask = kind == code
        delta[mask] = rng.uniform(low, high, int(mask.sum())).astype(np.int64)
    mask = kind == 3
    delta[mask] = np.clip(120e6 * np.exp(0.7 * rng.standard_normal(int(mask.sum()))),
                          15e6, 1800e6).astype(np.int64)
    delta_cum = np.cumsum(delta)
    del delta
    offset = view_offset[event_view]
    offset += delta_cum
    offset -= delta_cum[event_block]
    del delta_cum, event_block
    np.minimum(offset, DAY_US - 1, out=offset)
    event_session = view_session[event_view]
    session_first_event = block_start[session_start]
    span = np.maximum.reduceat(offset, session_first_event)

    hour_cum = np.cumsum(HOUR_WEIGHTS) / np.sum(HOUR_WEIGHTS)
    hour = np.searchsorted(hour_cum, rng.random(n_sessions), side="right")
    start = ((hour + rng.random(n_sessions)) * 3_600e6).astype(np.int64)
    # a session that would run past midnight starts as much earlier (reflected at the limit)
    limit = DAY_US - 1 - span
    start = np.where(start > limit, 2 * limit - start, start)
    start = np.where(start < 0, (limit * rng.random(n_sessions)).astype(np.int64), start)
    day_start = (np.array([(d - EPOCH).days for d in dates], dtype=np.int64)) * DAY_US
    event_time = (day_start[session_day] + start)[event_session]
    event_time += offset
    del offset

    order = np.argsort(event_time, kind="stable")
    event_time = event_time[order]
    user = session_user.astype(np.int32)[event_session][order]
    del event_session
    item_of_event = item.astype(np.int32)[event_view][order]
    return {
        "user": user,
        "item": item_of_event,
        "kind": kind[order],
        "time": event_time,
        "day_start": day_start,
    }


def _make_bad_rows(rng: Any, ev: dict[str, Any], count: int) -> dict[str, Any]:
    """Malformed copies of random valid events, equal numbers of each kind (by position)."""
    import numpy as np

    n_valid = len(ev["time"])
    per_kind = np.full(len(BAD_ROW_KINDS), count // len(BAD_ROW_KINDS))
    per_kind[: count % len(BAD_ROW_KINDS)] += 1
    kind_of_row = rng.permutation(np.repeat(np.arange(len(BAD_ROW_KINDS)), per_kind))
    source = np.sort(rng.integers(0, n_valid, count))
    bad = {
        "source": source,
        "defect": kind_of_row,
        "user": ev["user"][source].copy(),
        "item": ev["item"][source].copy(),
        "kind": ev["kind"][source].astype(np.int8),
        "time": ev["time"][source].copy(),
        "number": np.zeros(count, dtype=np.int64),
        "user_null": kind_of_row == 0,
        "item_null": kind_of_row == 1,
        "time_null": kind_of_row == 4,
    }
    duplicate = kind_of_row == 5
    bad["number"][duplicate] = source[duplicate] + 1  # the very same event_id as the source
    bad["number"][~duplicate] = n_valid + 1 + np.arange(int((~duplicate).sum()))
    unknown = kind_of_row == 2
    bad["kind"][unknown] = (len(EVENT_TYPES)
                            + rng.integers(0, len(BAD_EVENT_TYPES), int(unknown.sum())))
    future = kind_of_row == 3
    future_start = (dt.date(FUTURE_YEAR, 1, 1) - EPOCH).days * DAY_US
    bad["time"][future] = (future_start
                           + rng.integers(0, 365, int(future.sum())) * DAY_US
                           + bad["time"][future] % DAY_US)
    bad["time"][bad["time_null"]] = 0
    return bad


# --------------------------------------------------------------------------- writing


def _fixed_width_ids(prefix: str, numbers: Any, width: int) -> Any:
    """A pyarrow string array of prefix + zero-padded numbers, built without Python strings."""
    import numpy as np
    import pyarrow as pa

    n = len(numbers)
    head = prefix.encode()
    row = len(head) + width
    chars = np.empty((n, row), dtype=np.uint8)
    chars[:, : len(head)] = np.frombuffer(head, dtype=np.uint8)
    rest = np.asarray(numbers, dtype=np.int64).copy()
    for j in range(row - 1, len(head) - 1, -1):
        chars[:, j] = rest % 10 + 48
        rest //= 10
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets),
                                                  pa.py_buffer(chars.tobytes())])


def _id_column(prefix: str, numbers: Any, null: Any, int_ids: bool, vocab: Any) -> Any:
    """ids by internal index: int64 numbers, or strings taken from a prebuilt vocabulary."""
    import pyarrow as pa

    if int_ids:
        return pa.array(numbers[0], type=pa.int64(), mask=null)
    return vocab.take(pa.array(numbers[1], type=pa.int32(), mask=null))


def _write_events(root: Path, ev: dict[str, Any], bad: dict[str, Any], cat: dict[str, Any],
                  users: int, first: dt.date, days: int, int_ids: bool,
                  progress: Any) -> list[int]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        ("event_id", pa.string()),
        ("user_id", pa.int64() if int_ids else pa.string()),
        ("item_id", pa.int64() if int_ids else pa.string()),
        ("event_type", pa.string()),
        ("event_time", pa.timestamp("us")),
    ])
    n_valid = len(ev["time"])
    width = max(10, len(str(n_valid + len(bad["number"]))))
    user_vocab = item_vocab = None
    if not int_ids:
        user_vocab = pa.array([f"u_{u}" for u in range(1, users + 1)], type=pa.string())
        item_vocab = pa.array([f"i_{n}" for n in cat["number"]], type=pa.string())
    type_vocab = pa.array(EVENT_TYPES + BAD_EVENT_TYPES, type=pa.string())
    item_number = cat["number"]

    bounds = np.searchsorted(ev["time"], np.append(ev["day_start"], ev["day_start"][-1] + DAY_US))
    bad_day = np.searchsorted(bounds, bad["source"], side="right") - 1
    bad_bounds = np.searchsorted(bad_day, np.arange(days + 1))
    written = []
    for d in range(days):
        progress.update()
        lo, hi = int(bounds[d]), int(bounds[d + 1])
        b_lo, b_hi = int(bad_bounds[d]), int(bad_bounds[d + 1])
        if hi == lo and b_hi == b_lo:
            continue
        user = np.concatenate([ev["user"][lo:hi], bad["user"][b_lo:b_hi]])
        item = np.concatenate([ev["item"][lo:hi], bad["item"][b_lo:b_hi]])
        kind = np.concatenate([ev["kind"][lo:hi], bad["kind"][b_lo:b_hi]])
        when = np.concatenate([ev["time"][lo:hi], bad["time"][b_lo:b_hi]])
        number = np.concatenate([np.arange(lo + 1, hi + 1, dtype=np.int64),
                                 bad["number"][b_lo:b_hi]])
        user_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad["user_null"][b_lo:b_hi]])
        item_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad["item_null"][b_lo:b_hi]])
        time_null = np.concatenate([np.zeros(hi - lo, dtype=bool), bad["time_null"][b_lo:b_hi]])
        if b_hi > b_lo:  # merge the bad rows in by time, nulls last
            order = np.argsort(np.where(time_null, np.iinfo(np.int64).max, when), kind="stable")
            user, item, kind, when, number = user[order], item[order], kind[order], \
                when[order], number[order]
            user_null, item_null, time_null = user_null[order], item_null[order], time_null[order]
        table = pa.Table.from_arrays([
            _fixed_width_ids("e_", number, width),
            _id_column("u_", (user.astype(np.int64) + 1, user), user_null, int_ids, user_vocab),
            _id_column("i_", (item_number[item], item), item_null, int_ids, item_vocab),
            type_vocab.take(pa.array(kind.astype(np.int32))),
            pa.array(when, type=pa.timestamp("us"), mask=time_null),
        ], schema=schema)
        folder = root / f"event_date={(first + dt.timedelta(days=d)).isoformat()}"
        folder.mkdir(parents=True)
        pq.write_table(table, folder / "part-00000.parquet", **PARQUET_OPTIONS)
        written.append(d)
    return written


def _write_catalog(path: Path, cat: dict[str, Any], int_ids: bool) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    order = np.argsort(cat["number"], kind="stable")  # rows by public id
    number = cat["number"][order]
    if int_ids:
        item_id = pa.array(number, type=pa.int64())
    else:
        item_id = pa.array([f"i_{n}" for n in number], type=pa.string())
    categories = pa.array(cat["category_names"], type=pa.string())
    brands = pa.array(cat["brand_names"], type=pa.string())
    table = pa.Table.from_arrays(
        [
            item_id,
            categories.take(pa.array(cat["category"][order])),
            brands.take(pa.array(cat["brand"][order])),
            pa.array(cat["available"][order], type=pa.bool_()),
            pa.array(cat["price"][order], type=pa.float64()),
        ],
        names=["item_id", "category", "brand", "is_available", "price"],
    )
    path.parent.mkdir(parents=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)
