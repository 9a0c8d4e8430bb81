"""Running the benchmark: one *unit* per task and seed, then the collected results.

What one unit (task, seed) does:

1. builds the stream (``task.load(seed)``: chunk-shuffled for ODDS, time order for the others)
   and the pool (``pool(seed)``);
2. runs **SEAD for real**, timed — ``SEAD(pool, **settings).score_learn_many(X,
   return_details=True)`` — and keeps its raw score matrix ``R`` (T × K; NaN where SEAD left
   a detector's warm-up placeholder scores out). Each base detector is wrapped in a timer that
   also keeps the detector's own prequential scores: those are the "each detector alone"
   methods (a detector's scores do not depend on the weights), timed inside that same run;
3. ``mean`` and ``max``: mean / max over SEAD's quantile-normalised matrix, timed as SEAD's
   run (the detectors, the normalisation and the weights) plus the mean / max;
4. runs **SEAD++ for real**, timed, on a fresh copy of the pool, in the same process;
5. every SEAD *variant* (:mod:`sead.bench.variants`) is evaluated on the cached ``R``: the
   normalised matrix is computed once per distinct quantile reference, then the weights kernel
   runs per variant — the same arithmetic as :func:`sead.combine_scores` (checked in the
   tests), and the weights kernel on the real run's normalised scores reproduces its output (checked in
   every unit: ``check_max_abs_diff``). Variants are scored with the one-sort
   :func:`~sead.bench.metrics.fast_evaluate`;
6. the **random-detector experiment**: as many uniform-random score columns as the pool has
   detectors (from :class:`sead.detectors.random.RandomDetector` when it exists, else numpy —
   the same thing for the combiner), appended to ``R`` and combined with the same settings;
7. metrics (APS, ROC AUC) on the points after the warm start (``warm_start`` = 100); a NaN
   score there (a detector still in its own warm-up) counts as below every real score.

Units are independent; :func:`run` executes them in order or in a process pool (``jobs``).
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..base import Detector
from ..ensemble import SEAD, SEADPlusPlus
from ..ensemble import weigh as ensemble_weigh
from ..normalization import make_reference
from . import variants as V
from .metrics import evaluate, fast_evaluate

__all__ = [
    "BenchTask",
    "BenchConfig",
    "dataset_task",
    "resolve_pool",
    "run_unit",
    "run",
    "combine_cached",
    "normalized",
    "weigh",
    "ALL_METHOD_GROUPS",
]

#: Method names besides the pool's detectors.
ENSEMBLE_METHODS = ("SEAD", "SEAD++", "mean", "max")
ALL_METHOD_GROUPS = ("base",) + ENSEMBLE_METHODS

PoolSpec = str | Callable[[int], list]


# ------------------------------------------------------------------------------------------
# tasks and pools


@dataclass(frozen=True)
class BenchTask:
    """A benchmark task: a name and ``load(seed) -> (X, y)`` giving the stream for a seed.

    ``load`` must be picklable for ``jobs > 1`` (a module-level function or a
    ``functools.partial`` of one).
    """

    name: str
    load: Callable[[int], tuple[np.ndarray, np.ndarray]] = field(repr=False)
    description: str = ""
    stream: str = ""


def _load_dataset(name: str, seed: int, data_dir=None):
    from ..datasets import load_task

    return load_task(name, seed=seed, data_dir=data_dir)


def dataset_task(name: str, data_dir=None) -> BenchTask:
    """The :class:`BenchTask` of a task of :data:`sead.datasets.TASKS`."""
    from ..datasets import TASKS

    info = TASKS[name]
    load = functools.partial(_load_with_seed, name=name, data_dir=None if data_dir is None else str(data_dir))
    return BenchTask(name, load, info.description, info.stream_kind)


def _load_with_seed(seed, *, name, data_dir):
    return _load_dataset(name, seed, data_dir)


def resolve_pool(pool: PoolSpec) -> Callable[[int], list]:
    """A pool factory ``seed -> list of detectors`` from a name of :mod:`sead.pools` or a callable."""
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
    """What to run. ``methods=None`` means every method; see :data:`ALL_METHOD_GROUPS`."""

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

    def wants(self, method: str, base_names: Sequence[str] = ()) -> bool:
        if self.methods is None:
            return True
        if method in self.methods:
            return True
        return method in base_names and "base" in self.methods


# ------------------------------------------------------------------------------------------
# timing wrapper


class _Timed(Detector):
    """Wraps a detector for the benchmark: adds the wall time of its calls to ``seconds_`` and
    keeps its own prequential scores (``scores_``, before any ensemble masks placeholders)."""

    def __init__(self, detector: Detector):
        self.detector = detector

    def _init_state(self, n_features):
        self.inner_ = self.detector.clone()
        self.seconds_ = 0.0
        self.scores_ = []

    def _warmup_points(self) -> int:
        return self.detector._warmup_points()

    def _prepare(self, schema):
        first = not self._fitted
        super()._prepare(schema)
        if first:
            self.inner_._prepare(schema)

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


def normalized(R: np.ndarray, params: dict, cache: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The prequential quantile matrix of ``R`` under ``params``' reference and the reference
    sizes behind it, ``(Z, N)``, cached by reference."""
    key, ref = _reference_key(params)
    if cache is not None and key in cache:
        return cache[key]
    ZN = ref.transform_update(R, return_sizes=True)
    if cache is not None:
        cache[key] = ZN
    return ZN


