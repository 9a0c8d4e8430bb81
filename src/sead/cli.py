"""The ``sead`` command.

``sead demo`` runs SEAD on a seeded synthetic stream with injected anomalies and prints each
base detector's average precision, SEAD's and SEAD++'s, the final weights, and the throughput.
``sead watch`` scores keyed telemetry as it arrives and writes alert events
(:mod:`sead.telemetry.watch`; ``sead watch --demo`` shows it on synthetic agent telemetry).
``python -m sead`` is the same command.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

__all__ = ["main", "synthetic_stream"]


def synthetic_stream(n: int = 20_000, d: int = 6, seed: int = 0, rate: float = 0.01):
    """A drifting multi-modal stream with three kinds of injected anomalies.

    Normal points come from two Gaussian clusters whose centres drift slowly; anomalies
    (``rate`` of the points after the first 500) are, in equal parts, large spikes in one
    feature, points between the clusters (normal in every single feature, abnormal jointly),
    and bursts of inflated variance.

    Parameters
    ----------
    n
        Number of points.
    d
        Number of features.
    seed
        Seed of :func:`numpy.random.default_rng`.
    rate
        Share of anomalies among the points after the first 500.

    Returns
    -------
    X : ndarray of float64, shape (n, d)
        The points.
    y : ndarray of int, shape (n,)
        1 for an anomaly, else 0.
    """
    rng = np.random.default_rng(seed)
    centres = np.stack([np.full(d, -2.0), np.full(d, 2.0)])
    drift = np.linspace(0, 1.5, n)[:, None] * np.sin(np.arange(d))[None, :]
    comp = rng.integers(0, 2, n)
    X = centres[comp] + drift + rng.normal(scale=0.7, size=(n, d))
    y = np.zeros(n, dtype=int)
    idx = rng.choice(np.arange(500, n), int(rate * (n - 500)), replace=False)
    kind = rng.integers(0, 3, idx.size)
    for i, k in zip(idx, kind):
        if k == 0:  # a spike in one feature
            X[i, rng.integers(d)] += rng.choice([-1, 1]) * rng.uniform(5, 9)
        elif k == 1:  # between the clusters: each feature looks normal, the point does not
            X[i] = drift[i] + rng.normal(scale=0.5, size=d)
        else:  # a burst of variance
            X[i] = centres[comp[i]] + drift[i] + rng.normal(scale=3.0, size=d)
    y[idx] = 1
    return X, y


def _demo(args) -> int:
    from sklearn.metrics import average_precision_score

    from . import SEAD, SEADPlusPlus, pools

    X, y = synthetic_stream(args.n, seed=args.seed)
    warm = 100
    pool = pools.default(seed=args.seed)
    names = list(pools.named(pool))
    print(
        f"sead demo: {len(X):,} points, {X.shape[1]} features, {y.mean():.1%} anomalies "
        f"(seed {args.seed}); {len(pool)} detectors; first {warm} points are warm-up\n"
    )

    from ._compile import announce

    with announce("sead demo"):  # compile (or load the numba cache) outside the timing
        SEAD(pool).score_learn_many(X[:200])
    t0 = time.perf_counter()
    model = SEAD(pool, warmup=warm, seed=args.seed)
    res = model.score_learn_many(X, return_details=True)
    t_sead = time.perf_counter() - t0
    t0 = time.perf_counter()
    pp = SEADPlusPlus(pool, warmup=warm, seed=args.seed)
    s_pp = pp.score_learn_many(X)
    t_pp = time.perf_counter() - t0

    def aps(s):
        return average_precision_score(y[warm:], np.asarray(s)[warm:])

    rows = [(n, aps(res.raw[:, k]), model.weights_[k]) for k, n in enumerate(names)]
    width = max(len(n) for n in names + ["SEAD++"])
    print(f"{'method':<{width}}  {'APS':>6}  {'final weight':>12}")
    for n, a, w in rows:
        print(f"{n:<{width}}  {a:6.3f}  {w:12.3f}")
    print(f"{'mean':<{width}}  {aps(res.normalized.mean(axis=1)):6.3f}")
    print(f"{'SEAD':<{width}}  {aps(res.scores):6.3f}")
    print(f"{'SEAD++':<{width}}  {aps(s_pp):6.3f}")
    print(
        f"\nbest single detector: {max(rows, key=lambda r: r[1])[0]}; "
        f"random guess APS = {y[warm:].mean():.3f}"
    )
    print(
        f"SEAD {len(X) / t_sead:,.0f} rows/s, SEAD++ {len(X) / t_pp:,.0f} rows/s "
        f"(score + learn, compiled batch path, this machine)"
    )
    return 0


_DESCRIPTION = (
    "sead: streaming ensembles of anomaly detectors. 'sead demo' compares SEAD with its "
    "detectors on a synthetic stream; 'sead watch' alerts on keyed telemetry as it arrives."
)

_WATCH_EPILOG = """\
examples:
  sead watch --demo                              synthetic LLM-agent telemetry, alerts on stdout
  sead watch agents.jsonl --key agent --time ts  a file of JSON lines
  tail -F app.log | sead watch - --key host      stdin
  sead watch app.log --follow --checkpoint ckpt --resume --alerts alerts.jsonl
  sead watch metrics.jsonl --format otlp --alertmanager http://127.0.0.1:9093

