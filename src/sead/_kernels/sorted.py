"""Sorted-array primitives: searches, mid-ranks, insertion, merging.

Every function takes the array and the number ``n`` of its leading entries in use (the rest is
spare room), so the same buffers can grow and shrink without reallocating.
"""

from __future__ import annotations

from numba import njit

__all__ = ["lower_bound", "upper_bound", "midrank", "insert_sorted", "insert_right", "merge_into"]


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
