"""The service's fixtures: the dbt project built once on the small lake, a store holding its
snapshot, a client of an app over that store, and a copy of the database a test may change.

Every test of this folder runs the service against that small real DuckDB; every expected answer
is computed from its tables with SQL (`service_tables`), never with the service's own code."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from sqlrec.config import Settings
from sqlrec.service.app import create_app
from sqlrec.service.reloading import SnapshotStore, WarehouseSource

from helpers import copy_database
from service_tables import sql


@pytest.fixture(scope="session")
def service_database(small_lake_refreshed) -> Path:
    """The dbt project refreshed once on the small lake (ALS too, so that the lists hold more
    than one source), in a DuckDB file of its own."""
    return small_lake_refreshed


@pytest.fixture(scope="session")
def loaded_store(service_database) -> SnapshotStore:
    """A store holding the snapshot of the service database; never reloaded."""
    with pytest.MonkeyPatch.context() as patch:
        # a session fixture comes before the autouse isolated profile: name the profile here
        patch.setenv("DBT_PROFILES_DIR", str(service_database.parent))
        patch.setenv("SQLREC_DUCKDB_PATH", str(service_database))
        store = SnapshotStore(WarehouseSource("duckdb"), interval_s=0)
        store.reload()
    return store


@pytest.fixture
def client(loaded_store):
    with TestClient(create_app(Settings(reload_interval_s=0), store=loaded_store)) as client:
        yield client


@pytest.fixture
def database_copy(service_database, tmp_path, monkeypatch) -> Path:
    """A copy of the service database that the test may change; the active target points at it."""
    database = copy_database(service_database, tmp_path / "copy.duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    return database


@pytest.fixture(scope="session")
def probes(service_database) -> dict:
    """Ids to ask about, chosen from the tables."""
    database = service_database
    items = [item for (item,) in sql(database, "select item_id from item_similarity "
                                     "group by item_id order by count(*) desc, item_id limit 3")]
    short = sql(database, "select item_id from item_similarity group by item_id "
                "having count(*) < 5 order by item_id limit 1")
    users = [user for (user,) in sql(
        database, "select user_id from user_recent_items group by user_id "
        "order by count(*) desc, user_id limit 3")]
    mixed = sql(database, "select user_id from user_recommendations group by user_id "
                "having count(distinct source) > 1 order by user_id limit 1")
    categories = [category for (category,) in sql(
        database, "select distinct category from popular_items where scope = 'category' "
        "order by category")]
    return {"items": items + [row[0] for row in short],
            "users": users + [row[0] for row in mixed], "categories": categories}
