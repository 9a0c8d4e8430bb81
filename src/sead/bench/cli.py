"""The ``sead-bench`` command (also ``python -m sead.bench``).

Without arguments it runs the quick suite (a few small tasks, one seed) on the benchmark data
it finds; ``--tasks all`` runs the 15-task benchmark (5 seeds unless ``--seeds``). On a
machine without the data it says where to get each file and falls back to the copy of
Shuttle that ships with River, so the command still does real work — but only when no task
was named: naming tasks whose data is missing is an error (exit status 1) that lists the
missing files.

``--suite nab`` runs sead models on the whole Numenta Anomaly Benchmark instead and scores them
as NAB does (:mod:`sead.bench.nab_suite`): ``--model`` picks what runs (repeatable), ``--series``
a subset; the table beside NAB's published scoreboard goes to ``results_nab.md`` and
``results_nab.json`` in ``--out``. The benchmark's own options (``--tasks``, ``--methods``, …) do
not apply to it and are usage errors there, as the NAB options are for the benchmark.

Bad arguments (a negative or repeated seed, an empty or unknown task list, an unknown method,
pool or variant, ``--jobs 0``, …) are usage errors: a message and exit status 2, before
anything runs. An output directory that cannot be written is an error (exit status 1), also
checked before anything runs.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import variants as V
from .runner import (
    ALL_METHOD_GROUPS,
    RANDOM_COUNTS,
    BenchConfig,
    BenchTask,
    dataset_task,
    resolve_pool,
)

__all__ = [
    "main",
    "build_parser",
    "plan",
    "Plan",
    "run_benchmark",
    "UsageError",
    "BenchError",
    "QUICK_TASKS",
    "FALLBACK_TASK",
    "plan_nab",
    "NABPlan",
    "run_nab_suite",
]

#: The quick suite: small tasks of each kind (about 40k rows in all).
QUICK_TASKS = ("cardio", "thyroid", "satimage-2", "annthyroid", "mammography", "nab-nyc-taxi")
#: Runs without any data directory (River ships it).
FALLBACK_TASK = "river-shuttle"
DEFAULT_OUT = "sead-bench-out"


class UsageError(ValueError):
    """A bad command-line argument: ``main`` prints it with the usage and exits with status 2."""


class BenchError(RuntimeError):
    """The command cannot run as asked (data missing for named tasks, output not writable):
    ``main`` prints it and exits with status 1."""


def _pool_names() -> list[str]:
    from .. import pools

    return [
        n
        for n in getattr(pools, "__all__", [])
        if n != "named" and callable(getattr(pools, n, None))
    ]


def _check_pool(pool: str) -> str:
    """``pool``, once it is the name of a pool of :mod:`sead.pools` (UsageError if not)."""
    if pool not in _pool_names():
        raise UsageError(f"unknown pool {pool!r}; sead.pools has: {', '.join(_pool_names())}")
    return pool


def _default_pool() -> str:
    from .. import pools

    return "paper" if callable(getattr(pools, "paper", None)) else "default"


def _version() -> str:
    from .. import __version__

    return f"sead-bench (sead {__version__})"


def _add_run_options(p: argparse.ArgumentParser) -> None:
    """What to run: tasks, seeds, methods, data, pool, variants."""
    p.add_argument(
        "--tasks",
        action="append",
        metavar="LIST",
        help="comma-separated task names, 'all' (the 15 benchmark tasks) or 'quick' "
        f"({', '.join(QUICK_TASKS)}); also '{FALLBACK_TASK}'",
    )
    p.add_argument(
        "--seeds",
        metavar="N|LIST",
        help="an integer N (seeds 0..N-1) or a comma-separated list of distinct seeds >= 0; "
        "default 5, or 1 for the quick suite",
    )
    p.add_argument(
        "--methods",
        action="append",
        metavar="LIST",
        help="comma-separated methods to run: 'base' (every detector of the pool), a "
        "detector name, SEAD, SEAD++, mean, max; default all. SEAD always runs (the others "
        "are read from its run) but is only reported when selected",
    )
    p.add_argument("--data", metavar="DIR", help="benchmark data directory")
    p.add_argument(
        "--quick", action="store_true", help="the quick suite, one seed (under a minute)"
    )
    p.add_argument(
        "--variant",
        action="append",
        metavar="NAME",
        help="SEAD variant to evaluate (repeatable, comma-separated, 'all' or 'none'); default: "
        "every SEAD variant (cheap, on cached scores); SEAD++ variants (pp-*) run only when named "
        "or with 'all'. Names: " + ", ".join(list(V.VARIANTS) + list(V.PLUS_VARIANTS)),
    )
    p.add_argument(
        "--pool",
        metavar="NAME",
        help="detector pool from sead.pools (default: 'paper' when it exists, else 'default')",
    )


def _add_experiment_options(p: argparse.ArgumentParser) -> None:
    """The accuracy experiments: random-detector curve, SEAD++ curve, seed groups."""
    p.add_argument(
        "--random-counts",
        metavar="LIST",
        help="numbers of uniform-random detectors of the random-detector curve, comma-separated "
        f"(default {','.join(map(str, RANDOM_COUNTS))}; 'none': no curve)",
    )
    p.add_argument(
        "--pp-curve",
        nargs="?",
        const="default",
        metavar="LIST",
        help="also run SEAD++'s accuracy-speed curve: SEAD++ at each n_sampled of LIST "
        "(default 2,4,6,9,13 for a pool of 13; a share of the pool otherwise); costs one SEAD++ "
        "run per value and unit",
    )
    p.add_argument(
        "--confirm-seeds",
        metavar="LIST",
        help="seeds reported as a separate confirmation group (the variant table on the other "
        "seeds and on these); default: the last two fifths of the seeds when at least 4 ran "
        "(3,4 of 0-4); 'none': no split",
    )


def _add_nab_options(p: argparse.ArgumentParser) -> None:
    """``--suite nab``: the models, the series, the features, the alert signal, the cross-check."""
    from .nab_suite import ALERT_VARIANTS, FEATURES

    g = p.add_argument_group("--suite nab (the Numenta Anomaly Benchmark)")
    g.add_argument(
        "--model",
        action="append",
        metavar="SPEC",
        help="model to run (repeatable, comma-separated): 'sead' (SEAD on the pool, its ranking "
        "score), 'sead:POOL', 'det:NAME' (one detector of the pool, normalised as "
        "SEAD([detector])), "
        "each optionally followed by '+alert' (sead.alerting.AlertSignal on its score) or "
        "'+alert:VARIANT' (" + ", ".join(ALERT_VARIANTS) + "); default: sead,sead+alert",
    )
    g.add_argument(
        "--series",
        metavar="LIST",
        help="NAB series to run: 'all' (default), 'ci' (three short series) or comma-separated "
        "names like realKnownCause/nyc_taxi.csv",
    )
    g.add_argument(
        "--features",
        choices=FEATURES,
        default=None,
        help="the model's input: the value shingled over the last --shingle rows (default), or "
        "that "
        "and the shingle of its first differences",
    )
    g.add_argument(
        "--shingle", type=int, default=None, metavar="N", help="shingle width (default 10)"
    )
    g.add_argument(
        "--alert-params",
        metavar="K=V,...",
        help="AlertSignal parameters for every alert model, e.g. suppress=50,range_window=None",
    )
    g.add_argument(
        "--cross-check",
        nargs="?",
        const=0,
        type=int,
        default=None,
        metavar="SEED",
        help="also run every alert variant and choose (variant, threshold) on a random half of the "
        "series (numpy.random.default_rng(SEED), default 0), scored on the other half",
    )
    g.add_argument(
        "--cross-check-splits",
        type=int,
        default=None,
        metavar="N",
        help="further random splits summarised by the cross-check (default 20)",
    )
    g.add_argument(
        "--plot-series",
        metavar="LIST",
        help="series to plot (comma-separated names, or 'none'); default a fixed few of those run",
    )
    g.add_argument(
        "--no-nab-files",
        action="store_true",
        help="do not write the per-row scores in NAB's results layout",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``sead-bench``."""
    p = argparse.ArgumentParser(
        prog="sead-bench",
        description="Reproduce SEAD's benchmark: base detectors, SEAD, SEAD++, mean and max of "
        "quantiles on the benchmark tasks; APS, ROC AUC, ranks, runtime, the random-detector "
        "experiment, and SEAD's open choices as variants.",
        epilog="Without --tasks the quick suite runs (one seed unless --seeds). Data: --data, else "
        "$SEAD_DATA, else ../shared/datasets beside the checkout; without data for the quick suite "
        "it runs river-shuttle, but named tasks without data are an error. Output: results.json, "
        "results.md and PNG plots in --out.",
    )
    p.add_argument(
        "--suite",
        choices=("benchmark", "nab"),
        default="benchmark",
        help="'benchmark' (default): the 15-task comparison; 'nab': the Numenta Anomaly Benchmark",
    )
    _add_run_options(p)
    p.add_argument(
        "--out",
        metavar="DIR",
        default=DEFAULT_OUT,
        help=f"output directory (default {DEFAULT_OUT}/)",
    )
    p.add_argument(
        "--save-scores",
        action="store_true",
        help="write scores/TASK-seedK.npz: labels y and each method's scores after the warm start",
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=1,
        metavar="N",
        help="task×seed units run in N processes (default 1)",
    )
    _add_experiment_options(p)
    _add_nab_options(p)
    p.add_argument("--version", action="version", version=_version())
    return p


