"""The service's edges: what it must never lose, leak, or do silently.

Bounded metric labels, ids with a slash, the trailing-slash redirect, sold-out items in
"viewed together", `k_served`, capped path ids, and empty builds. As in the other service
tests, every expected answer is computed here from the DuckDB tables with SQL, never with the
service's own code.
"""

from __future__ import annotations

import shutil
import urllib.parse

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from sqlrec import warehouse
from sqlrec.config import Settings
from sqlrec.service.app import create_app
from sqlrec.service.reloading import SnapshotStore, WarehouseSource
from sqlrec.service.schemas import Recommendations, SimilarItems
from sqlrec.warehouse.markers import FINISHED, STARTED

from service_tables import (
    ADMIN_TOKEN,
    change,
    popular_rows,
    recent_items_of,
    recommendation_rows,
    sql,
)

SERVED_TABLES = ("int_items_enriched", "item_similarity", "user_recommendations",
                 "popular_items", "user_recent_items")


def client_of(database, **settings) -> TestClient:
    """A client of a service on `database` (the active target must point at it)."""
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    store.reload()
    return TestClient(create_app(Settings(reload_interval_s=0, **settings), store=store))


def available_similar_rows(database, item_id: str, k: int = 100) -> list[dict]:
    """The documented default: the table's rows whose item is available (an item the catalogue
    does not list counts as available), in rank order, ranked again from 1."""
    return [dict(zip(("item_id", "score", "rank", "common_users", "is_available"), row,
                     strict=True))
            for row in sql(database, """
                select similarity.similar_item_id, similarity.score,
                       row_number() over (order by similarity.rank), similarity.common_users,
                       true
                from item_similarity as similarity
                left join int_items_enriched as items
                    on similarity.similar_item_id = items.item_id
                where similarity.item_id = ? and coalesce(items.is_available, true)
                order by similarity.rank limit ?""", item_id, k)]


def all_similar_rows(database, item_id: str, k: int = 100) -> list[dict]:
    return [dict(zip(("item_id", "score", "rank", "common_users", "is_available"), row,
                     strict=True))
            for row in sql(database, """
                select similarity.similar_item_id, similarity.score, similarity.rank,
                       similarity.common_users, coalesce(items.is_available, true)
                from item_similarity as similarity
                left join int_items_enriched as items
                    on similarity.similar_item_id = items.item_id
                where similarity.item_id = ?
                order by similarity.rank limit ?""", item_id, k)]


@pytest.fixture(scope="module")
def items_with_sold_out_neighbours(service_database) -> list[str]:
    """Items whose first ten neighbours include a sold-out item: where filtering shows."""
    return [item for (item,) in sql(service_database, """
        select similarity.item_id
        from item_similarity as similarity
        inner join int_items_enriched as items on similarity.similar_item_id = items.item_id
        where not items.is_available and similarity.rank <= 10
        group by similarity.item_id order by count(*) desc, similarity.item_id limit 5""")]


# ---------------------------------------------------------------- 13: bounded metric labels

KNOWN_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
ROUTE_TEMPLATES = {"/items/{item_id}/similar", "/users/{user_id}/recommendations", "/healthz",
                   "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc",
                   "unmatched"}
STATUS_CLASSES = {"2xx", "3xx", "4xx", "5xx"}


def request_series(client) -> dict[tuple[str, str, str], float]:
    """(method, route, status) -> count of sqlrec_http_requests_total, parsed from /metrics."""
    text = client.get("/metrics").text
    return {(sample.labels["method"], sample.labels["route"], sample.labels["status"]):
            sample.value
            for family in text_string_to_metric_families(text)
            if family.name == "sqlrec_http_requests"
            for sample in family.samples if sample.name == "sqlrec_http_requests_total"}


