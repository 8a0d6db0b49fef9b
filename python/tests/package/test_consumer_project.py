"""sqlrec as a dbt package: a team's own dbt project installs it with `local:`, points it at an
events model and a catalogue table of its own (vars events_relation, catalog_relation), places
sqlrec's models in a schema and under names of its choosing, and builds the same tables as the
standalone project on the same events."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from sqlrec.pipeline.dbt import dbt_executable

from helpers import PROJECT_DIR, SMALL_REFRESH_ALS, copy_database, read_table

# one worker builds the team's project once for the module's tests
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("consumer_project")]

# the tables analysts and the service read, with an order that makes each comparable
MARTS = {
    "item_similarity": "item_id, rank",
    "popular_items": "scope, category, rank",
    "user_recent_items": "user_id, recency_rank",
    "user_recommendations": "user_id, rank",
    "int_user_item_scores": "user_id, item_id",
}

CONSUMER_PROJECT = """
name: shop
version: "1.0.0"
config-version: 2
profile: sqlrec
vars:
  events_relation: "{{ ref('shop_events') }}"
  catalog_relation: "{{ source('shop', 'items') }}"
models:
  sqlrec:
    +schema: recs
"""


def documented_aliases() -> str:
    """The team's `generate_alias_name` as docs/package.md shows it: every table of sqlrec's
    prefixed, the team's own models under their names."""
    page = (PROJECT_DIR / "docs" / "package.md").read_text()
    blocks = re.findall(r"```sql\n(.*?)```", page, flags=re.DOTALL)
    (macro,) = [block for block in blocks if "generate_alias_name" in block]
    return macro


def placed(name: str) -> str:
    """Where the team's build puts the sqlrec model ``name``: dbt's default schema naming
    (the target's schema, then the custom one) and the team's prefix."""
    return f"main_recs.sqlrec_{name}"


def tables_of(database: Path) -> set[str]:
    """schema.table of every table and view in the warehouse."""
    with duckdb.connect(str(database), read_only=True) as connection:
        return {f"{schema}.{table}" for schema, table in connection.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}


CONSUMER_SOURCES = """
version: 2
sources:
  - name: shop
    schema: main
    tables:
      - name: raw_events
      - name: items
"""

# the team's own cleaning model: its raw table names the columns its own way
CONSUMER_EVENTS_MODEL = """
select
    id as event_id,
    customer as user_id,
    product as item_id,
    action as event_type,
    happened_at as event_time,
    loaded_at
from {{ source('shop', 'raw_events') }}
"""


def consumer_project(folder: Path, lake: Path, database: Path) -> Path:
    """A new dbt project that installs sqlrec from this checkout, with its raw events (the lake's,
    under its own column names, loaded an hour after they happened) and catalogue as tables."""
    project = folder / "shop"
    (project / "models").mkdir(parents=True)
    (project / "macros").mkdir()
    (project / "dbt_project.yml").write_text(CONSUMER_PROJECT)
    (project / "macros" / "aliases.sql").write_text(documented_aliases())
    (project / "packages.yml").write_text(f"packages:\n  - local: {PROJECT_DIR}\n")
    (project / "models" / "sources.yml").write_text(CONSUMER_SOURCES)
    (project / "models" / "shop_events.sql").write_text(CONSUMER_EVENTS_MODEL)
    with duckdb.connect(str(database)) as connection:
        connection.execute(f"""
            create table raw_events as
            select event_id as id, user_id as customer, item_id as product, event_type as action,
                   event_time as happened_at, event_time + interval 1 hour as loaded_at
            from read_parquet('{lake}/events/*/*.parquet', hive_partitioning = false)""")
        connection.execute(
            f"create table items as select * from read_parquet('{lake}/catalog/*.parquet')")
    installed = dbt(project, "deps")
    assert installed.returncode == 0, installed.stdout[-3000:]
    return project


def dbt(project: Path, *args: str) -> subprocess.CompletedProcess:
    """dbt in the consumer's project (the profile is the tests' own, as any team's would be)."""
    return subprocess.run([dbt_executable(), *args, "--project-dir", str(project)],
                          cwd=project, capture_output=True, text=True)


def build(project: Path, *args: str) -> None:
    done = dbt(project, "build", *args)
    assert done.returncode == 0, done.stdout[-3000:]


