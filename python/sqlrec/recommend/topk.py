"""Exact top-k inner products for a batch of users: score(u, j) = x_u · y_j, the k largest per
user among the items it may get, without scoring every item for every user.

Items are scored in blocks in decreasing order of their norm. By Cauchy–Schwarz no item after a
block scores more than |x_u| · |y| of the largest norm left, so a user whose k-th best score is
already above that bound is done, and the next block scores only the users left. ALS's item
factors grow with an item's popularity, and the top of a list is mostly popular items: most
users stop after a small share of the catalogue. The result is the brute force's: a user stops
only when no item left can reach its list, and the bound carries a margin above the float32
rounding of a dot product. Within a list ties are ranked by item column; where several items tie
at the k-th score itself, which of them is kept is arbitrary (as in implicit's own top-k).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

# Items scored for every user first, then blocks twice as large for the users left: small enough
# that most users stop early, large enough that a block is one efficient matrix product.
FIRST_BLOCK = 1_024
# Cells (float32) of the largest score matrix one slice of rows may build: 64 MB.
MAX_BLOCK_CELLS = 16_000_000
# Relative margin on the bound: a float32 dot product over f factors is off by at most about
# f · 2⁻²⁴ of |x| |y|; 1e-3 covers a thousand factors.
BOUND_MARGIN = 1e-3


def top_k(queries: np.ndarray, items: np.ndarray, k: int, *, known: sp.csr_matrix | None = None,
          allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The k best items per query row: (columns, scores), each (queries, k), best first, ties
    by column (see above for ties at the k-th score). ``known`` (queries x items) marks items
    a row may not get; ``allowed`` lists the only columns that may be recommended (None: all).
    A row with fewer than k eligible items ends in columns -1 with scores -inf."""
    import numpy as np

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    items = np.asarray(items, dtype=np.float32)
    columns = np.arange(len(items), dtype=np.int64) if allowed is None \
        else np.asarray(allowed, dtype=np.int64)
    norms = np.linalg.norm(items[columns], axis=1)
    order = np.argsort(-norms, kind="stable")
    columns, norms = columns[order], norms[order]
    # the position of each column in that order, to find a block's known items
    position = np.full(len(items), -1, dtype=np.int64)
    position[columns] = np.arange(len(columns))

    rows = len(queries)
    best = np.full((rows, k), -np.inf, dtype=np.float32)
    best_columns = np.full((rows, k), -1, dtype=np.int64)
    query_norms = np.linalg.norm(queries, axis=1)
    active = np.arange(rows)
    start, size = 0, FIRST_BLOCK
    while len(active) and start < len(columns):
        end = min(start + size, len(columns))
        block = columns[start:end]
        block_factors = items[block]
        # the active rows in slices, so that a block's score matrix stays bounded in memory
        # even where few rows stop early
        step = max(1, MAX_BLOCK_CELLS // len(block))
        for first in range(0, len(active), step):
            rows_ = active[first:first + step]
            scores = queries[rows_] @ block_factors.T
            if known is not None:
                _exclude(scores, known[rows_], position, start, end)
            merged = np.concatenate([best[rows_], scores], axis=1)
            merged_columns = np.concatenate(
                [best_columns[rows_], np.broadcast_to(block, (len(rows_), len(block)))], axis=1)
            keep = np.argpartition(-merged, k - 1, axis=1)[:, :k]
            best[rows_] = np.take_along_axis(merged, keep, axis=1)
            best_columns[rows_] = np.take_along_axis(merged_columns, keep, axis=1)
        start, size = end, size * 2
        if start < len(columns):
            # no item left scores above |x| · (the largest norm left)
            bound = query_norms[active] * norms[start] * (1 + BOUND_MARGIN)
            active = active[best[active].min(axis=1) <= bound]
    # best first, ties by column; the empty slots (-inf) last
    order = np.lexsort((np.where(best_columns < 0, len(items), best_columns), -best), axis=1)
    return np.take_along_axis(best_columns, order, axis=1), np.take_along_axis(best, order, axis=1)


def _exclude(scores: np.ndarray, known: sp.csr_matrix, position: np.ndarray, start: int,
             end: int) -> None:
    """Set to -inf the scores of the block [start, end) of the order that the rows know."""
    import numpy as np

    row = np.repeat(np.arange(known.shape[0]), np.diff(known.indptr))
    at = position[known.indices]
    inside = (at >= start) & (at < end)
    scores[row[inside], at[inside] - start] = -np.inf
