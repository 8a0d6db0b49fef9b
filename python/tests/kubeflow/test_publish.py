"""The quality gate's rule, and publishing a candidate DuckDB file to the served one, as the
service sees it."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from sqlrec.errors import UserError
from sqlrec.kubeflow import publish
from sqlrec.kubeflow.publish import PublishedRun, decide
from sqlrec.service.reloading import WarehouseSource
from sqlrec.warehouse.duckdb import DuckDBWarehouse
from sqlrec.warehouse.markers import FINISHED, STARTED


def published(ndcg: float, run_id: str = "run-1") -> PublishedRun:
    return PublishedRun(run_id=run_id, published_at=dt.datetime(2026, 10, 31, 12),
                        ndcg_at_10=ndcg, map_at_10=ndcg / 2, evaluation_run_id="e1",
                        details="{}")


@pytest.mark.parametrize(("ndcg", "last", "max_drop", "expected"), [
    (0.10, None, 0.05, True),     # nothing published yet
    (0.20, 0.20, 0.05, True),     # equal
    (0.19, 0.20, 0.05, True),     # exactly 5% worse: allowed
    (0.1899, 0.20, 0.05, False),  # a hair more than 5% worse
    (0.25, 0.20, 0.0, True),      # better, with no drop allowed
    (0.1999, 0.20, 0.0, False),
    (0.05, 0.20, 1.0, True),      # any drop allowed
    (float("nan"), 0.20, 0.05, False),
])
def test_the_gate_allows_at_most_the_given_relative_drop(ndcg, last, max_drop, expected):
    decision, reason = decide(ndcg, None if last is None else published(last), max_drop)
    assert decision is expected
    assert reason.startswith("published" if expected else "not published")


def test_the_gate_says_what_it_compared():
    decision, reason = decide(0.15, published(0.20, "r-old"), 0.05)
    assert not decision
    assert "NDCG@10 0.1500 against 0.2000 of the last published run r-old (-25.0%" in reason
    assert "allows down to 0.1900" in reason and "the tables of run r-old keep serving" in reason


@pytest.mark.parametrize("max_drop", [-0.01, 1.5])
def test_the_gate_refuses_a_drop_that_is_no_share(max_drop):
    with pytest.raises(UserError, match="max_drop must lie in"):
        decide(0.2, published(0.2), max_drop)


def test_candidate_lies_beside_the_served_file(tmp_path):
    places = publish.resolve("duckdb", str(tmp_path / "sqlrec.duckdb"))
    assert places.served == str(tmp_path / "sqlrec.duckdb")
    assert places.candidate == str(tmp_path / "sqlrec.candidate.duckdb")
    assert places.env("candidate") == {"SQLREC_DUCKDB_PATH": places.candidate}


def tiny_build(database, rows: int) -> None:
    """A candidate as a pipeline run leaves it: tables and dbt's finished build markers."""
    store = DuckDBWarehouse(database)
    store.write_table("user_recommendations", pa.table({
        "user_id": [f"u{i}" for i in range(rows)], "item_id": ["i1"] * rows,
        "score": [1.0] * rows, "rank": [1] * rows, "source": ["als"] * rows}))
    store.write_build_marker(STARTED, version="dbt-invocation")
    store.write_build_marker(FINISHED, version="dbt-invocation")


def test_publish_replaces_the_served_file_marks_it_and_keeps_the_history(tmp_path):
    places = publish.resolve("duckdb", str(tmp_path / "served.duckdb"))
    served = DuckDBWarehouse(tmp_path / "served.duckdb")
    tiny_build(tmp_path / "served.candidate.duckdb", rows=2)
    publish.publish(places, published(0.2, "run-a"))
    tiny_build(tmp_path / "served.candidate.duckdb", rows=5)
    publish.publish(places, published(0.21, "run-b"))

    assert served.query("select count(*) as n from user_recommendations")["n"][0].as_py() == 5
    history = served.query("select run_id, ndcg_at_10 from published_runs order by "
                           "published_at, run_id").to_pylist()
    assert history == [{"run_id": "run-a", "ndcg_at_10": 0.2},
                       {"run_id": "run-b", "ndcg_at_10": 0.21}]
    assert publish.last_published(served).run_id == "run-b"
    # both markers name the published run, and the service takes the build as finished
    assert served.read_build_marker(STARTED).version == "run-b"
    assert served.read_build_marker(FINISHED).version == "run-b"
    assert served.read_build_marker(FINISHED).step == "publish"
    state = served.build_state()
    assert state.finished and state.version == "run-b"
    # nothing is left beside the served file but the markers
    assert sorted(path.name for path in tmp_path.glob("served.duckdb*")) == [
        "served.duckdb", "served.duckdb.building", "served.duckdb.built"]
    # the candidate never holds the history of publications
    assert not DuckDBWarehouse(tmp_path / "served.candidate.duckdb").table_exists(
        "published_runs")