def _split(values) -> list[str]:
    return [x.strip() for v in values or [] for x in v.split(",") if x.strip()]


def _int_list(text: str, option: str, minimum: int) -> list[int]:
    """A comma-separated list of distinct integers >= ``minimum`` (UsageError otherwise)."""
    items = [x.strip() for x in text.split(",")]
    if not any(items):
        raise UsageError(f"{option} is an empty list, got {text!r}")
    try:
        values = [int(x) for x in items if x]
    except ValueError:
        raise UsageError(f"{option} list must hold integers, got {text!r}") from None
    bad = [v for v in values if v < minimum]
    if bad:
        raise UsageError(f"{option} values must be >= {minimum}, got {bad[0]} in {text!r}")
    dup = sorted({v for v in values if values.count(v) > 1})
    if dup:
        raise UsageError(
            f"{option} lists {dup[0]} more than once in {text!r}; each value may appear once"
        )
    return values


def _parse_seeds(text: str | None, default: int) -> list[int]:
    """``--seeds``: ``N`` (seeds 0..N-1) or a list of distinct seeds >= 0."""
    if text is None:
        return list(range(default))
    text = text.strip()
    if "," not in text:
        try:
            n = int(text)
        except ValueError:
            raise UsageError(
                f"--seeds must be an integer or a comma-separated list, got {text!r}"
            ) from None
        if n < 1:
            raise UsageError(f"--seeds must be >= 1 (the number of seeds), got {n}")
        return list(range(n))
    return _int_list(text, "--seeds", 0)


