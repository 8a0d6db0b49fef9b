"""What staging makes of the lake: late and changed files, id and time formats, contract
violations, the quality gate, var checks and hostile var values."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec.data.generate import generate_lake
from sqlrec.errors import UserError
from sqlrec.pipeline.build import build

from helpers import build_into, read_table

# every test runs dbt on a lake of its own or a copy of a build
pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[3]

# What a full refresh and a routine run must agree on.
MARTS = {
    "stg_lake__events": "source_file, event_at, event_id",
    "item_similarity": "item_id, rank",
    "popular_items": "scope, category, rank",
    "user_recent_items": "user_id, recency_rank",
    "user_recommendations": "user_id, rank",
    "events_rejected": "event_date, event_id, reason, source_file",
    "int_user_item_scores": "user_id, item_id",
    "int_event_counts": "outcome",
}


def assert_same_tables(database_a: Path, database_b: Path) -> None:
    import pandas as pd

    for table, order_by in MARTS.items():
        pd.testing.assert_frame_equal(read_table(database_a, table, order_by),
                                      read_table(database_b, table, order_by),
                                      check_exact=False, rtol=1e-12, obj=table)


def write_events(path: Path, **columns) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), path)


def dbt(*args: str, **env) -> subprocess.CompletedProcess:
    """Plain `dbt` in the project, as a user would run it (profile and database from env)."""
    import os

    return subprocess.run([str(Path(sys.executable).parent / "dbt"), *args],
                          cwd=PROJECT_DIR, capture_output=True, text=True,
                          env={**os.environ, **env})


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory) -> Path:
    lake = tmp_path_factory.mktemp("late_lake")
    generate_lake(lake, users=600, items=200, events=12_000, days=5, seed=5, bad_rows=30,
                  overwrite=True)
    return lake


# ---------- late and changed files (issue: late data is dropped for good)

def test_late_files_and_late_days_give_the_marts_of_a_full_refresh(generated_lake, tmp_path,
                                                                 monkeypatch):
    """(a) a file added to days already staged, the newest one included, and (b) a whole day
    older than the newest staged day, added after a build: the next routine build must read
    them all, exactly as a full refresh does."""
    lake = tmp_path / "lake"
    shutil.copytree(generated_lake, lake)
    days = sorted((lake / "events").iterdir())
    held_back = tmp_path / "held" / days[2].name
    shutil.move(days[2], held_back)
    routine = tmp_path / "routine.duckdb"
    build_into(routine, lake, monkeypatch, data_tests=False)

    shutil.move(held_back, days[2])  # (b) a middle day arrives late
    for day in (days[1], days[-1]):  # (a) a late file in an old day and in the newest day
        late = pq.read_table(next(day.glob("*.parquet"))).slice(0, 40)
        late = late.set_column(late.schema.get_field_index("event_id"), "event_id",
                               pa.array([f"late-{day.name}-{n}" for n in range(late.num_rows)]))
        pq.write_table(late, day / "late-arrival.parquet")
    build_into(routine, lake, monkeypatch, data_tests=False)

    full = tmp_path / "full.duckdb"
    build_into(full, lake, monkeypatch, full_refresh=True, data_tests=False)
    assert_same_tables(routine, full)
    staged = read_table(routine, "stg_lake__events", "source_file")
    lake_rows = sum(pq.read_metadata(path).num_rows for path in lake.glob("events/*/*.parquet"))
    assert len(staged) == lake_rows
    assert set(staged["source_file"]) == {str(path) for path in lake.glob("events/*/*.parquet")}


def test_a_changed_file_is_read_again_and_reported(generated_lake, tmp_path, monkeypatch, capfd):
    lake = tmp_path / "lake"
    shutil.copytree(generated_lake, lake)
    routine = tmp_path / "routine.duckdb"
    build_into(routine, lake, monkeypatch, data_tests=False)

    changed = next((sorted((lake / "events").iterdir())[1]).glob("*.parquet"))
    pq.write_table(pq.read_table(changed).slice(0, 100), changed)  # rewritten, 100 rows left
    capfd.readouterr()
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(routine))
    build(lake, data_tests=False)  # not quiet: the log says what changed
    printed = capfd.readouterr().out
    assert "1 staged file(s) changed since they were read and are read again" in printed
    assert str(changed) in printed

    full = tmp_path / "full.duckdb"
    build_into(full, lake, monkeypatch, full_refresh=True, data_tests=False)
    assert_same_tables(routine, full)
    with duckdb.connect(str(routine), read_only=True) as connection:
        rows_of_changed = connection.execute(
            "select count(*) from stg_lake__events where source_file = ?", [str(changed)]
        ).fetchall()[0][0]
    assert rows_of_changed == 100


def test_a_removed_file_keeps_its_rows_and_is_reported(generated_lake, tmp_path, monkeypatch,
                                                      capfd):
    lake = tmp_path / "lake"
    shutil.copytree(generated_lake, lake)
    database = tmp_path / "routine.duckdb"
    build_into(database, lake, monkeypatch, data_tests=False)
    before = len(read_table(database, "stg_lake__events", "source_file"))
    removed = next(sorted((lake / "events").iterdir())[0].glob("*.parquet"))
    removed.unlink()
    capfd.readouterr()
    build(lake, data_tests=False)
    printed = capfd.readouterr().out
    assert "1 staged file(s) are no longer in the lake; their rows stay staged" in printed
    assert len(read_table(database, "stg_lake__events", "source_file")) == before


# ---------- ids and times as lakes really hold them

@pytest.fixture(scope="module")
def messy_database(tmp_path_factory) -> Path:
    """Partitions written by different tools: integer ids, float ids, string ids padded with
    tabs, newlines and no-break spaces; epoch seconds, milliseconds, microseconds, epoch text."""
    root = tmp_path_factory.mktemp("messy")
    lake = root / "lake"
    seconds = int(dt.datetime(2026, 10, 1, 8, tzinfo=dt.UTC).timestamp())
    write_events(lake / "events" / "event_date=2026-10-01" / "ints.parquet",
                 user_id=pa.array([1, 2, 3], pa.int64()),
                 item_id=pa.array([1427, 1428, 1427], pa.int64()),
                 event_type=["view", "view", "cart"],
                 event_time=pa.array([seconds, seconds * 1000 + 250, seconds * 1_000_000 + 7],
                                     pa.int64()))
    write_events(lake / "events" / "event_date=2026-10-02" / "floats.parquet",
                 user_id=pa.array([1.0, 2.0]),
                 item_id=pa.array([1428.0, 1429.0]),
                 event_type=["VIEW ", "\tlike"],
                 event_time=pa.array([float(seconds + 86_400), float(seconds + 86_401)]))
    write_events(lake / "events" / "event_date=2026-10-03" / "strings.parquet",
                 user_id=["\u00a03\u00a0", "\u3000", "1\n", " 2\t"],
                 item_id=["\t1429\t", "1427", "\u2003", "1427.0"],
                 event_type=["view", "view", "view", "like"],
                 event_time=["2026-10-03 09:00:00", "2026-10-03 09:01:00",
                             str(seconds + 2 * 86_400), "2026-10-03 09:03:00"])
    write_events(lake / "catalog" / "items.parquet",
                 item_id=pa.array([1427, 1428, 1429], pa.int64()),
                 category=["sneakers", "tech", "life"],
                 is_available=[True, False, True])
    database = root / "messy.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        build_into(database, lake, monkeypatch, extra_vars={"min_common_users": 1})
    return database


def staged_rows(database: Path) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute(
            "select event_date::varchar, user_id, item_id, event_type, event_at, reject_reason "
            "from int_events_checked order by event_date, event_at, user_id nulls first, item_id"
        ).fetchall()


def test_integral_float_ids_join_integer_ids_and_the_catalogue(messy_database):
    """1427.0 in one partition and 1427 in another are one item, "1427", as in the catalogue."""
    ids = {(row[1], row[2]) for row in staged_rows(messy_database) if row[5] is None}
    assert {item for _, item in ids} == {"1427", "1428", "1429"}
    assert {user for user, _ in ids} == {"1", "2", "3"}
    items = read_table(messy_database, "int_items_enriched", "item_id")
    assert items[["item_id", "category", "is_available"]].values.tolist() == [
        ["1427", "sneakers", True], ["1428", "tech", False], ["1429", "life", True]]
    recommended = set(read_table(messy_database, "user_recommendations", "user_id")["item_id"])
    assert "1428" not in recommended  # sold out in the catalogue, which now joins


def test_unicode_whitespace_is_trimmed_and_blank_ids_are_missing(messy_database):
    october_3 = [row for row in staged_rows(messy_database) if row[0] == "2026-10-03"]
    assert [(row[1], row[2], row[3], row[5]) for row in october_3] == [  # by event time
        ("1", None, "view", "missing_item_id"),  # "1\n"; U+2003 alone is no id
        ("3", "1429", "view", None),  # NBSP and tabs around the ids
        (None, "1427", "view", "missing_user_id"),  # U+3000 alone is no id
        ("2", "1427", "like", None),  # " 2\t", "1427.0"
    ]
    october_2 = [row for row in staged_rows(messy_database) if row[0] == "2026-10-02"]
    assert [row[3] for row in october_2] == ["view", "like"]  # "VIEW " and "\tlike"


def test_epoch_seconds_milliseconds_and_microseconds_are_event_times(messy_database):
    start = dt.datetime(2026, 10, 1, 8)
    by_day = {}
    for row in staged_rows(messy_database):
        by_day.setdefault(row[0], []).append(row[4])
    assert by_day["2026-10-01"] == [start, start + dt.timedelta(microseconds=7),
                                    start + dt.timedelta(milliseconds=250)]
    assert by_day["2026-10-02"] == [start + dt.timedelta(days=1),
                                    start + dt.timedelta(days=1, seconds=1)]
    assert start + dt.timedelta(days=2) in by_day["2026-10-03"]  # epoch seconds as text


def test_an_item_sold_out_in_one_catalogue_file_is_sold_out_and_the_conflict_is_reported(
        tmp_path, monkeypatch):
    """Item c is available in one catalogue file and sold out in another: sold out wins, so c is
    never recommended, and a warn-severity test counts the one conflicting item."""
    from sqlrec.data.lake import write_lake

    from helpers import T0, dbt_target_dir, events_frame

    held = {"u1": ["a", "b", "c"], "u2": ["a", "b"], "u3": ["a"]}
    lake = tmp_path / "lake"
    write_lake(events_frame([(user, item, "view", T0 + dt.timedelta(minutes=n))
                             for user, items in held.items() for n, item in enumerate(items)]),
               lake)
    write_events(lake / "catalog" / "items.parquet", item_id=["a", "b", "c"],
                 is_available=[True, True, True])
    write_events(lake / "catalog" / "sold.parquet", item_id=["c"], is_available=[False])
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, lake, monkeypatch, extra_vars={"min_common_users": 1})

    items = read_table(database, "stg_lake__items", "item_id")
    assert items[["item_id", "is_available"]].values.tolist() == [
        ["a", True], ["b", True], ["c", False]]
    recommended = read_table(database, "user_recommendations", "user_id, rank")
    # u2 and u3 would get c (a neighbour of a and b, and popular) were it available
    assert "c" not in set(recommended["item_id"])
    assert set(recommended["user_id"]) == {"u3"}  # b, the one item u3 may still get
    results = json.loads((dbt_target_dir() / "run_results.json").read_text())["results"]
    conflicts = [result for result in results
                 if "catalogue_availability_conflicts" in result["unique_id"]]
    assert [(result["status"], result["failures"]) for result in conflicts] == [("warn", 1)]


# ---------- failing loudly

def all_rejected_lake(root: Path) -> Path:
    write_events(root / "events" / "event_date=2026-10-01" / "part-0.parquet",
                 user_id=[None, None, "u1", "u2", "u3"], item_id=["i1", "i2", "i1", "i2", "i1"],
                 event_type=["view", "view", "click", "view", "view"],
                 event_time=["2026-10-01 10:00:00"] * 3 + ["not a time", "0001-01-01 10:00:00"])
    return root


def test_a_lake_without_a_valid_event_fails_with_counts_by_reason(tmp_path, monkeypatch):
    database = tmp_path / "sqlrec.duckdb"
    with pytest.raises(UserError) as failure:
        build_into(database, all_rejected_lake(tmp_path / "lake"), monkeypatch)
    message = str(failure.value)
    assert "0 of 5 events are valid" in message
    # year 1 (before var min_event_time) is rejected, not counted valid and then lost
    assert ("missing_user_id 2, too_old_event_time 1, unknown_event_type 1, "
            "unparsable_event_time 1") in message
    assert len(read_table(database, "events_rejected", "reason")) == 5  # still there to inspect
    with duckdb.connect(str(database), read_only=True) as connection:
        tables = {row[0] for row in connection.execute("show tables").fetchall()}
    assert "user_recommendations" not in tables and "item_similarity" not in tables
    assert not Path(str(database) + ".built").exists()  # never marked as a finished build


def test_a_rejected_share_above_the_var_fails_and_the_var_can_raise_it(tmp_path, monkeypatch):
    lake = tmp_path / "lake"
    write_events(lake / "events" / "event_date=2026-10-01" / "part-0.parquet",
                 user_id=["u1", "u1", "u2", None, None, None],
                 item_id=["i1", "i2", "i1", "i1", "i1", "i1"],
                 event_type=["view"] * 6, event_time=["2026-10-01 10:00:00"] * 6)
    with pytest.raises(UserError, match="3 of 6 events are valid; rejected by reason: "
                                        "missing_user_id 3"):
        build_into(tmp_path / "a.duckdb", lake, monkeypatch, extra_vars={"max_rejected_share": 0.4})
    build_into(tmp_path / "b.duckdb", lake, monkeypatch, extra_vars={"max_rejected_share": 0.5,
                                                                     "min_common_users": 1})
    counts = read_table(tmp_path / "b.duckdb", "int_event_counts", "outcome")
    assert dict(zip(counts["outcome"], counts["events"], strict=True))["missing_user_id"] == 3


# each bad var with the line validate_vars gives it; one run gets them all, as it reports every
# problem at once (a run per var would pay dbt's start-up six times)
BAD_VARS = {
    "half_life_days": ("abc", 'half_life_days is "abc"; it must be a number >= 0'),
    "top_k": (-1, "top_k is -1; it must be an integer >= 1"),
    "as_of": ("yesterday", 'as_of is "yesterday"; it must be null'),
    "max_rejected_share": (2, "max_rejected_share is 2; it must be a number from 0 to 1"),
    "min_event_time": ("long ago", 'min_event_time is "long ago"; it must be a timestamp'),
    "min_common_users": (True, "min_common_users is true; it must be an integer >= 1"),
}


def test_bad_vars_stop_the_run_before_any_table_is_replaced_each_named(small_lake,
                                                                        small_lake_database,
                                                                        monkeypatch):
    database = small_lake_database
    before = read_table(database, "item_similarity", "item_id, rank")
    with pytest.raises(UserError) as failure:
        build_into(database, small_lake, monkeypatch,
                   extra_vars={name: value for name, (value, _) in BAD_VARS.items()})
    message = str(failure.value)
    for name, (_, expected) in BAD_VARS.items():
        assert expected in message, name
    assert message.count("\n  - ") == len(BAD_VARS)  # one line per bad var, nothing else
    assert "nothing was built" in message
    import pandas as pd

    pd.testing.assert_frame_equal(read_table(database, "item_similarity", "item_id, rank"), before)


def test_plain_dbt_refuses_an_unknown_var_before_building_and_accepts_every_declared_one(
        small_lake, tmp_path):
    """A typo in --vars (top_kk) was ignored: dbt built with top_k's default, exit 0. Every var
    dbt_project.yml declares (and the lake's, which sqlrec passes) is accepted alongside."""
    from sqlrec import project

    database = tmp_path / "never-built.duckdb"
    declared = project.dbt_var_defaults()
    completed = dbt("build", "--vars", json.dumps({**declared, **project.lake_vars(small_lake),
                                                   "top_kk": 5}),
                    SQLREC_DUCKDB_PATH=str(database))
    assert completed.returncode != 0
    assert "unknown var top_kk (did you mean top_k?)" in completed.stdout
    assert completed.stdout.count("unknown var") == 1  # only the typo, no declared var
    assert "nothing was built" in completed.stdout
    with duckdb.connect(str(database)) as connection:
        assert connection.sql("show all tables").fetchall() == []


def test_contract_violations_name_the_file_the_column_and_what_was_expected(tmp_path):
    lake = tmp_path / "lake"
    good = {"user_id": ["u1"], "item_id": ["i1"], "event_type": ["view"],
            "event_time": ["2026-10-01 10:00:00"]}
    write_events(lake / "events" / "event_date=2026-10-01" / "good.parquet", **good)
    write_events(lake / "events" / "event_date=2026-10-01" / "no-item.parquet",
                 **{k: v for k, v in good.items() if k != "item_id"})
    write_events(lake / "events" / "2026-10-02" / "unpartitioned.parquet", **good)
    (lake / "events" / "event_date=2026-10-01" / "export.csv").write_text("user_id\nu1\n")
    (lake / "events" / "event_date=2026-10-01" / "_SUCCESS").write_text("")  # a writer's own
    completed = dbt("build", "--vars", json.dumps({
        "events_path": str(lake / "events" / "*" / "*.parquet"),
        "catalog_path": str(lake / "catalog" / "*.parquet")}))
    assert completed.returncode != 0
    output = completed.stdout
    assert f"{lake}/events/event_date=2026-10-01/no-item.parquet: no column item_id " \
           "(expected user_id, item_id, event_type, event_time [, event_id])" in output
    assert f"{lake}/events/2026-10-02/unpartitioned.parquet: not in an event_date=YYYY-MM-DD " \
           "folder" in output
    assert f"{lake}/events/event_date=2026-10-01/export.csv: not a Parquet file" in output
    assert "_SUCCESS" not in output
    assert "Traceback" not in output


# ---------- hostile values

def test_a_lake_path_with_a_quote_builds(small_lake, tmp_path, monkeypatch):
    lake = tmp_path / "o'brien's lake"
    shutil.copytree(small_lake, lake)
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, lake, monkeypatch)
    assert len(read_table(database, "item_similarity", "item_id")) > 0


