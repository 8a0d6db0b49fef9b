"""`sqlrec train`: the parameters file, the options on top of it, and what it prints."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import json  # noqa: E402

import duckdb  # noqa: E402
import pyarrow as pa  # noqa: E402

from sqlrec import cli  # noqa: E402
from sqlrec.cli import options  # noqa: E402
from sqlrec.recommend.params import (  # noqa: E402
    AlsParams,
    EaseParams,
    PipelineParams,
    save_params,
)
from sqlrec.warehouse.duckdb import DuckDBWarehouse  # noqa: E402


def test_command_line_options_override_the_params_file(tmp_path):
    path = tmp_path / "params.json"
    save_params(PipelineParams(dbt_vars={"half_life_days": 45.0},
                               als=AlsParams(factors=32, regularization=0.5, alpha=3.0,
                                             iterations=9),
                               ease=EaseParams(regularization=300.0)), path)
    args = cli.build_parser().parse_args(["train", "--params", str(path), "--factors", "8",
                                          "--ease-memory-gb", "1"])
    params, source = options.training_params(args)
    assert params.als == AlsParams(factors=8, regularization=0.5, alpha=3.0, iterations=9)
    assert params.ease == EaseParams(regularization=300.0, memory_gb=1.0)
    assert params.dbt_vars == {"half_life_days": 45.0} and source == path


def test_train_command_reads_the_params_file(tmp_path, monkeypatch, capsys):
    database = tmp_path / "w.duckdb"
    # user u holds every item of its parity except item u (8 users, 24 scores)
    pairs = [(u, i) for u in range(8) for i in range(8) if (u + i) % 2 == 0 and i != u]
    DuckDBWarehouse(database).write_table("int_user_item_scores", pa.table({
        "user_id": [f"u{u}" for u, _ in pairs], "item_id": [f"i{i}" for _, i in pairs],
        "score": [1.0] * len(pairs)}))
    params_file = tmp_path / "params.json"
    save_params(PipelineParams(dbt_vars={"half_life_days": 12.0},
                               als=AlsParams(factors=3, iterations=4)), params_file)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    monkeypatch.setenv("SQLREC_PARAMS", str(params_file))

    assert cli.main(["train", "--model", "als", "--device", "cpu", "--k", "3",
                     "--iterations", "6", "--quiet"]) == 0

    with duckdb.connect(str(database), read_only=True) as connection:
        runs = connection.sql("select model, params from model_runs").fetchall()
        written = connection.sql("select count(*) from als_user_recommendations").fetchall()
    assert [model for model, _ in runs] == ["als"]
    params = json.loads(runs[0][1])
    assert (params["factors"], params["iterations"], params["k"]) == (3, 6, 3)
    assert params["params_file"] == str(params_file)
    printed = capsys.readouterr().out
    # plain `train` cannot rebuild the scores: it says the file's dbt vars need a build
    assert f"the dbt vars of {params_file} shape the scores only when dbt builds them" in printed
    # --quiet hides the progress, not the summary of what was written
    assert f"ALS wrote {written[0][0]:,} rows to als_user_recommendations" in printed


def test_train_warns_when_the_params_were_tuned_on_another_lake_than_the_warehouses(
        tmp_path, monkeypatch, capsys):
    database = tmp_path / "w.duckdb"
    store = DuckDBWarehouse(database)
    pairs = [(u, i) for u in range(8) for i in range(8) if (u + i) % 2 == 0 and i != u]
    store.write_table("int_user_item_scores", pa.table({
        "user_id": [f"u{u}" for u, _ in pairs], "item_id": [f"i{i}" for _, i in pairs],
        "score": [1.0] * len(pairs)}))
    built = tmp_path / "built-lake"  # the lake the warehouse's events came from
    store.write_table("stg_lake__events", pa.table({
        "source_file": [str(built / "events" / "event_date=2026-10-01" / "a.parquet")]}))
    tuned_on = tmp_path / "demo-lake"
    params_file = tmp_path / "params.json"
    save_params(PipelineParams(als=AlsParams(factors=3, iterations=2),
                               lake={"path": str(tuned_on), "events": 10, "users": 4,
                                     "items": 5}), params_file)
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))

    assert cli.main(["train", "--params", str(params_file), "--model", "als", "--device", "cpu",
                     "--k", "2", "--quiet"]) == 0
    assert capsys.readouterr().err == (
        f"sqlrec train: warning: {params_file} was tuned on {tuned_on} (10 events, 4 users, "
        f"5 items), not on {built}; its parameters may not suit it (`sqlrec tune` on it writes "
        "its own)\n")


def test_a_bad_training_option_is_one_line_naming_the_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(tmp_path / "never-opened.duckdb"))
    monkeypatch.setenv("SQLREC_PARAMS", str(tmp_path / "absent.json"))
    for option, value, allowed in [("--factors", "0", "an integer >= 1"),
                                   ("--iterations", "-1", "an integer >= 1"),
                                   ("--alpha", "-5", "a number > 0"),
                                   ("--ease-memory-gb", "-1", "a number > 0")]:
        assert cli.main(["train", option, value, "--quiet"]) == 2
        error = capsys.readouterr().err
        shown = json.dumps(float(value) if option in ("--alpha", "--ease-memory-gb")
                           else int(value))
        assert error == f"sqlrec: error: {option} is {shown}; it must be {allowed}\n"
    assert not (tmp_path / "never-opened.duckdb").exists()  # refused before any work
