"""The DuckDB adapter: tables in and out, the build markers beside the file, locks, copies."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import duckdb
import pyarrow as pa
import pytest

from sqlrec import warehouse
from sqlrec.errors import UserError
from sqlrec.pipeline.dbt import run_dbt
from sqlrec.warehouse.duckdb import (
    MEMORY_LIMIT_ENV,
    DatabaseLocked,
    DuckDBWarehouse,
    memory_limit_beside_this_process,
)
from sqlrec.warehouse.markers import FINISHED, STARTED


def test_build_markers_round_trip(tmp_path, monkeypatch):
    database = tmp_path / "copy.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    store = warehouse.connect()
    assert isinstance(store, DuckDBWarehouse) and store.path == database

    assert store.write_build_marker(STARTED, version="run-1") == tmp_path / "copy.duckdb.building"
    assert store.write_build_marker(FINISHED, version="run-1") == tmp_path / "copy.duckdb.built"
    started, finished = store.read_build_marker(STARTED), store.read_build_marker(FINISHED)
    assert (started.version, started.state, finished.version, finished.state) == (
        "run-1", STARTED, "run-1", FINISHED)
    (tmp_path / "copy.duckdb.built").write_text("{not json")
    with pytest.raises(ValueError, match="cannot be read"):  # not mistaken for "no build"
        store.read_build_marker(FINISHED)


@pytest.mark.slow
def test_the_dbt_hooks_write_markers_the_adapter_reads(small_lake_build):
    """A plain `dbt build` (the session's of the small lake) marks its start and, having
    succeeded, its end under one name."""
    store = DuckDBWarehouse(small_lake_build)
    started, finished = store.read_build_marker(STARTED), store.read_build_marker(FINISHED)
    assert started.version == finished.version and started.step == "build"
    assert started.at <= finished.at
    state = store.build_state()
    assert (state.version, state.finished, state.writer_active) == (finished.version, True, False)


def test_build_state_serves_only_the_latest_started_build_once_it_finished(tmp_path):
    store = DuckDBWarehouse(tmp_path / "db.duckdb")
    empty = store.build_state()
    assert (empty.version, empty.finished) == (None, False)
    assert "nothing has been built yet" in empty.waiting_for

    store.write_table("t", pa.table({"x": [1, 2]}))
    store.write_build_marker(STARTED, version="v1")
    running = store.build_state()  # started, not finished: running, failed or stopped
    assert (running.version, running.finished, running.writer_active) == (None, False, True)
    assert "has not finished" in running.waiting_for

    store.write_build_marker(FINISHED, version="v1", at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    done = store.build_state()
    assert (done.version, done.finished) == ("v1", True)
    assert done.built_at == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)

    store.write_build_marker(STARTED, version="v2")  # the next build fails: v1 stays the latest
    failed = store.build_state()
    assert (failed.version, failed.finished) == ("v1", False)
    assert failed.signature == done.signature  # nothing newer to load


def test_a_database_gone_under_its_markers_is_an_error(tmp_path):
    store = DuckDBWarehouse(tmp_path / "db.duckdb")
    store.write_table("t", pa.table({"x": [1]}))
    store.write_build_marker(STARTED, version="v1")
    store.write_build_marker(FINISHED, version="v1")
    store.path.unlink()
    with pytest.raises(FileNotFoundError, match="is gone"):
        store.build_state()


def test_a_held_lock_is_waited_for_then_named_in_one_line(tmp_path):
    """Another process holding the file: the adapter waits, then says who holds it."""
    database = tmp_path / "db.duckdb"
    DuckDBWarehouse(database).write_table("t", pa.table({"x": [1]}))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(30)", str(database)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with pytest.raises(DatabaseLocked) as failure:
            DuckDBWarehouse(database, lock_timeout_s=1.0).read_table("t")
        assert 0.9 <= time.monotonic() - started < 10
        message = str(failure.value)
        assert f"PID {holder.pid}" in message and "\n" not in message
    finally:
        holder.kill()
        holder.wait()
    # once the holder is gone, a waiting reader gets in
    assert DuckDBWarehouse(database, lock_timeout_s=5).read_table("t").num_rows == 1


def test_a_reader_waits_for_a_lock_that_is_released(tmp_path):
    database = tmp_path / "db.duckdb"
    DuckDBWarehouse(database).write_table("t", pa.table({"x": [1]}))
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(1.5)", str(database)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert DuckDBWarehouse(database, lock_timeout_s=20).read_table("t").num_rows == 1
    finally:
        holder.kill()
        holder.wait()


def test_the_reading_copy_holds_no_lock_on_the_database(tmp_path):
    database = tmp_path / "db.duckdb"
    store = DuckDBWarehouse(database, lock_timeout_s=0)
    store.write_table("t", pa.table({"x": [1, 2, 3]}))
    with store.reading_copy() as copy:
        assert copy.path != database
        assert copy.read_table("t").num_rows == 3
        store.write_table("u", pa.table({"y": [1]}))  # a writer gets in meanwhile
    assert not copy.path.exists()


def test_tables_replace_append_and_read(tmp_path):
    store = DuckDBWarehouse(tmp_path / "db.duckdb")
    with pytest.raises(UserError, match="run `sqlrec build`"):
        store.read_table("t")
    store.write_table("t", pa.table({"x": [1, 2], "y": ["a", "b"]}))
    store.write_table("t", pa.table({"y": ["c"], "x": [3]}), mode="append")  # by name
    assert store.read_table("t", ["x"]).column("x").to_pylist() == [1, 2, 3]
    store.write_table("t", pa.table({"x": [9], "y": ["z"]}))
    assert store.query("select x, y from t").to_pylist() == [{"x": 9, "y": "z"}]
    assert store.table_exists("t") and not store.table_exists("u")


def _meminfo_bytes(field: str, path: str) -> int:
    """A 'Name:   123 kB' line of a /proc status file, in bytes."""
    for line in open(path):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def test_dbt_gets_the_memory_this_process_leaves(tmp_path, monkeypatch):
    """A 100M-event refresh's blend build ran with DuckDB's default limit (80% of the machine)
    beside the refresh process's gigabytes of training, and the kernel killed it: dbt's limit is
    that default less what this process holds."""
    import numpy as np

    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)

    def limit_mb() -> int:
        return int(memory_limit_beside_this_process()[MEMORY_LIMIT_ENV].removesuffix("MB"))

    def expected_mb() -> float:
        machine = _meminfo_bytes("MemTotal", "/proc/meminfo")
        return (0.8 * machine - _meminfo_bytes("VmRSS", "/proc/self/status")) / 2**20

    assert abs(limit_mb() - expected_mb()) < 64
    before = limit_mb()
    held = np.ones(2**30 // 8)  # 1 GiB, touched
    assert abs(before - limit_mb() - 1024) < 64
    assert abs(limit_mb() - expected_mb()) < 64
    del held

    monkeypatch.setenv(MEMORY_LIMIT_ENV, "3GB")  # the user's own limit wins
    assert memory_limit_beside_this_process() == {}

    # the profile hands the limit to dbt's DuckDB, as DuckDB itself reports a limit of 1234MB
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(tmp_path / "limit.duckdb"))
    shown = run_dbt(["show", "--inline", "select current_setting('memory_limit') as m",
                     "--output", "json"], env_overrides={MEMORY_LIMIT_ENV: "1234MB"},
                    quiet=True).stdout
    with duckdb.connect(config={"memory_limit": "1234MB"}) as reference:
        (expected,) = reference.execute("select current_setting('memory_limit')").fetchone()
    assert f'"m": "{expected}"' in shown