def _parse_tasks(values) -> tuple[list[str], bool]:
    """``--tasks``: the task names in order (groups expanded) and whether tasks were named."""
    from ..datasets import BENCHMARK_TASKS, TASKS

    if not values:
        return list(QUICK_TASKS), False
    given = _split(values)
    if not given:
        raise UsageError(
            "--tasks is an empty list; give task names, 'all' or 'quick' (tasks: "
            f"{', '.join(TASKS)})"
        )
    names: list[str] = []
    for t in given:
        for n in {"all": BENCHMARK_TASKS, "quick": QUICK_TASKS}.get(t, (t,)):
            if n not in TASKS:
                raise UsageError(f"unknown task {n!r}; known: all, quick, {', '.join(TASKS)}")
            if n not in names:
                names.append(n)
    return names, True


def _parse_methods(values) -> list[str] | None:
    if values is None:
        return None
    methods = _split(values)
    if not methods:
        raise UsageError(
            f"--methods is an empty list; give {', '.join(ALL_METHOD_GROUPS)} or detector names"
        )
    return methods


def missing_files_message(missing: dict[str, list[str]], data_dir) -> str:
    """Where to get each missing file: URL, SHA-256, size and where to put it."""
    from ..datasets import candidate_dirs, manifest

    man = manifest()
    files = sorted({f for fs in missing.values() for f in fs})
    looked = ", ".join(
        str(d) + ("" if d.is_dir() else " (no such directory)") for d in candidate_dirs(data_dir)
    )
    lines = [
        f"sead-bench: benchmark data missing for {len(missing)} task(s): {', '.join(missing)}",
        f"  looked in: {looked}",
        "  get each file, save it under <data dir>/<path>, then pass --data <data dir> or set "
        "$SEAD_DATA:",
    ]
    for f in files:
        e = man[f]
        lines += [
            f"  - {f}",
            f"      url:    {e.url}",
            f"      sha256: {e.sha256} ({e.size:,} bytes)",
        ]
        if e.upstream_name and e.upstream_name != Path(f).name:
            lines.append(f"      (upstream file name: {e.upstream_name})")
    return "\n".join(lines)


