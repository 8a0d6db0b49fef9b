"""The pruned top-k against the brute force: every score computed, masked and sorted by numpy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from sqlrec.recommend.topk import top_k


def brute_force(queries, items, k, known, allowed):
    scores = queries.astype(np.float64) @ items.astype(np.float64).T
    if known is not None:
        scores[known.toarray() > 0] = -np.inf
    if allowed is not None:
        blocked = np.ones(len(items), dtype=bool)
        blocked[allowed] = False
        scores[:, blocked] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    top = np.take_along_axis(scores, order, axis=1)
    return np.where(np.isfinite(top), order, -1), top


def factors(seed: int, users: int, items: int, f: int):
    """ALS-like factors: item norms spread over two orders of magnitude, as popularity does."""
    random = np.random.default_rng(seed)
    item_factors = random.normal(size=(items, f)) * np.geomspace(0.05, 5, items)[:, None]
    random.shuffle(item_factors)
    return (random.normal(size=(users, f)).astype(np.float32),
            item_factors.astype(np.float32), random)


@pytest.mark.parametrize(("users", "items", "k"), [(300, 5_000, 10), (50, 3_000, 50),
                                                   (20, 40, 50)])
def test_the_pruned_top_k_is_the_brute_forces(users, items, k):
    queries, item_factors, random = factors(1, users, items, 16)
    known = sp.random(users, items, density=0.02, format="csr", random_state=2)
    allowed = np.sort(random.choice(items, size=items * 9 // 10, replace=False))
    columns, scores = top_k(queries, item_factors, k, known=known, allowed=allowed)
    expected_columns, expected_scores = brute_force(queries, item_factors, k, known, allowed)
    width = min(k, items)
    np.testing.assert_array_equal(columns[:, :width], expected_columns[:, :width])
    np.testing.assert_allclose(scores[:, :width], expected_scores[:, :width], rtol=1e-5,
                               atol=1e-5)
    assert (columns[:, width:] == -1).all() and np.isneginf(scores[:, width:]).all()


def test_a_row_with_fewer_eligible_items_ends_in_empty_slots():
    queries = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    items = np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=np.float32)
    known = sp.csr_matrix(np.array([[1, 0, 1], [0, 0, 0]]))
    columns, scores = top_k(queries, items, 3, known=known, allowed=np.array([0, 1, 2]))
    # row 0 may only get item 1 (score 0); row 1: item 1 (2), item 2 (1), item 0 (0)
    assert columns.tolist() == [[1, -1, -1], [1, 2, 0]]
    assert scores[0, 0] == 0 and np.isneginf(scores[0, 1:]).all()
    assert scores[1].tolist() == [2.0, 1.0, 0.0]


def test_equal_scores_in_a_list_are_ranked_by_item_column():
    queries = np.ones((1, 2), dtype=np.float32)
    items = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.1], [2.0, 0.0]], dtype=np.float32)
    columns, scores = top_k(queries, items, 3)
    assert columns.tolist() == [[3, 0, 1]] and scores.tolist() == [[2.0, 1.0, 1.0]]


def test_rows_scored_in_slices_give_the_same_lists(monkeypatch):
    """A block's rows are scored in slices of bounded memory: tiny slices change nothing."""
    from sqlrec.recommend import topk

    queries, item_factors, _ = factors(5, 120, 2_000, 8)
    known = sp.random(120, 2_000, density=0.05, format="csr", random_state=6)
    whole = top_k(queries, item_factors, 15, known=known)
    monkeypatch.setattr(topk, "MAX_BLOCK_CELLS", 3_000)  # a row or two per slice
    sliced = top_k(queries, item_factors, 15, known=known)
    np.testing.assert_array_equal(sliced[0], whole[0])
    # the same dot products, but BLAS picks its kernel (and so its order of summing) by matrix
    # shape and CPU: a slice of two rows may round the last bit otherwise (seen on one machine)
    np.testing.assert_allclose(sliced[1], whole[1], rtol=1e-6)
    np.testing.assert_array_equal(whole[0], brute_force(queries, item_factors, 15, known, None)[0])
