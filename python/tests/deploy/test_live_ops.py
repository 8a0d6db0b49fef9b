"""The load test and the dashboard, run for real on this machine against `sqlrec serve` started
as a process on the small lake's refreshed database (`small_lake_refreshed`, copied):

- the locustfile of deploy/k8s/loadtest, headless, with the command docs/service.md shows: no
  failures, every request the locustfile names made, each one counted by the service's /metrics;
- a real Prometheus (`prometheus_local`: on PATH, or Debian's package fetched without root;
  skipped loudly where neither works) scraping the service, which evaluates every PromQL
  expression of the Grafana dashboard, its variables resolved as Grafana resolves them: each
  must return a series with a number.

No kubelet runs here, so the cAdvisor panels read a stand-in scrape target that serves the
kubelet's /metrics/cadvisor names and labels for the pod (`CADVISOR_EXPOSITION`): it checks
their PromQL against that format, not a cluster's numbers.
"""

from __future__ import annotations

import ast
import csv
import importlib.util
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from doc_pages import shell_block
from helpers import copy_database, free_port, serving, skip_loudly
from prometheus_local import PrometheusUnavailable, find_prometheus

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
LOCUSTFILE = REPO / "deploy" / "k8s" / "loadtest" / "locustfile.py"
DASHBOARD = REPO / "deploy" / "grafana" / "sqlrec-service.json"
LOOKUP_ROUTES = {"/items/{item_id}/similar", "/users/{user_id}/recommendations"}
# what Kubernetes discovery would attach to the service's series (docs/deployment.md)
NAMESPACE = yaml.safe_load((REPO / "deploy" / "k8s" / "namespace.yaml").read_text())[
    "metadata"]["name"]
POD = "sqlrec-7c9d5b6f4-x2kq8"


@pytest.fixture(scope="module")
def served(small_lake_refreshed, tmp_path_factory):
    """`sqlrec serve` on a copy of the small lake's refresh: its URL and database."""
    database = copy_database(small_lake_refreshed,
                             tmp_path_factory.mktemp("live-ops") / "sqlrec.duckdb")
    with serving(database, RELOAD_INTERVAL_S="0") as (base, _server):
        yield base, database


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def lookups_counted(base: str) -> int:
    """Requests to the lookup routes that the service's /metrics has counted."""
    _status, scrape = get(base + "/metrics")
    return sum(int(sample.value) for family in text_string_to_metric_families(scrape.decode())
               for sample in family.samples
               if sample.name == "sqlrec_http_requests_total"
               and sample.labels["route"] in LOOKUP_ROUTES)


def first_ids(database: Path, column: str, table: str, limit: int) -> list[str]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return [value for (value,) in connection.sql(
            f"select distinct {column} from {table} order by {column} limit {limit}").fetchall()]


# ---------------------------------------------------------------- Locust

def locust_request_names() -> set[str]:
    """The `name=` of every request the locustfile makes (what its stats are grouped by)."""
    return {keyword.value.value for node in ast.walk(ast.parse(LOCUSTFILE.read_text()))
            if isinstance(node, ast.Call) for keyword in node.keywords
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant)}


def documented_locust_command() -> list[str]:
    """The local load test as docs/service.md shows it."""
    block = shell_block("docs/service.md", "Load-testing it locally")
    (line,) = [line for line in block.splitlines() if line.startswith("locust ")]
    return shlex.split(line.split("#")[0])


def test_the_locustfile_runs_headless_against_sqlrec_serve_without_failures(served, tmp_path):
    base, database = served
    assert importlib.util.find_spec("locust"), "locust is in the dev extra: pip install -e '.[dev]'"
    users = tmp_path / "users.txt"
    # known users (the docstring's `select distinct user_id from user_recommendations`) and,
    # without an items file, items discovered through the service: every request it names
    users.write_text("\n".join(first_ids(database, "user_id", "user_recommendations", 200)))
    command = documented_locust_command()
    assert command[:3] == ["locust", "-f", "deploy/k8s/loadtest/locustfile.py"]
    assert "--headless" in command
    report = tmp_path / "locust"
    # the page's command with its host, run time and report moved here (the last option wins);
    # the JSON report is written after the users stop, the CSV every second until then
    arguments = [*command[1:], "--host", base, "--run-time", "8s", "--csv", str(report),
                 "--json-file", str(report), "--loglevel", "WARNING"]
    counted_before = lookups_counted(base)
    run = subprocess.run([sys.executable, "-m", "locust", *arguments], cwd=REPO,
                         env={**os.environ, "SQLREC_LOCUST_USERS": str(users)},
                         capture_output=True, text=True, timeout=90)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output  # locust exits 1 on any failure

    stats = {entry["name"]: entry for entry in json.loads(Path(f"{report}.json").read_text())}
    assert set(stats) == locust_request_names(), output
    for name, entry in stats.items():
        assert entry["method"] == "GET" and entry["num_requests"] > 0, (name, entry)
        assert entry["num_failures"] == 0, (name, entry)
    with open(f"{report}_failures.csv", newline="") as failures:
        assert list(csv.DictReader(failures)) == []
    # every request locust made reached a lookup route and was counted there; the service may
    # have answered one more per user, cut off by the end of the run before locust recorded it
    made = sum(entry["num_requests"] for entry in stats.values())
    users_run = int(arguments[arguments.index("--users") + 1])
    assert 0 <= lookups_counted(base) - counted_before - made <= users_run


