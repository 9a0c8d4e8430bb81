"""The frozen reference: the exact CDF against the first ``n_reference`` scores, never changed after."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.sorted import insert_sorted, midrank
from ._base import QuantileReference

__all__ = ["FrozenQuantile"]


@njit(cache=True)
def _frozen_run(R, Z, ref, count, update):
    n, K = R.shape
    N = ref.shape[1]
    for k in range(K):
        c = count[k]
        a = ref[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = 0.5 if c == 0 else midrank(a, c, r) / c
            if update and c < N:
                insert_sorted(a, c, r)
                c += 1
        count[k] = c


class FrozenQuantile(QuantileReference):
    """Exact mid-rank CDF against the first ``n_reference`` scores, frozen afterwards.

    Parameters
    ----------
    n_reference
        How many scores form the reference (for SEAD, typically the warm-up length).

    Examples
    --------
    >>> ref = FrozenQuantile(n_reference=2)
    >>> ref.transform_update([[1.0], [3.0], [2.0], [5.0]]).ravel()
    array([0.5, 0. , 0.5, 1. ])
    """

    def __init__(self, n_reference: int = 100):
        self.n_reference = n_reference

    def _alloc(self, K):
        if int(self.n_reference) < 1:
            raise ValueError(f"n_reference must be a positive integer, got {self.n_reference!r}")
        self.ref_ = np.empty((K, int(self.n_reference)))
        self.count_ = np.zeros(K, dtype=np.int64)

    def _sizes(self):
        return self.count_.astype(np.float64)

    def _capacity(self):
        return int(self.n_reference)

    def _run(self, R, Z, update):
        _frozen_run(R, Z, self.ref_, self.count_, update)
