"""`sqlrec pipeline run --local`: the pipeline run here with kfp.local on a generated lake,
twice. The first run is published; the second, deliberately worse (a served list of 3 items
instead of 20), is stopped by the quality gate and the served warehouse stays byte for byte
what it was."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from sqlrec import cli
from sqlrec.warehouse.duckdb import DuckDBWarehouse

from helpers import PROJECT_DIR

# two whole pipeline runs
pytestmark = pytest.mark.slow

SERVED_TABLES = ("item_similarity", "user_recommendations", "popular_items",
                 "user_recent_items", "int_items_enriched")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served_files(database: Path) -> dict[str, str]:
    """The served file and its build markers, by content."""
    return {path.name: digest(path) for path in sorted(database.parent.glob(database.name + "*"))
            if not path.name.endswith(".lock")}


def evaluate_metrics(root: Path) -> list[dict]:
    """The evaluate task's metrics artifact of every run under the pipeline root, oldest first
    (kfp.local writes each task's executor output into <root>/<run>/<task>/)."""
    found = []
    for run in sorted(root.iterdir()):
        output = json.loads((run / "evaluate" / "executor_output.json").read_text())
        [artifact] = output["artifacts"]["metrics"]["artifacts"]
        found.append(artifact["metadata"])
    return found


def query(database: Path, sql: str):
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.sql(sql).fetchall()


@pytest.fixture(scope="module")
def two_runs(small_lake, tmp_path_factory):
    """Both runs, into a served DuckDB file of their own; what each left behind."""
    folder = tmp_path_factory.mktemp("pipeline")
    database, root = folder / "served.duckdb", folder / "outputs"
    shutil.copyfile(PROJECT_DIR / "profiles" / "profiles.yml", folder / "profiles.yml")
    monkeypatch = pytest.MonkeyPatch()  # module-scoped: the autouse profile comes too late
    monkeypatch.setenv("DBT_PROFILES_DIR", str(folder))
    monkeypatch.setenv("SQLREC_TARGET", "duckdb")
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    common = ["pipeline", "run", "--local", "--lake", str(small_lake), "--pipeline-root",
              str(root), "--device", "cpu"]
    try:
        assert cli.main(common) == 0
        first = {"files": served_files(database),
                 "published": query(database, "select run_id, ndcg_at_10 from published_runs"),
                 "marker": DuckDBWarehouse(database).build_state()}
        assert cli.main([*common, "--vars", "{top_k: 3}"]) == 0
    finally:
        monkeypatch.undo()
    return {"database": database, "root": root, "first": first}


def test_the_first_run_publishes_every_table_the_service_reads(two_runs):
    database = two_runs["database"]
    for table in SERVED_TABLES:
        assert query(database, f"select count(*) from {table}")[0][0] > 0, table
    # the blend of a trained run: ALS and item similarity rows, 20 per user at most
    sources = {row[0] for row in query(database, "select distinct source from "
                                                 "user_recommendations")}
    assert {"als", "item_similarity"} <= sources
    assert query(database, "select max(rank) from user_recommendations")[0][0] == 20
    assert {row[0] for row in query(database, "select model from model_runs")} == {"als", "ease"}


def test_the_published_build_is_marked_finished_under_the_run_id(two_runs):
    state = two_runs["first"]["marker"]
    [(run_id, _)] = two_runs["first"]["published"]
    assert state.finished and not state.writer_active
    assert state.version == run_id


def test_the_metrics_artifact_holds_every_recommender_and_matches_evaluation_metrics(two_runs):
    first, _second = evaluate_metrics(two_runs["root"])
    recommenders = ("popularity", "item_similarity", "als", "ease", "blend")
    for recommender in recommenders:
        for metric in ("ndcg_at_10", "map_at_10", "recall_at_20", "hitrate_at_10"):
            assert 0 <= first[f"{recommender}_{metric}"] <= 1
    # the served list's metrics, unprefixed, are the blend's
    assert first["ndcg_at_10"] == first["blend_ndcg_at_10"] > 0
    # the Python metrics of the artifact equal what dbt's evaluation_metrics computed in SQL
    rows = dict(query(two_runs["database"], "select recommender, ndcg_at_10 from "
                                            "evaluation_metrics"))
    assert set(rows) == set(recommenders)
    for recommender in recommenders:
        assert rows[recommender] == pytest.approx(first[f"{recommender}_ndcg_at_10"], abs=1e-9)
    [(_, published_ndcg)] = two_runs["first"]["published"]
    assert published_ndcg == pytest.approx(first["ndcg_at_10"], abs=1e-12)


def test_the_worse_run_is_not_published_and_the_served_warehouse_is_untouched(two_runs):
    first, second = evaluate_metrics(two_runs["root"])
    # the premise: the second run is worse than the gate allows (5% by default)
    assert second["ndcg_at_10"] < 0.95 * first["ndcg_at_10"]
    database = two_runs["database"]
    assert served_files(database) == two_runs["first"]["files"]
    assert query(database, "select run_id, ndcg_at_10 from published_runs") == \
        two_runs["first"]["published"]
    # the worse tables exist, in the candidate only
    candidate = database.with_name("served.candidate.duckdb")
    assert query(candidate, "select max(rank) from user_recommendations")[0][0] == 3
    assert query(database, "select max(rank) from user_recommendations")[0][0] == 20


def test_the_runs_say_what_the_gate_decided(two_runs):
    # the decision each run ended with, as kfp.local stored the last task's output
    outputs = []
    for run in sorted(two_runs["root"].iterdir()):
        task = "publish" if (run / "publish").exists() else "keep-serving"
        outputs.append((task, json.loads((run / task / "executor_output.json").read_text())
                        ["parameterValues"]["Output"]))
    (first_task, first_reason), (second_task, second_reason) = outputs
    assert first_task == "publish" and first_reason.startswith("published: no run was")
    assert second_task == "keep-serving"
    assert second_reason.startswith("not published: NDCG@10 ")
    assert "keep serving" in second_reason


def noisy_run(lake, **_kwargs) -> str:
    """Stands in for kfp.local's run: its tasks write from child processes, it prints their
    lines again, and logs through a handler it binds to sys.stdout for the run."""
    import logging
    import subprocess
    import sys

    subprocess.run([sys.executable, "-c", "import sys\nfor n in range(300): print('{\"executor\":"
                    " %d}' % n)\nprint('a child error line', file=sys.stderr)"], check=True)
    print("a task's output line")
    logger = logging.getLogger("kfp-like")
    handler = logging.StreamHandler(sys.stdout)
    logger.addHandler(handler)
    try:
        logger.warning("kfp's own log line")
    finally:
        logger.removeHandler(handler)
    return "published: no run was published before"


def test_quiet_puts_the_runs_output_in_a_log_and_prints_one_line(small_lake, tmp_path,
                                                                  monkeypatch, capfd):
    from sqlrec.kubeflow import pipeline

    monkeypatch.setattr(pipeline, "run_local", noisy_run)
    assert cli.main(["pipeline", "run", "--local", "--quiet", "--lake", str(small_lake),
                     "--pipeline-root", str(tmp_path / "outputs")]) == 0
    out, err = capfd.readouterr()
    assert err == "" and len(out.strip().splitlines()) == 1, out
    assert "published: no run was published before" in out
    log = Path(out.strip().rsplit("its log: ", 1)[1])
    try:
        text = log.read_text()
        assert '{"executor": 299}' in text and "a task's output line" in text
        assert "kfp's own log line" in text and "a child error line" in text
    finally:
        log.unlink()


def test_quiet_names_the_log_when_the_run_fails(small_lake, tmp_path, monkeypatch, capfd):
    from sqlrec.errors import UserError
    from sqlrec.kubeflow import pipeline

    def failing_run(lake, **kwargs):
        noisy_run(lake)
        raise UserError("task 'train' failed")

    monkeypatch.setattr(pipeline, "run_local", failing_run)
    assert cli.main(["pipeline", "run", "--local", "--quiet", "--lake", str(small_lake),
                     "--pipeline-root", str(tmp_path / "outputs")]) == 2
    out, err = capfd.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert "task 'train' failed" in err and "its log: " in err
    log = Path(err.strip().rsplit("its log: ", 1)[1])
    assert '{"executor": 299}' in log.read_text()
    log.unlink()
