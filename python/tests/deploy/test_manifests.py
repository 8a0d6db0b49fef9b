"""The deployment files (deploy/, docker/), checked without a cluster or a Docker engine.

Every manifest goes through the Kubernetes client's typed model of its kind and back: a field
that the API would not know is dropped on the way, so a misspelt or misplaced field makes the
round trip differ. The wiring between the manifests (labels, selectors, ports, names) is checked
the way the API server and kube-proxy resolve it; the probes and the dashboard are checked
against the service itself, started here.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import shlex
import signal
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import kubernetes.client
import pyarrow as pa
import pytest
import yaml
from fastapi.testclient import TestClient
from kubernetes.client import ApiClient
from packaging.requirements import Requirement
from prometheus_client.parser import text_string_to_metric_families

from sqlrec import cli
from sqlrec.config import Settings
from sqlrec.service.app import create_app
from sqlrec.service.reloading import BuildState, SnapshotStore
from sqlrec.service.snapshot import TABLE_COLUMNS, build_snapshot
from sqlrec.warehouse.duckdb import DuckDBWarehouse
from sqlrec.warehouse.markers import FINISHED, marker_file, new_marker, write_marker_file

from helpers import serving

REPO = Path(__file__).resolve().parents[3]
K8S = REPO / "deploy" / "k8s"
LOADTEST = K8S / "loadtest"
GRAFANA = REPO / "deploy" / "grafana"
DOCKERFILE = REPO / "docker" / "Dockerfile"
KUSTOMIZATIONS = [K8S, LOADTEST, GRAFANA]
ADMIN_TOKEN = "deploy-test-token"

# The standard cAdvisor metrics (the kubelet's /metrics/cadvisor) that the dashboard may use,
# and their labels; everything else it queries must be in a scrape of the service.
CADVISOR_METRICS = {
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
    "container_cpu_cfs_throttled_periods_total",
    "container_cpu_cfs_periods_total",
}
CADVISOR_LABELS = {"namespace", "pod", "container", "cpu", "id", "image", "name"}
# Attached by Prometheus' Kubernetes discovery to every series it scrapes from a pod
# (docs/deployment.md asks for them), so never in the service's own /metrics.
TARGET_LABELS = {"namespace", "pod"}


# ---------------------------------------------------------------- reading the files

def documents(path: Path) -> list[dict]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def manifest_files() -> list[Path]:
    return sorted(path for folder in (K8S, LOADTEST) for path in folder.glob("*.yaml")
                  if path.name != "kustomization.yaml")


def kustomization(folder: Path) -> dict:
    return yaml.safe_load((folder / "kustomization.yaml").read_text())


def objects(folder: Path) -> list[dict]:
    """The objects a kustomization applies (its resources; generated ConfigMaps apart)."""
    return [document for name in kustomization(folder).get("resources", [])
            for document in documents(folder / name)]


def one(folder: Path, kind: str, name: str) -> dict:
    found = [item for item in objects(folder)
             if item["kind"] == kind and item["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in {folder}: {len(found)}"
    return found[0]


def deployments() -> list[dict]:
    return [item for folder in (K8S, LOADTEST) for item in objects(folder)
            if item["kind"] == "Deployment"]


def container(deployment: dict) -> dict:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def env_of(deployment: dict) -> dict[str, str]:
    """The container's literal env values and those of the ConfigMaps it reads (envFrom and
    configMapKeyRef), resolved as the kubelet does."""
    folder = K8S if deployment["metadata"]["name"] == "sqlrec" else LOADTEST
    spec = container(deployment)
    values: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        if "configMapRef" in source:
            values.update(one(folder, "ConfigMap", source["configMapRef"]["name"])["data"])
    for variable in spec.get("env", []):
        if "value" in variable:
            values[variable["name"]] = variable["value"]
        elif "configMapKeyRef" in variable.get("valueFrom", {}):
            reference = variable["valueFrom"]["configMapKeyRef"]
            values[variable["name"]] = one(folder, "ConfigMap", reference["name"])["data"][
                reference["key"]]
    return values


def model_name(document: dict) -> str:
    """The client's class for a kind: apps/v1 Deployment -> V1Deployment."""
    version = document["apiVersion"].rsplit("/", 1)[-1]
    return version[0].upper() + version[1:] + document["kind"]


