"""Helpers for the tests: dbt builds into given DuckDB files, events written by hand, generated
lakes read back, the seed's event weights, the Trino switch, loud skips, and `sqlrec serve` started
as a process."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import warnings
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest

from sqlrec.pipeline.build import build
from sqlrec.recommend.params import AlsParams
from sqlrec.warehouse.markers import MARKER_SUFFIXES, REFRESH_RECORD_SUFFIX

PROJECT_DIR = Path(__file__).resolve().parents[2]


def build_into(database: Path, lake: Path, monkeypatch, **kwargs) -> None:
    """`dbt build` of the lake into a given DuckDB file (``data_tests=False``: the tables only,
    for a test that checks something else than dbt's data tests)."""
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    build(lake, quiet=True, **kwargs)


# ALS of the small lake's refresh (conftest's small_lake_refreshed): quick, and enough for lists
# that hold more than one source
SMALL_REFRESH_ALS = AlsParams(factors=16, iterations=5)


def copy_database(database: Path, copy: Path) -> Path:
    """A copy of a built DuckDB file with its build markers and refresh record (a copy is
    milliseconds, a build tens of seconds)."""
    shutil.copyfile(database, copy)
    # the markers say what the file holds, the record what the last refresh computed it from
    for suffix in (*MARKER_SUFFIXES.values(), REFRESH_RECORD_SUFFIX):
        if Path(f"{database}{suffix}").exists():
            shutil.copyfile(f"{database}{suffix}", f"{copy}{suffix}")
    return copy


def twin_inputs(database: Path, tables: tuple[str, ...]) -> tuple:
    """What the Python twin starts from in a built database (its valid events, the sold-out
    items, `Prepared`), and the named tables dbt built there, to compare with it."""
    from sqlrec.evaluation import twin

    with duckdb.connect(str(database), read_only=True) as connection:
        events = connection.sql("select user_id, item_id, event_type, event_at "
                                "from int_valid_events").df()
        sold_out = set(connection.sql("select item_id from int_items_enriched "
                                      "where not is_available").df()["item_id"])
        built = {name: connection.sql(f"select * from {name}").df() for name in tables}
    return twin.Prepared(events, events["event_at"].max(), sold_out), built


def dbt_target_dir() -> Path:
    """Where dbt writes its manifest: DBT_TARGET_PATH (the tests give each worker its own)."""
    return Path(os.environ.get("DBT_TARGET_PATH") or PROJECT_DIR / "target")


def read_table(database: Path, name: str, order_by: str) -> pd.DataFrame:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(f"select * from {name} order by {order_by}").df()


def seed_event_weights() -> dict[str, float]:
    """weight(type) as the project's seed states it (read here, not through sqlrec)."""
    with open(PROJECT_DIR / "seeds" / "event_weights.csv", newline="") as seed:
        return {row["event_type"].lower(): float(row["weight"]) for row in csv.DictReader(seed)}


def log_damped(c: float) -> float:
    """w of an interaction strength c: 1 + ln c when c >= 1, else c."""
    import math

    return 1 + math.log(c) if c >= 1 else c


# ---------- events written by hand

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2026-01-01")
EVENT_COLUMNS = ["user_id", "item_id", "event_type", "event_at"]


def events_frame(rows) -> pd.DataFrame:
    """Events from (user_id, item_id, event_type, event_at) tuples."""
    return pd.DataFrame(rows, columns=EVENT_COLUMNS)


# ---------- generated lakes, read back

PARTITION = re.compile(r"^event_date=(\d{4}-\d{2}-\d{2})$")


def partition_files(lake: Path) -> list[tuple[dt.date, Path]]:
    """Each events partition's day and its one file; asserts the generator's layout."""
    found = []
    for folder in sorted((lake / "events").iterdir()):
        match = PARTITION.match(folder.name)
        assert match, f"not a Hive partition directory: {folder.name}"
        files = sorted(folder.iterdir())
        assert [f.name for f in files] == ["part-00000.parquet"]
        found.append((dt.date.fromisoformat(match.group(1)), files[0]))
    return found


def read_partitions(lake: Path) -> pd.DataFrame:
    """Every event of a generated lake, with the day of the partition it sits in."""
    frames = []
    for day, path in partition_files(lake):
        frame = pq.read_table(path).to_pandas()
        frame["partition_date"] = day
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def read_catalog(lake: Path) -> pd.DataFrame:
    return pq.read_table(lake / "catalog" / "items.parquet").to_pandas()


def tree_bytes(lake: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*"))
            if p.is_file()}


# ---------- Trino

SKIP_TRINO = os.environ.get("SQLREC_SKIP_TRINO") == "1"


def skip_trino_loudly(request, what: str) -> None:
    """With SQLREC_SKIP_TRINO=1, skip the Trino tests, loudly (`skip_loudly`)."""
    skip_loudly(request, f"SQLREC_SKIP_TRINO=1: {what} were SKIPPED -- the Trino engine is "
                "UNTESTED in this run")


def skip_loudly(request, message: str) -> None:
    """Skip — but never silently: a banner straight to the terminal, a warning in the summary,
    and the reason on every skipped test."""
    warnings.warn(message, stacklevel=2)
    banner = f"\n{'!' * 100}\n{message}\n{'!' * 100}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        print(banner, file=sys.stderr, flush=True)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------- `sqlrec serve` as a process

@contextlib.contextmanager
def serving(database: Path, **settings: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """`sqlrec serve` started as a user starts it, on a DuckDB file (with the shipped profile
    beside it) and a free port of 127.0.0.1, once its /healthz says `ok`: its URL and the
    process. `settings` are more SQLREC_* variables (`RELOAD_INTERVAL_S="0"`). Killed at the end
    unless the test stopped it, and checked to be gone."""
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", database.parent / "profiles.yml")
    port = free_port()
    env = {**os.environ, "DBT_PROFILES_DIR": str(database.parent), "SQLREC_TARGET": "duckdb",
           "SQLREC_DUCKDB_PATH": str(database), "SQLREC_PORT": str(port),
           **{f"SQLREC_{name}": value for name, value in settings.items()}}
    server = subprocess.Popen([sys.executable, "-m", "sqlrec.cli", "serve"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    assert json.load(response)["status"] == "ok"
                break
            except OSError:
                assert time.monotonic() < deadline, "sqlrec serve did not answer"
                time.sleep(0.2)
        yield base, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=30)
        assert server.poll() is not None
