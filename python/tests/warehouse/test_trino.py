"""The dbt project on Trino gives the tables it gives on DuckDB; the Python steps (ALS training,
the service) read and write Trino.

The session's one local Trino (conftest's trino_server; downloaded once into
~/.cache/sqlrec/trino/476) serves this module. A small generated lake is built on DuckDB and,
unchanged, with `dbt build --target trino`: the lake becomes external Hive tables in the `lake`
catalog (the project's on-run-start hook), dbt's tables go to the `iceberg` catalog, and every
model, data test and unit test runs there. The marts must match: the same rows, scores within 1e-9
(relative), the same ranks except among tied scores (the engines sum floats in different orders).

Set SQLREC_SKIP_TRINO=1 to skip this, which is reported loudly; a missing Java 24+ or Maven is a
failure, not a skip.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pytest
from fastapi.testclient import TestClient

from sqlrec import project, warehouse
from sqlrec.config import Settings
from sqlrec.errors import UserError
from sqlrec.pipeline.build import build
from sqlrec.pipeline.dbt import run_dbt
from sqlrec.recommend.params import AlsParams
from sqlrec.recommend.train import train
from sqlrec.service.app import create_app
from sqlrec.service.reloading import SnapshotStore, WarehouseSource
from sqlrec.trino_local.server import TrinoServer
from sqlrec.warehouse import trino_files
from sqlrec.warehouse.duckdb import DuckDBWarehouse
from sqlrec.warehouse.markers import FINISHED, STARTED
from sqlrec.warehouse.trino import TrinoWarehouse

from helpers import PROJECT_DIR, build_into, read_table

RELATIVE_TOLERANCE = 1e-9



# the session's one Trino (conftest), on the worker that runs every Trino test
pytestmark = [pytest.mark.trino, pytest.mark.xdist_group("trino")]


@pytest.fixture(scope="module")
def trino(trino_server):
    return trino_server


@pytest.fixture(scope="module")
def profiles(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("trino-profiles")
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", folder / "profiles.yml")
    return folder


@contextlib.contextmanager
def trino_env(trino: TrinoServer, profiles: Path, schema: str):
    """The environment of `dbt --target trino` against the local server (as a user sets it)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", str(profiles))
        patch.setenv("SQLREC_TRINO_HOST", trino.host)
        patch.setenv("SQLREC_TRINO_PORT", str(trino.port))
        patch.setenv("SQLREC_TRINO_SCHEMA", schema)
        patch.setenv("SQLREC_TRINO_CATALOG", "iceberg")
        patch.setenv("SQLREC_TRINO_AUTH", "none")
        yield


def trino_build(trino: TrinoServer, profiles: Path, lake: Path, schema: str, lake_schema: str,
                command: list[str] | None = None, extra_vars: dict | None = None) -> float:
    """`dbt build --target trino` of a lake; the seconds it took."""
    started = time.perf_counter()
    with trino_env(trino, profiles, schema):
        run_dbt(command or ["build"], target="trino", quiet=True,
                dbt_vars={**project.lake_vars(lake), "lake_schema": lake_schema,
                          **(extra_vars or {})})
    return time.perf_counter() - started


def trino_table(trino: TrinoServer, schema: str, name: str) -> pd.DataFrame:
    with contextlib.closing(trino.connect(catalog="iceberg", schema=schema)) as conn:
        cursor = conn.cursor()
        cursor.execute(f"select * from {name}")
        rows = cursor.fetchall()
        columns = [column[0] for column in cursor.description]
    return pd.DataFrame(rows, columns=columns)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    from sqlrec.data.generate import generate_lake

    folder = tmp_path_factory.mktemp("trino-lake")
    generate_lake(folder, users=1_200, items=300, events=25_000, days=10, seed=11,
                  bad_rows=24, overwrite=True)
    return folder