@dataclass
class Plan:
    """What ``main`` is going to run (resolved from the arguments and the data found).

    Attributes
    ----------
    tasks
        The tasks to run (those whose data was found, or the fallback task).
    seeds
        The seeds.
    pool
        The name of the :mod:`sead.pools` pool.
    methods
        The methods to run (``None``: all).
    variants, plus_variants
        The SEAD and SEAD++ variants to evaluate.
    missing
        ``{task: [missing data files]}``.
    message
        What to tell the user about missing data and what runs instead (empty: nothing).
    fell_back
        Whether no task had its data, so the fallback task (``river-shuttle``) runs.
    quick
        Whether this is the quick suite.
    named
        Whether the tasks were named with ``--tasks``.
    random_counts
        The numbers of random detectors of the random-detector curve.
    pp_curve
        ``--pp-curve`` as given (``None``: no curve; ``"default"``: the default points).
    confirm_seeds
        The confirmation seed group (``None``: the default rule).
    """

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
    named: bool = False
    random_counts: list[int] = field(default_factory=lambda: list(RANDOM_COUNTS))
    pp_curve: str | None = None
    confirm_seeds: list[int] | None = None


def _parse_experiments(args, seeds: list[int]) -> tuple[list[int], str | None, list[int] | None]:
    """``--random-counts``, ``--pp-curve`` (checked against the pool later) and
    ``--confirm-seeds``."""
    rc = getattr(args, "random_counts", None)
    counts = (
        list(RANDOM_COUNTS)
        if rc is None
        else []
        if rc.strip() == "none"
        else _int_list(rc, "--random-counts", 1)
    )
    pp = getattr(args, "pp_curve", None)
    if pp is not None and pp != "default":
        _int_list(pp, "--pp-curve", 1)
    cs = getattr(args, "confirm_seeds", None)
    confirm = None
    if cs is not None:
        confirm = [] if cs.strip() == "none" else _int_list(cs, "--confirm-seeds", 0)
        stray = [s for s in confirm if s not in seeds]
        if stray:
            raise UsageError(f"--confirm-seeds {stray[0]} is not one of the seeds run ({seeds})")
        if confirm and len(confirm) == len(seeds):
            raise UsageError("--confirm-seeds must leave at least one seed for the selection group")
    return counts, pp, confirm


def _find_missing(names: list[str], data_dir) -> dict[str, list[str]]:
    from ..datasets import TASKS, find_data_dir

    missing = {
        n: [f for f in TASKS[n].files if find_data_dir(data_dir, [f]) is None] for n in names
    }
    return {n: fs for n, fs in missing.items() if fs}


def plan(args: argparse.Namespace) -> Plan:
    """Resolve tasks, seeds, pool, methods and variants; find which data files are missing.

    Without named tasks the tasks whose data is missing are dropped, and with none left
    ``river-shuttle`` runs.

    Parameters
    ----------
    args
        The parsed command line of ``sead-bench``.

    Returns
    -------
    Plan
        What to run.

    Raises
    ------
    UsageError
        For a bad argument.
    BenchError
        When tasks were named but some of their data is missing (the message lists the files).
    """
    names, named = _parse_tasks(args.tasks)
    quick = bool(args.quick) or not named
    seeds = _parse_seeds(args.seeds, 1 if quick else 5)
    pool = _check_pool(args.pool or _default_pool())
    methods = _parse_methods(args.methods)  # detector names are checked against the pool in main
    try:
        sead_v, plus_v = V.select(args.variant)
    except KeyError as e:
        raise UsageError(e.args[0]) from None
    counts, pp, confirm = _parse_experiments(args, seeds)
    missing = _find_missing(names, args.data)
    p = Plan(
        [n for n in names if n not in missing],
        seeds,
        pool,
        methods,
        sead_v,
        plus_v,
        missing,
        quick=quick,
        named=named,
        random_counts=counts,
        pp_curve=pp,
        confirm_seeds=confirm,
    )
    if missing:
        p.message = missing_files_message(missing, args.data)
        if named:
            raise BenchError(
                p.message
                + f"\nsead-bench: error: no data for the named task(s) {', '.join(missing)}; "
                "get the files above, or leave out --tasks to run what is available"
            )
    if not p.tasks:
        p.tasks = [FALLBACK_TASK]
        p.fell_back = True
        p.message += (
            "\nsead-bench: none of the quick suite's tasks has its data; running "
            f"{FALLBACK_TASK!r} "
            "(ODDS shuttle as shipped with River) instead."
        )
    elif missing:
        p.message += (
            f"\nsead-bench: running the {len(p.tasks)} task(s) whose data was found: "
            f"{', '.join(p.tasks)}"
        )
    return p


