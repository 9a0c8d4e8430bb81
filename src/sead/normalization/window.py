"""Sliding-window kernels of :class:`~sead.normalization.ExactQuantile` (``window=N``): a ring
buffer in insertion order and the same values kept sorted (row path), or a Fenwick tree over
value codes (large calls); both give the same exact mid-rank CDF."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.fenwick import fenwick_add, fenwick_prefix
from .._kernels.sorted import insert_sorted, lower_bound, midrank, upper_bound


@njit(cache=True)
def _window_run(R, Z, ring, srt, count, pos, update):
    n, K = R.shape
    N = ring.shape[1]
    for k in range(K):
        c = count[k]
        p = pos[k]
        a = srt[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = 0.5 if c == 0 else midrank(a, c, r) / c
            if not update:
                continue
            if c < N:
                insert_sorted(a, c, r)
                c += 1
            else:  # replace the oldest score: one shift between its slot and the new one's
                i = lower_bound(a, c, ring[k, p])
                j = upper_bound(a, c, r)
                if j > i:
                    for q in range(i, j - 1):
                        a[q] = a[q + 1]
                    a[j - 1] = r
                else:
                    for q in range(i, j, -1):
                        a[q] = a[q - 1]
                    a[j] = r
            ring[k, p] = r
            p = (p + 1) % N
        count[k] = c
        pos[k] = p


@njit(cache=True)
def _window_run_batch(codes, m, window, n_pre, out):
    """Sliding-window prequential mid-rank CDF with a Fenwick tree over value codes.

    ``codes`` (values mapped to their rank among the column's distinct values, -1 = NaN) holds
    the window's current content (``n_pre`` codes, oldest first) followed by the batch. The
    window is replayed (inserted, no output), then each batch score is normalised against the
    last ``window`` scores and inserted, evicting the oldest: O(log m) per score instead of
    the row path's O(window) element moves. Counts are exact integers, so ``out`` is
    bit-identical to the row path.
    """
    n = codes.shape[0]
    tree = np.zeros(m + 1, dtype=np.int64)
    cnt = np.zeros(m, dtype=np.int64)
    ring = np.empty(window, dtype=np.int64)
    pos = 0
    c = 0
    for t in range(n):
        code = codes[t]
        if code < 0:
            out[t - n_pre] = np.nan
            continue
        if t >= n_pre:
            if c == 0:
                out[t - n_pre] = 0.5
            else:
                less = fenwick_prefix(tree, code)
                out[t - n_pre] = (less + 0.5 * cnt[code]) / c
        if c == window:
            old = ring[pos]
            cnt[old] -= 1
            fenwick_add(tree, m, old + 1, -1)
            c -= 1
        ring[pos] = code
        pos = (pos + 1) % window
        cnt[code] += 1
        fenwick_add(tree, m, code + 1, 1)
        c += 1
