"""The DuckDB adapter: tables in and out, the build markers beside the file, locks, copies."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

import pyarrow as pa
import pytest

from sqlrec import warehouse
from sqlrec.errors import UserError
from sqlrec.warehouse.duckdb import DatabaseLocked, DuckDBWarehouse
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
