"""Sliding-window kernels of :class:`~sead.normalization.ExactQuantile` (``window=N``): a ring
buffer in insertion order and the same values kept sorted (row path), or a count tree over
value codes (large calls); both give the same exact mid-rank CDF."""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.sorted import (
    count_tree,
    count_tree_add,
    count_tree_midrank,
    dense_ranks,
    insert_sorted,
    lower_bound,
    midrank,
    upper_bound,
)
from .._stack import slot_runs


@njit(cache=True)
def _window_run(R, Z, S, ring, srt, count, pos, update):
    """One slot, row path: normalise ``R`` (n, K) into ``Z`` against the last ``window`` scores
    of each column (sizes into ``S``); with ``update`` each observed score then replaces the
    oldest.

    ``ring`` float64 (K, window) the scores in insertion order, ``srt`` (K, window) the same
    values sorted (first ``count[k]`` in use), ``count``, ``pos`` int64 (K,) fill and next slot.
    """
    n, K = R.shape
    N = ring.shape[1]
    for k in range(K):
        c = count[k]
        p = pos[k]
        a = srt[k]
        for t in range(n):
            r = R[t, k]
            S[t, k] = c
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
    """Sliding-window prequential mid-rank CDF with a count tree over value codes.

    ``codes`` (values mapped to their rank among the column's distinct values, -1 = NaN) holds
    the window's current content (``n_pre`` codes, oldest first) followed by the batch. The
    window is replayed (inserted, no output), then each batch score is normalised against the
    last ``window`` scores and inserted, evicting the oldest: O(log m) per score instead of
    the row path's O(window) element moves. Counts are exact integers, so ``out`` is
    bit-identical to the row path.
    """
    n = codes.shape[0]
    tree = count_tree(m)
    ring = np.empty(window, dtype=np.int64)
    pos = 0
    c = 0
    for t in range(n):
        code = codes[t]
        if code < 0:
            out[t - n_pre] = np.nan
            continue
        if t >= n_pre:
            out[t - n_pre] = 0.5 if c == 0 else count_tree_midrank(tree, code) / c
        if c == window:
            count_tree_add(tree, ring[pos], -1)
        else:
            c += 1
        count_tree_add(tree, code, 1)
        ring[pos] = code
        pos += 1
        if pos == window:
            pos = 0


@njit(cache=True)
def _window_run_batch_columns(R, Z, S, ring, srt, count, pos):
    """One slot, large call: per column, the window's content and the observed scores are coded
    by their rank among the distinct values, replayed through :func:`_window_run_batch`, and the
    last ``window`` scores become the new window (oldest first, from position 0)."""
    n, K = R.shape
    N = ring.shape[1]
    out = np.empty(n)
    for k in range(K):
        c, p = count[k], pos[k]
        m_obs = 0
        for t in range(n):
            if not math.isnan(R[t, k]):
                m_obs += 1
        values = np.empty(c + m_obs)
        for i in range(c):  # the window, oldest first
            values[i] = ring[k, i] if c < N else ring[k, (p + i) % N]
        size = c
        i = c
        for t in range(n):
            S[t, k] = min(size, N)
            r = R[t, k]
            if not math.isnan(r):
                values[i] = r
                i += 1
                size += 1
        codes_all = np.empty(values.shape[0], dtype=np.int64)
        m = dense_ranks(values, codes_all)
        codes = np.empty(c + n, dtype=np.int64)
        codes[:c] = codes_all[:c]
        i = c
        for t in range(n):
            if math.isnan(R[t, k]):
                codes[c + t] = -1
            else:
                codes[c + t] = codes_all[i]
                i += 1
        _window_run_batch(codes, m, N, c, out)
        Z[:, k] = out
        L = min(N, values.shape[0])
        last = values[values.shape[0] - L :]
        ring[k, :L] = last
        srt[k, :L] = np.sort(last)
        count[k] = L
        pos[k] = L % N


@njit(cache=True)
def _window_slots(R, slots, Z, S, ring, srt, count, pos, update, batch_rows):
    """Every run of rows of one slot through the row path, or the batch path for long runs."""
    starts = slot_runs(slots)
    for q in range(starts.shape[0] - 1):
        a, b = starts[q], starts[q + 1]
        s = slots[a]
        if update and b - a >= batch_rows:
            _window_run_batch_columns(R[a:b], Z[a:b], S[a:b], ring[s], srt[s], count[s], pos[s])
        else:
            _window_run(R[a:b], Z[a:b], S[a:b], ring[s], srt[s], count[s], pos[s], update)
