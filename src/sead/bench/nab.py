"""NAB scoring: the Numenta Anomaly Benchmark v1.1 score of per-row anomaly scores.

Written from Lavin & Ahmad (2015), "Evaluating Real-time Anomaly Detection Algorithms - the
Numenta Anomaly Benchmark" (IEEE ICMLA) and NAB's whitepaper, and checked against NAB's
published scoreboard. With NAB's published per-row scores and thresholds it reproduces
``results/final_results.json`` (``tests/test_nab_scorer.py``).

The rules, for one series of ``n`` rows whose anomaly windows are the inclusive row ranges
``[l_k, r_k]`` (``W_k = r_k - l_k + 1`` rows), under a profile with weights ``A_TP``, ``A_FP``,
``A_FN``:

* a *detection* is a row whose anomaly score is ``>= threshold``;
* the first ``P = min(floor(0.15 n), 750)`` rows are NAB's probationary period
  (:func:`probation_length`): they are not scored at all, neither as detections nor as misses;
  a window with no row at or after ``P`` does not count;
* with ``sigma(y) = 2 / (1 + exp(5 y)) - 1`` (NAB's scaled sigmoid, ``-1`` for ``y > 3``), a
  row ``i`` is worth (:func:`row_weights`)

  - inside window ``k``: ``A_TP * sigma(-(r_k - i + 1) / W_k) / sigma(-1)``, which is
    ``A_TP`` at the window's first row and falls towards 0 at its last;
  - outside every window, after window ``k`` (the last one that ended before ``i``):
    ``A_FP * sigma((i - r_k) / (W_k - 1))``, from about ``+A_FP`` just after the window to
    ``-A_FP`` three window-widths past it; before any window: ``-A_FP``;

* a window is worth the weight of its *earliest* scored detection, and ``-A_FN`` when it has
  none (later detections in the same window add nothing);
* every scored detection outside the windows adds its weight (a cost, once it is far enough
  from the window before it);
* the raw score of a corpus is the sum over its series; it is normalised as NAB does:
  ``100 * (raw - null) / (perfect - null)``, where ``null = -A_FN * (number of counted
  windows)`` is the raw score of a detector that detects nothing (NAB's null detector) and
  ``perfect = A_TP * (number of windows)`` that of one detecting each window at its first row.

Two corner cases NAB leaves undefined get a documented policy: outside a window that follows a
window of a single row (``W_k = 1``, which NAB divides by zero for), a detection is worth
``-A_FP``; and when ``perfect == null`` (scored series without windows, or zero weights), the
normalised score is NaN (the raw score is still given).

Counts follow NAB's ``*_scores.csv``: ``tp``, ``fp``, ``fn``, ``tn`` count *scored rows*
(detections inside windows, detections outside, undetected rows inside, undetected rows
outside); the window counts are ``detected_windows`` and ``missed_windows``.

**API.**

* :func:`score_corpus` - the score at one threshold, with per-series breakdown;
* :func:`optimize_threshold` - the threshold that maximises the corpus score, exactly (one sort
  of every scored row, as NAB's sweeper; every distinct score value is a candidate);
* :func:`threshold_curve` - the raw corpus score at every candidate threshold;
* :func:`write_nab_results` - per-row scores in NAB's ``results/`` layout, for NAB's own tools;
* :data:`PROFILES`, :class:`Profile`, :class:`SeriesLabels`, :func:`row_weights`,
  :func:`probation_length`.

The corpus (series lengths and windows) defaults to :func:`sead.datasets.nab.load_nab_corpus`;
pass ``corpus=`` (a :class:`~sead.datasets.nab.NABCorpus`, or a mapping from series name to
:class:`~sead.datasets.nab.NABSeries` or :class:`SeriesLabels`) to score other series or a
subset. Scores must cover exactly the corpus' series.

Examples
--------
Score a tiny hand-made corpus of one 20-row series with a window on rows 10-13 (probation:
rows 0-2); a detection at the window's first row earns the full TP weight:

>>> import numpy as np
>>> from sead.bench.nab import SeriesLabels, optimize_threshold, score_corpus
>>> corpus = {"demo/a.csv": SeriesLabels(n_rows=20, windows=[(10, 13)])}
>>> s = np.zeros(20)
>>> s[10], s[16] = 0.9, 0.6
>>> r = score_corpus({"demo/a.csv": s}, 0.8, "standard", corpus=corpus)
>>> r.score, r.raw_score, r.detected_windows, r.fp
(100.0, 1.0, 1, 0)
>>> r = score_corpus({"demo/a.csv": s}, 0.5, "standard", corpus=corpus)
>>> round(r.raw_score, 4), r.fp, round(r.score, 2)
(0.8915, 1, 94.57)
>>> best = optimize_threshold({"demo/a.csv": s}, "standard", corpus=corpus)
>>> best.threshold, best.score
(0.9, 100.0)
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "PROBATION_MAX_ROWS",
    "PROBATION_PERCENT",
    "PROFILES",
    "NABResult",
    "OptimizedThreshold",
    "Profile",
    "SeriesLabels",
    "SeriesScore",
    "optimize_threshold",
    "probation_length",
    "row_weights",
    "score_corpus",
    "threshold_curve",
    "write_nab_results",
]

#: Share of each series in NAB's probationary period.
PROBATION_PERCENT = 0.15
#: NAB caps the probationary period at ``0.15 * 5000`` rows.
PROBATION_MAX_ROWS = 750


@dataclass(frozen=True)
class Profile:
    """A NAB cost profile (NAB's ``CostMatrix``; the TN weight is unused by NAB's score).

    Attributes
    ----------
    name
    tp_weight, fp_weight, fn_weight
        Non-negative, finite.
    """

    name: str
    tp_weight: float
    fp_weight: float
    fn_weight: float

    def __post_init__(self):
        for attr in ("tp_weight", "fp_weight", "fn_weight"):
            v = getattr(self, attr)
            if (
                isinstance(v, bool)
                or not isinstance(v, numbers.Real)
                or not math.isfinite(v)
                or v < 0
            ):
                raise ValueError(
                    f"profile {self.name!r}: {attr} must be a finite number >= 0, got {v!r}"
                )
            object.__setattr__(self, attr, float(v))

    @classmethod
    def from_cost_matrix(cls, name: str, cost_matrix: Mapping[str, float]) -> Profile:
        """Build a profile from NAB's ``{"tpWeight", "fpWeight", "fnWeight", ...}`` dict.

        Examples
        --------
        >>> Profile.from_cost_matrix("mine", {"tpWeight": 1, "fpWeight": 0.5, "fnWeight": 2})
        Profile(name='mine', tp_weight=1.0, fp_weight=0.5, fn_weight=2.0)
        """
        try:
            return cls(
                name, cost_matrix["tpWeight"], cost_matrix["fpWeight"], cost_matrix["fnWeight"]
            )
        except KeyError as e:
            keys = sorted(cost_matrix)
            raise ValueError(
                f"profile {name!r}: cost matrix has no {e.args[0]!r} (keys: {keys})"
            ) from None


#: NAB v1.1's three profiles (``config/profiles.json``).
PROFILES: dict[str, Profile] = {
    "standard": Profile("standard", 1.0, 0.11, 1.0),
    "reward_low_FP_rate": Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
    "reward_low_FN_rate": Profile("reward_low_FN_rate", 1.0, 0.11, 2.0),
}


def _profile(profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    if isinstance(profile, str):
        try:
            return PROFILES[profile]
        except KeyError:
            raise ValueError(
                f"unknown profile {profile!r}; known profiles: {', '.join(PROFILES)}"
            ) from None
    if isinstance(profile, Mapping):
        cm = profile.get("CostMatrix", profile)
        return Profile.from_cost_matrix("custom", cm)
    raise ValueError(
        f"profile must be a profile name, a Profile or a NAB cost matrix dict, got {profile!r}"
    )


def probation_length(n_rows: int, probation_percent: float = PROBATION_PERCENT) -> int:
    """Number of leading rows NAB does not score: ``min(floor(p * n), p * 5000)``.

    Parameters
    ----------
    n_rows
    probation_percent

    Returns
    -------
    int

    Examples
    --------
    >>> probation_length(4032), probation_length(22695), probation_length(20)
    (604, 750, 3)
    """
    p = _check_probation(probation_percent)
    return int(math.ceil(min(math.floor(p * n_rows), p * 5000)))


def _check_probation(p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (0.0 <= float(p) < 1.0):
        raise ValueError(f"probation_percent must be a number in [0, 1), got {p!r}")
    return float(p)


# ------------------------------------------------------------------------------ labels


@dataclass(frozen=True, eq=False)
class SeriesLabels:
    """What the scorer needs of a series: its length and its windows as row ranges.

    Use it for hand-made series; :class:`sead.datasets.nab.NABSeries` carries the same two
    attributes for the real corpus.

    Parameters
    ----------
    n_rows
        Number of rows.
    windows
        sequence of (int, int): inclusive row ranges ``(first, last)``, in order, not overlapping.

    Examples
    --------
    >>> SeriesLabels(10, [(2, 4), (7, 7)]).window_rows.tolist()
    [[2, 4], [7, 7]]
    """

    n_rows: int
    windows: Sequence[tuple[int, int]] = ()
    window_rows: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        n = self.n_rows
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
            raise ValueError(f"n_rows must be an integer >= 0, got {n!r}")
        rows = _check_windows("SeriesLabels", int(n), self.windows)
        object.__setattr__(self, "n_rows", int(n))
        object.__setattr__(self, "windows", tuple(map(tuple, rows.tolist())))
        object.__setattr__(self, "window_rows", rows)


def _check_windows(name: str, n: int, windows) -> np.ndarray:
    try:
        rows = (
            np.asarray(windows, dtype=object).reshape(-1, 2)
            if len(windows)
            else np.empty((0, 2), object)
        )
    except (TypeError, ValueError):
        raise ValueError(
            f"series {name!r}: windows must be (first, last) row pairs, got {windows!r}"
        ) from None
    for k, (a, b) in enumerate(rows):
        for v in (a, b):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral):
                raise ValueError(
                    f"series {name!r}: window {k} bound {v!r} is not an integer row index"
                )
        if not 0 <= a <= b < n:
            raise ValueError(
                f"series {name!r}: window {k} ({a}, {b}) is not a row range within [0, {n})"
            )
        if k and a <= rows[k - 1][1]:
            raise ValueError(
                f"series {name!r}: window {k} ({a}, {b}) overlaps or precedes window {k - 1}"
            )
    out = rows.astype(np.int64).reshape(-1, 2)
    out.flags.writeable = False
    return out


def _labels_of(corpus) -> dict[str, tuple[int, np.ndarray]]:
    """{name: (n_rows, window_rows)} from a corpus-like mapping, validated."""
    if corpus is None:
        from ..datasets.nab import load_nab_corpus

        corpus = load_nab_corpus(detectors=())
    if not isinstance(corpus, Mapping):
        raise ValueError(
            "corpus must be a mapping of series name to series (or None), got "
            f"{type(corpus).__name__}"
        )
    out = {}
    for name, s in corpus.items():
        try:
            n, rows = s.n_rows, s.window_rows
        except AttributeError:
            raise ValueError(
                f"corpus entry {name!r} must have n_rows and window_rows (a NABSeries or "
                f"SeriesLabels), got {type(s).__name__}"
            ) from None
        out[name] = (
            int(n),
            rows if isinstance(s, SeriesLabels) else _check_windows(name, int(n), np.asarray(rows)),
        )
    if not out:
        raise ValueError("corpus has no series")
    return out


def _check_scores(scores_by_series, labels) -> dict[str, np.ndarray]:
    if not isinstance(scores_by_series, Mapping):
        raise ValueError(
            "scores_by_series must be a mapping of series name ('<category>/<name>.csv') to "
            f"per-row scores, got {type(scores_by_series).__name__}"
        )
    unknown = [k for k in scores_by_series if k not in labels]
    if unknown:
        example = next(iter(labels))
        raise ValueError(
            f"unknown series name(s) {sorted(map(str, unknown))[:5]} in scores_by_series; the "
            f"corpus names its {len(labels)} series like {example!r}"
        )
    missing = [k for k in labels if k not in scores_by_series]
    if missing:
        raise ValueError(
            f"scores_by_series has no scores for {len(missing)} of the {len(labels)} corpus series "
            f"(e.g. {missing[:3]}); pass corpus= to score a subset"
        )
    out = {}
    for name, (n, _) in labels.items():
        raw = scores_by_series[name]
        try:
            s = np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"scores for {name!r} are not numbers (got {type(raw).__name__})"
            ) from None
        if s.ndim != 1:
            raise ValueError(f"scores for {name!r} must be 1-D, got shape {s.shape}")
        if s.shape[0] != n:
            raise ValueError(f"scores for {name!r} have {s.shape[0]} rows but the series has {n}")
        bad = ~np.isfinite(s)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(
                f"scores for {name!r} hold {int(bad.sum())} non-finite value(s), the first at row "
                f"{i} ({float(s[i])!r})"
            )
        out[name] = s
    return out


def _check_threshold(threshold) -> float:
    if (
        isinstance(threshold, bool)
        or not isinstance(threshold, numbers.Real)
        or math.isnan(float(threshold))
    ):
        raise ValueError(f"threshold must be a real number (not NaN), got {threshold!r}")
    return float(threshold)


# ------------------------------------------------------------------------------ weights


def _scaled_sigmoid(pos: np.ndarray) -> np.ndarray:
    # NAB: 2 * sigmoid(-5 * pos) - 1, with sigmoid(x) = 1 / (1 + exp(-x)); -1 beyond pos > 3
    with np.errstate(over="ignore"):
        val = 2.0 * (1.0 / (1.0 + np.exp(5.0 * pos))) - 1.0
    return np.where(pos > 3.0, -1.0, val)


_MAX_TP = float(_scaled_sigmoid(np.array(-1.0)))


def _weights(n: int, rows: np.ndarray, prof: Profile) -> tuple[np.ndarray, np.ndarray]:
    """Per-row weight and window index (-1 outside every window) for one series."""
    idx = np.arange(n, dtype=np.int64)
    if rows.shape[0] == 0:
        return np.full(n, -prof.fp_weight), np.full(n, -1, dtype=np.int64)
    left, right = rows[:, 0], rows[:, 1]
    width = (right - left + 1).astype(np.float64)
    k = np.searchsorted(left, idx, side="right") - 1  # last window starting at or before i
    kc = np.maximum(k, 0)
    inside = (k >= 0) & (idx <= right[kc])
    w = np.empty(n, dtype=np.float64)
    # inside window k
    pos_in = -(right[kc] - idx + 1) / width[kc]
    w_in = _scaled_sigmoid(pos_in) * prof.tp_weight / _MAX_TP
    # outside: after window k (it ended before i), or before any window
    denom = width[kc] - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pos_out = np.where(denom > 0, (idx - right[kc]) / np.where(denom > 0, denom, 1.0), np.inf)
    w_out = np.where(k >= 0, _scaled_sigmoid(pos_out), -1.0) * prof.fp_weight
    w[:] = np.where(inside, w_in, w_out)
    return w, np.where(inside, k, -1)


def row_weights(
    n_rows: int,
    windows: Sequence[tuple[int, int]],
    profile="standard",
    probation_percent: float = PROBATION_PERCENT,
) -> np.ndarray:
    """NAB's per-row score ``S(t)``: what a detection on each row would be worth.

    Rows inside a window carry the TP credit a first detection there would earn; rows outside
    carry the (usually negative) FP weight. Probationary rows are NaN (never scored).

    Parameters
    ----------
    n_rows
    windows
        sequence of (int, int): inclusive row ranges, in order, not overlapping.
    profile
        str, Profile or dict.
    probation_percent

    Returns
    -------
    ndarray of float64, shape (n_rows,)

    Examples
    --------
    >>> row_weights(12, [(5, 8)], "standard", probation_percent=0.2).round(3).tolist()
    [nan, nan, -0.11, -0.11, -0.11, 1.0, 0.967, 0.86, 0.562, -0.075, -0.102, -0.109]
    """
    lab = SeriesLabels(n_rows, windows)
    w, _ = _weights(lab.n_rows, lab.window_rows, _profile(profile))
    w[: probation_length(lab.n_rows, probation_percent)] = np.nan
    return w


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class SeriesScore:
    """NAB score of one series at one threshold.

    Attributes
    ----------
    name
    raw_score
        ``tp_score + fp_score + fn_score``.
    tp_score
        Sum over detected windows of their earliest detection's weight.
    fp_score
        Sum of the weights of the detections outside windows.
    fn_score
        ``-fn_weight * missed_windows``.
    null_score, perfect_score
        The raw scores of detecting nothing and of detecting each window at its first row.
    detected_windows, missed_windows
        Counted windows (with a row after the probation) with / without a detection.
    n_windows
        All windows, counted or not.
    tp, fp, fn, tn
        NAB's counts of scored rows: detections in / outside windows, misses in / outside.
    probation
        Rows not scored.
    """

    name: str
    raw_score: float
    tp_score: float
    fp_score: float
    fn_score: float
    null_score: float
    perfect_score: float
    detected_windows: int
    missed_windows: int
    n_windows: int
    tp: int
    fp: int
    fn: int
    tn: int
    probation: int


@dataclass(frozen=True)
class NABResult:
    """NAB score of a corpus at one threshold.

    Attributes
    ----------
    score
        Normalised score, ``100 * (raw - null) / (perfect - null)``: 0 for the null detector, 100
        for the perfect one; NaN when ``perfect == null``.
    raw_score
        Sum of the series' raw scores (NAB's ``Score`` total).
    null_score, perfect_score
        Raw scores of the null and the perfect detector on the same series.
    profile
    threshold
    tp, fp, fn, tn
        NAB's scored-row counts, summed over the series.
    detected_windows, missed_windows, n_windows
        Window counts, summed over the series.
    per_series
        dict of str to SeriesScore: breakdown, in corpus order.
    """

    score: float
    raw_score: float
    null_score: float
    perfect_score: float
    profile: Profile
    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    detected_windows: int
    missed_windows: int
    n_windows: int
    per_series: dict[str, SeriesScore] = field(repr=False)


@dataclass(frozen=True)
class OptimizedThreshold:
    """The best threshold for a corpus and profile.

    Attributes
    ----------
    threshold
        The largest threshold that attains the best score: one of the scored rows' distinct values,
        or ``inf`` when detecting nothing is best.
    score
        Normalised score at ``threshold``.
    raw_score
        Raw score at ``threshold`` (what NAB's ``thresholds.json`` records as ``score``).
    result
        :func:`score_corpus` at ``threshold``.
    """

    threshold: float
    score: float
    raw_score: float
    result: NABResult = field(repr=False)


def _normalise(raw: float, null: float, perfect: float) -> float:
    span = perfect - null
    return 100.0 * (raw - null) / span if span > 0 else math.nan


def _score_series(name, s, n, rows, prof, p_len, threshold) -> SeriesScore:
    w, win = _weights(n, rows, prof)
    scored = np.arange(n) >= p_len
    det = scored & (s >= threshold)
    inside = win >= 0
    fp_mask = det & ~inside
    tp_rows = np.flatnonzero(det & inside)
    # rows ascend, so the first row per window is its earliest detection
    _, first = np.unique(win[tp_rows], return_index=True)
    counted = int(np.count_nonzero(rows[:, 1] >= p_len)) if rows.size else 0
    detected = int(first.size)
    tp_score = float(np.sum(w[tp_rows[first]]))
    fp_score = float(np.sum(w[fp_mask]))
    fn_score = -prof.fn_weight * (counted - detected)
    n_in = int(np.count_nonzero(scored & inside))
    n_scored = int(np.count_nonzero(scored))
    return SeriesScore(
        name=name,
        raw_score=tp_score + fp_score + fn_score,
        tp_score=tp_score,
        fp_score=fp_score,
        fn_score=fn_score,
        null_score=-prof.fn_weight * counted,
        perfect_score=prof.tp_weight * rows.shape[0],
        detected_windows=detected,
        missed_windows=counted - detected,
        n_windows=int(rows.shape[0]),
        tp=int(tp_rows.size),
        fp=int(np.count_nonzero(fp_mask)),
        fn=n_in - int(tp_rows.size),
        tn=n_scored - n_in - int(np.count_nonzero(fp_mask)),
        probation=int(min(p_len, n)),
    )


def score_corpus(
    scores_by_series: Mapping[str, np.ndarray],
    threshold: float,
    profile="standard",
    *,
    corpus=None,
    probation_percent: float = PROBATION_PERCENT,
) -> NABResult:
    """NAB score of per-row anomaly scores at one threshold.

    Parameters
    ----------
    scores_by_series
        mapping of str to array-like of float: per-row anomaly scores (higher = more anomalous) for
        every series of the corpus, keyed by series name (``"<category>/<name>.csv"``), each aligned
        with the series' rows. Any finite values; a row is a detection when its score is ``>=
        threshold``.
    threshold
        Detection threshold (``inf``: no detections).
    profile
        A name of :data:`PROFILES`, a :class:`Profile`, or a NAB cost matrix dict.
    corpus
        The series scored: a :class:`~sead.datasets.nab.NABCorpus` or a mapping of series name
        to :class:`~sead.datasets.nab.NABSeries` or :class:`SeriesLabels` (``None``: the NAB
        corpus from :func:`sead.datasets.nab.load_nab_corpus`).
    probation_percent
        NAB's probationary share (see :func:`probation_length`).

    Returns
    -------
    NABResult
        Normalised and raw score, counts, and the per-series breakdown.

    Raises
    ------
    ValueError
        For an unknown profile; a series name not in the corpus, or a corpus series without
        scores; scores of the wrong length or shape, or not finite; a NaN threshold.
    DatasetNotFoundError
        When ``corpus`` is None and the NAB corpus is not found.
    """
    prof = _profile(profile)
    threshold = _check_threshold(threshold)
    _check_probation(probation_percent)
    labels = _labels_of(corpus)
    scores = _check_scores(scores_by_series, labels)
    per = {
        name: _score_series(
            name, scores[name], n, rows, prof, probation_length(n, probation_percent), threshold
        )
        for name, (n, rows) in labels.items()
    }
    vals = list(per.values())

    def total(attr):
        return sum(getattr(v, attr) for v in vals)

    raw, null, perfect = (
        float(total("raw_score")),
        float(total("null_score")),
        float(total("perfect_score")),
    )
    return NABResult(
        score=_normalise(raw, null, perfect),
        raw_score=raw,
        null_score=null,
        perfect_score=perfect,
        profile=prof,
        threshold=threshold,
        tp=total("tp"),
        fp=total("fp"),
        fn=total("fn"),
        tn=total("tn"),
        detected_windows=total("detected_windows"),
        missed_windows=total("missed_windows"),
        n_windows=total("n_windows"),
        per_series=per,
    )


# ------------------------------------------------------------------------------ sweep

# optimize_threshold re-scores the sweep's candidates within this relative distance of the best
_NEAR_TIE = 1e-9
_MAX_RESCORED = 16
# scores this close (relative) count as equal when choosing the threshold
_TIE = 1e-12


def _sweep(scores_by_series, profile, corpus, probation_percent):
    """Raw corpus score after each distinct threshold, highest threshold first.

    Returns (thresholds, raw_scores, null, perfect, prof): ``thresholds[0] = inf`` (no
    detection), then the distinct scored values in decreasing order.
    """
    prof = _profile(profile)
    _check_probation(probation_percent)
    labels = _labels_of(corpus)
    scores = _check_scores(scores_by_series, labels)
    s_parts, w_parts, g_parts = [], [], []
    n_counted = n_all = 0
    for name, (n, rows) in labels.items():
        p_len = probation_length(n, probation_percent)
        w, win = _weights(n, rows, prof)
        # global window ids; windows not reaching past the probation never get a scored row
        g = np.where(win >= 0, win + n_all, -1)
        s_parts.append(scores[name][p_len:])
        w_parts.append(w[p_len:])
        g_parts.append(g[p_len:])
        n_all += rows.shape[0]
        n_counted += int(np.count_nonzero(rows[:, 1] >= p_len)) if rows.size else 0
    s = np.concatenate(s_parts)
    w = np.concatenate(w_parts)
    g = np.concatenate(g_parts)
    null = -prof.fn_weight * n_counted
    perfect = prof.tp_weight * n_all

    order = np.argsort(-s, kind="stable")  # sweep order: highest score first
    s_sorted = s[order]
    g_sorted = g[order]
    delta = np.where(g_sorted < 0, w[order], 0.0)  # each detection outside windows adds its weight
    # windows: a window's value is the weight of its earliest detected row, so along the sweep
    # it changes whenever a row earlier than all its detected rows so far joins. Running minimum
    # of the row index per window, all windows at once: lay each window's rows out in sweep
    # order, window after window, and offset the keys so that each window's block is below the
    # one before (the running minimum then restarts at every block).
    sweep_pos = np.flatnonzero(g_sorted >= 0)
    if sweep_pos.size:
        gw = g_sorted[sweep_pos]
        row = order[sweep_pos]  # index into the concatenated rows: ascending = earlier in time
        blk = np.lexsort((sweep_pos, gw))
        gw_b, row_b, pos_b = gw[blk], row[blk], sweep_pos[blk]
        big = np.int64(s.size + 1)
        key = (np.int64(n_all) - gw_b) * big + row_b
        earliest = np.minimum.accumulate(key) - (np.int64(n_all) - gw_b) * big
        value = w[earliest]
        start = np.ones(gw_b.size, dtype=bool)
        start[1:] = gw_b[1:] != gw_b[:-1]
        before = np.empty_like(value)
        before[1:] = value[:-1]
        before[start] = -prof.fn_weight
        delta[pos_b] = value - before
    raw = null + np.cumsum(delta)
    # a threshold's score is the one after the last row of its group of equal scores
    ends = (
        np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])
        if s.size
        else np.empty(0, np.int64)
    )
    thresholds = np.r_[np.inf, s_sorted[ends]]
    raws = np.r_[null, raw[ends]]
    return thresholds, raws, float(null), float(perfect), prof


def threshold_curve(
    scores_by_series: Mapping[str, np.ndarray],
    profile="standard",
    *,
    corpus=None,
    probation_percent: float = PROBATION_PERCENT,
) -> tuple[np.ndarray, np.ndarray]:
    """Raw corpus score at every candidate threshold.

    The candidates are ``inf`` (no detection) and every distinct score of a scored row; any
    other threshold detects the same rows as the smallest candidate above it.

    Parameters
    ----------
    scores_by_series, profile, corpus, probation_percent
        As for :func:`score_corpus`.

    Returns
    -------
    thresholds : ndarray of float64
        Decreasing, starting with ``inf``.
    raw_scores : ndarray of float64
        ``raw_scores[j]`` is the raw corpus score at ``thresholds[j]`` (up to floating-point
        summation order, the ``raw_score`` of :func:`score_corpus`).

    Raises
    ------
    ValueError
        As for :func:`score_corpus`.
    """
    thresholds, raws, _, _, _ = _sweep(scores_by_series, profile, corpus, probation_percent)
    return thresholds, raws


def optimize_threshold(
    scores_by_series: Mapping[str, np.ndarray],
    profile="standard",
    *,
    corpus=None,
    probation_percent: float = PROBATION_PERCENT,
) -> OptimizedThreshold:
    """The threshold that maximises the NAB corpus score (NAB's optimiser, exactly).

    Every distinct value of a scored row is a candidate (and ``inf``, no detection): the
    scored rows of every series are sorted once by decreasing score and the score is
    accumulated along that order (:func:`threshold_curve`), in ``O(N log N)`` for ``N`` rows.
    Ties go to the largest threshold, as in NAB. The returned score is then recomputed with
    :func:`score_corpus` at that threshold.

    Parameters
    ----------
    scores_by_series, profile, corpus, probation_percent
        As for :func:`score_corpus`.

    Returns
    -------
    OptimizedThreshold
        ``threshold``, normalised ``score``, ``raw_score`` and the full ``result``.

    Raises
    ------
    ValueError
        As for :func:`score_corpus`.
    """
    thresholds, raws, _, _, prof = _sweep(scores_by_series, profile, corpus, probation_percent)
    # The running sum can differ from a direct sum in the last bits, so settle near-ties with
    # score_corpus: candidates within _NEAR_TIE of the best, keeping only the largest threshold
    # of each run of equal sweep scores (a run is one set of detections credited the same).
    first_of_run = np.r_[True, raws[1:] != raws[:-1]]
    top = raws.max()
    near = np.flatnonzero(first_of_run & (raws >= top - _NEAR_TIE * max(1.0, abs(top))))
    near = np.union1d(near[:_MAX_RESCORED], [int(np.argmax(raws))])
    results = [  # in decreasing threshold order
        score_corpus(
            scores_by_series,
            float(thresholds[j]),
            prof,
            corpus=corpus,
            probation_percent=probation_percent,
        )
        for j in near
    ]
    top = max(r.raw_score for r in results)
    # ties (to rounding) go to the largest threshold, as in NAB
    best = next(r for r in results if r.raw_score >= top - _TIE * max(1.0, abs(top)))
    return OptimizedThreshold(
        threshold=best.threshold, score=best.score, raw_score=best.raw_score, result=best
    )


# ------------------------------------------------------------------------------ NAB files

_DETECTOR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")


def _format_timestamps(ts: np.ndarray) -> np.ndarray:
    t = ts.astype("datetime64[ns]")
    whole = (t - t.astype("datetime64[s]")) == np.timedelta64(0, "ns")
    unit = "s" if whole.all() else "us"
    return np.char.replace(np.datetime_as_string(t, unit=unit), "T", " ")


def write_nab_results(
    scores_by_series: Mapping[str, np.ndarray],
    out_dir: str | os.PathLike[str],
    detector: str,
    *,
    corpus=None,
) -> list[Path]:
    """Write per-row scores in NAB's results layout, for NAB's own scorer and tools.

    One file per series, ``<out_dir>/<detector>/<category>/<detector>_<name>.csv``, with
    NAB's columns ``timestamp,value,anomaly_score,label`` (``label`` is 1 for rows whose
    timestamp lies in a window). Copy ``<out_dir>/<detector>`` into NAB's ``results/`` folder
    (and the detector's thresholds into ``config/thresholds.json``, e.g. from
    :func:`optimize_threshold`) to run ``python run.py -d <detector> --optimize --score
    --normalize`` there.

    Parameters
    ----------
    scores_by_series
        mapping of str to array-like of float: per-row scores for every series of the corpus, each
        in ``[0, 1]`` (NAB's contract for a detector's anomaly score).
    out_dir
        Results directory (created if needed); existing files are overwritten.
    detector
        Detector name: letters, digits, ``.`` and ``-`` only (NAB splits file names on ``_``).
    corpus
        A :class:`~sead.datasets.nab.NABCorpus` or a mapping of series name to
        :class:`~sead.datasets.nab.NABSeries`, where the timestamps and values come from
        (``None``: :func:`sead.datasets.nab.load_nab_corpus`).

    Returns
    -------
    list of pathlib.Path
        The files written, in corpus order.

    Raises
    ------
    ValueError
        For a bad detector name, scores outside ``[0, 1]``, or as for :func:`score_corpus`.
    """
    import pandas as pd

    if not isinstance(detector, str) or not _DETECTOR_NAME.match(detector):
        raise ValueError(
            "detector name must be letters, digits, '.' or '-' (NAB splits result file names on "
            "'_'), "
            f"got {detector!r}"
        )
    if corpus is None:
        from ..datasets.nab import load_nab_corpus

        corpus = load_nab_corpus(detectors=())
    labels = _labels_of(corpus)
    scores = _check_scores(scores_by_series, labels)
    for name, s in scores.items():
        if not hasattr(corpus[name], "timestamps"):
            raise ValueError(f"corpus entry {name!r} has no timestamps and values (use NABSeries)")
        out = (s < 0) | (s > 1)
        if out.any():
            i = int(np.flatnonzero(out)[0])
            raise ValueError(
                f"scores for {name!r} must lie in [0, 1] for NAB; row {i} is {float(s[i])!r}"
            )
    root = Path(out_dir) / detector
    written = []
    for name, s in scores.items():
        series = corpus[name]
        path = root / series.category / f"{detector}_{series.file}"
        path.parent.mkdir(parents=True, exist_ok=True)
        df = pd.DataFrame(
            {
                "timestamp": _format_timestamps(series.timestamps),
                "value": series.values,
                "anomaly_score": s,
                "label": series.labels(),
            }
        )
        df.to_csv(path, index=False)
        written.append(path)
    return written
