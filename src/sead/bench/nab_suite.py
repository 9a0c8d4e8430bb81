"""``sead-bench --suite nab``: sead models on the whole Numenta Anomaly Benchmark, scored as NAB
does.

What a run does:

1. loads the NAB v1.1 corpus (:func:`sead.datasets.nab.load_nab_corpus`; ``series=`` picks a
   subset, e.g. :data:`CI_SERIES`);
2. for every model of ``models`` (:func:`parse_model`), runs it on each series alone,
   prequentially (score each row, then learn it), on the series' value *shingled* over the last
   ``shingle`` rows (row ``t`` holds ``values[t - w + 1 .. t]``, the first value repeated before
   the start; ``features="shingle+diff"`` appends the shingle of first differences). A model is
   a *base* — ``sead`` (``SEAD(pool)``, its ranking score) or ``det:NAME`` (one detector of the
   pool, as ``SEAD([detector])``: its conformal tail score) — optionally followed by ``+alert``
   (:class:`sead.alerting.AlertSignal` on the base's score, with the series' raw value for the
   range check; ``+alert:VARIANT`` for a named variant of :data:`ALERT_VARIANTS`). A base runs
   once however many alert variants use its scores;
3. scores each model on the three profiles with NAB's threshold optimisation: for a ranking
   score NAB's optimiser exactly (:func:`sead.bench.nab.optimize_threshold`); for an alert
   signal, whose suppression depends on its threshold, the threshold itself is swept — the
   signal is recomputed at every candidate (:func:`alert_candidates`: quantiles of the signal
   before suppression, then a finer grid around the best) and scored at it, so each profile
   still gets one threshold for the whole corpus. The alert models are also scored at their
   fixed default threshold (what a live policy uses);
4. writes ``results_nab.json`` and ``results_nab.md`` (the table beside NAB's published
   scoreboard), the per-row scores in NAB's ``results/`` layout (``nab-results/``, with
   ``thresholds.json``; an alert model's file holds its signal at the standard profile's
   threshold) and plots of a few series (``nab-<series>.png``: values, windows, score, signal
   and detections);
5. with ``cross_check``: every alert variant on every alert model's base, and the choice of
   (variant, threshold) made on a seeded random half of the series, scored on the other half,
   next to the best choice for that half (:func:`cross_check`).

Nothing here uses the labels beyond NAB's protocol: the labels enter only through the scorer,
whose one free choice is the threshold per profile (and, in the cross-check, the variant).
"""

from __future__ import annotations

import json
import math
import re
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .nab import (
    PROFILES,
    optimize_threshold,
    probation_length,
    row_weights,
    score_corpus,
    write_nab_results,
)

__all__ = [
    "ALERT_VARIANTS",
    "CI_SERIES",
    "PLOT_SERIES",
    "ModelSpec",
    "NABConfig",
    "parse_model",
    "parse_alert_params",
    "select_series",
    "features",
    "shingle",
    "alert_candidates",
    "DetectionScorer",
    "cross_check",
    "run_nab",
    "write_outputs",
]

PROFILE_NAMES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
#: Three short series with windows (about 6,700 rows): the suite's CI run.
CI_SERIES = (
    "realAdExchange/exchange-3_cpc_results.csv",
    "realTraffic/speed_7578.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
)
#: Series plotted by default (those of the run's corpus).
PLOT_SERIES = (
    "realKnownCause/machine_temperature_system_failure.csv",
    "realKnownCause/nyc_taxi.csv",
    "realTweets/Twitter_volume_IBM.csv",
    "artificialWithAnomaly/art_daily_jumpsup.csv",
    "realTraffic/speed_7578.csv",
)
FEATURES = ("shingle", "shingle+diff")
#: Named variants of the alert signal: overrides of :class:`~sead.alerting.AlertSignal`'s
#: defaults (``default`` is the defaults). The cross-check and the ablation table use them all.
ALERT_VARIANTS: dict[str, dict] = {
    "default": {},
    "no-range": {"range_window": None},
    "no-suppress": {"suppress": 0},
    "no-size": {"size_correction": 0.0},
    "suppress-only": {"range_window": None, "size_correction": 0.0},
    "range-history": {"range_window": 2**40},
    "range-2000": {"range_window": 2000},
    "range-8000": {"range_window": 8000},
    "range-any-score": {"range_min_score": 0.0},
    "range-score-0.9": {"range_min_score": 0.9},
    "range-no-margin": {"range_margin": 0.0},
    "range-margin-0.05": {"range_margin": 0.05},
    "range-margin-only": {"range_margin_score": 1.0},
    "suppress-50": {"suppress": 50},
    "suppress-200": {"suppress": 200},
    "size-0.1": {"size_correction": 0.1},
    "size-0.3": {"size_correction": 0.3},
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]*$")
#: quantile levels (share of scored rows above) of the first threshold grid of an alert model
_GRID_LEVELS = np.geomspace(5e-2, 1e-5, 80)
_REFINE = 16


# ------------------------------------------------------------------------------ models


@dataclass(frozen=True)
class ModelSpec:
    """A model of the suite, parsed from ``--model`` text (see :func:`parse_model`).

    Attributes
    ----------
    text
        As given.
    base
        ``"sead"`` or ``"det"``.
    pool
        The :mod:`sead.pools` pool (of SEAD, or the detector's pool).
    detector
        The detector's name in the pool (``base == "det"``).
    alert
        ``None`` (the base's score), or the name of an :data:`ALERT_VARIANTS` entry.
    """

    text: str
    base: str
    pool: str
    detector: str | None = None
    alert: str | None = None

    @property
    def base_key(self) -> tuple:
        """``(base, pool, detector)``: the models that share it share their base scores."""
        return (self.base, self.pool, self.detector)

    @property
    def base_label(self) -> str:
        """The base model's name in NAB's results: ``sead``, ``sead.POOL`` or the detector's."""
        if self.base == "det":
            return self.detector
        return "sead" if self.pool in ("default", "paper") else f"sead.{self.pool}"

    @property
    def label(self) -> str:
        """The detector name in NAB's results (letters, digits, ``.``, ``-``)."""
        if self.alert is None:
            return self.base_label
        return f"{self.base_label}-alert" + ("" if self.alert == "default" else f".{self.alert}")

    def with_alert(self, variant: str) -> ModelSpec:
        """The same base model with the alert variant ``variant`` (a key of ``ALERT_VARIANTS``)."""
        return ModelSpec(self.text, self.base, self.pool, self.detector, variant)