@pytest.fixture(scope="module")
def duckdb_file(lake, profiles, tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("trino-duckdb") / "sqlrec.duckdb"
    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        # a module fixture comes before the autouse isolated profile: name the profile here
        patch.setenv("DBT_PROFILES_DIR", str(profiles))
        patch.setenv("SQLREC_TARGET", "duckdb")
        build_into(database, lake, patch)
    print(f"DuckDB build: {time.perf_counter() - started:.1f} s", file=sys.__stderr__)
    return database


@pytest.fixture(scope="module")
def trino_schema(trino, profiles, lake) -> str:
    seconds = trino_build(trino, profiles, lake, "compare", "lake_compare")
    print(f"Trino build: {seconds:.1f} s", file=sys.__stderr__)
    return "compare"


def assert_same_ranked_lists(duck: pd.DataFrame, trino: pd.DataFrame, group: list[str],
                             key: str, also_equal: tuple[str, ...] = (),
                             tolerance: float = RELATIVE_TOLERANCE) -> None:
    """The same lists: per group the same length and, rank by rank, the same score (relative
    1e-9); a rank may hold another key than on DuckDB only where the two keys' scores tie
    (floats summed in another order may break an exact tie either way), at the cut included."""
    columns = [*group, key, "score", "rank", *also_equal]
    duck = duck[columns].copy()
    trino = trino[columns].copy()
    for frame in (duck, trino):
        for column in group:
            frame[column] = frame[column].fillna("<null>")
        frame["rank"] = frame["rank"].astype("int64")
        frame["score"] = frame["score"].astype("float64")
    assert len(duck) > 0
    assert len(trino) == len(duck)

    by_rank = duck.merge(trino, on=[*group, "rank"], how="outer", suffixes=("_duck", "_trino"),
                         indicator=True)
    assert (by_rank["_merge"] == "both").all(), "lists of different lengths or rank gaps"
    scale = by_rank[["score_duck", "score_trino"]].abs().max(axis=1)
    off = (by_rank["score_duck"] - by_rank["score_trino"]).abs() > tolerance * scale
    assert not off.any(), f"scores differ:\n{by_rank[off].head(10)}"

    # Where a rank holds another key, that key must score the same on DuckDB (a tie broken the
    # other way), or, where DuckDB cut it off, tie with DuckDB's last kept row (a tie at the cut).
    swapped = by_rank[by_rank[f"{key}_duck"] != by_rank[f"{key}_trino"]]
    duck_scores = duck.set_index([*group, key])["score"]
    last_scores = duck.sort_values("rank").groupby(group)["score"].last()
    for _, row in swapped.iterrows():
        group_key = tuple(row[column] for column in group)
        where = (*group_key, row[f"{key}_trino"])
        reference = (duck_scores.loc[where] if where in duck_scores.index
                     else last_scores.loc[group_key[0] if len(group) == 1 else group_key])
        assert abs(reference - row["score_duck"]) <= tolerance * abs(row["score_duck"]), (
            f"a different item at an untied rank:\n{row}")

    by_key = duck.merge(trino, on=[*group, key], suffixes=("_duck", "_trino"))
    for column in also_equal:
        differs = by_key[f"{column}_duck"] != by_key[f"{column}_trino"]
        assert not differs.any(), f"{column} differs:\n{by_key[differs].head(10)}"


def test_item_similarity_matches_duckdb(duckdb_file, trino, trino_schema):
    duck = read_table(duckdb_file, "item_similarity", "item_id, rank")
    assert_same_ranked_lists(duck, trino_table(trino, trino_schema, "item_similarity"),
                             ["item_id"], "similar_item_id")


# The default model (rp3beta, symmetric at α = β) is compared above with the whole project;
# here every other model, the directional ones included, is built on both engines.
SIMILARITY_MODELS = {
    "cosine": {"similarity": "cosine"},
    "rp3beta_directional": {"similarity": "rp3beta", "rp3beta_alpha": 0.7, "rp3beta_beta": 0.3},
    "asymmetric_cosine": {"similarity": "asymmetric_cosine", "asymmetric_cosine_alpha": 0.7},
}


@pytest.mark.parametrize("model", SIMILARITY_MODELS)
def test_every_similarity_model_matches_duckdb(model, lake, profiles, trino, tmp_path):
    model_vars = SIMILARITY_MODELS[model]
    # dbt's data tests run on the DuckDB build; the Trino tables equal to it pass them too
    command = ["build", "--select", "+item_similarity", "--exclude-resource-type", "test",
               "--exclude-resource-type", "unit_test"]
    database = tmp_path / "sqlrec.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_PROFILES_DIR", str(profiles))
        patch.setenv("SQLREC_TARGET", "duckdb")
        build_into(database, lake, patch, extra_vars=model_vars, select="+item_similarity")
    schema = f"similarity_{model}"
    trino_build(trino, profiles, lake, schema, "lake_compare", command, model_vars)
    duck = read_table(database, "item_similarity", "item_id, rank")
    assert_same_ranked_lists(duck, trino_table(trino, schema, "item_similarity"), ["item_id"],
                             "similar_item_id", also_equal=("common_users",))