Exit status: 0 done (or stopped by SIGTERM), 130 stopped by SIGINT, 2 bad options or checkpoint.
Details: docs/telemetry.md and the docstring of sead.telemetry.watch."""


def _version() -> str:
    from . import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The ``sead`` argument parser (subcommands ``demo`` and ``watch``)."""
    from .telemetry import watch

    parser = argparse.ArgumentParser(prog="sead", description=_DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"sead {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="{demo,watch,compile}")
    demo = sub.add_parser(
        "demo",
        help="SEAD on a seeded synthetic stream with injected anomalies",
        description="SEAD on a seeded synthetic stream with injected anomalies: each "
        "detector's average precision, SEAD's and SEAD++'s, the final weights "
        "and the throughput.",
    )
    demo.add_argument("--n", type=int, default=20_000, help="stream length (default 20000)")
    demo.add_argument(
        "--seed", type=int, default=0, help="random seed, an integer >= 0 (default 0)"
    )
    sub.add_parser(
        "compile",
        help="compile the numba kernels of the common paths now (a fresh install "
        "compiles them at first use: about a minute, once)",
        description="Compile (or load from the cache) the kernels of SEAD's default pool, "
        "SEAD++, KeyedSEAD with the telemetry pool and the telemetry monitor, "
        "so that the first real run starts at once.",
    )
    w = sub.add_parser(
        "watch",
        help="alert on keyed telemetry (JSON lines, CSV, OTLP) as it arrives",
        description="Score keyed telemetry records as they arrive (one SEAD model per key) and "
        "write alert events as JSON lines; checkpoint and resume exactly.",
        epilog=_WATCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    watch.add_arguments(w)
    return parser


def main(argv=None) -> int:
    """The ``sead`` command: ``sead demo``, ``sead compile`` and ``sead watch``.

    Parameters
    ----------
    argv
        The arguments after the program name (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit status.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if args.n < 1000:
            parser.error(f"--n must be at least 1000, got {args.n}")
        if args.seed < 0:
            parser.error(f"--seed must be an integer >= 0, got {args.seed}")
        return _demo(args)
    if args.command == "compile":
        from ._compile import warm_up

        print("sead compile: compiling (or loading) the kernels ...", file=sys.stderr, flush=True)
        t = warm_up()
        print(f"sead compile: done in {sum(t.values()):.1f} s", file=sys.stderr)
        return 0
    if args.command == "watch":
        from .telemetry import watch

        return watch.main(args)
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