def round_trip(document: dict) -> dict:
    client = ApiClient()
    text = json.dumps(document)
    try:  # kubernetes >= 31: the response's text
        typed = client.deserialize(text, model_name(document), "application/json")
    except TypeError:  # kubernetes < 31, which kfp 2.17 (sqlrec[kubeflow]) needs: a response
        typed = client.deserialize(SimpleNamespace(data=text), model_name(document))
    return client.sanitize_for_serialization(typed)


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def pod_labels(deployment: dict) -> dict[str, str]:
    return deployment["spec"]["template"]["metadata"]["labels"]


def resolve_port(port: int | str, deployment: dict) -> int:
    """A Service targetPort or probe port (a number or a container port's name) as a number."""
    ports = {item["name"]: item["containerPort"] for item in container(deployment)["ports"]}
    if isinstance(port, int):
        assert port in ports.values(), f"no container port {port}"
        return port
    assert port in ports, f"no container port named {port!r}"
    return ports[port]


# ---------------------------------------------------------------- a tiny snapshot

def tiny_tables() -> dict[str, pa.Table]:
    """The five tables the service reads: three items, one known user."""
    tables = {
        "int_items_enriched": pa.table({
            "item_id": ["i_1", "i_2", "i_3"], "category": ["sneakers", "tech", None],
            "is_available": [True, True, False]}),
        "item_similarity": pa.table({
            "item_id": ["i_1", "i_1", "i_2"], "similar_item_id": ["i_2", "i_3", "i_1"],
            "score": [0.9, 0.5, 0.9], "rank": [1, 2, 1], "common_users": [5, 3, 5]}),
        "user_recommendations": pa.table({
            "user_id": ["u_1", "u_1"], "item_id": ["i_2", "i_3"], "score": [1.2, 0.4],
            "rank": [1, 2], "source": ["als", "item_similarity"],
            "because_item_id": ["i_1", "i_1"]}),
        "popular_items": pa.table({
            "scope": ["global", "global", "category"], "category": [None, None, "sneakers"],
            "item_id": ["i_1", "i_2", "i_1"], "score": [10.0, 8.0, 10.0], "rank": [1, 2, 1]}),
        "user_recent_items": pa.table({
            "user_id": ["u_1"], "item_id": ["i_1"], "recency_rank": [1]}),
    }
    assert {name: table.column_names for name, table in tables.items()} == TABLE_COLUMNS
    return tables


class TinySource:
    """The tiny tables as a warehouse that can be made to fail."""

    target = "trino"

    def __init__(self):
        self.failing = False
        self.builds = 0

    def build_state(self) -> BuildState:
        return BuildState(version=f"v{self.builds}", built_at=dt.datetime.now(dt.UTC),
                          signature=self.builds, finished=True, writer_active=False)

    def load(self, state: BuildState):
        if self.failing:
            raise ConnectionError("the warehouse is unreachable")
        return build_snapshot(tiny_tables(), version=state.version, built_at=state.built_at,
                              signature=state.signature)


def app_routes(app) -> dict[str, set[str]]:
    """Every path of the app with its methods: the API's from its OpenAPI schema (FastAPI keeps
    included routers apart from `app.routes`), and the documentation's own routes."""
    routes = {path: {method.upper() for method in operations}
              for path, operations in app.openapi()["paths"].items()}
    for route in app.routes:
        if getattr(route, "methods", None):
            # "/{item_id:any}/similar" is the route "/{item_id}/similar" with a path convertor
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            routes.setdefault(path, set()).update(route.methods)
    return routes


# ---------------------------------------------------------------- 1. the typed round trip

@pytest.mark.parametrize("path", manifest_files(), ids=lambda path: str(path.relative_to(K8S)))
def test_every_manifest_survives_the_typed_round_trip(path):
    for document in documents(path):
        assert hasattr(kubernetes.client, model_name(document)), model_name(document)
        assert round_trip(document) == document


