"""Fenwick (binary indexed) tree over positions ``1 .. n`` held in the first ``n + 1`` entries of
an int64 array (entry 0 unused): point updates and prefix sums in O(log n)."""

from __future__ import annotations

from numba import njit

__all__ = ["fenwick_add", "fenwick_prefix"]


@njit(cache=True, inline="always")
def fenwick_add(tree, n, i, v):
    """Add ``v`` at position ``i`` (1-based) of the tree over positions ``1 .. n`` held in
    ``tree[:n + 1]`` (int64; ``tree`` may be longer, its tail is not touched)."""
    while i <= n:
        tree[i] += v
        i += i & (-i)


@njit(cache=True, inline="always")
def fenwick_prefix(tree, i):
    """Sum of positions ``1 .. i`` (0 for ``i <= 0``)."""
    s = 0
    while i > 0:
        s += tree[i]
        i -= i & (-i)
    return s
