"""The HTTP service against a small real DuckDB built by the dbt project.

Every expected answer is computed here from the tables with SQL (and a few lines of Python for
the documented fill rules), never with the service's own code.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import duckdb
import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sqlrec import pipeline
from sqlrec.build_marker import marker_path, read_build_marker, write_build_marker
from sqlrec.service.app import create_app
from sqlrec.service.reloading import BuildState, SnapshotStore, WarehouseSource
from sqlrec.service.schemas import Recommendations, SimilarItems
from sqlrec.service.settings import ServiceSettings
from sqlrec.service.snapshot import load_snapshot
from sqlrec.warehouse import DuckDBWarehouse

PROJECT_DIR = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "s3cret-token"


# ---------------------------------------------------------------- fixtures and SQL helpers

@pytest.fixture(scope="session")
def service_database(small_lake, tmp_path_factory) -> Path:
    """The dbt project built once on the small lake, in a DuckDB file of its own."""
    folder = tmp_path_factory.mktemp("service")
    database = folder / "sqlrec.duckdb"
    shutil.copyfile(PROJECT_DIR / "profiles.yml.example", folder / "profiles.yml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", str(folder))
        patch.setenv("SQLREC_TARGET", "duckdb")
        patch.setenv("SQLREC_DUCKDB_PATH", str(database))
        pipeline.build(small_lake, quiet=True)
    return database


@pytest.fixture(scope="session")
def loaded_store(service_database) -> SnapshotStore:
    """A store holding the snapshot of the service database; never reloaded."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SQLREC_DUCKDB_PATH", str(service_database))
        store = SnapshotStore(WarehouseSource("duckdb"), interval_s=0)
        store.reload()
    return store


@pytest.fixture
def client(loaded_store):
    with TestClient(create_app(ServiceSettings(reload_interval_s=0), store=loaded_store)) as client:
        yield client


@pytest.fixture
def database_copy(service_database, tmp_path, monkeypatch) -> Path:
    """A copy of the service database that the test may change; the active target points at it."""
    database = tmp_path / "copy.duckdb"
    shutil.copyfile(service_database, database)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    return database


def sql(database: Path, query: str, *params) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(query, list(params)).fetchall()


def change(database: Path, *statements: str) -> None:
    with duckdb.connect(str(database)) as connection:
        for statement in statements:
            connection.execute(statement)


def halve_scores(database: Path) -> None:
    change(database, *(f"update {table} set score = score / 2" for table in
                       ("item_similarity", "user_recommendations", "popular_items")))


def similar_rows(database: Path, item_id: str, k: int, *,
                 include_unavailable: bool = False) -> list[dict]:
    """The table's rows with the item's availability; by default (as the service answers) only
    the available items, ranked again from 1."""
    rows = sql(database, "select similarity.similar_item_id, similarity.score, similarity.rank, "
               "similarity.common_users, coalesce(items.is_available, true) "
               "from item_similarity as similarity left join int_items_enriched as items "
               "on similarity.similar_item_id = items.item_id "
               "where similarity.item_id = ? order by similarity.rank", item_id)
    if not include_unavailable:
        rows = [(item, score, rank, common_users, available) for rank, (
            item, score, _, common_users, available) in enumerate(
            (row for row in rows if row[4]), start=1)]
    return [dict(zip(("item_id", "score", "rank", "common_users", "is_available"), row,
                     strict=True)) for row in rows[:k]]


def recommendation_rows(database: Path, user_id: str) -> list[tuple[str, float, str]]:
    return sql(database, "select item_id, score, source from user_recommendations "
               "where user_id = ? order by rank", user_id)


def popular_rows(database: Path, category: str | None = None) -> list[tuple[str, float, str]]:
    if category is None:
        return sql(database, "select item_id, score, 'popular' from popular_items "
                   "where scope = 'global' order by rank")
    return sql(database, "select item_id, score, 'popular' from popular_items "
               "where scope = 'category' and category = ? order by rank", category)


def recent_items_of(database: Path, user_id: str) -> set[str]:
    return {item for (item,) in sql(
        database, "select item_id from user_recent_items where user_id = ?", user_id)}


def category_of(database: Path) -> dict[str, str | None]:
    return dict(sql(database, "select item_id, category from int_items_enriched"))