def test_the_round_trip_catches_what_the_api_would_drop_or_refuse():
    deployment = one(K8S, "Deployment", "sqlrec")
    assert round_trip(deployment) == deployment

    def mutated(change) -> dict:
        copied = copy.deepcopy(deployment)
        change(copied)
        return copied

    def misspell_probe(item):
        spec = container(item)
        spec["readinesProbe"] = spec.pop("readinessProbe")

    def misplace_port(item):  # a container field one level too high
        item["spec"]["template"]["spec"]["ports"] = container(item)["ports"]

    def misspell_security(item):
        container(item)["securityContext"]["readOnlyRootFileSystem"] = True
        del container(item)["securityContext"]["readOnlyRootFilesystem"]

    def quote_number(item):
        container(item)["ports"][0]["containerPort"] = "8000"

    for change in (misspell_probe, misplace_port, misspell_security, quote_number):
        broken = mutated(change)
        try:
            assert round_trip(broken) != broken, change.__name__
        except ValueError:  # the typed model refused it outright: as good
            pass


# ---------------------------------------------------------------- 2. kustomizations

@pytest.mark.parametrize("folder", KUSTOMIZATIONS, ids=lambda folder: folder.name)
def test_kustomization_lists_every_manifest_and_only_those(folder):
    config = kustomization(folder)
    assert config["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert config["kind"] == "Kustomization"
    listed = config.get("resources", [])
    assert len(listed) == len(set(listed))
    # secret.example.yaml is documentation: a Secret with real values is never committed
    present = {path.name for path in folder.glob("*.yaml")
               if path.name != "kustomization.yaml" and not path.name.endswith(".example.yaml")}
    assert set(listed) == present
    for generator in config.get("configMapGenerator", []):
        for entry in generator["files"]:
            source = (folder / entry.split("=", 1)[-1]).resolve()
            assert source.is_file(), source


def test_the_load_test_and_the_service_share_a_namespace_and_the_base_makes_it():
    namespace = kustomization(K8S)["namespace"]
    assert kustomization(LOADTEST)["namespace"] == namespace
    assert one(K8S, "Namespace", namespace)
    # the restricted Pod Security Standard it enforces holds for every pod (see below)
    assert one(K8S, "Namespace", namespace)["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"


def test_the_kustomization_image_is_the_one_the_dockerfile_documents():
    deployment = one(K8S, "Deployment", "sqlrec")
    name, tag = container(deployment)["image"].split(":")
    image = {entry["name"]: entry for entry in kustomization(K8S)["images"]}[name]
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert tag == image["newTag"] == version
    assert f"docker build -f docker/Dockerfile -t {name}:{tag} ." in DOCKERFILE.read_text()


# ---------------------------------------------------------------- 3. labels, selectors, ports

def test_each_deployment_selects_its_own_pods():
    every = deployments()
    for deployment in every:
        selector = deployment["spec"]["selector"]["matchLabels"]
        assert selects(selector, pod_labels(deployment)), deployment["metadata"]["name"]
        others = [other for other in every if other is not deployment]
        assert not any(selects(selector, pod_labels(other)) for other in others)


@pytest.mark.parametrize("folder, name, deployment_name", [
    (K8S, "sqlrec", "sqlrec"), (LOADTEST, "locust-master", "locust-master")])
def test_service_selects_one_deployment_and_targets_its_container_port(folder, name,
                                                                       deployment_name):
    service = one(folder, "Service", name)
    selected = [item["metadata"]["name"] for item in deployments()
                if selects(service["spec"]["selector"], pod_labels(item))]
    assert selected == [deployment_name]
    deployment = one(folder, "Deployment", deployment_name)
    for port in service["spec"]["ports"]:
        resolve_port(port["targetPort"], deployment)


def test_the_service_port_is_the_one_the_service_listens_on_and_prometheus_scrapes():
    deployment = one(K8S, "Deployment", "sqlrec")
    port = resolve_port(one(K8S, "Service", "sqlrec")["spec"]["ports"][0]["targetPort"],
                        deployment)
    settings = env_of(deployment)
    assert int(settings["SQLREC_PORT"]) == port
    assert settings["SQLREC_HOST"] == "0.0.0.0"  # reachable from the Service, not loopback
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == port
    assert "GET" in app_routes(create_app(Settings()))[annotations["prometheus.io/path"]]


def test_hpa_scales_the_deployment_on_80_percent_cpu():
    hpa = one(K8S, "HorizontalPodAutoscaler", "sqlrec")
    deployment = one(K8S, "Deployment", "sqlrec")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["apiVersion"], target["kind"], target["name"]) == (
        deployment["apiVersion"], deployment["kind"], deployment["metadata"]["name"])
    assert hpa["spec"]["metrics"] == [{"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    assert 2 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    # utilisation is of the request, so the request must be there; and `replicas` must not
    # be, or each `kubectl apply` would undo the autoscaler's choice
    resources = container(deployment)["resources"]
    assert resources["requests"]["cpu"] and resources["limits"]["cpu"]
    assert resources["requests"]["memory"] and resources["limits"]["memory"]
    assert "replicas" not in deployment["spec"]


def test_pdb_covers_the_service_pods_and_leaves_one_serving():
    pdb = one(K8S, "PodDisruptionBudget", "sqlrec")
    deployment = one(K8S, "Deployment", "sqlrec")
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels(deployment))
    assert pdb["spec"]["maxUnavailable"] < one(
        K8S, "HorizontalPodAutoscaler", "sqlrec")["spec"]["minReplicas"]
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


# ---------------------------------------------------------------- 4. probes and shutdown

def test_probes_hit_get_routes_of_the_app_on_the_http_port():
    deployment = one(K8S, "Deployment", "sqlrec")
    spec = container(deployment)
    routes = app_routes(create_app(Settings(), store=SnapshotStore(TinySource())))
    probes = {kind: spec[kind]["httpGet"] for kind in
              ("startupProbe", "livenessProbe", "readinessProbe")}
    for probe in probes.values():
        assert "GET" in routes[probe["path"]]
        assert resolve_port(probe["port"], deployment) == int(env_of(deployment)["SQLREC_PORT"])
    assert probes["readinessProbe"]["path"] == "/healthz"
    assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/livez"


def test_liveness_holds_through_a_failed_reload_while_readiness_waits_for_a_snapshot():
    source = TinySource()
    source.failing = True
    store = SnapshotStore(source, interval_s=0)
    with TestClient(create_app(Settings(reload_interval_s=0), store=store)) as client:
        # started, the first load failed: alive, not ready
        assert client.get("/livez").status_code == 200
        assert client.get("/livez").json() == {"status": "alive"}
        assert client.get("/healthz").status_code == 503
        source.failing = False
        store.reload()
        assert client.get("/healthz").status_code == 200
        assert client.get("/healthz").json()["status"] == "ok"
        source.failing, source.builds = True, 1
        assert not store.reload_quietly()
        # the old snapshot still serves: ready (degraded) and alive, so no restart
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["status"] == "degraded"
        assert client.get("/livez").json() == {"status": "alive"}
        assert client.get("/items/i_1/similar").status_code == 200


def test_livez_is_in_the_openapi_schema_and_never_reads_the_snapshot():
    app = create_app(Settings(), store=SnapshotStore(TinySource()))
    with TestClient(app) as client:
        app.state.store.current = None  # as if nothing had ever loaded
        assert client.get("/livez").json() == {"status": "alive"}
        assert "/livez" in client.get("/openapi.json").json()["paths"]


def test_shutdown_drains_within_the_termination_grace_period():
    deployment = one(K8S, "Deployment", "sqlrec")
    pod = deployment["spec"]["template"]["spec"]
    pause = container(deployment)["lifecycle"]["preStop"]["exec"]["command"]
    assert pause[0] == "sleep"
    draining = int(env_of(deployment)["SQLREC_GRACEFUL_SHUTDOWN_S"])
    assert Settings(graceful_shutdown_s=draining).graceful_shutdown_s == draining
    poller_stop = 30  # SnapshotStore.stop_polling waits this long for a load under way
    assert int(pause[1]) + draining + poller_stop <= pod["terminationGracePeriodSeconds"]


def test_sqlrec_serve_hands_the_graceful_shutdown_timeout_to_uvicorn(monkeypatch):
    import uvicorn

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))
    monkeypatch.setenv("SQLREC_GRACEFUL_SHUTDOWN_S", "7")
    assert cli.main(["serve", "--port", "8123"]) == 0
    assert calls[0]["timeout_graceful_shutdown"] == 7 and calls[0]["port"] == 8123