def test_the_service_loads_what_was_published(tmp_path, monkeypatch):
    database = tmp_path / "served.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    places = publish.resolve("duckdb", "")
    assert places.served == str(database)
    tiny_build(tmp_path / "served.candidate.duckdb", rows=3)
    source = WarehouseSource("duckdb")
    assert not source.build_state().finished  # nothing served before the publication
    publish.publish(places, published(0.2, "run-a"))
    state = source.build_state()
    assert state.finished and state.version == "run-a"


def test_publishing_without_a_candidate_says_so_and_touches_nothing(tmp_path):
    places = publish.resolve("duckdb", str(tmp_path / "served.duckdb"))
    with pytest.raises(UserError, match="no candidate database"):
        publish.publish(places, published(0.2))
    assert list(tmp_path.iterdir()) == []


class Killed(BaseException):
    """Stands for a SIGKILL at one point of a publication: nothing after it runs."""


@pytest.mark.parametrize("dies_in", ["copy", "checkpoint", "replace"])
def test_a_publication_killed_before_its_replace_counts_as_never_started(tmp_path, monkeypatch,
                                                                         dies_in):
    """A publish killed at any point before the served file is replaced leaves it byte-identical
    and still served as the last finished build; the next run removes what it left."""
    database = tmp_path / "served.duckdb"
    places = publish.resolve("duckdb", str(database))
    tiny_build(tmp_path / "served.candidate.duckdb", rows=2)
    publish.publish(places, published(0.2, "run-a"))
    before = database.read_bytes()

    def dying(real, when):
        def call(*args, **kwargs):
            if when(*args):
                raise Killed
            return real(*args, **kwargs)
        return call

    with monkeypatch.context() as patch:
        if dies_in == "copy":  # copying the candidate beside the served file
            patch.setattr(shutil, "copyfile", dying(shutil.copyfile, lambda *_: True))
        elif dies_in == "checkpoint":  # of the copy, once the history is written into it
            patch.setattr(publish, "_checkpoint", dying(
                publish._checkpoint, lambda path: path.name.endswith(".publishing")))
        else:  # the moment before the copy replaces the served file
            patch.setattr(os, "replace", dying(os.replace, lambda _, to: Path(to) == database))
        tiny_build(tmp_path / "served.candidate.duckdb", rows=5)
        with pytest.raises(Killed):
            publish.publish(places, published(0.21, "run-b"))
    assert database.read_bytes() == before
    state = DuckDBWarehouse(database).build_state()
    assert state.finished and state.version == "run-a", state.waiting_for

    # the next run's gate step (every run has one, published or not) cleans up
    from sqlrec.kubeflow import steps

    assert steps.gate_step("duckdb", str(database), 0.21, 0.05)[0] is True
    assert sorted(path.name for path in tmp_path.glob("served.duckdb*")) == [
        "served.duckdb", "served.duckdb.building", "served.duckdb.built"]
    state = DuckDBWarehouse(database).build_state()
    assert state.finished and state.version == "run-a"
    publish.publish(places, published(0.21, "run-c"))
    assert DuckDBWarehouse(database).build_state().version == "run-c"


def test_the_markers_of_a_publication_are_readable_by_every_user(tmp_path):
    """A service running under another uid reads them, as it reads dbt's (0644)."""
    places = publish.resolve("duckdb", str(tmp_path / "served.duckdb"))
    tiny_build(tmp_path / "served.candidate.duckdb", rows=2)
    publish.publish(places, published(0.2, "run-a"))
    for suffix in (".building", ".built"):
        assert (tmp_path / f"served.duckdb{suffix}").stat().st_mode & 0o777 == 0o644
