"""Throughput of the SEAD combiner alone, and of SEAD with the default pool.

    python benchmarks/bench_combiner.py [--rows 200000] [--repeat 3] [--out FILE]

(``--out`` defaults to ``benchmarks/results/combiner.md``.)

Part 1 — the combiner (quantile reference + fixed-share weights) on a (T × 13) matrix of raw
scores, for each reference kind, in the compiled batch path (``combine_scores``) and, for
context, through ``SEAD.learn_one``-style one-row calls. Target (issue 2): ≤ 1 µs per row for
K = 13 in the batch path.

Part 2 — SEAD end to end (detectors + combiner) with ``sead.pools.default`` on a synthetic
stream and on ODDS shuttle when the data is found: batch rows/s and one-by-one rows/s.

Every number is the best of ``--repeat`` runs after a warm-up call (numba compile or cache load
excluded). The machine is shared and noisy: compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import platform
import sys
from datetime import date
from pathlib import Path

import numpy as np
from _common import best_of

from sead import SEAD, combine_scores, pools
from sead.cli import synthetic_stream


def combiner_rows(T, K, repeat):
    rng = np.random.default_rng(0)
    # realistic raw scores: different scales, many ties (as from tree detectors)
    R = np.round(rng.gamma(2.0, size=(T, K)) * rng.uniform(1, 100, K), 1)
    out = []
    for ref, window in [("exact", None), ("window", 1000), ("tdigest", None), ("frozen", None)]:
        t = best_of(
            lambda ref=ref, window=window: combine_scores(
                R, reference=ref, window=window, warmup=100
            ),
            repeat,
        )
        out.append((f"{ref}" + (f" (N={window})" if window else ""), T / t, t / T * 1e6))
    return out


def sead_rows(X, repeat, label):
    pool = pools.default(seed=0)
    rows = []
    t = best_of(lambda: SEAD(pool).score_learn_many(X), repeat)
    rows.append((f"{label}: SEAD batch (`score_learn_many`)", len(X) / t))
    n1 = min(len(X), 5000)

    def loop():
        m = SEAD(pool)
        for x in X[:n1]:
            m.score_one(x)
            m.learn_one(x)

    t1 = best_of(loop, 1)
    rows.append(
        (f"{label}: SEAD one by one (`score_one` + `learn_one`, first {n1:,} rows)", n1 / t1)
    )
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "combiner.md")
    args = ap.parse_args(argv)

    lines = [
        "# Combiner and SEAD throughput",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --rows {args.rows} --repeat "
        f"{args.repeat}`  ",
        f"Date: {date.today()}; machine: {platform.machine()}, {platform.python_implementation()} "
        f"{platform.python_version()}, 2 shared cores. Best of {args.repeat} after a warm-up call.",
        "",
        f"## Combiner alone, K = 13, T = {args.rows:,} (target ≤ 1 µs/row)",
        "",
        "| reference | rows/s | µs per row |",
        "|---|---:|---:|",
    ]
    for name, rps, us in combiner_rows(args.rows, 13, args.repeat):
        lines.append(f"| {name} | {rps:,.0f} | {us:.2f} |")

    pool = pools.default(seed=0)
    lines += [
        "",
        f"## SEAD end to end, `pools.default()` ({len(pool)} detectors)",
        "",
        "| what | rows/s |",
        "|---|---:|",
    ]
    X, _ = synthetic_stream(50_000, seed=0)
    rows = sead_rows(X, args.repeat, "synthetic 50,000 × 6")
    try:
        from sead.datasets import load_task

        Xs, _ = load_task("shuttle", seed=0)
        rows += sead_rows(Xs, args.repeat, f"shuttle {len(Xs):,} × {Xs.shape[1]}")
    except FileNotFoundError as e:
        print(f"shuttle not measured: {e}", file=sys.stderr)
    for name, rps in rows:
        lines.append(f"| {name} | {rps:,.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