def test_metric_labels_come_from_a_closed_set(loaded_store, probes):
    client = TestClient(create_app(Settings(reload_interval_s=0), store=loaded_store))
    item = probes["items"][0]

    def made_up_requests(start: int, count: int) -> None:
        for n in range(start, start + count):
            client.request(f"BREW{n}", f"/items/{item}/similar")
            client.request(f"X{n}", f"/no/such/path/{n}")
            client.get(f"/users/u{n}/recommendations/",  # a slash too many: a redirect
                       follow_redirects=False)

    client.get(f"/items/{item}/similar")
    client.get("/openapi.json")
    client.get("/metrics")
    made_up_requests(0, 20)
    series = request_series(client)
    made_up_requests(20, 200)
    grown = request_series(client)

    assert set(grown) == set(series), "new series for new made-up values"
    assert {method for method, _, _ in grown} <= KNOWN_METHODS
    assert {route for _, route, _ in grown} <= ROUTE_TEMPLATES
    assert {status for _, _, status in grown} <= STATUS_CLASSES
    assert grown["other", "/items/{item_id}/similar", "4xx"] == 220
    assert grown["other", "unmatched", "4xx"] == 220
    assert grown["GET", "unmatched", "3xx"] == 220
    assert series["GET", "/items/{item_id}/similar", "2xx"] == 1
    assert series["GET", "/openapi.json", "2xx"] == 1


# ---------------------------------------------------------------- 14: ids with a slash

def renamed(database_copy, new_item: str, new_user: str) -> dict:
    """The copy with one item (one with neighbours both ways) and one user renamed, in every
    table."""
    item = sql(database_copy, """
        select similarity.item_id from item_similarity as similarity
        inner join item_similarity as reverse on reverse.similar_item_id = similarity.item_id
        group by similarity.item_id order by count(*) desc, similarity.item_id limit 1""")[0][0]
    user = sql(database_copy, "select min(user_id) from user_recommendations")[0][0]
    change(database_copy,
           *(f"update {table} set {column} = '{new_item}' where {column} = '{item}'"
             for table, column in [("int_items_enriched", "item_id"),
                                   ("item_similarity", "item_id"),
                                   ("item_similarity", "similar_item_id"),
                                   ("user_recommendations", "item_id"),
                                   ("popular_items", "item_id"),
                                   ("user_recent_items", "item_id")]),
           *(f"update {table} set user_id = '{new_user}' where user_id = '{user}'"
             for table in ("user_recommendations", "user_recent_items")))
    return {"database": database_copy, "item": new_item, "user": new_user}


@pytest.fixture
def slashed(database_copy) -> dict:
    """The copy with one item and one user renamed to ids holding a slash, in every table."""
    return renamed(database_copy, "sku/1", "team/alice")


def test_an_item_id_with_a_slash_is_reachable(slashed):
    database, item = slashed["database"], slashed["item"]
    client = client_of(database)
    response = client.get(f"/items/{urllib.parse.quote(item, safe='')}/similar",
                          params={"k": 100})
    assert response.status_code == 200, response.text
    body = SimilarItems.model_validate_json(response.content)
    assert body.item_id == item
    assert [row.model_dump() for row in body.items] == available_similar_rows(database, item)
    # and as a neighbour, the id comes back as it is
    neighbour_of = sql(database, "select item_id from item_similarity "
                       "where similar_item_id = ? order by item_id limit 1", item)[0][0]
    listed = client.get(f"/items/{urllib.parse.quote(neighbour_of, safe='')}/similar",
                        params={"k": 100, "include_unavailable": "true"}).json()["items"]
    assert item in [row["item_id"] for row in listed]


def test_a_user_id_with_a_slash_is_reachable(slashed):
    database, user = slashed["database"], slashed["user"]
    response = client_of(database).get(
        f"/users/{urllib.parse.quote(user, safe='')}/recommendations", params={"k": 5})
    assert response.status_code == 200, response.text
    body = Recommendations.model_validate_json(response.content)
    assert body.user_id == user and body.known_user is True
    assert [(row.item_id, row.source) for row in body.items] == [
        (item, source) for item, _, source in recommendation_rows(database, user)[:5]]


@pytest.mark.parametrize("item_id", ["a/b", "line\nbreak", "/", "1.5", "1.0.0"])
def test_any_item_id_reaches_the_route(client, item_id):
    """Not FastAPI's bare 404 for a path no route matched: the route's own, naming the id."""
    response = client.get(f"/items/{urllib.parse.quote(item_id, safe='')}/similar")
    assert response.status_code == 404
    assert repr(item_id) in response.json()["detail"]


