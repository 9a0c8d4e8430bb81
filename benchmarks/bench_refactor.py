"""Before / after a refactor: bench_combiner's measurements for two source trees, alternating.

    python benchmarks/bench_refactor.py --baseline BASELINE_SRC [--rounds 3] [--rows 200000]
                                        [--out benchmarks/results/refactor.md]

``BASELINE_SRC`` is the ``src`` directory of a checkout of the older commit (for issue 8:
``git worktree add <dir> c7748d7``, then ``<dir>/src``). Each round runs one fresh subprocess
per tree (baseline first in odd rounds, current first in even ones), with the same
interpreter and installed packages (the tree is chosen by ``PYTHONPATH``), on the same input
arrays (written once by this process).
Each subprocess measures, best of ``--repeat`` after a warm-up call:

* ``combine_scores`` on a (rows x 13) matrix for the four references (exact, window 1000,
  t-digest, frozen);
* ``SEAD(pools.default(seed=0)).score_learn_many`` on a synthetic 50,000 x 6 stream and on
  ODDS shuttle (rows/s);
* one event at a time, ``score_one`` then ``learn_one`` on arrays, first 5,000 rows of each.

The report gives, per measurement, the median over rounds for each tree, the spread
(min-max), and the after / before ratio of each round (same round = nearest in time, so the
load of the shared machine is as similar as it gets).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from _common import HERE, spread

WORKER = r"""
import json, sys
import numpy as np
from _common import best_of
import sead
from sead import SEAD, combine_scores, pools

rows, repeat, R_path, syn_path, sh_path = sys.argv[1:6]
rows, repeat = int(rows), int(repeat)

out = {"file": sead.__file__}
R = np.load(R_path)
for ref, window in [("exact", None), ("window", 1000), ("tdigest", None), ("frozen", None)]:
    t = best_of(lambda: combine_scores(R, reference=ref, window=window, warmup=100), repeat)
    out["combiner " + ref + (f" (N={window})" if window else "")] = len(R) / t
for label, path in [("synthetic 50,000 x 6", syn_path), ("shuttle", sh_path)]:
    if path == "-":
        continue
    X = np.load(path)
    t = best_of(lambda: SEAD(pools.default(seed=0)).score_learn_many(X), repeat)
    out[f"SEAD batch, {label}"] = len(X) / t
    n1 = min(len(X), 5000)

    def loop():
        m = SEAD(pools.default(seed=0))
        for x in X[:n1]:
            m.score_one(x)
            m.learn_one(x)

    out[f"SEAD one by one, {label}"] = n1 / best_of(loop, max(1, repeat - 1))
print("RESULT " + json.dumps(out))
"""


def run_tree(src, args, paths):
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = str(src)
    else:
        env.pop("PYTHONPATH", None)
    p = subprocess.run(
        [sys.executable, "-c", WORKER, str(args.rows), str(args.repeat), *paths],
        env=env,
        capture_output=True,
        text=True,
        cwd=HERE,  # beside _common.py; sead comes from PYTHONPATH or the installed package
        check=False,
    )
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"worker failed ({src}):\n{p.stderr[-3000:]}")


def import_as(src, name):
    """The package ``sead`` of the tree ``src`` imported as ``name`` (a copy of it under that
    name in a temporary directory: the package imports itself only relatively)."""
    import importlib
    import shutil

    root = Path(tempfile.mkdtemp())
    shutil.copytree(Path(src) / "sead", root / name, ignore=shutil.ignore_patterns("__pycache__"))
    sys.path.insert(0, str(root))
    pkg = importlib.import_module(name)
    importlib.import_module(name + ".pools")
    return pkg


def in_process(args, R, Xs, Xh):
    """Both trees in this process, each measurement alternating old / new call by call
    (the order swapped every pair): ``{name: (old rates, new rates)}``."""
    import sead as new
    import sead.pools  # noqa: F401  (``new.pools``)

    old = import_as(args.baseline, "sead_before")
    out = {}

    def pair(name, make_fn, n, reps):
        fo, fn = make_fn(old), make_fn(new)
        fo()
        fn()  # warm-up: compile or load each tree's numba cache
        ro, rn = [], []
        for i in range(reps):
            order = [(fo, ro), (fn, rn)] if i % 2 == 0 else [(fn, rn), (fo, ro)]
            for f, acc in order:
                t0 = time.perf_counter()
                f()
                acc.append(n / (time.perf_counter() - t0))
        out[name] = (ro, rn)
        print(
            f"  {name}: {statistics.median(ro):,.0f} -> {statistics.median(rn):,.0f} "
            f"({statistics.median([b / a for a, b in zip(ro, rn)]):.2f}x)",
            file=sys.stderr,
            flush=True,
        )

    for ref, window in [("exact", None), ("window", 1000), ("tdigest", None), ("frozen", None)]:
        pair(
            "combiner " + ref + (f" (N={window})" if window else ""),
            lambda m, ref=ref, window=window: (
                lambda: m.combine_scores(R, reference=ref, window=window, warmup=100)
            ),
            len(R),
            args.pairs,
        )
    for label, X in [("synthetic 50,000 x 6", Xs), ("shuttle", Xh)]:
        if X is None:
            continue
        pair(
            f"SEAD batch, {label}",
            lambda m, X=X: lambda: m.SEAD(m.pools.default(seed=0)).score_learn_many(X),
            len(X),
            args.pairs,
        )
        n1 = min(len(X), 5000)

        def one(m, X=X, n1=n1):
            def loop():
                s = m.SEAD(m.pools.default(seed=0))
                for x in X[:n1]:
                    s.score_one(x)
                    s.learn_one(x)

            return loop

        pair(f"SEAD one by one, {label}", one, n1, args.pairs)
    return out, old.__file__, new.__file__


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def machine_line(load):
    """The report's line on when and where it ran, ``load`` the 1-min load average(s)."""
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Date: {when}; {platform.machine()}, Python {platform.python_version()}, numpy "
        f"{np.__version__}; 2 cores shared with other engineers' tests and benchmarks (1-min "
        f"load average {load}).  "
    )