def parse_model(
    text: str, pool: str = "default", pool_names: Sequence[str] | None = None
) -> ModelSpec:
    """Parse a model: ``BASE[+alert[:VARIANT]]``.

    Parameters
    ----------
    text
        The model: ``BASE`` is ``sead``, ``sead:POOL`` or ``det:NAME`` (a detector of ``pool``
        by its :func:`sead.pools.names` name), optionally followed by ``+alert`` or
        ``+alert:VARIANT`` (a key of :data:`ALERT_VARIANTS`).
    pool
        The pool of ``sead`` and of ``det:NAME``.
    pool_names
        The names of the pool's detectors, when already known (``None``: built from ``pool``).

    Returns
    -------
    ModelSpec
        The parsed model.

    Raises
    ------
    ValueError
        Naming what is wrong (unknown pool, detector or variant).

    Examples
    --------
    >>> parse_model("sead+alert").label, parse_model("sead").label
    ('sead-alert', 'sead')
    >>> parse_model("det:LODA-1+alert:no-range", "wide").label
    'LODA-1-alert.no-range'
    """
    from .. import pools

    raw = text
    text = text.strip()
    base, plus, alert = text.partition("+")
    variant = None
    if plus:
        kind, _, variant = alert.partition(":")
        if kind != "alert":
            raise ValueError(
                f"model {raw!r}: after '+' comes 'alert' or 'alert:VARIANT', got {alert!r}"
            )
        variant = variant or "default"
        if variant not in ALERT_VARIANTS:
            raise ValueError(
                f"model {raw!r}: unknown alert variant {variant!r}; variants: "
                f"{', '.join(ALERT_VARIANTS)}"
            )
    kind, _, arg = base.partition(":")
    known_pools = [n for n in pools.__all__ if n not in ("named", "names", "display_name")]
    if kind == "sead":
        p = arg or pool
        if p not in known_pools:
            raise ValueError(
                f"model {raw!r}: unknown pool {p!r}; sead.pools has: {', '.join(known_pools)}"
            )
        return ModelSpec(raw, "sead", p, None, variant)
    if kind == "det":
        if pool not in known_pools:
            raise ValueError(
                f"model {raw!r}: unknown pool {pool!r}; sead.pools has: {', '.join(known_pools)}"
            )
        names = (
            list(pool_names)
            if pool_names is not None
            else pools.names(getattr(pools, pool)(seed=0))
        )
        if arg not in names:
            raise ValueError(
                f"model {raw!r}: pool {pool!r} has no detector {arg!r}; it has {', '.join(names)}"
            )
        return ModelSpec(raw, "det", pool, arg, variant)
    raise ValueError(
        f"model {raw!r}: a model is 'sead', 'sead:POOL' or 'det:NAME', optionally followed by "
        "'+alert' or '+alert:VARIANT'"
    )


def parse_alert_params(text: str | None) -> dict:
    """``"k=v,k=v"`` -> ``{k: v}`` for :class:`~sead.alerting.AlertSignal`.

    Parameters
    ----------
    text
        Comma-separated ``name=value`` pairs; the values are ints, floats or ``None`` (``None``
        or blank text: no parameters).

    Returns
    -------
    dict
        The parameters, checked against the signal's parameter constraints.

    Raises
    ------
    ValueError
        For a malformed pair, an unknown name or a value the signal does not accept.

    Examples
    --------
    >>> parse_alert_params("suppress=50,range_window=None")
    {'suppress': 50, 'range_window': None}
    """
    from ..alerting import AlertSignal

    if text is None or not text.strip():
        return {}
    out = {}
    known = AlertSignal().get_params()
    for item in text.split(","):
        if not item.strip():
            continue
        k, eq, v = item.partition("=")
        k, v = k.strip(), v.strip()
        if not eq or not k:
            raise ValueError(
                f"alert parameters are 'name=value' pairs separated by commas, got {item!r}"
            )
        if k not in known:
            raise ValueError(f"AlertSignal has no parameter {k!r}; parameters: {', '.join(known)}")
        if v == "None":
            out[k] = None
            continue
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                raise ValueError(f"alert parameter {k}: {v!r} is not a number or None") from None
    from .._params import validate_params

    validate_params(AlertSignal(**out))
    return out


