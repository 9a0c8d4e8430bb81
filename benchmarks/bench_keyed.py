"""One event at a time and many keyed streams: the targets of the keyed-streams issue.

    python benchmarks/bench_keyed.py [--keys 10000] [--records 1000000] [--batch 10000]
                                     [--paper-keys 1000] [--out benchmarks/results/keyed.md]

Measured side by side in one run (best of ``--repeat`` after a warm-up; the machine is shared,
so read the ratios):

1. one event at a time — ``score_one(x)`` then ``learn_one(x)`` on River's bundled Shuttle
   (dicts of 9 features), for ``SEAD()`` with the default 13-detector pool, for
   ``SEAD(pools.telemetry())``, and for River's ``MinMaxScaler() | HalfSpaceTrees()`` on the same
   events (target: SEAD >= 1.0x River, >= 20,000 events/s);
2. keyed — ``--keys`` streams, ``--records`` records interleaved in time order, fed to
   ``KeyedSEAD.score_learn_many`` in batches of ``--batch`` (targets: >= 100,000 records/s with
   ``pools.telemetry()``, >= 30,000 with the paper pool, and >= 0.5x the same pool's
   single-stream batch rate);
3. memory — bytes of state per key for every pool, and the resident memory of ``--keys`` keys of
   ``pools.telemetry()`` (target <= 640 MB for 10,000 keys);
4. state bytes — the size of one telemetry key's ``state_of`` blob and the round trip
   ``state_of`` + ``load_key`` in keys/s (target >= 10,000 keys/s).
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from sead import SEAD, KeyedSEAD, pools


def best_of(fn, repeat):
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def shuttle_events(n):
    from river import datasets

    return [x for x, _ in datasets.Shuttle().take(n)]


def one_event(events, repeat):
    from river import anomaly, preprocessing

    warm = events[:500]
    rest = events[500:]

    def river_loop():
        m = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=0)
        for x in warm:
            m.learn_one(x)
        t0 = time.perf_counter()
        for x in rest:
            m.score_one(x)
            m.learn_one(x)
        return time.perf_counter() - t0

    def sead_loop(make):
        m = make()
        for x in warm:
            m.learn_one(x)
        t0 = time.perf_counter()
        for x in rest:
            m.score_one(x)
            m.learn_one(x)
        return time.perf_counter() - t0

    rows = []
    river = min(river_loop() for _ in range(repeat + 1))
    rows.append(("River `MinMaxScaler() | HalfSpaceTrees()`", len(rest) / river, 1.0))
    for label, make in [
        ("SEAD() (paper pool, 13 detectors)", SEAD),
        ("SEAD(pools.telemetry())", lambda: SEAD(pools.telemetry())),
    ]:
        t = min(sead_loop(make) for _ in range(repeat + 1))
        rows.append((label, len(rest) / t, river / t))
    return rows


def keyed_stream(n_keys, n_records, d=5, seed=0):
    """``n_records`` records of ``n_keys`` streams in time order: each key has its own level and
    scale; keys are visited in random order, about equally often."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, n_keys, n_records)
    level = rng.normal(0, 5, size=(n_keys, d))
    scale = rng.uniform(0.5, 3, size=(n_keys, d))
    X = level[keys] + scale[keys] * rng.normal(size=(n_records, d))
    return keys, X


def keyed_rate(pool_fn, keys, X, batch):
    m = KeyedSEAD(pool_fn())
    m.score_learn_many(keys[:batch], X[:batch])  # compile / load the cache, first keys
    m = KeyedSEAD(pool_fn())
    t0 = time.perf_counter()
    for a in range(0, len(X), batch):
        m.score_learn_many(keys[a : a + batch], X[a : a + batch])
    return len(X) / (time.perf_counter() - t0), m


def single_rate(pool_fn, X, repeat):
    return len(X) / best_of(lambda: SEAD(pool_fn()).score_learn_many(X), repeat)


def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def memory_per_key(d=5):
    out = []
    for name in ("telemetry", "small", "paper", "wide"):
        m = KeyedSEAD(getattr(pools, name)())
        m.learn_many([0], np.zeros((1, d)))
        out.append((name, m.nbytes_per_key()))
    return out


def state_round_trip(keys, X, n):
    m = KeyedSEAD(pools.telemetry())
    m.learn_many(keys, X)
    held = m.keys_[:n]
    blob = m.state_of(held[0])
    other = KeyedSEAD(pools.telemetry())
    t0 = time.perf_counter()
    for k in held:
        other.load_key(k, m.state_of(k))
    return len(blob), len(held) / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--paper-keys", type=int, default=1_000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "keyed.md")
    args = ap.parse_args(argv)

    lines = [
        "# One event at a time, and keyed streams",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --keys {args.keys} --records "
        f"{args.records} --batch {args.batch} --paper-keys {args.paper_keys}`  ",
        f"Date: {date.today()}; {platform.machine()}, Python {platform.python_version()}, 2 shared "
        "cores.",
        "",
        "## One event at a time (`score_one` then `learn_one`, River's Shuttle, dicts)",
        "",
        "| model | events/s | vs River |",
        "|---|---:|---:|",
    ]
    for label, eps, ratio in one_event(shuttle_events(10_500), args.repeat):
        lines.append(f"| {label} | {eps:,.0f} | {ratio:.2f}x |")
    print("\n".join(lines), flush=True)

    keys, X = keyed_stream(args.keys, args.records)
    lines += [
        "",
        f"## Keyed: {args.keys:,} keys, {args.records:,} records in time order, batches of "
        f"{args.batch:,}",
        "",
        "| pool | keys | keyed records/s | single-stream batch rows/s | ratio |",
        "|---|---:|---:|---:|---:|",
    ]
    gc.collect()
    rss0 = rss_mb()
    rate_t, model_t = keyed_rate(pools.telemetry, keys, X, args.batch)
    rss_t = rss_mb() - rss0
    single_t = single_rate(pools.telemetry, X[:200_000], args.repeat)
    lines.append(
        f"| telemetry | {args.keys:,} | {rate_t:,.0f} | {single_t:,.0f} | {rate_t / single_t:.2f} |"
    )
    del model_t
    gc.collect()
    pk = keys % args.paper_keys
    n_paper = min(len(X), 200_000)
    rate_p, model_p = keyed_rate(pools.paper, pk[:n_paper], X[:n_paper], args.batch)
    single_p = single_rate(pools.paper, X[:50_000], args.repeat)
    lines.append(
        f"| paper | {args.paper_keys:,} | {rate_p:,.0f} (first {n_paper:,} records) | "
        f"{single_p:,.0f} | {rate_p / single_p:.2f} |"
    )
    del model_p
    gc.collect()

    lines += [
        "",
        "## Memory",
        "",
        "| pool | bytes per key (d = 5) | 10,000 keys |",
        "|---|---:|---:|",
    ]
    for name, b in memory_per_key():
        lines.append(f"| {name} | {b:,} | {b * 10_000 / 2**20:,.0f} MiB |")
    lines.append("")
    lines.append(
        f"Resident memory added by {args.keys:,} keys of `pools.telemetry()` (measured, VmRSS): "
        f"{rss_t:,.0f} MiB."
    )

    size, rt = state_round_trip(keys[:200_000], X[:200_000], 2_000)
    lines += [
        "",
        "## State bytes of one key",
        "",
        f"`state_of(key)` of a telemetry-pool key: {size:,} bytes; `state_of` + `load_key` round "
        f"trip: {rt:,.0f} keys/s.",
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
