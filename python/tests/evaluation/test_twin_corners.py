"""The twin is the dbt models at every setting `sqlrec tune` can choose, not only at the defaults
(test_twin.py): dbt builds of the small lake at the corners of the search space, each compared
with the twin as test_twin.py compares them (item_similarity, the similarity list, the blend
with its popular fill).

The corners are a covering set derived from the space itself (`corners`): every choice of a
categorical dimension and both ends of every numeric one are reached by some build, several
dimensions at a corner in each build, so that five builds cover them all. A model's own knobs
(rp3beta's, asymmetric cosine's) only count in the builds of that model. ALS's and EASE's
dimensions are not dbt vars: the twin runs their very code, and the blend takes their lists as
`sqlrec train` wrote them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sqlrec.evaluation import space, twin

from helpers import build_into, copy_database, twin_inputs

SIMILARITY = space.BY_KEY["similarity"]
DBT_DIMENSIONS = [dimension for dimension in space.SPACE
                  if dimension.section == "dbt_vars" and dimension is not SIMILARITY]
WEIGHTS = list(twin.PART_WEIGHTS.values())


def ends(dimension: space.Dimension) -> list:
    """The values of a dimension some build must reach: every choice of a categorical one; the
    low and high end of a numeric one, and a list's first value when it is neither
    (max_items_per_user's 50, the tightest cap, beside 0 = all and 200)."""
    if dimension.kind == "categorical":
        return list(dimension.choices)
    if dimension.kind == "discrete":
        values = [min(dimension.choices), max(dimension.choices)]
        return values + [choice for choice in dimension.choices[:1] if choice not in values]
    low, high = dimension.low, dimension.high
    return [int(low), int(high)] if dimension.kind == "int" else [low, high]


def corners() -> list[dict]:
    """The covering set: per similarity model as many builds as its own knobs have ends (one
    for a model without knobs); in build b, dimension d (the d-th of the space) at its end
    (b + d) mod its number of ends, so that neighbouring dimensions take different ends; the
    blend's weights by the bits of b + 1 (one part alone, another, two together...). The last
    build sets every weight to 0: the list is the popular fill alone."""
    builds = []
    for model in SIMILARITY.choices:
        own = [dimension for dimension in DBT_DIMENSIONS if dimension.when == ("similarity", model)]
        for index in range(max([len(ends(dimension)) for dimension in own], default=1)):
            build = {"similarity": model}
            for offset, dimension in enumerate(own):
                build[dimension.key] = ends(dimension)[(index + offset) % len(ends(dimension))]
            builds.append(build)
    shared = [dimension for dimension in DBT_DIMENSIONS
              if dimension.when is None and dimension.key not in WEIGHTS]
    for number, build in enumerate(builds):
        for offset, dimension in enumerate(shared):
            build[dimension.key] = ends(dimension)[(number + offset) % len(ends(dimension))]
        # the weights at their ends by the bits of number + 1: each part alone, then pairs
        for bit, var in enumerate(WEIGHTS):
            build[var] = ends(space.BY_KEY[var])[((number + 1) >> bit) & 1]
    builds[-1].update(dict.fromkeys(WEIGHTS, 0.0))
    return builds


CORNERS = corners()


def test_the_corners_reach_every_end_of_every_dbt_dimension():
    assert len(CORNERS) <= 6
    for dimension in [SIMILARITY, *DBT_DIMENSIONS]:
        applicable = [build for build in CORNERS if dimension.when is None
                      or build[dimension.when[0]] == dimension.when[1]]
        assert {build[dimension.key] for build in applicable} >= set(ends(dimension)), \
            dimension.key
    for build in CORNERS:
        assert all(space.BY_KEY[key].contains(value) for key, value in build.items())


@pytest.fixture(scope="module", params=CORNERS,
                ids=lambda build: "-".join(f"{value}" for value in build.values()))
def corner(request, small_lake, small_lake_refreshed, tmp_path_factory) -> tuple:
    """A copy of the small lake's refresh (its ALS and EASE lists) rebuilt at a corner: the
    models the comparison reads and those they need, no data tests."""
    database = copy_database(small_lake_refreshed,
                             tmp_path_factory.mktemp("corner") / "sqlrec.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        build_into(database, small_lake, patch, extra_vars=request.param,
                   select="+user_recommendations", data_tests=False)
    prepared, tables = twin_inputs(database, (
        "item_similarity", "int_similarity_recommendations", "user_recommendations",
        "stg_trained_lists__user_recommendations"))
    return prepared, prepared.list_knobs(space.active(request.param)), tables


def ranked(frame: pd.DataFrame) -> set[tuple]:
    return set(map(tuple, frame[["user_id", "item_id", "rank"]].to_numpy()))


@pytest.mark.slow
def test_item_similarity_is_the_twins_at_the_corner(corner):
    """The same scores; where the k-th neighbour ties with the next, either may be kept:
    mathematically equal scores (same common users and degrees, or rp3beta's beta 0, where the
    target's degree drops out) differ in the SQL in the last bits, by the order its parallel
    aggregation sums them in, and that noise picks the neighbour (the twin takes the first id)."""
    prepared, knobs, tables = corner
    data = prepared.scores(knobs["half_life_days"])
    similar = twin.similarity(twin.capped(data.matrix, knobs["max_items_per_user"]),
                              knobs).tocoo()
    mine = pd.DataFrame({"item_id": prepared.item_ids[similar.row],
                         "similar_item_id": prepared.item_ids[similar.col], "twin": similar.data})
    table = tables["item_similarity"]
    both = mine.merge(table, on=["item_id", "similar_item_id"], how="outer")
    kept = both.dropna(subset=["twin", "score"])
    np.testing.assert_allclose(kept["twin"], kept["score"], rtol=1e-9)
    assert (mine.groupby("item_id").size() == table.groupby("item_id").size()).all()
    either = both[both["twin"].isna() | both["score"].isna()]
    floor = table.groupby("item_id")["score"].min()
    np.testing.assert_allclose(either["twin"].fillna(either["score"]),
                               floor.loc[either["item_id"]].to_numpy(), rtol=1e-9)


def dbt_similarity(prepared: twin.Prepared, table: pd.DataFrame):
    """item_similarity as dbt built it, as the twin's sparse matrix."""
    import scipy.sparse as sp

    rows = np.searchsorted(prepared.item_ids, table["item_id"].to_numpy())
    cols = np.searchsorted(prepared.item_ids, table["similar_item_id"].to_numpy())
    shape = (len(prepared.item_ids),) * 2
    return sp.csr_matrix((table["score"].to_numpy(np.float64), (rows, cols)), shape=shape)


def model_lists(prepared: twin.Prepared, users: np.ndarray, rows: pd.DataFrame) -> twin.Lists:
    """A model's lists as `sqlrec train` wrote them, as the twin's model part."""
    user = np.searchsorted(prepared.user_ids, rows["user_id"].to_numpy())
    item = np.searchsorted(prepared.item_ids, rows["item_id"].to_numpy())
    assert (prepared.user_ids[user] == rows["user_id"].to_numpy()).all()
    assert (prepared.item_ids[item] == rows["item_id"].to_numpy()).all()
    return twin.model_lists(prepared, users, [(None, user, item,
                                               rows["model_score"].to_numpy(np.float64))])


@pytest.mark.slow
def test_the_similarity_list_and_the_blend_are_the_twins_at_the_corner(corner):
    prepared, knobs, tables = corner
    users = np.arange(len(prepared.user_ids))
    # from dbt's item_similarity: its near ties (see above) would otherwise change the lists
    similarity = twin.similarity_lists(prepared, users, knobs,
                                       dbt_similarity(prepared, tables["item_similarity"]))
    assert ranked(similarity.frame(prepared)) == ranked(
        tables["int_similarity_recommendations"])

    written = tables["stg_trained_lists__user_recommendations"]
    parts = {"item_similarity": similarity, **{
        model: model_lists(prepared, users, written[written["model"] == model])
        for model in ("als", "ease")}}
    blend = twin.blend(prepared, parts, knobs)
    served = tables["user_recommendations"]
    assert ranked(blend.frame(prepared)) == ranked(served)
    if not any(knobs[var] for var in WEIGHTS):
        # every weight 0: the list is the popular fill alone, for every user
        assert (served["source"] == "popular").all() and len(served) == knobs["top_k"] * len(
            users)
