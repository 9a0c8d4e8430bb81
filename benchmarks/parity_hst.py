"""Parity of sead's HalfSpaceTrees, ZScoreRule, ThresholdRule and RandomDetector with PySAD/River.

Protocol (the issue's): ODDS shuttle, cardio, thyroid, mammography, satimage-2; rows split into
chunks of 50 and the chunks shuffled with ``np.random.default_rng(0)``; the first 10,000 points;
prequential score-then-learn; average precision on all points after the first 100 (warm start).

Pairs (ours with the counterpart's default hyperparameters):

* HalfSpaceTrees(n_trees=25, height=15, window=250, size_limit=0) vs PySAD's
  ``HalfSpaceTrees`` (defaults; ``feature_mins``/``feature_maxes`` = the min/max of the first 100
  points, the same warm-up ranges ours learns).
* HalfSpaceTrees(n_trees=10, height=8, window=250, size_limit=0.1) vs River's
  ``anomaly.HalfSpaceTrees`` (defaults) given ``limits`` = the same warm-up ranges (equivalent to
  a MinMax scaling with those ranges; River pads them by 15 % and compares unclipped values).
* ZScoreRule(alpha=0) vs PySAD's ``StandardAbsoluteDeviation`` and
  ZScoreRule(method="median", window=500) vs PySAD's ``MedianAbsoluteDeviation``: PySAD's models
  are univariate, so they run one per feature and the score is the max over features, which is
  ZScoreRule's rule.
* ThresholdRule (bounds = the warm-up min/max) and RandomDetector: no counterpart; their APS
  and speed are listed for reference.

Randomised models run with seeds 0, 1, 2 (ours and theirs) and the APS is the mean. Speed:
ours = ``score_learn_many`` on the 10,000 rows of a fresh detector, after a warm-up call so that
compilation is excluded (best of 3); theirs = the one-by-one ``score`` then ``learn`` loop on the
first 2,000 rows (1 run). Rows/s is the median over the five datasets.

Usage: ``python benchmarks/parity_hst.py [--out benchmarks/results/parity_hst.md] [--quick]``
"""

from __future__ import annotations

import argparse
import os
import pickle
import platform
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from sead.datasets import load_task
from sead.detectors.hst import HalfSpaceTrees
from sead.detectors.random import RandomDetector
from sead.detectors.rules import ThresholdRule, ZScoreRule

DATASETS = ["shuttle", "cardio", "thyroid", "mammography", "satimage-2"]
N_ROWS, CHUNK, WARM = 10_000, 50, 100
N_THEIRS_SPEED = 2_000


def load(name):
    """The first rows of the benchmark stream (chunks shuffled with seed 0), through
    ``sead.datasets`` ($SEAD_DATA, else ../shared/datasets beside the checkout; checksummed)."""
    X, y = load_task(name, seed=0, chunk_size=CHUNK)
    return np.ascontiguousarray(X[:N_ROWS]), y[:N_ROWS]


def aps(y, s):
    return average_precision_score(y[WARM:], s[WARM:])


# ---- the two sides ---------------------------------------------------------------------------


def run_ours(make, X):
    """Scores and rows/s of ``score_learn_many`` (compile excluded, best of 3)."""
    make().score_learn_many(X[:300])  # compile / load the cache
    best, scores = np.inf, None
    for _ in range(3):
        det = make()
        t = time.perf_counter()
        scores = det.score_learn_many(X)
        best = min(best, time.perf_counter() - t)
    return scores, len(X) / best


def loop(score, learn, X):
    out = np.empty(len(X))
    for i, x in enumerate(X):
        out[i] = score(x)
        learn(x)
    return out


def run_theirs(make, X, score, learn):
    """Scores on all rows, and rows/s of the one-by-one loop on the first rows."""
    m = make()
    t = time.perf_counter()
    head = loop(lambda x: score(m, x), lambda x: learn(m, x), X[:N_THEIRS_SPEED])
    speed = min(N_THEIRS_SPEED, len(X)) / (time.perf_counter() - t)
    rest = loop(lambda x: score(m, x), lambda x: learn(m, x), X[N_THEIRS_SPEED:])
    return np.concatenate([head, rest]), speed


class PerFeature:
    """PySAD univariate models, one per feature; the score is the max over features."""

    def __init__(self, make, d):
        self.models = [make() for _ in range(d)]

    def score(self, x):
        return max(m.score_partial(x[j : j + 1]) for j, m in enumerate(self.models))

    def learn(self, x):
        for j, m in enumerate(self.models):
            m.fit_partial(x[j : j + 1])