def test_popular_items_match_duckdb(duckdb_file, trino, trino_schema):
    duck = read_table(duckdb_file, "popular_items", "scope, category, rank")
    assert set(duck["scope"]) == {"global", "category"}
    assert_same_ranked_lists(duck, trino_table(trino, trino_schema, "popular_items"),
                             ["scope", "category"], "item_id", also_equal=("user_count",))


def test_user_recommendations_match_duckdb(duckdb_file, trino, trino_schema):
    duck = read_table(duckdb_file, "user_recommendations", "user_id, rank")
    assert_same_ranked_lists(duck, trino_table(trino, trino_schema, "user_recommendations"),
                             ["user_id"], "item_id", also_equal=("source", "because_item_id"))


def test_rejects_and_scores_match_duckdb(duckdb_file, trino, trino_schema):
    columns = ["reason", "event_date", "event_id", "user_id", "item_id", "event_type"]
    rejected = []
    for frame in (read_table(duckdb_file, "events_rejected", "reason"),
                  trino_table(trino, trino_schema, "events_rejected")):
        frame = frame[columns].copy()
        frame["event_date"] = pd.to_datetime(frame["event_date"]).dt.strftime("%Y-%m-%d")
        rejected.append(sorted(frame.astype(str).itertuples(index=False)))
    assert len(rejected[0]) > 0
    assert rejected[0] == rejected[1]

    duck = read_table(duckdb_file, "int_user_item_scores", "user_id, item_id")
    other = trino_table(trino, trino_schema, "int_user_item_scores")
    merged = duck.merge(other, on=["user_id", "item_id"], suffixes=("_duck", "_trino"))
    assert len(merged) == len(duck) == len(other) > 0
    assert (merged["event_count_duck"] == merged["event_count_trino"]).all()
    for column in ("interaction_strength", "score"):
        assert ((merged[f"{column}_duck"] - merged[f"{column}_trino"]).abs()
                <= RELATIVE_TOLERANCE * merged[f"{column}_duck"].abs()).all(), column


# ----------------------------------------------------------- the Python steps on Trino

@contextlib.contextmanager
def python_step_env(trino: TrinoServer, profiles: Path, schema: str,
                    staging_dir: Path | None = None, data_files: bool = True):
    """The environment in which `sqlrec train` / `sqlrec serve` use the trino target."""
    with trino_env(trino, profiles, schema), pytest.MonkeyPatch.context() as patch:
        patch.setenv("SQLREC_TARGET", "trino")
        patch.setenv("SQLREC_TRINO_READ_DATA_FILES", str(data_files).lower())
        if staging_dir is None:
            patch.delenv("SQLREC_TRINO_STAGING_DIR", raising=False)
        else:
            patch.setenv("SQLREC_TRINO_STAGING_DIR", str(staging_dir))
        yield


ROUND_TRIP = pa.table({
    "id": pa.array([1, 2, 3, 4], pa.int32()),
    "text": ["plain", "it's \"quoted\", (a, b)", None, "ünïcode ✓"],
    "big": pa.array([2**40 + 1, -1, None, 0], pa.int64()),
    "score": [0.1, 1 / 3, float("nan"), None],
    "tiny": [5e-324, -1.7976931348623157e308, 1e-20, 123456789.125],
    "flag": [True, False, None, True],
    "day": pa.array([dt.date(2026, 1, 2), dt.date(1970, 1, 1), None, dt.date(1, 1, 1)]),
    "at": pa.array([dt.datetime(2026, 1, 2, 3, 4, 5, 123456), None,
                    dt.datetime(1999, 12, 31, 23, 59, 59), dt.datetime(2026, 11, 28)],
                   pa.timestamp("us")),
})


def comparable(table: pa.Table) -> list[tuple]:
    """Rows by id, NaN made comparable (NaN != NaN), None kept apart from NaN."""
    rows = table.sort_by([("id", "ascending")]).to_pylist()
    return [tuple("NaN" if isinstance(value, float) and math.isnan(value) else value
                  for value in row.values()) for row in rows]


