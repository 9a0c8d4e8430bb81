"""Collecting unit results into ``results.json`` and printing ``results.md``.

``results.json`` (the format others build on)::

    {"tasks": {TASK: {METHOD: {"aps": [one per seed], "auc": [...], "seconds": [...],
                               "rows_per_s": [...]}}},
     "ranks": {METHOD: {"mean": ..., "var": ..., "var_sample": ..., "n_tasks": ...,
                        "ranks": [...]}},
     ...}

``ranks`` compares the pool's detectors and ``SEAD`` (the paper's 14 methods); ``ranks_all``
adds ``SEAD++``, ``mean`` and ``max``. ``var`` is the population variance of the ranks over
the tasks (ddof=0), ``var_sample`` the sample variance (ddof=1). Further keys: ``schema``,
``command``, ``date``, ``machine``, ``versions``, ``config``, ``seeds``, ``methods``,
``task_info``, ``rank_tables``, ``variants``, ``plus_variants``, ``random_detectors``,
``sead_vs_plus``, ``final_weights``, ``profile_seconds`` (wall time per task and phase, summed
over seeds), ``checks``; and the accuracy sections ``oracle`` (the best single detector of
each task in hindsight), ``sead_vs_mean``, ``sead_vs_best_fixed`` (the detector with the best
mean APS over the tasks), ``random_curve`` (SEAD with 13, 26, 52 random detectors added),
``pp_curve`` (SEAD++'s accuracy and speed-up at each ``n_sampled``, with ``--pp-curve``),
``seed_groups`` (the variant table on selection and confirmation seeds), ``throughput``
(measured rows/s per method) and ``spreads`` (whether rank variances and spreads over seeds
are defined: not with one task / one seed).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import variants as V
from .metrics import mean_std, rank_summary, rank_table

__all__ = [
    "collect",
    "write_json",
    "write_markdown",
    "environment",
    "default_confirm_seeds",
    "SCHEMA",
]

SCHEMA = "sead-bench/1"
STAND_IN_NOTE = (
    "electricity (USP Elec2) and the three NAB series stand in for the paper's three INSECTS "
    "streams and its internal telemetry set, which are not available; tasks and numbers are "
    "therefore not one-to-one with the paper's."
)
#: What the tables print where a spread is not defined.
NA_TASK = "n/a (one task)"
NA_SEED = "n/a (one seed)"


def environment() -> dict:
    """Machine and package versions, for the record."""
    import importlib.metadata as md

    versions = {"python": platform.python_version()}
    for pkg in ("sead", "numpy", "numba", "scikit-learn", "scipy", "river", "matplotlib"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    machine = {"platform": platform.platform(), "cpu": cpu, "cpu_count": os.cpu_count()}
    return {"machine": machine, "versions": versions}


def _finite(x):
    """JSON-safe float: NaN/inf -> None."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _clean(obj):
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _clean(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return _finite(obj)
    if obj is None or isinstance(obj, str):
        return obj
    return repr(obj)  # a parameter object (a QuantileReference instance ...): its repr


def _nan(v):
    return math.nan if v is None else float(v)


def _mean_over_tasks(per_task: dict[str, list]) -> float:
    vals = [mean_std(v)[0] for v in per_task.values()]
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def _rel(new: float, old: float) -> float:
    """Relative change ``(new - old) / old`` (NaN when ``old`` is 0 or NaN)."""
    return (new - old) / old if old else math.nan


def default_confirm_seeds(seeds) -> list[int]:
    """The confirmation seed group used when none is given.

    Parameters
    ----------
    seeds
        The seeds of the run, in order.

    Returns
    -------
    list of int
        The last two fifths of the seeds (seeds 3 and 4 of 0-4), or none with fewer than 4
        seeds.

    Examples
    --------
    >>> default_confirm_seeds([0, 1, 2, 3, 4]), default_confirm_seeds([0, 1, 2])
    ([3, 4], [])
    """
    seeds = list(seeds)
    return seeds[len(seeds) - round(0.4 * len(seeds)) :] if len(seeds) >= 4 else []


# ------------------------------------------------------------------------------------------
# collecting the units


@dataclass
class _Collected:
    """Unit results gathered per task (lists hold one value per seed, in the units' order)."""

    tasks: dict = field(default_factory=dict)
    task_info: dict = field(default_factory=dict)
    task_seeds: dict = field(default_factory=dict)
    names_by_task: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)
    plus: dict = field(default_factory=dict)
    rand: dict = field(default_factory=dict)
    random_curve: dict = field(default_factory=dict)
    pp_curve: dict = field(default_factory=dict)
    final_weights: dict = field(default_factory=dict)
    checks: dict = field(default_factory=dict)
    profile: dict = field(default_factory=dict)
    random_source: str | None = None
    n_random: int | None = None


def _append(target: dict, entry: dict, keys) -> None:
    for k in keys:
        target.setdefault(k, []).append(entry.get(k, math.nan))


_TIMED_KEYS = ("aps", "auc", "seconds", "rows_per_s")


def _add_methods(acc: _Collected, t: str, u: dict) -> None:
    """The methods, SEAD variants and SEAD++ variants of one unit."""
    for m, e in u["methods"].items():
        _append(
            acc.tasks.setdefault(t, {}).setdefault(m, {k: [] for k in _TIMED_KEYS}), e, _TIMED_KEYS
        )
    for v, e in u["variants"].items():
        _append(
            acc.variants.setdefault(v, {}).setdefault(t, {"aps": [], "auc": [], "random_aps": []}),
            e,
            ("aps", "auc", "random_aps"),
        )
    for v, e in u["plus_variants"].items():
        _append(
            acc.plus.setdefault(v, {}).setdefault(t, {k: [] for k in _TIMED_KEYS}), e, _TIMED_KEYS
        )
    for p in u.get("pp_curve", []):
        _append(
            acc.pp_curve.setdefault(int(p["n_sampled"]), {}).setdefault(
                t, {k: [] for k in _TIMED_KEYS}
            ),
            p,
            _TIMED_KEYS,
        )


