"""The ``sead-bench`` command (also ``python -m sead.bench``).

Without arguments it runs the quick suite (a few small tasks, one seed) on the benchmark data
it finds; ``--tasks all`` runs the 15-task benchmark (5 seeds unless ``--seeds``). On a
machine without the data it says where to get each file and falls back to the copy of
Shuttle that ships with River, so the command still does real work.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import variants as V
from .runner import ALL_METHOD_GROUPS, BenchConfig, BenchTask, dataset_task, resolve_pool

__all__ = ["main", "build_parser", "plan", "Plan", "run_benchmark", "QUICK_TASKS", "FALLBACK_TASK"]

#: The quick suite: small tasks of each kind (about 40k rows in all).
QUICK_TASKS = ("cardio", "thyroid", "satimage-2", "annthyroid", "mammography", "nab-nyc-taxi")
#: Runs without any data directory (River ships it).
FALLBACK_TASK = "river-shuttle"
DEFAULT_OUT = "sead-bench-out"


def _pool_names() -> list[str]:
    from .. import pools

    return [n for n in getattr(pools, "__all__", []) if n != "named" and callable(getattr(pools, n, None))]


def _default_pool() -> str:
    from .. import pools

    return "paper" if callable(getattr(pools, "paper", None)) else "default"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sead-bench",
        description="Reproduce SEAD's benchmark: base detectors, SEAD, SEAD++, mean and max of "
        "quantiles on the benchmark tasks; APS, ROC AUC, ranks, runtime, the random-detector "
        "experiment, and SEAD's open choices as variants.",
        epilog="Without --tasks the quick suite runs (one seed unless --seeds). Data: --data, else "
        "$SEAD_DATA, else ../shared/datasets beside the checkout. Output: results.json, results.md "
        "and PNG plots in --out.",
    )
    p.add_argument("--tasks", action="append", metavar="LIST",
                   help="comma-separated task names, 'all' (the 15 benchmark tasks) or 'quick' "
                   f"({', '.join(QUICK_TASKS)}); also '{FALLBACK_TASK}'")
    p.add_argument("--seeds", metavar="N|LIST",
                   help="an integer N (seeds 0..N-1) or a comma-separated list of seeds; default 5, "
                   "or 1 for the quick suite")
    p.add_argument("--methods", action="append", metavar="LIST",
                   help="comma-separated methods to run: 'base' (every detector of the pool), a "
                   "detector name, SEAD, SEAD++, mean, max; default all. SEAD always runs (the others "
                   "are read from its run) but is only reported when selected")
    p.add_argument("--data", metavar="DIR", help="benchmark data directory")
    p.add_argument("--out", metavar="DIR", default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT}/)")
    p.add_argument("--quick", action="store_true", help="the quick suite, one seed (under a minute)")
    p.add_argument("--save-scores", action="store_true",
                   help="write scores/TASK-seedK.npz: labels y and each method's scores after the warm start")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="task×seed units run in N processes (default 1)")
    p.add_argument("--variant", action="append", metavar="NAME",
                   help="SEAD variant to evaluate (repeatable, comma-separated, 'all' or 'none'); default: "
                   "every SEAD variant (cheap, on cached scores); SEAD++ variants (pp-*) run only when named "
                   "or with 'all'. Names: " + ", ".join(list(V.VARIANTS) + list(V.PLUS_VARIANTS)))
    p.add_argument("--pool", metavar="NAME",
                   help="detector pool from sead.pools (default: 'paper' when it exists, else 'default')")
    return p


def _split(values) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def _parse_seeds(text: str | None, default: int) -> list[int]:
    if text is None:
        return list(range(default))
    text = text.strip()
    if "," not in text:
        try:
            n = int(text)
        except ValueError:
            raise SystemExit(f"sead-bench: --seeds must be an integer or a comma-separated list, got {text!r}") from None
        if n < 1:
            raise SystemExit(f"sead-bench: --seeds must be >= 1, got {n}")
        return list(range(n))
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"sead-bench: --seeds list must hold integers, got {text!r}") from None


def missing_files_message(missing: dict[str, list[str]], data_dir) -> str:
    """Where to get each missing file: URL, SHA-256, size and where to put it."""
    from ..datasets import candidate_dirs, manifest

    man = manifest()
    files = sorted({f for fs in missing.values() for f in fs})
    looked = ", ".join(str(d) for d in candidate_dirs(data_dir))
    lines = [f"sead-bench: benchmark data missing for {len(missing)} task(s): {', '.join(missing)}",
             f"  looked in: {looked}",
             "  get each file, save it under <data dir>/<path>, then pass --data <data dir> or set $SEAD_DATA:"]
    for f in files:
        e = man[f]
        lines += [f"  - {f}", f"      url:    {e.url}", f"      sha256: {e.sha256} ({e.size:,} bytes)"]
        if e.upstream_name and e.upstream_name != Path(f).name:
            lines.append(f"      (upstream file name: {e.upstream_name})")
    return "\n".join(lines)


@dataclass
class Plan:
    """What ``main`` is going to run (resolved from the arguments and the data found)."""

    tasks: list[str]
    seeds: list[int]
    pool: str
    methods: list[str] | None
    variants: list[str]
    plus_variants: list[str]
    missing: dict[str, list[str]] = field(default_factory=dict)
    message: str = ""
    fell_back: bool = False
    quick: bool = False


def plan(args: argparse.Namespace) -> Plan:
    """Resolve tasks, seeds, pool, methods and variants; find which data files are missing."""
    from ..datasets import BENCHMARK_TASKS, TASKS, find_data_dir

    quick = bool(args.quick) or not args.tasks
    names: list[str] = []
    for t in _split(args.tasks) if args.tasks else ["quick"]:
        group = {"all": BENCHMARK_TASKS, "quick": QUICK_TASKS}.get(t, (t,))
        for n in group:
            if n not in TASKS:
                raise SystemExit(f"sead-bench: unknown task {n!r}; known: all, quick, {', '.join(TASKS)}")
            if n not in names:
                names.append(n)
    seeds = _parse_seeds(args.seeds, 1 if quick else 5)
    pool = args.pool or _default_pool()
    if pool not in _pool_names():
        raise SystemExit(f"sead-bench: unknown pool {pool!r}; sead.pools has: {', '.join(_pool_names())}")
    methods = _split(args.methods) or None  # detector names are checked against the pool in main
    try:
        sead_v, plus_v = V.select(args.variant)
    except KeyError as e:
        raise SystemExit(f"sead-bench: {e.args[0]}") from None
    missing = {n: [f for f in TASKS[n].files if find_data_dir(args.data, [f]) is None] for n in names}
    missing = {n: fs for n, fs in missing.items() if fs}
    p = Plan([n for n in names if n not in missing], seeds, pool, methods, sead_v, plus_v, missing, quick=quick)
    if missing:
        p.message = missing_files_message(missing, args.data)
    if not p.tasks:
        p.tasks = [FALLBACK_TASK]
        p.fell_back = True
        p.message += (f"\nsead-bench: none of the requested tasks has its data; running {FALLBACK_TASK!r} "
                      "(ODDS shuttle as shipped with River) instead.")
    return p


def run_benchmark(
    tasks: list[BenchTask],
    config: BenchConfig,
    out_dir,
    *,
    command: str = "",
    progress: bool = True,
    plots: bool = True,
    extra_config: dict | None = None,
) -> dict:
    """Run ``tasks`` with ``config``, write results.json, results.md and the plots to ``out_dir``.

    Returns the results dict (as written to results.json, before NaN -> null).
    """
    from . import report
    from .runner import run

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config.out_dir = str(out_dir)
    sizes = {}
    for t in tasks:  # loads each task once: checks files and checksums early, sizes the progress bar
        X, _ = t.load(config.seeds[0])
        sizes[t.name] = int(X.shape[0])
    t0 = time.perf_counter()
    units = run(tasks, config, progress=progress, sizes=sizes)
    elapsed = time.perf_counter() - t0
    cfg = {
        "pool": config.pool if isinstance(config.pool, str) else getattr(config.pool, "__name__", repr(config.pool)),
        "tasks": [t.name for t in tasks],
        "seeds": list(config.seeds),
        "methods": list(config.methods) if config.methods else "all",
        "variants": list(config.variants),
        "plus_variants": list(config.plus_variants),
        "warm_start": config.warm_start,
        "jobs": config.jobs,
        "save_scores": config.save_scores,
        "elapsed_seconds": elapsed,
        **(extra_config or {}),
    }
    results = report.collect(units, config=cfg, command=command, seeds=config.seeds)
    report.write_json(results, out_dir / "results.json")
    made = {}
    if plots:
        from .plots import plot_all

        made = plot_all(results, units, out_dir)
    report.write_markdown(results, out_dir / "results.md", plots=made)
    return results


def _summary(results: dict) -> str:
    from .metrics import mean_std

    rk = results["ranks"]
    order = sorted(rk, key=lambda m: (rk[m]["mean"], rk[m]["var"]))
    lines = [f"{'method':<24} {'avg rank':>8} {'rank var':>8} {'mean APS':>8}"]
    for m in order:
        aps = [mean_std(results["tasks"][t][m]["aps"])[0] for t in results["tasks"]]
        lines.append(f"{m:<24} {rk[m]['mean']:8.2f} {rk[m]['var']:8.2f} {sum(aps) / len(aps):8.3f}")
    sp = results.get("sead_vs_plus")
    if sp:
        lines.append(f"SEAD++ vs SEAD: {sp['speedup_total_time']:.2f}x faster, mean APS {100 * sp['aps_rel_change']:+.2f} %")
    rd = results.get("random_detectors")
    if rd:
        lines.append(f"random detectors: SEAD's mean APS {100 * rd['rel_change_of_mean_aps']:+.2f} %")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sead-bench``; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    if args.jobs < 1:
        raise SystemExit(f"sead-bench: --jobs must be >= 1, got {args.jobs}")
    p = plan(args)
    if p.message:
        print(p.message, file=sys.stderr)
    from ..pools import named

    pool_names = list(named(resolve_pool(p.pool)(0)))
    if p.methods is not None:
        bad = [m for m in p.methods if m not in ALL_METHOD_GROUPS and m not in pool_names]
        if bad:
            raise SystemExit(f"sead-bench: unknown method(s) {bad}; pool {p.pool!r} has {', '.join(pool_names)}")
    tasks = [dataset_task(n, args.data) for n in p.tasks]
    config = BenchConfig(pool=p.pool, seeds=p.seeds, methods=p.methods, variants=p.variants,
                         plus_variants=p.plus_variants, save_scores=args.save_scores, jobs=args.jobs)
    out = Path(args.out)
    print(f"sead-bench: {len(tasks)} task(s) × {len(p.seeds)} seed(s), pool {p.pool!r} ({len(pool_names)} detectors), "
          f"{len(p.variants)} SEAD variant(s), {len(p.plus_variants)} SEAD++ variant(s) -> {out}/", file=sys.stderr)
    command = "sead-bench " + shlex.join(argv) if argv else "sead-bench"
    extra = {"data": args.data, "quick": p.quick, "fell_back": p.fell_back,
             "missing_tasks": sorted(p.missing)}
    results = run_benchmark(tasks, config, out, command=command, extra_config=extra)
    print(_summary(results))
    print(f"\nwrote {out / 'results.json'}, {out / 'results.md'} and plots "
          f"({results['config']['elapsed_seconds']:.1f} s)")
    return 0
