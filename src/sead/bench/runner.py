"""Running the benchmark: one *unit* per task and seed, then the collected results.

What one unit (task, seed) does, step by step (each step is a function below):

1. builds the stream (``task.load(seed)``: chunk-shuffled for ODDS, time order for the others)
   and the pool (``pool(seed)``) — :func:`_start_unit`;
2. runs **SEAD for real**, timed — ``SEAD(pool, **settings).score_learn_many(X,
   return_details=True)`` over consecutive chunks of ``chunk_rows`` rows (one call for a
   smaller stream; the same numbers either way, as SEAD is prequential) — and keeps its raw
   score matrix ``R`` (T × K; NaN where SEAD left a detector's warm-up placeholder scores out).
   Each base detector is wrapped in a timer that also keeps the detector's own prequential
   scores: those are the "each detector alone" methods (a detector's scores do not depend on
   the weights), timed inside that same run — :func:`_run_sead`;
3. checks that the weights kernel on the real run's normalised scores reproduces its output
   (``check_max_abs_diff``) — :func:`_seed_cache`;
4. ``mean`` and ``max``: mean / max over SEAD's quantile-normalised matrix, timed as SEAD's
   run (the detectors, the normalisation and the weights) plus the mean / max —
   :func:`_run_mean_max`;
5. runs **SEAD++ for real**, timed, on a fresh copy of the pool, in the same process —
   :func:`_run_sead_plus`;
6. the **random-detector experiment**: as many uniform-random score columns as the pool has
   detectors (from :class:`sead.detectors.random.RandomDetector` when it exists, else numpy —
   the same thing for the combiner), appended to ``R`` and combined with the same settings;
   and the **random-detector curve**: the same with each count of ``random_counts`` (default
   13, 26, 52) — nested sets whose first ``K`` columns are the experiment's — :func:`_run_random`;
7. every SEAD *variant* (:mod:`sead.bench.variants`) is evaluated on the cached ``R``: the
   normalised matrix is computed once per distinct quantile reference, then the weights kernel
   runs per variant — the same arithmetic as :func:`sead.combine_scores` (checked in the
   tests). Variants are scored with the one-sort :func:`~sead.bench.metrics.fast_evaluate` —
   :func:`_run_variants`;
8. the SEAD++ variants and, with ``pp_curve``, SEAD++ at each ``n_sampled`` of the curve, run
   for real and timed — :func:`_run_plus_variants`, :func:`_run_pp_curve`;
9. metrics (APS, ROC AUC) on the points after the warm start (``warm_start`` = 100); a NaN
   score there (a detector still in its own warm-up) counts as below every real score; with
   ``save_scores`` the per-point scores are written — :func:`_save_scores`.

Units are independent; :func:`run` executes them in order or in a process pool (``jobs``) and
drives one progress bar that counts rows as each unit proceeds (:func:`unit_work`).
"""

from __future__ import annotations

import functools
import math
import os
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import SEAD, SEADPlusPlus

# The benchmark's cached-matrix path needs three pieces of the core beyond the public API: the
# detector base class (to time each detector inside the SEAD run), the quantile references
# (to normalise a cached matrix once per reference) and the weights kernel (to run it per
# variant). They are imported here and nowhere else in sead.bench.
from ..base import Detector
from ..normalization import make_reference
from . import variants as V
from .metrics import evaluate, fast_evaluate

try:  # the weights kernel: sead.combiner in the restructured core, sead.ensemble before
    from ..combiner import weigh as _core_weigh
except ImportError:  # pragma: no cover - depends on the core's layout
    from ..ensemble import weigh as _core_weigh

__all__ = [
    "BenchTask",
    "BenchConfig",
    "dataset_task",
    "resolve_pool",
    "run_unit",
    "run",
    "unit_work",
    "combine_cached",
    "normalized",
    "weigh",
    "ALL_METHOD_GROUPS",
    "RANDOM_COUNTS",
]

#: Method names besides the pool's detectors.
ENSEMBLE_METHODS = ("SEAD", "SEAD++", "mean", "max")
ALL_METHOD_GROUPS = ("base",) + ENSEMBLE_METHODS
#: Numbers of random detectors of the random-detector curve (the paper's 13, doubled, quadrupled).
RANDOM_COUNTS = (13, 26, 52)

PoolSpec = str | Callable[[int], list]


# ------------------------------------------------------------------------------------------
# tasks and pools


