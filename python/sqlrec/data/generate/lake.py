"""`generate_lake`: check the arguments, draw the catalogue, the events and the bad rows from one
seeded generator, and write them into the lake, replacing its events/ and catalog/ only once
everything is written."""

from __future__ import annotations

import datetime as dt
import operator
import os
import shutil
import time
from pathlib import Path
from typing import Any

from sqlrec.data.generate.bad_rows import make_bad_rows
from sqlrec.data.generate.catalogue import make_catalogue, sold_out
from sqlrec.data.generate.codes import EventKind
from sqlrec.data.generate.sessions import make_events
from sqlrec.data.generate.writer import write_catalogue, write_events
from sqlrec.errors import UserError

DEFAULT_USERS = 20_000
DEFAULT_ITEMS = 5_000
DEFAULT_EVENTS = 1_000_000
DEFAULT_DAYS = 30
DEFAULT_SEED = 42
DEFAULT_OUT = "data/lake"
MIN_YEAR = 1971
LAKE_ENTRIES = ("events", "catalog")
TMP_NAME = ".sqlrec-generate.tmp"


def generate_lake(
    out: str | os.PathLike[str],
    *,
    users: int = DEFAULT_USERS,
    items: int = DEFAULT_ITEMS,
    events: int = DEFAULT_EVENTS,
    days: int = DEFAULT_DAYS,
    seed: int = DEFAULT_SEED,
    bad_rows: int = 0,
    end_date: str | dt.date | None = None,
    int_ids: bool = False,
    overwrite: bool = False,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Write a synthetic lake to ``out`` and return a summary.

    ``events`` valid events are written, plus ``bad_rows`` malformed ones, over the ``days``
    ending at ``end_date`` (default: today in UTC, so that a new demo lake is fresh for `dbt
    source freshness`; give a date for a lake that must be the same byte for byte on another
    day). Raises UserError for bad arguments and for an ``out`` that already holds files
    (unless ``overwrite``; then only its ``events/`` and ``catalog/`` are replaced).
    """
    started = time.perf_counter()
    users, items, events, days = (_count(name, value, 1) for name, value in (
        ("users", users), ("items", items), ("events", events), ("days", days)))
    bad_rows, seed = _count("bad-rows", bad_rows, 0), _count("seed", seed, 0)
    end = dt.datetime.now(dt.UTC).date() if end_date is None else _parse_date(end_date)
    first = end - dt.timedelta(days=days - 1)
    if first.year < MIN_YEAR:
        raise UserError(f"--days {days} before --end-date {end} starts before {MIN_YEAR}")
    out_path = Path(out)
    _check_out(out_path, overwrite)

    import numpy as np
    from tqdm import tqdm

    # progress: one step for generating everything, then one per day written
    progress = tqdm(total=days + 1, desc="sqlrec generate: events", unit="step",
                    disable=not show_progress)
    rng = np.random.default_rng(seed)
    catalog = make_catalogue(rng, items)
    ev = make_events(rng, catalog, users=users, events=events, days=days, first=first)
    purchases = np.bincount(ev.item[ev.kind == EventKind.PURCHASE], minlength=items)
    catalog.available = sold_out(rng, purchases)
    bad = make_bad_rows(rng, ev, bad_rows)
    progress.set_description("sqlrec generate: writing")
    progress.update()

    tmp = out_path / TMP_NAME
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        partitions = write_events(tmp / "events", ev, bad, catalog, users, first, days,
                                  int_ids, progress)
        write_catalogue(tmp / "catalog" / "items.parquet", catalog, int_ids)
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
        "users_with_events": int(np.count_nonzero(np.bincount(ev.user, minlength=users))),
        "items_with_events": int(np.count_nonzero(np.bincount(ev.item, minlength=items))),
        "items_sold_out": int(items - np.count_nonzero(catalog.available)),
        "seed": seed,
        "int_ids": int_ids,
        "seconds": time.perf_counter() - started,
    }


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