def _add_random(acc: _Collected, t: str, u: dict) -> None:
    """The random-detector experiment and curve of one unit."""
    if "random" in u:
        r = acc.rand.setdefault(t, {"aps": [], "auc": [], "final_weight_random": []})
        _append(r, u["random"], ("aps", "auc", "final_weight_random"))
        acc.random_source = u["random"]["source"]
        acc.n_random = u["random"]["n_random"]
    for n, e in u.get("random_curve", {}).items():
        _append(
            acc.random_curve.setdefault(int(n), {}).setdefault(t, {}),
            e,
            ("aps", "auc", "final_weight_random"),
        )


def _add_bookkeeping(acc: _Collected, t: str, u: dict) -> None:
    """Task sizes, seeds, final weights, checks and the phase profile of one unit."""
    acc.names_by_task.setdefault(t, u["detector_names"])
    acc.task_seeds.setdefault(t, []).append(u["seed"])
    info = acc.task_info.setdefault(
        t,
        {
            "n_rows": u["n_rows"],
            "n_features": u["n_features"],
            "n_scored": u["n_scored"],
            "anomaly_rate": [],
        },
    )
    info["anomaly_rate"].append(u["anomaly_rate"])
    if "weights" in u or t not in acc.final_weights:
        acc.final_weights[t] = u["final_weights"]
    acc.checks[f"{t}-seed{u['seed']}"] = u["check_max_abs_diff"]
    prof = acc.profile.setdefault(t, {})
    for k, v in u.get("phase_seconds", {}).items():
        prof[k] = prof.get(k, 0.0) + v
    prof["unit"] = prof.get("unit", 0.0) + u.get("unit_seconds", 0.0)


def _accumulate(units: list[dict]) -> _Collected:
    """Gather the units' results per task."""
    acc = _Collected()
    for u in units:
        t = u["task"]
        _add_bookkeeping(acc, t, u)
        _add_methods(acc, t, u)
        _add_random(acc, t, u)
    for info in acc.task_info.values():
        info["anomaly_rate"] = float(np.mean(info["anomaly_rate"]))
    return acc


# ------------------------------------------------------------------------------------------
# the sections of results.json


@dataclass
class _Ranks:
    base: list
    main: list
    every: list
    table_main: dict
    table_all: dict
    ranks: dict
    ranks_all: dict


def _aps_table(tasks: dict) -> dict:
    """``{task: {method: [APS per seed]}}``."""
    return {t: {m: d["aps"] for m, d in per.items()} for t, per in tasks.items()}


def _rank_sets(tasks: dict, names_by_task: dict) -> _Ranks:
    """The main ranking (pool + SEAD) and the one with SEAD++, mean and max added."""
    first = next(iter(names_by_task.values()), [])
    base = [m for m in first if all(m in tasks[t] for t in tasks)]
    aps = _aps_table(tasks)
    main = base + (["SEAD"] if all("SEAD" in tasks[t] for t in tasks) and tasks else [])
    extra = [m for m in ("SEAD++", "mean", "max") if tasks and all(m in tasks[t] for t in tasks)]
    every = main + extra
    table_main = rank_table(aps, main)
    table_all = rank_table(aps, every)
    return _Ranks(
        base,
        main,
        every,
        table_main,
        table_all,
        rank_summary(table_main, main),
        rank_summary(table_all, every),
    )


def _variant_rank(aps: dict, base: list, v: str, per_task: dict) -> dict:
    """A variant's average rank and rank variance when it takes SEAD's place among ``base``."""
    sub = {t: {**{m: aps[t][m] for m in base}, v: per_task[t]["aps"]} for t in per_task}
    summ = rank_summary(rank_table(sub, base + [v]), base + [v])[v]
    return {"mean": summ["mean"], "var": summ["var"], "n_tasks": summ["n_tasks"]}


def _variants_out(variants: dict, aps: dict, base: list) -> dict:
    """Each SEAD variant: settings, per-task APS, rank among the pool, mean APS, random change."""
    out = {}
    for v, per_task in variants.items():
        mean_aps = _mean_over_tasks({t: d["aps"] for t, d in per_task.items()})
        mean_rand = _mean_over_tasks({t: d["random_aps"] for t, d in per_task.items()})
        params = V.sead_params(v)
        out[v] = {
            "params": params,
            "settings": V.describe(params),
            "tasks": per_task,
            "rank": _variant_rank(aps, base, v, per_task),
            "mean_aps": mean_aps,
            "random_mean_aps": mean_rand,
            "random_rel_change": (mean_rand - mean_aps) / mean_aps if mean_aps else math.nan,
        }
    return out


def _plus_variants_out(plus: dict, tasks: dict) -> dict:
    out = {}
    for v, per_task in plus.items():
        params = V.plus_params(v)
        out[v] = {
            "params": params,
            "settings": V.describe(params),
            "tasks": per_task,
            **_plus_summary(tasks, per_task),
        }
    return out


def _random_out(acc: _Collected) -> dict | None:
    """The random-detector experiment: SEAD's APS with and without the random detectors."""
    if not acc.rand:
        return None
    tasks = acc.tasks
    per = {}
    for t, r in acc.rand.items():
        s_mean = mean_std(tasks[t]["SEAD"]["aps"])[0]
        r_mean = mean_std(r["aps"])[0]
        per[t] = {
            "aps": r["aps"],
            "auc": r["auc"],
            "sead_aps": tasks[t]["SEAD"]["aps"],
            "rel_change": (r_mean - s_mean) / s_mean if s_mean else math.nan,
            "final_weight_random": r["final_weight_random"],
        }
    sead_mean = _mean_over_tasks({t: tasks[t]["SEAD"]["aps"] for t in acc.rand})
    rand_mean = _mean_over_tasks({t: r["aps"] for t, r in acc.rand.items()})
    rels = [p["rel_change"] for p in per.values() if math.isfinite(p["rel_change"])]
    return {
        "settings": V.SEAD_VARIANT,
        "source": acc.random_source,
        "n_random": acc.n_random,
        "tasks": per,
        "sead_mean_aps": sead_mean,
        "random_mean_aps": rand_mean,
        "rel_change_of_mean_aps": (rand_mean - sead_mean) / sead_mean if sead_mean else math.nan,
        "mean_rel_change": float(np.mean(rels)) if rels else math.nan,
    }


