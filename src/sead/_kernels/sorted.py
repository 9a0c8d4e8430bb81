"""Sorted-array primitives: searches, mid-ranks, insertion, merging; dense ranks and a count
tree over them (the mid-rank of a changing multiset of ranks).

The sorted-buffer functions take the array and the number ``n`` of its leading entries in use
(the rest is spare room), so the same buffers can grow and shrink without reallocating.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "lower_bound",
    "upper_bound",
    "midrank",
    "insert_sorted",
    "insert_right",
    "merge_into",
    "dense_ranks",
    "count_tree",
    "count_tree_add",
    "count_tree_midrank",
]


@njit(cache=True, inline="always")
def lower_bound(a, n, x):
    """First index ``i`` in the sorted ``a[:n]`` with ``a[i] >= x`` (``n`` when there is none).

    Parameters
    ----------
    a
        float64 array ``(m,)``, ``m >= n``, with ``a[:n]`` sorted ascending.
    n
        int: the entries in use.
    x
        float64: the value searched for.
    """
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def upper_bound(a, n, x):
    """First index ``i`` in the sorted ``a[:n]`` with ``a[i] > x`` (``n`` when there is none)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def midrank(a, n, x):
    """``#{a[:n] < x} + 0.5 · #{a[:n] == x}`` for the sorted ``a[:n]``, as a float."""
    lo = lower_bound(a, n, x)
    hi = upper_bound(a, n, x)
    return lo + 0.5 * (hi - lo)


@njit(cache=True, inline="always")
def insert_sorted(a, n, x):
    """Insert ``x`` into the sorted, left-aligned ``a[:n]`` (``a`` has room for ``n + 1``).

    The caller counts the new entry (``n += 1``). Equal values keep their order (``x`` goes
    after them).
    """
    i = upper_bound(a, n, x)
    for j in range(n, i, -1):
        a[j] = a[j - 1]
    a[i] = x


@njit(cache=True, inline="always")
def insert_right(a, n, x):
    """Insert ``x`` into the sorted, right-aligned ``a[cap - n:]`` (room on the left).

    ``cap = a.shape[0]``; the caller counts the new entry. Shifting the smaller values one slot
    to the left is a forward copy, which compiles to vector moves; the usual right shift of a
    left-aligned array is a backward loop that does not vectorise (about 4x slower here).
    """
    cap = a.shape[0]
    s = cap - n
    i = s + upper_bound(a[s:], n, x)
    for j in range(s - 1, i - 1):
        a[j] = a[j + 1]
    a[i - 1] = x


@njit(cache=True)
def merge_into(main, n_main, b, nb):
    """Merge the sorted ``b[:nb]`` into the sorted ``main[:n_main]`` in place; returns the new
    count ``n_main + nb`` (``main`` must have room for it)."""
    i = n_main - 1
    j = nb - 1
    w = n_main + nb - 1
    while j >= 0:
        if i >= 0 and main[i] > b[j]:
            main[w] = main[i]
            i -= 1
        else:
            main[w] = b[j]
            j -= 1
        w -= 1
    return n_main + nb


_RADIX_BITS = 11  # six passes over 64-bit keys; 2,048 buckets keep the scatter in cache
_RADIX_PASSES = 6


@njit(cache=True)
def dense_ranks(x, codes):
    """Rank of each value among the distinct values of ``x``: ``codes[i] = #{distinct v in x:
    v < x[i]}``; returns the number of distinct values (what ``np.unique(x,
    return_inverse=True)`` gives, with ``-0.0 == 0.0``).

    ``x`` float64 ``(n,)`` contiguous and NaN-free, ``n < 2**31``; ``codes`` int64 ``(n,)``.
    An LSD radix sort of the order-preserving integer image of the floats (sign bit flipped for
    positives, every bit for negatives), skipping the digits all values share: numba's argsort
    is a scalar merge sort, several times slower on the large calls of the sliding window.
    """
    n = x.shape[0]
    if n == 0:
        return 0
    D = _RADIX_BITS
    P = _RADIX_PASSES
    B = 1 << D
    bits = x.view(np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    zero = np.uint64(0)
    digit = np.uint64(B - 1)
    keys = np.empty(n, dtype=np.uint64)
    hist = np.zeros((P, B), dtype=np.int64)
    for i in range(n):
        b = bits[i]
        if b == sign:  # -0.0 is 0.0
            b = zero
        k = b ^ ((zero - (b >> np.uint64(63))) | sign)
        keys[i] = k
        for p in range(P):
            hist[p, (k >> np.uint64(p * D)) & digit] += 1
    idx = np.empty(n, dtype=np.int32)
    keys2 = np.empty(n, dtype=np.uint64)
    idx2 = np.empty(n, dtype=np.int32)
    offs = np.empty(B, dtype=np.int64)
    moved = False
    for p in range(P):
        h = hist[p]
        d = 0
        while h[d] == 0:
            d += 1
        if h[d] == n:  # every value has this digit: the order does not change
            continue
        s = 0
        for d in range(B):
            offs[d] = s
            s += h[d]
        shift = np.uint64(p * D)
        for i in range(n):
            k = keys[i]
            d = (k >> shift) & digit
            o = offs[d]
            keys2[o] = k
            idx2[o] = idx[i] if moved else i
            offs[d] = o + 1
        keys, keys2 = keys2, keys
        idx, idx2 = idx2, idx
        moved = True
    m = 0
    for q in range(n):
        if q > 0 and keys[q] != keys[q - 1]:
            m += 1
        codes[idx[q] if moved else q] = m
    return m + 1


@njit(cache=True)
def count_tree(m):
    """An empty multiset of the ranks ``0 .. m - 1``: a complete binary tree of counts, int32
    ``(2 P,)`` with ``P >= m`` a power of two, leaf ``P + i`` the count of rank ``i``, node ``j``
    the sum of nodes ``2 j`` and ``2 j + 1`` (entry 0 unused).

    Every update and query walks the same ``log2 P`` levels, so its loop is always predicted
    (a Fenwick tree's walks have data-dependent lengths: about 3x slower here).
    """
    P = 1
    while P < m:
        P *= 2
    return np.zeros(2 * P, dtype=np.int32)


@njit(cache=True, inline="always")
def count_tree_add(tree, i, v):
    """Add ``v`` to the count of rank ``i`` in the :func:`count_tree` ``tree``."""
    j = tree.shape[0] // 2 + i
    while j > 0:
        tree[j] += v
        j >>= 1


@njit(cache=True, inline="always")
def count_tree_midrank(tree, i):
    """``#{ranks < i} + 0.5 · #{ranks == i}`` in the :func:`count_tree` ``tree``, as a float."""
    j = tree.shape[0] // 2 + i
    eq = tree[j]
    less = 0
    while j > 1:
        less += tree[j ^ 1] * (j & 1)  # a right child: its left sibling's ranks are all less
        j >>= 1
    return less + 0.5 * eq