@dataclass(frozen=True)
class BenchTask:
    """A benchmark task: a name and ``load(seed) -> (X, y)`` giving the stream for a seed.

    Attributes
    ----------
    name
        The task's name in the reports.
    load
        ``load(seed) -> (X, y)``: the rows and their 0/1 labels in stream order. It must be
        picklable for ``jobs > 1`` (a module-level function or a ``functools.partial`` of one).
    description
        One line about the data.
    stream
        How the rows are streamed (e.g. in time order, or as shuffled chunks).
    """

    name: str
    load: Callable[[int], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    description: str = ""
    stream: str = ""


def _load_dataset(name: str, seed: int, data_dir=None):
    from ..datasets import load_task

    return load_task(name, seed=seed, data_dir=data_dir)


def dataset_task(name: str, data_dir=None) -> BenchTask:
    """The :class:`BenchTask` of a task of :data:`sead.datasets.TASKS`.

    Parameters
    ----------
    name
        A key of :data:`sead.datasets.TASKS`.
    data_dir
        The data directory (``None``: the lookup of :func:`sead.datasets.candidate_dirs`).

    Returns
    -------
    BenchTask
        Its ``load`` reads the task through :func:`sead.datasets.load_task`.
    """
    from ..datasets import TASKS

    info = TASKS[name]
    load = functools.partial(
        _load_with_seed, name=name, data_dir=None if data_dir is None else str(data_dir)
    )
    return BenchTask(name, load, info.description, info.stream_kind)


def _load_with_seed(seed, *, name, data_dir):
    return _load_dataset(name, seed, data_dir)


def resolve_pool(pool: PoolSpec) -> Callable[[int], list]:
    """A pool factory ``seed -> list of detectors``.

    Parameters
    ----------
    pool
        A name of :mod:`sead.pools` (``"paper"``, ``"default"``, ...) or a callable ``seed ->
        list of detectors``, returned as is.

    Returns
    -------
    callable
        The factory.
    """
    if callable(pool):
        return pool
    from .. import pools

    fn = getattr(pools, str(pool), None)
    if fn is None or not callable(fn) or pool in ("named",) or str(pool).startswith("_"):
        known = [n for n in getattr(pools, "__all__", []) if n != "named"]
        raise ValueError(f"unknown pool {pool!r}; sead.pools has: {', '.join(known)}")
    return functools.partial(_call_pool, str(pool))


def _call_pool(name: str, seed: int) -> list:
    from .. import pools

    return getattr(pools, name)(seed=seed)


def _named(pool: list) -> dict:
    from ..pools import named

    return named(pool)


# ------------------------------------------------------------------------------------------
# configuration


@dataclass
class BenchConfig:
    """What to run (the options of ``sead-bench``).

    Attributes
    ----------
    pool
        The detector pool: a name of :mod:`sead.pools` or a callable ``seed -> detectors``
        (see :func:`resolve_pool`).
    seeds
        The seeds; each task runs once per seed.
    methods
        The methods to run (``None``: every method; see :data:`ALL_METHOD_GROUPS`).
    variants
        SEAD variants to evaluate on the cached scores (names of :mod:`sead.bench.variants`).
    plus_variants
        SEAD++ variants to run (each one more SEAD++ run per unit).
    warm_start
        Leading rows of each stream left out of the metrics (APS, ROC AUC).
    save_scores
        Write each unit's labels and scores after the warm start to ``out_dir``.
    out_dir
        Where saved scores go, in ``<out_dir>/scores/`` (``None``: nothing is saved).
    n_random
        Random detectors of the random-detector experiment (``None``: as many as the pool has).
    weight_points
        Time points of SEAD's weights kept for the plots.
    jobs
        Units (task x seed) run in this many processes.
    random_counts
        The numbers of random detectors of the random-detector curve (empty: no curve).
    pp_curve
        The ``n_sampled`` values of SEAD++'s accuracy-speed curve (empty, the default: no
        curve; each value is one more SEAD++ run per unit).
    confirm_seeds
        The confirmation seed group of the report (``None``: the rule of
        :func:`sead.bench.report.default_confirm_seeds`; empty: no split).
    chunk_rows
        Rows per call of a timed run (progress is reported between calls).
    """

    pool: PoolSpec = "default"
    seeds: Sequence[int] = (0, 1, 2, 3, 4)
    methods: Sequence[str] | None = None
    variants: Sequence[str] = ()
    plus_variants: Sequence[str] = ()
    warm_start: int = 100
    save_scores: bool = False
    out_dir: str | os.PathLike | None = None
    n_random: int | None = None  # random detectors; None = as many as the pool has
    weight_points: int = 1500  # time points of SEAD's weights kept for the plots
    jobs: int = 1
    random_counts: Sequence[int] = RANDOM_COUNTS
    pp_curve: Sequence[int] = ()
    confirm_seeds: Sequence[int] | None = None
    chunk_rows: int = 10_000

    def wants(self, method: str, base_names: Sequence[str] = ()) -> bool:
        """Whether ``method`` is run (``base_names``: the pool's detectors, for ``"base"``)."""
        if self.methods is None:
            return True
        if method in self.methods:
            return True
        return method in base_names and "base" in self.methods

    def runs_random(self) -> bool:
        """Whether the random-detector experiment runs (it needs SEAD's settings)."""
        return self.wants("SEAD") and (self.n_random is None or int(self.n_random) > 0)

    def runs_plus(self) -> bool:
        """Whether any SEAD++ model is run (the method, a variant or the curve)."""
        return self.wants("SEAD++") or bool(self.plus_variants) or bool(self.pp_curve)


def unit_work(config: BenchConfig, n_rows: int) -> int:
    """Rows one unit of ``n_rows`` rows reports to the progress bar: ``n_rows`` per pass.

    A pass is one timed model run over the stream (SEAD, SEAD++, each SEAD++ variant, each
    point of the SEAD++ curve) or one evaluation over it (the random-detector experiment, the
    variants). The bar's rows/s is therefore the benchmark's rate, not a model's throughput.

    Parameters
    ----------
    config
        What the unit runs.
    n_rows
        Rows of the unit's stream.

    Returns
    -------
    int
        The rows of work the unit reports in all.
    """
    passes = 1 + int(config.wants("SEAD++")) + len(config.plus_variants) + len(config.pp_curve)
    passes += int(config.runs_random()) + int(bool(config.variants))
    return passes * max(1, int(n_rows))


# ------------------------------------------------------------------------------------------
# timing wrapper


class _Timed(Detector):
    """Wraps a detector for the benchmark: adds the wall time of its calls to ``seconds_`` and
    keeps its own prequential scores (``scores_``, before any ensemble masks placeholders)."""

    def __init__(self, detector: Detector):
        self.detector = detector

    def _init_state(self, schema):
        self.inner_ = self.detector.clone()
        self.inner_._prepare(schema)
        self.seconds_ = 0.0
        self.scores_ = []

    def _warmup_points(self) -> int:
        return self.detector._warmup_points()

    def _score_rows(self, X):
        t0 = time.perf_counter()
        out = self.inner_._score_rows(X)
        self.seconds_ += time.perf_counter() - t0
        return out

    def _learn_rows(self, X):
        t0 = time.perf_counter()
        self.inner_._learn_rows(X)
        self.seconds_ += time.perf_counter() - t0

    def _score_learn_rows(self, X):
        t0 = time.perf_counter()
        out = self.inner_._score_learn_rows(X)
        self.seconds_ += time.perf_counter() - t0
        self.scores_.append(np.array(out, dtype=np.float64))
        return out


# ------------------------------------------------------------------------------------------
# combining cached score matrices


def _reference_key(params: dict):
    ref = make_reference(params["reference"], window=params.get("window"), warmup=params["warmup"])
    return repr(ref), ref


def normalized(
    R: np.ndarray, params: dict, cache: dict | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The prequential quantile matrix of ``R`` under ``params``' reference, cached by reference.

    Parameters
    ----------
    R
        ``(T, K)`` raw scores.
    params
        SEAD keyword arguments; ``reference``, ``window`` and ``warmup`` are used.
    cache
        A dict reused across calls on the *same* ``R`` (``None``: no caching).

    Returns
    -------
    Z : ndarray, shape (T, K)
        The quantile of each raw score among the reference's before it.
    N : ndarray
        The reference sizes behind each quantile.
    """
    key, ref = _reference_key(params)
    if cache is not None and key in cache:
        return cache[key]
    ZN = ref.transform_update(R, return_sizes=True)
    if cache is not None:
        cache[key] = ZN
    return ZN


def weigh(
    Z: np.ndarray, N: np.ndarray, params: dict, record: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The combiner's weights kernel with a variant's keyword arguments.

    Parameters
    ----------
    Z, N
        The normalised matrix and reference sizes, from :func:`normalized`.
    params
        SEAD keyword arguments; ``eta``, ``lam``, ``prior``, ``warmup``, ``loss`` and
        ``output`` are used when present.
    record
        Keep the per-step weights; without it ``weights`` is the final weight vector ``(K,)``
        instead of the ``(T, K)`` history.

    Returns
    -------
    scores : ndarray, shape (T,)
        The ensemble's scores.
    weights : ndarray
        The weights, ``(T, K)`` or ``(K,)`` (see ``record``).
    """
    keys = ("eta", "lam", "prior", "warmup", "loss", "output")
    return _core_weigh(Z, N, record=record, **{k: params[k] for k in keys if k in params})


def combine_cached(
    R: np.ndarray, params: dict, cache: dict | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sead.combine_scores` with the normalised matrix cached per quantile reference.

    Parameters
    ----------
    R
        ``(T, K)`` raw scores.
    params
        SEAD keyword arguments (``reference``, ``window``, ``warmup``, ``eta``, ``lam``,
        ``loss``, optional ``prior``).
    cache
        A dict reused across calls on the *same* ``R``: normalised matrices by reference.

    Returns
    -------
    (scores, normalized, weights)
        As :class:`sead.CombineResult`'s ``scores``, ``normalized`` and ``weights``.
    """
    Z, N = normalized(R, params, cache)
    S, P = weigh(Z, N, params)
    return S, Z, P


# ------------------------------------------------------------------------------------------
# small helpers of a unit


def _random_columns(task: str, seed: int, X: np.ndarray, n: int) -> tuple[np.ndarray, str]:
    """``(T, n)`` uniform random scores, seeded by task and seed."""
    base = (zlib.crc32(task.encode()) + 1_000_003 * int(seed)) % (2**31 - 1 - n)
    try:
        from ..detectors.random import RandomDetector
    except ImportError:
        rng = np.random.default_rng(base)
        return rng.random((X.shape[0], n)), "numpy"
    U = np.empty((X.shape[0], n))
    for j in range(n):
        U[:, j] = RandomDetector(seed=base + j).score_learn_many(X)
    return U, "sead.detectors.random.RandomDetector"


def _scored(s, w) -> np.ndarray:
    """The scores after the warm start, as evaluated and saved: a NaN (a detector that has not
    started scoring) counts as less anomalous than every real score (nanmin - 1; 0 if all NaN)."""
    s = np.asarray(s, dtype=np.float64)[w:]
    nan = np.isnan(s)
    if nan.any():
        fill = float(np.nanmin(s)) - 1.0 if not nan.all() else 0.0
        s = np.where(nan, fill, s)
    return s


def _metrics(y, s, w) -> tuple[float, float]:
    return evaluate(y[w:], _scored(s, w))


def _row_stat(Z: np.ndarray, how: str) -> np.ndarray:
    """Row mean / max over the observed (non-NaN) entries; 0.5 where none is observed."""
    if not np.isnan(Z).any():
        return Z.mean(axis=1) if how == "mean" else Z.max(axis=1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out = np.nanmean(Z, axis=1) if how == "mean" else np.nanmax(Z, axis=1)
    return np.where(np.isnan(out), 0.5, out)


def _entry(aps, auc, seconds=math.nan, n_rows=0) -> dict:
    rps = n_rows / seconds if seconds and seconds > 0 and math.isfinite(seconds) else math.nan
    return {"aps": aps, "auc": auc, "seconds": seconds, "rows_per_s": rps}


def _chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """Consecutive ``(start, stop)`` row ranges of at most ``size`` rows covering ``n`` rows."""
    size = max(1, int(size))
    return [(a, min(n, a + size)) for a in range(0, n, size)] or [(0, 0)]


def _stream(model, X: np.ndarray, size: int, advance=None, details: bool = False):
    """``model.score_learn_many`` over consecutive chunks of ``X``, timed.

    Returns ``(result, seconds)``: the scores (or, with ``details``, a tuple ``(scores, raw,
    normalized, weights)``) as one call over ``X`` would give them, and the wall time of the
    model calls alone (the progress callback ``advance(rows)`` between calls is not timed).
    """
    parts, seconds = [], 0.0
    for a, b in _chunk_bounds(X.shape[0], size):
        t0 = time.perf_counter()
        r = model.score_learn_many(X[a:b], return_details=details)
        seconds += time.perf_counter() - t0
        parts.append((r.scores, r.raw, r.normalized, r.weights) if details else r)
        if advance is not None:
            advance(b - a)
    if details:
        joined = tuple(p[0] if len(parts) == 1 else np.concatenate(p) for p in zip(*parts))
        return tuple(
            np.asarray(a, dtype=np.float64) if i == 0 else a for i, a in enumerate(joined)
        ), seconds
    return np.asarray(
        parts[0] if len(parts) == 1 else np.concatenate(parts), dtype=np.float64
    ), seconds


_WARM: set = set()


def _warm_up(factory, seed: int, plus: bool) -> None:
    """Run the pool, SEAD and SEAD++ once on a few random rows so that loading the numba cache
    (or compiling) is not counted in the first timed run of this process."""
    key = (repr(factory), plus)
    if key in _WARM:
        return
    X = np.random.default_rng(0).normal(size=(600, 3))
    kw = V.sead_params(V.SEAD_VARIANT)
    SEAD(factory(seed), seed=seed, **{**kw, "warmup": 50}).score_learn_many(X, return_details=True)
    if plus:
        kp = V.plus_params("pp-default")
        SEADPlusPlus(factory(seed), seed=seed, **{**kp, "warmup": 50}).score_learn_many(X)
    for ref in ("exact", "tdigest", "window", "frozen"):
        make_reference(ref, window=50, warmup=50).transform_update(X)
    _random_columns("warm-up", 0, X, 2)
    _WARM.add(key)


# ------------------------------------------------------------------------------------------
# one unit, step by step


@dataclass
class _Unit:
    """What the steps of one unit share: the stream, the pool, the record being built."""

    task: BenchTask
    seed: int
    config: BenchConfig
    X: np.ndarray
    y: np.ndarray
    names: list[str]
    dets: list
    out: dict
    progress: Callable[[int], None] | None = None
    sead_kw: dict = field(default_factory=lambda: V.sead_params(V.SEAD_VARIANT))
    saved: dict = field(default_factory=dict)
    phases: dict = field(default_factory=dict)
    t_phase: float = field(default_factory=time.perf_counter)

    @property
    def T(self) -> int:
        return int(self.X.shape[0])

    @property
    def K(self) -> int:
        return len(self.dets)

    @property
    def w(self) -> int:
        return int(self.config.warm_start)

    def phase(self, name: str) -> None:
        """Close the current phase: its wall time is added to ``phases[name]``."""
        now = time.perf_counter()
        self.phases[name] = self.phases.get(name, 0.0) + now - self.t_phase
        self.t_phase = now

    def advance(self, rows: int) -> None:
        """Report ``rows`` more rows of work done to the progress callback."""
        if self.progress is not None and rows > 0:
            self.progress(int(rows))

    def steps(self, n: int) -> Callable[[], None]:
        """A callable that, called ``n`` times, reports one pass (``T`` rows) in ``n`` parts."""
        state = {"i": 0}

        def step():
            i = state["i"] = state["i"] + 1
            self.advance(round(self.T * i / n) - round(self.T * (i - 1) / n))

        return step

    def evaluate(self, s) -> tuple[float, float]:
        """APS and ROC AUC of scores ``s`` on the points after the warm start."""
        return _metrics(self.y, s, self.w)


def _start_unit(task: BenchTask, seed: int, config: BenchConfig, progress) -> _Unit:
    """Warm the compiled kernels, load the stream, build the pool and the unit's record."""
    t_unit = time.perf_counter()
    factory = resolve_pool(config.pool)
    _warm_up(factory, seed, config.runs_plus())
    warm = time.perf_counter() - t_unit
    X, y = task.load(seed)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    T, w = X.shape[0], int(config.warm_start)
    if T <= w:
        raise ValueError(f"task {task.name!r} has {T} rows, not more than the warm start ({w})")
    named = _named(factory(seed))
    out: dict = {
        "task": task.name,
        "seed": int(seed),
        "n_rows": int(T),
        "n_features": int(X.shape[1]),
        "n_scored": int(T - w),
        "anomaly_rate": float(y[w:].mean()),
        "detector_names": list(named),
        "methods": {},
        "variants": {},
        "plus_variants": {},
    }
    u = _Unit(
        task,
        int(seed),
        config,
        X,
        y,
        list(named),
        list(named.values()),
        out,
        progress,
        phases={"warm_up": warm},
        t_phase=t_unit + warm,
    )
    u.phase("load")
    return u


def _weights_for_plot(W: np.ndarray, T: int, points: int) -> dict:
    """The mean weight in each of (at most) ``points`` consecutive bins of the stream."""
    starts = np.unique(np.linspace(0, T, min(T, points) + 1)[:-1].astype(np.int64))
    sums = np.add.reduceat(np.asarray(W), starts, axis=0)
    counts = np.diff(np.r_[starts, T])
    return {"t": starts + (counts - 1) / 2.0, "w": sums / counts[:, None]}


def _run_sead(u: _Unit, keep_weights: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """SEAD for real, with per-detector timers: records every base detector and SEAD.

    Returns ``(R, S, Z, seconds)``: raw matrix, SEAD's scores, its normalised matrix, its time.
    """
    model = SEAD([_Timed(d) for d in u.dets], seed=u.seed, **u.sead_kw)
    (S, R, Z, W), t_sead = _stream(model, u.X, u.config.chunk_rows, u.advance, details=True)
    base_seconds = [float(d.seconds_) for d in model.detectors_]
    u.out["sead_overhead_seconds"] = t_sead - sum(base_seconds)
    for k, name in enumerate(u.names):
        if u.config.wants(name, u.names):
            own = np.concatenate(model.detectors_[k].scores_)  # the detector alone, as it scores
            u.out["methods"][name] = _entry(*u.evaluate(own), base_seconds[k], u.T)
            u.saved[name] = own
    for d in model.detectors_:
        d.scores_ = []
    if u.config.wants("SEAD"):
        u.out["methods"]["SEAD"] = _entry(*u.evaluate(S), t_sead, u.T)
        u.saved["SEAD"] = S
    if keep_weights:
        u.out["weights"] = {**_weights_for_plot(W, u.T, u.config.weight_points), "names": u.names}
    u.out["final_weights"] = {n: float(v) for n, v in zip(u.names, model.weights_)}
    u.phase("sead")
    return np.ascontiguousarray(R), S, np.ascontiguousarray(Z), t_sead


def _seed_cache(u: _Unit, R: np.ndarray, S: np.ndarray, Z: np.ndarray) -> tuple[dict, np.ndarray]:
    """SEAD's own normalised scores seed the cache of normalised matrices, and the weights
    kernel run on them must reproduce the real run's output. Returns ``(cache, N)``."""
    key, ref = _reference_key(u.sead_kw)
    N = ref.fresh_sizes(R)
    S_chk, _ = weigh(Z, N, u.sead_kw, record=False)
    u.out["check_max_abs_diff"] = float(np.max(np.abs(S_chk - S)))
    return {key: (Z, N)}, N


def _run_mean_max(u: _Unit, Z: np.ndarray, t_sead: float) -> None:
    """Mean and max of the quantile-normalised scores, timed as SEAD's run plus the statistic."""
    for name in ("mean", "max"):
        if u.config.wants(name):
            t0 = time.perf_counter()
            s = _row_stat(Z, name)
            # the detectors, plus SEAD's own overhead (normalisation and weights), plus this
            secs = t_sead + (time.perf_counter() - t0)
            u.out["methods"][name] = _entry(*u.evaluate(s), secs, u.T)
            u.saved[name] = s
    u.phase("mean_max")


def _timed_plus(u: _Unit, kw: dict) -> tuple[np.ndarray, float]:
    """SEAD++ with keyword arguments ``kw`` on a fresh copy of the pool, for real, timed."""
    kw = dict(kw)
    if kw.get("n_sampled") is not None and kw["n_sampled"] > u.K:  # a small pool: sample all
        kw["n_sampled"] = u.K
    pp = SEADPlusPlus([d.clone() for d in u.dets], seed=u.seed, **kw)
    return _stream(pp, u.X, u.config.chunk_rows, u.advance)


def _run_sead_plus(u: _Unit) -> None:
    """The SEAD++ method (SEAD++'s defaults on top of SEAD's settings)."""
    if u.config.wants("SEAD++"):
        s, secs = _timed_plus(u, V.plus_params("pp-default"))
        u.out["methods"]["SEAD++"] = _entry(*u.evaluate(s), secs, u.T)
        u.saved["SEAD++"] = s
    u.phase("sead_plus")


def _random_curve(u: _Unit, Z, N, Zu, Nu, main: dict) -> dict:
    """SEAD's APS with each count of ``random_counts`` random detectors added.

    The random columns are nested: the first ``n_random`` are the experiment's (so that count
    reproduces it), further ones come from a second seeded draw.
    """
    counts = sorted({int(c) for c in u.config.random_counts if int(c) > 0})
    n_main = Zu.shape[1]
    extra = max(counts, default=0) - n_main
    if extra > 0:
        U2, _ = _random_columns(f"{u.task.name}/more", u.seed, u.X, extra)
        Z2, N2 = normalized(U2, u.sead_kw)
        Zu, Nu = np.hstack([Zu, Z2]), np.hstack([Nu, N2])
    curve = {}
    for n in counts:
        if n == n_main:
            curve[str(n)] = {k: main[k] for k in ("aps", "auc", "final_weight_random")}
            continue
        s, p_end = weigh(
            np.hstack([Z, Zu[:, :n]]), np.hstack([N, Nu[:, :n]]), u.sead_kw, record=False
        )
        aps, auc = u.evaluate(s)
        curve[str(n)] = {"aps": aps, "auc": auc, "final_weight_random": float(p_end[u.K :].sum())}
    return curve


def _run_random(u: _Unit, Z: np.ndarray, N: np.ndarray, cache_u: dict) -> np.ndarray | None:
    """The random-detector experiment and curve with SEAD's settings; returns the random
    columns (for the variants' ``random_aps``), or None when the experiment does not run."""
    if not u.config.runs_random():
        u.phase("random")
        return None
    step = u.steps(2)
    n_rand = u.K if u.config.n_random is None else int(u.config.n_random)
    U, source = _random_columns(u.task.name, u.seed, u.X, n_rand)
    Zu, Nu = normalized(U, u.sead_kw, cache_u)
    s, p_end = weigh(np.hstack([Z, Zu]), np.hstack([N, Nu]), u.sead_kw, record=False)
    aps, auc = u.evaluate(s)
    u.out["random"] = {
        "aps": aps,
        "auc": auc,
        "source": source,
        "n_random": n_rand,
        "final_weight_random": float(p_end[u.K :].sum()),
    }
    step()
    if u.config.random_counts:
        u.out["random_curve"] = _random_curve(u, Z, N, Zu, Nu, u.out["random"])
    step()
    u.phase("random")
    return U


def _variant_groups(names: Sequence[str], first_key: str) -> list[list[tuple[str, dict]]]:
    """The variants grouped by quantile reference, the group of ``first_key`` first."""
    groups: dict[str, list] = {}
    for v in names:
        params = V.sead_params(v)
        groups.setdefault(_reference_key(params)[0], []).append((v, params))
    return [groups[k] for k in sorted(groups, key=lambda k: k != first_key)]


def _run_variants(
    u: _Unit, R: np.ndarray, U: np.ndarray | None, cache: dict, cache_u: dict
) -> None:
    """Every SEAD variant on the cached raw matrix (and with the random columns ``U``).

    Each normalised matrix is computed once per reference group (for R and for U: references
    are per column) and dropped after its group.
    """
    groups = _variant_groups(u.config.variants, _reference_key(u.sead_kw)[0])
    step = u.steps(len(groups)) if groups else None
    y = u.y[u.w :]
    for group in groups:
        Zr, Nr = normalized(R, group[0][1], cache)
        aug = None
        if U is not None:
            Zu, Nu = normalized(U, group[0][1], cache_u)
            aug = (np.hstack([Zr, Zu]), np.hstack([Nr, Nu]))
        cache.clear()
        cache_u.clear()
        for v, params in group:
            s, _ = weigh(Zr, Nr, params, record=False)
            aps, auc = fast_evaluate(y, s[u.w :])
            entry = {"aps": aps, "auc": auc}
            if aug is not None:
                su, _ = weigh(*aug, params, record=False)
                entry["random_aps"] = fast_evaluate(y, su[u.w :])[0]
            u.out["variants"][v] = entry
        del Zr, Nr, aug
        step()
    u.phase("variants")


def _run_plus_variants(u: _Unit) -> None:
    """Every SEAD++ variant, for real, timed (an ``n_sampled`` above the pool size is capped)."""
    for v in u.config.plus_variants:
        s, secs = _timed_plus(u, V.plus_params(v))
        u.out["plus_variants"][v] = _entry(*u.evaluate(s), secs, u.T)
    u.phase("plus_variants")


def _run_pp_curve(u: _Unit) -> None:
    """SEAD++ at each ``n_sampled`` of ``config.pp_curve``, for real, timed; the point at
    SEAD++'s default sample size reuses the SEAD++ method's run when there is one."""
    if not u.config.pp_curve:
        return
    base = V.plus_params("pp-default")
    default_m = max(1, u.K // 2) if base.get("n_sampled") is None else int(base["n_sampled"])
    points = []
    for m in u.config.pp_curve:
        m = min(int(m), u.K)
        if m == default_m and "SEAD++" in u.out["methods"]:
            entry = dict(u.out["methods"]["SEAD++"])
            u.advance(u.T)
        else:
            s, secs = _timed_plus(u, {**base, "n_sampled": m})
            entry = _entry(*u.evaluate(s), secs, u.T)
        points.append({"n_sampled": m, **entry})
    u.out["pp_curve"] = points
    u.phase("pp_curve")


def _save_scores(u: _Unit) -> None:
    """Write ``<out_dir>/scores/<task>-seed<seed>.npz``: labels and scores after the warm start."""
    if u.config.save_scores and u.config.out_dir is not None:
        d = Path(u.config.out_dir) / "scores"
        d.mkdir(parents=True, exist_ok=True)
        arrays = {"y": u.y[u.w :]}
        arrays.update({k: _scored(v, u.w) for k, v in u.saved.items()})
        np.savez_compressed(d / f"{u.task.name}-seed{u.seed}.npz", **arrays)
    u.phase("save")


def run_unit(
    task: BenchTask,
    seed: int,
    config: BenchConfig,
    keep_weights: bool = False,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Run every method on one task and seed; see the module docstring.

    With ``config.save_scores`` the per-point scores are written to
    ``<out_dir>/scores/<task>-seed<seed>.npz``.

    Parameters
    ----------
    task
        The task.
    seed
        The seed of the stream and of the pool.
    config
        What to run.
    keep_weights
        Keep SEAD's weights over time (sampled) for the plots.
    progress
        Called as ``progress(rows)`` as the unit proceeds; the calls add up to
        :func:`unit_work`.

    Returns
    -------
    dict
        Plain values and small arrays: metrics and times of every method, the studies'
        numbers, and the weights when ``keep_weights``.
    """
    t_unit = time.perf_counter()
    u = _start_unit(task, seed, config, progress)
    R, S, Z, t_sead = _run_sead(u, keep_weights)
    cache, N = _seed_cache(u, R, S, Z)
    _run_mean_max(u, Z, t_sead)
    _run_sead_plus(u)
    cache_u: dict = {}
    U = _run_random(u, Z, N, cache_u)
    del S, Z, N
    _run_variants(u, R, U, cache, cache_u)
    _run_plus_variants(u)
    _run_pp_curve(u)
    _save_scores(u)
    u.out["phase_seconds"] = u.phases
    u.out["unit_seconds"] = time.perf_counter() - t_unit
    return u.out


# ------------------------------------------------------------------------------------------
# many units


def _unit_call(args):
    task, seed, config, keep = args[:4]
    queue, index = args[4:6] if len(args) > 4 else (None, None)
    progress = None if queue is None else functools.partial(_put_progress, queue, index)
    return run_unit(task, seed, config, keep, progress)


def _put_progress(queue, index, rows):
    queue.put((index, rows))


def _warm_main(config: BenchConfig, say: bool) -> None:
    """Load (or compile) the numba kernels in this process before the first timed run, saying
    so on stderr: on a cold cache compiling takes a while, once."""
    factory = resolve_pool(config.pool)
    seed = list(config.seeds)[0] if len(config.seeds) else 0
    if (repr(factory), config.runs_plus()) in _WARM:
        return
    if say:
        print(
            "sead-bench: loading the compiled (numba) kernels (first run only: compiling them "
            "takes about 10-30 s, then they are cached) ...",
            file=sys.stderr,
            flush=True,
        )
    t0 = time.perf_counter()
    _warm_up(factory, seed, config.runs_plus())
    if say:
        print(
            f"sead-bench: kernels ready in {time.perf_counter() - t0:.1f} s",
            file=sys.stderr,
            flush=True,
        )


class _Bar:
    """The progress bar (tqdm, on stderr): rows of work over all units, advanced inside a unit.

    Each unit counts its rows once per pass (:func:`unit_work`); when a unit ends the bar is
    topped up to the unit's planned share, so the total always matches.
    """

    def __init__(self, units: list, work: list[int], show: bool, rows: bool = True):
        self.units, self.work, self.rows = units, work, rows
        self.reported = [0] * len(units)
        self.n_done = 0
        self.bar = None
        if show:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=sum(work),
                unit=" bench-row" if rows else " unit",
                unit_scale=rows,
                dynamic_ncols=True,
                desc=f"sead-bench 0/{len(units)} units",
                smoothing=0.05,
            )

    def callback(self, i: int):
        """The progress callback of unit ``i`` (None when the bar counts whole units)."""
        return functools.partial(self.advance, i) if self.rows else None

    def advance(self, i: int, rows: int) -> None:
        """Unit ``i`` did ``rows`` more rows of work (never beyond its planned share)."""
        rows = max(0, min(int(rows), self.work[i] - self.reported[i]))
        self.reported[i] += rows
        if self.bar is not None and rows:
            self.bar.update(rows)

    def running(self, i: int) -> None:
        if self.bar is not None:
            u = self.units[i]
            self.bar.set_postfix_str(f"running {u[0].name} seed {u[1]}", refresh=True)

    def done(self, i: int, res: dict) -> None:
        self.advance(i, self.work[i])
        self.n_done += 1
        if self.bar is not None:
            self.bar.set_description(f"sead-bench {self.n_done}/{len(self.units)} units")
            self.bar.set_postfix_str(f"{res['task']} seed {res['seed']}", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _run_serial(units: list, bar: _Bar) -> dict[int, dict]:
    """Every unit in this process, in order."""
    results = {}
    for i, u in enumerate(units):
        bar.running(i)
        results[i] = run_unit(*u, progress=bar.callback(i))
        bar.done(i, results[i])
    return results


def _run_parallel(units: list, bar: _Bar, jobs: int, order: list[int]) -> dict[int, dict]:
    """The units in ``jobs`` spawned processes (largest first), progress through a queue."""
    import multiprocessing as mp
    import queue as _queue
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    ctx = mp.get_context("spawn")
    results = {}
    with ctx.Manager() as manager, ProcessPoolExecutor(max_workers=int(jobs), mp_context=ctx) as ex:
        q = manager.Queue()
        futs = {ex.submit(_unit_call, (*units[i], q if bar.rows else None, i)): i for i in order}
        pending = set(futs)

        def drain():
            while True:
                try:
                    bar.advance(*q.get_nowait())
                except _queue.Empty:
                    return

        while pending:
            finished, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            drain()
            for f in finished:
                results[futs[f]] = f.result()
                bar.done(futs[f], results[futs[f]])
    return results


def run(
    tasks: Sequence[BenchTask],
    config: BenchConfig,
    *,
    progress: bool = True,
    sizes: dict[str, int] | None = None,
) -> list[dict]:
    """Run every (task, seed) unit; SEAD's weights are kept for the first seed of each task.

    Parameters
    ----------
    tasks
        The tasks.
    config
        What to run; ``config.seeds`` gives the units of each task.
    progress
        Load the numba kernels first (saying so on stderr) and show a tqdm bar of the rows of
        work done (:func:`unit_work`).
    sizes
        Rows per task: weights the progress bar and orders the work largest first when
        ``config.jobs > 1`` (``None``: the bar counts whole units).

    Returns
    -------
    list of dict
        The unit results (:func:`run_unit`), in (task, seed) order.
    """
    seeds = list(config.seeds)
    units = [(t, s, config, i == 0) for t in tasks for i, s in enumerate(seeds)]
    sizes = sizes or {}
    # with the task sizes the bar counts rows of work as each unit proceeds, else whole units
    work = [unit_work(config, sizes[u[0].name]) if sizes else 1 for u in units]
    _warm_main(config, say=progress)
    bar = _Bar(units, work, show=progress, rows=bool(sizes))
    try:
        if config.jobs <= 1 or len(units) <= 1:
            results = _run_serial(units, bar)
        else:
            order = sorted(range(len(units)), key=lambda i: -work[i])
            results = _run_parallel(units, bar, config.jobs, order)
    finally:
        bar.close()
    return [results[i] for i in range(len(units))]