def default_pp_curve(pool_size: int) -> list[int]:
    """SEAD++ sample sizes of the accuracy-speed curve: 2, 4, 6, 9, 13 of 13 detectors; the same
    shares of another pool (at least 1, at most the pool).

    Examples
    --------
    >>> default_pp_curve(13), default_pp_curve(5)
    ([2, 4, 6, 9, 13], [1, 2, 3, 5])
    """
    shares = (2 / 13, 4 / 13, 6 / 13, 9 / 13, 1.0)
    return sorted({min(pool_size, max(1, round(s * pool_size))) for s in shares})


def _resolve_pp_curve(text: str | None, pool_size: int) -> list[int]:
    if text is None:
        return []
    if text == "default":
        return default_pp_curve(pool_size)
    values = _int_list(text, "--pp-curve", 1)
    big = [v for v in values if v > pool_size]
    if big:
        raise UsageError(f"--pp-curve {big[0]} is more than the pool's {pool_size} detectors")
    return values


def check_out_dir(out) -> Path:
    """Create ``out`` if needed and check that a file can be written there (BenchError if not)."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BenchError(f"--out {out} exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        raise BenchError(f"--out {out} is not a writable directory: {e.strerror or e}") from None
    return out


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

    Parameters
    ----------
    tasks
        The tasks to run.
    config
        What to run; its ``out_dir`` is set to ``out_dir``.
    out_dir
        The output directory (created if needed).
    command
        The command line, recorded in the results.
    progress
        Show the progress bar (see :func:`sead.bench.runner.run`).
    plots
        Also write the PNG plots.
    extra_config
        More entries for the results' ``config``.

    Returns
    -------
    dict
        The results (as written to results.json, before NaN -> null).
    """
    from . import report
    from .runner import run

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    config.out_dir = str(out_dir)
    sizes = {}
    # load each task once: checks files and checksums early, sizes the progress bar
    for t in tasks:
        X, _ = t.load(config.seeds[0])
        sizes[t.name] = int(X.shape[0])
    t0 = time.perf_counter()
    units = run(tasks, config, progress=progress, sizes=sizes)
    elapsed = time.perf_counter() - t0
    cfg = {
        "pool": config.pool
        if isinstance(config.pool, str)
        else getattr(config.pool, "__name__", repr(config.pool)),
        "tasks": [t.name for t in tasks],
        "seeds": list(config.seeds),
        "methods": list(config.methods) if config.methods else "all",
        "variants": list(config.variants),
        "plus_variants": list(config.plus_variants),
        "warm_start": config.warm_start,
        "jobs": config.jobs,
        "save_scores": config.save_scores,
        "elapsed_seconds": elapsed,
        "random_counts": list(config.random_counts),
        "pp_curve": list(config.pp_curve),
        "confirm_seeds": None if config.confirm_seeds is None else list(config.confirm_seeds),
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


def _summary_rows(results: dict) -> list[str]:
    from .metrics import mean_std

    rk = results["ranks"]
    one_task = not results.get("spreads", {}).get("rank_variance_defined", True)
    order = sorted(rk, key=lambda m: (rk[m]["mean"], rk[m]["var"]))
    lines = [f"{'method':<24} {'avg rank':>8} {'rank var':>8} {'mean APS':>8}"]
    for m in order:
        aps = [mean_std(results["tasks"][t][m]["aps"])[0] for t in results["tasks"]]
        var = f"{'n/a':>8}" if one_task else f"{rk[m]['var']:8.2f}"
        lines.append(f"{m:<24} {rk[m]['mean']:8.2f} {var} {sum(aps) / len(aps):8.3f}")
    if one_task:
        lines.append("(rank variance: n/a (one task))")
    return lines


def _summary(results: dict) -> str:
    """The lines printed on stdout at the end of a run."""
    lines = _summary_rows(results)
    sp = results.get("sead_vs_plus")
    if sp:
        lines.append(
            f"SEAD++ vs SEAD: {sp['speedup_total_time']:.2f}x faster, mean APS "
            f"{100 * sp['aps_rel_change']:+.2f} %"
        )
    rd = results.get("random_detectors")
    if rd:
        lines.append(
            f"random detectors: SEAD's mean APS {100 * rd['rel_change_of_mean_aps']:+.2f} %"
        )
    rc = results.get("random_curve")
    if rc:
        lines.append(
            "random-detector curve: "
            + ", ".join(
                f"+{p['n_random']}: {100 * p['rel_change_of_mean_aps']:+.2f} %"
                for p in rc["points"][1:]
                if math.isfinite(p["rel_change_of_mean_aps"])
            )
        )
    orc = results.get("oracle")
    if orc and math.isfinite(orc["mean_fraction"]):
        lines.append(f"SEAD / per-task oracle APS: {orc['mean_fraction']:.3f} on average")
    tp = results.get("throughput", {}).get("SEAD")
    if tp and math.isfinite(tp["rows_per_s"]):
        lines.append(f"SEAD measured throughput: {tp['rows_per_s']:,.0f} rows/s (score + learn)")
    return "\n".join(lines)


def _check_methods(p: Plan) -> list[str]:
    """The pool's detector names; a ``--methods`` entry that is neither one nor a group is an
    error."""
    from ..pools import named

    pool_names = list(named(resolve_pool(p.pool)(0)))
    if p.methods is not None:
        bad = [m for m in p.methods if m not in ALL_METHOD_GROUPS and m not in pool_names]
        if bad:
            raise UsageError(
                f"unknown method(s) {bad}; pool {p.pool!r} has {', '.join(pool_names)}; "
                f"groups: {', '.join(ALL_METHOD_GROUPS)}"
            )
    return pool_names


def _prepare(argv: list[str], parser: argparse.ArgumentParser):
    """Parse and check everything before anything runs: ``(args, plan, config, pool names,
    out)``."""
    args = parser.parse_args(argv)
    if args.jobs < 1:
        raise UsageError(f"--jobs must be >= 1, got {args.jobs}")
    p = plan(args)
    pool_names = _check_methods(p)
    pp = _resolve_pp_curve(p.pp_curve, len(pool_names))
    out = check_out_dir(args.out)
    config = BenchConfig(
        pool=p.pool,
        seeds=p.seeds,
        methods=p.methods,
        variants=p.variants,
        plus_variants=p.plus_variants,
        save_scores=args.save_scores,
        jobs=args.jobs,
        random_counts=p.random_counts,
        pp_curve=pp,
        confirm_seeds=p.confirm_seeds,
    )
    return args, p, config, pool_names, out


#: options of the benchmark suite (``--suite benchmark``) and their defaults
_BENCH_ONLY = {
    "tasks": None,
    "methods": None,
    "quick": False,
    "variant": None,
    "random_counts": None,
    "pp_curve": None,
    "confirm_seeds": None,
    "save_scores": False,
    "jobs": 1,
}
#: options of ``--suite nab`` and their defaults
_NAB_ONLY = {
    "model": None,
    "series": None,
    "features": None,
    "shingle": None,
    "alert_params": None,
    "cross_check": None,
    "cross_check_splits": None,
    "plot_series": None,
    "no_nab_files": False,
}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _check_suite_options(args) -> None:
    """Options of the other suite are usage errors (not silently ignored)."""
    wrong = _BENCH_ONLY if args.suite == "nab" else _NAB_ONLY
    given = [_flag(k) for k, default in wrong.items() if getattr(args, k, default) != default]
    if given:
        other = "the benchmark suite" if args.suite == "nab" else "--suite nab"
        raise UsageError(
            f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} to {other} only, "
            f"not to --suite {args.suite}"
        )


