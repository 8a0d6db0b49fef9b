"""The chunked models (materialization chunked_table) take their number of chunks from the data:
ceil(rows / rows_per_chunk), with the rows counted when the model runs; and the tables do not
depend on it."""

from __future__ import annotations

import json
import math
import re

import pandas as pd
import pytest

from sqlrec import project
from sqlrec.pipeline.dbt import run_dbt

from helpers import read_table
from reference import assert_same_similarity, read_events, user_item_scores

# three builds of the small lake
pytestmark = pytest.mark.slow

CAP = 15
# the cosine: binary rp3beta has many exactly tied scores, whose order a sum's last bits decide
KNOBS = {"max_items_per_user": CAP, "similarity": "cosine"}
PAIR_ROWS_PER_CHUNK = 20_000
CANDIDATE_ROWS_PER_CHUNK = 50_000


def dbt_build(database, lake, monkeypatch, **extra_vars) -> str:
    """dbt build of the lake into ``database``; dbt's output."""
    monkeypatch.setenv("SQLREC_DUCKDB_PATH", str(database))
    completed = run_dbt(["build", "--exclude-resource-type", "test",
                         "--exclude-resource-type", "unit_test"],
                        dbt_vars={**project.lake_vars(lake), **KNOBS, **extra_vars},
                        quiet=True)
    return completed.stdout


def logged_chunks(output: str, model: str) -> tuple[int, int]:
    """(rows, chunks) that the materialization logged for a model."""
    match = re.search(model + r": ([\d,]+) rows to aggregate, (\d+) chunk", output)
    assert match, f"no chunk plan logged for {model}"
    return int(match.group(1).replace(",", "")), int(match.group(2))


def test_chunks_follow_the_rows_and_change_no_result(small_lake, tmp_path, monkeypatch):
    # the fixed-count override: every chunked model in one statement
    one_statement = tmp_path / "one.duckdb"
    dbt_build(one_statement, small_lake, monkeypatch, pair_chunks=1, recommendation_chunks=1)
    database = tmp_path / "sqlrec.duckdb"
    output = dbt_build(database, small_lake, monkeypatch,
                       pair_rows_per_chunk=PAIR_ROWS_PER_CHUNK,
                       candidate_rows_per_chunk=CANDIDATE_ROWS_PER_CHUNK)

    # the user-level pairs, counted from the lake: n (n - 1) / 2 per user with n kept items
    scores = user_item_scores(read_events(small_lake), half_life_days=30)
    kept = scores.groupby("user_id").size().clip(upper=CAP)
    pair_rows = int((kept * (kept - 1) // 2).sum())
    assert logged_chunks(output, "int_item_pairs") == (
        pair_rows, math.ceil(pair_rows / PAIR_ROWS_PER_CHUNK))
    assert math.ceil(pair_rows / PAIR_ROWS_PER_CHUNK) > 1

    # (user, recent item, neighbour) rows, from the model's two inputs
    recent = read_table(database, "user_recent_items", "user_id, item_id")
    neighbours = read_table(database, "item_similarity", "item_id, rank")
    candidate_rows = len(recent.merge(neighbours[["item_id"]], on="item_id"))
    assert logged_chunks(output, "int_similarity_recommendations") == (
        candidate_rows, math.ceil(candidate_rows / CANDIDATE_ROWS_PER_CHUNK))
    assert math.ceil(candidate_rows / CANDIDATE_ROWS_PER_CHUNK) > 1

    # the same pairs; the lists built on them the same up to the order of ties (a sum's last
    # bits follow the order a hash aggregation adds in, which threads vary from run to run)
    pd.testing.assert_frame_equal(
        read_table(database, "int_item_pairs", "item_key, similar_item_key"),
        read_table(one_statement, "int_item_pairs", "item_key, similar_item_key"),
        check_exact=False, rtol=1e-12)
    assert_same_similarity(read_table(database, "item_similarity", "item_id, rank"),
                           read_table(one_statement, "item_similarity", "item_id, rank"),
                           rel=1e-12)
    assert_same_ranking(
        read_table(database, "int_similarity_recommendations", "user_id, rank"),
        read_table(one_statement, "int_similarity_recommendations", "user_id, rank"))


def assert_same_ranking(actual: pd.DataFrame, expected: pd.DataFrame, rel: float = 1e-12):
    """Each user's candidates and raw scores; a candidate on one side only must tie with that
    user's last kept score."""
    merged = actual.merge(expected, on=["user_id", "item_id"], how="outer",
                          suffixes=("_chunked", "_one"), indicator=True)
    both = merged[merged["_merge"] == "both"]
    assert len(both) > 0.99 * len(expected)
    assert ((both["raw_score_chunked"] - both["raw_score_one"]).abs()
            <= rel * both["raw_score_one"]).all()
    last = expected.groupby("user_id")["raw_score"].min()
    for _, row in merged[merged["_merge"] != "both"].iterrows():
        score = row["raw_score_chunked"] if row["_merge"] == "left_only" else row["raw_score_one"]
        assert abs(score - last[row["user_id"]]) <= rel * score, f"{dict(row)} is not a tie"


def test_a_fixed_number_of_chunks_overrides_the_rows(small_lake, tmp_path, monkeypatch):
    output = dbt_build(tmp_path / "sqlrec.duckdb", small_lake, monkeypatch, pair_chunks=3,
                       pair_rows_per_chunk=1)
    assert "int_item_pairs: chunk 3 of 3" in output
    assert "int_item_pairs: chunk 4 of" not in output


# both chunk vars bad in one run (validate_vars names every bad var): each of the four kinds of
# bad value (zero, negative, not a number, above 4096) is met by one of them
@pytest.mark.parametrize(("pair_chunks", "recommendation_chunks"), [(0, "many"), (-1, 5000)])
def test_bad_chunk_vars_stop_the_run(small_lake, tmp_path, monkeypatch, pair_chunks,
                                     recommendation_chunks):
    from sqlrec.errors import UserError

    with pytest.raises(UserError) as failure:
        dbt_build(tmp_path / "sqlrec.duckdb", small_lake, monkeypatch, pair_chunks=pair_chunks,
                  recommendation_chunks=recommendation_chunks)
    allowed = "; it must be null (from the data) or an integer from 1 to 4096"
    assert f"pair_chunks is {json.dumps(pair_chunks)}{allowed}" in str(failure.value)
    assert (f"recommendation_chunks is {json.dumps(recommendation_chunks)}{allowed}"
            in str(failure.value))
