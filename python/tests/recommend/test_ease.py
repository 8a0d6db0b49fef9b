"""EASE against its closed form computed here in float64 with numpy (np.linalg.inv, not the
Cholesky routines the module uses), its lists against a brute-force ranking of X·B, and its
memory budget against a hand count."""

from __future__ import annotations

import os

import numpy as np
import pytest
import scipy.sparse as sp

from sqlrec.recommend import ease
from sqlrec.recommend.params import EaseParams


def random_matrix(users=40, items=12, density=0.3, seed=3) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    dense = (rng.random((users, items)) < density) * rng.uniform(0.5, 3.0, (users, items))
    dense[0, :] = 0.0
    dense[0, 1] = 2.0  # one user with a single item
    return sp.csr_matrix(dense)


def closed_form(matrix: sp.csr_matrix, regularization: float) -> np.ndarray:
    """B = I - P diag(1/diag(P)), P = (XᵀX + λI)⁻¹, on the binary X (Steck 2019, eq. 8)."""
    binary = (matrix.toarray() > 0).astype(float)
    inverse = np.linalg.inv(binary.T @ binary + regularization * np.eye(binary.shape[1]))
    return np.eye(binary.shape[1]) - inverse / np.diag(inverse)[None, :]


def test_the_weights_are_the_closed_form_with_a_zero_diagonal():
    matrix = random_matrix()
    model = ease.fit(matrix, EaseParams(regularization=7.0))
    expected = closed_form(matrix, 7.0)
    assert model.weights.dtype == np.float32
    assert np.allclose(model.weights, expected, atol=1e-5, rtol=1e-4)
    assert np.all(np.diag(model.weights) == 0)
    assert list(model.items) == list(range(matrix.shape[1])) and model.regularization == 7.0


def test_the_default_lambda_is_five_times_the_mean_users_per_item_at_least_100():
    matrix = random_matrix(users=2_000, items=10, density=0.5)
    users_per_item = (matrix.toarray() > 0).sum(axis=0)
    assert ease.fit(matrix, EaseParams()).regularization == pytest.approx(
        5 * users_per_item.mean())
    assert ease.fit(random_matrix(), EaseParams()).regularization == 100.0  # sparse: the floor
    # a multiple of the rule (what `sqlrec tune` writes): relative to the data it trains on
    assert ease.fit(matrix, EaseParams(regularization_factor=0.5)).regularization == \
        pytest.approx(0.5 * 5 * users_per_item.mean())


def test_the_lists_are_the_top_positive_scores_of_new_available_items_with_their_reason():
    matrix = random_matrix()
    model = ease.fit(matrix, EaseParams(regularization=5.0))
    weights = closed_form(matrix, 5.0)
    binary = (matrix.toarray() > 0).astype(float)
    unavailable = np.array([4])
    k = 3
    rows = []
    for _, users, items, scores, because in ease.recommend_batches(
            model, matrix, k, unavailable=unavailable, users_per_batch=7):
        rows += list(zip(users.tolist(), items.tolist(), scores.tolist(), because.tolist(),
                         strict=True))
    got = {}
    for user, item, score, reason in rows:
        got.setdefault(user, []).append((item, score, reason))

    for user in range(matrix.shape[0]):
        known = np.flatnonzero(binary[user])
        scores = binary[user] @ weights
        candidates = [j for j in range(matrix.shape[1])
                      if j not in known and j not in unavailable and scores[j] > 1e-6]
        best = sorted(candidates, key=lambda j: (-scores[j], j))[:k]
        mine = got.get(user, [])
        assert [item for item, _, _ in mine] == best, user
        for item, score, reason in mine:
            assert score == pytest.approx(scores[item], rel=1e-4, abs=1e-6)
            assert reason == known[np.argmax(weights[known, item])]  # the largest X(u,i)·B(i,j)


def test_above_the_memory_budget_only_the_most_popular_items_that_fit_are_modelled():
    matrix = random_matrix(users=60, items=12, density=0.4, seed=8)
    budget_for_5_items = 5**2 * ease.BYTES_PER_CELL * ease.DENSE_COPIES / 2**30
    assert ease.item_limit(budget_for_5_items) == 5
    users_per_item = (matrix.toarray() > 0).sum(axis=0)
    by_popularity = sorted(range(12), key=lambda j: (-users_per_item[j], j))[:5]

    model = ease.fit(matrix, EaseParams(regularization=3.0, memory_gb=budget_for_5_items))
    assert list(model.items) == sorted(by_popularity)
    kept = sp.csr_matrix(matrix.toarray()[:, sorted(by_popularity)])
    assert np.allclose(model.weights, closed_form(kept, 3.0), atol=1e-5, rtol=1e-4)


def test_batches_on_several_threads_are_the_batches_of_one_in_the_same_order():
    matrix = random_matrix(users=90, items=14, density=0.3, seed=11)
    model = ease.fit(matrix, EaseParams(regularization=4.0))
    one = list(ease.recommend_batches(model, matrix, 4, users_per_batch=7))
    four = list(ease.recommend_batches(model, matrix, 4, users_per_batch=7, workers=4))
    assert len(one) == len(four) == 13
    for left, right in zip(one, four, strict=True):
        assert left[0] == right[0]
        for a, b in zip(left[1:], right[1:], strict=True):
            assert a.tolist() == b.tolist()


def test_batch_workers_fit_the_memory_budget():
    # a batch of 2,000 users x 1,000 items is 2e6 cells of 12 bytes: 24 MB
    assert ease.batch_workers(24e6 * 2 / 2**30, 1_000, users_per_batch=2_000) == min(
        2, len(os.sched_getaffinity(0)))
    assert ease.batch_workers(1e-6, 1_000) == 1  # never fewer than one