def staging_reads(trino: TrinoServer, table: str) -> int:
    """How many reads of a table unloaded it into a staging table (Trino's own query list)."""
    return trino.query("select count(*) from system.runtime.queries where state = 'FINISHED' "
                       "and query like 'insert into \"lake\".\"sqlrec_staging\".%' "
                       f"and query like '%from \"iceberg\".\"python_step\".\"{table}\"%'")[0][0]


def protocol_reads(trino: TrinoServer, table: str) -> int:
    """How many reads of a whole table came through the client protocol's pages."""
    whole_table = f'select % from "iceberg"."python_step"."{table}"'
    return trino.query("select count(*) from system.runtime.queries where state = 'FINISHED' "
                       f"and query like '{whole_table}'")[0][0]


@pytest.mark.parametrize("method", ["batched inserts", "parquet staging", "iceberg data files"])
def test_warehouse_writes_and_reads_back_every_type(trino, profiles, tmp_path, method):
    """Written and read back by each method, every value and type comes back as it was: the
    staging method reads through Parquet files that Trino writes into the same folder, the data
    files method reads the Iceberg table's own files (writes as batched inserts)."""
    staging = tmp_path / "staging" if method == "parquet staging" else None
    data_files = method == "iceberg data files"
    trino.query("create schema if not exists iceberg.python_step")
    with python_step_env(trino, profiles, "python_step", staging, data_files):
        store = warehouse.connect()
    assert isinstance(store, TrinoWarehouse) and store.read_data_files == data_files
    assert store.write_method == ("parquet staging" if staging else "batched inserts")
    assert store.read_method == ("parquet staging" if staging else "client protocol")
    name = "round_trip_" + method.split()[-2]

    assert store.write_table(name, ROUND_TRIP) == 4
    appended = pa.RecordBatchReader.from_batches(ROUND_TRIP.schema,
                                                 ROUND_TRIP.slice(0, 2).to_batches())
    assert store.write_table(name, appended, mode="append") == 2
    back = store.read_table(name)
    assert back.schema == ROUND_TRIP.schema
    assert comparable(back) == comparable(pa.concat_tables([ROUND_TRIP, ROUND_TRIP.slice(0, 2)]))

    assert store.write_table(name, ROUND_TRIP.slice(3)) == 1  # replace
    subset = store.read_table(name, ["id", "text"])
    assert subset.schema == ROUND_TRIP.select(["id", "text"]).schema
    assert comparable(subset) == [(4, "ünïcode ✓")]
    assert store.write_table(name + "_empty", ROUND_TRIP.slice(0, 0)) == 0
    assert store.table_exists(name + "_empty")
    empty = store.read_table(name + "_empty")
    assert empty.num_rows == 0 and empty.schema == ROUND_TRIP.schema
    assert staging_reads(trino, name) == (2 if staging else 0)
    assert staging_reads(trino, name + "_empty") == (1 if staging else 0)
    assert protocol_reads(trino, name) == (0 if staging or data_files else 2)
    if staging is not None:
        # nothing left behind: neither staging files nor staging tables
        assert list(staging.iterdir()) == []
        assert trino.query("show tables from lake.sqlrec_staging") == []


def test_data_file_reads_fall_back_where_they_would_not_be_the_table(trino, profiles,
                                                                   monkeypatch, capsys):
    """A table with delete files (a DELETE or MERGE changed it) and a table whose files this
    process cannot reach are read through Trino instead, with a hint: never a deleted row."""
    trino.query("create schema if not exists iceberg.python_step")
    with python_step_env(trino, profiles, "python_step"):
        store = warehouse.connect()
    store.write_table("with_deletes", ROUND_TRIP)
    trino.query("delete from iceberg.python_step.with_deletes where id = 2")
    back = store.read_table("with_deletes")
    assert back.schema == ROUND_TRIP.schema
    assert comparable(back) == comparable(ROUND_TRIP.filter(pc.not_equal(ROUND_TRIP["id"], 2)))
    assert "delete files" in capsys.readouterr().err
    assert protocol_reads(trino, "with_deletes") == 1

    store.write_table("unreachable", ROUND_TRIP)
    monkeypatch.setattr(trino_files, "data_file_paths",
                        lambda uris: (pafs.LocalFileSystem(), ["/nonexistent/data.parquet"]))
    assert comparable(store.read_table("unreachable")) == comparable(ROUND_TRIP)
    assert "FileNotFoundError" in capsys.readouterr().err
    assert protocol_reads(trino, "unreachable") == 1


