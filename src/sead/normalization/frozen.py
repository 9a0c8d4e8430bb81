"""The frozen reference: the exact CDF against the first ``n_reference`` scores, then fixed."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.sorted import insert_sorted, midrank
from .._params import Interval
from .._stack import Compiled, slot_runs
from ._base import QuantileReference

__all__ = ["FrozenQuantile"]


@njit(cache=True)
def _frozen_run(R, Z, N, ref, count, update):
    """One slot: normalise ``R`` (n, K) into ``Z``, reference sizes into ``N``; with ``update``
    the first ``n_reference`` observed scores of each column join its reference.

    ``ref`` float64 (K, n_reference), sorted ``ref[k, :count[k]]``; ``count`` int64 (K,).
    """
    n, K = R.shape
    cap = ref.shape[1]
    for k in range(K):
        c = count[k]
        a = ref[k]
        for t in range(n):
            r = R[t, k]
            N[t, k] = c
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = 0.5 if c == 0 else midrank(a, c, r) / c
            if update and c < cap:
                insert_sorted(a, c, r)
                c += 1
        count[k] = c


@njit(cache=True)
def _frozen_slots(R, slots, Z, N, ref, count, update):
    """Every run of rows of one slot through :func:`_frozen_run` (``ref`` (slots, K, n_ref))."""
    starts = slot_runs(slots)
    for q in range(starts.shape[0] - 1):
        a, b = starts[q], starts[q + 1]
        s = slots[a]
        _frozen_run(R[a:b], Z[a:b], N[a:b], ref[s], count[s], update)


_frozen_slots_call = Compiled(_frozen_slots)


class FrozenQuantile(QuantileReference):
    """Exact mid-rank CDF against the first ``n_reference`` scores, frozen afterwards.

    Parameters
    ----------
    n_reference
        How many scores form the reference (for SEAD, typically the warm-up length).

    Examples
    --------
    >>> ref = FrozenQuantile(n_reference=2)
    >>> ref.transform_update([[1.0], [3.0], [2.0], [5.0]]).ravel()   # frozen on [1, 3]
    array([0.5, 1. , 0.5, 1. ])
    """

    def __init__(self, n_reference: int = 100):
        self.n_reference = n_reference

    _parameter_constraints = {"n_reference": [Interval("int", 1, None)]}

    def _spec(self, K):
        return {"ref": ((K, int(self.n_reference)), np.float64), "count": ((K,), np.int64)}

    def _capacity(self):
        return int(self.n_reference)

    def _run_slots(self, R, slots, Z, N, update):
        st = self.state_
        _frozen_slots_call(R, slots, Z, N, st["ref"], st["count"], update)

    @property
    def count_(self) -> np.ndarray:
        """Scores in each column's reference (single stream)."""
        return self._slot0("count")
