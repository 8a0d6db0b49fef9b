"""Prometheus metrics: requests by route and status, latency, and the snapshot's age.

Each app has a registry of its own (tests build many apps in one process). The middleware is
plain ASGI: Starlette's BaseHTTPMiddleware would cost more than a lookup does.

Every label value comes from a closed set, whatever the clients send: `method` is one of
`KNOWN_METHODS` or `other`, `route` the matched route's template or `unmatched`, `status` the
status class (`2xx`). A label made of request data (a made-up method, a path, an id) would add a
series per distinct value and grow /metrics and Prometheus without bound.
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from sqlrec.service.reloading import SnapshotStore

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


class ServiceMetrics:
    def __init__(self, store: SnapshotStore):
        self.registry = CollectorRegistry()
        self.requests = Counter("sqlrec_http_requests", "HTTP requests by route and status",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("sqlrec_http_request_duration_seconds",
                                 "Time to answer an HTTP request", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.registry.register(_SnapshotCollector(store))
        # labels() costs a lock and a dict lookup; the children never change once made. Keyed by
        # label values only, so these stay as small as the label sets.
        self._counters: dict[tuple[str, str, str], object] = {}
        self._histograms: dict[str, object] = {}
        self._route_of_endpoint: dict[object, str] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a request. `route` must be a label already (`route_label`); the method and
        status are reduced to their label values here."""
        if method not in KNOWN_METHODS:
            method = OTHER_METHOD
        status_class = STATUS_CLASSES.get(status // 100, "5xx")
        counter = self._counters.get((method, route, status_class))
        if counter is None:
            counter = self._counters[method, route, status_class] = self.requests.labels(
                method, route, status_class)
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = self._histograms[route] = self.latency.labels(route)
        counter.inc()
        histogram.observe(seconds)

    def route_label(self, scope) -> str:
        """The template of the route that answered (`/items/{item_id}/similar`), never the raw
        path: ids would make a label per item."""
        route = scope.get("route")  # FastAPI's routes put themselves here
        if route is not None:
            return getattr(route, "path_format", None) or UNMATCHED_ROUTE
        endpoint = scope.get("endpoint")  # Starlette's (the docs) leave only their endpoint
        if endpoint is None:
            return UNMATCHED_ROUTE
        label = self._route_of_endpoint.get(endpoint)
        if label is None:
            label = next((getattr(route, "path_format", None) or UNMATCHED_ROUTE
                          for route in scope["app"].routes
                          if getattr(route, "endpoint", None) is endpoint), UNMATCHED_ROUTE)
            self._route_of_endpoint[endpoint] = label
        return label


class _SnapshotCollector:
    """Read at scrape time, so the age is always current."""

    def __init__(self, store: SnapshotStore):
        self.store = store

    def collect(self):
        snapshot = self.store.current
        age = GaugeMetricFamily("sqlrec_snapshot_age_seconds",
                                "Seconds since the build of the served snapshot")
        loaded = GaugeMetricFamily("sqlrec_snapshot_loaded_timestamp_seconds",
                                   "When the served snapshot was loaded (Unix time)")
        rows = GaugeMetricFamily("sqlrec_snapshot_rows", "Rows of each table in the snapshot",
                                 labels=["table"])
        if snapshot is not None:
            age.add_metric([], time.time() - snapshot.info.built_at.timestamp())
            loaded.add_metric([], snapshot.info.loaded_at.timestamp())
            for table, count in snapshot.info.row_counts.items():
                rows.add_metric([table], count)
        reloads = CounterMetricFamily("sqlrec_snapshot_reloads", "Snapshot loads by outcome",
                                      labels=["outcome"])
        for outcome, count in self.store.reloads.items():
            reloads.add_metric([outcome], count)
        yield from (age, loaded, rows, reloads)


class MetricsMiddleware:
    def __init__(self, app, metrics: ServiceMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self.metrics.observe(scope["method"], self.metrics.route_label(scope), status,
                                 time.perf_counter() - started)
