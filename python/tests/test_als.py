"""The ALS step on tiny matrices with known answers, and `sqlrec train` on a DuckDB warehouse.

Every fit uses a fixed random_state, no progress bars and single-threaded BLAS; the GPU
variants run only where implicit was built with CUDA and sees a device.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402

import duckdb  # noqa: E402
import implicit.gpu  # noqa: E402
import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from sqlrec import als, cli  # noqa: E402
from sqlrec.errors import UserError  # noqa: E402
from sqlrec.warehouse import DuckDBWarehouse  # noqa: E402

NO_CUDA = "implicit.gpu.HAS_CUDA is False: no CUDA build of implicit or no GPU on this machine"
DEVICES = [
    "cpu",
    pytest.param("gpu", marks=pytest.mark.skipif(not implicit.gpu.HAS_CUDA, reason=NO_CUDA)),
]
SMALL = als.AlsParams(factors=4, regularization=0.01, alpha=5.0, iterations=30, random_state=7)


def checkerboard(size: int = 8) -> sp.csr_matrix:
    """User u has every item of its own parity except item u: u's best new item is u itself."""
    dense = np.array([[1.0 if (u + i) % 2 == 0 and i != u else 0.0 for i in range(size)]
                      for u in range(size)], dtype=np.float32)
    return sp.csr_matrix(dense)


def recommendations(model, matrix, k, **kwargs) -> dict[int, list[int]]:
    lists: dict[int, list[int]] = {}
    for _, users, items, scores in als.recommend_batches(model, matrix, k, **kwargs):
        for user, item, score in zip(users, items, scores, strict=True):
            lists.setdefault(int(user), []).append(int(item))
            assert np.isfinite(score)
    return lists


@pytest.mark.parametrize("device", DEVICES)
def test_checkerboard_top_item_is_the_missing_square(device):
    matrix = checkerboard()
    model = als.fit(matrix, SMALL, device=device)

    lists = recommendations(model, matrix, k=1)

    assert lists == {user: [user] for user in range(8)}


@pytest.mark.parametrize("device", DEVICES)
def test_k_larger_than_catalogue_gives_every_new_item_once(device):
    matrix = checkerboard()
    model = als.fit(matrix, SMALL, device=device)

    lists = recommendations(model, matrix, k=100)

    for user, items in lists.items():
        known = set(matrix[user].indices)
        # 8 items, 3 known: the 5 others, each once, the missing square first
        assert len(items) == 5 and set(items) == set(range(8)) - known
        assert items[0] == user


@pytest.mark.parametrize("device", DEVICES)
def test_unavailable_items_are_never_recommended(device):
    matrix = checkerboard()
    model = als.fit(matrix, SMALL, device=device)

    lists = recommendations(model, matrix, k=100, unavailable=np.array([0, 3]))

    assert all(not {0, 3} & set(items) for items in lists.values())
    assert set(lists[0]) == {1, 5, 7}  # its square (0) is sold out; 2, 4, 6 are known
    assert lists[1][0] == 1 and set(lists[1]) == {1, 2, 4, 6}


def test_nothing_available_gives_empty_lists_not_an_error():
    matrix = checkerboard()
    model = als.fit(matrix, SMALL)
    everything = np.arange(8)
    assert recommendations(model, matrix, k=5, unavailable=everything) == {}
    assert list(als.similar_item_batches(model, items=8, k=5, unavailable=everything)) == []


def test_a_user_without_items_gets_no_list_and_the_others_are_unchanged():
    dense = checkerboard().toarray()
    dense = np.vstack([dense, np.zeros((1, 8), dtype=np.float32)])  # user 8: no items at all
    matrix = sp.csr_matrix(dense)
    model = als.fit(matrix, SMALL)

    lists = recommendations(model, matrix, k=3)

    assert 8 not in lists
    assert all(lists[user][0] == user for user in range(8))


@pytest.mark.parametrize("device", DEVICES)
def test_similar_items_share_the_parity_and_never_the_item_itself(device):
    # two full blocks: items of one parity have identical columns, hence identical factors
    blocks = sp.csr_matrix(np.array([[1.0 if (u + i) % 2 == 0 else 0.0 for i in range(8)]
                                     for u in range(8)], dtype=np.float32))
    model = als.fit(blocks, SMALL, device=device)
    rows = list(als.similar_item_batches(model, items=8, k=3))

    items = np.concatenate([batch[1] for batch in rows])
    similar = np.concatenate([batch[2] for batch in rows])
    scores = np.concatenate([batch[3] for batch in rows])
    assert sum(batch[0] for batch in rows) == 8
    assert len(items) == 8 * 3
    assert not np.any(items == similar)
    assert np.all((items % 2) == (similar % 2))
    np.testing.assert_allclose(scores, 1.0, rtol=1e-4)


def test_k_larger_than_catalogue_for_similar_items():
    model = als.fit(checkerboard(), SMALL)
    rows = list(als.similar_item_batches(model, items=8, k=50))
    items = np.concatenate([batch[1] for batch in rows])
    similar = np.concatenate([batch[2] for batch in rows])
    scores = np.concatenate([batch[3] for batch in rows])
    # at most the 7 other items, each once, positive cosines only, best first
    counts = np.bincount(items, minlength=8)
    assert counts.max() <= 7 and counts.min() >= 1
    assert len(set(zip(items, similar, strict=True))) == len(items)
    assert np.all(scores > 0)
    for item in range(8):
        assert np.all(np.diff(scores[items == item]) <= 0)