def pysad_hst(X, seed):
    from pysad.models import HalfSpaceTrees as P

    lo, hi = X[:WARM].min(axis=0), X[:WARM].max(axis=0)
    return run_theirs(
        lambda: P(lo, hi, window_size=250, num_trees=25, max_depth=15, random_state=seed),
        X,
        lambda m, x: m.score_partial(x),
        lambda m, x: m.fit_partial(x),
    )


def river_hst(X, seed):
    from river.anomaly import HalfSpaceTrees as R

    lo, hi = X[:WARM].min(axis=0), X[:WARM].max(axis=0)
    limits = {
        j: (float(lo[j]), float(hi[j]) if hi[j] > lo[j] else float(lo[j]) + 1e-9)
        for j in range(X.shape[1])
    }
    return run_theirs(
        lambda: R(n_trees=10, height=8, window_size=250, limits=limits, seed=seed),
        X,
        lambda m, x: m.score_one(dict(enumerate(x.tolist()))),
        lambda m, x: m.learn_one(dict(enumerate(x.tolist()))),
    )


def pysad_per_feature(cls_name):
    def run(X, seed):
        import pysad.models as pm

        cls = getattr(pm, cls_name)
        return run_theirs(
            lambda: PerFeature(cls, X.shape[1]), X, lambda m, x: m.score(x), lambda m, x: m.learn(x)
        )

    return run


# ---- the comparisons ---------------------------------------------------------------------------


def warm_bounds(X):
    return X[:WARM].min(axis=0).tolist(), X[:WARM].max(axis=0).tolist()


PAIRS = [
    # label, our factory (X, seed) -> detector, their runner or None, seeds
    (
        "HalfSpaceTrees vs PySAD (25 trees, depth 15, window 250)",
        lambda X, s: HalfSpaceTrees(
            n_trees=25, height=15, window=250, warmup=WARM, size_limit=0.0, seed=s
        ),
        pysad_hst,
        (0, 1, 2),
    ),
    (
        "HalfSpaceTrees vs River (10 trees, height 8, window 250)",
        lambda X, s: HalfSpaceTrees(
            n_trees=10, height=8, window=250, warmup=WARM, size_limit=0.1, seed=s
        ),
        river_hst,
        (0, 1, 2),
    ),
    (
        "ZScoreRule(alpha=0) vs PySAD StandardAbsoluteDeviation (per feature, max)",
        lambda X, s: ZScoreRule(alpha=0.0),
        pysad_per_feature("StandardAbsoluteDeviation"),
        (0,),
    ),
    (
        "ZScoreRule(median, window=500) vs PySAD MedianAbsoluteDeviation (per feature, max)",
        lambda X, s: ZScoreRule(method="median", window=500),
        pysad_per_feature("MedianAbsoluteDeviation"),
        (0,),
    ),
    ("HalfSpaceTrees() defaults", lambda X, s: HalfSpaceTrees(seed=s), None, (0, 1, 2)),
    ("ZScoreRule() defaults (ewma, alpha=0.001)", lambda X, s: ZScoreRule(), None, (0,)),
    (
        "ZScoreRule(method='median') (window 250)",
        lambda X, s: ZScoreRule(method="median"),
        None,
        (0,),
    ),
    (
        "ThresholdRule(bounds = warm-up min/max)",
        lambda X, s: ThresholdRule(*warm_bounds(X)),
        None,
        (0,),
    ),
    ("RandomDetector", lambda X, s: RandomDetector(seed=s), None, (0, 1, 2)),
]

# recommended pool settings for the paper pool (4 per family), each well under 1.5 us/row
POOL = [
    ("HST h6 w100 (shallow, fast-adapting)", dict(n_trees=15, height=6, window=100)),
    ("HST h8 w250 (paper window)", dict(n_trees=15, height=8, window=250)),
    ("HST h8 w1000 (long memory)", dict(n_trees=15, height=8, window=1000)),
    ("HST h10 w500 (deep)", dict(n_trees=20, height=10, window=500)),
]


def state_bytes(det):
    return len(pickle.dumps(det))


