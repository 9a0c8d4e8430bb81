"""The exact reference: the mid-rank CDF among every past score, or among the last ``window``.

Full history: a sorted main array plus a small sorted buffer that is merged into it when it
reaches ~sqrt(n) entries (amortised O(sqrt n) moves per insert, O(log n) per query).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.fenwick import fenwick_add, fenwick_prefix
from .._kernels.sorted import insert_right, merge_into, midrank
from ._base import QuantileReference
from .window import _window_run, _window_run_batch

__all__ = ["ExactQuantile"]


@njit(cache=True)
def _exact_run(R, Z, main, n_main, buf, n_buf, update):
    """Normalise R (n, K) into Z; with ``update``, insert each score after normalising it."""
    n, K = R.shape
    cap = buf.shape[1]
    for k in range(K):
        nm = n_main[k]
        nb = n_buf[k]
        mk = main[k]
        bk = buf[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            if nm + nb == 0:
                Z[t, k] = 0.5
            else:
                Z[t, k] = (midrank(mk, nm, r) + midrank(bk[cap - nb :], nb, r)) / (nm + nb)
            if update:
                insert_right(bk, nb, r)
                nb += 1
                if nb >= cap or nb * nb >= 4 * nm:
                    nm = merge_into(mk, nm, bk[cap - nb :], nb)
                    nb = 0
        n_main[k] = nm
        n_buf[k] = nb


@njit(cache=True)
def _exact_run_batch(R, Z, main, n_main, buf, n_buf):
    """Prequential normalisation of a large batch, column by column, with sorting instead of
    one binary search per score.

    For each column the batch's scores are sorted once; their counts among the stored history
    come from one monotone sweep (or binary searches when the batch is much smaller than the
    history), their counts among the *earlier scores of the same batch* from a Fenwick tree
    over the batch's distinct values. Every count is an exact integer, so ``Z`` is
    bit-identical to the one-by-one path. Main has room for every score of the batch.
    """
    n, K = R.shape
    cap = buf.shape[1]
    for k in range(K):
        mk = main[k]
        bk = buf[k]
        nm = n_main[k]
        nb = n_buf[k]
        # the batch's observed scores, in time order
        rows = np.empty(n, dtype=np.int64)
        m = 0
        for t in range(n):
            if math.isnan(R[t, k]):
                Z[t, k] = np.nan
            else:
                rows[m] = t
                m += 1
        if m == 0:
            continue
        v = np.empty(m)
        for i in range(m):
            v[i] = R[rows[i], k]
        order = np.argsort(v, kind="mergesort")
        # dense ranks (1-based) and the history part of each score's mid-rank count
        dense = np.empty(m, dtype=np.int64)
        hist = np.empty(m)
        sweep = m * 32 > nm
        pm_lo = 0
        pm_hi = 0
        d = 0
        prev = np.nan
        h = 0.0
        bview = bk[cap - nb :]
        for q in range(m):
            i = order[q]
            x = v[i]
            if q == 0 or x != prev:
                d += 1
                prev = x
                if sweep:
                    while pm_lo < nm and mk[pm_lo] < x:
                        pm_lo += 1
                    if pm_hi < pm_lo:
                        pm_hi = pm_lo
                    while pm_hi < nm and mk[pm_hi] <= x:
                        pm_hi += 1
                    h = pm_lo + 0.5 * (pm_hi - pm_lo)
                else:
                    h = midrank(mk, nm, x)
                h += midrank(bview, nb, x)
            dense[i] = d
            hist[i] = h
        # Fenwick tree over dense ranks for the earlier scores of this batch
        tree = np.zeros(d + 1, dtype=np.int64)
        seen = np.zeros(d + 1, dtype=np.int64)
        n_hist = nm + nb
        for i in range(m):
            di = dense[i]
            less = fenwick_prefix(tree, di - 1)
            total = n_hist + i
            if total == 0:
                Z[rows[i], k] = 0.5
            else:
                Z[rows[i], k] = (hist[i] + (less + 0.5 * seen[di])) / total
            seen[di] += 1
            fenwick_add(tree, d, di, 1)
        # insert the batch into the history: buffer first, then the sorted batch
        if nb > 0:
            nm = merge_into(mk, nm, bk[cap - nb :], nb)
            nb = 0
        sv = np.empty(m)
        for q in range(m):
            sv[q] = v[order[q]]
        nm = merge_into(mk, nm, sv, m)
        n_main[k] = nm
        n_buf[k] = nb


class ExactQuantile(QuantileReference):
    """Exact mid-rank CDF over all past scores, or over the last ``window`` scores.

    Parameters
    ----------
    window
        ``None`` keeps every past score (memory grows by 8 bytes per score and detector;
        a query costs O(log n), an insertion amortised O(sqrt n) element moves); an integer
        keeps the last ``window`` scores (16 bytes × window per detector; O(log window) per
        query, O(window) element moves per insertion).

    Examples
    --------
    >>> ref = ExactQuantile()
    >>> ref.transform_update([[3.0], [1.0], [2.0], [2.0], [9.0]]).ravel()
    array([0.5, 0. , 0.5, 0.5, 1. ])
    >>> ref.transform([[2.0]])     # two 2s, one below: (1 + 0.5 * 2) / 5
    array([[0.4]])
    """

    #: calls with at least this many rows take the sorting path (same numbers, faster)
    _BATCH_ROWS = 256

    def __init__(self, window: int | None = None):
        self.window = window

    def _alloc(self, K):
        if self.window is None:
            self.main_ = np.empty((K, 1024))
            self.n_main_ = np.zeros(K, dtype=np.int64)
            self.buf_ = np.empty((K, 8192))
            self.n_buf_ = np.zeros(K, dtype=np.int64)
        else:
            if int(self.window) < 1:
                raise ValueError(f"window must be a positive integer or None, got {self.window!r}")
            N = int(self.window)
            self.ring_ = np.empty((K, N))
            self.sorted_ = np.empty((K, N))
            self.count_ = np.zeros(K, dtype=np.int64)
            self.pos_ = np.zeros(K, dtype=np.int64)

    def _run(self, R, Z, update):
        if self.window is not None:
            if update and R.shape[0] >= self._BATCH_ROWS:
                self._window_batch(R, Z)
            else:
                _window_run(R, Z, self.ring_, self.sorted_, self.count_, self.pos_, update)
            return
        if update:  # make room for every score of this call in the main array
            need = int((self.n_main_ + self.n_buf_).max()) + R.shape[0]
            if need > self.main_.shape[1]:
                grown = np.empty((self.main_.shape[0], max(need, 2 * self.main_.shape[1])))
                grown[:, : self.main_.shape[1]] = self.main_
                self.main_ = grown
            if R.shape[0] >= self._BATCH_ROWS:
                _exact_run_batch(R, Z, self.main_, self.n_main_, self.buf_, self.n_buf_)
                return
        _exact_run(R, Z, self.main_, self.n_main_, self.buf_, self.n_buf_, update)

    def _sizes(self):
        if self.window is None:
            return (self.n_main_ + self.n_buf_).astype(np.float64)
        return self.count_.astype(np.float64)

    def _capacity(self):
        return None if self.window is None else int(self.window)

    def _window_batch(self, R, Z):
        """Sliding window, large call: a Fenwick replay per column, then the new window state."""
        N = int(self.window)
        for k in range(R.shape[1]):
            c, p = int(self.count_[k]), int(self.pos_[k])
            pre = self.ring_[k, :c] if c < N else np.concatenate([self.ring_[k, p:], self.ring_[k, :p]])
            col = R[:, k]
            ok = ~np.isnan(col)
            values = np.concatenate([pre, col[ok]])
            uniq, inv = np.unique(values, return_inverse=True)
            codes = np.full(len(pre) + len(col), -1, dtype=np.int64)
            codes[: len(pre)] = inv[: len(pre)]
            codes[len(pre) :][ok] = inv[len(pre) :]
            out = np.empty(len(col))
            _window_run_batch(codes, len(uniq), N, len(pre), out)
            Z[:, k] = out
            last = values[-N:]  # the new window, oldest first, written from slot 0
            self.ring_[k, : len(last)] = last
            self.sorted_[k, : len(last)] = np.sort(last)
            self.count_[k] = len(last)
            self.pos_[k] = len(last) % N

    def __getstate__(self):  # do not pickle the unused tail of the growing array
        state = self.__dict__.copy()
        if self.window is None and "main_" in state:
            state["main_"] = self.main_[:, : int(self.n_main_.max()) if len(self.n_main_) else 0].copy()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.window is None and "main_" in state and self.main_.shape[1] == 0:
            self.main_ = np.empty((self.main_.shape[0], 1024))
