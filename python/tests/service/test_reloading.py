"""The service reloads a newer build, and never serves a mix of two."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from sqlrec import warehouse
from sqlrec.config import Settings
from sqlrec.errors import UserError
from sqlrec.pipeline.build import build
from sqlrec.service.app import create_app
from sqlrec.service.reloading import BuildState, SnapshotStore, WarehouseSource
from sqlrec.service.snapshot import load_snapshot
from sqlrec.warehouse.duckdb import DuckDBWarehouse
from sqlrec.warehouse.markers import FINISHED, STARTED

from service_tables import ADMIN_TOKEN, halve_scores, sql


def mark_build(version: str, *, finished: bool = True) -> None:
    """What a dbt run's hooks write: a started marker, and a finished one when it succeeded."""
    store = warehouse.connect()
    store.write_build_marker(STARTED, version=version)
    if finished:
        store.write_build_marker(FINISHED, version=version)


def test_a_finished_build_triggers_a_reload(database_copy):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload()
    assert store.poll_once() is False
    item_id = next(iter(first.similar.index))
    before = dict(sql(database_copy, "select similar_item_id, score from item_similarity "
                      "where item_id = ? and similar_item_is_available", item_id))

    halve_scores(database_copy)
    mark_build("v2")
    assert store.poll_once() is True
    assert store.current.info.version == "v2"
    client = TestClient(create_app(Settings(reload_interval_s=0), store=store))
    items = client.get(f"/items/{item_id}/similar", params={"k": 100}).json()["items"]
    assert {item["item_id"]: item["score"] for item in items} == pytest.approx(
        {item: score / 2 for item, score in before.items()}, rel=1e-12)


def test_a_build_that_has_not_finished_is_never_served(database_copy):
    """A build that started and changed tables but did not finish (failed, killed or still
    running) is not loaded, neither by a running service nor by one that starts now."""
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload().info.version
    halve_scores(database_copy)
    mark_build("v2", finished=False)
    assert store.poll_once() is False and store.current.info.version == first

    fresh = SnapshotStore(WarehouseSource(), interval_s=0)
    assert fresh.poll_once() is False and fresh.current is None
    with TestClient(create_app(Settings(reload_interval_s=0), store=fresh)) as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert "has not finished" in health.json()["last_reload_error"]["message"]

    mark_build("v2")  # the same run's finished marker, as when it succeeds
    assert store.poll_once() is True and store.current.info.version == "v2"


@pytest.mark.slow
def test_a_failed_sqlrec_build_is_not_served(database_copy, small_lake, tmp_path, monkeypatch):
    """The issue's case, for real: a build fails half-way (here the quality gate, after staging
    has replaced its table) while the service serves; the service keeps the old build."""
    lake = tmp_path / "lake"
    shutil.copytree(small_lake, lake)
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload().info.version
    rows = sum(pq.read_metadata(path).num_rows for path in lake.glob("events/*/*.parquet"))
    day = next((lake / "events").iterdir())
    pq.write_table(pa.table({"user_id": [None] * (rows + 1), "item_id": ["i"] * (rows + 1),
                             "event_type": ["view"] * (rows + 1),
                             "event_time": ["2026-10-01 10:00:00"] * (rows + 1)}),
                   day / "broken-export.parquet")
    with pytest.raises(UserError, match="events are valid"):
        build(lake, quiet=True)
    assert warehouse.connect().read_build_marker(STARTED).version != first
    assert store.poll_once() is False and store.current.info.version == first