def fmt_rate(r):
    return f"{r:,.0f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "parity_hst.md"))
    ap.add_argument("--quick", action="store_true", help="one seed per model")
    ap.add_argument(
        "--only", default="", help="run only the comparisons whose label contains this text"
    )
    args = ap.parse_args(argv)

    data = {name: load(name) for name in DATASETS}
    lines = [
        "# Parity: HalfSpaceTrees, ZScoreRule, ThresholdRule, RandomDetector",
        "",
        "```",
        "python "
        + " ".join(["benchmarks/parity_hst.py"] + (argv if argv is not None else sys.argv[1:])),
        "```",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared, "
        "so rates are noisy); numpy " + np.__version__ + ".",
        f"Protocol: first {N_ROWS:,} rows of each ODDS set, chunks of {CHUNK} shuffled with "
        f"default_rng(0), warm start {WARM} (not scored), prequential; APS = average precision. "
        f"Ours: `score_learn_many`, best of 3, compile excluded. Theirs: one-by-one loop on the "
        f"first {N_THEIRS_SPEED:,} rows. Rows/s = median over the five datasets.",
        "",
    ]

    def emit(text=""):
        print(text, flush=True)
        lines.append(text)

    for line in lines:
        print(line)

    head = "| model | " + " | ".join(DATASETS) + " | mean APS | rows/s | ratio |"
    sep = "|" + "---|" * (len(DATASETS) + 4)
    for label, make, theirs, seeds in PAIRS:
        if args.only not in label:
            continue
        if args.quick:
            seeds = seeds[:1]
        our_aps, our_rate, their_aps, their_rate = [], [], [], []
        for name in DATASETS:
            X, y = data[name]
            a, r = [], []
            for s in seeds:
                sc, rate = run_ours(lambda make=make, X=X, s=s: make(X, s), X)
                a.append(aps(y, sc))
                r.append(rate)
            our_aps.append(np.mean(a))
            our_rate.append(np.median(r))
            if theirs is not None:
                a, r = [], []
                for s in seeds:
                    sc, rate = theirs(X, s)
                    a.append(aps(y, sc))
                    r.append(rate)
                their_aps.append(np.mean(a))
                their_rate.append(np.median(r))
        emit(f"### {label}")
        emit()
        emit(head)
        emit(sep)
        ours_rate = np.median(our_rate)
        if theirs is not None:
            ratio = ours_rate / np.median(their_rate)
            emit(
                "| sead | "
                + " | ".join(f"{v:.4f}" for v in our_aps)
                + f" | **{np.mean(our_aps):.4f}** | "
                f"{fmt_rate(ours_rate)} | {ratio:.0f}x |"
            )
            emit(
                "| theirs | "
                + " | ".join(f"{v:.4f}" for v in their_aps)
                + f" | **{np.mean(their_aps):.4f}** | "
                f"{fmt_rate(np.median(their_rate))} | 1x |"
            )
            diff = np.mean(our_aps) - np.mean(their_aps)
            emit()
            emit(
                f"Mean APS difference (sead - theirs): {diff:+.4f} (bar: >= -0.02: "
                f"{'met' if diff >= -0.02 else 'NOT met'}). Speed ratio {ratio:.1f}x (per dataset: "
                f"{', '.join(f'{o / t:.0f}x' for o, t in zip(our_rate, their_rate))}). Seeds: "
                f"{list(seeds)}."
            )
        else:
            emit(
                "| sead | "
                + " | ".join(f"{v:.4f}" for v in our_aps)
                + f" | **{np.mean(our_aps):.4f}** | "
                f"{fmt_rate(ours_rate)} | - |"
            )
            emit()
            emit(f"Seeds: {list(seeds)}; µs/row {1e6 / ours_rate:.2f}.")
        emit()

    if args.only:
        print("(--only given: results not written)")
        return
    emit("### Recommended pool settings (HalfSpaceTrees)")
    emit()
    emit("| setting | params | " + " | ".join(DATASETS) + " | mean APS | µs/row |")
    emit("|" + "---|" * (len(DATASETS) + 4))
    for label, params in POOL:
        apsv, rates = [], []
        for name in DATASETS:
            X, y = data[name]
            a = []
            for s in (0,) if args.quick else (0, 1, 2):
                sc, rate = run_ours(lambda s=s, params=params: HalfSpaceTrees(seed=s, **params), X)
                a.append(aps(y, sc))
                rates.append(rate)
            apsv.append(np.mean(a))
        emit(
            f"| {label} | `{params}` | "
            + " | ".join(f"{v:.4f}" for v in apsv)
            + f" | {np.mean(apsv):.4f} | {1e6 / np.median(rates):.2f} |"
        )
    emit()

    emit("### State size at the defaults (pickled bytes after 10,000 shuttle rows, d = 9)")
    emit()
    emit("| detector | bytes |")
    emit("|---|---|")
    X, _ = data["shuttle"]
    for det in [
        HalfSpaceTrees(),
        HalfSpaceTrees(n_trees=25, height=15),
        ZScoreRule(),
        ZScoreRule(method="median"),
        ThresholdRule(upper=1.0),
        RandomDetector(),
    ]:
        det.learn_many(X)
        params = ", ".join(f"{k}={v!r}" for k, v in det.get_params().items())
        emit(f"| `{type(det).__name__}({params})` | {state_bytes(det):,} |")
    emit()

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
