"""The service's answers are the tables' rows."""

from __future__ import annotations

import duckdb
import pytest
from fastapi.testclient import TestClient

from sqlrec.config import Settings
from sqlrec.service.app import create_app
from sqlrec.service.reloading import SnapshotStore, WarehouseSource
from sqlrec.service.schemas import SimilarItems

from service_tables import (
    assert_same_items,
    category_of,
    fill,
    items_of,
    popular_rows,
    recent_items_of,
    recommendation_rows,
    similar_rows,
    sql,
)


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
    client = TestClient(create_app(Settings(reload_interval_s=0), store=store))
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


def test_a_filtered_answer_never_scores_its_fill_above_what_comes_before(client, probes):
    """The issue's case: with a category filter the user's rows run out and popular items of
    the category fill the answer; a client sorting by score must keep the answer's order."""
    rises, filled = [], 0
    for user_id in probes["users"]:
        for category in probes["categories"]:
            actual = items_of(client.get(f"/users/{user_id}/recommendations",
                                         params={"k": 15, "category": category}))
            scores = [score for _, score, _ in actual]
            rises += [(user_id, category, rank) for rank, (before, score)
                      in enumerate(zip(scores[:-1], scores[1:], strict=True), start=2)
                      if score > before]
            filled += any(source == "popular" for _, _, source in actual)
    assert filled > 0 and rises == []