def _plus_summary(tasks: dict, per_task: dict) -> dict:
    """SEAD++ (or a variant) against SEAD: speed-up and APS change, per task and overall."""
    per = {}
    t_sead = t_plus = 0.0
    for t, d in per_task.items():
        s = tasks[t]["SEAD"]
        ss = float(np.nansum(s["seconds"]))
        ps = float(np.nansum(d["seconds"]))
        t_sead += ss
        t_plus += ps
        sa, pa = mean_std(s["aps"])[0], mean_std(d["aps"])[0]
        per[t] = {
            "sead_rows_per_s": mean_std(s["rows_per_s"])[0],
            "plus_rows_per_s": mean_std(d["rows_per_s"])[0],
            "speedup": ss / ps if ps > 0 else math.nan,
            "sead_aps": sa,
            "plus_aps": pa,
            "aps_rel_change": (pa - sa) / sa if sa else math.nan,
        }
    sead_mean = _mean_over_tasks({t: tasks[t]["SEAD"]["aps"] for t in per_task})
    plus_mean = _mean_over_tasks({t: d["aps"] for t, d in per_task.items()})
    speedups = [p["speedup"] for p in per.values() if math.isfinite(p["speedup"])]
    return {
        "per_task": per,
        "speedup_total_time": t_sead / t_plus if t_plus > 0 else math.nan,
        "speedup_geomean": float(np.exp(np.mean(np.log(speedups)))) if speedups else math.nan,
        "sead_mean_aps": sead_mean,
        "plus_mean_aps": plus_mean,
        "aps_rel_change": (plus_mean - sead_mean) / sead_mean if sead_mean else math.nan,
    }


def _sead_vs_plus(tasks: dict) -> dict | None:
    if tasks and all("SEAD" in tasks[t] and "SEAD++" in tasks[t] for t in tasks):
        return _plus_summary(tasks, {t: tasks[t]["SEAD++"] for t in tasks})
    return None


# --- the accuracy sections ------------------------------------------------------------------


def _task_means(tasks: dict, method: str) -> dict[str, float]:
    """Mean APS over seeds per task of one method (tasks where it ran)."""
    return {t: mean_std(per[method]["aps"])[0] for t, per in tasks.items() if method in per}


def _margins(sead: dict[str, float], other: dict[str, float]) -> dict:
    """SEAD against another method, task by task: the margin ``SEAD − other`` and a tally."""
    per = {
        t: {"sead_aps": sead[t], "other_aps": other[t], "margin": sead[t] - other[t]}
        for t in sead
        if t in other and math.isfinite(sead[t]) and math.isfinite(other[t])
    }
    margins = [p["margin"] for p in per.values()]
    sead_mean = float(np.mean([p["sead_aps"] for p in per.values()])) if per else math.nan
    other_mean = float(np.mean([p["other_aps"] for p in per.values()])) if per else math.nan
    return {
        "per_task": per,
        "wins": sum(m > 0 for m in margins),
        "losses": sum(m < 0 for m in margins),
        "ties": sum(m == 0 for m in margins),
        "mean_margin": float(np.mean(margins)) if margins else math.nan,
        "sead_mean_aps": sead_mean,
        "other_mean_aps": other_mean,
        "rel_change": _rel(sead_mean, other_mean),
    }


def _best_detector(per: dict, base: list) -> tuple[str, float] | None:
    """The base detector with the best mean APS over seeds on one task, and that APS."""
    means = {m: mean_std(per[m]["aps"])[0] for m in base if m in per}
    means = {m: v for m, v in means.items() if math.isfinite(v)}
    if not means:
        return None
    best = max(means, key=means.get)
    return best, means[best]