@dataclass
class NABPlan:
    """What ``--suite nab`` is going to run (resolved from the arguments).

    Attributes
    ----------
    config
        The :class:`sead.bench.nab_suite.NABConfig`.
    out
        The output directory.
    corpus
        The NAB corpus, loaded once (``None``: loaded when run).
    """

    config: object
    out: Path
    corpus: object = None


def plan_nab(args: argparse.Namespace) -> NABPlan:
    """Resolve and check ``--suite nab``'s arguments.

    Parameters
    ----------
    args
        The parsed command line of ``sead-bench --suite nab``.

    Returns
    -------
    NABPlan
        What to run: the suite's configuration, the output directory and the corpus.

    Raises
    ------
    UsageError
        For a bad argument.
    BenchError
        When the corpus is missing or ``--out`` is not writable.
    """
    from ..datasets import DatasetNotFoundError
    from .nab_suite import NABConfig, parse_alert_params, parse_model, select_series

    models = _split(args.model) if args.model is not None else ["sead", "sead+alert"]
    if args.model is not None and not models:
        raise UsageError(
            "--model is an empty list; give models like sead, sead+alert or det:LODA-1"
        )
    pool = _check_pool(args.pool or "default")
    labels = []
    for m in models:
        try:
            labels.append(parse_model(m, pool).label)
        except ValueError as e:
            raise UsageError(str(e)) from None
    dup = sorted({x for x in labels if labels.count(x) > 1})
    if dup:
        raise UsageError(f"--model lists {dup[0]!r} more than once")
    try:
        alert_params = parse_alert_params(args.alert_params)
    except ValueError as e:
        raise UsageError(f"--alert-params: {e}") from None
    shingle = 10 if args.shingle is None else args.shingle
    if shingle < 1:
        raise UsageError(f"--shingle must be >= 1, got {shingle}")
    seeds = _parse_seeds(args.seeds, 1)
    if args.cross_check is not None and args.cross_check < 0:
        raise UsageError(f"--cross-check seed must be >= 0, got {args.cross_check}")
    splits = 20 if args.cross_check_splits is None else args.cross_check_splits
    if splits < 0:
        raise UsageError(f"--cross-check-splits must be >= 0, got {splits}")
    if args.cross_check_splits is not None and args.cross_check is None:
        raise UsageError("--cross-check-splits needs --cross-check")
    plots, plot_series = True, None
    if args.plot_series is not None:
        if args.plot_series.strip() == "none":
            plots = False
        else:
            plot_series = [x.strip() for x in args.plot_series.split(",") if x.strip()]
            if not plot_series:
                raise UsageError("--plot-series is an empty list; give series names or 'none'")
    series = args.series.strip() if args.series is not None else None
    if series is not None and not series:
        raise UsageError("--series is an empty list; give 'all', 'ci' or series names")
    try:
        from ..datasets.nab import load_nab_corpus

        corpus = load_nab_corpus(args.data)
    except DatasetNotFoundError as e:
        raise BenchError(str(e)) from None
    try:
        chosen = select_series(corpus, series)
        if not any(len(corpus[n].window_rows) for n in chosen):
            raise ValueError(
                "the series chosen hold no anomaly window, so NAB's normalised score is "
                "undefined; add series with windows"
            )
        if plot_series:
            select_series(corpus, plot_series)
    except ValueError as e:
        raise UsageError(str(e)) from None
    if args.cross_check is not None and not any("+alert" in m for m in models):
        raise UsageError(
            "--cross-check compares alert variants: add an alert model (e.g. --model sead+alert)"
        )
    out = check_out_dir(args.out)
    config = NABConfig(
        models=models,
        series=series,
        features=args.features or "shingle",
        shingle=shingle,
        pool=pool,
        seed=seeds[0],
        seeds=seeds,
        alert_params=alert_params,
        cross_check=args.cross_check,
        cross_check_splits=splits,
        plot_series=plot_series,
        plots=plots,
        nab_files=not args.no_nab_files,
        data_dir=args.data,
    )
    return NABPlan(config, out, corpus)


