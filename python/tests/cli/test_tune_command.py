"""`sqlrec tune`: it runs the trials it is asked for, says so, and `--movielens` never overwrites
the lake's parameters file (needs the recbole wheel for MovieLens-100k)."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402

import pytest  # noqa: E402

from sqlrec import cli  # noqa: E402
from sqlrec.data import movielens  # noqa: E402
from sqlrec.recommend.params import load_params  # noqa: E402

from helpers import PROJECT_DIR  # noqa: E402

# a tuning on MovieLens
pytestmark = pytest.mark.slow


@pytest.mark.skipif(movielens.ratings_path() is None,
                    reason=f"MovieLens-100k comes with the recbole wheel: "
                           f"`{movielens.INSTALL_HINT}`")
def test_tune_movielens_runs_one_trial_and_leaves_the_lakes_params_alone(tmp_path, monkeypatch,
                                                                        capsys):
    project = tmp_path / "project"  # a project folder of its own: tune writes into its data/
    project.mkdir()
    shutil.copy(PROJECT_DIR / "dbt_project.yml", project / "dbt_project.yml")  # the knobs
    shutil.copytree(PROJECT_DIR / "seeds", project / "seeds")  # the event weights
    lake_params = tmp_path / "params.json"
    lake_params.write_text(json.dumps({"dbt_vars": {"half_life_days": 7.0}}))
    before = lake_params.read_bytes()
    monkeypatch.setenv("SQLREC_PROJECT_DIR", str(project))
    monkeypatch.setenv("SQLREC_PARAMS", str(lake_params))

    assert cli.main(["tune", "--movielens", "--trials", "1", "--quiet"]) == 0
    printed = capsys.readouterr().out

    assert re.search(r"best of 1 trials on movielens-100k", printed), printed
    saved = project / "data" / "params-movielens-100k.json"
    assert f"saved to {saved}" in printed
    params, _ = load_params(saved)
    assert params.tuned["trials"] == 1 and params.tuned["dataset"] == "movielens-100k"
    assert lake_params.read_bytes() == before  # the lake's file is untouched


def test_tune_on_the_warehouse_records_its_lake_and_relative_regularisation(tmp_path,
                                                                          monkeypatch, capsys):
    import types

    import pyarrow as pa

    from sqlrec.evaluation import tune
    from sqlrec.warehouse.duckdb import DuckDBWarehouse

    lake = tmp_path / "lake"
    database = tmp_path / "w.duckdb"
    store = DuckDBWarehouse(database)
    store.write_table("int_valid_events", pa.table({
        "event_id": ["e1", "e2", "e3"], "user_id": ["u1", "u2", "u2"],
        "item_id": ["a", "a", "b"], "event_type": ["view"] * 3,
        "event_at": pa.array([0, 1, 2], pa.timestamp("us"))}))
    store.write_table("stg_lake__events", pa.table({
        "source_file": [str(lake / "events" / "event_date=2026-10-01" / "part-0.parquet")]}))
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))

    def fake_tune(events, **kw):  # the search itself is tested elsewhere; this is what it saves
        return types.SimpleNamespace(params=tune.pipeline_params(tune.default_values()),
                                     ndcg=0.5, map=0.4, parts={"als": 0.3}, dropped=[],
                                     completed_trials=1)

    monkeypatch.setattr("sqlrec.evaluation.tune.tune", fake_tune)
    saved = tmp_path / "params.json"
    assert cli.main(["tune", "--params", str(saved), "--quiet"]) == 0
    written = json.loads(saved.read_text())
    assert written["lake"] == {"path": str(lake), "events": 3, "users": 2, "items": 2}
    assert written["als"]["regularization"] is None
    assert written["als"]["regularization_per_score"] == 2e-4
    assert written["ease"]["regularization"] is None
    assert written["ease"]["regularization_factor"] == 1.0
    assert load_params(saved)[0].lake == written["lake"]