def _finite_mean(values) -> float:
    vals = [v for v in values if math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def _oracle(tasks: dict, base: list) -> dict | None:
    """Per task, the best single base detector in hindsight (by mean APS over seeds), and
    SEAD's fraction of its APS, per task and on average."""
    if not base or not all("SEAD" in per for per in tasks.values()):
        return None
    sead = _task_means(tasks, "SEAD")
    per = {}
    for t, p in tasks.items():
        best = _best_detector(p, base)
        if best is None or not math.isfinite(sead[t]):
            continue
        name, aps = best
        per[t] = {
            "detector": name,
            "aps": aps,
            "sead_aps": sead[t],
            "sead_fraction": sead[t] / aps if aps > 0 else math.nan,
        }
    oracle_mean = _finite_mean([p["aps"] for p in per.values()])
    sead_mean = _finite_mean([p["sead_aps"] for p in per.values()])
    return {
        "per_task": per,
        "mean_fraction": _finite_mean([p["sead_fraction"] for p in per.values()]),
        "oracle_mean_aps": oracle_mean,
        "sead_mean_aps": sead_mean,
        "fraction_of_mean_aps": sead_mean / oracle_mean if oracle_mean > 0 else math.nan,
    }


def _sead_vs_mean(tasks: dict) -> dict | None:
    """SEAD against the mean of the quantile-normalised scores, per task, with the margin."""
    if not tasks or not all("SEAD" in per and "mean" in per for per in tasks.values()):
        return None
    return _margins(_task_means(tasks, "SEAD"), _task_means(tasks, "mean"))


def _sead_vs_best_fixed(tasks: dict, base: list) -> dict | None:
    """SEAD against the one base detector with the best mean APS over all tasks."""
    if not base or not tasks or not all("SEAD" in per for per in tasks.values()):
        return None
    overall = {m: _mean_over_tasks({t: per[m]["aps"] for t, per in tasks.items()}) for m in base}
    overall = {m: v for m, v in overall.items() if math.isfinite(v)}
    if not overall:
        return None
    best = max(overall, key=overall.get)
    return {"detector": best, **_margins(_task_means(tasks, "SEAD"), _task_means(tasks, best))}


def _random_point(n: int, cur: dict, sead: dict, sead_mean: float, per_task: dict) -> dict:
    """One point of the random-detector curve (``cur``: per task, the results with ``n``
    random detectors); fills ``per_task[t][str(n)]``."""
    rels = []
    for t, e in cur.items():
        rel = _rel(mean_std(e["aps"])[0], mean_std(sead[t])[0])
        per_task[t][str(n)] = {
            "aps": e["aps"],
            "rel_change": rel,
            "final_weight_random": e["final_weight_random"],
        }
        rels.append(rel)
    mean_aps = _mean_over_tasks({t: e["aps"] for t, e in cur.items()})
    weight = [w for e in cur.values() for w in e["final_weight_random"]]
    return {
        "n_random": n,
        "mean_aps": mean_aps,
        "rel_change_of_mean_aps": _rel(mean_aps, sead_mean),
        "mean_rel_change": _finite_mean(rels),
        "final_weight_random": mean_std(weight)[0],
    }


def _random_curve_out(acc: _Collected) -> dict | None:
    """SEAD's APS with 0 (SEAD alone) and each count of random detectors added."""
    if not acc.random_curve:
        return None
    counts = sorted(acc.random_curve)
    tasks = [
        t
        for t in acc.tasks
        if all(t in acc.random_curve[n] for n in counts) and "SEAD" in acc.tasks[t]
    ]
    sead = {t: acc.tasks[t]["SEAD"]["aps"] for t in tasks}
    sead_mean = _mean_over_tasks(sead)
    per_task = {
        t: {"0": {"aps": sead[t], "rel_change": 0.0, "final_weight_random": [0.0] * len(sead[t])}}
        for t in tasks
    }
    points = [
        {
            "n_random": 0,
            "mean_aps": sead_mean,
            "rel_change_of_mean_aps": 0.0,
            "mean_rel_change": 0.0,
            "final_weight_random": 0.0,
        }
    ]
    for n in counts:
        points.append(
            _random_point(n, {t: acc.random_curve[n][t] for t in tasks}, sead, sead_mean, per_task)
        )
    return {
        "settings": V.SEAD_VARIANT,
        "source": acc.random_source,
        "n_random_experiment": acc.n_random,
        "counts": [p["n_random"] for p in points],
        "points": points,
        "tasks": per_task,
    }


def _pp_curve_out(acc: _Collected, pool_size: int) -> dict | None:
    """SEAD++ at each ``n_sampled`` against SEAD of the same run: APS change and speed-up."""
    if not acc.pp_curve or not all("SEAD" in per for per in acc.tasks.values()):
        return None
    points = []
    for m in sorted(acc.pp_curve):
        per_task = acc.pp_curve[m]
        summ = _plus_summary(acc.tasks, per_task)
        rows = sum(acc.task_info[t]["n_rows"] * len(d["seconds"]) for t, d in per_task.items())
        secs = float(np.nansum([s for d in per_task.values() for s in d["seconds"]]))
        points.append(
            {
                "n_sampled": m,
                "fraction_of_pool": m / pool_size if pool_size else math.nan,
                "rows_per_s": rows / secs if secs > 0 else math.nan,
                "tasks": per_task,
                **summ,
            }
        )
    params = {k: v for k, v in V.plus_params("pp-default").items() if k != "n_sampled"}
    return {
        "pool_size": pool_size,
        "settings": V.describe(params),
        "n_sampled": [p["n_sampled"] for p in points],
        "points": points,
    }


def _seed_subset(values: list, seeds: list, keep: set) -> list:
    return [v for v, s in zip(values, seeds) if s in keep]


def _group_summary(acc: _Collected, ranks: _Ranks, keep: set) -> dict:
    """SEAD's rank among the pool and every variant's rank on the seeds in ``keep`` only."""
    ts = acc.task_seeds
    aps = {
        t: {m: _seed_subset(d["aps"], ts[t], keep) for m, d in per.items()}
        for t, per in acc.tasks.items()
    }
    out: dict = {"seeds": sorted(keep), "sead": None, "variants": {}}
    if "SEAD" in ranks.main:
        summ = rank_summary(rank_table(aps, ranks.main), ranks.main)["SEAD"]
        out["sead"] = {
            "rank": summ["mean"],
            "rank_var": summ["var"],
            "mean_aps": _mean_over_tasks({t: aps[t]["SEAD"] for t in aps}),
        }
    for v, per_task in acc.variants.items():
        sub = {t: {"aps": _seed_subset(d["aps"], ts[t], keep)} for t, d in per_task.items()}
        r = _variant_rank(aps, ranks.base, v, sub)
        out["variants"][v] = {
            "rank": r["mean"],
            "rank_var": r["var"],
            "mean_aps": _mean_over_tasks({t: d["aps"] for t, d in sub.items()}),
        }
    return out


def _agreement(sel: dict, conf: dict) -> dict:
    """How well the variant order on the selection seeds carries over to the confirmation seeds."""
    names = [
        v
        for v in sel
        if math.isfinite(_nan(sel[v]["rank"])) and math.isfinite(_nan(conf[v]["rank"]))
    ]
    if not names:
        return {}
    best_sel = min(names, key=lambda v: (sel[v]["rank"], sel[v]["rank_var"]))
    best_conf = min(names, key=lambda v: (conf[v]["rank"], conf[v]["rank_var"]))
    # its position on the confirmation seeds: 1 + the variants with a strictly better rank there
    position = 1 + sum(conf[v]["rank"] < conf[best_sel]["rank"] for v in names)
    out = {
        "best_on_selection": best_sel,
        "its_position_on_confirmation": position,
        "best_on_confirmation": best_conf,
        "n_variants": len(names),
        "spearman": math.nan,
    }
    a, b = [sel[v]["rank"] for v in names], [conf[v]["rank"] for v in names]
    if len(names) >= 3 and len(set(a)) > 1 and len(set(b)) > 1:  # undefined for constant ranks
        from scipy.stats import spearmanr

        out["spearman"] = float(spearmanr(a, b).statistic)
    return out


def _seed_groups(acc: _Collected, ranks: _Ranks, seeds: list, confirm) -> dict | None:
    """The SEAD and variant ranks on the selection seeds and, separately, the confirmation
    seeds, so that a choice made on the first group can be checked on the second."""
    confirm = default_confirm_seeds(seeds) if confirm is None else [int(s) for s in confirm]
    conf = set(confirm) & set(seeds)
    sel = set(seeds) - conf
    if not conf or not sel:
        return None
    groups = {
        "selection": _group_summary(acc, ranks, sel),
        "confirmation": _group_summary(acc, ranks, conf),
    }
    groups["agreement"] = _agreement(
        groups["selection"]["variants"], groups["confirmation"]["variants"]
    )
    return groups


def _throughput(acc: _Collected) -> dict:
    """Measured rows/s (score + learn) of each method: over all tasks (total rows / total
    seconds) and the lowest and highest task means."""
    out = {}
    methods = list(dict.fromkeys(m for per in acc.tasks.values() for m in per))
    for m in methods:
        rows = secs = 0.0
        rates = []
        for t, per in acc.tasks.items():
            if m not in per:
                continue
            s = [x for x in per[m]["seconds"] if x is not None and math.isfinite(x)]
            rows += acc.task_info[t]["n_rows"] * len(s)
            secs += sum(s)
            rates.append(mean_std(per[m]["rows_per_s"])[0])
        rates = [r for r in rates if math.isfinite(r)]
        out[m] = {
            "rows_per_s": rows / secs if secs > 0 else math.nan,
            "min_task_rows_per_s": min(rates, default=math.nan),
            "max_task_rows_per_s": max(rates, default=math.nan),
        }
    return out


def collect(units: list[dict], *, config: dict, command: str = "", seeds=None) -> dict:
    """Assemble unit results (from :func:`sead.bench.runner.run`) into the results dict.

    Parameters
    ----------
    units
        The unit results, one per (task, seed).
    config
        The run's configuration, recorded as is. ``config["confirm_seeds"]`` (optional) is the
        confirmation seed group of ``seed_groups`` (``None`` or absent:
        :func:`default_confirm_seeds`).
    command
        The command line that ran the benchmark, recorded as is.
    seeds
        The seeds of the run (``None``: those of the units).

    Returns
    -------
    dict
        The results: environment, tasks, ranks and the derived studies, ready for
        :func:`write_json` and :func:`write_markdown`.
    """
    acc = _accumulate(units)
    tasks = acc.tasks
    rk = _rank_sets(tasks, acc.names_by_task)
    seeds = list(seeds) if seeds is not None else sorted({u["seed"] for u in units})
    env = environment()
    n_ranked = len(rk.table_main)
    return {
        "schema": SCHEMA,
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "machine": env["machine"],
        "versions": env["versions"],
        "config": config,
        "seeds": seeds,
        "methods": rk.every,
        "base_methods": rk.base,
        "note": STAND_IN_NOTE,
        "tasks": tasks,
        "ranks": rk.ranks,
        "ranks_all": rk.ranks_all,
        "rank_variance": "population (ddof=0); var_sample is ddof=1",
        "rank_tables": {"main": rk.table_main, "all": rk.table_all},
        "task_info": acc.task_info,
        "sead_variant": {
            "name": V.SEAD_VARIANT,
            "params": V.sead_params(V.SEAD_VARIANT),
            "plus_params": V.plus_params("pp-default"),
        },
        "variants": _variants_out(acc.variants, _aps_table(tasks), rk.base),
        "plus_variants": _plus_variants_out(acc.plus, tasks),
        "random_detectors": _random_out(acc),
        "sead_vs_plus": _sead_vs_plus(tasks),
        "final_weights": acc.final_weights,
        "profile_seconds": acc.profile,
        "checks": {
            "combine_vs_real_sead_max_abs_diff": max(acc.checks.values()) if acc.checks else None,
            "per_unit": acc.checks,
        },
        "oracle": _oracle(tasks, rk.base),
        "sead_vs_mean": _sead_vs_mean(tasks),
        "sead_vs_best_fixed": _sead_vs_best_fixed(tasks, rk.base),
        "random_curve": _random_curve_out(acc),
        "pp_curve": _pp_curve_out(acc, len(next(iter(acc.names_by_task.values()), []))),
        "seed_groups": _seed_groups(acc, rk, seeds, config.get("confirm_seeds")),
        "throughput": _throughput(acc),
        "spreads": {
            "rank_variance_defined": n_ranked > 1,
            "seed_std_defined": len(seeds) > 1,
            "n_tasks_ranked": n_ranked,
            "n_seeds": len(seeds),
        },
    }


def write_json(results: dict, path) -> Path:
    """Write ``results`` as JSON (NaN -> null).

    Parameters
    ----------
    results
        A results dict from :func:`collect`.
    path
        The file to write (its directory is created if needed).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(_clean(results), fh, indent=1, allow_nan=False)
        fh.write("\n")
    return path


# ------------------------------------------------------------------------------------------
# markdown


def _f(x, nd=3):
    x = _nan(x)
    return "–" if not math.isfinite(x) else f"{x:.{nd}f}"


def _pct(x, nd=2):
    x = _nan(x)
    return "–" if not math.isfinite(x) else f"{100 * x:+.{nd}f} %"


def _rate(x):
    x = _nan(x)
    if not math.isfinite(x):
        return "–"
    return f"{x / 1e3:,.1f} k" if x >= 1e4 else f"{x:,.0f}"


def _table(header, rows) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return out


def _count(n: int, word: str) -> str:
    """``1 win``, ``2 wins``, ``0 losses``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('s') else 's'}"