def test_staged_read_falls_back_where_the_lake_catalog_refuses(trino, profiles, tmp_path,
                                                               monkeypatch, capsys):
    """A Hive catalog with ``hive.non-managed-table-writes-enabled=false`` (Trino's default)
    refuses the unload: the read goes through the client protocol instead, with a hint."""
    from trino.exceptions import TrinoUserError

    trino.query("create schema if not exists iceberg.python_step")
    with python_step_env(trino, profiles, "python_step", tmp_path / "staging", False):
        store = warehouse.connect()
    store.write_table("refused_read", ROUND_TRIP)
    connect = store._connect

    def refusing_connect():
        connection = connect()
        cursor = connection.cursor

        def refusing_cursor():
            real = cursor()
            execute = real.execute

            def refuse(sql, *args):
                if sql.startswith('insert into "lake"'):
                    raise TrinoUserError(
                        {"errorName": "NOT_SUPPORTED", "errorType": "USER_ERROR",
                         "message": "Writes to non-managed Hive tables is disabled"}, "q1")
                return execute(sql, *args)

            real.execute = refuse
            return real

        connection.cursor = refusing_cursor
        return connection

    monkeypatch.setattr(store, "_connect", refusing_connect)
    back = store.read_table("refused_read")
    assert back.schema == ROUND_TRIP.schema
    assert comparable(back) == comparable(ROUND_TRIP)
    assert "non-managed" in capsys.readouterr().err
    assert list((tmp_path / "staging").iterdir()) == []
    assert trino.query("show tables from lake.sqlrec_staging") == []


def test_train_on_trino_matches_training_on_duckdb(duckdb_file, trino, profiles, trino_schema,
                                                  tmp_path):
    """`sqlrec train` reads the scores from Trino and writes its tables there; the same scores
    give the same model on both engines (ids are numbered in id order, not row order)."""
    params = AlsParams(factors=8, iterations=5, random_state=3)
    duck_copy = tmp_path / "sqlrec.duckdb"
    shutil.copyfile(duckdb_file, duck_copy)
    on_duckdb = train(DuckDBWarehouse(duck_copy), params, k=10, show_progress=False,
                      num_threads=1)
    with python_step_env(trino, profiles, trino_schema, tmp_path / "staging"):
        on_trino = train(warehouse.connect(), params, k=10, show_progress=False,
                         num_threads=1)
    for count in ("users", "items", "nnz"):
        assert getattr(on_trino.run, count) == getattr(on_duckdb.run, count) > 0
    for table, group, key in (("als_user_recommendations", "user_id", "item_id"),
                              ("als_similar_items", "item_id", "similar_item_id")):
        assert_same_ranked_lists(read_table(duck_copy, table, f"{group}, rank"),
                                 trino_table(trino, trino_schema, table), [group], key,
                                 tolerance=1e-5)
    runs = trino_table(trino, trino_schema, "model_runs")
    assert list(runs["run_id"]) == [on_trino.run.run_id]


