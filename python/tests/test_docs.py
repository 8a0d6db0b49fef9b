"""dbt docs for analysts: every column of every model and seed that a build writes is described
(and nothing described that the table lacks), the analyses say how to run them, the events'
freshness is configured, and exposures name what the HTTP service and the analyses read.

The columns come from the tables a real build of a tiny lake writes, not from the yml itself;
the descriptions from the manifest that build leaves in target/."""

from __future__ import annotations

import json

import duckdb
import pytest

from sqlrec.data.generate import generate_lake
from sqlrec.pipeline.build import build
from sqlrec.service.snapshot import TABLE_COLUMNS

from helpers import PROJECT_DIR, dbt_target_dir

# a build of a tiny lake
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the built DuckDB file, dbt's manifest) of a build of a tiny lake."""
    folder = tmp_path_factory.mktemp("docs")
    generate_lake(folder / "lake", users=300, items=100, events=3_000, days=3, seed=5,
                  overwrite=True)
    database = folder / "sqlrec.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SQLREC_DUCKDB_PATH", str(database))
        build(folder / "lake", quiet=True)
    manifest = json.loads((dbt_target_dir() / "manifest.json").read_text())
    return database, manifest


def nodes(manifest, *resource_types):
    return [node for node in manifest["nodes"].values()
            if node["resource_type"] in resource_types and node["package_name"] == "sqlrec"]


def test_every_column_of_every_model_and_seed_is_described(built):
    database, manifest = built
    problems = []
    with duckdb.connect(str(database), read_only=True) as connection:
        for node in nodes(manifest, "model", "seed"):
            name = node["name"]
            columns = [row[0] for row in connection.sql(f"describe {name}").fetchall()]
            described = {column for column, spec in node["columns"].items()
                         if spec.get("description", "").strip()}
            if not node.get("description", "").strip():
                problems.append(f"{name}: no description")
            if missing := [column for column in columns if column not in described]:
                problems.append(f"{name}: columns not described: {missing}")
            if stale := sorted(set(node["columns"]) - set(columns)):
                problems.append(f"{name}: described but not in the table: {stale}")
    assert len(nodes(manifest, "model")) >= 20 and len(nodes(manifest, "seed")) >= 2
    assert not problems, "\n".join(problems)


def test_every_model_states_its_grain(built):
    _, manifest = built
    without = [node["name"] for node in nodes(manifest, "model")
               if "grain" not in node["description"].lower()]
    assert not without


def test_every_analysis_is_described_with_how_to_run_it(built):
    _, manifest = built
    analyses = nodes(manifest, "analysis")
    assert {node["name"] for node in analyses} == {
        path.stem for path in (PROJECT_DIR / "analyses").glob("*.sql")}
    for node in analyses:
        assert f"dbt show --select {node['name']}" in " ".join(node["description"].split())


def test_the_events_freshness_is_configured_from_vars(built):
    _, manifest = built
    events = manifest["sources"]["source.sqlrec.lake.events"]
    assert events["loaded_at_field"]
    freshness = events["freshness"]
    assert freshness["warn_after"]["period"] == freshness["error_after"]["period"] == "hour"
    assert 0 < freshness["warn_after"]["count"] < freshness["error_after"]["count"]


def test_exposures_name_what_the_service_and_the_analyses_read(built):
    _, manifest = built
    exposures = manifest["exposures"].values()
    service = [exposure for exposure in exposures if exposure["type"] == "application"]
    assert len(service) == 1
    served = {node.split(".")[-1] for node in service[0]["depends_on"]["nodes"]}
    assert set(TABLE_COLUMNS) <= served  # every table the service loads
    analysed = {exposure["name"].removesuffix("_analysis") for exposure in exposures
                if exposure["type"] == "analysis"}
    assert analysed == {node["name"] for node in nodes(manifest, "analysis")}
