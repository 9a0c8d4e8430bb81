"""A stream with planted anomalies and one hostile row in it, for the tests that a glitch row does
not blind a detector (test_glitch_rows, which imports this module in its child processes too,
test_rrcf, test_rules)."""

from __future__ import annotations

import numpy as np


def planted(rng, n_warm, n_after, n_eval, d=4):
    """Normal rows; 50 planted 6-sd anomalies among the last ``n_eval`` rows (labels ``y``).
    Returns ``X, y, start``, ``start`` the first of those rows (the glitch row goes at
    ``n_warm``, before ``n_after`` normal rows)."""
    X = rng.normal(size=(n_warm + 1 + n_after + n_eval, d))
    y = np.zeros(len(X), dtype=int)
    start = n_warm + 1 + n_after
    idx = start + rng.choice(n_eval, 50, replace=False)
    X[idx, rng.integers(0, d, idx.size)] += rng.choice([-6.0, 6.0], idx.size)
    y[idx] = 1
    return X, y, start


def glitch_row(value, where, d=4):
    """One hostile row: ``value`` in every feature (``where == "all"``) or in the first one
    (``"one"``), the others 0."""
    if where == "all":
        return np.full(d, float(value))
    row = np.zeros(d)
    row[0] = value
    return row


def with_glitch(X, at, value, where):
    """A copy of ``X`` whose row ``at`` is :func:`glitch_row` ``(value, where)``."""
    G = X.copy()
    G[at] = glitch_row(value, where, X.shape[1])
    return G