def test_blend_and_service_on_trino(trino, profiles, lake, trino_schema):
    """After training, `sqlrec build` blends the ALS lists on Trino and records the build in the
    warehouse; the service loads its snapshot from Trino and answers with the tables' rows."""
    with python_step_env(trino, profiles, trino_schema):
        build(lake, extra_vars={"lake_schema": "lake_compare"}, select="source:trained_lists+",
              quiet=True)
        store = warehouse.connect()
        assert isinstance(store, TrinoWarehouse)
        marker = store.read_build_marker()
        assert marker is not None and marker.target == "trino"
        sources = dict(trino.query("select source, count(*) from user_recommendations "
                                   "group by source", catalog="iceberg", schema=trino_schema))
        assert sources.get("als", 0) > 0 and sources.get("item_similarity", 0) > 0

        snapshots = SnapshotStore(WarehouseSource(), interval_s=0)
        assert snapshots.reload().info.version == marker.version
        client = TestClient(create_app(Settings(reload_interval_s=0), store=snapshots))

        similar = trino_table(trino, trino_schema, "item_similarity").sort_values(
            ["item_id", "rank"])
        item_id = similar["item_id"].iloc[0]
        rows = similar[similar["item_id"] == item_id]
        # include_unavailable: the table's rows as they are, with the table's rank
        answer = client.get(f"/items/{item_id}/similar",
                            params={"k": 100, "include_unavailable": "true"}).json()["items"]
        assert [item["item_id"] for item in answer] == list(rows["similar_item_id"])
        assert [item["rank"] for item in answer] == list(rows["rank"])
        assert [item["score"] for item in answer] == pytest.approx(list(rows["score"]),
                                                                   rel=1e-12)
        # by default without the items the catalogue marks sold out, ranked again
        catalogue = trino_table(trino, trino_schema, "int_items_enriched")
        sold_out = set(catalogue.loc[catalogue["is_available"].eq(False), "item_id"])
        available = rows[~rows["similar_item_id"].isin(sold_out)]
        answer = client.get(f"/items/{item_id}/similar", params={"k": 100}).json()["items"]
        assert [item["item_id"] for item in answer] == list(available["similar_item_id"])
        assert [item["rank"] for item in answer] == list(range(1, len(available) + 1))

        recommended = trino_table(trino, trino_schema, "user_recommendations")
        user_id = recommended.loc[recommended["source"] == "als", "user_id"].iloc[0]
        rows = recommended[recommended["user_id"] == user_id].sort_values("rank")
        # k = the table's list length: beyond it the service fills from popular items
        answer = client.get(f"/users/{user_id}/recommendations",
                            params={"k": len(rows)}).json()
        assert [item["item_id"] for item in answer["items"]] == list(rows["item_id"])
        assert [item["source"] for item in answer["items"]] == list(rows["source"])

        # a later build (its marker row) is picked up by the poll
        assert snapshots.poll_once() is False
        later = uuid.uuid4().hex  # a run starts, then finishes, as the dbt hooks mark it
        assert store.write_build_marker(STARTED, version=later) == "table sqlrec_build_markers"
        assert snapshots.poll_once() is False  # started, not finished: nothing new is served
        store.write_build_marker(FINISHED, version=later)
        assert snapshots.poll_once() is True
        assert snapshots.current.info.version == store.read_build_marker().version != (
            marker.version)


def test_read_sql_on_trino_with_bound_parameters(trino, profiles, trino_schema):
    """Analysts' SQLAlchemy engine on the trino target: pandas.read_sql with a bound parameter
    gives the table's rows."""
    import sqlalchemy

    from sqlrec.warehouse.engine import sqlalchemy_engine

    similar = trino_table(trino, trino_schema, "item_similarity")
    item_id = similar["item_id"].min()
    expected = similar[similar["item_id"] == item_id].sort_values("rank")
    with python_step_env(trino, profiles, trino_schema):
        found = pd.read_sql(sqlalchemy.text("select * from item_similarity where item_id = :item "
                                            "order by rank"),
                            sqlalchemy_engine(), params={"item": item_id})
    assert len(found) > 0
    assert found["similar_item_id"].tolist() == expected["similar_item_id"].tolist()
    assert found["score"].tolist() == pytest.approx(expected["score"].tolist(), rel=1e-12)


CONSUMER_ON_TRINO = """
name: shop
version: "1.0.0"
config-version: 2
profile: sqlrec
vars:
  events_relation: "{{ source('shop', 'events') }}"
  catalog_relation: "{{ source('shop', 'items') }}"
flags:
  require_ref_searches_node_package_before_root: true
"""

CONSUMER_SOURCES_ON_TRINO = """
version: 2
sources:
  - name: shop
    database: iceberg
    schema: shop_raw
    tables:
      - name: events
      - name: items
"""


