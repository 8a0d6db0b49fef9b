"""`sqlrec train`: the parameters file, the options on top of it, and what it prints."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402

from sqlrec import cli  # noqa: E402
from sqlrec.cli import options  # noqa: E402
from sqlrec.recommend.params import AlsParams, save_params  # noqa: E402
from sqlrec.warehouse.duckdb import DuckDBWarehouse  # noqa: E402


def test_command_line_options_override_the_params_file(tmp_path):
    path = tmp_path / "params.json"
    save_params(AlsParams(factors=32, regularization=0.5, alpha=3.0, iterations=9,
                          half_life_days=45.0), path)
    args = cli.build_parser().parse_args(["train", "--params", str(path), "--factors", "8"])
    params, source = options.training_params(args)
    assert params == AlsParams(factors=8, regularization=0.5, alpha=3.0, iterations=9,
                               half_life_days=45.0)
    assert source == path


def test_train_command_reads_the_params_file(tmp_path, monkeypatch, capsys):
    database = tmp_path / "w.duckdb"
    # user u holds every item of its parity except item u (8 users, 24 scores)
    pairs = [(u, i) for u in range(8) for i in range(8) if (u + i) % 2 == 0 and i != u]
    DuckDBWarehouse(database).write_table("int_user_item_scores", pa.table({
        "user_id": [f"u{u}" for u, _ in pairs], "item_id": [f"i{i}" for _, i in pairs],
        "score": [1.0] * len(pairs)}))
    params_file = tmp_path / "params.json"
    save_params(AlsParams(factors=3, iterations=4, half_life_days=12.0), params_file)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    monkeypatch.setenv("SQLREC_ALS_PARAMS", str(params_file))

    assert cli.main(["train", "--device", "cpu", "--k", "3", "--iterations", "6",
                     "--quiet"]) == 0

    with duckdb.connect(str(database), read_only=True) as connection:
        params = json.loads(connection.sql("select params from model_runs").fetchall()[0][0])
        written = connection.sql("select count(*) from als_user_recommendations").fetchall()
    assert (params["factors"], params["iterations"], params["k"]) == (3, 6, 3)
    # plain `train` cannot know which half-life dbt built the scores with
    assert params["half_life_days"] is None and params["params_file"] == str(params_file)
    printed = capsys.readouterr().out
    assert "half_life_days 12" in printed
    # --quiet hides the progress, not the summary of what was written
    assert f"wrote {written[0][0]:,} rows to als_user_recommendations" in printed
