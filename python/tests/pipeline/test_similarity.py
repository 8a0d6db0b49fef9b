"""item_similarity built by dbt on generated data equals an independent numpy/scipy computation."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from helpers import build_into, read_table
from reference import assert_same_similarity, item_similarity, read_events

# a build per setting
pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("knobs", "pair_chunks"),
    [
        # the project defaults, with a small cap so that the cap really cuts; the pairs in the
        # default 16 statements
        ({"half_life_days": 30, "max_items_per_user": 15, "min_common_users": 2, "top_k": 20,
          "similarity": "cosine"}, 16),
        # decay off, no cap, every pair, a short list; the pairs in one statement (on DuckDB a
        # different way to the per-user lists than with several)
        ({"half_life_days": 0, "max_items_per_user": 0, "min_common_users": 1, "top_k": 5,
          "similarity": "cosine"}, 1),
        # rp3beta, symmetric at alpha = beta (the default) and directional
        ({"half_life_days": 30, "max_items_per_user": 15, "min_common_users": 2, "top_k": 20,
          "similarity": "rp3beta", "alpha": 0.5, "beta": 0.5}, 16),
        ({"half_life_days": 0, "max_items_per_user": 0, "min_common_users": 1, "top_k": 10,
          "similarity": "rp3beta", "alpha": 0.7, "beta": 0.3}, 4),
        # the asymmetric cosine, directional
        ({"half_life_days": 30, "max_items_per_user": 15, "min_common_users": 2, "top_k": 20,
          "similarity": "asymmetric_cosine", "alpha": 0.8}, 16),
    ],
    ids=["cosine-capped", "cosine-no-decay-no-cap-one-statement", "rp3beta-symmetric",
         "rp3beta-directional", "asymmetric-cosine"],
)
def test_item_similarity_matches_numpy(small_lake, tmp_path, monkeypatch, knobs, pair_chunks):
    database = tmp_path / "sqlrec.duckdb"
    dbt_vars = {"half_life_days": knobs["half_life_days"],
                "max_items_per_user": knobs["max_items_per_user"],
                "min_common_users": knobs["min_common_users"], "similar_items_k": knobs["top_k"],
                "similarity": knobs["similarity"], "pair_chunks": pair_chunks}
    if knobs["similarity"] == "rp3beta":
        dbt_vars.update(rp3beta_alpha=knobs["alpha"], rp3beta_beta=knobs["beta"])
    if knobs["similarity"] == "asymmetric_cosine":
        dbt_vars.update(asymmetric_cosine_alpha=knobs["alpha"])
    # the similarity's models only: dbt's data tests run in the full builds of other tests
    build_into(database, small_lake, monkeypatch, extra_vars=dbt_vars, select="+item_similarity",
               data_tests=False)

    actual = read_table(database, "item_similarity", "item_id, rank")
    expected = item_similarity(read_events(small_lake), **knobs)

    assert len(actual) > 1_000
    assert_same_similarity(actual, expected)


def test_classic_formula_on_view_events(small_lake, tmp_path, monkeypatch):
    """Views only, no decay, no cap, min_common_users 1: w = ln(count) + 1, per-user L2, cosine."""
    views_lake = tmp_path / "views_lake"
    for path in (small_lake / "events").glob("*/*.parquet"):
        table = pq.read_table(path)
        table = table.filter(table.column("event_type").to_numpy(zero_copy_only=False) == "view")
        target = views_lake / "events" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, target)

    knobs = {"half_life_days": 0, "max_items_per_user": 0, "min_common_users": 1, "top_k": 20}
    database = tmp_path / "sqlrec.duckdb"
    build_into(database, views_lake, monkeypatch,
               extra_vars={"half_life_days": 0, "max_items_per_user": 0, "min_common_users": 1,
                           "similar_items_k": 20, "similarity": "cosine"},
               select="+item_similarity", data_tests=False)
    actual = read_table(database, "item_similarity", "item_id, rank")

    # the classic formula, spelled out: with unit weights and no decay, c(u,i) is the view count
    import numpy as np

    events = read_events(views_lake)
    counts = events.groupby(["user_id", "item_id"]).size().rename("count").reset_index()
    counts["w"] = np.log(counts["count"]) + 1
    assert (read_events(views_lake)["event_type"] == "view").all()
    expected = item_similarity(events, **knobs)
    # the reference's w is the same classic value for every pair
    reference_w = counts.set_index(["user_id", "item_id"])["w"]
    from reference import user_item_scores

    computed_w = user_item_scores(events, half_life_days=0).set_index(["user_id", "item_id"])["w"]
    np.testing.assert_allclose(computed_w.sort_index(), reference_w.sort_index(), rtol=1e-12)
    assert_same_similarity(actual, expected)