def fill(rows: list[tuple], k: int, *, skip: set[str], then: list[tuple] = (),
         then_skip: set[str] = frozenset()) -> list[tuple]:
    """The documented rule: rows in order, skipping taken items, then the fill rows, skipping
    taken and `then_skip` items, until k."""
    picked, taken = [], set(skip)
    for item, score, source in rows:
        if len(picked) < k and item not in taken:
            picked.append((item, score, source))
            taken.add(item)
    for item, score, source in then:
        if len(picked) < k and item not in taken and item not in then_skip:
            picked.append((item, score, source))
            taken.add(item)
    return picked


def items_of(response) -> list[tuple[str, float, str]]:
    assert response.status_code == 200, response.text
    body = Recommendations.model_validate_json(response.content)
    assert [item.rank for item in body.items] == list(range(1, len(body.items) + 1))
    return [(item.item_id, item.score, item.source) for item in body.items]


def assert_same_items(actual: list[tuple], expected: list[tuple]) -> None:
    assert [(item, source) for item, _, source in actual] == \
        [(item, source) for item, _, source in expected]
    assert [score for _, score, _ in actual] == pytest.approx(
        [score for _, score, _ in expected], rel=1e-12)


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


# ---------------------------------------------------------------- answers equal the tables

@pytest.mark.parametrize("k", [1, 5, 100])
def test_similar_items_are_the_table_rows(client, service_database, probes, k):
    for item_id in probes["items"]:
        for include_unavailable in (False, True):
            response = client.get(f"/items/{item_id}/similar", params={
                "k": k, "include_unavailable": include_unavailable})
            assert response.status_code == 200
            body = SimilarItems.model_validate_json(response.content)
            assert body.item_id == item_id
            assert [item.model_dump() for item in body.items] == similar_rows(
                service_database, item_id, k, include_unavailable=include_unavailable)


def test_similar_items_default_to_ten(client, service_database, probes):
    item_id = probes["items"][0]
    body = client.get(f"/items/{item_id}/similar").json()
    assert body["items"] == similar_rows(service_database, item_id, 10)


def test_a_known_item_without_neighbours_has_an_empty_list(database_copy):
    item_id = sql(database_copy, "select min(item_id) from item_similarity")[0][0]
    with duckdb.connect(str(database_copy)) as connection:
        connection.execute("delete from item_similarity where item_id = ?", [item_id])
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    store.reload()
    client = TestClient(create_app(ServiceSettings(reload_interval_s=0), store=store))
    response = client.get(f"/items/{item_id}/similar")
    assert response.status_code == 200 and response.json()["items"] == []


@pytest.mark.parametrize("k", [1, 10, 20])
def test_recommendations_are_the_table_rows(client, service_database, probes, k):
    for user_id in probes["users"]:
        response = client.get(f"/users/{user_id}/recommendations", params={"k": k})
        assert response.json()["known_user"] is True
        assert_same_items(items_of(response), recommendation_rows(service_database, user_id)[:k])


def test_recommendations_keep_every_source_of_the_table(client, service_database, probes):
    user_id = probes["users"][-1]
    sources = {source for _, _, source in items_of(
        client.get(f"/users/{user_id}/recommendations", params={"k": 20}))}
    assert sources == {source for _, _, source in recommendation_rows(service_database, user_id)}
    assert len(sources) > 1


@pytest.mark.parametrize("k", [3, 50])
def test_an_unknown_user_gets_popular_items(client, service_database, k):
    response = client.get("/users/nobody-at-all/recommendations", params={"k": k})
    assert response.json()["known_user"] is False
    assert_same_items(items_of(response), popular_rows(service_database)[:k])


def test_an_unknown_user_gets_popular_items_of_a_category(client, service_database, probes):
    category = probes["categories"][0]
    response = client.get("/users/nobody-at-all/recommendations",
                          params={"k": 7, "category": category})
    assert_same_items(items_of(response), popular_rows(service_database, category)[:7])


def test_a_longer_list_than_the_table_fills_from_popular(client, service_database, probes):
    user_id = probes["users"][0]
    own = recommendation_rows(service_database, user_id)
    expected = fill(own, 35, skip=set(), then=popular_rows(service_database),
                    then_skip=recent_items_of(service_database, user_id))
    actual = items_of(client.get(f"/users/{user_id}/recommendations", params={"k": 35}))
    assert len(actual) == 35 and actual[len(own)][2] == "popular"
    assert_same_items(actual, expected)


