"""Metrics and ranks of the benchmark.

* :func:`evaluate` — average precision (scikit-learn's ``average_precision_score``) and ROC AUC
  of one score vector against the labels; NaN when the labels hold a single class.
* :func:`rank_table` — per task, rank the methods by their mean APS over seeds: 1 = best,
  tied methods share the average of the ranks they span (``scipy.stats.rankdata``,
  ``method="average"``).
* :func:`rank_summary` — each method's average rank over the tasks and the **population**
  variance of its ranks (``ddof=0``: the mean squared deviation from the average rank); the
  sample variance (``ddof=1``) is given alongside as ``var_sample``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = ["evaluate", "fast_evaluate", "rank_table", "rank_summary", "mean_std"]


def _labels_and_scores(y, scores) -> tuple[np.ndarray, np.ndarray]:
    """``y`` and ``scores`` as arrays (scores float64); ValueError if their shapes differ."""
    y = np.asarray(y)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape:
        raise ValueError(f"labels {y.shape} and scores {s.shape} differ in shape")
    return y, s


def _two_classes(y: np.ndarray) -> bool:
    """Whether ``y`` holds both classes (APS and ROC AUC are not defined otherwise)."""
    return bool(y.size and y.min() != y.max())


def evaluate(y, scores) -> tuple[float, float]:
    """``(APS, ROC AUC)`` of ``scores`` (higher = more anomalous) against 0/1 labels ``y``.

    Parameters
    ----------
    y
        0/1 labels (1 = anomaly).
    scores
        Scores of the same rows, higher = more anomalous.

    Returns
    -------
    aps : float
        Average precision (scikit-learn's ``average_precision_score``).
    auc : float
        ROC AUC. Both are NaN when ``y`` holds only one class (neither is defined then).

    Raises
    ------
    ValueError
        If ``y`` and ``scores`` differ in shape.

    Examples
    --------
    >>> evaluate([0, 0, 1, 0, 1], [0.1, 0.2, 0.9, 0.3, 0.4])
    (1.0, 1.0)
    >>> evaluate([0, 0, 0], [0.1, 0.2, 0.3])
    (nan, nan)
    """
    y, s = _labels_and_scores(y, scores)
    if not _two_classes(y):
        return math.nan, math.nan
    return float(average_precision_score(y, s)), float(roc_auc_score(y, s))


def fast_evaluate(y, scores) -> tuple[float, float]:
    """:func:`evaluate` from a single sort (for the many variant evaluations).

    The same step-wise average precision and trapezoidal ROC AUC as scikit-learn (ties form
    one threshold), equal to it up to floating-point rounding (~1e-15); the numbers that go
    into the methods' results and the ``--save-scores`` files use :func:`evaluate`.

    Parameters
    ----------
    y, scores
        As for :func:`evaluate`.

    Returns
    -------
    aps, auc : float
        As :func:`evaluate` returns them.

    Examples
    --------
    >>> fast_evaluate([0, 0, 1, 0, 1], [0.1, 0.2, 0.9, 0.3, 0.4])
    (1.0, 1.0)
    """
    y, s = _labels_and_scores(y, scores)
    if not _two_classes(y):
        return math.nan, math.nan
    order = np.argsort(-s, kind="stable")
    ss = s[order]
    yy = y[order].astype(np.float64)
    last = np.r_[np.flatnonzero(np.diff(ss)), ss.size - 1]  # last index of each distinct score
    tps = np.cumsum(yy)[last]
    fps = 1.0 + last - tps
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    aps = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    fpr = np.r_[0.0, fps / fps[-1]]
    tpr = np.r_[0.0, recall]
    auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))
    return aps, auc


def mean_std(values) -> tuple[float, float]:
    """Mean and population standard deviation of the finite values.

    Parameters
    ----------
    values
        Numbers; NaN and infinite ones are left out.

    Returns
    -------
    mean, std : float
        NaN, NaN when no value is finite.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std())


def rank_table(
    aps: dict[str, dict[str, list[float]]], methods: list[str]
) -> dict[str, dict[str, float]]:
    """Rank ``methods`` within each task by mean APS over seeds (1 = best, ties averaged).

    Parameters
    ----------
    aps
        ``{task: {method: [APS per seed]}}``.
    methods
        The methods compared. A task is left out when any of them has no finite APS there
        (a task without anomalies after the warm start, or a method not run).

    Returns
    -------
    dict
        ``{task: {method: rank}}``.

    Examples
    --------
    >>> aps = {
    ...     "a": {"x": [0.5], "y": [0.5], "z": [0.9]},
    ...     "b": {"x": [0.1, 0.3], "y": [0.1], "z": [0.0]},
    ... }
    >>> rank_table(aps, ["x", "y", "z"])
    {'a': {'x': 2.5, 'y': 2.5, 'z': 1.0}, 'b': {'x': 1.0, 'y': 2.0, 'z': 3.0}}
    """
    out: dict[str, dict[str, float]] = {}
    for task, per_method in aps.items():
        means = []
        for m in methods:
            vals = np.asarray(per_method.get(m, []), dtype=np.float64)
            vals = vals[np.isfinite(vals)]
            means.append(vals.mean() if vals.size else math.nan)
        means = np.asarray(means)
        if not np.isfinite(means).all():
            continue
        ranks = rankdata(-means, method="average")
        out[task] = {m: float(r) for m, r in zip(methods, ranks)}
    return out


def rank_summary(table: dict[str, dict[str, float]], methods: list[str]) -> dict[str, dict]:
    """Average rank and rank variance of each method over the tasks of a :func:`rank_table`.

    Parameters
    ----------
    table
        ``{task: {method: rank}}``, from :func:`rank_table`.
    methods
        The methods to summarise.

    Returns
    -------
    dict
        ``{method: {"mean", "var", "var_sample", "n_tasks", "ranks"}}``: ``var`` is the population
        variance (ddof=0), ``var_sample`` the sample variance (ddof=1; NaN with one task),
        ``ranks`` the per-task ranks in task order.

    Examples
    --------
    >>> table = {"a": {"x": 1.0, "y": 2.0}, "b": {"x": 2.0, "y": 1.0}, "c": {"x": 1.5, "y": 1.5}}
    >>> s = rank_summary(table, ["x", "y"])
    >>> s["x"]["mean"], round(s["x"]["var"], 4), s["x"]["var_sample"]
    (1.5, 0.1667, 0.25)
    """
    out = {}
    for m in methods:
        r = np.array([table[t][m] for t in table], dtype=np.float64)
        out[m] = {
            "mean": float(r.mean()) if r.size else math.nan,
            "var": float(r.var()) if r.size else math.nan,
            "var_sample": float(r.var(ddof=1)) if r.size > 1 else math.nan,
            "n_tasks": int(r.size),
            "ranks": [float(v) for v in r],
        }
    return out
