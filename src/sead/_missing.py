"""Missing values: the policy every model applies, and its compiled kernel.

A model's ``missing`` parameter says what a missing value (NaN or None in a row, or a feature
absent from a dict or DataFrame) does:

* ``"raise"`` — it is refused with a ValueError naming the row and the feature;
* ``"impute"`` (default) — it is replaced by the last value seen for that feature in this
  stream (the key's stream, for :class:`sead.KeyedSEAD`), and the row is scored and learned.
  Until a feature has been seen once there is nothing to carry forward: the row is scored with
  0 in its place but not learned;
* ``"skip"`` — the row is scored as with ``"impute"`` but not learned, and its values are not
  carried forward.

Rows without a missing value are unaffected by the policy. Each stream keeps the last value of
every feature (8 bytes per feature) for it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["POLICY_CODES", "fill_missing", "record_last", "learn_runs"]

POLICY_CODES = {"impute": 1, "skip": 2}


@njit(cache=True)
def fill_missing(X, slots, last, seen, policy, update, learnable):
    """Replace the NaN cells of ``X`` (n, d) in place and say which rows may be learned.

    ``last`` float64 (capacity, d) and ``seen`` bool (capacity, d) hold each slot's last value
    of each feature. With ``update``, the values present in a row are recorded once the row is
    filled (so a row's fill comes from the rows before it) — for ``"skip"`` only those of
    complete rows. ``policy`` is 1 (impute) or 2 (skip); ``learnable`` bool (n,) is written.
    """
    n, d = X.shape
    present = np.empty(d, dtype=np.bool_)
    for r in range(n):
        s = slots[r]
        ok = True
        complete = True
        for j in range(d):
            present[j] = not math.isnan(X[r, j])
            if not present[j]:
                complete = False
                if seen[s, j]:
                    X[r, j] = last[s, j]
                else:
                    X[r, j] = 0.0
                    ok = False
        learnable[r] = ok and (complete or policy == 1)
        if update and (complete or policy == 1):
            for j in range(d):
                if present[j]:
                    last[s, j] = X[r, j]
                    seen[s, j] = True


@njit(cache=True)
def record_last(X, slots, last, seen):
    """Record the rows of ``X`` (no missing value) as their slots' last values, in order."""
    for r in range(X.shape[0]):
        s = slots[r]
        for j in range(X.shape[1]):
            last[s, j] = X[r, j]
            seen[s, j] = True


def learn_runs(learnable):
    """``[(start, stop, learn), ...]``: the runs of equal consecutive values of ``learnable``."""
    n = len(learnable)
    if n == 0:
        return []
    edges = np.flatnonzero(np.diff(learnable.astype(np.int8))) + 1
    starts = np.concatenate([[0], edges])
    stops = np.concatenate([edges, [n]])
    return [(int(a), int(b), bool(learnable[a])) for a, b in zip(starts, stops)]