# ---------------------------------------------------------------- Prometheus and the dashboard

# The kubelet's cAdvisor exposition (/metrics/cadvisor) for the pod: its metric names and the
# labels it puts on a container's series (`container`, `pod`, `namespace`, `id`, `image`,
# `name`), the pod's sandbox (`container=""`, which a `container="sqlrec"` matcher must leave
# out), and a container of another namespace. Counters grow with time, as a CPU's do.
CADVISOR_CONTAINERS = [
    {"container": "sqlrec", "namespace": NAMESPACE, "pod": POD,
     "id": f"/kubepods/burstable/pod0f1e/{'a' * 64}", "image": "registry.example.com/sqlrec:0.1.0",
     "name": "a" * 64},
    {"container": "", "namespace": NAMESPACE, "pod": POD, "id": "/kubepods/burstable/pod0f1e",
     "image": "", "name": ""},
    {"container": "coredns", "namespace": "kube-system", "pod": "coredns-5d78c9869d-7xk2p",
     "id": f"/kubepods/burstable/pod9c3b/{'b' * 64}", "image": "registry.k8s.io/coredns:v1.11.1",
     "name": "b" * 64},
]


def cadvisor_exposition(elapsed_s: float) -> str:
    lines = []
    metrics = [("container_cpu_usage_seconds_total", "counter", 0.4 * elapsed_s, {"cpu": "total"}),
               ("container_memory_working_set_bytes", "gauge", 1.5 * 2**30, {}),
               ("container_cpu_cfs_periods_total", "counter", 10 * elapsed_s, {}),
               ("container_cpu_cfs_throttled_periods_total", "counter", elapsed_s, {})]
    for name, kind, value, extra in metrics:
        lines.append(f"# TYPE {name} {kind}")
        for labels in CADVISOR_CONTAINERS:
            text = ",".join(f'{key}="{val}"' for key, val in sorted({**labels, **extra}.items()))
            lines.append(f"{name}{{{text}}} {value}")
    return "\n".join(lines) + "\n"


class StandInKubelet:
    """An HTTP server answering /metrics/cadvisor with `cadvisor_exposition`."""

    def __init__(self):
        started = time.monotonic()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = cadvisor_exposition(time.monotonic() - started).encode()
                self.send_response(200 if self.path == "/metrics/cadvisor" else 404)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()