def _ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``3rd``, ``4th``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _var_cell(summary: dict, one_task: bool) -> str:
    """A rank variance, or ``n/a (one task)`` where a variance over tasks is not defined."""
    return NA_TASK if one_task else _f(summary["var"], 2)


def _one_task(R: dict) -> bool:
    return len(R["rank_tables"]["main"]) == 1


def _md_header(R: dict) -> list[str]:
    """Command, date, machine, versions, pool, seeds and settings, and the stand-in note."""
    return [
        "# sead-bench results",
        "",
        f"- command: `{R['command']}`",
        f"- date: {R['date']}",
        f"- machine: {R['machine']['cpu']} ({R['machine']['cpu_count']} CPUs), "
        f"{R['machine']['platform']}",
        "- versions: " + ", ".join(f"{k} {v}" for k, v in R["versions"].items() if v),
        f"- pool: `{R['config'].get('pool')}` ({len(R['base_methods'])} detectors); seeds: "
        f"{R['seeds']}; warm start: {R['config'].get('warm_start')} points (not scored)",
        f"- SEAD settings (`{R['sead_variant']['name']}`): "
        f"{V.describe(R['sead_variant']['params'])}",
        f"- SEAD++ settings: {V.describe(R['sead_variant']['plus_params'])}",
        "",
        f"> Note: {R['note']}",
        "",
    ]


