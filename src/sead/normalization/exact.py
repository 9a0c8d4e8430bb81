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
from .._params import Interval
from .._stack import Compiled, slot_runs
from ._base import QuantileReference
from .window import _window_slots

__all__ = ["ExactQuantile"]


@njit(cache=True)
def _exact_run(R, Z, N, main, n_main, buf, n_buf, update):
    """One slot, row path: normalise ``R`` (n, K) into ``Z`` (sizes into ``N``); with
    ``update``, insert each observed score after normalising it.

    ``main`` float64 (K, L) the sorted history (``n_main[k]`` in use), ``buf`` float64 (K, B)
    a sorted, right-aligned buffer of recent scores (``n_buf[k]`` in use), merged into
    ``main`` when it holds about ``2 sqrt(n_main)`` scores or is full. The caller makes room.
    """
    n, K = R.shape
    cap = buf.shape[1]
    for k in range(K):
        nm = n_main[k]
        nb = n_buf[k]
        mk = main[k]
        bk = buf[k]
        for t in range(n):
            r = R[t, k]
            N[t, k] = nm + nb
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
def _exact_run_batch(R, Z, N, main, n_main, buf, n_buf):
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
            N[t, k] = nm + nb + m
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


@njit(cache=True)
def _exact_slots(R, slots, Z, N, main, n_main, buf, n_buf, update, batch_rows):
    """Every run of rows of one slot through the row path, or the batch path for long runs."""
    starts = slot_runs(slots)
    for q in range(starts.shape[0] - 1):
        a, b = starts[q], starts[q + 1]
        s = slots[a]
        if update and b - a >= batch_rows:
            _exact_run_batch(R[a:b], Z[a:b], N[a:b], main[s], n_main[s], buf[s], n_buf[s])
        else:
            _exact_run(R[a:b], Z[a:b], N[a:b], main[s], n_main[s], buf[s], n_buf[s], update)


def _grow_last_axis(a, width, right_aligned=False):
    """``a`` with its last axis widened to ``width`` (content kept left- or right-aligned)."""
    b = np.zeros((*a.shape[:-1], width), dtype=a.dtype)
    if right_aligned:
        b[..., width - a.shape[-1] :] = a
    else:
        b[..., : a.shape[-1]] = a
    return b


_exact_slots_call = Compiled(_exact_slots)
_window_slots_call = Compiled(_window_slots)


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

    #: runs of at least this many rows take the sorting path (same numbers, faster)
    _BATCH_ROWS = 256

    def __init__(self, window: int | None = None):
        self.window = window

    _parameter_constraints = {"window": [Interval("int", 1, None), None]}

    def _spec(self, K):
        if self.window is None:  # the history and the buffer grow as needed (_before_run)
            return {
                "main": ((K, 1024), np.float64),
                "n_main": ((K,), np.int64),
                "buf": ((K, 64), np.float64),
                "n_buf": ((K,), np.int64),
            }
        W = int(self.window)
        return {
            "ring": ((K, W), np.float64),
            "sorted": ((K, W), np.float64),
            "count": ((K,), np.int64),
            "pos": ((K,), np.int64),
        }

    def _capacity(self):
        return None if self.window is None else int(self.window)

    def _before_run(self, R, slots, update):
        if self.window is not None:
            return
        st = self.state_
        # room for every score of this call in the history, and a buffer of ~2 sqrt(history)
        need = int((st["n_main"] + st["n_buf"]).max()) + R.shape[0]
        if need > st["main"].shape[-1]:
            st["main"] = _grow_last_axis(st["main"], max(need, 2 * st["main"].shape[-1]))
        need_buf = 2 * int(np.sqrt(need)) + 2
        if need_buf > st["buf"].shape[-1]:
            st["buf"] = _grow_last_axis(
                st["buf"], max(need_buf, 2 * st["buf"].shape[-1]), right_aligned=True
            )

    def _run_slots(self, R, slots, Z, N, update):
        st = self.state_
        if self.window is None:
            _exact_slots_call(
                R,
                slots,
                Z,
                N,
                st["main"],
                st["n_main"],
                st["buf"],
                st["n_buf"],
                update,
                self._BATCH_ROWS,
            )
        else:
            _window_slots_call(
                R,
                slots,
                Z,
                N,
                st["ring"],
                st["sorted"],
                st["count"],
                st["pos"],
                update,
                self._BATCH_ROWS,
            )

    def load_slot_state(self, slots, arrays):
        if self.window is None:  # a history saved elsewhere may be longer than this one's
            st = self.state_
            for name, right in (("main", False), ("buf", True)):
                width = np.asarray(arrays[name]).shape[-1]
                if width > st[name].shape[-1]:
                    st[name] = _grow_last_axis(st[name], width, right_aligned=right)
                elif width < st[name].shape[-1]:
                    arrays = dict(arrays)
                    arrays[name] = _grow_last_axis(
                        np.asarray(arrays[name]), st[name].shape[-1], right_aligned=right
                    )
        super().load_slot_state(slots, arrays)

    def __getstate__(self):  # do not pickle the unused tail of the growing history
        state = self.__dict__.copy()
        st = state.get("state_")
        if self.window is None and st:
            st = dict(st)
            used = int(st["n_main"].max()) if st["n_main"].size else 0
            st["main"] = st["main"][..., : max(used, 1)].copy()
            state["state_"] = st
        return state
