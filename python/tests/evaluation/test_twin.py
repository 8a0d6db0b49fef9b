"""The Python twin that `sqlrec tune` scores with gives the lists the dbt models and the Python
step serve, on a generated lake: item_similarity, the similarity list and the blend."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sqlrec.evaluation import twin
from sqlrec.recommend import als, ease
from sqlrec.recommend.params import EaseParams

from helpers import SMALL_REFRESH_ALS as ALS
from helpers import twin_inputs


@pytest.fixture(scope="module")
def served(small_lake_refreshed) -> tuple:
    """The twin's inputs and the served tables of the small lake's refresh."""
    return twin_inputs(small_lake_refreshed, (
        "item_similarity", "int_similarity_recommendations", "user_recommendations"))


def test_item_similarity_is_the_twins(served):
    prepared, tables = served
    knobs = prepared.list_knobs({})
    data = prepared.scores(knobs["half_life_days"])
    similar = twin.similarity(twin.capped(data.matrix, knobs["max_items_per_user"]),
                              knobs).tocoo()
    mine = pd.DataFrame({"item_id": prepared.item_ids[similar.row],
                         "similar_item_id": prepared.item_ids[similar.col], "twin": similar.data})
    both = mine.merge(tables["item_similarity"], on=["item_id", "similar_item_id"], how="outer")
    assert len(both) == len(mine) == len(tables["item_similarity"])
    np.testing.assert_allclose(both["twin"], both["score"], rtol=1e-9)


def ranked(frame: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, frame[["user_id", "item_id", "rank"]].to_numpy()))


def test_the_similarity_list_and_the_blend_are_the_twins(served):
    prepared, tables = served
    users = np.arange(len(prepared.user_ids))
    knobs = {**prepared.list_knobs({})}
    similarity = twin.similarity_lists(prepared, users, knobs)
    assert ranked(similarity.frame(prepared)) == ranked(
        tables["int_similarity_recommendations"])

    data = prepared.model_scores(knobs["half_life_days"])
    params = ALS.resolved(data.nnz)
    model_lists = {
        "als": twin.model_lists(prepared, users, als.recommend_batches(
            als.fit(data.matrix, params), data.matrix, 50, unavailable=prepared.unavailable)),
        "ease": twin.model_lists(prepared, users, ease.recommend_batches(
            ease.fit(data.matrix, EaseParams()), data.matrix, 50,
            unavailable=prepared.unavailable)),
    }
    blend = twin.blend(prepared, {"item_similarity": similarity, **model_lists}, knobs,
                       {"item_similarity": 1.0, "als": 1.0, "ease": 1.0})
    assert ranked(blend.frame(prepared)) == ranked(tables["user_recommendations"])