def write_report(args, lines):
    """Print the report and write it to ``args.out``."""
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


def report_in_process(args, R, Xs, Xh):
    la = loadavg()
    res, fo, fn = in_process(args, R, Xs, Xh)
    lb = loadavg()
    lines = [
        f"# Before / after: {args.baseline_name} vs the working tree, in one process",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --baseline <worktree of "
        f"{args.baseline_name}>/src --pairs {args.pairs} --rows {args.rows}`  ",
        machine_line(f"{la} at the start, {lb} at the end"),
        f"Before: `{args.baseline_name}` imported as `sead_before` (a copy of its `src/sead`); "
        f"after: `{fn}`. Both in the same process, each measurement timed as {args.pairs} "
        "old/new pairs back to back (order swapped every pair) after one warm-up call each; ratio "
        "= new / old of each pair.",
        "",
        "| measurement | before rows/s, median (min-max) | after rows/s, median (min-max) | "
        "ratio, median of pairs (min-max) |",
        "|---|---:|---:|---:|",
    ]
    for k, (ro, rn) in res.items():
        rs = [b / a for a, b in zip(ro, rn)]
        lines.append(f"| {k} | {spread(ro)} | {spread(rn)} | {spread(rs, '.2f', 'x')} |")
    return write_report(args, lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--baseline", type=Path, required=True, help="src dir of the old commit")
    ap.add_argument("--baseline-name", default="c7748d7")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "refactor.md")
    ap.add_argument(
        "--subprocess",
        action="store_true",
        help="one fresh process per tree and round instead of both trees in this process",
    )
    ap.add_argument("--pairs", type=int, default=7, help="old/new pairs per measurement")
    args = ap.parse_args(argv)

    from sead.cli import synthetic_stream

    tmp = Path(tempfile.mkdtemp())
    rng = np.random.default_rng(0)
    K = 13
    R = np.round(rng.gamma(2.0, size=(args.rows, K)) * rng.uniform(1, 100, K), 1)
    np.save(tmp / "R.npy", R)
    Xs, _ = synthetic_stream(50_000, seed=0)
    np.save(tmp / "syn.npy", Xs)
    sh = "-"
    try:
        from sead.datasets import load_task

        Xh, _ = load_task("shuttle", seed=0)
        np.save(tmp / "shuttle.npy", Xh)
        sh = str(tmp / "shuttle.npy")
    except (FileNotFoundError, OSError) as e:
        print(f"shuttle not measured: {e}", file=sys.stderr)
    paths = [str(tmp / "R.npy"), str(tmp / "syn.npy"), sh]
    if not args.subprocess:
        return report_in_process(args, R, Xs, None if sh == "-" else Xh)

    # warm the numba caches of both trees (compilation excluded from every round)
    warm = argparse.Namespace(rows=args.rows, repeat=1)
    run_tree(args.baseline, warm, paths[:2] + ["-"])
    run_tree(None, warm, paths[:2] + ["-"])

    before, after, loads = [], [], []
    for r in range(args.rounds):
        la = loadavg()
        if r % 2 == 0:  # ABBA order: a drift of the machine's load cancels out in pairs
            b = run_tree(args.baseline, args, paths)
            a = run_tree(None, args, paths)
        else:
            a = run_tree(None, args, paths)
            b = run_tree(args.baseline, args, paths)
        lb = loadavg()
        loads.append(f"{la}/{lb}")
        before.append(b)
        after.append(a)
        print(f"round {r + 1}: load {la} -> {lb}", file=sys.stderr, flush=True)
        for k in a:
            if k != "file":
                print(f"  {k}: {b[k]:,.0f} -> {a[k]:,.0f} ({a[k] / b[k]:.2f}x)", file=sys.stderr)

    lines = [
        f"# Before / after: {args.baseline_name} vs the working tree",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --baseline <worktree of "
        f"{args.baseline_name}>/src --rounds {args.rounds} --rows {args.rows} --repeat "
        f"{args.repeat}`  ",
        machine_line(f"before/after each round: {', '.join(loads)}"),
        f"Baseline imported from `{before[0]['file']}`, current from `{after[0]['file']}`.",
        "",
        "Rounds alternate the order (baseline first, then current first). "
        "Each cell: median over rounds of the best-of-"
        f"{args.repeat} rate (min-max over rounds). Ratio = after / before per round.",
        "",
        "| measurement | before rows/s | after rows/s | ratio median | ratio per round |",
        "|---|---:|---:|---:|---|",
    ]
    for k in after[0]:
        if k == "file":
            continue
        bs = [b[k] for b in before]
        as_ = [a[k] for a in after]
        rs = [a / b for a, b in zip(as_, bs)]
        lines.append(
            f"| {k} | {spread(bs)} | {spread(as_)} | {statistics.median(rs):.2f}x | "
            f"{', '.join(f'{x:.2f}' for x in rs)} |"
        )
    return write_report(args, lines)


if __name__ == "__main__":
    t0 = time.perf_counter()
    rc = main()
    print(f"wall {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    sys.exit(rc)