def run_nab_suite(plan: NABPlan, command: str) -> dict:
    """Run ``--suite nab`` as planned and write its outputs.

    Parameters
    ----------
    plan
        From :func:`plan_nab`.
    command
        The command line, recorded in the results.

    Returns
    -------
    dict
        The results of :func:`sead.bench.nab_suite.run_nab`, with ``"_written"``: what
        :func:`sead.bench.nab_suite.write_outputs` wrote.
    """
    from .nab_suite import run_nab, write_outputs

    results = run_nab(plan.config, command=command, corpus=plan.corpus)
    made = write_outputs(
        results,
        plan.out,
        corpus=plan.corpus,
        plots=plan.config.plots,
        nab_files=plan.config.nab_files,
        plot_series=plan.config.plot_series,
    )
    results["_written"] = made
    return results


def _nab_summary(results: dict) -> str:
    from .nab_suite import PROFILE_NAMES

    def row(label: str, scores) -> str:
        """``label``, then one score per profile (in ``PROFILE_NAMES`` order) under the header."""
        return f"{label:<28} " + " ".join(
            f"{v:{9 if i == 0 else 8}.2f}" for i, v in enumerate(scores)
        )

    lines = [
        f"{'model':<28} {'standard':>9} {'low FP':>8} {'low FN':>8} {'threshold':>10} "
        f"{'windows':>8} "
        f"{'FP rows':>8} {'seconds':>8}"
    ]
    for m in results["models"]:
        pr = m["profiles"]
        st = pr["standard"]
        lines.append(
            row(m["name"], (pr[p]["score"] for p in PROFILE_NAMES))
            + f" {st['threshold']:10.4g} {st['detected_windows']:>4}/{st['n_windows']:<3} "
            f"{st['fp_rows']:8d} "
            f"{m['seconds']:8.1f}"
        )
        if "at_default_threshold" in m:
            d = m["at_default_threshold"]
            lines.append(
                row("  at the default threshold", (d[p]["score"] for p in PROFILE_NAMES))
                + f" {m['alert_params']['threshold']:10.4g}"
            )
        if "over_seeds" in m:
            o = m["over_seeds"]
            lines.append(row("  mean over seeds", (o[p][0] for p in PROFILE_NAMES)))
    pub = results["published"]["scores"]
    for det in (
        "ARTime",
        "numenta",
        "contextOSE",
        "knncad",
        "randomCutForest",
        "windowedGaussian",
        "random",
        "null",
    ):
        if det in pub:
            lines.append(row("(published) " + det, (pub[det][p] for p in PROFILE_NAMES)))
    return "\n".join(lines)


