"""The whole evaluation on generated data: build -> train -> blend, every recommender scored, the
report written; and the Python twin of w(u,i) against the table dbt built."""

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
from sqlrec.evaluation.protocol import evaluate  # noqa: E402
from sqlrec.evaluation.split import temporal_split  # noqa: E402
from sqlrec.recommend.matrix import score_matrix  # noqa: E402
from sqlrec.recommend.params import AlsParams  # noqa: E402


def lake_events(lake) -> pd.DataFrame:
    table = ds.dataset(lake / "events", format="parquet", partitioning="hive").to_table()
    events = table.to_pandas().rename(columns={"event_time": "event_at"})
    events["user_id"] = events["user_id"].astype(str)
    events["item_id"] = events["item_id"].astype(str)
    return events[["event_id", "user_id", "item_id", "event_type", "event_at"]]


def test_evaluate_builds_trains_and_blends_on_generated_data(small_lake, tmp_path):
    events = lake_events(small_lake)
    catalogue = pq.read_table(small_lake / "catalog").to_pandas()
    params = AlsParams(factors=16, iterations=8, alpha=2.0, regularization=0.1)

    result = evaluate(events, dataset="generated", workdir=tmp_path / "eval",
                               catalogue=catalogue, params=params,
                               params_source=tmp_path / "params.json", device="cpu")

    assert list(result.results) == ["popularity", "item_similarity", "als_defaults",
                                    "als_tuned", "blend"]
    for metrics in result.results.values():
        assert all(0 <= metrics[name] <= 1 for name in METRIC_NAMES)
    assert result.results["item_similarity"]["ndcg@10"] > result.results["popularity"]["ndcg@10"]

    database = tmp_path / "eval" / "evaluation.duckdb"
    with duckdb.connect(str(database), read_only=True) as connection:
        def rows(sql):
            return connection.sql(sql).fetchall()

        users_with_scores = rows("select count(distinct user_id) from int_user_item_scores")[0][0]
        assert rows("select count(distinct user_id) from als_user_recommendations")[0][0] > 0.9 * (
            users_with_scores)
        assert rows("select count(*) from als_similar_items")[0][0] > 0
        # the blend: ALS-led items for users with factors, and never a known or sold-out item
        sources = dict(rows("select source, count(*) from user_recommendations group by 1"))
        assert set(sources) <= {"als", "item_similarity", "popular"} and sources["als"] > 0
        assert rows("""
            select count(*) from user_recommendations as recommendation
            inner join int_user_item_scores as known using (user_id, item_id)
        """) == [(0,)]
        assert rows("""
            select count(*) from user_recommendations
            inner join int_items_enriched using (item_id) where not is_available
        """) == [(0,)]
        (run,) = rows("select params, metrics, users, nnz from model_runs")
        assert json.loads(run[0])["factors"] == 16
        assert json.loads(run[1])["ndcg@10"] == pytest.approx(
            result.results["als_tuned"]["ndcg@10"])
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
    assert len(both) == len(dbt_scores) == len(python_scores) == run[3]
    np.testing.assert_allclose(both["python"], both["score"], rtol=1e-6)

    paths = result.write(tmp_path / "reports")
    assert paths["markdown"].read_text().count("\n| ") == 6  # the header and five recommenders
    assert json.loads(paths["json"].read_text())["results"]["blend"]["users"] > 0
    assert paths["chart"].stat().st_size > 10_000