# ---------------------------------------------------------------- 5. security

@pytest.mark.parametrize("deployment", deployments(), ids=lambda item: item["metadata"]["name"])
def test_pods_run_non_root_on_a_read_only_root_with_writable_tmp(deployment):
    pod = deployment["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0  # a number: runAsNonRoot checks it
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    assert pod["automountServiceAccountToken"] is False
    spec = container(deployment)
    assert spec["securityContext"] == {"allowPrivilegeEscalation": False,
                                       "readOnlyRootFilesystem": True,
                                       "capabilities": {"drop": ["ALL"]}}
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    writable = {mount["mountPath"] for mount in spec["volumeMounts"]
                if mount["name"] in empty_dirs}
    assert "/tmp" in writable
    if deployment["metadata"]["name"] == "sqlrec":
        # dbt writes target/ and logs/ in the project, which the image puts at /app
        project = dockerfile_env()["SQLREC_PROJECT_DIR"]
        assert {f"{project}/target", f"{project}/logs"} <= writable
        assert str(pod["securityContext"]["runAsUser"]) == dockerfile_user()


# ---------------------------------------------------------------- 6. settings and secrets

def profile_variables() -> set[str]:
    profile = (REPO / "profiles" / "profiles.yml").read_text()
    return set(re.findall(r"env_var\('([A-Z0-9_]+)'", profile))


def test_every_configmap_setting_is_read_by_the_service_or_the_dbt_profile(monkeypatch):
    settings = one(K8S, "ConfigMap", "sqlrec-config")["data"]
    service = {f"SQLREC_{name.upper()}" for name in Settings.model_fields}
    assert set(settings) <= service | profile_variables()
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    parsed = Settings()
    assert (parsed.host, parsed.port) == ("0.0.0.0", int(settings["SQLREC_PORT"]))
    assert settings["SQLREC_TARGET"] == "trino"  # each replica loads from the warehouse


def test_the_configmap_and_secret_configure_the_profile_trino_target(monkeypatch):
    """dbt's own profile code renders the `trino` target from what the pod's env would hold."""
    from sqlrec.warehouse.profile import trino_credentials

    for name, value in env_of(one(K8S, "Deployment", "sqlrec")).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_ENV_SECRET_TRINO_JWT", "a.b.c")
    settings = one(K8S, "ConfigMap", "sqlrec-config")["data"]
    credentials = trino_credentials(settings["SQLREC_TARGET"])
    assert credentials.host == settings["SQLREC_TRINO_HOST"]
    assert credentials.port == int(settings["SQLREC_TRINO_PORT"])
    assert credentials.http_scheme.value == "https"
    assert credentials.method == "jwt" and credentials.jwt_token == "a.b.c"
    assert (credentials.database, credentials.schema) == (settings["SQLREC_TRINO_CATALOG"],
                                                          settings["SQLREC_TRINO_SCHEMA"])


def test_the_secret_holds_only_what_the_service_and_profile_read_and_the_pod_reads_it():
    secret = documents(K8S / "secret.example.yaml")[0]
    assert round_trip(secret) == secret
    keys = set(secret["stringData"])
    assert keys == {"SQLREC_ADMIN_TOKEN"} | {name for name in profile_variables()
                                             if name.startswith("DBT_ENV_SECRET_")}
    sources = container(one(K8S, "Deployment", "sqlrec"))["envFrom"]
    assert {"secretRef": {"name": secret["metadata"]["name"]}} in sources
    # no secret value in the ConfigMap
    assert not keys & set(one(K8S, "ConfigMap", "sqlrec-config")["data"])


# ---------------------------------------------------------------- 7. the image

def dockerfile_instructions() -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def dockerfile_env() -> dict[str, str]:
    values = {}
    for instruction, argument in dockerfile_instructions():
        if instruction == "ENV":
            values.update(item.split("=", 1) for item in shlex.split(argument))
    return values


def dockerfile_user() -> str:
    users = [argument for instruction, argument in dockerfile_instructions()
             if instruction == "USER"]
    return users[-1].split(":")[0]


def dockerignore_allows(path: str) -> bool:
    """For an ignore-everything-then-allow list: is `path` (or a folder above it) allowed?"""
    patterns = [line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    assert patterns[0] == "*"
    allowed = {pattern[1:].rstrip("/") for pattern in patterns if pattern.startswith("!")}
    parts = Path(path).parts
    return any("/".join(parts[:length]) in allowed for length in range(1, len(parts) + 1))


def test_dockerfile_copies_only_files_of_the_repository_that_the_context_keeps():
    copies = [shlex.split(argument) for instruction, argument in dockerfile_instructions()
              if instruction == "COPY"]
    sources = [path for *paths, _destination in copies if not paths[0].startswith("--from")
               for path in paths]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert dockerignore_allows(source), f"{source} is left out by .dockerignore"
    # the dbt project as dbt_project.yml names its folders
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    folders = [project[key][0] for key in ("model-paths", "macro-paths", "seed-paths",
                                           "test-paths", "analysis-paths")]
    assert set(folders) <= set(sources)


def test_dockerfile_base_is_a_pinned_slim_python_and_the_install_is_pinned():
    arguments = [argument for instruction, argument in dockerfile_instructions()
                 if instruction == "ARG" and argument.startswith("PYTHON_IMAGE=")]
    image = arguments[0].split("=", 1)[1]
    assert re.fullmatch(r"python:3\.1[12]\.\d+-slim(-[a-z]+)?", image), image
    runs = " ".join(argument for instruction, argument in dockerfile_instructions()
                    if instruction == "RUN")
    assert "--constraint docker/constraints.txt ." in runs


def test_constraints_pin_every_runtime_dependency_within_pyproject_ranges():
    pins = {}
    for line in (REPO / "docker" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        version = pins[re.sub(r"[-_.]+", "-", requirement.name).lower()]
        assert requirement.specifier.contains(version), (requirement, version)


def test_dockerfile_command_and_entrypoint_of_the_deployment_are_sqlrec_serve():
    command = json.loads(dict(dockerfile_instructions())["CMD"])
    assert command == container(one(K8S, "Deployment", "sqlrec"))["command"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    assert cli.build_parser().parse_args(command[1:]).func.__module__ == (
        "sqlrec.cli.serve")
    assert dockerfile_env()["SQLREC_HOST"] == "0.0.0.0"


def test_dockerfile_healthcheck_asks_a_route_of_the_app():
    healthcheck = dict(dockerfile_instructions())["HEALTHCHECK"]
    path = re.search(r"'(/[a-z]+)'", healthcheck).group(1)
    routes = app_routes(create_app(Settings(), store=SnapshotStore(TinySource())))
    assert "GET" in routes[path]
    # on the port the service listens on, as the image's environment sets it
    assert "os.environ.get('SQLREC_PORT'" in healthcheck
    assert dockerfile_env()["SQLREC_PORT"] == one(K8S, "ConfigMap", "sqlrec-config")["data"][
        "SQLREC_PORT"]


def test_the_image_finds_the_project_and_the_baked_profile():
    env = dockerfile_env()
    copies = {shlex.split(argument)[-1]: shlex.split(argument)[0]
              for instruction, argument in dockerfile_instructions() if instruction == "COPY"}
    # WORKDIR /app: `profiles.yml` lands in DBT_PROFILES_DIR, dbt_project.yml in the project
    assert env["DBT_PROFILES_DIR"] == env["SQLREC_PROJECT_DIR"] == "/app"
    assert copies["profiles.yml"] == "profiles/profiles.yml"
    assert "sqlrec:" in (REPO / "profiles" / "profiles.yml").read_text()


# ---------------------------------------------------------------- 8. Locust on the cluster

def test_locust_workers_find_the_master_and_the_master_finds_the_service():
    master = one(LOADTEST, "Deployment", "locust-master")
    worker = one(LOADTEST, "Deployment", "locust-worker")
    master_env, worker_env = env_of(master), env_of(worker)
    assert master_env["LOCUST_MODE_MASTER"] == "true" and "LOCUST_MODE_MASTER" not in worker_env
    assert worker_env["LOCUST_MODE_WORKER"] == "true" and "LOCUST_MODE_WORKER" not in master_env
    master_service = one(LOADTEST, "Service", worker_env["LOCUST_MASTER_NODE_HOST"])
    (port,) = master_service["spec"]["ports"]
    assert int(worker_env["LOCUST_MASTER_NODE_PORT"]) == port["port"]
    assert resolve_port(port["targetPort"], master) == int(master_env["LOCUST_MASTER_BIND_PORT"])
    assert master_env["LOCUST_HEADLESS"] == "true"
    assert int(master_env["LOCUST_EXPECT_WORKERS"]) == worker["spec"]["replicas"]
    assert int(master_env["LOCUST_USERS"]) > 0 and int(master_env["LOCUST_SPAWN_RATE"]) > 0
    assert re.fullmatch(r"(\d+[hms])+", master_env["LOCUST_RUN_TIME"])
    # the target: the sqlrec Service by its cluster DNS name, on its port
    target = urlsplit(master_env["LOCUST_HOST"])
    service_name, namespace, *suffix = target.hostname.split(".")
    service = one(K8S, "Service", service_name)
    assert namespace == kustomization(K8S)["namespace"] and suffix == ["svc", "cluster", "local"]
    assert (target.port or 80) == service["spec"]["ports"][0]["port"]


@pytest.mark.parametrize("name", ["locust-master", "locust-worker"])
def test_locust_pods_mount_the_repository_locustfile(name):
    deployment = one(LOADTEST, "Deployment", name)
    locustfile = Path(env_of(deployment)["LOCUST_LOCUSTFILE"])
    (generator,) = kustomization(LOADTEST)["configMapGenerator"]
    (entry,) = generator["files"]
    key, _, source = entry.rpartition("=")
    assert (LOADTEST / source).resolve() == REPO / "deploy" / "k8s" / "loadtest" / "locustfile.py"
    assert (key or source) == locustfile.name
    volumes = {volume["name"]: volume for volume in deployment["spec"]["template"]["spec"][
        "volumes"]}
    mounts = {mount["mountPath"]: mount["name"] for mount in container(deployment)["volumeMounts"]}
    assert volumes[mounts[str(locustfile.parent)]]["configMap"]["name"] == generator["name"]


# ---------------------------------------------------------------- 9. the Grafana dashboard

PROMQL_GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
PROMQL_KEYWORDS = PROMQL_GROUPING | {"bool", "and", "or", "unless", "offset"}
PROMQL_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]|[A-Za-z_:][A-Za-z0-9_:]*'
                          r"|\d+(?:\.\d+)?|\S")


def promql_series(expression: str) -> tuple[dict[str, set[str]], set[str]]:
    """The metric names an expression selects, each with the labels its matchers name, and
    the labels it groups by (by / without / on / ignoring / group_*)."""
    tokens = PROMQL_TOKEN.findall(expression)
    metrics: dict[str, set[str]] = {}
    grouping: set[str] = set()
    position = 0
    while position < len(tokens):
        token = tokens[position]
        following = tokens[position + 1] if position + 1 < len(tokens) else ""
        if token in PROMQL_GROUPING and following == "(":
            end = tokens.index(")", position)
            grouping |= {label for label in tokens[position + 2:end] if label != ","}
            position = end
        elif re.fullmatch(r"[A-Za-z_:][A-Za-z0-9_:]*", token) and token not in PROMQL_KEYWORDS \
                and following != "(" and following not in PROMQL_GROUPING:  # not `sum by (`
            labels = metrics.setdefault(token, set())
            if following.startswith("{"):
                labels |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)",
                                         following))
        position += 1
    return metrics, grouping