def weigh(Z: np.ndarray, N: np.ndarray, params: dict, record: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sead.ensemble.weigh` with a variant's keyword arguments: ``(scores, weights)``.

    With ``record=False`` the per-step weights are not kept: ``weights`` is then the final
    weight vector ``(K,)`` instead of the ``(T, K)`` history.
    """
    keys = ("eta", "lam", "prior", "warmup", "loss", "output")
    return ensemble_weigh(Z, N, record=record, **{k: params[k] for k in keys if k in params})


def combine_cached(R: np.ndarray, params: dict, cache: dict | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
# one unit


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


def run_unit(task: BenchTask, seed: int, config: BenchConfig, keep_weights: bool = False) -> dict:
    """Run every method on one task and seed; see the module docstring.

    Returns a dict of plain values and small arrays (weights for the plots when
    ``keep_weights``); with ``config.save_scores`` the per-point scores are written to
    ``<out_dir>/scores/<task>-seed<seed>.npz``.
    """
    t_unit = time.perf_counter()
    phases: dict[str, float] = {}
    factory = resolve_pool(config.pool)
    _warm_up(factory, seed, config.wants("SEAD++") or bool(config.plus_variants))
    phases["warm_up"] = time.perf_counter() - t_unit
    t_phase = time.perf_counter()
    X, y = task.load(seed)
    X = np.ascontiguousarray(X, dtype=np.float64)
    y = np.asarray(y).astype(np.int64)
    T = X.shape[0]
    w = int(config.warm_start)
    if T <= w:
        raise ValueError(f"task {task.name!r} has {T} rows, not more than the warm start ({w})")
    named = _named(factory(seed))
    names = list(named)
    dets = list(named.values())
    K = len(dets)
    sead_kw = V.sead_params(V.SEAD_VARIANT)
    out: dict = {
        "task": task.name,
        "seed": int(seed),
        "n_rows": int(T),
        "n_features": int(X.shape[1]),
        "n_scored": int(T - w),
        "anomaly_rate": float(y[w:].mean()),
        "detector_names": names,
        "methods": {},
        "variants": {},
        "plus_variants": {},
    }
    saved: dict[str, np.ndarray] = {}

    def phase(name):
        nonlocal t_phase
        now = time.perf_counter()
        phases[name] = phases.get(name, 0.0) + now - t_phase
        t_phase = now

    phase("load")

    # --- SEAD, for real, with per-detector timers ------------------------------------------
    model = SEAD([_Timed(d) for d in dets], seed=seed, **sead_kw)
    t0 = time.perf_counter()
    res = model.score_learn_many(X, return_details=True)
    t_sead = time.perf_counter() - t0
    R = np.ascontiguousarray(res.raw)  # NaN where SEAD left a detector's placeholder out
    S_sead = np.asarray(res.scores, dtype=np.float64)
    base_seconds = [float(d.seconds_) for d in model.detectors_]
    out["sead_overhead_seconds"] = t_sead - sum(base_seconds)
    for k, name in enumerate(names):
        if config.wants(name, names):
            own = np.concatenate(model.detectors_[k].scores_)  # the detector alone, as it scores
            out["methods"][name] = _entry(*_metrics(y, own, w), base_seconds[k], T)
            saved[name] = own
    for d in model.detectors_:
        d.scores_ = []
    if config.wants("SEAD"):
        out["methods"]["SEAD"] = _entry(*_metrics(y, S_sead, w), t_sead, T)
        saved["SEAD"] = S_sead
    if keep_weights:
        # mean weight in each of (at most) weight_points consecutive bins of the stream
        starts = np.unique(np.linspace(0, T, min(T, config.weight_points) + 1)[:-1].astype(np.int64))
        W = np.add.reduceat(np.asarray(res.weights), starts, axis=0)
        counts = np.diff(np.r_[starts, T])
        out["weights"] = {"t": starts + (counts - 1) / 2.0, "w": W / counts[:, None], "names": names}
    out["final_weights"] = {n: float(v) for n, v in zip(names, model.weights_)}
    phase("sead")

    # --- the cached matrix: SEAD's own normalised scores seed the cache, and the weights
    # kernel run on them must reproduce the real run's output --------------------------------
    key, ref = _reference_key(sead_kw)
    Z = np.ascontiguousarray(res.normalized)
    N = ref.fresh_sizes(res.raw)
    cache: dict = {key: (Z, N)}
    cache_u: dict = {}
    S_chk, _ = weigh(Z, N, sead_kw, record=False)
    out["check_max_abs_diff"] = float(np.max(np.abs(S_chk - S_sead)))
    del res

    # --- mean and max of quantile-normalised scores ----------------------------------------
    for name in ("mean", "max"):
        if config.wants(name):
            t0 = time.perf_counter()
            s = _row_stat(Z, name)
            # the detectors, plus SEAD's own overhead (normalisation and weights), plus this
            secs = t_sead + (time.perf_counter() - t0)
            out["methods"][name] = _entry(*_metrics(y, s, w), secs, T)
            saved[name] = s
    phase("mean_max")

    # --- SEAD++, for real, same settings --------------------------------------------------
    if config.wants("SEAD++"):
        kw = V.plus_params("pp-default")
        pp = SEADPlusPlus([d.clone() for d in dets], seed=seed, **kw)
        t0 = time.perf_counter()
        s = np.asarray(pp.score_learn_many(X), dtype=np.float64)
        secs = time.perf_counter() - t0
        out["methods"]["SEAD++"] = _entry(*_metrics(y, s, w), secs, T)
        saved["SEAD++"] = s
    phase("sead_plus")

    # --- random-detector experiment (SEAD's settings) and the SEAD variants ----------------
    # the variants are grouped by quantile reference so each normalised matrix is computed
    # once (for R and for the random columns U: references are per column) and then dropped
    n_rand = K if config.n_random is None else int(config.n_random)
    U = None
    if config.wants("SEAD") and n_rand > 0:
        U, source = _random_columns(task.name, seed, X, n_rand)
        Zu, Nu = normalized(U, sead_kw, cache_u)
        s, p_end = weigh(np.hstack([Z, Zu]), np.hstack([N, Nu]), sead_kw, record=False)
        aps, auc = _metrics(y, s, w)
        out["random"] = {"aps": aps, "auc": auc, "source": source, "n_random": n_rand,
                         "final_weight_random": float(p_end[K:].sum())}
    phase("random")
    groups: dict[str, list] = {}
    for v in config.variants:
        params = V.sead_params(v)
        groups.setdefault(_reference_key(params)[0], []).append((v, params))
    first = _reference_key(sead_kw)[0]  # its matrices are already cached: do that group first
    for key in sorted(groups, key=lambda k: k != first):
        Zr, Nr = normalized(R, groups[key][0][1], cache)
        aug = None
        if U is not None:
            Zu, Nu = normalized(U, groups[key][0][1], cache_u)
            aug = (np.hstack([Zr, Zu]), np.hstack([Nr, Nu]))
        cache.clear()
        cache_u.clear()
        for v, params in groups[key]:
            s, _ = weigh(Zr, Nr, params, record=False)
            aps, auc = fast_evaluate(y[w:], s[w:])
            entry = {"aps": aps, "auc": auc}
            if aug is not None:
                su, _ = weigh(*aug, params, record=False)
                entry["random_aps"] = fast_evaluate(y[w:], su[w:])[0]
            out["variants"][v] = entry
        del Zr, Nr, aug
    phase("variants")

    for v in config.plus_variants:
        kw = V.plus_params(v)
        if kw.get("n_sampled") is not None and kw["n_sampled"] > K:  # a small pool: sample all
            kw["n_sampled"] = K
        pp = SEADPlusPlus([d.clone() for d in dets], seed=seed, **kw)
        t0 = time.perf_counter()
        s = np.asarray(pp.score_learn_many(X), dtype=np.float64)
        secs = time.perf_counter() - t0
        out["plus_variants"][v] = _entry(*_metrics(y, s, w), secs, T)
    phase("plus_variants")

    if config.save_scores and config.out_dir is not None:
        d = Path(config.out_dir) / "scores"
        d.mkdir(parents=True, exist_ok=True)
        arrays = {"y": y[w:]}
        arrays.update({k: _scored(v, w) for k, v in saved.items()})
        np.savez_compressed(d / f"{task.name}-seed{seed}.npz", **arrays)
    phase("save")
    out["phase_seconds"] = phases
    out["unit_seconds"] = time.perf_counter() - t_unit
    return out


# ------------------------------------------------------------------------------------------
# many units


def _unit_call(args):
    task, seed, config, keep = args
    return run_unit(task, seed, config, keep)


def run(
    tasks: Sequence[BenchTask],
    config: BenchConfig,
    *,
    progress: bool = True,
    sizes: dict[str, int] | None = None,
) -> list[dict]:
    """Run every (task, seed) unit; returns the unit results in (task, seed) order.

    ``sizes`` (rows per task) weights the progress bar and orders the work largest first
    when ``config.jobs > 1``; SEAD's weights are kept for the first seed of each task.
    """
    seeds = list(config.seeds)
    units = [(t, s, config, i == 0) for t in tasks for i, s in enumerate(seeds)]
    sizes = sizes or {}
    weight = {id(u): max(1, sizes.get(u[0].name, 1)) for u in units}
    total = sum(weight.values())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        scale = bool(sizes)
        bar = tqdm(total=total, unit="row" if scale else "unit", unit_scale=scale, dynamic_ncols=True,
                   desc=f"sead-bench 0/{len(units)} units", smoothing=0.05)
    results: dict[int, dict] = {}

    def done(i, res):
        results[i] = res
        if bar is not None:
            bar.update(weight[id(units[i])])
            bar.set_description(f"sead-bench {len(results)}/{len(units)} units")
            bar.set_postfix_str(f"{res['task']} seed {res['seed']}", refresh=True)

    try:
        if config.jobs <= 1 or len(units) <= 1:
            for i, u in enumerate(units):
                if bar is not None:
                    bar.set_postfix_str(f"running {u[0].name} seed {u[1]}", refresh=True)
                done(i, _unit_call(u))
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor, as_completed

            order = sorted(range(len(units)), key=lambda i: -weight[id(units[i])])
            ctx = mp.get_context("spawn")
            with ProcessPoolExecutor(max_workers=int(config.jobs), mp_context=ctx) as ex:
                futs = {ex.submit(_unit_call, units[i]): i for i in order}
                for f in as_completed(futs):
                    done(futs[f], f.result())
    finally:
        if bar is not None:
            bar.close()
    return [results[i] for i in range(len(units))]
