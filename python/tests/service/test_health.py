"""The service's health and metrics."""

from __future__ import annotations

import json
from pathlib import Path

from service_tables import sql


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
