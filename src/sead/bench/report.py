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
over seeds), ``checks``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
from pathlib import Path

import numpy as np

from . import variants as V
from .metrics import mean_std, rank_summary, rank_table

__all__ = ["collect", "write_json", "write_markdown", "environment", "SCHEMA"]

SCHEMA = "sead-bench/1"
STAND_IN_NOTE = (
    "electricity (USP Elec2) and the three NAB series stand in for the paper's three INSECTS "
    "streams and its internal telemetry set, which are not available; tasks and numbers are "
    "therefore not one-to-one with the paper's."
)


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
    return obj


def _nan(v):
    return math.nan if v is None else float(v)


def _mean_over_tasks(per_task: dict[str, list]) -> float:
    vals = [mean_std(v)[0] for v in per_task.values()]
    vals = [v for v in vals if math.isfinite(v)]
    return float(np.mean(vals)) if vals else math.nan


def collect(units: list[dict], *, config: dict, command: str = "", seeds=None) -> dict:
    """Assemble unit results (from :func:`sead.bench.runner.run`) into the results dict."""
    tasks: dict[str, dict] = {}
    task_info: dict[str, dict] = {}
    names_by_task: dict[str, list[str]] = {}
    variants: dict[str, dict] = {}
    plus: dict[str, dict] = {}
    rand: dict[str, dict] = {}
    final_weights: dict[str, dict] = {}
    checks: dict[str, float] = {}
    random_source = None
    n_random = None
    profile: dict[str, dict] = {}
    for u in units:
        t = u["task"]
        names_by_task.setdefault(t, u["detector_names"])
        info = task_info.setdefault(t, {"n_rows": u["n_rows"], "n_features": u["n_features"],
                                        "n_scored": u["n_scored"], "anomaly_rate": []})
        info["anomaly_rate"].append(u["anomaly_rate"])
        for m, e in u["methods"].items():
            d = tasks.setdefault(t, {}).setdefault(m, {"aps": [], "auc": [], "seconds": [], "rows_per_s": []})
            for k in d:
                d[k].append(e[k])
        for v, e in u["variants"].items():
            d = variants.setdefault(v, {}).setdefault(t, {"aps": [], "auc": [], "random_aps": []})
            d["aps"].append(e["aps"])
            d["auc"].append(e["auc"])
            d["random_aps"].append(e.get("random_aps", math.nan))
        for v, e in u["plus_variants"].items():
            d = plus.setdefault(v, {}).setdefault(t, {"aps": [], "auc": [], "seconds": [], "rows_per_s": []})
            for k in d:
                d[k].append(e[k])
        if "random" in u:
            r = rand.setdefault(t, {"aps": [], "auc": [], "final_weight_random": []})
            r["aps"].append(u["random"]["aps"])
            r["auc"].append(u["random"]["auc"])
            r["final_weight_random"].append(u["random"]["final_weight_random"])
            random_source = u["random"]["source"]
            n_random = u["random"]["n_random"]
        if "weights" in u or t not in final_weights:
            final_weights[t] = u["final_weights"]
        checks[f"{t}-seed{u['seed']}"] = u["check_max_abs_diff"]
        prof = profile.setdefault(t, {})
        for k, v in u.get("phase_seconds", {}).items():
            prof[k] = prof.get(k, 0.0) + v
        prof["unit"] = prof.get("unit", 0.0) + u.get("unit_seconds", 0.0)
    for info in task_info.values():
        info["anomaly_rate"] = float(np.mean(info["anomaly_rate"]))

    # --- ranks --------------------------------------------------------------------------
    first = next(iter(names_by_task.values()), [])
    base = [m for m in first if all(m in tasks[t] for t in tasks)]
    aps = {t: {m: d["aps"] for m, d in per.items()} for t, per in tasks.items()}
    main = base + (["SEAD"] if all("SEAD" in tasks[t] for t in tasks) and tasks else [])
    extra = [m for m in ("SEAD++", "mean", "max") if tasks and all(m in tasks[t] for t in tasks)]
    every = main + extra
    table_main = rank_table(aps, main)
    table_all = rank_table(aps, every)
    ranks = rank_summary(table_main, main)
    ranks_all = rank_summary(table_all, every)

    # --- variants: each takes SEAD's place among the base detectors -----------------------
    var_out = {}
    for v, per_task in variants.items():
        sub = {t: {**{m: aps[t][m] for m in base}, v: per_task[t]["aps"]} for t in per_task}
        tab = rank_table(sub, base + [v])
        summ = rank_summary(tab, base + [v])[v]
        mean_aps = _mean_over_tasks({t: d["aps"] for t, d in per_task.items()})
        mean_rand = _mean_over_tasks({t: d["random_aps"] for t, d in per_task.items()})
        params = V.sead_params(v)
        var_out[v] = {
            "params": params,
            "settings": V.describe(params),
            "tasks": per_task,
            "rank": {"mean": summ["mean"], "var": summ["var"], "n_tasks": summ["n_tasks"]},
            "mean_aps": mean_aps,
            "random_mean_aps": mean_rand,
            "random_rel_change": (mean_rand - mean_aps) / mean_aps if mean_aps else math.nan,
        }
    plus_out = {}
    for v, per_task in plus.items():
        params = V.plus_params(v)
        plus_out[v] = {"params": params, "settings": V.describe(params), "tasks": per_task,
                       **_plus_summary(tasks, per_task)}

    # --- random-detector experiment ---------------------------------------------------------
    random_out = None
    if rand:
        per = {}
        for t, r in rand.items():
            s_mean = mean_std(tasks[t]["SEAD"]["aps"])[0]
            r_mean = mean_std(r["aps"])[0]
            per[t] = {"aps": r["aps"], "auc": r["auc"], "sead_aps": tasks[t]["SEAD"]["aps"],
                      "rel_change": (r_mean - s_mean) / s_mean if s_mean else math.nan,
                      "final_weight_random": r["final_weight_random"]}
        sead_mean = _mean_over_tasks({t: tasks[t]["SEAD"]["aps"] for t in rand})
        rand_mean = _mean_over_tasks({t: r["aps"] for t, r in rand.items()})
        rels = [p["rel_change"] for p in per.values() if math.isfinite(p["rel_change"])]
        random_out = {
            "settings": V.SEAD_VARIANT,
            "source": random_source,
            "n_random": n_random,
            "tasks": per,
            "sead_mean_aps": sead_mean,
            "random_mean_aps": rand_mean,
            "rel_change_of_mean_aps": (rand_mean - sead_mean) / sead_mean if sead_mean else math.nan,
            "mean_rel_change": float(np.mean(rels)) if rels else math.nan,
        }

    sead_vs_plus = None
    if tasks and all("SEAD" in tasks[t] and "SEAD++" in tasks[t] for t in tasks):
        sead_vs_plus = _plus_summary(tasks, {t: tasks[t]["SEAD++"] for t in tasks})

    env = environment()
    return {
        "schema": SCHEMA,
        "command": command,
        "date": _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds"),
        "machine": env["machine"],
        "versions": env["versions"],
        "config": config,
        "seeds": list(seeds) if seeds is not None else sorted({u["seed"] for u in units}),
        "methods": every,
        "base_methods": base,
        "note": STAND_IN_NOTE,
        "tasks": tasks,
        "ranks": ranks,
        "ranks_all": ranks_all,
        "rank_variance": "population (ddof=0); var_sample is ddof=1",
        "rank_tables": {"main": table_main, "all": table_all},
        "task_info": task_info,
        "sead_variant": {"name": V.SEAD_VARIANT, "params": V.sead_params(V.SEAD_VARIANT),
                         "plus_params": V.plus_params("pp-default")},
        "variants": var_out,
        "plus_variants": plus_out,
        "random_detectors": random_out,
        "sead_vs_plus": sead_vs_plus,
        "final_weights": final_weights,
        "profile_seconds": profile,
        "checks": {"combine_vs_real_sead_max_abs_diff": max(checks.values()) if checks else None,
                   "per_unit": checks},
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
        per[t] = {"sead_rows_per_s": mean_std(s["rows_per_s"])[0], "plus_rows_per_s": mean_std(d["rows_per_s"])[0],
                  "speedup": ss / ps if ps > 0 else math.nan, "sead_aps": sa, "plus_aps": pa,
                  "aps_rel_change": (pa - sa) / sa if sa else math.nan}
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


def write_json(results: dict, path) -> Path:
    """Write ``results`` as JSON (NaN -> null)."""
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


def write_markdown(results: dict, path, plots: dict | None = None) -> Path:
    """Write the tables a paper would print, from a results dict (see :func:`collect`)."""
    R = results
    tasks = R["tasks"]
    methods = R["methods"]
    L = ["# sead-bench results", ""]
    L += [f"- command: `{R['command']}`", f"- date: {R['date']}",
          f"- machine: {R['machine']['cpu']} ({R['machine']['cpu_count']} CPUs), {R['machine']['platform']}",
          "- versions: " + ", ".join(f"{k} {v}" for k, v in R["versions"].items() if v),
          f"- pool: `{R['config'].get('pool')}` ({len(R['base_methods'])} detectors); seeds: {R['seeds']}; "
          f"warm start: {R['config'].get('warm_start')} points (not scored)",
          f"- SEAD settings (`{R['sead_variant']['name']}`): {V.describe(R['sead_variant']['params'])}",
          f"- SEAD++ settings: {V.describe(R['sead_variant']['plus_params'])}",
          "", f"> Note: {R['note']}", ""]

    # APS table ------------------------------------------------------------------------------
    L += ["## Average precision (mean ± std over seeds)", "",
          "Best mean per task in **bold**. Bottom rows: average rank and population variance of "
          "the ranks over the tasks, among the pool's detectors and SEAD "
          "(SEAD++, mean and max ranked in a separate table below).", ""]
    rows = []
    for t, per in tasks.items():
        means = {m: mean_std(per[m]["aps"])[0] for m in methods if m in per}
        best = max((v for v in means.values() if math.isfinite(v)), default=math.nan)
        row = [t]
        for m in methods:
            if m not in per:
                row.append("–")
                continue
            mu, sd = mean_std(per[m]["aps"])
            cell = "–" if not math.isfinite(mu) else f"{mu:.3f} ± {sd:.3f}"
            row.append(f"**{cell}**" if math.isfinite(mu) and mu == best else cell)
        rows.append(row)
    rk = R["ranks"]
    rows.append(["avg rank"] + [_f(rk[m]["mean"], 2) if m in rk else "–" for m in methods])
    rows.append(["rank var"] + [_f(rk[m]["var"], 2) if m in rk else "–" for m in methods])
    L += _table(["task"] + list(methods), rows) + [""]

    # ranks -------------------------------------------------------------------------------
    def rank_rows(summary):
        mean_aps = {m: _mean_over_tasks({t: tasks[t][m]["aps"] for t in tasks}) for m in summary}
        order = sorted(summary, key=lambda m: (summary[m]["mean"], summary[m]["var"]))
        return [[m, _f(summary[m]["mean"], 2), _f(summary[m]["var"], 2), _f(mean_aps[m])] for m in order]

    n_tasks = len(R["rank_tables"]["main"])
    L += [f"## Ranks over {n_tasks} tasks: the pool's detectors and SEAD", "",
          "Per task, methods are ranked by mean APS over seeds (1 = best, ties share the average "
          "rank). Variance = population variance of a method's ranks over the tasks.", ""]
    L += _table(["method", "average rank", "rank variance", "mean APS"], rank_rows(R["ranks"])) + [""]
    if len(R["ranks_all"]) > len(R["ranks"]):
        L += ["## Ranks with SEAD++, mean and max included", ""]
        L += _table(["method", "average rank", "rank variance", "mean APS"], rank_rows(R["ranks_all"])) + [""]

    # runtime -----------------------------------------------------------------------------
    L += ["## Runtime (score + learn, all rows, mean over seeds)", ""]
    base = R["base_methods"]
    rows = []
    for t, per in tasks.items():
        info = R["task_info"][t]
        base_s = sum(mean_std(per[m]["seconds"])[0] for m in base if m in per)
        row = [t, f"{info['n_rows']:,}", str(info["n_features"]),
               _rate(info["n_rows"] / base_s) if base_s > 0 else "–"]
        for m in ("SEAD", "SEAD++"):
            row.append(_rate(mean_std(per[m]["rows_per_s"])[0]) if m in per else "–")
            row.append(_f(mean_std(per[m]["seconds"])[0], 2) if m in per else "–")
        rows.append(row)
    L += _table(["task", "rows", "dims", "all base detectors rows/s", "SEAD rows/s", "SEAD s",
                 "SEAD++ rows/s", "SEAD++ s"], rows)
    L += ["", "Per-detector rows/s (each detector timed inside the SEAD run):", ""]
    rows = []
    for m in base:
        r = [m] + [_rate(mean_std(tasks[t][m]["rows_per_s"])[0]) if m in tasks[t] else "–" for t in tasks]
        rows.append(r)
    L += _table(["detector"] + list(tasks), rows) + [""]

    # random detectors ----------------------------------------------------------------------
    rd = R.get("random_detectors")
    if rd:
        L += [f"## Random-detector experiment: the pool plus {rd['n_random']} uniform-random detectors", "",
              f"SEAD with its own settings (`{rd['settings']}`) on the pool's scores plus "
              f"{rd['n_random']} columns of uniform random scores (source: {rd['source']}).", ""]
        rows = [[t, _f(mean_std(p["sead_aps"])[0]), _f(mean_std(p["aps"])[0]), _pct(p["rel_change"]),
                 _f(mean_std(p["final_weight_random"])[0])] for t, p in rd["tasks"].items()]
        rows.append(["**mean over tasks**", _f(rd["sead_mean_aps"]), _f(rd["random_mean_aps"]),
                     _pct(rd["rel_change_of_mean_aps"]), ""])
        L += _table(["task", "SEAD APS", "SEAD + random APS", "relative change",
                     "final weight of the random detectors"], rows)
        L += ["", f"Relative change of the mean APS over tasks: **{_pct(rd['rel_change_of_mean_aps'])}** "
                  f"(mean of the per-task relative changes: {_pct(rd['mean_rel_change'])}; paper: −0.88 %).", ""]

    # SEAD++ vs SEAD --------------------------------------------------------------------------
    sp = R.get("sead_vs_plus")
    if sp:
        L += ["## SEAD++ vs SEAD", ""]
        rows = [[t, _f(p["sead_aps"]), _f(p["plus_aps"]), _pct(p["aps_rel_change"]),
                 _rate(p["sead_rows_per_s"]), _rate(p["plus_rows_per_s"]), _f(p["speedup"], 2) + "x"]
                for t, p in sp["per_task"].items()]
        rows.append(["**overall**", _f(sp["sead_mean_aps"]), _f(sp["plus_mean_aps"]), _pct(sp["aps_rel_change"]),
                     "", "", _f(sp["speedup_total_time"], 2) + "x (total time)"])
        L += _table(["task", "SEAD APS", "SEAD++ APS", "APS change", "SEAD rows/s", "SEAD++ rows/s",
                     "speed-up"], rows)
        L += ["", f"Speed-up: {_f(sp['speedup_total_time'], 2)}x in total time, {_f(sp['speedup_geomean'], 2)}x "
                  f"geometric mean over tasks; mean APS change {_pct(sp['aps_rel_change'])} "
                  "(paper: about 2x faster, minimal accuracy loss).", ""]

    # variants ----------------------------------------------------------------------------
    if R.get("variants"):
        L += ["## SEAD variants (evaluated on the cached raw scores)", "",
              "Each variant takes SEAD's place among the pool's detectors: its average rank and rank "
              "variance are over the same tasks as above. `random` = relative change of its mean APS "
              "when the random detectors are added.", ""]
        vv = R["variants"]
        order = sorted(vv, key=lambda v: (_nan(vv[v]["rank"]["mean"]), _nan(vv[v]["rank"]["var"])))
        rows = [[f"`{v}`" + (" (paper)" if v == "paper" else ""), vv[v]["settings"], _f(vv[v]["rank"]["mean"], 2),
                 _f(vv[v]["rank"]["var"], 2), _f(vv[v]["mean_aps"]), _pct(vv[v]["random_rel_change"])]
                for v in order]
        L += _table(["variant", "settings", "average rank", "rank variance", "mean APS", "random"], rows) + [""]
    if R.get("plus_variants"):
        L += ["## SEAD++ variants (run for real)", ""]
        pv = R["plus_variants"]
        rows = [[f"`{v}`", pv[v]["settings"], _f(pv[v]["plus_mean_aps"]), _pct(pv[v]["aps_rel_change"]),
                 _f(pv[v]["speedup_total_time"], 2) + "x"] for v in pv]
        L += _table(["variant", "settings", "mean APS", "APS change vs SEAD", "speed-up vs SEAD"], rows)
        L += ["", "An `n_sampled` larger than the pool is capped at the pool size.", ""]

    # plots -------------------------------------------------------------------------------
    if plots:
        L += ["## Plots", ""]
        for label, rel in plots.items():
            L += [f"![{label}]({rel})", ""]
    chk = R["checks"]["combine_vs_real_sead_max_abs_diff"]
    if chk is not None:
        L += [f"Check: the cached-matrix combiner reproduces the real SEAD run to {chk:.1e} (max abs difference).", ""]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(L), encoding="utf-8")
    return path
