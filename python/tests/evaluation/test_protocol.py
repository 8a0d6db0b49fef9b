"""The whole evaluation on generated data: build -> train -> blend, every recommender scored;
the SQL metrics (evaluation_metrics) against the Python ones; the report; and the Python twin of
w(u,i) against the table dbt built."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from sqlrec.evaluation.metrics import METRIC_NAMES  # noqa: E402
from sqlrec.evaluation.protocol import evaluate, write_to_warehouse  # noqa: E402
from sqlrec.evaluation.report import SQL_COLUMNS, Report  # noqa: E402
from sqlrec.evaluation.split import temporal_split  # noqa: E402
from sqlrec.pipeline.dbt import run_dbt  # noqa: E402
from sqlrec.recommend.matrix import score_matrix  # noqa: E402
from sqlrec.recommend.params import AlsParams, PipelineParams  # noqa: E402
from sqlrec.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

# whole evaluations: build, train, blend, score
pytestmark = pytest.mark.slow


def lake_events(lake) -> pd.DataFrame:
    table = ds.dataset(lake / "events", format="parquet", partitioning="hive").to_table()
    events = table.to_pandas().rename(columns={"event_time": "event_at"})
    events["user_id"] = events["user_id"].astype(str)
    events["item_id"] = events["item_id"].astype(str)
    return events[["event_id", "user_id", "item_id", "event_type", "event_at"]]


def test_evaluate_builds_trains_and_blends_then_dbt_scores_it_as_python_does(
        small_lake, tmp_path, monkeypatch):
    events = lake_events(small_lake)
    catalogue = pq.read_table(small_lake / "catalog").to_pandas()
    params = PipelineParams(als=AlsParams(factors=16, iterations=8, alpha=2.0,
                                          regularization=0.1))

    result = evaluate(events, dataset="generated", workdir=tmp_path / "eval",
                      catalogue=catalogue, params=params,
                      params_source=tmp_path / "params.json", device="cpu")

    assert list(result.results) == ["popularity", "item_similarity", "als", "ease", "blend"]
    for metrics in result.results.values():
        assert all(0 <= metrics[name] <= 1 for name in METRIC_NAMES)
    assert result.results["item_similarity"]["ndcg@10"] > result.results["popularity"]["ndcg@10"]

    database = tmp_path / "eval" / "evaluation.duckdb"
    with duckdb.connect(str(database), read_only=True) as connection:
        def rows(sql):
            return connection.sql(sql).fetchall()

        users_with_scores = rows("select count(distinct user_id) from int_user_item_scores")[0][0]
        for table in ("als_user_recommendations", "ease_user_recommendations"):
            assert rows(f"select count(distinct user_id) from {table}")[0][0] > 0.9 * (
                users_with_scores)
        # the blend: model-led items, and never a known or sold-out item
        sources = dict(rows("select source, count(*) from user_recommendations group by 1"))
        assert set(sources) <= {"als", "ease", "item_similarity", "popular"}
        assert sources.get("als", 0) + sources.get("ease", 0) > 0
        assert rows("""
            select count(*) from user_recommendations as recommendation
            inner join int_user_item_scores as known using (user_id, item_id)
        """) == [(0,)]
        assert rows("""
            select count(*) from user_recommendations
            inner join int_items_enriched using (item_id) where not is_available
        """) == [(0,)]
        runs = dict(rows("select model, params from model_runs"))
        assert json.loads(runs["als"])["factors"] == 16 and set(runs) == {"als", "ease"}
        dbt_scores = connection.sql(
            "select user_id, item_id, score from int_user_item_scores").df()

    # the Python twin of w(u,i) (used by tune) equals the table dbt built
    split = temporal_split(events)
    data = score_matrix(split.train, half_life_days=30, as_of=split.split_at)
    coo = data.matrix.tocoo()
    python_scores = pd.DataFrame({
        "user_id": np.asarray(data.user_ids.to_pylist())[coo.row],
        "item_id": np.asarray(data.item_ids.to_pylist())[coo.col], "python": coo.data})
    both = dbt_scores.merge(python_scores, on=["user_id", "item_id"], how="outer")
    assert len(both) == len(dbt_scores) == len(python_scores)
    np.testing.assert_allclose(both["python"], both["score"], rtol=1e-6)

    # into the warehouse: dbt's evaluation_metrics equals the Python metrics, run after run
    warehouse_file = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(warehouse_file))
    store = DuckDBWarehouse(warehouse_file)
    run_ids = []
    for _ in range(2):
        run_ids.append(write_to_warehouse(result, store))
        run_dbt(["build", "--select", "tag:evaluation"], quiet=True)
    metrics = store.read_table("evaluation_metrics").to_pandas()
    assert sorted(metrics["run_id"].unique()) == sorted(run_ids)
    latest = metrics[metrics["run_id"] == run_ids[-1]].set_index("recommender")
    for recommender, python_metrics in result.results.items():
        for name, column in SQL_COLUMNS.items():
            assert latest.loc[recommender, column] == pytest.approx(python_metrics[name],
                                                                    rel=1e-9, abs=1e-12)
        assert latest.loc[recommender, "scored_users"] == python_metrics["users"]
        assert 0 < latest.loc[recommender, "mean_popularity_at_10"] <= 1
        assert 0 <= latest.loc[recommender, "diversity_at_10"] <= 1

    report = Report.from_warehouse(store, run_ids[-1], result.details)
    assert len(report.history) == 2 * len(result.results)
    paths = report.write(tmp_path / "reports")
    assert paths["markdown"].read_text().count("\n| ") == 6  # the header and five recommenders
    assert json.loads(paths["json"].read_text())["results"]["blend"]["scored_users"] > 0
    assert paths["chart"].stat().st_size > 10_000 and paths["history"].stat().st_size > 10_000
    assert not (tmp_path / "reports" / "evaluation.duckdb").exists()


def test_the_evaluation_leaves_no_work_folder_behind(small_lake, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "temp"))
    (tmp_path / "temp").mkdir()
    events = lake_events(small_lake)
    evaluate(events, dataset="generated", params=PipelineParams(
        als=AlsParams(factors=4, iterations=2)), device="cpu")
    assert list((tmp_path / "temp").iterdir()) == []
