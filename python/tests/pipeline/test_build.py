"""`build`: the dbt project end to end on hand-built and generated lakes: incremental runs,
idempotence, bad input, the optional parts of the input contract."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sqlrec.data.generate import generate_lake
from sqlrec.errors import UserError
from sqlrec.pipeline.build import build
from sqlrec.pipeline.dbt import run_dbt

from helpers import build_into, log_damped, read_table, seed_event_weights

MARTS = {
    "item_similarity": "item_id, rank",
    "popular_items": "scope, category, rank",
    "user_recent_items": "user_id, recency_rank",
    "user_recommendations": "user_id, rank",
    "events_rejected": "event_date, event_id, reason",
    "int_user_item_scores": "user_id, item_id",
}


def assert_same_marts(database_a, database_b):
    for table, order_by in MARTS.items():
        a, b = read_table(database_a, table, order_by), read_table(database_b, table, order_by)
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-12, obj=table)


@pytest.fixture(scope="module")
def lake_with_bad_rows(tmp_path_factory):
    lake = tmp_path_factory.mktemp("bad_lake")
    generate_lake(lake, users=800, items=300, events=20_000, days=6, seed=3, bad_rows=60,
                  overwrite=True)
    return lake


@pytest.mark.slow
def test_incremental_runs_equal_a_full_refresh_and_repeat_runs_change_nothing(
    lake_with_bad_rows, tmp_path, monkeypatch
):
    partitions = sorted((lake_with_bad_rows / "events").iterdir())
    growing = tmp_path / "growing"
    shutil.copytree(lake_with_bad_rows / "catalog", growing / "catalog")
    for partition in partitions[:-1]:
        shutil.copytree(partition, growing / "events" / partition.name)

    incremental_db = tmp_path / "incremental.duckdb"
    build_into(incremental_db, growing, monkeypatch, data_tests=False)
    first = {table: read_table(incremental_db, table, order) for table, order in MARTS.items()}

    # a second run with no new partition changes nothing
    build_into(incremental_db, growing, monkeypatch, data_tests=False)
    for table, order_by in MARTS.items():
        pd.testing.assert_frame_equal(first[table], read_table(incremental_db, table, order_by))

    # the new day arrives, carrying a repeat of an event_id already staged from an earlier day
    shutil.copytree(partitions[-1], growing / "events" / partitions[-1].name)
    earlier = pq.read_table(next(partitions[0].glob("*.parquet"))).slice(0, 1)
    repeat = earlier.set_column(
        earlier.schema.get_field_index("event_time"), "event_time",
        pa.array([dt.datetime.strptime(partitions[-1].name.split("=")[1], "%Y-%m-%d")],
                 pa.timestamp("us")),
    )
    pq.write_table(repeat, growing / "events" / partitions[-1].name / "late-repeat.parquet")
    build_into(incremental_db, growing, monkeypatch, data_tests=False)

    full_db = tmp_path / "full.duckdb"
    build_into(full_db, growing, monkeypatch, full_refresh=True,
               data_tests=False)
    assert_same_marts(incremental_db, full_db)

    with duckdb.connect(str(incremental_db), read_only=True) as connection:
        staged = connection.execute(
            "select count(*), count(distinct event_date) from stg_lake__events"
        ).fetchall()[0]
        repeat_reason = connection.execute(
            "select reason from events_rejected where event_id = ? and event_date = ?",
            [earlier.column("event_id")[0].as_py(),
             dt.date.fromisoformat(partitions[-1].name.split("=")[1])],
        ).fetchall()
    expected_rows = sum(pq.read_metadata(path).num_rows
                        for path in (growing / "events").glob("*/*.parquet"))
    assert staged == (expected_rows, len(partitions))
    assert repeat_reason == [("duplicate_event_id",)]


@pytest.mark.slow
def test_bad_rows_are_kept_in_events_rejected_with_their_reason(
    lake_with_bad_rows, tmp_path, monkeypatch
):
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, lake_with_bad_rows, monkeypatch)
    with duckdb.connect(str(database), read_only=True) as connection:
        reasons = dict(connection.execute(
            "select reason, count(*) from events_rejected group by reason").fetchall())
        valid = connection.execute("select count(*) from int_valid_events").fetchall()[0][0]
    # the generator spreads 60 bad rows evenly over its six kinds of defect
    assert reasons == {
        "missing_user_id": 10, "missing_item_id": 10, "unknown_event_type": 10,
        "future_event_time": 10, "missing_event_time": 10, "duplicate_event_id": 10,
    }
    assert valid == 20_000


@pytest.mark.slow
def test_string_times_integer_ids_no_event_id_and_no_catalogue(tmp_path, monkeypatch):
    """The optional parts of the input contract: a lake a user might hand over."""
    partition = tmp_path / "lake" / "events" / "event_date=2026-10-01"
    partition.mkdir(parents=True)
    pq.write_table(pa.table({
        "user_id": pa.array([1, 1, 2, 2, 3, 3, None], pa.int64()),
        "item_id": pa.array([10, 11, 10, 11, 10, 12, 10], pa.int64()),
        "event_type": ["view", "VIEW", "like", "view", "view", "view", "view"],
        "event_time": ["2026-10-01 10:00:00", "2026-10-01 10:05:00", "2026-10-01 11:00:00",
                       "2026-10-01 11:01:00", "not a time", "2026-10-01 12:00:00",
                       "2026-10-01 12:00:00"],
    }), partition / "part-0.parquet")
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, tmp_path / "lake", monkeypatch,  # the cosine: its scores are worked below
               extra_vars={"min_common_users": 1, "half_life_days": 0, "similarity": "cosine"})

    rejected = read_table(database, "events_rejected", "reason")
    assert list(rejected["reason"]) == ["missing_user_id", "unparsable_event_time"]
    assert list(rejected["event_time"]) == ["2026-10-01 12:00:00", "not a time"]

    similarity = read_table(database, "item_similarity", "item_id, rank")
    assert set(similarity["item_id"]) == {"10", "11"}  # ids come out as strings
    # users 1 and 2 both hold 10 and 11 (user 3's only valid event is item 12); no decay:
    # user 1 viewed each once, user 2 liked 10 and viewed 11
    weights = seed_event_weights()
    w = {("1", "10"): log_damped(weights["view"]), ("1", "11"): log_damped(weights["view"]),
         ("2", "10"): log_damped(weights["like"]), ("2", "11"): log_damped(weights["view"]),
         ("3", "12"): log_damped(weights["view"])}
    n1 = np.array([w["1", "10"], w["1", "11"]]) / np.linalg.norm([w["1", "10"], w["1", "11"]])
    n2 = np.array([w["2", "10"], w["2", "11"]]) / np.linalg.norm([w["2", "10"], w["2", "11"]])
    column_10, column_11 = np.array([n1[0], n2[0]]), np.array([n1[1], n2[1]])
    expected = column_10 @ column_11 / (np.linalg.norm(column_10) * np.linalg.norm(column_11))
    assert similarity[["item_id", "similar_item_id", "rank", "common_users"]].values.tolist() == [
        ["10", "11", 1, 2], ["11", "10", 1, 2]]
    assert similarity["score"].tolist() == pytest.approx([expected, expected], rel=1e-12)

    # Nobody gets a similar item they do not already hold, so every list is popular fill, in
    # the order of the items' summed w, scaled by the top one; with no catalogue every item
    # counts as available and may be recommended.
    total = {"10": w["1", "10"] + w["2", "10"], "11": w["1", "11"] + w["2", "11"],
             "12": w["3", "12"]}
    assert total["10"] > total["11"] > total["12"]
    top = total["10"]
    recommendations = read_table(database, "user_recommendations", "user_id, rank")
    assert recommendations[["user_id", "item_id", "rank", "source"]].values.tolist() == [
        ["1", "12", 1, "popular"], ["2", "12", 1, "popular"],
        ["3", "10", 1, "popular"], ["3", "11", 2, "popular"]]
    assert recommendations["score"].tolist() == pytest.approx(
        [total["12"] / top, total["12"] / top, 1.0, total["11"] / top], rel=1e-12)


@pytest.mark.slow
def test_ids_and_event_types_are_trimmed_and_blank_ids_rejected(tmp_path, monkeypatch):
    """Whitespace around an id or event type is cleaning, not identity: ' u1 ' and '\tu3' are
    users u1 and u3. An id of spaces only is a missing id."""
    partition = tmp_path / "lake" / "events" / "event_date=2026-10-01"
    partition.mkdir(parents=True)
    pq.write_table(pa.table({
        "event_id": ["e1", " e2", "e3 ", "e4", "e5", "e6", "  "],
        "user_id": ["u1", " u1 ", "u2", "   ", "u2", "\tu3", "u4"],
        "item_id": ["i1", "i2  ", " i1", "i1", "i2", "i1", "i1"],
        "event_type": ["view", " View ", "view ", "view", "like", "view", "view"],
        "event_time": pa.array([dt.datetime(2026, 10, 1, 10, minute) for minute in range(7)]),
    }), partition / "part-0.parquet")
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, tmp_path / "lake", monkeypatch, extra_vars={"min_common_users": 1})

    with duckdb.connect(str(database), read_only=True) as connection:
        staged = connection.execute(
            "select event_id, user_id, item_id, event_type, reject_reason "
            "from int_events_checked order by event_at").fetchall()
    assert staged == [
        ("e1", "u1", "i1", "view", None),
        ("e2", "u1", "i2", "view", None),
        ("e3", "u2", "i1", "view", None),
        ("e4", None, "i1", "view", "missing_user_id"),
        ("e5", "u2", "i2", "like", None),
        ("e6", "u3", "i1", "view", None),
        (None, "u4", "i1", "view", None),
    ]


def test_missing_lake_fails_with_a_message_naming_the_path(tmp_path):
    missing = tmp_path / "no-such-lake"
    with pytest.raises(UserError, match=str(missing / "events")):
        build(missing)


@pytest.mark.slow
def test_dbt_itself_names_a_missing_events_path(tmp_path):
    """Users who call dbt directly with a wrong var get the path back, not a stack trace."""
    missing_glob = str(tmp_path / "nowhere" / "events" / "*" / "*.parquet")
    with pytest.raises(UserError) as failure:
        run_dbt(["build", "--select", "stg_lake__events"],
                dbt_vars={"events_path": missing_glob}, quiet=True)
    assert f"No event files match events_path '{missing_glob}'" in str(failure.value)
    assert "Traceback" not in str(failure.value)


@pytest.mark.slow
def test_the_popular_fill_scores_below_every_personalised_item(tmp_path, monkeypatch):
    """Down a user's list the score never increases, so a client sorting by score keeps the
    list's order: a user's popular fill scores its popularity times half the user's lowest
    personalised score. u3 holds 10 only and gets 11 and 13 (10's neighbours, 13 the weaker);
    12, the most popular item, fills after them. u4 has no neighbours: popularity as it is."""
    from sqlrec.data.lake import write_lake

    from helpers import T0, events_frame

    held = {"u1": ["10", "11", "13"], "u2": ["10", "11"], "u3": ["10"],
            **{f"u{n}": ["12"] for n in range(4, 9)}}
    write_lake(events_frame([(user, item, "view", T0 + pd.Timedelta(minutes=n))
                             for user, items in held.items() for n, item in enumerate(items)]),
               tmp_path / "lake")
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, tmp_path / "lake", monkeypatch, extra_vars={"min_common_users": 1})

    popularity = {item: score for item, score in duckdb.connect(str(database), read_only=True)
                  .execute("select item_id, score from popular_items where scope = 'global'")
                  .fetchall()}
    rows = read_table(database, "user_recommendations", "user_id, rank")
    u3 = rows[rows["user_id"] == "u3"]
    assert u3[["item_id", "source"]].values.tolist() == [
        ["11", "item_similarity"], ["13", "item_similarity"], ["12", "popular"]]
    lowest = u3["score"].iloc[1]
    assert lowest < popularity["12"] == 1.0  # the case: raw popularity would rank above 13
    assert u3["score"].iloc[2] == pytest.approx(popularity["12"] * lowest / 2, rel=1e-12)
    u4 = rows[rows["user_id"] == "u4"]
    assert u4["score"].tolist() == pytest.approx(
        [popularity[item] for item in u4["item_id"]], rel=1e-12)
    for _, ranked in rows.groupby("user_id"):
        assert (ranked["score"].diff().dropna() <= 0).all(), ranked