def test_confidence_is_one_plus_alpha_times_the_score():
    matrix = sp.csr_matrix(np.array([[0.5, 0.0], [0.0, 2.0]], dtype=np.float32))
    assert als.confidence(matrix, alpha=4.0).toarray().tolist() == [[3.0, 0.0], [0.0, 9.0]]
    assert matrix.toarray().tolist() == [[0.5, 0.0], [0.0, 2.0]]  # the input is left alone


def test_interaction_matrix_keeps_positive_scores_and_names_rows_and_columns():
    scores = pa.table({
        "user_id": ["u2", "u1", "u1", "u3", None],
        "item_id": ["a", "b", "a", "c", "a"],
        "score": [1.5, 2.0, None, -1.0, 1.0],
    })
    data = als.interaction_matrix(scores)

    users = data.user_ids.to_pylist()
    items = data.item_ids.to_pylist()
    dense = {(users[u], items[i]): float(data.matrix[u, i])
             for u, i in zip(*data.matrix.nonzero(), strict=True)}
    assert dense == {("u2", "a"): 1.5, ("u1", "b"): 2.0}
    assert data.matrix.dtype == np.float32


def test_empty_score_table_is_a_clear_error():
    empty = pa.table({"user_id": pa.array([], pa.string()), "item_id": pa.array([], pa.string()),
                      "score": pa.array([], pa.float64())})
    with pytest.raises(UserError, match="nothing to train on"):
        als.interaction_matrix(empty)


def test_devices_resolve_and_a_missing_gpu_is_a_clear_error():
    assert als.resolve_device("cpu") == "cpu"
    assert als.resolve_device("auto") == ("gpu" if implicit.gpu.HAS_CUDA else "cpu")
    if not implicit.gpu.HAS_CUDA:
        with pytest.raises(UserError, match="HAS_CUDA"):
            als.resolve_device("gpu")
    with pytest.raises(UserError):
        als.resolve_device("tpu")


def test_params_round_trip_and_command_line_overrides(tmp_path):
    path = tmp_path / "params.json"
    saved = als.AlsParams(factors=32, regularization=0.5, alpha=3.0, iterations=9,
                          half_life_days=45.0)
    als.save_params(saved, path, tuned={"trials": 3})

    loaded, source = als.load_params(path)
    assert loaded == saved and source == path
    assert json.loads(path.read_text())["tuned"] == {"trials": 3}
    assert als.load_params(tmp_path / "absent.json") == (als.AlsParams(), None)

    args = cli.build_parser().parse_args(["train", "--params", str(path), "--factors", "8"])
    params, _ = als.params_from_args(args)
    assert params == als.AlsParams(factors=8, regularization=0.5, alpha=3.0, iterations=9,
                                   half_life_days=45.0)


# ---------- sqlrec train on a warehouse (no dbt: the input tables are written directly)

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

    result = als.train(store, SMALL, device="cpu", k=2, show_progress=False)

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
    assert run["run_id"] == result.run["run_id"]

    als.train(store, SMALL, device="cpu", k=2, show_progress=False)
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as connection:
        assert connection.sql("select count(*) from model_runs").fetchall() == [(2,)]
        assert connection.sql("select count(*) from als_user_recommendations").fetchall() == [(16,)]


def test_train_on_an_empty_score_table_says_what_to_do(tmp_path):
    store = warehouse_with_scores(tmp_path / "w.duckdb", {
        "user_id": pa.array([], pa.string()), "item_id": pa.array([], pa.string()),
        "score": pa.array([], pa.float64())})
    with pytest.raises(UserError, match="nothing to train on"):
        als.train(store, SMALL, device="cpu", show_progress=False)


def test_train_before_dbt_build_says_so(tmp_path):
    with pytest.raises(UserError, match="sqlrec build"):
        als.train(DuckDBWarehouse(tmp_path / "none.duckdb"), SMALL, show_progress=False)


def test_train_command_reads_the_params_file(tmp_path, monkeypatch, capsys):
    database = tmp_path / "w.duckdb"
    warehouse_with_scores(database, checkerboard_scores())
    params_file = tmp_path / "params.json"
    als.save_params(als.AlsParams(factors=3, iterations=4, half_life_days=12.0), params_file)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    monkeypatch.setenv("SQLREC_ALS_PARAMS", str(params_file))

    assert cli.main(["train", "--device", "cpu", "--k", "3", "--iterations", "6"]) == 0

    with duckdb.connect(str(database), read_only=True) as connection:
        params = json.loads(connection.sql("select params from model_runs").fetchall()[0][0])
    assert (params["factors"], params["iterations"], params["k"]) == (3, 6, 3)
    # plain `train` cannot know which half-life dbt built the scores with
    assert params["half_life_days"] is None and params["params_file"] == str(params_file)
    assert "half_life_days 12" in capsys.readouterr().out


def test_refresh_builds_trains_and_builds_the_blend_with_the_saved_half_life(tmp_path,
                                                                            monkeypatch):
    from sqlrec import pipeline

    params_file = tmp_path / "params.json"
    als.save_params(als.AlsParams(half_life_days=12.0), params_file)
    calls = []
    monkeypatch.setattr(pipeline, "build", lambda lake, **kw: calls.append(("build", kw)))
    monkeypatch.setattr(als, "train", lambda store, params, **kw: calls.append(("train", params)))

    assert cli.main(["refresh", "--lake", str(tmp_path), "--params", str(params_file),
                     "--vars", "{top_k: 5}", "--no-progress"]) == 0

    assert [call[0] for call in calls] == ["build", "train", "build"]
    assert calls[0][1]["extra_vars"] == {"top_k": 5, "half_life_days": 12.0}
    assert calls[1][1].half_life_days == 12.0
    assert calls[2][1]["select"] == "source:als+"
