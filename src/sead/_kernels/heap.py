"""A binary min-heap of ``(key, value)`` pairs kept in row ``t`` of two 2-D arrays, so that many
heaps (one per tree, say) share two allocations."""

from __future__ import annotations

from numba import njit

__all__ = ["heap_push", "heap_replace_min"]


@njit(cache=True, inline="always")
def heap_push(hkey, hval, t, size, key, val):
    """Add ``(key, val)`` to heap ``t`` holding ``size`` entries (the caller counts it).

    Parameters
    ----------
    hkey
        float64 array ``(n_heaps, capacity)``: the keys, one min-heap per row.
    hval
        int array ``(n_heaps, capacity)``: the value of each key.
    t
        int: the heap's row.
    size
        int: the entries in heap ``t`` before the push (``< capacity``).
    key, val
        The entry added.
    """
    i = size
    while i > 0:
        up = (i - 1) >> 1
        if hkey[t, up] <= key:
            break
        hkey[t, i] = hkey[t, up]
        hval[t, i] = hval[t, up]
        i = up
    hkey[t, i] = key
    hval[t, i] = val


@njit(cache=True, inline="always")
def heap_replace_min(hkey, hval, t, size, key, val):
    """Replace the smallest entry of heap ``t`` (``size`` entries) by ``(key, val)``."""
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and hkey[t, child + 1] < hkey[t, child]:
            child += 1
        if key <= hkey[t, child]:
            break
        hkey[t, i] = hkey[t, child]
        hval[t, i] = hval[t, child]
        i = child
    hkey[t, i] = key
    hval[t, i] = val