def test_an_empty_path_id_is_a_422(client):
    for path, name in [("/items//similar", "item_id"), ("/users//recommendations", "user_id")]:
        response = client.get(path)
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
            "path", name]


@pytest.mark.parametrize("blank", [" ", "\t\u00a0", "\u3000"])
def test_a_path_id_blank_after_trimming_is_a_422_as_the_build_calls_it_missing(client, blank):
    for path, name in [("/items/{id}/similar", "item_id"),
                       ("/users/{id}/recommendations", "user_id")]:
        response = client.get(path.format(id=urllib.parse.quote(blank, safe="")))
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [
            "path", name]


# ---------------------------------------------------------------- 14b: ids as the build cleans them

@pytest.mark.parametrize(("raw", "cleaned"), [
    ("i_42", "i_42"), (" i_42", "i_42"), ("\u00a0i_42\u3000", "i_42"), ("\ti 42\n", "i 42"),
    ("100", "100"), ("100.0", "100"), ("-7.000", "-7"), (" 100.0 ", "100"),
    ("1.5", "1.5"), ("+1.0", "+1.0"), ("1e3", "1e3"), ("1.0.0", "1.0.0"), ("100.", "100."),
    ("\u200b", "\u200b"),  # a zero-width space is not White_Space: an id of its own
    (" ", None), ("\u2003", None), ("", None),
])
def test_clean_id_is_stagings_rule(raw, cleaned):
    """Staging's clean_id, worked by hand: Unicode White_Space trimmed, an integral number
    written as an integer, blank as missing."""
    from sqlrec.service.queries import clean_id

    assert clean_id(raw) == cleaned


@pytest.fixture
def numbered(database_copy) -> dict:
    """The copy with one item renamed to a number-like id, as staging writes 100.0 and 100."""
    return renamed(database_copy, "100", "u 7")


def test_path_and_query_ids_are_cleaned_as_the_build_cleans_them(numbered):
    """The build stores " 100.0 " as "100": the service finds it under any of the spellings the
    build would have read as that id, and answers with the id as built."""
    database, item, user = numbered["database"], numbered["item"], numbered["user"]
    client = client_of(database)
    expected = available_similar_rows(database, item)
    assert expected
    for spelling in ["100", "100.0", " 100", "100.00\t", "\u00a0100\u3000"]:
        response = client.get(f"/items/{urllib.parse.quote(spelling, safe='')}/similar",
                              params={"k": 100})
        assert response.status_code == 200, (spelling, response.text)
        body = SimilarItems.model_validate_json(response.content)
        assert body.item_id == item
        assert [row.model_dump() for row in body.items] == expected
    for spelling in ["u 7", " u 7", "u 7\u3000"]:
        response = client.get(f"/users/{urllib.parse.quote(spelling, safe='')}/recommendations",
                              params={"k": 5})
        body = Recommendations.model_validate_json(response.content)
        assert (body.user_id, body.known_user) == (user, True)
        assert [row.item_id for row in body.items] == [
            row_item for row_item, _, _ in recommendation_rows(database, user)[:5]]
    # a listed id is cleaned too: "100.0" in exclude leaves 100 out, "\u00a0100" in
    # recent_items seeds the session with it
    neighbour = expected[0]["item_id"]
    excluded = client.get(f"/users/{urllib.parse.quote(user)}/recommendations",
                          params={"k": 100, "exclude": f"{neighbour}, 100.0",
                                  "recent_items": "\u00a0100"}).json()["items"]
    assert {row["item_id"] for row in excluded}.isdisjoint({"100", neighbour})
    seeded = client.get(f"/users/{urllib.parse.quote(user)}/recommendations",
                        params={"k": 1, "recent_items": "\u00a0100.0"}).json()["items"]
    plain = client.get(f"/users/{urllib.parse.quote(user)}/recommendations",
                       params={"k": 1, "recent_items": "100"}).json()["items"]
    assert seeded == plain


