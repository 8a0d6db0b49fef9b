"""The `sqlrec train` step on a DuckDB warehouse (no dbt: the input tables are written
directly): what it writes, the model_runs row, and its errors."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402

from sqlrec.errors import UserError  # noqa: E402
from sqlrec.recommend.train import train  # noqa: E402
from sqlrec.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

from matrices import SMALL, checkerboard  # noqa: E402


def warehouse_with_scores(path, scores: dict, availability: dict | None = None):
    store = DuckDBWarehouse(path)
    store.write_table("int_user_item_scores", pa.table(scores))
    if availability is not None:
        store.write_table("int_items_enriched", pa.table({
            "item_id": list(availability), "is_available": list(availability.values())}))
    return store


def checkerboard_scores(size: int = 8) -> dict:
    users, items = checkerboard(size).nonzero()
    return {"user_id": [f"u{u}" for u in users], "item_id": [f"i{i}" for i in items],
            "score": [1.0] * len(users)}


def test_train_writes_recommendations_similar_items_and_a_run(tmp_path):
    store = warehouse_with_scores(tmp_path / "w.duckdb", checkerboard_scores(),
                                  availability={"i2": False, "i5": True})

    result = train(store, SMALL, device="cpu", k=2, show_progress=False)

    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        recommended = connection.sql(
            "select user_id, item_id, rank from als_user_recommendations order by user_id, rank"
        ).fetchall()
        similar = connection.sql("select * from als_similar_items").df()
        runs = connection.sql("select * from model_runs").df()
    firsts = {user: item for user, item, rank in recommended if rank == 1}
    # the missing square first, except for u2, whose square i2 is sold out
    assert {user: item for user, item in firsts.items() if user != "u2"} == {
        f"u{u}": f"i{u}" for u in range(8) if u != 2}
    assert all(item != "i2" for _, item, _ in recommended)
    assert len(recommended) == 16 and len(similar) == 16
    assert (similar["item_id"] != similar["similar_item_id"]).all()
    assert (similar["similar_item_id"] != "i2").all()
    assert len(runs) == 1
    run = runs.iloc[0]
    assert (run["users"], run["items"], run["nnz"], run["device"]) == (8, 8, 24, "cpu")
    assert json.loads(run["params"])["factors"] == 4 and run["seconds"] > 0
    assert run["run_id"] == result.run.run_id

    train(store, SMALL, device="cpu", k=2, show_progress=False)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        assert connection.sql("select count(*) from model_runs").fetchall() == [(2,)]
        assert connection.sql("select count(*) from als_user_recommendations").fetchall() == [(16,)]


def test_train_on_an_empty_score_table_says_what_to_do(tmp_path):
    store = warehouse_with_scores(tmp_path / "w.duckdb", {
        "user_id": pa.array([], pa.string()), "item_id": pa.array([], pa.string()),
        "score": pa.array([], pa.float64())})
    with pytest.raises(UserError, match="nothing to train on"):
        train(store, SMALL, device="cpu", show_progress=False)


def test_train_before_dbt_build_says_so(tmp_path):
    with pytest.raises(UserError, match="sqlrec build"):
        train(DuckDBWarehouse(tmp_path / "none.duckdb"), SMALL, show_progress=False)


def test_model_runs_columns_keep_their_types_across_appends(tmp_path):
    store = warehouse_with_scores(tmp_path / "w.duckdb", checkerboard_scores())
    train(store, SMALL, device="cpu", k=1, show_progress=False)
    train(store, SMALL, device="cpu", k=1, show_progress=False)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        columns = connection.sql("select column_name, data_type from information_schema.columns "
                                 "where table_name = 'model_runs' order by ordinal_position"
                                 ).fetchall()
        metrics = connection.sql("select metrics from model_runs").fetchall()
    assert columns == [
        ("run_id", "VARCHAR"), ("model", "VARCHAR"), ("trained_at", "TIMESTAMP"),
        ("params", "VARCHAR"),
        ("device", "VARCHAR"), ("users", "BIGINT"), ("items", "BIGINT"), ("nnz", "BIGINT"),
        ("fit_seconds", "DOUBLE"), ("seconds_per_iteration", "DOUBLE"), ("seconds", "DOUBLE"),
        ("metrics", "VARCHAR")]
    assert metrics == [(None,), (None,)]  # only an evaluation scores a run


def test_the_parameters_shown_are_rounded_for_display(tmp_path, capsys):
    """regularization = 2e-4 per score: with 24 scores 0.0048, which float arithmetic makes
    0.0048000000000000004; the line says 0.0048, the model_runs row keeps the exact value."""
    import dataclasses

    assert 2e-4 * 24 != 0.0048  # the premise
    store = warehouse_with_scores(tmp_path / "w.duckdb", checkerboard_scores())
    params = dataclasses.replace(SMALL, regularization=None, iterations=1)
    train(store, params, device="cpu", k=2, show_progress=True)
    printed = capsys.readouterr().out
    assert '"regularization": 0.0048,' in printed or '"regularization": 0.0048}' in printed
    assert "0.0048000000000000004" not in printed
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        stored = json.loads(connection.sql("select params from model_runs").fetchall()[0][0])
    assert stored["regularization"] == 2e-4 * 24
