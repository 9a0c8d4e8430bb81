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
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from _common import HERE, best_of, spread

from sead import SEAD, KeyedSEAD, pools


def shuttle_events(n):
    from river import datasets

    return [x for x, _ in datasets.Shuttle().take(n)]


def one_event(events, repeat):
    """Events/s of each model, ``repeat`` rounds; in each round River then each SEAD, so the
    ratio of a round compares runs seconds apart. Returns ``[(label, rates, ratios)]``."""
    from river import anomaly, preprocessing

    warm = events[:500]
    rest = events[500:]

    def timed(m):
        for x in warm:
            m.learn_one(x)
        t0 = time.perf_counter()
        for x in rest:
            m.score_one(x)
            m.learn_one(x)
        return len(rest) / (time.perf_counter() - t0)

    models = [
        (
            "River `MinMaxScaler() \\| HalfSpaceTrees()`",
            lambda: preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=0),
        ),
        ("SEAD() (default = paper pool, 13 detectors)", SEAD),
        ("SEAD(pools.telemetry())", lambda: SEAD(pools.telemetry())),
    ]
    for _, make in models[1:]:  # compile / load the numba cache outside the timed rounds
        m = make()
        for x in warm[:50]:
            m.score_one(x)
            m.learn_one(x)
    rates = {label: [] for label, _ in models}
    for _ in range(repeat):
        for label, make in models:
            rates[label].append(timed(make()))
    river = rates[models[0][0]]
    return [
        (label, rates[label], [a / b for a, b in zip(rates[label], river)]) for label, _ in models
    ]


def keyed_stream(n_keys, n_records, d=5, seed=0):
    """``n_records`` records of ``n_keys`` streams in time order: each key has its own level and
    scale; keys are visited in random order, about equally often."""
    rng = np.random.default_rng(seed)
    keys = rng.integers(0, n_keys, n_records)
    level = rng.normal(0, 5, size=(n_keys, d))
    scale = rng.uniform(0.5, 3, size=(n_keys, d))
    X = level[keys] + scale[keys] * rng.normal(size=(n_records, d))
    return keys, X


def keyed_rate(make, keys, X, batch):
    """Records/s of one pass of ``KeyedSEAD`` over the stream (the warm-up model on the first
    batch compiles or loads the numba cache), records/s over the last fifth of the records
    (every key has learned a while: the steady state), and the model."""
    m = make()
    m.score_learn_many(keys[:batch], X[:batch])
    del m
    m = make()
    ts = []
    c0 = time.process_time()
    for a in range(0, len(X), batch):
        t0 = time.perf_counter()
        m.score_learn_many(keys[a : a + batch], X[a : a + batch])
        ts.append(time.perf_counter() - t0)
    cpu = time.process_time() - c0
    tail = max(1, len(ts) // 5)
    return len(X) / sum(ts), tail * batch / sum(ts[-tail:]), len(X) / cpu, m


def single_rate(make, X, repeat):
    return len(X) / best_of(lambda: make().score_learn_many(X), repeat)


_RSS_CHILD = r"""
import sys, numpy as np
from _common import rss
from sead import KeyedSEAD, pools
from sead.telemetry.monitor import default_reference

n_keys, n_records, batch, ref = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = np.random.default_rng(0)
keys = rng.integers(0, n_keys, n_records)
X = rng.normal(size=(n_records, 5))
keys[:n_keys] = np.arange(n_keys)  # every key present
kw = {} if ref == "sead" else {"reference": default_reference()}
warm = KeyedSEAD(pools.telemetry(), **kw)
warm.score_learn_many(keys[:100], X[:100])
del warm
base = rss()
m = KeyedSEAD(pools.telemetry(), **kw)
for a in range(0, n_records, batch):
    m.score_learn_many(keys[a : a + batch], X[a : a + batch])
print(rss(), base, m.n_keys_, m.nbytes_per_key())
"""


def resident(n_keys, n_records, batch, ref):
    """(VmRSS at the end, VmRSS before the first key, keys, nbytes_per_key) in a fresh process."""
    r = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, str(n_keys), str(n_records), str(batch), ref],
        cwd=HERE,  # beside _common.py
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(int(v) for v in r.stdout.split())


def memory_per_key(d=5):
    from sead.telemetry.monitor import default_reference

    out = []
    for name in ("telemetry", "small", "paper", "wide"):
        m = KeyedSEAD(getattr(pools, name)())
        m.learn_many([0], np.zeros((1, d)))
        out.append((f"`pools.{name}()`", len(getattr(pools, name)()), m.nbytes_per_key()))
    m = KeyedSEAD(pools.telemetry(), reference=default_reference())
    m.learn_many([0], np.zeros((1, d)))
    out.append(("`pools.telemetry()`, `reference=default_reference()`", 5, m.nbytes_per_key()))
    return out