def test_a_consumer_project_on_trino_reads_an_iceberg_events_table(
        duckdb_file, trino, profiles, trino_schema, tmp_path):
    """sqlrec as a package of a team's project on Trino, its events and catalogue Iceberg tables
    of the team's (here copies of the lake's, loaded an hour after they happened): the marts
    equal the standalone DuckDB build's, and a routine run stages late and new rows once."""
    from sqlrec.pipeline.dbt import dbt_executable

    trino.query("create schema if not exists iceberg.shop_raw")
    for table, columns in (("events", "event_id, user_id, item_id, event_type, event_time, "
                                      "cast(event_date as date) as event_date, "
                                      "event_time + interval '1' hour as loaded_at"),
                           ("items", "*")):
        trino.query(f"drop table if exists iceberg.shop_raw.{table}")
        trino.query(f"create table iceberg.shop_raw.{table} as "
                    f"select {columns} from lake.lake_compare.{table}")
    shop = tmp_path / "shop"
    (shop / "models").mkdir(parents=True)
    (shop / "dbt_project.yml").write_text(CONSUMER_ON_TRINO)
    (shop / "packages.yml").write_text(f"packages:\n  - local: {PROJECT_DIR}\n")
    (shop / "models" / "sources.yml").write_text(CONSUMER_SOURCES_ON_TRINO)

    def dbt_in_shop(*command: str) -> None:
        with trino_env(trino, profiles, "shop"):
            done = subprocess.run([dbt_executable(), *command, "--project-dir", str(shop)],
                                  cwd=shop, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:]

    dbt_in_shop("deps")
    dbt_in_shop("build", "--target", "trino")
    assert_same_ranked_lists(read_table(duckdb_file, "item_similarity", "item_id, rank"),
                             trino_table(trino, "shop", "item_similarity"),
                             ["item_id"], "similar_item_id")
    assert_same_ranked_lists(read_table(duckdb_file, "user_recommendations", "user_id, rank"),
                             trino_table(trino, "shop", "user_recommendations"),
                             ["user_id"], "item_id")
    staged = "select count(*), count(distinct event_id) from iceberg.shop.stg_relation__events"
    raw = "select count(*), count(distinct event_id) from iceberg.shop_raw.events"
    assert trino.query(staged) == trino.query(raw)

    # a routine run: 100 rows loaded 10 hours before the newest (within the lookback), 100 after
    [[newest]] = trino.query("select max(loaded_at) from iceberg.shop_raw.events "
                             "where loaded_at < current_timestamp")
    for label, shift in (("late", "- interval '10' hour"), ("new", "+ interval '1' hour")):
        trino.query(f"""
            insert into iceberg.shop_raw.events
            select event_id || '-{label}', user_id, item_id, event_type, event_time, event_date,
                   timestamp '{newest}' {shift}
            from iceberg.shop_raw.events where event_id is not null
            order by event_id limit 100""")
    dbt_in_shop("run", "--target", "trino", "--select", "stg_relation__events")
    assert trino.query(staged) == trino.query(raw)

def test_new_partition_is_synced_and_appended(trino, profiles, lake, trino_schema):
    """A second build sees a new event_date folder (the hook syncs partitions) and appends only
    it; its events repeat ids staged before, so each new row is rejected or a duplicate."""
    staged = ("select count(*), count(distinct event_date), count_if(reject_reason is not null) "
              "+ (select count(*) from int_event_id_repeats where occurrence > 1) "
              "from int_events_checked")
    before = trino.query(staged, catalog="iceberg", schema=trino_schema)[0]
    events = lake / "events"
    last_day = sorted(events.iterdir())[-1]
    rows_added = len(pd.read_parquet(last_day))
    new_day = events / "event_date=2099-01-01"
    shutil.copytree(last_day, new_day)
    try:
        trino_build(trino, profiles, lake, trino_schema, "lake_compare",
                    command=["build", "--select", "stg_lake__events", "int_events_checked",
                             "int_event_id_repeats"])
        after = trino.query(staged, catalog="iceberg", schema=trino_schema)[0]
    finally:
        shutil.rmtree(new_day)
    assert after == [before[0] + rows_added, before[1] + 1, before[2] + rows_added]


def test_lake_without_catalogue_counts_every_item_available(trino, profiles, lake,
                                                            tmp_path_factory):
    bare = tmp_path_factory.mktemp("trino-bare-lake")
    shutil.copytree(lake / "events", bare / "events")
    trino_build(trino, profiles, bare, "bare", "lake_bare",
                command=["build", "--select", "+int_items_enriched",
                         "--indirect-selection", "cautious"])
    assert trino.query("select count(*) from stg_lake__items", catalog="iceberg",
                       schema="bare") == [[0]]
    items = trino.query("select count(*), count_if(is_available), count(category) "
                        "from int_items_enriched", catalog="iceberg", schema="bare")[0]
    assert items[0] > 0 and items[1] == items[0] and items[2] == 0


def test_lake_table_over_another_folder_is_an_error(trino, profiles, lake, tmp_path_factory):
    other = tmp_path_factory.mktemp("trino-other-lake")
    shutil.copytree(lake / "events", other / "events")
    with pytest.raises(UserError, match="exists over"):
        trino_build(trino, profiles, other, "other", "lake_compare",
                    command=["build", "--select", "stg_lake__items"])
