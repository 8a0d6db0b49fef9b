"""EASE (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", 2019): an item-item model
with a closed form, trained on the binary users x items matrix X:

    P = (XᵀX + λI)⁻¹,   B = I − P · diag(1 / diag(P))   (so B(j, j) = 0),
    score(u, j) = Σ_i X(u, i) · B(i, j).

Everything is float32. The Gram matrix and its inverse are dense items x items, so the model is
bounded by a memory budget: above it only the most popular items that fit are modelled (the
count is printed). λ defaults to max(100, 5 · mean diag(XᵀX)) — 5 times the mean number of users
per item, which held within 3% of the best λ on every dataset measured (docs/design.md,
"Evaluation and the choice of defaults"); 100 guards very sparse catalogues.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

    from sqlrec.recommend.params import EaseParams

BYTES_PER_CELL = 4  # float32
DENSE_COPIES = 3  # the Gram matrix, its factor/inverse in place, and one working copy
USERS_PER_BATCH = 2_000
# bytes per (user, modelled item) cell of a batch: its float32 score and int64 argpartition
SCORE_CELL_BYTES = 12


@dataclass
class EaseModel:
    """B restricted to the modelled items: `items` are their column numbers in the matrix."""

    weights: np.ndarray  # float32, len(items) x len(items), zero diagonal
    items: np.ndarray  # int32 column numbers of the modelled items
    regularization: float  # the λ used


def item_limit(memory_gb: float) -> int:
    """How many items fit the budget: DENSE_COPIES float32 matrices of items x items."""
    return max(int((memory_gb * 2**30 / (BYTES_PER_CELL * DENSE_COPIES)) ** 0.5), 1)


def modelled_items(matrix: sp.csr_matrix, memory_gb: float) -> np.ndarray:
    """All columns when they fit the budget, else the most popular (by users) that do, in
    column order; ties by column number."""
    import numpy as np

    users_per_item = np.diff(matrix.tocsc().indptr)
    limit = item_limit(memory_gb)
    if matrix.shape[1] <= limit:
        return np.arange(matrix.shape[1], dtype=np.int32)
    order = np.lexsort((np.arange(len(users_per_item)), -users_per_item))
    return np.sort(order[:limit]).astype(np.int32)


def default_regularization(gram_diagonal: np.ndarray) -> float:
    """max(100, 5 · mean diag(XᵀX)); for binary X the diagonal counts each item's users."""
    return max(100.0, 5.0 * float(gram_diagonal.mean())) if len(gram_diagonal) else 100.0


def fit(matrix: sp.csr_matrix, params: EaseParams) -> EaseModel:
    """Fit EASE on the binary pattern of a users x items matrix (its values are ignored)."""
    import numpy as np
    import scipy.linalg.lapack as lapack
    import threadpoolctl

    from sqlrec.recommend.params import REGULARIZATION_FACTOR

    items = modelled_items(matrix, params.memory_gb)
    binary = matrix[:, items].astype(np.float32)
    binary.data[:] = 1.0
    with threadpoolctl.threadpool_limits(None, "blas"):  # BLAS may use every core here
        gram = (binary.T @ binary).toarray().astype(np.float32)
        diagonal = gram.diagonal().copy()
        regularization = (params.regularization if params.regularization is not None
                          else (params.regularization_factor or REGULARIZATION_FACTOR)
                          * default_regularization(diagonal))
        gram[np.diag_indices_from(gram)] += regularization
        factor, info = lapack.spotrf(gram, lower=True, overwrite_a=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: XᵀX + λI is not positive definite (spotrf {info})")
        inverse, info = lapack.spotri(factor, lower=True, overwrite_c=True)
        if info != 0:
            raise np.linalg.LinAlgError(f"EASE: the inverse failed (spotri {info})")
    del gram, factor
    # spotri fills the lower triangle; P is symmetric
    lower = np.tril(inverse)
    inverse = lower + np.tril(lower, -1).T
    weights = -inverse / inverse.diagonal()[None, :]
    np.fill_diagonal(weights, 0.0)
    return EaseModel(weights.astype(np.float32), items, regularization)


def batch_workers(memory_gb: float, items: int, users_per_batch: int = USERS_PER_BATCH) -> int:
    """How many batches of `recommend_batches` may be computed at once: one per core, as many
    as fit EASE's memory budget (free again once the fit is done)."""
    from sqlrec.recommend.parallel import default_workers

    per_batch = users_per_batch * max(items, 1) * SCORE_CELL_BYTES
    return max(1, min(default_workers(), int(memory_gb * 2**30 // per_batch)))


def recommend_batches(model: EaseModel, matrix: sp.csr_matrix, k: int, *,
                      unavailable: np.ndarray | None = None,
                      users_per_batch: int = USERS_PER_BATCH, workers: int = 1,
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Top-k per batch of users with a positive score: (users done, user rows, item columns,
    scores, because columns), the last four flat and aligned, best first within a user. Never
    an item the user has, never an unavailable item. The because column is the user's item with
    the largest term X(u,i)·B(i,j) of the item's score: what explains it best. Batches are
    computed ``workers`` at a time (`batch_workers` says how many fit) and come in user order."""
    import numpy as np

    from sqlrec.recommend.parallel import ordered_map

    position = np.full(matrix.shape[1], -1, dtype=np.int64)
    position[model.items] = np.arange(len(model.items))
    blocked = np.zeros(len(model.items), dtype=bool)
    if unavailable is not None and len(unavailable):
        modelled = position[np.asarray(unavailable, dtype=np.int64)]
        blocked[modelled[modelled >= 0]] = True
    n = min(k, len(model.items))

    def batch(start: int):
        return _recommend_batch(model, matrix[start:start + users_per_batch], start, n, blocked)

    yield from ordered_map(batch, range(0, matrix.shape[0], users_per_batch), workers)


def _recommend_batch(model: EaseModel, users: sp.csr_matrix, start: int, n: int,
                     blocked: np.ndarray):
    """One batch of `recommend_batches`, for the users of rows start.. (``users``)."""
    import numpy as np

    from sqlrec.recommend.reasons import ease_reasons

    rows = users[:, model.items].astype(np.float32)
    rows.data[:] = 1.0
    scores = np.asarray(rows @ model.weights)
    scores[rows.nonzero()] = -np.inf  # known items
    scores[:, blocked] = -np.inf
    width = scores.shape[1]
    # the n largest sit in the last n slots; partitioning in place of -scores saves a copy
    top = np.argpartition(scores, width - n, axis=1)[:, width - n:] if n < width \
        else np.tile(np.arange(width), (scores.shape[0], 1))
    top_scores = np.take_along_axis(scores, top, axis=1)
    del scores
    order = np.lexsort((top, -top_scores), axis=1)  # best first, ties by column
    top = np.take_along_axis(top, order, axis=1)
    top_scores = np.take_along_axis(top_scores, order, axis=1)
    keep = top_scores > 0
    batch_users, slots = np.nonzero(keep)
    picked = top[batch_users, slots]
    # every kept pair has a positive score, so its user has at least one modelled item
    because = ease_reasons(model.weights, rows, batch_users, picked)
    return (rows.shape[0], (batch_users + start).astype(np.int32), model.items[picked],
            top_scores[keep].astype(np.float64), model.items[because].astype(np.int32))
