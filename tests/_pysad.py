"""PySAD's streaming protocol, for the parity tests: score each row, then learn it."""

from __future__ import annotations

import numpy as np


def prequential(model, X: np.ndarray) -> np.ndarray:
    """The scores of a PySAD ``model`` over the rows of ``X``: each row scored by
    ``score_partial`` before ``fit_partial`` learns it."""
    out = np.empty(len(X))
    for i, x in enumerate(X):
        out[i] = model.score_partial(x)
        model.fit_partial(x)
    return out


def aps_per_seed(X, y, ours, theirs, seeds, warm: int = 100) -> tuple[list, list]:
    """Average precision on the rows from ``warm`` on of ``ours(seed)`` (a sead detector, run by
    ``score_learn_many``) and of ``theirs(seed)`` (a PySAD model, run by :func:`prequential`),
    for each seed: the two lists."""
    from sklearn.metrics import average_precision_score

    a, b = [], []
    for seed in seeds:
        a.append(average_precision_score(y[warm:], ours(seed).score_learn_many(X)[warm:]))
        b.append(average_precision_score(y[warm:], prequential(theirs(seed), X)[warm:]))
    return a, b