def _aps_cell(values: list, best: float) -> str:
    """``mean ± std`` over seeds (``± n/a`` with one seed), bold when it is the task's best."""
    mu, sd = mean_std(values)
    if not math.isfinite(mu):
        return "–"
    n = int(np.isfinite(np.asarray(values, dtype=np.float64)).sum())
    cell = f"{mu:.3f} ± {sd:.3f}" if n > 1 else f"{mu:.3f} ± n/a"
    return f"**{cell}**" if mu == best else cell


def _md_aps(R: dict) -> list[str]:
    """APS mean ± std per task and method, with the average rank and rank variance rows."""
    tasks, methods, rk = R["tasks"], R["methods"], R["ranks"]
    L = [
        "## Average precision (mean ± std over seeds)",
        "",
        "Best mean per task in **bold**. Bottom rows: average rank and population variance of "
        "the ranks over the tasks, among the pool's detectors and SEAD "
        "(SEAD++, mean and max ranked in a separate table below).",
        "",
    ]
    if len(R["seeds"]) == 1:
        L += [
            f"One seed: the spread over seeds is not defined ({NA_SEED}), so cells show `± n/a`.",
            "",
        ]
    if _one_task(R):
        L += [f"One task: rank variances over tasks are not defined ({NA_TASK}).", ""]
    rows = []
    for t, per in tasks.items():
        means = {m: mean_std(per[m]["aps"])[0] for m in methods if m in per}
        best = max((v for v in means.values() if math.isfinite(v)), default=math.nan)
        rows.append([t] + [_aps_cell(per[m]["aps"], best) if m in per else "–" for m in methods])
    rows.append(["avg rank"] + [_f(rk[m]["mean"], 2) if m in rk else "–" for m in methods])
    rows.append(
        ["rank var"] + [_var_cell(rk[m], _one_task(R)) if m in rk else "–" for m in methods]
    )
    return L + _table(["task"] + list(methods), rows) + [""]


def _rank_rows(R: dict, summary: dict) -> list[list]:
    tasks = R["tasks"]
    mean_aps = {m: _mean_over_tasks({t: tasks[t][m]["aps"] for t in tasks}) for m in summary}
    order = sorted(summary, key=lambda m: (summary[m]["mean"], summary[m]["var"]))
    return [
        [m, _f(summary[m]["mean"], 2), _var_cell(summary[m], _one_task(R)), _f(mean_aps[m])]
        for m in order
    ]


def _md_ranks(R: dict) -> list[str]:
    """The main ranking and the one with SEAD++, mean and max."""
    n_tasks = len(R["rank_tables"]["main"])
    L = [
        f"## Ranks over {n_tasks} tasks: the pool's detectors and SEAD",
        "",
        "Per task, methods are ranked by mean APS over seeds (1 = best, ties share the average "
        "rank). Variance = population variance of a method's ranks over the tasks.",
        "",
    ]
    L += _table(
        ["method", "average rank", "rank variance", "mean APS"], _rank_rows(R, R["ranks"])
    ) + [""]
    if len(R["ranks_all"]) > len(R["ranks"]):
        L += ["## Ranks with SEAD++, mean and max included", ""]
        L += _table(
            ["method", "average rank", "rank variance", "mean APS"], _rank_rows(R, R["ranks_all"])
        ) + [""]
    return L


def _md_throughput(R: dict) -> list[str]:
    tp = R.get("throughput") or {}
    if not tp:
        return []
    rows = [
        [
            m,
            _rate(v["rows_per_s"]),
            _rate(v["min_task_rows_per_s"]),
            _rate(v["max_task_rows_per_s"]),
        ]
        for m, v in tp.items()
    ]
    return [
        "Measured throughput per method (rows/s of score + learn, as timed in this run; not the "
        "progress bar's rate, which counts the benchmark's own work):",
        "",
        *_table(["method", "rows/s (all tasks)", "slowest task", "fastest task"], rows),
        "",
    ]


def _md_runtime(R: dict) -> list[str]:
    """Runtime per task, per detector, and the measured throughput of every method."""
    tasks, base = R["tasks"], R["base_methods"]
    L = ["## Runtime (score + learn, all rows, mean over seeds)", ""]
    rows = []
    for t, per in tasks.items():
        info = R["task_info"][t]
        base_s = sum(mean_std(per[m]["seconds"])[0] for m in base if m in per)
        row = [
            t,
            f"{info['n_rows']:,}",
            str(info["n_features"]),
            _rate(info["n_rows"] / base_s) if base_s > 0 else "–",
        ]
        for m in ("SEAD", "SEAD++"):
            row.append(_rate(mean_std(per[m]["rows_per_s"])[0]) if m in per else "–")
            row.append(_f(mean_std(per[m]["seconds"])[0], 2) if m in per else "–")
        rows.append(row)
    L += _table(
        [
            "task",
            "rows",
            "dims",
            "all base detectors rows/s",
            "SEAD rows/s",
            "SEAD s",
            "SEAD++ rows/s",
            "SEAD++ s",
        ],
        rows,
    )
    L += ["", "Per-detector rows/s (each detector timed inside the SEAD run):", ""]
    rows = [
        [m]
        + [_rate(mean_std(tasks[t][m]["rows_per_s"])[0]) if m in tasks[t] else "–" for t in tasks]
        for m in base
    ]
    return L + _table(["detector"] + list(tasks), rows) + [""] + _md_throughput(R)


