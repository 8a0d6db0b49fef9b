"""Why each recommended item: the user's item that contributes most to its score, for a whole
batch of (user, item) pairs at once, with array operations over users instead of a loop.

- ALS (`AlsReasons`): the explanation of Hu, Koren & Volinsky that implicit's ``explain``
  computes, exactly. score(u, j) = Σ_i c_ui · y_iᵀ A_u⁻¹ y_j over the user's items i, with
  A_u = G + Y_uᵀ D_u Y_u, G = YᵀY + λI, D_u = diag(c_ui − 1). By the Woodbury identity

      Y_u A_u⁻¹ = (I + K_u D_u)⁻¹ Z_u,   Z = Y G⁻¹ (once for all items),  K_u = Y_u Z_uᵀ,

  so a user with n items needs an n × n solve rather than a factors × factors one: most users
  have far fewer items than factors. Users with more items than factors take the direct f × f
  solve of A_u. Users are grouped by their item count rounded up (by at most an eighth) and
  padded with zero rows, which change neither form (a zero row of Y_u adds nothing to A_u, and gives
  an identity row in I + K_u D_u); padded entries are never picked.
- EASE (`ease_reasons`): argmax over the user's items i of X(u,i) · B(i,j) (X is binary),
  gathered for every pair at once and reduced per pair with ``reduceat``.

Ties go to the first of the user's items in column order, as ``np.argmax`` over the user's row
would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import scipy.sparse as sp

# Cells (float64) of the largest padded array one chunk of users may build: ~32 MB, so that a
# chunk stays in cache-friendly sizes and memory stays flat whatever the batch.
CHUNK_CELLS = 4_000_000


def _groups(users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and lengths of the runs of equal users in a flat array grouped by user."""
    import numpy as np

    if len(users) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    return starts, np.diff(np.r_[starts, len(users)])


def _padded(starts: np.ndarray, lengths: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions starts[g] + 0..width-1 per group and whether each is inside the group; the
    positions outside point at the group's start so that gathers stay in range."""
    import numpy as np

    offsets = np.arange(width)
    valid = offsets[None, :] < lengths[:, None]
    return np.where(valid, starts[:, None] + offsets[None, :], starts[:, None]), valid


class AlsReasons:
    """The exact ALS explanation for batches of pairs; G and Z = Y G⁻¹ are computed once."""

    def __init__(self, item_factors: np.ndarray, regularization: float):
        import numpy as np
        import scipy.linalg

        self.factors = np.asarray(item_factors, dtype=np.float64)
        f = self.factors.shape[1]
        self.gram = self.factors.T @ self.factors + regularization * np.eye(f)
        self.projected = scipy.linalg.cho_solve(scipy.linalg.cho_factor(self.gram),
                                                self.factors.T).T  # Z = Y G⁻¹ (G symmetric)

    def because(self, confident: sp.csr_matrix, users: np.ndarray,
                items: np.ndarray) -> np.ndarray:
        """For pairs (users[p], items[p]) grouped by user, each user having at least one item
        in ``confident`` (C = 1 + alpha·w), the user's item that contributes most.

        Many small systems: BLAS threads would only contend (and spin) on them, so callers
        hold BLAS to one thread (`als.because_items` does); the limit is not set here because
        it is process-wide, and threads that set and restore it in turn would undo it."""
        import numpy as np

        because = np.empty(len(users), dtype=np.int32)
        starts, picks = _groups(users)
        if len(starts) == 0:
            return because
        owners = users[starts]
        first = confident.indptr[owners].astype(np.int64)
        known = confident.indptr[owners + 1] - first
        # bucket by the item count rounded up to an eighth of its power of two (20 -> 20,
        # 100 -> 112): padding stays under 1/8 with few enough buckets to batch well
        octave = 1 << np.ceil(np.log2(np.maximum(known, 1))).astype(np.int64)
        step = np.maximum(octave // 8, 1)
        width = -(-np.maximum(known, 1) // step) * step
        f = self.factors.shape[1]
        for size in np.unique(width):
            members = np.flatnonzero(width == size)
            depth = int(picks[members].max())
            chunk = max(1, CHUNK_CELLS // (int(size) * max(int(size), depth, f)))
            for begin in range(0, len(members), chunk):
                group = members[begin:begin + chunk]
                self._chunk(confident, items, because, first[group], known[group],
                            starts[group], picks[group], int(size), depth)
        return because

    def _chunk(self, confident, items, because, first, known, starts, picks, size, depth):
        import numpy as np

        held_at, held_ok = _padded(first, known, size)  # (B, L) positions in confident
        held = confident.indices[held_at]
        weight = np.where(held_ok, confident.data[held_at], 1.0).astype(np.float64)
        held_factors = self.factors[held] * held_ok[..., None]  # (B, L, f), zero padding
        picked_at, picked_ok = _padded(starts, picks, depth)  # (B, R) positions in the pairs
        picked = self.factors[items[picked_at]]  # (B, R, f)
        lift = weight - 1.0  # D_u: zero on the padding
        if size <= self.factors.shape[1]:
            # Woodbury: (I + K D) X = Z_u Y_recᵀ, an L x L system per user
            projected = self.projected[held] * held_ok[..., None]
            kernel = held_factors @ projected.transpose(0, 2, 1)  # K_u, (B, L, L)
            system = kernel * lift[:, None, :]
            system[:, np.arange(size), np.arange(size)] += 1.0
            solved = np.linalg.solve(system, projected @ picked.transpose(0, 2, 1))
        else:
            # direct: A_u S = Y_recᵀ, then Y_u S, an f x f system per user
            system = self.gram + (held_factors * lift[..., None]).transpose(0, 2, 1) \
                @ held_factors
            solved = held_factors @ np.linalg.solve(system, picked.transpose(0, 2, 1))
        contributions = solved * weight[..., None]  # (B, L, R)
        contributions[~held_ok] = -np.inf
        best = np.argmax(contributions, axis=1)  # (B, R), first of equals in column order
        reasons = np.take_along_axis(held, best, axis=1)
        because[picked_at[picked_ok]] = reasons[picked_ok]


def ease_reasons(weights: np.ndarray, rows: sp.csr_matrix, users: np.ndarray,
                 picked: np.ndarray) -> np.ndarray:
    """For pairs (users[p], picked[p]) — rows of ``rows`` (binary, columns = modelled items)
    and modelled item positions — the user's item i with the largest B(i, picked). Every pair's
    user must have at least one item."""
    import numpy as np

    because = np.empty(len(users), dtype=np.int64)
    counts = np.diff(rows.indptr)[users].astype(np.int64)
    # pairs in chunks whose gathered (pair, user item) cells stay bounded
    ends = np.cumsum(counts)
    begin = 0
    while begin < len(users):
        base = ends[begin - 1] if begin else 0
        end = max(begin + 1, int(np.searchsorted(ends, base + CHUNK_CELLS, side="right")))
        span = slice(begin, end)
        sizes = counts[span]
        total = int(sizes.sum())
        pair = np.repeat(np.arange(end - begin), sizes)
        segment = np.cumsum(sizes) - sizes  # where each pair's cells start
        within = np.arange(total) - segment[pair]
        held = rows.indices[rows.indptr[users[span]][pair] + within]
        values = weights[held, picked[span][pair]]
        best = np.maximum.reduceat(values, segment)
        first = np.minimum.reduceat(np.where(values == best[pair], np.arange(total), total),
                                    segment)
        because[span] = held[first]
        begin = end
    return because
