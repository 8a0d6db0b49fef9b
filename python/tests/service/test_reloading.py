"""The service reloads a newer build, and never serves a mix of two."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
from pathlib import Path

import duckdb
import pytest
from fastapi.testclient import TestClient

from sqlrec import warehouse
from sqlrec.service.app import create_app
from sqlrec.service.reloading import BuildState, SnapshotStore, WarehouseSource
from sqlrec.service.settings import ServiceSettings
from sqlrec.service.snapshot import load_snapshot
from sqlrec.warehouse.duckdb import DuckDBWarehouse

from service_tables import ADMIN_TOKEN, halve_scores, sql


def test_a_build_marker_triggers_a_reload(database_copy):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload()
    assert store.poll_once() is False
    item_id = next(iter(first.similar.index))
    before = dict(sql(database_copy, "select similar_item_id, score from item_similarity "
                      "where item_id = ?", item_id))

    halve_scores(database_copy)
    warehouse.connect().write_build_marker()
    marker = warehouse.connect().read_build_marker()
    assert store.poll_once() is True
    assert store.current.info.version == marker.version
    client = TestClient(create_app(ServiceSettings(reload_interval_s=0), store=store))
    items = client.get(f"/items/{item_id}/similar", params={"k": 100}).json()["items"]
    assert {item["item_id"]: item["score"] for item in items} == pytest.approx(
        {item: score / 2 for item, score in before.items()}, rel=1e-12)


def test_a_bare_rebuild_is_reloaded_once_the_file_settles(database_copy):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload().info.version
    halve_scores(database_copy)
    assert store.poll_once() is False  # changed since the last look: maybe still being written
    assert store.poll_once() is True
    assert store.current.info.version != first and store.current.info.version.startswith("file-")


def test_a_failed_reload_keeps_the_previous_snapshot(database_copy, tmp_path, probes):
    settings = ServiceSettings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
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


def test_the_poller_swaps_in_a_new_build_in_the_background(database_copy):
    with TestClient(create_app(ServiceSettings(reload_interval_s=0.05))) as client:
        first = client.get("/healthz").json()["snapshot"]["version"]
        halve_scores(database_copy)
        store = warehouse.connect()
        store.write_build_marker()
        version = store.read_build_marker().version
        deadline = time.monotonic() + 20
        while client.get("/healthz").json()["snapshot"]["version"] != version:
            assert time.monotonic() < deadline, "the poller did not load the new build"
            time.sleep(0.05)
        assert version != first


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
    app = create_app(ServiceSettings(reload_interval_s=0), store=store)

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