def assert_same_marts(consumer_database: Path, database: Path, *, placed_too: bool = False
                      ) -> None:
    """The marts of the team's build equal those of ``database`` (a standalone build, or with
    ``placed_too`` another build of the team's)."""
    for table, order_by in MARTS.items():
        pd.testing.assert_frame_equal(
            read_table(consumer_database, placed(table), order_by),
            read_table(database, placed(table) if placed_too else table, order_by),
            check_exact=False, rtol=1e-12, obj=table)


@pytest.fixture
def consumer(small_lake, tmp_path, monkeypatch) -> tuple[Path, Path]:
    """A team's project with its raw tables, not built yet (a test may change its files)."""
    database = tmp_path / "shop.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    return consumer_project(tmp_path, small_lake, database), database


@pytest.fixture(scope="module")
def built_consumer(small_lake, tmp_path_factory) -> tuple[Path, Path]:
    """A team's project built once with the README's `dbt build --select +package:sqlrec`;
    tests that change its warehouse take a copy (`consumer_copy`)."""
    folder = tmp_path_factory.mktemp("consumer")
    database = folder / "shop.duckdb"
    with pytest.MonkeyPatch.context() as patch:  # before the autouse profile: name it here
        shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", folder / "profiles.yml")
        patch.setenv("DBT_PROFILES_DIR", str(folder))
        patch.setenv("SQLREC_TARGET", "duckdb")
        patch.setenv("SQLREC_DUCKDB_PATH", str(database))
        project = consumer_project(folder, small_lake, database)
        build(project, "--select", "+package:sqlrec")
    return project, database


@pytest.fixture
def consumer_copy(built_consumer, tmp_path, monkeypatch) -> tuple[Path, Path]:
    project, database = built_consumer
    copy = copy_database(database, tmp_path / database.name)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(copy))
    return project, copy


def test_a_consumer_project_builds_the_standalone_tables_from_its_own_events(
        built_consumer, small_lake_build):
    _, database = built_consumer
    assert_same_marts(database, small_lake_build)
    with duckdb.connect(str(database), read_only=True) as connection:
        rejected = f"select count(*) from {placed('events_rejected')}"
        assert connection.execute(rejected).fetchone() == (0,)
        staged = f"select count(*) from {placed('stg_relation__events')}"
        assert connection.execute(staged).fetchone() == connection.execute(
            "select count(*) from raw_events").fetchone()
    tables = tables_of(database)
    # every table of sqlrec's is where the team placed it, its own stay in the target's schema
    assert {placed(name) for name in MARTS} <= tables
    assert {"main.shop_events", "main.raw_events", "main.items"} <= tables
    # (sqlrec's seeds take the prefix too; a `seeds:` config, not `models:`, would move them)
    assert {table for table in tables if table.startswith("main.sqlrec_")} == {
        "main.sqlrec_event_weights", "main.sqlrec_reject_reasons"}
    # the lake's staging is not built: the relation stands in for it
    assert not {placed("stg_lake__events"), placed("stg_lake__items")} & tables


