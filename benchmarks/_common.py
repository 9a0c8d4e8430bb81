"""Timing and formatting helpers shared by the benchmark scripts.

The scripts run as ``python benchmarks/<script>.py``, so this directory is on ``sys.path`` and
they import it as ``_common``. Only the standard library here: a benchmark that puts another
source tree of sead on ``PYTHONPATH`` (``bench_refactor.py``) can import it in its worker
processes without importing sead.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

#: This directory (the working directory of the child processes that import this module).
HERE = Path(__file__).resolve().parent


def best_of(fn, repeat, warmup=True):
    """Seconds of the fastest of ``repeat`` calls of ``fn``.

    With ``warmup``, one untimed call first (numba compile or cache load, memory touched).
    """
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def spread(xs, fmt=",.0f", unit=""):
    """``median (min-max)`` of ``xs``, each number as ``fmt``, ``unit`` after the median."""
    return f"{statistics.median(xs):{fmt}}{unit} ({min(xs):{fmt}}-{max(xs):{fmt}})"


def rss():
    """Resident memory of this process in bytes (``VmRSS`` of ``/proc/self/status``; 0 if
    absent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0