def _md_random(R: dict) -> list[str]:
    rd = R["random_detectors"]
    L = [
        f"## Random-detector experiment: the pool plus {rd['n_random']} uniform-random detectors",
        "",
        f"SEAD with its own settings (`{rd['settings']}`) on the pool's scores plus "
        f"{rd['n_random']} columns of uniform random scores (source: {rd['source']}).",
        "",
    ]
    rows = [
        [
            t,
            _f(mean_std(p["sead_aps"])[0]),
            _f(mean_std(p["aps"])[0]),
            _pct(p["rel_change"]),
            _f(mean_std(p["final_weight_random"])[0]),
        ]
        for t, p in rd["tasks"].items()
    ]
    rows.append(
        [
            "**mean over tasks**",
            _f(rd["sead_mean_aps"]),
            _f(rd["random_mean_aps"]),
            _pct(rd["rel_change_of_mean_aps"]),
            "",
        ]
    )
    L += _table(
        [
            "task",
            "SEAD APS",
            "SEAD + random APS",
            "relative change",
            "final weight of the random detectors",
        ],
        rows,
    )
    return L + [
        "",
        f"Relative change of the mean APS over tasks: **{_pct(rd['rel_change_of_mean_aps'])}** "
        f"(mean of the per-task relative changes: {_pct(rd['mean_rel_change'])}; paper: −0.88 %).",
        "",
    ]


def _md_sead_vs_plus(R: dict) -> list[str]:
    sp = R["sead_vs_plus"]
    rows = [
        [
            t,
            _f(p["sead_aps"]),
            _f(p["plus_aps"]),
            _pct(p["aps_rel_change"]),
            _rate(p["sead_rows_per_s"]),
            _rate(p["plus_rows_per_s"]),
            _f(p["speedup"], 2) + "x",
        ]
        for t, p in sp["per_task"].items()
    ]
    rows.append(
        [
            "**overall**",
            _f(sp["sead_mean_aps"]),
            _f(sp["plus_mean_aps"]),
            _pct(sp["aps_rel_change"]),
            "",
            "",
            _f(sp["speedup_total_time"], 2) + "x (total time)",
        ]
    )
    L = ["## SEAD++ vs SEAD", ""]
    L += _table(
        [
            "task",
            "SEAD APS",
            "SEAD++ APS",
            "APS change",
            "SEAD rows/s",
            "SEAD++ rows/s",
            "speed-up",
        ],
        rows,
    )
    return L + [
        "",
        f"Speed-up: {_f(sp['speedup_total_time'], 2)}x in total time, "
        f"{_f(sp['speedup_geomean'], 2)}x geometric mean over tasks; mean APS change "
        f"{_pct(sp['aps_rel_change'])} (paper: about 2x faster, minimal accuracy loss).",
        "",
    ]


def _md_variants(R: dict) -> list[str]:
    vv = R["variants"]
    L = [
        "## SEAD variants (evaluated on the cached raw scores)",
        "",
        "Each variant takes SEAD's place among the pool's detectors: its average rank and rank "
        "variance are over the same tasks as above. `random` = relative change of its mean APS "
        "when the random detectors are added.",
        "",
    ]
    order = sorted(vv, key=lambda v: (_nan(vv[v]["rank"]["mean"]), _nan(vv[v]["rank"]["var"])))
    rows = [
        [
            f"`{v}`" + (" (paper)" if v == "paper" else ""),
            vv[v]["settings"],
            _f(vv[v]["rank"]["mean"], 2),
            _var_cell(vv[v]["rank"], _one_task(R)),
            _f(vv[v]["mean_aps"]),
            _pct(vv[v]["random_rel_change"]),
        ]
        for v in order
    ]
    return (
        L
        + _table(
            ["variant", "settings", "average rank", "rank variance", "mean APS", "random"], rows
        )
        + [""]
    )


def _md_plus_variants(R: dict) -> list[str]:
    pv = R["plus_variants"]
    rows = [
        [
            f"`{v}`",
            pv[v]["settings"],
            _f(pv[v]["plus_mean_aps"]),
            _pct(pv[v]["aps_rel_change"]),
            _f(pv[v]["speedup_total_time"], 2) + "x",
        ]
        for v in pv
    ]
    L = ["## SEAD++ variants (run for real)", ""]
    L += _table(["variant", "settings", "mean APS", "APS change vs SEAD", "speed-up vs SEAD"], rows)
    return L + ["", "An `n_sampled` larger than the pool is capped at the pool size.", ""]


def _md_against(R: dict) -> list[str]:
    """SEAD against the per-task oracle, against `mean`, and against the best fixed detector."""
    orc, vm, vf = R.get("oracle"), R.get("sead_vs_mean"), R.get("sead_vs_best_fixed")
    if not (orc or vm or vf):
        return []
    L = [
        "## SEAD against the per-task oracle, `mean` and the best fixed detector",
        "",
        "Oracle = the best single detector of the pool on that task in hindsight (by mean APS over "
        "seeds), which no online method can know in advance; `mean` = the mean of the detectors' "
        "quantiles; best fixed detector = the one detector with the best mean APS over all tasks. "
        "Margins are SEAD's APS minus the other's.",
        "",
    ]
    fixed = vf["detector"] if vf else "–"
    rows = []
    for t in R["tasks"]:
        o = (orc or {}).get("per_task", {}).get(t, {})
        m = (vm or {}).get("per_task", {}).get(t, {})
        f = (vf or {}).get("per_task", {}).get(t, {})
        sead = o.get("sead_aps", m.get("sead_aps", f.get("sead_aps")))
        rows.append(
            [
                t,
                _f(sead),
                o.get("detector", "–"),
                _f(o.get("aps")),
                _f(o.get("sead_fraction")),
                _f(m.get("other_aps")),
                _f(m.get("margin")),
                _f(f.get("other_aps")),
                _f(f.get("margin")),
            ]
        )
    L += _table(
        [
            "task",
            "SEAD APS",
            "oracle detector",
            "oracle APS",
            "SEAD / oracle",
            "mean APS",
            "SEAD − mean",
            f"{fixed} APS",
            f"SEAD − {fixed}",
        ],
        rows,
    ) + [""]
    if orc:
        L.append(
            f"- SEAD reaches **{_f(orc['mean_fraction'])}** of the oracle's APS on average over "
            f"tasks (ratio of the mean APS: {_f(orc['fraction_of_mean_aps'])}; oracle mean APS "
            f"{_f(orc['oracle_mean_aps'])}, SEAD {_f(orc['sead_mean_aps'])})."
        )
    for label, d in (("`mean`", vm), (f"the best fixed detector `{fixed}`", vf)):
        if d:
            L.append(
                f"- SEAD vs {label}: {_count(d['wins'], 'win')}, {_count(d['losses'], 'loss')}, "
                f"{_count(d['ties'], 'tie')} over {_count(len(d['per_task']), 'task')}; "
                f"mean margin {_f(d['mean_margin'])} APS "
                f"({_pct(d['rel_change'])} of its mean APS {_f(d['other_mean_aps'])})."
            )
    return L + [""]