def test_a_routine_run_stages_new_and_late_rows_once(consumer_copy, tmp_path, monkeypatch):
    """Rows loaded since the last run, and rows loaded late within lookback_hours, are staged
    once each, and every table equals a full refresh's."""
    project, database = consumer_copy
    with duckdb.connect(str(database)) as connection:
        newest = connection.execute("select max(loaded_at) from raw_events").fetchone()[0]
        # a copy of 300 events, one loaded 10 hours before the newest (late: within the
        # default lookback of 48 hours), one after it (new), under new ids
        for label, shift in (("late", "- interval 10 hour"), ("new", "+ interval 1 hour")):
            connection.execute(f"""
                insert into raw_events
                select id || '-{label}', customer, product, action, happened_at,
                       timestamp '{newest}' {shift}
                from raw_events order by id limit 300""")
        expected = connection.execute("select count(*) from raw_events").fetchone()
    build(project)
    with duckdb.connect(str(database), read_only=True) as connection:
        staged = ("select count(*), count(distinct event_id) from "
                  f"{placed('stg_relation__events')}")
        assert connection.execute(staged).fetchone() == expected * 2

    refreshed = copy_database(database, tmp_path / "full.duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(refreshed))
    build(project, "--full-refresh")
    assert_same_marts(database, refreshed, placed_too=True)

    # A routine run reads only the lookback window: a view rewritten as a like in the team's
    # table is re-read where it was loaded within the window, and not where it was loaded before
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    with duckdb.connect(str(database)) as connection:
        views = "from raw_events where action = 'view' order by loaded_at"
        (oldest,) = connection.execute(f"select id {views} limit 1").fetchone()
        (recent,) = connection.execute(f"select id {views} desc limit 1").fetchone()
        connection.execute("update raw_events set action = 'like' where id in (?, ?)",
                           [oldest, recent])
    build(project)
    with duckdb.connect(str(database), read_only=True) as connection:
        staged = dict(connection.execute(
            f"select event_id, event_type from {placed('stg_relation__events')} "
            "where event_id in (?, ?)", [oldest, recent]).fetchall())
    assert staged == {oldest: "view", recent: "like"}


@pytest.mark.parametrize(("events_model", "named"), [
    ("select 1 as nothing", "no column user_id; no column item_id; no column event_type; "
                            "no column event_time"),
    ("select 'e' as event_id, 'u' as user_id, 'i' as item_id, 'view' as event_type, "
     "true as event_time", "column event_time is boolean; it must be timestamp or text or "
                           "integer or number"),
])
def test_an_events_relation_off_the_contract_fails_naming_its_column(
        consumer, events_model, named):
    project, database = consumer
    (project / "models" / "shop_events.sql").write_text(events_model)
    done = dbt(project, "build", "--select", "+stg_relation__events")
    assert done.returncode != 0
    assert "sqlrec: var events_relation names" in done.stdout
    assert '"shop_events"' in done.stdout and named in done.stdout
    # nothing of sqlrec's was built from it
    assert not {table for table in tables_of(database) if "sqlrec_" in table}


def test_an_events_relation_that_does_not_exist_is_named(consumer):
    project, _ = consumer
    text = (project / "dbt_project.yml").read_text()
    (project / "dbt_project.yml").write_text(
        text.replace("\"{{ ref('shop_events') }}\"", "main.no_such_events"))
    done = dbt(project, "build", "--select", "stg_relation__events")
    assert done.returncode != 0
    assert ("sqlrec: var events_relation names main.no_such_events, which is not a table or "
            "view in the warehouse") in done.stdout


def test_the_python_steps_and_the_service_run_from_the_consumer_project(
        consumer_copy, small_lake_refreshed, monkeypatch):
    """`sqlrec refresh --project-dir` builds, trains and blends in the team's project, and
    `sqlrec serve` from it serves the lists: the same as the standalone project's refresh. Both
    find sqlrec's tables where the team placed them; the trained lists stay in the target's
    schema, where the trained_lists source reads them."""
    from fastapi.testclient import TestClient

    from sqlrec.config import Settings
    from sqlrec.service.app import create_app

    project, database = consumer_copy
    done = subprocess.run(
        [str(Path(dbt_executable()).parent / "sqlrec"), "refresh", "--project-dir", str(project),
         "--factors", str(SMALL_REFRESH_ALS.factors),
         "--iterations", str(SMALL_REFRESH_ALS.iterations), "--quiet"],
        capture_output=True, text=True, cwd=project.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "built, trained and blended the events of {{ ref('shop_events') }}" in done.stdout
    assert_same_marts(database, small_lake_refreshed)
    assert {"main.als_user_recommendations", "main.ease_user_recommendations",
            "main.model_runs"} <= tables_of(database)

    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(project))
    user, expected = read_table(database, placed("user_recommendations"), "user_id, rank").pipe(
        lambda lists: (lists.user_id.iloc[0], lists[lists.user_id == lists.user_id.iloc[0]]))
    with TestClient(create_app(Settings(reload_interval_s=0))) as client:
        answer = client.get(f"/users/{user}/recommendations", params={"k": len(expected)})
    assert answer.status_code == 200, answer.text
    assert [row["item_id"] for row in answer.json()["items"]] == expected.item_id.tolist()


def test_events_from_a_relation_without_a_catalogue_read_no_lake(consumer):
    """With events_relation alone the catalogue is empty (every item available) and no lake is
    read; the team's own --vars are the team's business, not sqlrec's unknown vars."""
    project, database = consumer
    text = (project / "dbt_project.yml").read_text()
    (project / "dbt_project.yml").write_text(
        "\n".join(line for line in text.splitlines() if "catalog_relation" not in line))
    done = dbt(project, "build", "--select", "stg_relation__items",
               "--vars", "{shop_only_var: 1}")
    assert done.returncode == 0, done.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as connection:
        catalogue = f"select count(*) from {placed('stg_relation__items')}"
        assert connection.execute(catalogue).fetchone() == (0,)
    assert placed("stg_lake__items") not in tables_of(database)


def test_without_loaded_at_event_time_is_the_watermark_and_a_future_row_stops_nothing(consumer):
    """With no loaded_at column a routine run follows event_time. A future-dated row (rejected
    downstream) must not become the next run's cutoff, and a row without an event_time is kept
    once: a later run still stages new rows, each once."""
    project, database = consumer
    (project / "models" / "shop_events.sql").write_text(
        CONSUMER_EVENTS_MODEL.replace("happened_at as event_time,", "happened_at as event_time")
        .replace("    loaded_at\n", ""))
    with duckdb.connect(str(database)) as connection:
        for suffix, happened_at in (("future", "timestamp '2099-01-01'"), ("no-time", "null")):
            connection.execute(f"""
                insert into raw_events
                select id || '-{suffix}', customer, product, action, {happened_at}, loaded_at
                from raw_events order by id limit 1""")
    staged = f"select count(*), count(distinct event_id) from {placed('stg_relation__events')}"
    raw = "select count(*) from raw_events"
    build(project, "--select", "+stg_relation__events")
    with duckdb.connect(str(database)) as connection:
        assert connection.execute(staged).fetchone() == connection.execute(raw).fetchone() * 2
        connection.execute("""
            insert into raw_events
            select id || '-new', customer, product, action,
                   (select max(happened_at) from raw_events
                    where happened_at < current_timestamp) + interval 1 minute, loaded_at
            from raw_events order by id limit 5""")
        expected = connection.execute(raw).fetchone() * 2
    ran = dbt(project, "run", "--select", "stg_relation__events")
    assert ran.returncode == 0, ran.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as connection:
        assert connection.execute(staged).fetchone() == expected
        new = f"select count(*) from {placed('stg_relation__events')} where event_id like '%-new'"
        assert connection.execute(new).fetchone() == (5,)


def test_a_team_replaces_sqlrecs_event_weights_with_its_own_seed(consumer, small_lake,
                                                                  monkeypatch):
    """sqlrec's seed disabled and one of the team's of that name: the scores dbt builds and the
    weights the Python steps read are the team's."""
    from sqlrec.data import seeds

    from reference import read_events, user_item_scores

    project, database = consumer
    team_weights = {"view": 2.0, "like": 1.0, "cart": 1.0, "purchase": 7.0}
    (project / "seeds").mkdir()
    (project / "seeds" / "event_weights.csv").write_text(
        "event_type,weight\n" + "".join(f"{kind},{w:g}\n" for kind, w in team_weights.items()))
    with (project / "dbt_project.yml").open("a") as file:
        file.write("seeds:\n  sqlrec:\n    event_weights:\n      +enabled: false\n")
    build(project, "--select", "+int_user_item_scores", "--indirect-selection", "cautious",
          "--vars", "{half_life_days: 0}")

    events = read_events(small_lake)
    expected = user_item_scores(events, half_life_days=0, weights=team_weights)
    sqlrecs = user_item_scores(events, half_life_days=0)  # sqlrec's own weights
    actual = read_table(database, placed("int_user_item_scores"), "user_id, item_id")
    assert len(actual) == len(expected)
    merged = (actual.merge(expected, on=["user_id", "item_id"], validate="one_to_one")
              .merge(sqlrecs, on=["user_id", "item_id"], suffixes=("", "_sqlrec")))
    np.testing.assert_allclose(merged["score"], merged["w"], rtol=1e-12)
    assert not np.allclose(merged["score"], merged["w_sqlrec"])

    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(project))
    assert seeds.event_weights() == team_weights