def test_sql_in_a_path_var_is_a_path_not_sql(small_lake, tmp_path):
    written = tmp_path / "pwned.csv"
    hostile = f"{small_lake}/events/*/*.parquet') to '{written}' (format csv); --"
    completed = dbt("compile", "--select", "stg_lake__events", "--vars",
                    json.dumps({"events_path": hostile}))
    assert not written.exists()
    assert "No event files match events_path" in completed.stdout


def test_related_items_analysis_quotes_its_item_id(small_lake_database):
    database = small_lake_database
    item = read_table(database, "item_similarity", "item_id")["item_id"].iloc[0]
    rows = {}
    for name, value in (("real", item), ("hostile", "nope' or '1'='1")):
        completed = dbt("show", "--select", "related_items", "--limit", "500", "--output", "json",
                        "--vars", json.dumps({"item_id": value}),
                        SQLREC_DUCKDB_PATH=str(database))
        assert completed.returncode == 0, completed.stdout
        shown, _ = json.JSONDecoder().raw_decode(
            completed.stdout[completed.stdout.index('{\n  "node"'):])
        rows[name] = shown["show"]
    with duckdb.connect(str(database), read_only=True) as connection:
        neighbours = connection.execute("select count(*) from item_similarity where item_id = ?",
                                        [item]).fetchall()[0][0]
    assert len(rows["real"]) == neighbours > 0
    assert rows["hostile"] == []
