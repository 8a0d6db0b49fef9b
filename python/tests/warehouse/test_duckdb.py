"""The DuckDB adapter: tables in and out, and its build marker `<database>.built`."""

from __future__ import annotations

import datetime as dt
import os
import time

import pyarrow as pa
import pytest

from sqlrec import warehouse
from sqlrec.errors import UserError
from sqlrec.warehouse.duckdb import DuckDBWarehouse


def test_build_marker_round_trip(tmp_path, monkeypatch):
    database = tmp_path / "copy.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    store = warehouse.connect()
    assert isinstance(store, DuckDBWarehouse) and store.path == database

    path = store.write_build_marker("train")
    assert path == database.with_name("copy.duckdb.built")
    marker = store.read_build_marker()
    assert marker.step == "train" and marker.target == "duckdb"
    assert store.marker_path == path
    path.write_text("{not json")
    assert store.read_build_marker() is None


def test_sqlrec_build_marker_names_another_file(tmp_path, monkeypatch):
    elsewhere = tmp_path / "markers" / "mine.json"
    monkeypatch.setenv("SQLREC_BUILD_MARKER", str(elsewhere))
    store = DuckDBWarehouse(tmp_path / "db.duckdb")
    assert store.write_build_marker("build", version="v1") == elsewhere
    assert store.read_build_marker().version == "v1"
    assert not (tmp_path / "db.duckdb.built").exists()


def test_build_state_follows_the_file_and_its_marker(tmp_path):
    store = DuckDBWarehouse(tmp_path / "db.duckdb")
    empty = store.build_state()
    assert (empty.version, empty.finished) == (None, False)
    assert "no DuckDB database at" in store.not_built_message()

    assert store.write_table("t", pa.table({"x": [1, 2]})) == 2
    bare = store.build_state()  # a write without a marker: a bare `dbt build`
    assert bare.version.startswith("file-") and bare.finished is False

    # a marker written after the file's last change says the build finished
    later = time.time() + 2
    os.utime(store.path, (later - 4, later - 4))
    store.write_build_marker(built_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC), version="v2")
    marked = store.build_state()
    assert (marked.version, marked.finished) == ("v2", True)
    assert marked.built_at == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    assert marked.signature != bare.signature


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