def _main_nab(args, argv) -> int:
    p = plan_nab(args)
    c = p.config
    print(
        f"sead-bench: NAB, {len(c.models)} model(s) ({', '.join(c.models)}), features {c.features} "
        f"(width {c.shingle}), pool {c.pool!r}, seed(s) {', '.join(map(str, c.seeds))} -> {p.out}/",
        file=sys.stderr,
    )
    command = "sead-bench " + shlex.join(argv)
    results = run_nab_suite(p, command)
    print(_nab_summary(results))
    made = results["_written"]
    print(
        f"\nwrote {made['md']}, {made['json']}"
        + (f", {made['nab_results']}/" if "nab_results" in made else "")
        + (f" and {len(made['plots'])} plot(s)" if made["plots"] else "")
        + f" ({results['elapsed_seconds']:.1f} s)"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``sead-bench``.

    Parameters
    ----------
    argv
        The arguments after the program name (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status: 0 done, 1 cannot run (e.g. missing data), 2 usage error.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        _check_suite_options(args)
        if args.suite == "nab":
            return _main_nab(args, argv)
        args, p, config, pool_names, out = _prepare(argv, parser)
    except UsageError as e:
        parser.error(str(e))  # exits with status 2
    except BenchError as e:
        print(
            f"sead-bench: error: {e}" if not str(e).startswith("sead-bench") else str(e),
            file=sys.stderr,
        )
        return 1
    if p.message:
        print(p.message, file=sys.stderr)
    tasks = [dataset_task(n, args.data) for n in p.tasks]
    print(
        f"sead-bench: {len(tasks)} task(s) × {len(p.seeds)} seed(s), pool {p.pool!r} "
        f"({len(pool_names)} detectors), "
        f"{len(p.variants)} SEAD variant(s), {len(p.plus_variants)} SEAD++ variant(s) -> {out}/",
        file=sys.stderr,
    )
    print(
        "sead-bench: the progress bar counts rows of benchmark work (every method and experiment); "
        "its rate is not a model's throughput (see results.md)",
        file=sys.stderr,
    )
    command = "sead-bench " + shlex.join(argv) if argv else "sead-bench"
    extra = {
        "data": args.data,
        "quick": p.quick,
        "fell_back": p.fell_back,
        "missing_tasks": sorted(p.missing),
    }
    results = run_benchmark(tasks, config, out, command=command, extra_config=extra)
    print(_summary(results))
    print(
        f"\nwrote {out / 'results.json'}, {out / 'results.md'} and plots "
        f"({results['config']['elapsed_seconds']:.1f} s)"
    )
    return 0
