"""Parity of sead's RRCF with PySAD's RobustRandomCutForest and the rrcf package.

Protocol (the issue's): ODDS shuttle, cardio, thyroid, mammography, satimage-2; rows cut into
chunks of 50 shuffled with ``np.random.default_rng(0)``; the first 10,000 rows; prequential
score-then-learn; average precision on every row after the first 100.

Models, all at PySAD's defaults (100 trees of 256 points, no shingling):

* PySAD ``RobustRandomCutForest()`` — each tree on its own uniform reservoir sample of the
  stream (``decay=0``), scored one point at a time (``score_partial`` then
  ``fit_partial``); compared with sead's ``RRCF()`` (same sampling, same defaults);
* the ``rrcf`` package's streaming recipe — 100 ``RCTree`` over the sliding window of the last
  256 points: ``insert_point``, ``codisp`` of the new leaf, ``forget_point`` of the oldest;
  compared with sead's ``RRCF(decay=inf)`` (the same sliding window).

Speed: score+learn rows per CPU second on shuttle — ours with ``score_learn_many`` on the 10,000
rows after a warm-up call (compilation excluded), best of 3; theirs with their one-by-one loop on
the first 2,000 rows.

Run ``python benchmarks/parity_rrcf.py``. It takes hours: the reference loops run at some tens
of rows/s (``--pysad-seeds`` and ``--rrcf-seeds`` set how many seeds of each, 3 by default, and
``--jobs`` how many run in parallel). ``--cache DIR`` keeps each reference run's result in
``DIR``, so that a re-run (e.g. after changing sead's code) does not repeat them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from sklearn.metrics import average_precision_score

DATASETS = ["shuttle", "cardio", "thyroid", "mammography", "satimage-2"]
N_ROWS, WARM, CHUNK = 10_000, 100, 50
N_TREES, TREE_SIZE = 100, 256  # PySAD's defaults
SPEED_ROWS_THEIRS = 2_000
# Candidate settings for the ensemble's pool (each well under ~1.5 us per row on shuttle).
POOL = [
    {"n_trees": 1, "tree_size": 256},
    {"n_trees": 4, "tree_size": 32},
    {"n_trees": 4, "tree_size": 128},
    {"n_trees": 2, "tree_size": 128, "decay": 0.01},
]


def load(name):
    import sead.datasets as sd

    X, y = sd.shuffle_chunks(*sd.TASKS[name].loader(), chunk_size=CHUNK, seed=0)
    return X[:N_ROWS], y[:N_ROWS]


def aps(y, s):
    return float(average_precision_score(y[WARM:], s[WARM:]))


# ---- the reference loops ------------------------------------------------------------------------


def run_pysad(X, seed):
    from pysad.models import RobustRandomCutForest

    model = RobustRandomCutForest(random_state=seed)
    out = np.empty(len(X))
    t0 = time.process_time()
    for i, x in enumerate(X):
        out[i] = model.score_partial(x)
        model.fit_partial(x)
    return out, time.process_time() - t0


def run_rrcf(X, seed):
    import rrcf

    forest = [rrcf.RCTree(random_state=seed * 1000 + k) for k in range(N_TREES)]
    out = np.empty(len(X))
    t0 = time.process_time()
    for i, x in enumerate(X):
        total = 0.0
        for tree in forest:
            tree.insert_point(x, index=i)
            total += tree.codisp(i)
            if len(tree.leaves) > TREE_SIZE:
                tree.forget_point(i - TREE_SIZE)
        out[i] = total / N_TREES
    return out, time.process_time() - t0


REFERENCES = {"pysad": run_pysad, "rrcf": run_rrcf}


def reference_task(kind, name, seed, n_rows, cache):
    """APS (or, with n_rows, only the speed) of one reference run; cached as JSON in ``cache``."""
    path = None
    if cache:
        speed = "-cpu" if n_rows != N_ROWS else ""
        path = os.path.join(cache, f"{kind}-{name}-seed{seed}-rows{n_rows}{speed}.json")
        if os.path.exists(path):
            with open(path) as f:
                return {**json.load(f), "cached": True}
    X, y = load(name)
    X, y = X[:n_rows], y[:n_rows]
    scores, seconds = REFERENCES[kind](X, seed)
    res = {
        "kind": kind,
        "name": name,
        "seed": seed,
        "n_rows": n_rows,
        "rows": len(X),
        "seconds": seconds,
        "aps": aps(y, scores) if n_rows == N_ROWS else None,
    }
    if path:
        os.makedirs(cache, exist_ok=True)
        with open(path, "w") as f:
            json.dump(res, f)
    return {**res, "cached": False}


# ---- ours ---------------------------------------------------------------------------------------


def run_ours(X, seed, **params):
    from sead.detectors.rrcf import RRCF

    return RRCF(seed=seed, **params).score_learn_many(X)


def time_ours(X, repeats=3, **params):
    """Best-of-``repeats`` rows per CPU second of ``score_learn_many`` on ``X`` (fresh detector
    each time, after a warm-up call that compiles or loads the kernels), and the detector's state
    bytes."""
    from sead.detectors.rrcf import RRCF

    RRCF(**params).score_learn_many(X[:50])
    best = math.inf
    for _ in range(repeats):
        det = RRCF(**params)
        t0 = time.process_time()
        det.score_learn_many(X)
        best = min(best, time.process_time() - t0)
    return len(X) / best, det.state_bytes()


def run_references(args):
    """The reference loops (APS runs and speed runs), in parallel processes; their results."""
    seeds = {"pysad": args.pysad_seeds, "rrcf": args.rrcf_seeds}
    tasks = [(k, name, s, N_ROWS) for k in REFERENCES for s in range(seeds[k]) for name in DATASETS]
    tasks += [(k, "shuttle", 0, SPEED_ROWS_THEIRS) for k in REFERENCES]
    t0 = time.perf_counter()
    results = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(reference_task, *task, args.cache) for task in tasks]
        for fut in futures:
            r = fut.result()
            results.append(r)
            what = "speed" if r["aps"] is None else f"APS {r['aps']:.4f}"
            print(
                f"  {r['kind']:6s} {r['name']:12s} seed {r['seed']} rows {r['rows']:6d}: {what}  "
                f"{r['rows'] / r['seconds']:.1f} rows/s",
                flush=True,
            )
    print(f"reference loops: {time.perf_counter() - t0:.0f} s", flush=True)
    return results


# (key, title of the comparison, the sead model compared, its parameters)
COMPARISONS = [
    (
        "pysad",
        "PySAD `RobustRandomCutForest()` (per-tree uniform reservoir samples)",
        "sead `RRCF()`",
        {},
    ),
    (
        "rrcf",
        "the `rrcf` package's streaming recipe (sliding window of 256: insert, codisp, forget)",
        "sead `RRCF(decay=inf)`",
        {"decay": math.inf},
    ),
]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3, help="seeds of sead's RRCF (0..seeds-1)")
    ap.add_argument("--pysad-seeds", type=int, default=3, help="seeds of PySAD's loop")
    ap.add_argument("--rrcf-seeds", type=int, default=3, help="seeds of the rrcf package's loop")
    ap.add_argument("--jobs", type=int, default=2, help="processes for the reference loops")
    ap.add_argument("--cache", default=None, help="directory caching the reference runs")
    ap.add_argument("--only-references", action="store_true", help="run the references, stop")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "results", "parity_rrcf.md")
    )
    args = ap.parse_args(argv)

    results = run_references(args)
    if args.only_references:
        return
    ref_aps = {}
    for r in results:
        if r["n_rows"] == N_ROWS:
            ref_aps.setdefault((r["kind"], r["name"]), []).append(r["aps"])
    ref_speed = {
        r["kind"]: r["rows"] / r["seconds"] for r in results if r["n_rows"] == SPEED_ROWS_THEIRS
    }

    X, _ = load("shuttle")
    our_speed = {kind: time_ours(X, **params) for kind, _, _, params in COMPARISONS}
    ours = {kind: {} for kind, _, _, _ in COMPARISONS}
    for name in DATASETS:
        X, y = load(name)
        for kind, _, _, params in COMPARISONS:
            ours[kind][name] = [aps(y, run_ours(X, seed, **params)) for seed in range(args.seeds)]
            print(
                f"  sead   {name:12s} {params or 'defaults'}: APS {np.round(ours[kind][name], 4)}",
                flush=True,
            )

    lines = [
        "# RRCF parity: sead vs PySAD and the rrcf package",
        "",
        "```",
        " ".join(["python benchmarks/parity_rrcf.py", *argv]),
        "```",
        "",
        f"Protocol: first {N_ROWS:,} rows of each ODDS set in 50-row chunks shuffled with "
        f"`default_rng(0)`, prequential score-then-learn, APS on rows {WARM}+. All models at "
        f"PySAD's defaults: {N_TREES} trees of {TREE_SIZE} points. Mean APS over seeds "
        f"0..{args.seeds - 1} for sead, 0..{args.pysad_seeds - 1} for PySAD and "
        f"0..{args.rrcf_seeds - 1} for rrcf.",
        "",
    ]
    n_cached = sum(r["cached"] for r in results)
    if n_cached:
        lines += [
            f"{n_cached} of the {len(results)} reference runs were read from `--cache`, "
            "where earlier runs of this script (same code, same protocol) left them; "
            "the per-run numbers are in the JSON files there.",
            "",
        ]
    for kind, title, our_name, _ in COMPARISONS:
        lines += [
            f"## APS vs {title}",
            "",
            f"| dataset | reference | {our_name} | sead per seed | sead - reference |",
            "|---|---:|---:|---|---:|",
        ]
        refs, oms = [], []
        for name in DATASETS:
            r, o = float(np.mean(ref_aps[(kind, name)])), float(np.mean(ours[kind][name]))
            refs.append(r)
            oms.append(o)
            per = ", ".join(f"{v:.4f}" for v in ours[kind][name])
            lines.append(f"| {name} | {r:.4f} | {o:.4f} | {per} | {o - r:+.4f} |")
        lines += [
            f"| **mean** | **{np.mean(refs):.4f}** | **{np.mean(oms):.4f}** | | "
            f"**{np.mean(oms) - np.mean(refs):+.4f}** |",
            "",
        ]

    lines += [
        "## Speed (score + learn, shuttle, 9 features)",
        "",
        "| model | rows/s | sead / reference |",
        "|---|---:|---:|",
    ]
    for kind, title, our_name, _ in COMPARISONS:
        ours_rps = our_speed[kind][0]
        lines.append(
            f"| {title.split(' (')[0]}, one by one, first {SPEED_ROWS_THEIRS:,} rows | "
            f"{ref_speed[kind]:,.1f} | |"
        )
        lines.append(
            f"| {our_name}, `score_learn_many`, {N_ROWS:,} rows | {ours_rps:,.0f} | "
            f"**{ours_rps / ref_speed[kind]:,.0f}x** |"
        )
    lines += [
        "",
        "Rows per CPU second of the process (`time.process_time`; the machine is shared, "
        "so wall-clock times are noisy): sead best of 3 runs, references one run.",
        "",
        f"Memory: `RRCF().state_bytes()` = {our_speed['pysad'][1]:,} bytes of state at the "
        "defaults on shuttle (d = 9); it is about `n_trees * tree_size * (24 d + 48)` "
        "bytes, fixed at the first point learned.",
        "",
    ]

    lines += [
        "## Pool settings (sead only)",
        "",
        "| settings | rows/s (shuttle) | us/row | " + " | ".join(DATASETS) + " | mean APS |",
        "|---|---:|---:|" + "---:|" * len(DATASETS) + "---:|",
    ]
    for params in POOL + [{}]:
        X, _ = load("shuttle")
        rps, _ = time_ours(X, **params)
        vals = []
        for name in DATASETS:
            X, y = load(name)
            runs = [aps(y, run_ours(X, seed, **params)) for seed in range(args.seeds)]
            vals.append(np.mean(runs))
        label = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
        lines.append(
            f"| `RRCF({label})` | {rps:,.0f} | {1e6 / rps:.2f} | "
            + " | ".join(f"{v:.3f}" for v in vals)
            + f" | {np.mean(vals):.4f} |"
        )
    lines.append("")

    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