def test_category_filter_keeps_the_category_then_fills(client, service_database, probes):
    categories = category_of(service_database)
    for user_id in probes["users"]:
        for category in probes["categories"]:
            own = [row for row in recommendation_rows(service_database, user_id)
                   if categories[row[0]] == category]
            expected = fill(own, 15, skip=set(), then=popular_rows(service_database, category),
                            then_skip=recent_items_of(service_database, user_id))
            actual = items_of(client.get(f"/users/{user_id}/recommendations",
                                         params={"k": 15, "category": category}))
            assert {categories[item] for item, _, _ in actual} == {category}
            assert_same_items(actual, expected)


def test_exclude_drops_items_and_fills_from_popular(client, service_database, probes):
    user_id = probes["users"][0]
    own = recommendation_rows(service_database, user_id)
    excluded = {own[0][0], own[3][0], popular_rows(service_database)[0][0], "not-an-item"}
    expected = fill(own, 20, skip=excluded, then=popular_rows(service_database),
                    then_skip=recent_items_of(service_database, user_id))
    actual = items_of(client.get(f"/users/{user_id}/recommendations",
                                 params={"k": 20, "exclude": " , ".join(sorted(excluded))}))
    assert not excluded & {item for item, _, _ in actual}
    assert_same_items(actual, expected)


@pytest.mark.parametrize("known", [True, False], ids=["known-user", "unknown-user"])
def test_recent_items_put_their_neighbours_first(client, service_database, probes, known):
    user_id = probes["users"][1] if known else "just-arrived"
    viewed = probes["items"][:2]
    recent = recent_items_of(service_database, user_id)
    unavailable = {item for (item,) in sql(
        service_database, "select item_id from int_items_enriched where not is_available")}
    summed = sql(service_database, "select similar_item_id, sum(score) from item_similarity "
                 "where item_id in (?, ?) group by similar_item_id", *viewed)
    candidates = sorted(((item, score) for item, score in summed
                         if item not in viewed and item not in recent
                         and item not in unavailable), key=lambda row: (-row[1], row[0]))
    best = candidates[0][1]
    session = [(item, score / best, "recent_items") for item, score in candidates]
    own = recommendation_rows(service_database, user_id)
    expected = fill(session + own, 30, skip=set(viewed), then=popular_rows(service_database),
                    then_skip=recent)

    response = client.get(f"/users/{user_id}/recommendations",
                          params={"k": 30, "recent_items": ",".join([*viewed, "unknown-item"])})
    actual = items_of(response)
    assert response.json()["known_user"] is known
    assert actual[0][1] == 1.0 and actual[0][2] == "recent_items"
    assert_same_items(actual, expected)


# ---------------------------------------------------------------- errors

def test_unknown_item_is_a_404_naming_it(client):
    response = client.get("/items/no-such-item/similar")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert "'no-such-item'" in response.json()["detail"]


@pytest.mark.parametrize("path", ["/items/{item}/similar", "/users/{user}/recommendations"])
@pytest.mark.parametrize("k", ["0", "101", "abc", "1.5", ""])
def test_bad_k_is_a_422(client, probes, path, k):
    response = client.get(path.format(item=probes["items"][0], user=probes["users"][0]),
                          params={"k": k})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["query", "k"] and detail[0]["msg"]


def test_unknown_category_is_a_422_listing_the_known_ones(client, probes):
    response = client.get(f"/users/{probes['users'][0]}/recommendations",
                          params={"category": "spaceships"})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "category"]
    assert "spaceships" in detail["msg"] and probes["categories"][0] in detail["msg"]


@pytest.mark.parametrize("name", ["exclude", "recent_items"])
def test_too_many_listed_ids_is_a_422(client, probes, name):
    response = client.get(f"/users/{probes['users'][0]}/recommendations",
                          params={name: ",".join(f"i_{n}" for n in range(101))})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", name]


def test_unknown_routes_and_methods_answer_json(client):
    assert client.get("/nowhere").json() == {"detail": "Not Found"}
    response = client.post("/items/x/similar")
    assert response.status_code == 405 and "detail" in response.json()


def test_admin_route_is_absent_without_a_token(client):
    assert client.post("/admin/reload").status_code == 404
    assert "/admin/reload" not in client.get("/openapi.json").json()["paths"]


@pytest.fixture
def admin_client(service_database, monkeypatch):
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(service_database))
    settings = ServiceSettings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as client:
        yield client