def _md_random_curve(R: dict) -> list[str]:
    rc = R["random_curve"]
    L = [
        "## Random-detector curve",
        "",
        f"SEAD (`{rc['settings']}`) with 0, {', '.join(str(n) for n in rc['counts'][1:])} "
        f"uniform-random detectors added to the pool (source: {rc['source']}); the sets are nested "
        f"(the first {rc['n_random_experiment']} are the experiment's above).",
        "",
    ]
    rows = [
        [
            p["n_random"],
            _f(p["mean_aps"]),
            _pct(p["rel_change_of_mean_aps"]),
            _pct(p["mean_rel_change"]),
            _f(p["final_weight_random"]),
        ]
        for p in rc["points"]
    ]
    L += _table(
        [
            "random detectors",
            "mean APS over tasks",
            "change of the mean APS",
            "mean of per-task changes",
            "final weight of the random detectors",
        ],
        rows,
    ) + [""]
    rows = [
        [t] + [_f(mean_std(per[str(n)]["aps"])[0]) for n in rc["counts"]]
        for t, per in rc["tasks"].items()
    ]
    return (
        L + ["APS per task:", ""] + _table(["task"] + [f"+{n}" for n in rc["counts"]], rows) + [""]
    )


def _md_pp_curve(R: dict) -> list[str]:
    pc = R["pp_curve"]
    L = [
        "## SEAD++ accuracy-speed curve",
        "",
        f"SEAD++ sampling `n_sampled` of the {pc['pool_size']} detectors (other settings: "
        f"{pc['settings']}), "
        "run for real in the same units as SEAD; APS change and speed-up are against that SEAD "
        "run.",
        "",
    ]
    rows = [
        [
            f"{p['n_sampled']} of {pc['pool_size']}",
            _f(p["plus_mean_aps"]),
            _pct(p["aps_rel_change"]),
            _f(p["speedup_total_time"], 2) + "x",
            _f(p["speedup_geomean"], 2) + "x",
            _rate(p["rows_per_s"]),
        ]
        for p in pc["points"]
    ]
    return (
        L
        + _table(
            [
                "n_sampled",
                "mean APS",
                "APS change vs SEAD",
                "speed-up (total time)",
                "speed-up (geometric mean)",
                "rows/s",
            ],
            rows,
        )
        + [""]
    )


def _md_seed_groups(R: dict) -> list[str]:
    sg = R["seed_groups"]
    sel, conf, ag = sg["selection"], sg["confirmation"], sg.get("agreement") or {}
    L = [
        f"## Seed groups: selection seeds {sel['seeds']}, confirmation seeds {conf['seeds']}",
        "",
        "The same rankings on each group of seeds alone: a choice made on the selection seeds "
        "should hold on the confirmation seeds.",
        "",
    ]
    rows = []
    if sel["sead"] and conf["sead"]:
        rows.append(
            [
                "**SEAD** (among the pool)",
                _f(sel["sead"]["rank"], 2),
                _f(sel["sead"]["mean_aps"]),
                _f(conf["sead"]["rank"], 2),
                _f(conf["sead"]["mean_aps"]),
            ]
        )
    vs = sel["variants"]
    for v in sorted(vs, key=lambda v: (_nan(vs[v]["rank"]), _nan(vs[v]["rank_var"]))):
        c = conf["variants"][v]
        rows.append(
            [
                f"`{v}`",
                _f(vs[v]["rank"], 2),
                _f(vs[v]["mean_aps"]),
                _f(c["rank"], 2),
                _f(c["mean_aps"]),
            ]
        )
    L += _table(
        [
            "method / variant",
            "rank (selection)",
            "mean APS (selection)",
            "rank (confirmation)",
            "mean APS (confirmation)",
        ],
        rows,
    ) + [""]
    if ag:
        L += [
            f"Best variant on the selection seeds: `{ag['best_on_selection']}`, "
            f"{_ordinal(ag['its_position_on_confirmation'])} of {ag['n_variants']} on the "
            f"confirmation seeds (ties share a place; best there: `{ag['best_on_confirmation']}`); "
            "Spearman correlation of the variants' average ranks between the groups: "
            f"{_f(ag['spearman'], 2)}.",
            "",
        ]
    return L


def _md_plots(R: dict, plots: dict | None) -> list[str]:
    L = []
    if plots:
        L += ["## Plots", ""]
        for label, rel in plots.items():
            L += [f"![{label}]({rel})", ""]
    chk = R["checks"]["combine_vs_real_sead_max_abs_diff"]
    if chk is not None:
        L += [
            f"Check: the cached-matrix combiner reproduces the real SEAD run to {chk:.1e} (max "
            "abs difference).",
            "",
        ]
    return L


#: The sections of results.md, in order, each with the entry of the results it reports: a
#: section whose entry is absent or empty is left out (``None``: the section decides).
SECTIONS = (
    (_md_header, None),
    (_md_aps, None),
    (_md_ranks, None),
    (_md_runtime, None),
    (_md_random, "random_detectors"),
    (_md_sead_vs_plus, "sead_vs_plus"),
    (_md_variants, "variants"),
    (_md_plus_variants, "plus_variants"),
    (_md_against, None),
    (_md_random_curve, "random_curve"),
    (_md_pp_curve, "pp_curve"),
    (_md_seed_groups, "seed_groups"),
)


def write_markdown(results: dict, path, plots: dict | None = None) -> Path:
    """Write the tables a paper would print, from a results dict, as markdown.

    Parameters
    ----------
    results, path
        As for :func:`write_json`.
    plots
        ``{label: file name}`` of the plots to link (from :func:`sead.bench.plots.plot_all`);
        ``None``: no plots section.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    lines: list[str] = []
    for section, entry in SECTIONS:
        if entry is None or results.get(entry):
            lines += section(results)
    lines += _md_plots(results, plots)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