def select_series(corpus, spec) -> list[str]:
    """The series names of ``spec``, in corpus order.

    Parameters
    ----------
    corpus
        The NAB corpus (a mapping of series name to series).
    spec
        ``None`` or ``"all"`` (every series), ``"ci"`` (:data:`CI_SERIES`), or a sequence or
        comma-separated string of names.

    Returns
    -------
    list of str
        The names.

    Raises
    ------
    ValueError
        For an empty list or an unknown name.
    """
    if spec is None or spec == "all":
        return list(corpus)
    if spec == "ci":
        spec = CI_SERIES
    names = [s.strip() for s in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [s for s in names if s]
    if not names:
        raise ValueError(
            "the series list is empty; give series names ('<category>/<name>.csv'), 'ci' or 'all'"
        )
    unknown = [s for s in names if s not in corpus]
    if unknown:
        raise ValueError(
            f"unknown NAB series {unknown[:3]}; names look like 'realKnownCause/nyc_taxi.csv'"
        )
    wanted = set(names)
    return [s for s in corpus if s in wanted]


def shingle(values: np.ndarray, width: int) -> np.ndarray:
    """One row per value: row ``t`` holds ``values[t - width + 1 .. t]``, oldest first.

    Before the start, the first value stands in for the missing ones.

    Parameters
    ----------
    values
        The series, 1-D.
    width
        The shingle width.

    Returns
    -------
    ndarray of float64, shape (n, width)
        The shingles.

    Examples
    --------
    >>> shingle(np.array([1.0, 2.0, 3.0]), 2).tolist()
    [[1.0, 1.0], [1.0, 2.0], [2.0, 3.0]]
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.empty((0, width))
    padded = np.concatenate([np.full(width - 1, v[0]), v])
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(padded, width))


def features(values: np.ndarray, kind: str = "shingle", width: int = 10) -> np.ndarray:
    """The model's input for one series.

    Parameters
    ----------
    values
        The series, 1-D.
    kind
        ``"shingle"`` (:func:`shingle` of the values) or ``"shingle+diff"`` (that, then the
        shingle of their first differences, 0 at the first row).
    width
        The shingle width.

    Returns
    -------
    ndarray of float64, shape (n, width) or (n, 2 * width)
        One row per value.
    """
    if kind == "shingle":
        return shingle(values, width)
    if kind == "shingle+diff":
        v = np.asarray(values, dtype=np.float64)
        d = np.diff(v, prepend=v[:1]) if v.size else v
        return np.ascontiguousarray(np.hstack([shingle(v, width), shingle(d, width)]))
    raise ValueError(f"features must be one of {list(FEATURES)}, got {kind!r}")


@dataclass
class NABConfig:
    """What :func:`run_nab` runs (the CLI's ``--suite nab`` options; ``sead-bench --help``).

    Attributes
    ----------
    models
        The models (:func:`parse_model` text).
    series
        The series (:func:`select_series`).
    features
        The model's input (:func:`features`).
    shingle
        The shingle width.
    pool
        The :mod:`sead.pools` pool.
    seed
        The seed of the pool's randomised detectors.
    seeds
        Run every model once per seed (empty: ``(seed,)``).
    alert_params
        :class:`~sead.alerting.AlertSignal` parameters for every alert model.
    cross_check
        Seed of the cross-check's random halves of the series (``None``: no cross-check).
    cross_check_splits
        Further random splits summarised by the cross-check.
    plot_series
        The series to plot (``None``: those of ``PLOT_SERIES`` in the corpus, else the first
        two).
    plots
        Write the plots.
    nab_files
        Write the per-row scores in NAB's results layout.
    data_dir
        The data directory (``None``: the lookup of :func:`sead.datasets.candidate_dirs`).
    """

    models: Sequence[str] = ("sead", "sead+alert")
    series: str | Sequence[str] | None = None
    features: str = "shingle"
    shingle: int = 10
    pool: str = "default"
    seed: int = 0
    seeds: Sequence[int] = ()  # empty: (seed,)
    alert_params: Mapping = field(default_factory=dict)
    cross_check: int | None = None
    cross_check_splits: int = 20
    plot_series: Sequence[str] | None = None  # None: PLOT_SERIES in the corpus (else the first two)
    plots: bool = True
    nab_files: bool = True
    data_dir: str | None = None


def _make_base(spec: ModelSpec, seed: int):
    from .. import SEAD, pools

    pool = getattr(pools, spec.pool)(seed=seed)
    if spec.base == "sead":
        return SEAD(pool, seed=seed)
    dets = pools.named(pool)
    return SEAD([dets[spec.detector]], seed=seed)


def run_base(
    spec: ModelSpec, corpus, names, config: NABConfig, seed: int | None = None
) -> tuple[dict, float]:
    """The base model's prequential scores on each series (a fresh model per series) and the time
    it took (features included)."""
    seed = config.seed if seed is None else seed
    t0 = time.perf_counter()
    out = {}
    for name in names:
        X = features(corpus[name].values, config.features, config.shingle)
        out[name] = np.asarray(_make_base(spec, seed).score_learn_many(X), dtype=np.float64)
    return out, time.perf_counter() - t0


# ------------------------------------------------------------------------------ scoring


class DetectionScorer:
    """NAB raw scores of detection sets, for many candidate thresholds, fast.

    The series are laid end to end (in ``names`` order); :meth:`raw` takes a boolean mask of
    detections over that concatenation and returns each series' raw score, by NAB's rules
    (:mod:`sead.bench.nab`; checked against :func:`~sead.bench.nab.score_corpus` in the tests).

    Parameters
    ----------
    corpus
        The NAB corpus (series name -> series with ``n_rows`` and ``window_rows``).
    names
        The series scored, in the order they are laid end to end.
    """

    def __init__(self, corpus, names: Sequence[str]):
        self.names = list(names)
        lens = np.array([corpus[n].n_rows for n in self.names], dtype=np.int64)
        self.offsets = np.r_[0, np.cumsum(lens)]
        self.series_id = np.repeat(np.arange(len(self.names)), lens)
        self.probation = np.array([probation_length(int(m)) for m in lens], dtype=np.int64)
        win = np.full(int(self.offsets[-1]), -1, dtype=np.int64)
        counted = np.zeros(len(self.names))
        n_windows = np.zeros(len(self.names))
        g = 0
        for i, n in enumerate(self.names):
            rows = corpus[n].window_rows
            for a, b in rows:
                win[self.offsets[i] + a : self.offsets[i] + b + 1] = g
                g += 1
            n_windows[i] = len(rows)
            counted[i] = int(np.count_nonzero(rows[:, 1] >= self.probation[i])) if len(rows) else 0
        self.window_id = win
        self.counted = counted
        self.n_windows = n_windows
        self.weights = {}
        for p in PROFILE_NAMES:
            self.weights[p] = (
                np.concatenate(
                    [row_weights(corpus[n].n_rows, corpus[n].window_rows, p) for n in self.names]
                )
                if self.names
                else np.empty(0)
            )
        self.scored = ~np.isnan(self.weights[PROFILE_NAMES[0]])

    def null(self, profile: str) -> np.ndarray:
        """Raw score per series of detecting nothing (every counted window missed)."""
        return -PROFILES[profile].fn_weight * self.counted

    def perfect(self, profile: str) -> np.ndarray:
        """Raw score per series of detecting every window at its first row."""
        return PROFILES[profile].tp_weight * self.n_windows

    def raw(self, detections: np.ndarray, profile: str) -> np.ndarray:
        """Raw score per series of the detections (a bool mask over the concatenated rows)."""
        m = len(self.names)
        d = np.flatnonzero(detections & self.scored)
        w = self.weights[profile][d]
        g = self.window_id[d]
        sid = self.series_id[d]
        out = np.bincount(sid[g < 0], weights=w[g < 0], minlength=m).astype(np.float64)
        inside = np.flatnonzero(g >= 0)
        _, first = np.unique(g[inside], return_index=True)  # rows ascend: the earliest per window
        hit = inside[first]
        out += np.bincount(sid[hit], weights=w[hit], minlength=m)
        detected = np.bincount(sid[hit], minlength=m)
        out -= PROFILES[profile].fn_weight * (self.counted - detected)
        return out

    def normalised(self, raw: np.ndarray, profile: str, subset=None) -> float:
        """NAB's normalised score of per-series raw scores: 0 for the null detector, 100 perfect.

        Over the series of ``subset`` (an index or mask of the series; ``None``: all); NaN when
        the perfect and the null score are equal.
        """
        sel = slice(None) if subset is None else subset
        null, perfect = self.null(profile)[sel].sum(), self.perfect(profile)[sel].sum()
        span = perfect - null
        return 100.0 * (raw[sel].sum() - null) / span if span > 0 else math.nan


def _concat(by_series: Mapping[str, np.ndarray], names) -> np.ndarray:
    return (
        np.concatenate([np.asarray(by_series[n], dtype=np.float64) for n in names])
        if names
        else np.empty(0)
    )


def _split(cat: np.ndarray, scorer: DetectionScorer) -> dict:
    o = scorer.offsets
    return {n: cat[o[i] : o[i + 1]] for i, n in enumerate(scorer.names)}


class _AlertRunner:
    """One base model's scores, every series at once (a slot per series), through the alert
    signal at any parameters and threshold."""

    def __init__(self, S: Mapping[str, np.ndarray], corpus, scorer: DetectionScorer):
        self.scorer = scorer
        self.S = _concat(S, scorer.names)
        self.X = _concat({n: corpus[n].values for n in scorer.names}, scorer.names).reshape(-1, 1)
        self.slots = scorer.series_id.astype(np.int64)
        # each row's number in its series (1 for the first), for the age correction
        self.n_t = (np.arange(self.S.shape[0]) - scorer.offsets[self.slots] + 1).astype(np.float64)

    def signal(self, params: Mapping, threshold: float) -> np.ndarray:
        from ..alerting import AlertSignal

        sig = AlertSignal(**{**params, "threshold": float(threshold)})
        sig.allocate(len(self.scorer.names))
        return sig.run(self.S, self.slots, True, self.X)

    def unsuppressed(self, params: Mapping) -> np.ndarray:
        """The signal before suppression and range breaks (its age-corrected score)."""
        from ..alerting import AlertSignal

        c = float(AlertSignal(**params).size_correction)
        return 1.0 - np.minimum(1.0, (1.0 - self.S) * self.n_t**c)


def alert_candidates(
    base_signal: np.ndarray, scored: np.ndarray, extra: Sequence[float] = ()
) -> np.ndarray:
    """First grid of thresholds for an alert signal.

    Parameters
    ----------
    base_signal
        The signal's value on every row before suppression.
    scored
        Mask of the rows NAB scores (after the probation).
    extra
        More candidates.

    Returns
    -------
    ndarray of float64
        Decreasing thresholds in (0, 1]: the quantiles of the scored rows' values at 80 levels
        from 5 % to 0.001 % of rows above, 1.0 (range breaks and saturated scores only) and
        ``extra``.
    """
    vals = base_signal[scored]
    grid = np.quantile(vals, 1.0 - _GRID_LEVELS) if vals.size else np.empty(0)
    c = np.unique(np.r_[grid, 1.0, np.asarray(extra, dtype=np.float64)])
    return c[(c > 0) & (c <= 1)][::-1]


def _sweep(runner: _AlertRunner, params: Mapping, extra=()) -> dict:
    """Per-series raw scores at every candidate threshold: ``{tau: {profile: raw (m,)}}``; the
    grid of :func:`alert_candidates`, then a finer grid between the neighbours of each profile's
    best."""
    sc = runner.scorer
    raws: dict[float, dict] = {}

    def at(tau):
        if tau not in raws:
            det = runner.signal(params, tau) >= tau
            raws[tau] = {p: sc.raw(det, p) for p in PROFILE_NAMES}

    grid = alert_candidates(runner.unsuppressed(params), sc.scored, extra)
    for tau in grid:
        at(float(tau))
    for p in PROFILE_NAMES:
        taus = np.array(sorted(raws, reverse=True))
        scores = np.array([sc.normalised(raws[t][p], p) for t in taus])
        i = int(np.argmax(scores))
        lo, hi = taus[min(i + 1, len(taus) - 1)], taus[max(i - 1, 0)]
        for tau in np.linspace(lo, hi, _REFINE + 2)[1:-1]:
            at(float(tau))
    return raws


def _best_tau(raws: dict, sc: DetectionScorer, profile: str, subset=None) -> tuple[float, float]:
    """(threshold, score) of the best candidate; ties go to the largest threshold."""
    best = (math.nan, -math.inf)
    for tau in sorted(raws, reverse=True):
        s = sc.normalised(raws[tau][profile], profile, subset)
        if s > best[1] + 1e-12:
            best = (tau, s)
    return best


def _summary(r) -> dict:
    """The fields of a :class:`~sead.bench.nab.NABResult` the report keeps."""
    return {
        "score": r.score,
        "raw_score": r.raw_score,
        "threshold": r.threshold,
        "detected_windows": r.detected_windows,
        "missed_windows": r.missed_windows,
        "n_windows": r.n_windows,
        "fp_rows": r.fp,
        "tp_rows": r.tp,
    }


def _per_category(r) -> dict:
    cats: dict[str, dict] = {}
    for name, s in r.per_series.items():
        c = cats.setdefault(
            name.split("/", 1)[0],
            {"raw": 0.0, "null": 0.0, "perfect": 0.0, "detected": 0, "windows": 0, "fp_rows": 0},
        )
        c["raw"] += s.raw_score
        c["null"] += s.null_score
        c["perfect"] += s.perfect_score
        c["detected"] += s.detected_windows
        c["windows"] += s.detected_windows + s.missed_windows
        c["fp_rows"] += s.fp
    for c in cats.values():
        span = c["perfect"] - c["null"]
        c["score"] = 100.0 * (c["raw"] - c["null"]) / span if span > 0 else math.nan
    return cats


# ------------------------------------------------------------------------------ cross-check


def cross_check(
    candidates: Mapping[str, Mapping[float, Mapping[str, np.ndarray]]],
    scorer: DetectionScorer,
    *,
    seed: int = 0,
    splits: int = 20,
    default: tuple[str, float] | None = None,
) -> dict:
    """How much of the score is selection: choose on half the series, score on the other half.

    Parameters
    ----------
    candidates
        ``{variant: {threshold: {profile: per-series raw scores}}}`` (from the sweeps).
    scorer
        The :class:`DetectionScorer` of the series.
    seed
        The split: a permutation of the series by ``numpy.random.default_rng(seed)``; the first
        half (rounded down) is the *selection* half, the rest the *held-out* half.
    splits
        Further random splits (seeds ``seed + 1 ..``) summarised as mean and standard deviation.
    default
        ``(variant, threshold)`` of the defaults, scored on both halves.

    Returns
    -------
    dict
        Per profile: the choice made on the selection half (variant, threshold, its score
        there and on the held-out half), the best choice for the held-out half (its score
        there), the defaults on both halves; and over ``splits`` more splits the mean and
        standard deviation of: the selection half's score minus the held-out half's (same
        choice), the held-out half's best minus the chosen, the held-out scores of the chosen,
        of the best, of the defaults, and of the default variant with its threshold chosen
        on the selection half (what threshold selection alone gives).
    """
    m = len(scorer.names)
    flat = [(v, t) for v in candidates for t in sorted(candidates[v], reverse=True)]

    def halves(s):
        perm = np.random.default_rng(s).permutation(m)
        a = np.zeros(m, dtype=bool)
        a[perm[: m // 2]] = True
        return a, ~a

    def best(profile, subset, among=flat):
        scores = np.array(
            [scorer.normalised(candidates[v][t][profile], profile, subset) for v, t in among]
        )
        i = int(np.argmax(scores))
        return among[i], float(scores[i])

    # the default variant, its threshold chosen on the selection half: threshold selection alone
    own = (
        [(default[0], t) for t in sorted(candidates.get(default[0], {}), reverse=True)]
        if default
        else []
    )

    def one(s, profile):
        a, b = halves(s)
        (va, ta), sa = best(profile, a)
        (vb, tb), sb = best(profile, b)
        return {
            "selection_half": [scorer.names[i] for i in np.flatnonzero(a)],
            "chosen_on_selection": {
                "variant": va,
                "threshold": ta,
                "score_selection": sa,
                "score_held_out": scorer.normalised(candidates[va][ta][profile], profile, b),
            },
            "chosen_on_held_out": {"variant": vb, "threshold": tb, "score_held_out": sb},
        }

    out: dict = {
        "seed": seed,
        "splits": splits,
        "n_series": m,
        "n_candidates": len(flat),
        "profiles": {},
    }
    for p in PROFILE_NAMES:
        res = one(seed, p)
        if (
            default is not None
            and default[0] in candidates
            and default[1] in candidates[default[0]]
        ):
            a, b = halves(seed)
            raw = candidates[default[0]][default[1]][p]
            res["default"] = {
                "variant": default[0],
                "threshold": default[1],
                "score_selection": scorer.normalised(raw, p, a),
                "score_held_out": scorer.normalised(raw, p, b),
            }
        acc: dict[str, list] = {
            "selection_minus_held_out": [],
            "held_out_best_minus_chosen": [],
            "held_out_chosen": [],
            "held_out_best": [],
            "held_out_default": [],
            "held_out_default_variant_own_threshold": [],
        }
        for s in range(seed + 1, seed + 1 + splits):
            r = one(s, p)
            c, h = r["chosen_on_selection"], r["chosen_on_held_out"]["score_held_out"]
            acc["selection_minus_held_out"].append(c["score_selection"] - c["score_held_out"])
            acc["held_out_best_minus_chosen"].append(h - c["score_held_out"])
            acc["held_out_chosen"].append(c["score_held_out"])
            acc["held_out_best"].append(h)
            if "default" in res:
                raw = candidates[default[0]][default[1]][p]
                acc["held_out_default"].append(scorer.normalised(raw, p, halves(s)[1]))
            if own:
                a_s, b_s = halves(s)
                (_, t_own), _ = best(p, a_s, own)
                acc["held_out_default_variant_own_threshold"].append(
                    scorer.normalised(candidates[default[0]][t_own][p], p, b_s)
                )
        if splits:
            res["over_splits"] = {
                k: [float(np.mean(v)), float(np.std(v))] for k, v in acc.items() if v
            }
        if p != PROFILE_NAMES[0]:
            del res["selection_half"]
        out["profiles"][p] = res
    out["selection_half"] = out["profiles"][PROFILE_NAMES[0]].pop("selection_half")
    return out


# ------------------------------------------------------------------------------ the run


def _log(msg: str, progress: bool) -> None:
    if progress:
        print(f"sead-bench nab: {msg}", file=sys.stderr, flush=True)


def _score_model(spec, base, sub, scorer, corpus, defaults, rows) -> dict:
    """One model's scores (one seed): every profile at its best threshold, and an alert model's
    at its default threshold too."""
    entry = {"base_seconds": base["seconds"]}
    t0 = time.perf_counter()
    if spec.alert is None:
        S = base["S"]
        entry["profiles"] = {}
        for p in PROFILE_NAMES:
            best = optimize_threshold(S, p, corpus=sub)
            entry["profiles"][p] = _summary(best.result)
            if p == "standard":
                entry["per_category"] = _per_category(best.result)
        rows[spec.label] = {"score": S, "threshold": entry["profiles"]["standard"]["threshold"]}
        entry["seconds"] = base["seconds"]
    else:
        params = {**defaults, **ALERT_VARIANTS[spec.alert]}
        params.pop("threshold")
        default_tau = float(defaults["threshold"])
        runner = base.setdefault("runner", _AlertRunner(base["S"], corpus, scorer))
        t1 = time.perf_counter()
        runner.signal(params, default_tau)
        entry["alert_seconds"] = time.perf_counter() - t1
        entry["seconds"] = base["seconds"] + entry["alert_seconds"]
        raws = _sweep(runner, params, extra=(default_tau,))
        base.setdefault("sweeps", {})[spec.alert] = raws
        entry["alert_params"] = {**params, "threshold": default_tau}
        entry["n_thresholds_tried"] = len(raws)
        entry["profiles"], entry["at_default_threshold"] = {}, {}
        signals = {}
        for p in PROFILE_NAMES:
            tau, _ = _best_tau(raws, scorer, p)
            sig = _split(runner.signal(params, tau), scorer)
            r = score_corpus(sig, tau, p, corpus=sub)  # the reference scorer, for the record
            entry["profiles"][p] = _summary(r)
            signals[p] = (sig, tau)
            if p == "standard":
                entry["per_category"] = _per_category(r)
            d = score_corpus(
                _split(runner.signal(params, default_tau), scorer), default_tau, p, corpus=sub
            )
            entry["at_default_threshold"][p] = _summary(d)
        sig, tau = signals["standard"]
        rows[spec.label] = {"score": base["S"], "signal": sig, "threshold": tau}
    entry["scoring_seconds"] = time.perf_counter() - t0
    return entry


def _mean_sd(values) -> list[float]:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    return (
        [float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan]
        if v.size
        else [math.nan, math.nan]
    )


def run_nab(config: NABConfig, *, command: str = "", progress: bool = True, corpus=None) -> dict:
    """Run the suite (see the module docstring).

    With several ``seeds`` every model runs once per seed (the seed of the pool's randomised
    detectors); a model's ``profiles`` are then those of the first seed, and ``over_seeds``
    holds the mean and standard deviation of each score. Files, plots, the variants and the
    cross-check use the first seed.

    Parameters
    ----------
    config
        What to run.
    command
        The command line, recorded in the results.
    progress
        Report the steps on stderr.
    corpus
        The NAB corpus (``None``: :func:`sead.datasets.nab.load_nab_corpus` of
        ``config.data_dir``).

    Returns
    -------
    dict
        What ``results_nab.json`` holds, with the per-row outputs of the first seed under the
        private key ``_rows``.
    """
    from ..alerting import AlertSignal
    from ..datasets.nab import PUBLISHED_DETECTORS, load_nab_corpus

    t_start = time.perf_counter()
    if corpus is None:
        corpus = load_nab_corpus(config.data_dir)
    names = select_series(corpus, config.series)
    if not any(len(corpus[n].window_rows) for n in names):
        raise ValueError(
            "the series chosen hold no anomaly window, so NAB's normalised score is undefined; "
            "add series with windows"
        )
    sub = {n: corpus[n] for n in names}
    n_rows = sum(corpus[n].n_rows for n in names)
    full = len(names) == len(corpus)
    specs = [parse_model(m, config.pool) for m in config.models]
    labels = [s.label for s in specs]
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise ValueError(f"model {dup[0]!r} is listed more than once")
    seeds = list(config.seeds) if config.seeds else [config.seed]
    scorer = DetectionScorer(corpus, names)
    defaults = {**AlertSignal().get_params(), **config.alert_params}

    models = [
        {
            "name": s.label,
            "spec": s.text,
            "base": s.base_label,
            "pool": s.pool,
            "detector": s.detector,
            "kind": "ranking" if s.alert is None else "alert",
            "per_seed": [],
        }
        for s in specs
    ]
    rows: dict[str, dict] = {}
    first_bases: dict = {}
    for k, seed in enumerate(seeds):
        bases: dict[tuple, dict] = {}
        seed_rows: dict[str, dict] = {}
        for spec, entry in zip(specs, models):
            if spec.base_key not in bases:
                _log(
                    f"{spec.base_label} (seed {seed}) on {len(names)} series ({n_rows:,} rows) ...",
                    progress,
                )
                S, secs = run_base(spec, corpus, names, config, seed)
                bases[spec.base_key] = {"S": S, "seconds": secs}
                _log(
                    f"{spec.base_label}: {secs:.1f} s ({n_rows / max(secs, 1e-9):,.0f} rows/s)",
                    progress,
                )
            res = _score_model(spec, bases[spec.base_key], sub, scorer, corpus, defaults, seed_rows)
            res["seed"] = seed
            entry["per_seed"].append(res)
            st = res["profiles"]["standard"]
            _log(
                f"{spec.label} (seed {seed}): standard {st['score']:.2f} (threshold "
                f"{st['threshold']:.6g}, "
                f"{st['detected_windows']}/{st['n_windows']} windows, {st['fp_rows']} FP rows)",
                progress,
            )
        if k == 0:
            rows, first_bases = seed_rows, bases
    for entry in models:
        first = entry["per_seed"][0]
        for key in (
            "profiles",
            "at_default_threshold",
            "per_category",
            "alert_params",
            "n_thresholds_tried",
            "seconds",
            "base_seconds",
            "alert_seconds",
            "scoring_seconds",
        ):
            if key in first:
                entry[key] = first[key]
        entry["rows_per_s"] = n_rows / max(entry["seconds"], 1e-9)
        if len(seeds) > 1:
            entry["over_seeds"] = {
                p: _mean_sd([r["profiles"][p]["score"] for r in entry["per_seed"]])
                for p in PROFILE_NAMES
            }
            if entry["kind"] == "alert":
                entry["over_seeds_at_default_threshold"] = {
                    p: _mean_sd([r["at_default_threshold"][p]["score"] for r in entry["per_seed"]])
                    for p in PROFILE_NAMES
                }
        if len(seeds) == 1:
            del entry["per_seed"]

    results = {
        "suite": "nab",
        "command": command,
        "config": {
            "models": list(config.models),
            "features": config.features,
            "shingle": config.shingle,
            "pool": config.pool,
            "seeds": seeds,
            "alert_params": dict(config.alert_params),
            "alert_defaults": defaults,
            "series": "all" if full else names,
            "cross_check": config.cross_check,
            "cross_check_splits": config.cross_check_splits,
        },
        "corpus": {
            "series": len(names),
            "rows": n_rows,
            "windows": int(scorer.n_windows.sum()),
            "full": full,
        },
        "models": models,
        "published": _published(corpus, names, full, PUBLISHED_DETECTORS),
    }
    if config.cross_check is not None:
        results["variants"], results["cross_check"] = _variants_and_cross_check(
            specs, first_bases, corpus, scorer, defaults, config, progress
        )
    results["elapsed_seconds"] = time.perf_counter() - t_start
    results["_rows"] = rows
    return results


def _variants_and_cross_check(specs, bases, corpus, scorer, defaults, config, progress):
    """Every alert variant on the base of every alert model (the ablation table), then the
    cross-check over all of them."""
    default_tau = float(defaults["threshold"])
    table, candidates = [], {}
    alert_bases = [s for s in specs if s.alert is not None] or [
        s.with_alert("default") for s in specs[:1]
    ]
    seen = set()
    for spec in alert_bases:
        if spec.base_key in seen:
            continue
        seen.add(spec.base_key)
        base = bases[spec.base_key]
        runner = base.setdefault("runner", _AlertRunner(base["S"], corpus, scorer))
        sweeps = base.setdefault("sweeps", {})
        for v, over in ALERT_VARIANTS.items():
            params = {**defaults, **over}
            params.pop("threshold")
            if v not in sweeps:
                _log(f"variant {spec.base_label}+alert:{v} ...", progress)
                sweeps[v] = _sweep(runner, params, extra=(default_tau,))
            raws = sweeps[v]
            key = spec.with_alert(v).label
            candidates[key] = raws
            row = {"name": key, "variant": v, "overrides": over, "profiles": {}}
            for p in PROFILE_NAMES:
                tau, s = _best_tau(raws, scorer, p)
                row["profiles"][p] = {"score": s, "threshold": tau}
            row["at_default_threshold"] = {
                p: scorer.normalised(raws[default_tau][p], p) for p in PROFILE_NAMES
            }
            table.append(row)
    default_key = alert_bases[0].with_alert("default").label
    _log(f"cross-check over {len(candidates)} variants ...", progress)
    cc = cross_check(
        candidates,
        scorer,
        seed=int(config.cross_check),
        splits=int(config.cross_check_splits),
        default=(default_key, default_tau),
    )
    return table, cc


def _published(corpus, names, full, detectors) -> dict:
    """The published scoreboard (full corpus), or the published per-row scores that ship with the
    corpus re-scored on the subset (threshold re-optimised per profile)."""
    if full:
        return {"source": "results/final_results.json", "scores": corpus.final_results}
    sub = {n: corpus[n] for n in names}
    out = {}
    for det in detectors:
        scores = getattr(corpus, "published_scores", {}).get(det)
        if scores is None:
            continue
        out[det] = {
            p: optimize_threshold({n: scores[n] for n in names}, p, corpus=sub).score
            for p in PROFILE_NAMES
        }
    return {"source": "published per-row scores re-scored on the subset", "scores": out}


# ------------------------------------------------------------------------------ outputs

#: Display names of NAB's published detectors.
PUBLISHED_NAMES = {
    "ARTime": "ARTime",
    "numenta": "Numenta HTM",
    "contextOSE": "CAD OSE",
    "knncad": "KNN CAD",
    "randomCutForest": "Random Cut Forest",
    "windowedGaussian": "Windowed Gaussian",
    "random": "random",
    "null": "null",
    "htmjava": "HTM Java",
    "numentaTM": "Numenta TM",
    "earthgeckoSkyline": "Skyline",
    "relativeEntropy": "Relative Entropy",
    "bayesChangePt": "Bayes changepoint",
    "expose": "EXPoSE",
    "twitterADVec": "Twitter ADVec",
    "skyline": "Skyline",
    "perfect": "perfect",
}


def write_outputs(
    results: dict,
    out_dir,
    *,
    corpus=None,
    plots: bool = True,
    nab_files: bool = True,
    plot_series=None,
) -> dict:
    """Write ``results_nab.json``, ``results_nab.md``, the NAB results layout and the plots.

    Parameters
    ----------
    results
        From :func:`run_nab`.
    out_dir
        The output directory (created if needed).
    corpus
        The corpus the results were computed on (needed for the NAB files and the plots).
    plots
        Write the plots.
    nab_files
        Write the per-row scores in NAB's results layout (``nab-results/``).
    plot_series
        The series to plot (``None``: those of ``PLOT_SERIES`` run, else the first two).

    Returns
    -------
    dict
        The paths written: ``"json"``, ``"md"``, ``"nab_results"`` (with ``nab_files``) and
        ``"plots"`` (a list).
    """
    from .report import environment, write_json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = results.get("_rows", {})
    made: dict = {"plots": []}
    if nab_files and rows:
        made["nab_results"] = _write_nab_layout(results, rows, out / "nab-results", corpus)
    if plots and rows:
        made["plots"] = _plots(results, rows, out, corpus, plot_series)
    public = {k: v for k, v in results.items() if not k.startswith("_")}
    public["environment"] = environment()
    made["json"] = write_json(public, out / "results_nab.json")
    made["md"] = out / "results_nab.md"
    made["md"].write_text(markdown(public, [Path(p).name for p in made["plots"]]), encoding="utf-8")
    return made


def _write_nab_layout(results, rows, root: Path, corpus) -> Path:
    names = list(next(iter(rows.values()))["score"])
    sub = {n: corpus[n] for n in names}
    thresholds = {}
    for m in results["models"]:
        r = rows[m["name"]]
        scores = r.get("signal", r["score"])
        write_nab_results(scores, root, m["name"], corpus=sub)
        if m["kind"] == "ranking":
            thresholds[m["name"]] = {
                p: {"threshold": v["threshold"], "score": v["raw_score"]}
                for p, v in m["profiles"].items()
            }
        else:  # the file holds the signal at the standard profile's threshold
            t = m["profiles"]["standard"]
            thresholds[m["name"]] = {
                p: {"threshold": t["threshold"], "score": None} for p in PROFILE_NAMES
            }
            thresholds[m["name"]]["standard"]["score"] = t["raw_score"]
    root.mkdir(parents=True, exist_ok=True)
    (root / "thresholds.json").write_text(json.dumps(thresholds, indent=2) + "\n", encoding="utf-8")
    return root


def _fmt(x, nd=1) -> str:
    return "–" if x is None or not math.isfinite(float(x)) else f"{float(x):.{nd}f}"


def markdown(results: dict, plots: Sequence[str] = ()) -> str:
    """``results_nab.md``: the table beside the published scoreboard, the variants, the
    cross-check."""
    c = results["corpus"]
    lines = ["# sead on the Numenta Anomaly Benchmark", ""]
    if results.get("command"):
        lines += [f"Command: `{results['command']}`", ""]
    what = "the whole corpus" if c["full"] else "a subset"
    lines += [
        f"{c['series']} series ({what}), {c['rows']:,} rows, {c['windows']} windows; NAB v1.1 "
        "scoring, "
        "threshold optimised per profile over the series (an alert signal's threshold is swept: "
        "its "
        "suppression depends on it).",
        "",
    ]
    lines += [
        "| detector | standard | reward low FP | reward low FN | threshold (standard) | windows "
        "detected | "
        "FP rows | seconds |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    entries = []
    for m in results["models"]:
        pr = m["profiles"]
        entries.append((pr["standard"]["score"], f"**{m['name']}** (this run)", pr, m))
    pub = results["published"]["scores"]
    for det, sc in pub.items():
        entries.append(
            (
                sc.get("standard", math.nan),
                PUBLISHED_NAMES.get(det, det),
                {p: {"score": sc.get(p)} for p in PROFILE_NAMES},
                None,
            )
        )
    entries.sort(key=lambda e: -e[0] if e[0] is not None and math.isfinite(e[0]) else math.inf)
    for _, name, pr, m in entries:
        cells = [_fmt(pr[p]["score"], 1) for p in PROFILE_NAMES]
        if m is None:
            lines.append(f"| {name} | " + " | ".join(cells) + " | | | | |")
        else:
            st = pr["standard"]
            lines.append(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {st['threshold']:.4g} | {st['detected_windows']}/{st['n_windows']} | "
                f"{st['fp_rows']} | "
                f"{m['seconds']:.1f} |"
            )
    seeds = results["config"].get("seeds", [0])
    lines += [
        "",
        f"Published rows: {results['published']['source']}. sead rows: seed {seeds[0]} of the "
        "pool's "
        "randomised detectors.",
    ]
    multi = [m for m in results["models"] if m.get("over_seeds")]
    if multi:
        lines += [
            "",
            f"## Over the seeds {', '.join(map(str, seeds))}",
            "",
            "Mean ± standard deviation over the seeds (each with its own thresholds; an alert "
            "model also at "
            "its fixed default threshold):",
            "",
            "| model | standard | reward low FP | reward low FN | per seed (standard) |",
            "|---|---:|---:|---:|---|",
        ]
        for m in multi:
            for key, tag in (
                ("over_seeds", ""),
                ("over_seeds_at_default_threshold", " at the default threshold"),
            ):
                if key not in m:
                    continue
                cells = [f"{_fmt(m[key][p][0])} ± {_fmt(m[key][p][1])}" for p in PROFILE_NAMES]
                field_ = "profiles" if key == "over_seeds" else "at_default_threshold"
                per = ", ".join(_fmt(r[field_]["standard"]["score"]) for r in m["per_seed"])
                lines.append(f"| {m['name']}{tag} | " + " | ".join(cells) + f" | {per} |")
    alerts = [m for m in results["models"] if m["kind"] == "alert"]
    if alerts:
        lines += [
            "",
            "## At the fixed default threshold",
            "",
            "What a live policy with the default threshold gets (no threshold chosen on labels):",
            "",
            "| model | threshold | standard | reward low FP | reward low FN |",
            "|---|---:|---:|---:|---:|",
        ]
        for m in alerts:
            d = m["at_default_threshold"]
            lines.append(
                f"| {m['name']} | {m['alert_params']['threshold']:.4g} | "
                + " | ".join(_fmt(d[p]["score"], 1) for p in PROFILE_NAMES)
                + " |"
            )
        lines += [
            "",
            "Alert parameters: "
            + ", ".join(f"`{k}={v!r}`" for k, v in alerts[0]["alert_params"].items()),
        ]
    if results.get("variants"):
        lines += [
            "",
            "## Alert variants (each with its own threshold per profile)",
            "",
            "| variant | overrides | standard | reward low FP | reward low FN | threshold "
            "(standard) | "
            "standard at the default threshold |",
            "|---|---|---:|---:|---:|---:|---:|",
        ]
        for v in results["variants"]:
            ov = ", ".join(f"{k}={x!r}" for k, x in v["overrides"].items()) or "(defaults)"
            pr = v["profiles"]
            lines.append(
                f"| {v['name']} | {ov} | "
                + " | ".join(_fmt(pr[p]["score"], 1) for p in PROFILE_NAMES)
                + f" | {pr['standard']['threshold']:.4g} | "
                f"{_fmt(v['at_default_threshold']['standard'], 1)} |"
            )
    cc = results.get("cross_check")
    if cc:
        lines += [
            "",
            "## Cross-check: chosen on half the series, scored on the other half",
            "",
            f"Split: `numpy.random.default_rng({cc['seed']}).permutation` of the {cc['n_series']} "
            "series; the "
            f"first {len(cc['selection_half'])} are the selection half. Candidates: "
            f"{cc['n_candidates']} "
            "(variant, threshold) pairs.",
            "",
            "| profile | chosen on selection half | score there | on held-out half | best for "
            "held-out half "
            "| defaults: selection / held-out |",
            "|---|---|---:|---:|---:|---:|",
        ]
        for p, r in cc["profiles"].items():
            ch, ho = r["chosen_on_selection"], r["chosen_on_held_out"]
            dflt = r.get("default")
            d = f"{_fmt(dflt['score_selection'])} / {_fmt(dflt['score_held_out'])}" if dflt else "–"
            lines.append(
                f"| {p} | {ch['variant']} @ {ch['threshold']:.4g} | {_fmt(ch['score_selection'])} "
                "| "
                f"{_fmt(ch['score_held_out'])} | {_fmt(ho['score_held_out'])} ({ho['variant']}) | "
                f"{d} |"
            )
        if cc.get("splits"):
            lines += [
                "",
                f"Over {cc['splits']} more random splits (seeds "
                f"{cc['seed'] + 1}-{cc['seed'] + cc['splits']}), "
                "mean ± standard deviation:",
                "",
                "| profile | held-out score of the choice made on the other half | best for the "
                "held-out half | "
                "best − chosen | selection − held-out (same choice) | defaults on the held-out "
                "half | default variant, threshold chosen on the other half |",
                "|---|---:|---:|---:|---:|---:|---:|",
            ]
            for p, r in cc["profiles"].items():
                ov = r.get("over_splits", {})

                def ms(k, ov=ov):
                    v = ov.get(k)
                    return f"{_fmt(v[0])} ± {_fmt(v[1])}" if v else "–"

                lines.append(
                    f"| {p} | {ms('held_out_chosen')} | {ms('held_out_best')} | "
                    f"{ms('held_out_best_minus_chosen')} | {ms('selection_minus_held_out')} | "
                    f"{ms('held_out_default')} | {ms('held_out_default_variant_own_threshold')} |"
                )
    lines += ["", "## Time", ""]
    for m in results["models"]:
        lines.append(
            f"- {m['name']}: {m['seconds']:.1f} s for {c['rows']:,} rows ({m['rows_per_s']:,.0f} "
            "rows/s; "
            f"model {m['base_seconds']:.1f} s"
            + (f", alert signal {m['alert_seconds']:.2f} s" if m["kind"] == "alert" else "")
            + f"), scoring {m['scoring_seconds']:.1f} s"
        )
    lines.append(f"- whole run: {results['elapsed_seconds']:.1f} s")
    if plots:
        lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in plots]
    return "\n".join(lines) + "\n"


def _plots(results, rows, out: Path, corpus, plot_series) -> list[Path]:
    from .plots import _plt

    names = list(next(iter(rows.values()))["score"])
    wanted = list(PLOT_SERIES) if plot_series is None else list(plot_series)
    chosen = [n for n in wanted if n in names] or names[:2]
    models = results["models"]
    alert = next((m for m in models if m["kind"] == "alert"), None)
    ranking = next((m for m in models if m["kind"] == "ranking"), None)
    plt = _plt()
    made = []
    for name in chosen:
        s = corpus[name]
        n = s.n_rows
        t = np.arange(n)
        P = probation_length(n)
        fig, (ax1, ax2) = plt.subplots(
            2, 1, figsize=(12, 5.2), sharex=True, gridspec_kw={"height_ratios": [3, 2]}
        )
        ax1.plot(t, s.values, lw=0.6, color="tab:blue")
        for a, b in s.window_rows:
            for ax in (ax1, ax2):
                ax.axvspan(a, b, color="tab:red", alpha=0.15, lw=0)
        for ax in (ax1, ax2):
            ax.axvline(P, color="gray", ls=":", lw=1)
        handles = []
        for m, marker, color in ((ranking, "v", "tab:purple"), (alert, "^", "tab:red")):
            if m is None:
                continue
            r = rows[m["name"]]
            vals = r.get("signal", r["score"])[name]
            det = np.flatnonzero(vals >= r["threshold"])
            det = det[det >= P]
            h = ax1.plot(
                det,
                s.values[det],
                marker,
                color=color,
                ms=7,
                ls="none",
                label=f"{m['name']} detections (threshold {r['threshold']:.4g})",
            )
            handles += h
        ax1.set_title(f"{name} — red: NAB windows, dotted: end of the probation", fontsize=10)
        ax1.set_ylabel("value")
        if handles:
            ax1.legend(loc="upper left", fontsize=8)
        base = alert or ranking
        r = rows[base["name"]]
        ax2.plot(t, r["score"][name], lw=0.5, color="tab:gray", label=f"{base['base']} score")
        if alert is not None:
            ax2.plot(t, r["signal"][name], lw=0.7, color="tab:red", label=f"{alert['name']} signal")
            ax2.axhline(r["threshold"], color="tab:red", ls="--", lw=0.8)
        ax2.set_ylim(-0.02, 1.02)
        ax2.set_xlabel("row")
        ax2.legend(loc="lower left", fontsize=8)
        fig.tight_layout()
        path = out / f"nab-{Path(s.file).stem.replace('_', '-')}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made
