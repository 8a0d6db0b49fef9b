"""The ALS front (CPU and GPU) and its batch functions on tiny matrices with known answers.

Every fit uses a fixed random_state, no progress bars and single-threaded BLAS; the GPU
variants run only where implicit was built with CUDA and sees a device.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import implicit.gpu  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from sqlrec.errors import UserError  # noqa: E402
from sqlrec.recommend import als  # noqa: E402

from matrices import SMALL, checkerboard  # noqa: E402

NO_CUDA = "implicit.gpu.HAS_CUDA is False: no CUDA build of implicit or no GPU on this machine"
DEVICES = [
    "cpu",
    pytest.param("gpu", marks=pytest.mark.skipif(not implicit.gpu.HAS_CUDA, reason=NO_CUDA)),
]


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


def test_devices_resolve_and_a_missing_gpu_is_a_clear_error():
    assert als.resolve_device("cpu") == "cpu"
    assert als.resolve_device("auto") == ("gpu" if implicit.gpu.HAS_CUDA else "cpu")
    if not implicit.gpu.HAS_CUDA:
        with pytest.raises(UserError, match="HAS_CUDA"):
            als.resolve_device("gpu")
    with pytest.raises(UserError):
        als.resolve_device("tpu")


def test_cpu_lists_are_implicits_own_recommend():
    """The CPU lists (`topk.top_k`, which stops scoring early) against implicit's brute-force
    `recommend` on the same fitted model: the same items in the same order, the same scores."""
    from sqlrec.recommend.params import AlsParams

    matrix = sp.random(400, 900, density=0.03, format="csr", random_state=3, dtype=np.float32)
    matrix.data = np.ceil(matrix.data * 5)
    params = AlsParams(factors=24, iterations=6, random_state=4).resolved(matrix.nnz)
    model = als.fit(matrix, params, device="cpu",
                    num_threads=1)
    unavailable = np.arange(0, 900, 7)
    candidates = als.available_items(900, unavailable)
    rows = np.flatnonzero(np.diff(matrix.indptr) > 0)
    expected_ids, expected_scores = model.recommend(rows, matrix[rows], N=20,
                                                    filter_already_liked_items=True,
                                                    items=candidates)
    batches = list(als.recommend_batches(model, matrix, 20, unavailable=unavailable,
                                         users_per_batch=150))
    users = np.concatenate([batch[1] for batch in batches])
    items = np.concatenate([batch[2] for batch in batches])
    scores = np.concatenate([batch[3] for batch in batches])
    assert (users == np.repeat(rows, 20)).all()
    np.testing.assert_array_equal(items, expected_ids.ravel())
    np.testing.assert_allclose(scores, expected_scores.ravel(), rtol=1e-5, atol=1e-6)