def state_round_trip(model, n, repeat):
    """``state_of`` size of one key and ``state_of`` + ``load_key`` keys/s over ``n`` keys; the
    whole model's ``to_bytes`` size and ``to_bytes`` + ``from_bytes`` keys/s."""
    held = model.keys_[:n]
    size = len(model.state_of(held[0]))
    rates = []
    for _ in range(repeat):
        other = model.clone()
        t0 = time.perf_counter()
        for k in held:
            other.load_key(k, model.state_of(k))
        rates.append(len(held) / (time.perf_counter() - t0))
    whole = []
    for _ in range(1):  # a 10,000-key model is 1.4 GB: once
        t0 = time.perf_counter()
        blob = model.to_bytes()
        again = type(model).from_bytes(blob)
        whole.append(model.n_keys_ / (time.perf_counter() - t0))
    assert again.n_keys_ == model.n_keys_
    return size, rates, len(blob), whole


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--paper-keys", type=int, default=1_000)
    ap.add_argument("--paper-records", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "keyed.md")
    args = ap.parse_args(argv)
    from sead.telemetry.monitor import default_reference

    def load():
        return Path("/proc/loadavg").read_text().split()[0]

    lines = [
        "# One event at a time, and keyed streams",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --keys {args.keys} --records "
        f"{args.records} --batch {args.batch} --paper-keys {args.paper_keys} --paper-records "
        f"{args.paper_records} --repeat {args.repeat}`  ",
        f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.machine()}, Python "
        f"{platform.python_version()}; 2 cores shared with other engineers' tests and benchmarks "
        f"(1-min load average at the start: {load()}). Rates: median (min-max) of "
        f"{args.repeat} rounds.",
        "",
        "## One event at a time (`score_one` then `learn_one`, River's Shuttle, dicts)",
        "",
        "10,000 events after 500 `learn_one` warm-up events; each round runs River then each SEAD.",
        "",
        "| model | events/s | vs River (median of per-round ratios, min-max) |",
        "|---|---:|---:|",
    ]
    for label, rates, ratios in one_event(shuttle_events(10_500), args.repeat):
        lines.append(f"| {label} | {spread(rates)} | {spread(ratios, '.2f', 'x')} |")
    print("\n".join(lines), flush=True)

    keys, X = keyed_stream(args.keys, args.records)
    head = [
        "",
        f"## Keyed: {args.records:,} records in time order, batches of {args.batch:,}",
        "",
        f"Load average before: {load()}. Keyed: one pass per round; single stream: "
        "`SEAD(pool).score_learn_many` on the first 200,000 (telemetry) / 50,000 (paper) rows of "
        "the same stream as one stream, best of 2 per round.",
        "",
        "| pool | keys | records | keyed records/s | keyed, per CPU second | keyed, last fifth of "
        "the records | single-stream rows/s | keyed / single |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    lines += head
    print("\n".join(head), flush=True)
    configs = [
        ("`pools.telemetry()`", args.keys, args.records, lambda: KeyedSEAD(pools.telemetry()),
         lambda: SEAD(pools.telemetry()), 200_000),
        ("`pools.telemetry()`, Monitor's `default_reference()`", args.keys, args.records,
         lambda: KeyedSEAD(pools.telemetry(), reference=default_reference()),
         lambda: SEAD(pools.telemetry(), reference=default_reference()), 200_000),
        ("`pools.paper()`", args.paper_keys, args.paper_records,
         lambda: KeyedSEAD(pools.paper()), lambda: SEAD(pools.paper()), 50_000),
    ]  # fmt: skip
    model_t = None
    for label, nk, nr, make, make1, n1 in configs:
        k = keys[:nr] % nk
        kr, kt, kc, sr = [], [], [], []
        for _ in range(args.repeat):
            r, rt, rc, m = keyed_rate(make, k, X[:nr], args.batch)
            kr.append(r)
            kt.append(rt)
            kc.append(rc)
            if model_t is None:
                model_t = m
            del m
            gc.collect()
            sr.append(single_rate(make1, X[:n1], 2))
        row = (
            f"| {label} | {nk:,} | {nr:,} | {spread(kr)} | {spread(kc)} | {spread(kt)} | "
            f"{spread(sr)} | {statistics.median(kr) / statistics.median(sr):.2f} |"
        )
        lines.append(row)
        print(row, flush=True)

    mem = [
        "",
        "## Memory",
        "",
        "| pool | detectors | bytes per key (d = 5, `nbytes_per_key()`) | x 10,000 keys |",
        "|---|---:|---:|---:|",
    ]
    for name, nd, b in memory_per_key():
        mem.append(f"| {name} | {nd} | {b:,} | {b * 10_000 / 1e6:,.0f} MB |")
    mem.append("")
    for ref, what in [("sead", "SEAD's default reference"), ("monitor", "`default_reference()`")]:
        rss, base, nk, per = resident(args.keys, args.records, args.batch, ref)
        mem.append(
            f"Resident memory, fresh subprocess, {nk:,} keys of `pools.telemetry()` with {what} "
            f"after {args.records:,} records: VmRSS {rss / 1e6:,.0f} MB in all, "
            f"{(rss - base) / 1e6:,.0f} MB added by the keys (imports and compiled code "
            f"{base / 1e6:,.0f} MB); `nbytes_per_key` x keys = {per * nk / 1e6:,.0f} MB.  "
        )
    lines += mem
    print("\n".join(mem), flush=True)

    size, rates, whole_size, whole = state_round_trip(model_t, 2_000, args.repeat)
    st = [
        "",
        f"## State bytes (telemetry pool, SEAD's default reference, {model_t.n_keys_:,} keys)",
        "",
        f"`state_of(key)` of one key: {size:,} bytes; `state_of` + `load_key` round trip of 2,000 "
        f"keys: {spread(rates)} keys/s.  ",
        f"`to_bytes()` of the whole model (once): {whole_size:,} bytes "
        f"({whole_size / model_t.n_keys_:,.0f} per key); `to_bytes` + `from_bytes`: "
        f"{spread(whole)} keys/s.",
    ]
    lines += st
    text = "\n".join(lines) + "\n"
    print("\n".join(st))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
