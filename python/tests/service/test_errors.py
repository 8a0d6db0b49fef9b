"""The service's errors, and its admin route."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from sqlrec.config import Settings
from sqlrec.service.app import create_app

from service_tables import ADMIN_TOKEN


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
    settings = Settings(reload_interval_s=0, admin_token=ADMIN_TOKEN)
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
    with TestClient(create_app(Settings(reload_interval_s=0))) as client:
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "no_snapshot"
        assert "sqlrec build" in health.json()["last_reload_error"]["message"]
        lookup = client.get("/items/i_1/similar")
        assert lookup.status_code == 503 and "no snapshot" in lookup.json()["detail"]
