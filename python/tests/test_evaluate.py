"""The evaluation protocol: metrics against hand-computed values, the temporal split on a worked
example, the Python twin of w(u,i), and the whole build -> train -> blend path on generated data.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402
import math  # noqa: E402

import duckdb  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pyarrow.dataset as ds  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
import pytest  # noqa: E402

from sqlrec import als, evaluate, movielens, tune  # noqa: E402
from sqlrec.errors import UserError  # noqa: E402

DAY = pd.Timedelta(days=1)
T0 = pd.Timestamp("2026-01-01")


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["user_id", "item_id", "event_type", "event_at"])


# ---------- metrics

def test_metrics_match_hand_computed_values():
    lists = pd.DataFrame(
        [("A", item, rank) for rank, item in enumerate(["x", "p", "y", "q"], start=1)]
        + [("B", f"b{rank}", rank) for rank in range(1, 12)] + [("B", "z", 12)]
        + [("D", "x", 1)],  # D has no test items: not scored, not counted in coverage
        columns=["user_id", "item_id", "rank"],
    )
    test = pd.DataFrame([("A", "x"), ("A", "y"), ("B", "z"), ("C", "w")],
                        columns=["user_id", "item_id"])

    metrics = evaluate.ranking_metrics(lists, test, catalogue_size=28)

    # A: hits at ranks 1 and 3 of 2 relevant; B: its one hit at rank 12; C: no list at all
    ndcg_a = (1 / math.log2(2) + 1 / math.log2(4)) / (1 / math.log2(2) + 1 / math.log2(3))
    ap_a = (1 / 1 + 2 / 3) / 2
    assert metrics["ndcg@10"] == pytest.approx(ndcg_a / 3)  # 0.30657...
    assert metrics["map@10"] == pytest.approx(ap_a / 3)  # 0.27778
    assert metrics["recall@20"] == pytest.approx((1 + 1 + 0) / 3)
    assert metrics["hitrate@10"] == pytest.approx(1 / 3)
    assert metrics["coverage@10"] == pytest.approx((4 + 10) / 28)
    assert metrics["users"] == 3


def test_metrics_of_a_perfect_list_are_one():
    lists = pd.DataFrame({"user_id": ["A"] * 3, "item_id": ["x", "y", "z"], "rank": [1, 2, 3]})
    test = pd.DataFrame({"user_id": ["A"] * 3, "item_id": ["z", "y", "x"]})
    metrics = evaluate.ranking_metrics(lists, test, catalogue_size=3)
    assert {name: metrics[name] for name in evaluate.METRIC_NAMES} == pytest.approx(
        {"ndcg@10": 1.0, "map@10": 1.0, "recall@20": 1.0, "hitrate@10": 1.0, "coverage@10": 1.0})


def test_metrics_without_test_items_is_a_clear_error():
    empty = pd.DataFrame({"user_id": [], "item_id": []})
    with pytest.raises(UserError, match="no held-out items"):
        evaluate.ranking_metrics(pd.DataFrame({"user_id": [], "item_id": [], "rank": []}), empty, 5)


# ---------- the split

def test_temporal_split_on_a_worked_example():
    rows = [("u1", f"i{n}", "view", T0 + n * DAY) for n in range(10)]  # i8, i9: the last 20%
    rows += [
        ("u1", "i3", "like", T0 + 8 * DAY),  # a training item, at the cutoff: kept
        ("u1", "i2", "cart", T0 + 11 * DAY),  # a training item, after the cutoff: dropped
        ("u1", "i8", "like", T0 + 12 * DAY),  # more events of a test item: dropped
        ("u2", "a", "view", T0), ("u2", "b", "view", T0 + DAY), ("u2", "c", "view", T0 + 2 * DAY),
        ("u2", "i8", "view", T0 + 3 * DAY),  # 4 items: floor(0.8) = 0, so one is held out
        ("u3", "i8", "view", T0),  # one item: nothing held out; puts i8 into training
        ("u4", "x", "view", T0 + DAY), ("u4", "w", "view", T0 + DAY),  # a tie: by item id
        ("u5", "x", "view", T0),
    ]
    split = evaluate.temporal_split(frame(rows))

    # u1's i9 is held out too, but no user has it in training, so it is dropped
    assert sorted(map(tuple, split.test.to_numpy())) == [("u1", "i8"), ("u2", "i8"), ("u4", "x")]
    train = sorted((u, i, t) for u, i, t in split.train[["user_id", "item_id", "event_type"]]
                   .itertuples(index=False))
    expected = sorted([("u1", f"i{n}", "view") for n in range(8)] + [("u1", "i3", "like")]
                      + [("u2", item, "view") for item in "abc"]
                      + [("u3", "i8", "view"), ("u4", "w", "view"), ("u5", "x", "view")])
    assert train == expected
    assert split.split_at == T0 + 8 * DAY


def test_validation_is_carved_from_the_training_part_only():
    rng = np.random.default_rng(3)
    rows = [(f"u{rng.integers(30)}", f"i{rng.integers(40)}", "view",
             T0 + pd.Timedelta(minutes=int(minute))) for minute in rng.permutation(3_000)[:900]]
    events = frame(rows)
    outer = evaluate.temporal_split(events)
    inner = tune.validation_split(events)

    def pairs(df):
        return set(map(tuple, df[["user_id", "item_id"]].drop_duplicates().to_numpy()))

    assert pairs(inner.train) | pairs(inner.test) <= pairs(outer.train)
    assert not pairs(inner.test) & pairs(outer.test)
    assert inner.split_at <= outer.split_at


# ---------- scores

def test_score_matrix_is_w_of_the_design():
    weights = {"view": 1.0, "like": 3.0, "cart": 5.0, "purchase": 10.0}
    events = frame([
        ("u1", "a", "view", T0),  # c = 1 -> w = 1
        ("u1", "b", "purchase", T0 - 30 * DAY),  # c = 10 / 2 = 5 -> w = 1 + ln 5
        ("u1", "c", "like", T0 - 60 * DAY),  # c = 3 / 4 = 0.75 -> w = 0.75
        ("u2", "a", "view", T0), ("u2", "a", "view", T0),  # c = 2 -> w = 1 + ln 2
        ("u2", "b", "view", T0 + DAY),  # after as_of: left out
    ])
    data = evaluate.score_matrix(events, half_life_days=30, as_of=T0, weights=weights)
    users, items = data.user_ids.to_pylist(), data.item_ids.to_pylist()
    scores = {(users[u], items[i]): float(data.matrix[u, i])
              for u, i in zip(*data.matrix.nonzero(), strict=True)}
    assert scores == pytest.approx({("u1", "a"): 1.0, ("u1", "b"): 1 + math.log(5),
                                    ("u1", "c"): 0.75, ("u2", "a"): 1 + math.log(2)})

    undecayed = evaluate.score_matrix(events, half_life_days=0, as_of=T0, weights=weights)
    assert undecayed.matrix.sum() == pytest.approx(1 + (1 + math.log(10)) + (1 + math.log(3))
                                                   + (1 + math.log(2)))


def test_write_lake_follows_the_input_contract(tmp_path):
    events = frame([("u1", "a", "view", T0 + pd.Timedelta(hours=5)),
                    ("u2", "b", "like", T0 + 2 * DAY)])
    catalogue = pd.DataFrame({"item_id": ["a", "b"], "is_available": [True, False]})
    evaluate.write_lake(events, tmp_path, catalogue)

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet"))
    assert files == ["catalog/items.parquet", "events/event_date=2026-01-01/part-0.parquet",
                     "events/event_date=2026-01-03/part-0.parquet"]
    back = ds.dataset(tmp_path / "events", format="parquet", partitioning="hive").to_table()
    back = back.to_pandas().sort_values("user_id")
    assert back["event_time"].tolist() == events["event_at"].tolist()
    assert pq.read_table(tmp_path / "catalog" / "items.parquet").num_rows == 2


# ---------- MovieLens-100k (needs the recbole wheel)

needs_movielens = pytest.mark.skipif(
    movielens.ratings_path() is None,
    reason=f"MovieLens-100k comes with the recbole wheel: `{movielens.INSTALL_HINT}`")


@needs_movielens
def test_movielens_tuned_als_beats_popularity_and_reaches_the_target():
    events = movielens.load_events()
    assert len(events) == 55_375 and (events["event_type"] == "view").all()
    split = evaluate.temporal_split(events)
    params = movielens.tuned_als_params()
    data = evaluate.score_matrix(split.train, half_life_days=params.half_life_days,
                                 as_of=split.split_at)
    items = data.matrix.shape[1]

    tuned = evaluate.ranking_metrics(evaluate.als_lists(data, params), split.test, items)
    popular = evaluate.ranking_metrics(evaluate.popularity_lists(data), split.test, items)

    assert tuned["ndcg@10"] >= 0.13
    assert tuned["ndcg@10"] > popular["ndcg@10"]
    assert popular["ndcg@10"] == pytest.approx(0.074, abs=0.01)  # the reference run


@needs_movielens
def test_tune_runs_a_few_trials_and_starts_from_the_defaults():
    result = tune.tune(movielens.load_events(), trials=2, seed=1)
    assert len(result.study.trials) == 2
    assert result.study.trials[0].params["factors"] == als.AlsParams().factors
    assert 0 < result.ndcg < 1 and 0 < result.map < 1


# ---------- build -> train -> blend on generated data

def lake_events(lake) -> pd.DataFrame:
    table = ds.dataset(lake / "events", format="parquet", partitioning="hive").to_table()
    events = table.to_pandas().rename(columns={"event_time": "event_at"})
    events["user_id"] = events["user_id"].astype(str)
    events["item_id"] = events["item_id"].astype(str)
    return events[["event_id", "user_id", "item_id", "event_type", "event_at"]]


def test_evaluate_builds_trains_and_blends_on_generated_data(small_lake, tmp_path):
    events = lake_events(small_lake)
    catalogue = pq.read_table(small_lake / "catalog").to_pandas()
    params = als.AlsParams(factors=16, iterations=8, alpha=2.0, regularization=0.1)

    result = evaluate.evaluate(events, dataset="generated", workdir=tmp_path / "eval",
                               catalogue=catalogue, params=params,
                               params_source=tmp_path / "params.json", device="cpu")

    assert list(result.results) == ["popularity", "item_similarity", "als_defaults",
                                    "als_tuned", "blend"]
    for metrics in result.results.values():
        assert all(0 <= metrics[name] <= 1 for name in evaluate.METRIC_NAMES)
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
    split = evaluate.temporal_split(events)
    data = evaluate.score_matrix(split.train, half_life_days=30, as_of=split.split_at)
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