def test_a_failed_reload_keeps_the_previous_snapshot(database_copy, tmp_path, probes):
    settings = Settings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as client:
        version = client.get("/healthz").json()["snapshot"]["version"]
        broken = tmp_path / "broken.duckdb"
        with duckdb.connect(str(broken)) as connection:
            connection.execute("create table unrelated as select 1 as x")
        os.replace(broken, database_copy)

        response = client.post("/admin/reload",
                               headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert response.status_code == 503 and "not found" in response.json()["detail"]
        health = client.get("/healthz").json()
        assert health["status"] == "degraded"
        assert health["snapshot"]["version"] == version
        assert "not found" in health["last_reload_error"]["message"]
        lookup = client.get(f"/items/{probes['items'][0]}/similar")
        assert lookup.status_code == 200 and lookup.json()["snapshot_version"] == version


def test_a_database_that_went_away_shows_as_a_reload_error(database_copy):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    version = store.reload().info.version
    with TestClient(create_app(Settings(reload_interval_s=0), store=store)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        database_copy.unlink()
        assert store.poll_once() is False
        health = client.get("/healthz").json()
        assert health["status"] == "degraded" and health["snapshot"]["version"] == version
        assert "is gone" in health["last_reload_error"]["message"]


def test_a_reload_does_not_wait_for_nor_block_a_writer(database_copy):
    """The snapshot is read from a copy: a process holding the file open for writing neither
    stops the reload nor is stopped by it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "print('held', flush=True); time.sleep(20)", str(database_copy)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        mark_build("v2")
        store = SnapshotStore(WarehouseSource(), interval_s=0)
        assert store.poll_once() is True and store.current.info.version == "v2"
    finally:
        holder.kill()
        holder.wait()


def test_the_poller_swaps_in_a_new_build_in_the_background(database_copy):
    with TestClient(create_app(Settings(reload_interval_s=0.05))) as client:
        first = client.get("/healthz").json()["snapshot"]["version"]
        halve_scores(database_copy)
        mark_build("v2")
        deadline = time.monotonic() + 20
        while client.get("/healthz").json()["snapshot"]["version"] != "v2":
            assert time.monotonic() < deadline, "the poller did not load the new build"
            time.sleep(0.05)
        assert first != "v2"


class AlternatingSource:
    """Two DuckDB files, loaded in turn: each reload swaps the other one in."""

    target = "duckdb"

    def __init__(self, *databases: Path):
        self.databases = databases
        self.loads = 0

    def build_state(self) -> BuildState:
        database = self.databases[self.loads % len(self.databases)]
        return BuildState(version=database.stem, built_at=None, signature=self.loads,
                          finished=True, writer_active=False)

    def load(self, state: BuildState):
        database = self.databases[self.loads % len(self.databases)]
        self.loads += 1
        return load_snapshot(DuckDBWarehouse(database), version=database.stem,
                             built_at=dt.datetime.now(dt.UTC), signature=state.signature)


def test_reload_under_concurrent_requests_never_fails_nor_mixes(service_database, tmp_path,
                                                                   probes):
    old, new = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    shutil.copyfile(service_database, old)
    shutil.copyfile(service_database, new)
    halve_scores(new)
    paths = [f"/items/{item}/similar?k=20" for item in probes["items"]] + \
        [f"/users/{user}/recommendations?k=20" for user in probes["users"]] + \
        ["/users/nobody/recommendations?k=20"]
    source = AlternatingSource(old, new)
    store = SnapshotStore(source, interval_s=0)
    store.reload()
    app = create_app(Settings(reload_interval_s=0), store=store)

    with TestClient(app) as client:
        # what each snapshot answers, asked while nothing moves
        expected = {}
        for _ in range(2):
            version = client.get("/healthz").json()["snapshot"]["version"]
            expected[version] = {path: client.get(path).json()["items"] for path in paths}
            store.reload()
        assert expected["old"] != expected["new"]

        failures, answered = [], []
        stop = threading.Event()

        def hammer(offset: int) -> None:
            count = 0
            while not stop.is_set():
                path = paths[(offset + count) % len(paths)]
                count += 1
                try:
                    response = client.get(path)
                    body = response.json()
                    consistent = (response.status_code == 200 and body["items"]
                                  == expected.get(body["snapshot_version"], {}).get(path))
                except Exception as error:  # a failure to report, not to lose in a thread
                    failures.append((path, repr(error)))
                    continue
                if not consistent:
                    failures.append((path, response.status_code, response.text[:200]))
            answered.append(count)

        threads = [threading.Thread(target=hammer, args=(offset,)) for offset in range(4)]
        for thread in threads:
            thread.start()
        for _ in range(8):
            store.reload()
            time.sleep(0.02)
        stop.set()
        for thread in threads:
            thread.join()

    assert failures == []
    assert sum(answered) > 50 and source.loads >= 10


def write_and_die(database: Path, statement: str) -> None:
    """What a `sqlrec train` killed mid-write leaves: a committed write in the write-ahead log,
    never folded into the file (the process is SIGKILLed before DuckDB checkpoints)."""
    subprocess.run(
        [sys.executable, "-c", "import duckdb, os, signal, sys; c = duckdb.connect(sys.argv[1]); "
         "c.execute(sys.argv[2]); os.kill(os.getpid(), signal.SIGKILL)",
         str(database), statement], check=False)
    assert database.with_name(database.name + ".wal").exists()


def test_a_write_ahead_log_left_by_a_killed_writer_does_not_stop_the_service(database_copy,
                                                                              probes):
    """A killed `sqlrec train` leaves <database>.wal; the finished build is still served, with
    the log's committed writes (DuckDB replays it into the service's copy)."""
    write_and_die(database_copy, "create table als_scratch as select range as x from range(10)")
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    assert store.poll_once() is True, store.last_error
    assert store.current.info.version == warehouse.connect().read_build_marker().version
    with TestClient(create_app(Settings(reload_interval_s=0), store=store)) as client:
        assert client.get("/healthz").json()["status"] == "ok"
        user = probes["users"][0]
        assert client.get(f"/users/{user}/recommendations").status_code == 200


def test_a_write_ahead_log_of_a_live_writer_is_named(database_copy):
    """While a process holds the file with uncheckpointed writes, the reload waits and says so."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "c.execute('create table als_scratch as select 1 as x'); print('held', flush=True); "
         "time.sleep(20)", str(database_copy)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        store = SnapshotStore(WarehouseSource(), interval_s=0)
        assert store.poll_once() is False and store.current is None
        message = store.last_error.message
        assert f"PID {holder.pid}" in message and "write-ahead log" in message
    finally:
        holder.kill()
        holder.wait()