def dashboard() -> dict:
    return json.loads((GRAFANA / "sqlrec-service.json").read_text())


def dashboard_panels() -> list[dict]:
    return [panel for panel in dashboard()["panels"] if panel["type"] != "row"]


def dashboard_queries() -> list[tuple[str, set[str]]]:
    """Each PromQL expression with the extra labels that a `label_values` wrapper asks for."""
    queries = [(target["expr"], set()) for panel in dashboard_panels()
               for target in panel["targets"]]
    for variable in dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            found = re.fullmatch(r"label_values\((.+),\s*([A-Za-z_]+)\)",
                                 variable["query"]["query"])
            queries.append((found.group(1), {found.group(2)}))
    return queries


def test_promql_reading_finds_metrics_matchers_and_grouping():
    metrics, grouping = promql_series(
        'histogram_quantile(0.99, sum by (le, route) (rate(a_bucket{namespace="$namespace", '
        'route=~"/x/{id}"}[$__rate_interval]))) / ignoring(route) group_left b_total '
        'and time() - c')
    assert metrics == {"a_bucket": {"namespace", "route"}, "b_total": set(), "c": set()}
    assert grouping == {"le", "route"}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`sqlrec serve` started as a process, on a DuckDB file holding the tiny tables."""
    folder = tmp_path_factory.mktemp("served")
    database = folder / "sqlrec.duckdb"
    for name, table in tiny_tables().items():
        DuckDBWarehouse(database).write_table(name, table)
    # the service serves only a finished build: the marker a finished `dbt build` leaves
    write_marker_file(marker_file(database, FINISHED), new_marker(FINISHED, "build", "duckdb"))
    with serving(database, RELOAD_INTERVAL_S="0", ADMIN_TOKEN=ADMIN_TOKEN, LOG_LEVEL="info",
                 GRACEFUL_SHUTDOWN_S="3") as (base, server):
        yield base, server


def request(url: str, method: str = "GET") -> int:
    call = urllib.request.Request(url, method=method,
                                  headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    try:
        with urllib.request.urlopen(call, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_every_dashboard_metric_is_in_a_scrape_of_the_started_service(served):
    base, _server = served
    # one request per route of the app (ids the tiny tables hold), and one that matches none,
    # so that every labelled series exists
    app = create_app(Settings(admin_token=ADMIN_TOKEN), store=SnapshotStore(TinySource()))
    ids = {"item_id": "i_1", "user_id": "u_1"}
    routes = app_routes(app)
    assert {"/livez", "/healthz", "/metrics", "/admin/reload"} <= set(routes)
    for path, methods in routes.items():
        for method in methods - {"HEAD"}:
            assert request(base + path.format(**ids), method) < 500, path
    assert request(base + "/items/no-such-item/similar") == 404
    assert request(base + "/no/such/route") == 404
    with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
        scrape = response.read().decode()
    scraped: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(scrape):
        for sample in family.samples:
            scraped.setdefault(sample.name, set()).update(sample.labels)
    assert {"/items/{item_id}/similar", "unmatched"} <= {
        labels["route"] for family in text_string_to_metric_families(scrape)
        for _name, labels, *_rest in family.samples if "route" in labels}

    used: set[str] = set()
    for expression, extra_labels in dashboard_queries():
        metrics, grouping = promql_series(expression)
        assert metrics, expression
        for metric, labels in metrics.items():
            used.add(metric)
            if metric in CADVISOR_METRICS:
                known = CADVISOR_LABELS
            else:
                assert metric in scraped, f"{metric} is not in /metrics ({expression})"
                known = scraped[metric] | TARGET_LABELS
            unknown = (labels | grouping | extra_labels) - known
            assert not unknown, f"{metric} has no label {unknown} ({expression})"
    # and the dashboard shows everything the issue asks for
    assert CADVISOR_METRICS <= used
    assert {"sqlrec_http_requests_total", "sqlrec_http_request_duration_seconds_bucket",
            "sqlrec_snapshot_age_seconds", "sqlrec_snapshot_reloads_total"} <= used


def test_the_started_service_stops_cleanly_on_sigterm(served):
    _base, server = served
    server.send_signal(signal.SIGTERM)
    # uvicorn drains, runs the app's shutdown, then re-raises the signal it caught
    assert server.wait(timeout=20) == -signal.SIGTERM
    output = server.stdout.read()
    assert "Application shutdown complete" in output and "Traceback" not in output, output


def test_dashboard_is_a_provisionable_grafana_dashboard_on_a_prometheus_variable():
    board = dashboard()
    assert board["schemaVersion"] >= 39 and board["uid"] and board["title"]
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    reference = {"type": "prometheus", "uid": "${datasource}"}
    panel_ids = [panel["id"] for panel in board["panels"]]
    assert len(panel_ids) == len(set(panel_ids))
    for panel in dashboard_panels():
        assert panel["datasource"] == reference
        assert all(target["datasource"] == reference for target in panel["targets"])
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
    titles = " | ".join(panel["title"].lower() for panel in dashboard_panels())
    for subject in ("requests per second by route and status", "p50 / p95 / p99",
                    "error rate", "snapshot age", "reload failures", "cpu by pod",
                    "memory", "throttling"):
        assert subject in titles, subject

    (provider,) = yaml.safe_load((GRAFANA / "provisioning" / "dashboards.yaml").read_text())[
        "providers"]
    assert provider["type"] == "file" and provider["options"]["path"].startswith("/")
    (source,) = yaml.safe_load((GRAFANA / "provisioning" / "datasources.yaml").read_text())[
        "datasources"]
    assert source["type"] == "prometheus"
    (generator,) = kustomization(GRAFANA)["configMapGenerator"]
    assert generator["files"] == ["sqlrec-service.json"]
    assert generator["options"]["labels"]["grafana_dashboard"] == "1"