def prometheus_config(service: str, kubelet: str) -> dict:
    """Scrapes every second: the service with the target labels a `kubernetes-pods` job
    attaches, and the kubelet's cAdvisor with its own labels kept (`honor_labels`, as
    kube-prometheus-stack's kubelet job does)."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {"job_name": "kubernetes-pods", "metrics_path": "/metrics",
             "static_configs": [{"targets": [service],
                                 "labels": {"namespace": NAMESPACE, "pod": POD}}]},
            {"job_name": "kubelet-cadvisor", "metrics_path": "/metrics/cadvisor",
             "honor_labels": True, "static_configs": [{"targets": [kubelet]}]},
        ],
    }


class Prometheus:
    def __init__(self, url: str):
        self.url = url

    def api(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode(params, doseq=True)
        status, body = get(f"{self.url}/api/v1/{path}?{query}")
        answer = json.loads(body)
        assert status == 200 and answer["status"] == "success", (path, params, answer)
        return answer["data"]

    def query(self, expression: str) -> list[dict]:
        return self.api("query", query=expression)["result"]

    def scalar(self, expression: str) -> float:
        result = self.query(expression)
        return float(result[0]["value"][1]) if result else math.nan


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def prometheus_binary(request) -> Path:
    try:
        return find_prometheus()
    except PrometheusUnavailable as error:
        skip_loudly(request, f"no Prometheus ({error}): the dashboard's PromQL was SKIPPED -- "
                    "UNTESTED against a Prometheus in this run")


@pytest.fixture
def prometheus(prometheus_binary, served, tmp_path):
    """A Prometheus scraping the service and the stand-in kubelet, once both are up."""
    base, _database = served
    with StandInKubelet() as kubelet:
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(urllib.parse.urlsplit(base).netloc,
                                                           kubelet.address)))
        url = f"http://127.0.0.1:{free_port()}"
        log = tmp_path / "prometheus.log"
        with open(log, "w") as output:
            process = subprocess.Popen(
                [str(prometheus_binary), f"--config.file={config}",
                 f"--storage.tsdb.path={tmp_path / 'data'}",
                 f"--web.listen-address={urllib.parse.urlsplit(url).netloc}"],
                stdout=output, stderr=subprocess.STDOUT)
        try:
            server = Prometheus(url)

            def ready() -> bool:
                assert process.poll() is None, log.read_text()
                try:
                    return get(url + "/-/ready")[0] == 200
                except OSError:  # not listening yet
                    return False

            wait_for(ready, "Prometheus to start")
            wait_for(lambda: server.scalar("sum(up)") == 2, "both targets to be up")
            yield server
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)
            assert process.poll() is not None


def resolved_variables(server: Prometheus, board: dict) -> dict[str, str]:
    """Each variable as Grafana sets it on opening the dashboard: a `label_values(selector,
    label)` query asks Prometheus for the label's values on the selector's series (Grafana calls
    the same API), and takes the first, or the `allValue` where "All" is offered."""
    values: dict[str, str] = {}
    for variable in board["templating"]["list"]:
        if variable["type"] != "query":
            continue
        found = re.fullmatch(r"label_values\((.+),\s*([A-Za-z_]+)\)", variable["query"]["query"])
        assert found, variable["query"]
        selector = substituted(found.group(1), values)
        options = server.api(f"label/{found.group(2)}/values", **{"match[]": selector})
        assert options, f"variable {variable['name']}: no values for {variable['query']}"
        values[variable["name"]] = (variable["allValue"] if variable.get("includeAll")
                                    else sorted(options)[0])
    return values


def substituted(expression: str, variables: dict[str, str]) -> str:
    # Grafana's $__rate_interval is at least four scrape intervals; 30s here holds every
    # scrape of this short run (Prometheus started seconds ago), so a rate has all its samples
    expression = expression.replace("$__rate_interval", "30s")
    for name, value in variables.items():
        expression = expression.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return expression


def test_every_dashboard_expression_returns_series_from_a_real_prometheus(served, prometheus):
    base, database = served
    item = first_ids(database, "item_id", "item_similarity", 1)[0]
    user = first_ids(database, "user_id", "user_recommendations", 1)[0]
    paths = [f"/items/{urllib.parse.quote(item, safe='')}/similar?k=5",
             f"/users/{urllib.parse.quote(user, safe='')}/recommendations?k=5",
             f"/users/{urllib.parse.quote(user, safe='')}/recommendations?recent_items={item}",
             "/users/someone-new/recommendations", "/healthz"]
    lookups = 'sum(sqlrec_http_requests_total{route=~"/items/.*|/users/.*"})'
    # Two rounds, each seen by a scrape: a series' first sample is where a rate starts from, so
    # the lookups' rates are above 0 only once a second round has been scraped. One unknown item
    # per round gives the 4xx share something to count.
    for round_number in (1, 2):
        for path in paths:
            assert get(base + path)[0] == 200, path
        assert get(base + "/items/no-such-item/similar")[0] == 404
        counted = lookups_counted(base)
        wait_for(lambda counted=counted: prometheus.scalar(lookups) >= counted,
                 f"Prometheus to scrape round {round_number}")

    board = json.loads(DASHBOARD.read_text())
    variables = resolved_variables(prometheus, board)
    assert variables["namespace"] == NAMESPACE
    routes = prometheus.api("label/route/values", **{
        "match[]": f'sqlrec_http_request_duration_seconds_count{{namespace="{NAMESPACE}"}}'})
    assert LOOKUP_ROUTES <= set(routes)

    problems = []
    answers: dict[tuple[str, str], dict[str, float]] = {}
    targets = [(panel["title"], target) for panel in board["panels"]
               for target in panel.get("targets", [])]
    assert len(targets) >= 15
    for title, target in targets:
        expression = substituted(target["expr"], variables)
        assert "$" not in expression, f"{title}: a variable is left in {expression}"
        result = prometheus.query(expression)
        numbers = [float(series["value"][1]) for series in result]
        if not any(math.isfinite(number) for number in numbers):
            problems.append(f"{title}: {expression} -> {numbers or 'no series'}")
        answers[title, target["refId"]] = {
            ",".join(series["metric"].values()): float(series["value"][1]) for series in result}
    assert not problems, "\n".join(problems)

    # and a few answers checked against what they must be
    assert answers["Server errors (5xx)", "A"] == {"": 0.0}  # the service answers no 5xx
    assert answers["Error rate", "A"] == {"": 0.0}
    assert 0 < answers["Error rate", "B"][""] < 1  # the unknown items
    assert answers["Lookups per second", "A"][""] > 0
    assert answers["Pods serving a snapshot", "A"] == {"": 1.0}
    with duckdb.connect(str(database), read_only=True) as connection:
        rows = {table: connection.sql(f"select count(*) from {table}").fetchall()[0][0]
                for table in answers["Rows in the snapshot by table", "A"]}
    assert answers["Rows in the snapshot by table", "A"] == rows
    assert set(rows) == {"item_similarity", "user_recommendations", "popular_items",
                         "user_recent_items", "int_items_enriched"}
    # the sqlrec container of the pod only: its sandbox's series would double the memory
    assert answers["Memory (working set) by pod", "A"] == {POD: 1.5 * 2**30}
    # a rate over a window longer than the series has lived divides by the whole window, so
    # only a ratio of two rates has its true value this early: throttled / all periods
    assert set(answers["CPU by pod", "A"]) == {POD} and answers["CPU by pod", "A"][POD] > 0
    assert answers["CPU throttling by pod", "A"] == {POD: pytest.approx(0.1, rel=0.05)}
