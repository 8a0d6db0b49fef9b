"""The batched reasons against references computed here: implicit's own ``explain`` and a
per-user float64 numpy solve for ALS, a per-pair brute force and a hand-worked case for EASE."""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from sqlrec.recommend import als, reasons  # noqa: E402
from sqlrec.recommend.params import AlsParams  # noqa: E402

PARAMS = AlsParams(factors=6, regularization=0.5, alpha=2.0, iterations=10, random_state=3)


def ragged_matrix(users=30, items=40, seed=5) -> sp.csr_matrix:
    """Users with 1 to 30 items, so that both the Woodbury path (fewer items than the 6
    factors) and the direct path (more) are taken, and every padded width occurs."""
    rng = np.random.default_rng(seed)
    dense = np.zeros((users, items))
    for user in range(users):
        held = rng.choice(items, size=1 + user % 30, replace=False)
        dense[user, held] = rng.uniform(0.5, 3.0, len(held))
    return sp.csr_matrix(dense.astype(np.float32))


def pairs(model, matrix, k):
    """Every user's top-k (grouped by user, as the batches give them)."""
    users, items = [], []
    for _, batch_users, batch_items, _ in als.recommend_batches(model, matrix, k):
        users.append(batch_users)
        items.append(batch_items)
    return np.concatenate(users), np.concatenate(items)


def numpy_reasons(factors, confident, regularization, users, items):
    """One float64 solve of A_u = YᵀY + λI + Yᵀ(C_u − I)Y per pair, no Woodbury, no padding."""
    factors = factors.astype(np.float64)
    dense = confident.toarray().astype(np.float64)
    expected = []
    for user, item in zip(users, items, strict=True):
        held = np.flatnonzero(dense[user])
        weight = dense[user, held]
        system = (factors.T @ factors + regularization * np.eye(factors.shape[1])
                  + factors[held].T @ np.diag(weight - 1.0) @ factors[held])
        contributions = factors[held] @ np.linalg.solve(system, factors[item]) * weight
        expected.append(held[np.argmax(contributions)])
    return np.array(expected)


def test_als_reasons_are_the_per_user_solve_and_implicits_explain():
    matrix = ragged_matrix()
    model = als.fit(matrix, PARAMS)
    confident = als.confidence(matrix, PARAMS.alpha)
    users, items = pairs(model, matrix, k=5)
    assert len(set(users.tolist())) == matrix.shape[0]

    got = als.because_items(model, confident, PARAMS.regularization, users, items)

    expected = numpy_reasons(model.item_factors, confident, PARAMS.regularization, users, items)
    assert got.tolist() == expected.tolist()
    # implicit's explain (alpha 1 in the model: the matrix holds the confidence already)
    explained = [model.explain(int(user), confident, int(item), N=1)[1][0][0]
                 for user, item in zip(users, items, strict=True)]
    assert np.mean(got == np.array(explained)) >= 0.99


def test_als_reasons_in_small_chunks_are_the_same(monkeypatch):
    matrix = ragged_matrix(seed=9)
    model = als.fit(matrix, PARAMS)
    confident = als.confidence(matrix, PARAMS.alpha)
    users, items = pairs(model, matrix, k=4)
    whole = als.because_items(model, confident, PARAMS.regularization, users, items)
    monkeypatch.setattr(reasons, "CHUNK_CELLS", 1)  # one user per chunk
    assert als.because_items(model, confident, PARAMS.regularization, users,
                             items).tolist() == whole.tolist()


def test_als_reasons_of_no_pairs_are_empty():
    model = als.fit(ragged_matrix(), PARAMS)
    empty = np.zeros(0, dtype=np.int32)
    assert len(als.because_items(model, als.confidence(ragged_matrix(), 2.0), 0.5, empty,
                                 empty)) == 0


def test_ease_reasons_by_hand():
    # user 0 holds items 0 and 2, user 1 holds item 1
    rows = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 1, 0, 0]], dtype=np.float32))
    weights = np.array([[0.0, 0.3, 0.1, 0.5],
                        [0.2, 0.0, 0.4, 0.9],
                        [0.7, 0.1, 0.0, 0.5],   # ties with item 0 for item 3: item 0 wins
                        [0.1, 0.2, 0.3, 0.0]], dtype=np.float32)
    users = np.array([0, 0, 1, 1])
    picked = np.array([1, 3, 3, 0])
    # user 0, item 1: B(0,1)=0.3 > B(2,1)=0.1 -> 0; item 3: 0.5 = 0.5 -> the first, 0
    assert reasons.ease_reasons(weights, rows, users, picked).tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("chunk", [1, 7, reasons.CHUNK_CELLS])
def test_ease_reasons_are_the_per_pair_argmax(monkeypatch, chunk):
    rng = np.random.default_rng(4)
    binary = (rng.random((25, 15)) < 0.3).astype(np.float32)
    binary[np.arange(25), rng.integers(0, 15, 25)] = 1.0  # everyone holds an item
    rows = sp.csr_matrix(binary)
    weights = rng.standard_normal((15, 15)).astype(np.float32)
    users = np.repeat(np.arange(25), 4)
    picked = rng.integers(0, 15, len(users))
    monkeypatch.setattr(reasons, "CHUNK_CELLS", chunk)

    got = reasons.ease_reasons(weights, rows, users, picked)

    expected = [np.flatnonzero(binary[user])[np.argmax(weights[binary[user] > 0, item])]
                for user, item in zip(users, picked, strict=True)]
    assert got.tolist() == expected
