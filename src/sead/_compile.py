"""The compiled kernels' first use: say so on stderr, and warm the cache on request.

Every kernel is compiled by numba the first time it runs with ``cache=True``; the machine code
is then kept next to the package (``__pycache__``, or ``$NUMBA_CACHE_DIR``) and later processes
load it in a second or two. The first run of a fresh install therefore takes about a minute
(measured in ``benchmarks/RESULTS.md``). ``sead compile`` does that once, up front; the
commands print one line on stderr when they are about to compile.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

__all__ = ["cache_is_warm", "announce", "warm_up"]


def cache_is_warm() -> bool:
    """Whether numba's cache already holds sead's kernels (a quick look for its index files)."""
    root = os.environ.get("NUMBA_CACHE_DIR")
    here = Path(__file__).resolve().parent
    where = (
        [Path(root)]
        if root
        else [here / "detectors" / "__pycache__", here / "normalization" / "__pycache__"]
    )
    for d in where:
        if d.is_dir() and any(p.suffix == ".nbi" for p in d.rglob("*hst_kernel*")):
            return True
    return False


class announce:
    """``with announce("sead demo"): ...`` prints a line before and after the block on stderr
    when the kernels are not cached yet (so a cold first run does not look hung)."""

    def __init__(self, prog: str):
        self.prog = prog
        self.cold = not cache_is_warm()

    def __enter__(self):
        self.t0 = time.perf_counter()
        if self.cold:
            print(
                f"{self.prog}: compiling the numba kernels (first run only, about a minute; "
                "they are cached after) ...",
                file=sys.stderr,
                flush=True,
            )
        return self

    def __exit__(self, *exc):
        if self.cold and exc[0] is None:
            print(
                f"{self.prog}: kernels ready in {time.perf_counter() - self.t0:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        return False


def warm_up(verbose: bool = True) -> dict:
    """Compile (or load) the kernels of the common paths: SEAD's default pool in batches and one
    event at a time, SEAD++, KeyedSEAD with the telemetry pool and the telemetry monitor.
    Returns the seconds each took."""
    import numpy as np

    from . import SEAD, KeyedSEAD, SEADPlusPlus, pools

    X = np.random.default_rng(0).normal(size=(600, 5))
    steps = {
        "SEAD() batch": lambda: SEAD().score_learn_many(X),
        "SEAD() one event": lambda: _one_by_one(SEAD(), X[:5]),
        "SEADPlusPlus() batch": lambda: SEADPlusPlus().score_learn_many(X),
        "KeyedSEAD(pools.telemetry())": lambda: KeyedSEAD(pools.telemetry()).score_learn_many(
            np.arange(600) % 7, X
        ),
        "telemetry Monitor": _monitor,
    }
    out = {}
    for name, step in steps.items():
        t0 = time.perf_counter()
        step()
        out[name] = time.perf_counter() - t0
        if verbose:
            print(f"  {name}: {out[name]:.1f} s", file=sys.stderr, flush=True)
    return out


def _one_by_one(model, X):
    for x in X:
        model.score_one(x)
        model.learn_one(x)


def _monitor():
    from .telemetry.monitor import Monitor

    recs = [
        {"agent": f"a{i % 3}", "ts": float(i), "latency_ms": 100.0 + (i % 7), "error": i % 11 == 0}
        for i in range(300)
    ]
    Monitor().process_many(recs)
