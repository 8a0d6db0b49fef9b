"""Each served row says why: because_item_id, from the table for the batch lists, and for the
session's recent_items the viewed item that contributes most; expected values from SQL."""

from __future__ import annotations

from service_tables import sql


def test_batch_lists_carry_the_tables_reasons(client, service_database, probes):
    for user_id in probes["users"]:
        expected = sql(service_database, "select item_id, source, because_item_id "
                       "from user_recommendations where user_id = ? order by rank", user_id)
        body = client.get(f"/users/{user_id}/recommendations", params={"k": 20}).json()
        assert [(item["item_id"], item["source"], item["because_item_id"])
                for item in body["items"]] == [tuple(row) for row in expected[:20]]
    sources = dict(sql(service_database, "select source, count(*) from user_recommendations "
                       "where because_item_id is null group by source"))
    assert set(sources) <= {"popular"}  # every personalised row has its reason


def test_recent_items_name_the_viewed_item_that_contributes_most(client, service_database,
                                                                 probes):
    first, second = probes["items"][:2]
    body = client.get("/users/nobody/recommendations",
                      params={"k": 30, "recent_items": f"{first},{second}"}).json()
    session_rows = [item for item in body["items"] if item["source"] == "recent_items"]
    assert session_rows
    scores = {}
    for viewed in (first, second):
        for item, score in sql(service_database, "select similar_item_id, score from "
                               "item_similarity where item_id = ? and similar_item_is_available",
                               viewed):
            scores.setdefault(item, {})[viewed] = score
    for item in session_rows:
        contributions = scores[item["item_id"]]
        assert contributions[item["because_item_id"]] == max(contributions.values())


def test_popular_rows_have_no_reason(client):
    body = client.get("/users/nobody/recommendations", params={"k": 5}).json()
    assert [item["because_item_id"] for item in body["items"]] == [None] * 5