def test_the_service_caps_ids_at_the_builds_max_id_length():
    """One limit: the var max_id_length that dbt_project.yml declares (read here with yaml)."""
    import yaml

    from sqlrec.service import queries

    from helpers import PROJECT_DIR

    declared = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["vars"]
    assert queries.MAX_ID_LENGTH == declared["max_id_length"] == 200


# ---------------------------------------------------------------- 15: the trailing slash

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443"])
def test_a_trailing_slash_redirect_stays_on_the_host_asked(client, service_database, probes,
                                                          host):
    item = probes["items"][0]
    path = f"/items/{urllib.parse.quote(item, safe='')}/similar"
    response = client.get(f"{path}/?k=3", headers={"Host": host}, follow_redirects=False)
    assert response.status_code == 307
    location = response.headers["location"]
    assert location == f"{path}?k=3"
    assert "evil" not in location and not location.startswith("//")
    followed = client.get(location)
    assert followed.json()["items"] == available_similar_rows(service_database, item, 3)


def test_a_trailing_slash_redirect_keeps_an_encoded_slash(slashed):
    client = client_of(slashed["database"])
    response = client.get("/items/sku%2F1/similar/", headers={"Host": "evil.example"},
                          follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == "/items/sku%2F1/similar"
    assert client.get(response.headers["location"]).json()["item_id"] == slashed["item"]


def test_a_path_no_route_matches_either_way_is_a_json_404(client):
    response = client.get("/nowhere/", headers={"Host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404 and response.json() == {"detail": "Not Found"}


# ---------------------------------------------------------------- 16: sold-out items

def test_similar_items_leave_out_sold_out_items(client, service_database,
                                                items_with_sold_out_neighbours):
    assert items_with_sold_out_neighbours, "the small lake has no sold-out neighbour to test"
    for item in items_with_sold_out_neighbours:
        for k in (10, 100):
            response = client.get(f"/items/{item}/similar", params={"k": k})
            body = SimilarItems.model_validate_json(response.content)
            expected = available_similar_rows(service_database, item, k)
            assert [row.model_dump() for row in body.items] == expected
            assert body.items != all_similar_rows(service_database, item, k)


def test_include_unavailable_serves_the_complete_table_rows(client, service_database,
                                                            items_with_sold_out_neighbours):
    for item in items_with_sold_out_neighbours:
        response = client.get(f"/items/{item}/similar",
                              params={"k": 10, "include_unavailable": "true"})
        body = SimilarItems.model_validate_json(response.content)
        expected = all_similar_rows(service_database, item, 10)
        assert [row.model_dump() for row in body.items] == expected
        assert not all(row["is_available"] for row in expected)
    parameters = client.get("/openapi.json").json()[
        "paths"]["/items/{item_id}/similar"]["get"]["parameters"]
    documented = {parameter["name"]: parameter for parameter in parameters}
    assert documented["include_unavailable"]["schema"]["type"] == "boolean"
    assert "sold-out" in documented["include_unavailable"]["description"]


def test_recent_items_never_bring_sold_out_items(client, service_database,
                                                 items_with_sold_out_neighbours):
    unavailable = {item for (item,) in sql(
        service_database, "select item_id from int_items_enriched where not is_available")}
    response = client.get("/users/just-arrived/recommendations", params={
        "k": 50, "recent_items": ",".join(items_with_sold_out_neighbours)})
    items = [row["item_id"] for row in response.json()["items"]]
    assert items and not unavailable & set(items)


# ---------------------------------------------------------------- 17: k_served, id lengths

def test_k_served_says_how_many_items_the_answer_holds(client, service_database, probes):
    short = probes["items"][-1]  # fewer than 5 neighbours
    for item, k in [(short, 100), (probes["items"][0], 3), (probes["items"][0], 100)]:
        body = client.get(f"/items/{item}/similar", params={"k": k}).json()
        assert body["k_served"] == len(available_similar_rows(service_database, item, k))
        assert body["k_served"] == len(body["items"])
    user = probes["users"][0]
    assert client.get(f"/users/{user}/recommendations",
                      params={"k": 7}).json()["k_served"] == 7
    # a cold user's list of one category, most of it excluded: shorter than asked for
    category = probes["categories"][0]
    popular = [item for item, _, _ in popular_rows(service_database, category)]
    excluded = popular[:60]
    body = client.get("/users/nobody-at-all/recommendations", params={
        "k": 100, "category": category, "exclude": ",".join(excluded)}).json()
    assert body["k_served"] == len(popular) - 60 == len(body["items"]) < 100
    assert [item["item_id"] for item in body["items"]] == popular[60:]


def test_k_served_is_in_the_openapi_schema(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("SimilarItems", "Recommendations"):
        assert "k_served" in schemas[name]["required"]
        assert schemas[name]["properties"]["k_served"]["type"] == "integer"


@pytest.mark.parametrize("path", ["/items/{id}/similar", "/users/{id}/recommendations"])
def test_a_path_id_longer_than_the_cap_is_a_422_that_does_not_echo_it(client, path):
    name = "item_id" if path.startswith("/items") else "user_id"
    response = client.get(path.format(id="x" * 60_000))
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["path", name]
    assert len(response.content) < 1_000
    at_the_cap = client.get(path.format(id="x" * 200))
    assert at_the_cap.status_code == (404 if name == "item_id" else 200)


def test_a_long_query_value_is_not_echoed_either(client, probes):
    response = client.get(f"/users/{probes['users'][0]}/recommendations",
                          params={"category": "y" * 10_000})
    assert response.status_code == 422 and len(response.content) < 1_000


# ---------------------------------------------------------------- 7: empty builds

def mark_build() -> str:
    """What a finished dbt run's hooks write: a started and a finished marker of one name."""
    import uuid

    version = uuid.uuid4().hex
    store = warehouse.connect()
    store.write_build_marker(STARTED, version=version)
    store.write_build_marker(FINISHED, version=version)
    return version


def empty(database, *tables: str) -> None:
    change(database, *(f"delete from {table}" for table in tables))


@pytest.mark.parametrize("tables", [SERVED_TABLES, ("item_similarity",)],
                         ids=["every-table", "one-table"])
def test_an_emptied_build_never_replaces_the_served_snapshot(database_copy, probes, tables):
    item = probes["items"][0]
    expected = available_similar_rows(database_copy, item, 10)
    settings = Settings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
    with TestClient(create_app(settings)) as client:
        served = client.get("/healthz").json()["snapshot"]["version"]
        empty(database_copy, *tables)
        version = mark_build()
        assert client.app.state.store.poll_once() is False

        health = client.get("/healthz")
        assert health.status_code == 200
        body = health.json()
        assert body["status"] == "degraded" and body["snapshot"]["version"] == served
        assert body["last_reload_error"]["version"] == version
        message = body["last_reload_error"]["message"]
        for table in tables:
            assert f"{table} empty" in message
        assert client.get(f"/items/{item}/similar").json()["items"] == expected

        forced = client.post("/admin/reload", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        assert forced.status_code == 503 and "item_similarity empty" in forced.json()["detail"]
        assert client.get("/healthz").json()["snapshot"]["version"] == served


def test_a_full_build_after_an_emptied_one_is_loaded(database_copy, service_database, tmp_path):
    store = SnapshotStore(WarehouseSource(), interval_s=0)
    store.reload()
    saved = tmp_path / "saved.duckdb"
    shutil.copyfile(database_copy, saved)
    empty(database_copy, "user_recommendations")
    mark_build()
    assert store.poll_once() is False and store.last_error is not None

    shutil.copyfile(saved, database_copy)
    version = mark_build()
    assert store.poll_once() is True
    assert store.current.info.version == version
    assert store.last_error is None
    assert store.current.info.row_counts["user_recommendations"] == sql(
        service_database, "select count(*) from user_recommendations")[0][0]


def test_a_first_build_may_be_empty(database_copy):
    """With nothing served yet there is nothing to keep: the empty snapshot answers."""
    empty(database_copy, *SERVED_TABLES)
    client = client_of(database_copy)
    assert client.get("/healthz").json()["status"] == "ok"
    body = client.get("/users/anyone/recommendations").json()
    assert body["k_served"] == 0 and body["items"] == []


# ---------------------------------------------------------------- recent_items, combined

def test_recent_items_with_filters_follow_the_documented_rule(client, service_database, probes):
    """recent_items with exclude and category at once: the session's neighbours (summed,
    best scaled to 1, ties by id) of the category, then the user's list, then popular."""
    user = probes["users"][0]
    viewed = probes["items"][:3]
    recent = recent_items_of(service_database, user)
    categories = dict(sql(service_database, "select item_id, category from int_items_enriched"))
    unavailable = {item for item, available in sql(
        service_database, "select item_id, is_available from int_items_enriched")
        if not available}
    summed = sql(service_database, "select similar_item_id, sum(score) from item_similarity "
                 "where item_id in (?, ?, ?) group by similar_item_id", *viewed)
    candidates = sorted(((item, score) for item, score in summed
                         if item not in viewed and item not in recent
                         and item not in unavailable), key=lambda row: (-row[1], row[0]))
    best = candidates[0][1]
    category = categories[candidates[1][0]]
    excluded = {candidates[1][0], recommendation_rows(service_database, user)[0][0]}
    rows = [(item, score / best, "recent_items") for item, score in candidates] + \
        recommendation_rows(service_database, user)
    expected, taken = [], set(viewed) | excluded
    for item, score, source in rows:
        if len(expected) < 12 and item not in taken and categories.get(item) == category:
            expected.append((item, score, source))
            taken.add(item)
    # the fill scores below what it follows
    scale = min(score for _, score, _ in expected) / 2 if expected else 1.0
    for item, score, source in popular_rows(service_database, category):
        if len(expected) < 12 and item not in taken | recent:
            expected.append((item, score * scale, source))
            taken.add(item)

    response = client.get(f"/users/{user}/recommendations", params={
        "k": 12, "category": category, "exclude": ",".join(sorted(excluded)),
        "recent_items": ",".join([*viewed, viewed[0]])})
    body = Recommendations.model_validate_json(response.content)
    assert [(row.item_id, row.source) for row in body.items] == [
        (item, source) for item, _, source in expected]
    assert [row.score for row in body.items] == pytest.approx(
        [score for _, score, _ in expected], rel=1e-12)
    assert [row.rank for row in body.items] == list(range(1, len(expected) + 1))
    assert body.k_served == len(expected)


def test_the_session_merge_sums_shared_neighbours(client, service_database):
    """Two viewed items that list the same neighbours: those get the sum of both scores."""
    first, second = sql(service_database, """
        select a.item_id, b.item_id from item_similarity as a
        inner join item_similarity as b
            on a.similar_item_id = b.similar_item_id and a.item_id < b.item_id
        group by a.item_id, b.item_id order by count(*) desc, a.item_id, b.item_id
        limit 1""")[0]
    unavailable = {item for (item,) in sql(
        service_database, "select item_id from int_items_enriched where not is_available")}
    summed = sql(service_database, "select similar_item_id, sum(score) from item_similarity "
                 "where item_id in (?, ?) group by similar_item_id", first, second)
    candidates = sorted(((item, score) for item, score in summed
                         if item not in (first, second) and item not in unavailable),
                        key=lambda row: (-row[1], row[0]))
    body = client.get("/users/just-arrived/recommendations", params={
        "k": 100, "recent_items": f"{first},{second}"}).json()
    served = [(row["item_id"], row["score"]) for row in body["items"]
              if row["source"] == "recent_items"]
    assert [item for item, _ in served] == [item for item, _ in candidates]
    assert [score for _, score in served] == pytest.approx(
        [score / candidates[0][1] for _, score in candidates], rel=1e-12)


def test_path_ids_are_bounded_in_the_openapi_schema(loaded_store):
    """So that schemathesis (service/test_openapi.py) sends too long ids and expects 422."""
    schema = create_app(Settings(reload_interval_s=0), store=loaded_store).openapi()
    parameters = schema["paths"]["/items/{item_id}/similar"]["get"]["parameters"]
    item_id = next(parameter for parameter in parameters if parameter["name"] == "item_id")
    assert item_id["schema"]["maxLength"] == 200 and item_id["schema"]["minLength"] == 1

