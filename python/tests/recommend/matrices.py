"""Tiny matrices with known answers, and parameters that fit them, for the ALS tests."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sqlrec.recommend.params import AlsParams

SMALL = AlsParams(factors=4, regularization=0.01, alpha=5.0, iterations=30, random_state=7)


def checkerboard(size: int = 8) -> sp.csr_matrix:
    """User u has every item of its own parity except item u: u's best new item is u itself."""
    dense = np.array([[1.0 if (u + i) % 2 == 0 and i != u else 0.0 for i in range(size)]
                      for u in range(size)], dtype=np.float32)
    return sp.csr_matrix(dense)
