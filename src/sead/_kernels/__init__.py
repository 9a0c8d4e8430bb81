"""Shared low-level numba primitives, kept apart from the estimators that use them.

Like scikit-learn's ``utils/_random``, ``_heap`` and ``_sorting``: small ``@njit`` functions over
plain numpy arrays, with no knowledge of any detector. Every function here is compiled with
``cache=True`` and, where it sits in a hot loop, ``inline="always"``, so calling it costs what
writing its body in place would.

========================  ====================================================================
module                    what
========================  ====================================================================
:mod:`.sorted`            binary search, mid-ranks, insertion and merging in sorted arrays
:mod:`.fenwick`           Fenwick (binary indexed) tree: point add, prefix sum
:mod:`.random`            SplitMix64: the mixer, a generator held in a one-element array,
                          uniform floats and integers, counter-based draws
:mod:`.hashing`           MurmurHash3 (x86, 32-bit) of a byte array
:mod:`.heap`              binary min-heap kept in a row of a 2-D array
========================  ====================================================================
"""
