"""The Python steps find sqlrec's models where a team's dbt build put them (another schema, other
names), from the manifest that build wrote, and ignore a manifest that is not this build's."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from sqlrec.warehouse.duckdb import DuckDBWarehouse
from sqlrec.warehouse.placement import model_placements


def write_manifest(folder: Path, *, project_name: str = "sqlrec", adapter: str = "duckdb",
                   target_schema: str = "main", nodes: dict[str, tuple[str, str]]) -> None:
    """A manifest in the shape dbt writes (only the fields read here): sqlrec's models at
    {name: (schema, alias)}, a model of the team's, and the target-schema source."""
    models = {f"model.sqlrec.{name}": {"resource_type": "model", "package_name": "sqlrec",
                                       "name": name, "schema": schema, "alias": alias}
              for name, (schema, alias) in nodes.items()}
    models["model.shop.shop_events"] = {"resource_type": "model", "package_name": "shop",
                                        "name": "shop_events", "schema": "main",
                                        "alias": "shop_events"}
    models["seed.sqlrec.event_weights"] = {"resource_type": "seed", "package_name": "sqlrec",
                                           "name": "event_weights", "schema": "elsewhere",
                                           "alias": "event_weights"}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({
        "metadata": {"project_name": project_name, "adapter_type": adapter},
        "nodes": models,
        "sources": {"source.sqlrec.trained_lists.model_runs": {"schema": target_schema}},
    }))


@pytest.fixture
def target_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(folder))
    return folder


def test_models_placed_elsewhere_are_found_and_the_others_stay(target_dir):
    write_manifest(target_dir, nodes={
        "item_similarity": ("main_recs", "sqlrec_item_similarity"),
        "user_recommendations": ("main", "user_recommendations"),  # where it would be anyway
        "popular_items": ("main", "top_items")})
    assert model_placements("duckdb", "main") == {
        "item_similarity": ("main_recs", "sqlrec_item_similarity"),
        "popular_items": ("main", "top_items")}


@pytest.mark.parametrize("other", [
    {"project_name": "another_project"},  # left by another project sharing the target folder
    {"adapter": "trino"},                 # parsed for another engine
    {"target_schema": "ci"},              # parsed for a target with another schema
])
def test_a_manifest_of_another_build_is_ignored(target_dir, other):
    write_manifest(target_dir, nodes={"item_similarity": ("main_recs", "item_similarity")},
                   **other)
    assert model_placements("duckdb", "main") == {}


def test_no_manifest_or_an_unreadable_one_reads_the_targets_schema(target_dir):
    assert model_placements("duckdb", "main") == {}
    target_dir.mkdir()
    (target_dir / "manifest.json").write_text("{not json")
    assert model_placements("duckdb", "main") == {}
    (target_dir / "manifest.json").write_text(json.dumps({"metadata": {}}))
    assert model_placements("duckdb", "main") == {}


def test_a_new_manifest_is_read_again(target_dir):
    write_manifest(target_dir, nodes={"item_similarity": ("main_recs", "item_similarity")})
    assert model_placements("duckdb", "main") == {"item_similarity": ("main_recs",
                                                                      "item_similarity")}
    write_manifest(target_dir, nodes={"item_similarity": ("main", "item_similarity"),
                                      "popular_items": ("main_b", "popular_items")})
    assert model_placements("duckdb", "main") == {"popular_items": ("main_b", "popular_items")}


def test_a_warehouse_reads_placed_models_and_writes_its_own_tables_in_the_target_schema(
        tmp_path):
    database = tmp_path / "shop.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema main_recs")
        connection.execute("create table main_recs.sqlrec_item_similarity as "
                           "select 'a' as item_id, 'b' as similar_item_id")
    store = DuckDBWarehouse(database, "main", placements={
        "item_similarity": ("main_recs", "sqlrec_item_similarity")})
    assert store.qualified("item_similarity") == '"main_recs"."sqlrec_item_similarity"'
    assert store.table_exists("item_similarity")
    assert store.read_table("item_similarity", ["similar_item_id"]).to_pylist() == [
        {"similar_item_id": "b"}]
    store.write_table("model_runs", pa.table({"run_id": ["r1"]}))
    assert store.qualified("model_runs") == '"main"."model_runs"'
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute("select run_id from main.model_runs").fetchall() == [("r1",)]
    with store.reading_copy() as copy:  # the service's snapshot reads the same places
        assert copy.read_table("item_similarity").num_rows == 1


def test_a_warehouse_opened_before_the_build_reads_where_the_build_put_the_models(
        tmp_path, target_dir):
    """`sqlrec refresh` connects before its dbt build writes the manifest, then reads the marts."""
    database = tmp_path / "shop.duckdb"
    store = DuckDBWarehouse(database, "main")
    assert store.qualified("item_similarity") == '"main"."item_similarity"'
    write_manifest(target_dir, nodes={"item_similarity": ("main_recs", "item_similarity")})
    assert store.qualified("item_similarity") == '"main_recs"."item_similarity"'
