"""implicit's ALS behind one front: `fit` picks the CPU or the GPU implementation, as implicit's
own ``implicit.als.AlternatingLeastSquares`` does, and the batch functions turn a fitted model
into top-k lists without ever building a users × items (or items × items) matrix.

The model is trained on the confidence

    C(u,i) = 1 + alpha · w(u,i)

(Hu, Koren & Volinsky; implicit takes the matrix values as the confidence of a preference of 1).
BLAS is held to one thread while implicit runs its own threads (implicit's advice).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlrec.errors import UserError
from sqlrec.recommend import topk

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

    from sqlrec.recommend.params import AlsParams

DEVICES = ("auto", "cpu", "gpu")
# Rows of the users x items (or items x items) score block implicit builds per batch are its own
# business; these only bound how many rows one batch of results holds before it is written.
USERS_PER_BATCH = 20_000
ITEMS_PER_BATCH = 5_000


def resolve_device(device: str) -> str:
    """'cpu' or 'gpu' for a requested device: auto picks the GPU when implicit can use CUDA."""
    if device not in DEVICES:
        raise UserError(f"--device must be one of {', '.join(DEVICES)}, got {device!r}")
    import implicit.gpu

    if device == "auto":
        return "gpu" if implicit.gpu.HAS_CUDA else "cpu"
    if device == "gpu" and not implicit.gpu.HAS_CUDA:
        raise UserError("--device gpu: implicit has no CUDA support here (implicit.gpu.HAS_CUDA "
                        "is False); use --device cpu or auto")
    return device


def confidence(matrix: sp.csr_matrix, alpha: float) -> sp.csr_matrix:
    """C = 1 + alpha · w on the stored entries (the unobserved ones keep confidence 1)."""
    confident = matrix.copy()
    confident.data = (1.0 + alpha * confident.data).astype("float32")
    return confident


def _model(params: AlsParams, device: str, num_threads: int):
    """An unfitted implicit model on the device ('cpu' or 'gpu'). Its alpha stays 1: the
    confidence is computed here (`confidence`), from w."""
    if device == "gpu":
        import implicit.gpu.als

        return implicit.gpu.als.AlternatingLeastSquares(
            factors=params.factors, regularization=params.regularization, alpha=1.0,
            iterations=params.iterations, random_state=params.random_state)
    import implicit.cpu.als

    return implicit.cpu.als.AlternatingLeastSquares(
        factors=params.factors, regularization=params.regularization, alpha=1.0,
        iterations=params.iterations, random_state=params.random_state,
        num_threads=num_threads)


def fit(matrix: sp.csr_matrix, params: AlsParams, *, device: str = "cpu",
        show_progress: bool = False, num_threads: int = 0):
    """Fit ALS on a users × items matrix of w(u,i); return the implicit model (CPU or GPU)."""
    import threadpoolctl

    with threadpoolctl.threadpool_limits(1, "blas"):
        model = _model(params, device, num_threads)
        model.fit(confidence(matrix, params.alpha), show_progress=show_progress)
    return model


def available_items(items: int, unavailable: np.ndarray | None) -> np.ndarray | None:
    """The item columns that may be recommended (None: all of them)."""
    import numpy as np

    if unavailable is None or len(unavailable) == 0:
        return None
    allowed = np.ones(items, dtype=bool)
    allowed[np.asarray(unavailable, dtype=np.int64)] = False
    return np.flatnonzero(allowed).astype(np.int32)


def recommend_batches(model, matrix: sp.csr_matrix, k: int, *,
                      unavailable: np.ndarray | None = None,
                      users_per_batch: int = USERS_PER_BATCH,
                      ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Top-k per batch of users: (users done, user rows, item columns, scores), the last three
    flat and aligned.

    Items the user already has (their row of ``matrix``) and ``unavailable`` item columns are
    never recommended; a user with fewer eligible items gets a shorter list, and a user with no
    items at all (an empty row, hence no factors worth the name) gets none. Within a user the
    arrays are ordered best first.
    """
    import numpy as np
    import threadpoolctl

    users, items = matrix.shape
    # Scoring only the available items is both the filter and less work than filtering after.
    candidates = available_items(items, unavailable)
    n = min(k, items if candidates is None else len(candidates))
    if n <= 0:
        return
    active = np.flatnonzero(np.diff(matrix.indptr) > 0).astype(np.int32)
    on_cpu = not hasattr(model, "to_cpu")  # implicit's GPU models are the ones with to_cpu
    for start in range(0, len(active), users_per_batch):
        batch = active[start:start + users_per_batch]
        if on_cpu:  # exact, scoring items by decreasing norm until no other can enter a list
            ids, scores = topk.top_k(model.user_factors[batch], model.item_factors, n,
                                     known=matrix[batch], allowed=candidates)
        else:
            with threadpoolctl.threadpool_limits(1, "blas"):
                ids, scores = model.recommend(batch, matrix[batch], N=n,
                                              filter_already_liked_items=True, items=candidates)
        ids = np.asarray(ids).reshape(len(batch), n)
        scores = np.asarray(scores).reshape(len(batch), n)
        # filtered slots score -inf (implicit: -FLT_MAX) and sort last: a list just ends early
        keep = scores > np.finfo(np.float32).min / 2
        yield len(batch), np.repeat(batch, keep.sum(axis=1)), ids[keep], scores[keep]


def similar_item_batches(model, items: int, k: int, *, unavailable: np.ndarray | None = None,
                         items_per_batch: int = ITEMS_PER_BATCH,
                         ) -> Iterator[tuple[int, np.ndarray, np.ndarray, np.ndarray]]:
    """Top-k per batch of items: (items done, items, similar items, cosines), best first, never
    the item itself, never an unavailable item and never a cosine that is not positive."""
    import numpy as np
    import threadpoolctl

    candidates = available_items(items, unavailable)
    n = min(k + 1, items if candidates is None else len(candidates))
    if n <= 0:
        return
    for start in range(0, items, items_per_batch):
        batch = np.arange(start, min(start + items_per_batch, items), dtype=np.int32)
        with threadpoolctl.threadpool_limits(1, "blas"):
            ids, scores = model.similar_items(batch, N=n, items=candidates)
        ids = np.asarray(ids).reshape(len(batch), n)
        scores = np.asarray(scores).reshape(len(batch), n)
        keep = (ids != batch[:, None]) & (scores > 0)
        # at most k per item, even when the item itself was not among its own neighbours
        keep &= np.cumsum(keep, axis=1) <= k
        yield len(batch), np.repeat(batch, keep.sum(axis=1)), ids[keep], scores[keep]


def item_factors(model) -> np.ndarray:
    """The item factors of a CPU or GPU model, as a numpy array on the host."""
    import numpy as np

    return np.asarray(model.to_cpu().item_factors if hasattr(model, "to_cpu")
                      else model.item_factors)


def because_items(model, confident: sp.csr_matrix, regularization: float, users: np.ndarray,
                  items: np.ndarray) -> np.ndarray:
    """For each (user, recommended item) pair, aligned and grouped by user, the user's item that
    contributes most to the item's score, by the explanation of Hu, Koren & Volinsky that
    implicit's ``explain`` computes (`sqlrec.recommend.reasons.AlsReasons`, batched over users).
    ``confident`` holds C = 1 + alpha·w (`confidence`). A caller with many batches keeps one
    `reasons.AlsReasons` instead, which computes its item-side terms once."""
    import threadpoolctl

    from sqlrec.recommend.reasons import AlsReasons

    with threadpoolctl.threadpool_limits(1, "blas"):  # small systems: threads only contend
        return AlsReasons(item_factors(model), regularization).because(confident, users, items)