def test_admin_reload_requires_the_token(admin_client):
    assert admin_client.post("/admin/reload").status_code == 401
    wrong = admin_client.post("/admin/reload", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403 and wrong.json()["detail"]
    right = admin_client.post("/admin/reload",
                              headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert right.status_code == 200 and right.json()["reloaded"] is True
    assert "/admin/reload" in admin_client.get("/openapi.json").json()["paths"]


def test_without_a_build_the_service_starts_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(tmp_path / "missing.duckdb"))
    with TestClient(create_app(ServiceSettings(reload_interval_s=0))) as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "no_snapshot"
        assert "sqlrec build" in health.json()["last_reload_error"]["message"]
        lookup = client.get("/items/i_1/similar")
        assert lookup.status_code == 503 and "no snapshot" in lookup.json()["detail"]


# ---------------------------------------------------------------- health and metrics

def test_healthz_describes_the_snapshot(client, service_database):
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["last_reload_error"] is None
    assert body["target"] == "duckdb"
    snapshot = body["snapshot"]
    for table, count in snapshot["row_counts"].items():
        assert count == sql(service_database, f"select count(*) from {table}")[0][0]
    assert set(snapshot["row_counts"]) >= {"item_similarity", "user_recommendations",
                                           "popular_items", "user_recent_items"}
    # sqlrec build wrote a build marker beside the database: its version names the snapshot
    marker = json.loads(Path(f"{service_database}.built").read_text())
    assert snapshot["version"] == marker["version"] and snapshot["age_seconds"] >= 0
    assert snapshot["loaded_at"] >= snapshot["built_at"]


def test_metrics_count_requests_by_route_and_status(client, probes):
    client.get(f"/items/{probes['items'][0]}/similar")
    client.get("/items/no-such-item/similar")
    text = client.get("/metrics").text
    assert 'sqlrec_http_requests_total{method="GET",route="/items/{item_id}/similar",' \
        'status="2xx"} 1.0' in text
    assert 'route="/items/{item_id}/similar",status="4xx"} 1.0' in text
    assert 'sqlrec_http_request_duration_seconds_bucket{le="0.005",route=' in text
    assert "sqlrec_snapshot_age_seconds " in text
    assert 'sqlrec_snapshot_rows{table="item_similarity"}' in text


# ---------------------------------------------------------------- reloading

def test_build_marker_round_trip(database_copy):
    path = write_build_marker("train")
    assert path == database_copy.with_name("copy.duckdb.built")
    marker = read_build_marker()
    assert marker.step == "train" and marker.target == "duckdb"
    assert marker_path() == path
    path.write_text("{not json")
    assert read_build_marker() is None


def test_a_build_marker_triggers_a_reload(database_copy):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    first = store.reload()
    assert store.poll_once() is False
    item_id = next(iter(first.similar.index))
    before = dict(sql(database_copy, "select similar_item_id, score from item_similarity "
                      "where item_id = ?", item_id))

    halve_scores(database_copy)
    write_build_marker()
    marker = read_build_marker()
    assert store.poll_once() is True
    assert store.current.info.version == marker.version
    client = TestClient(create_app(ServiceSettings(reload_interval_s=0), store=store))
    items = client.get(f"/items/{item_id}/similar",
                       params={"k": 100, "include_unavailable": True}).json()["items"]
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
        write_build_marker()
        version = read_build_marker().version
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
        import datetime as dt

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


# ---------------------------------------------------------------- the command

def test_sqlrec_serve_answers_on_a_fresh_build(service_database, probes):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "SQLREC_DUCKDB_PATH": str(service_database)}
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlrec.cli", "serve", "--port", str(port),
         "--reload-interval", "0", "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                    health = json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "sqlrec serve did not answer"
                time.sleep(0.2)
        assert health["status"] == "ok"
        item_id = probes["items"][0]
        with urllib.request.urlopen(f"{base}/items/{item_id}/similar?k=3", timeout=5) as response:
            assert json.load(response)["items"] == similar_rows(service_database, item_id, 3)
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- the OpenAPI schema, fuzzed

@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                         ids=["valid-inputs", "invalid-inputs"])
def test_openapi_schema_holds_for_any_input(loaded_store, mode):
    """No 5xx, and every answer as documented (status, content type, body schema)."""
    settings = ServiceSettings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
    app = create_app(settings, store=loaded_store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    checks = [not_a_server_error, status_code_conformance, content_type_conformance,
              response_schema_conformance]

    @hypothesis.given(case=schema.as_strategy(generation_mode=mode))
    @hypothesis.settings(max_examples=150, deadline=None, database=None,
                         suppress_health_check=list(hypothesis.HealthCheck))
    def answers_as_documented(case):
        case.call_and_validate(checks=checks)

    answers_as_documented()
