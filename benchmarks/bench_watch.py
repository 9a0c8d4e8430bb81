"""``sead watch`` end to end: throughput, where the time goes, memory, and alert quality.

    python benchmarks/bench_watch.py [--agents 1000] [--steps 100] [--keys 10000] [--seeds 5]
                                     [--out benchmarks/results/watch.md]

1. end to end — ``sead watch FILE --alerts FILE`` (parse, score, policy, write) in-process on
   ``--agents`` agents of :func:`sead.datasets.agent_telemetry` written as JSON lines, the
   default telemetry pool (target >= 50,000 records/s on one core);
2. the same records pre-parsed: ``Monitor.process_many`` on lists of dicts (no JSON), and the
   scoring alone, ``KeyedSEAD.score_learn_many`` on the pre-built arrays, to show where the time
   goes;
3. memory — the resident memory of a Monitor holding ``--keys`` keys (target <= 1 GB), in a
   fresh subprocess;
4. alert quality — :func:`sead.telemetry.watch.alert_quality` of the default Monitor on the
   generator's default stream (20 agents x 600 steps), seeds ``0 .. --seeds - 1``: recall per
   kind, precision (overall, and per kind on the same stream with incidents of that kind only),
   false alerts per row on clean agents against the policy's nominal rate (the alert rate of the
   same policy on i.i.d. uniform scores) and the median delay.
"""

from __future__ import annotations

import argparse
import io
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def end_to_end(agents, steps, repeat):
    from sead import KeyedSEAD
    from sead.datasets import agent_telemetry
    from sead.datasets.agent_telemetry import RECORD_FIELDS
    from sead.telemetry import Monitor
    from sead.telemetry.monitor import default_pool, default_reference
    from sead.telemetry.watch import WatchOptions, run

    d = agent_telemetry(n_agents=agents, steps=steps, seed=0)
    n = len(d.records)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "agents.jsonl"
    d.to_jsonl(path)
    out = tmp / "alerts.jsonl"

    def watch():
        status = run(
            WatchOptions(input=str(path), alerts=str(out), quiet=True, fsync=False),
            stderr=io.StringIO(),
        )
        assert status == 0

    watch()  # compile / load the numba cache
    t_watch = best_of(watch, repeat)
    recs = d.records[list(RECORD_FIELDS)].to_dict("records")

    def monitor():
        m = Monitor()
        for i in range(0, n, 1000):
            m.process_many(recs[i : i + 1000])

    t_mon = best_of(monitor, repeat)
    fields = sorted(f for f in RECORD_FIELDS if f not in ("agent", "ts"))
    X = d.records[fields].to_numpy(np.float64)
    keys = d.records["agent"].to_numpy(object)

    def scoring():
        m = KeyedSEAD(default_pool(0), reference=default_reference())
        for i in range(0, n, 1000):
            m.score_learn_many(keys[i : i + 1000], X[i : i + 1000])

    t_score = best_of(scoring, repeat)
    return n, {
        "sead watch FILE (parse, score, policy, write)": t_watch,
        "Monitor.process_many on pre-parsed dicts": t_mon,
        "KeyedSEAD.score_learn_many on pre-built arrays (no policy)": t_score,
    }


_MEM_CHILD = r"""
import resource, sys, numpy as np
from sead.telemetry import Monitor
keys, fields, rows = int(sys.argv[1]), 6, int(sys.argv[2])
rng = np.random.default_rng(0)
m = Monitor(policy=None)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for r in range(rows):
    recs = [
        {"agent": f"k{k}", "ts": float(r),
         **{f"f{j}": float(v) for j, v in enumerate(rng.normal(size=fields))}}
        for k in range(keys)
    ]
    for i in range(0, keys, 2000):
        m.process_many(recs[i:i + 2000])
import os
now = 0
if os.path.exists("/proc/self/statm"):
    now = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, now, base * 1024,
      m.model_.nbytes_per_key(), m.model_.n_keys_, m.model_.engine_.capacity)
"""


def memory(keys):
    r = subprocess.run(
        [sys.executable, "-c", _MEM_CHILD, str(keys), "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(int(x) for x in r.stdout.split())


def quality(seeds):
    from sead.datasets import INCIDENT_KINDS, agent_telemetry
    from sead.datasets.agent_telemetry import RECORD_FIELDS
    from sead.telemetry import AlertPolicy, Monitor
    from sead.telemetry.watch import alert_quality, nominal_alert_rate

    pol = AlertPolicy()

    def watch(d):
        recs = d.records[list(RECORD_FIELDS)].to_dict("records")
        m = Monitor()
        ev = []
        for i in range(0, len(recs), 1000):
            ev += m.process_many(recs[i : i + 1000])
        return alert_quality(d, ev, warmup=pol.warmup)

    qs = [watch(agent_telemetry(seed=s)) for s in seeds]
    inc = pd.concat([q["incidents"] for q in qs])
    g = inc.groupby("kind", sort=False)
    per_kind = pd.DataFrame(
        {
            "incidents": g.size(),
            "recall": g["detected"].mean(),
            "median_delay_steps": g["delay_steps"].median(),
            "median_delay_s": g["delay_s"].median(),
        }
    )
    # precision per kind: the same stream with incidents of that kind only (a false alert of the
    # mixed stream belongs to no kind)
    prec = {}
    for kind in INCIDENT_KINDS:
        ks = [watch(agent_telemetry(seed=s, kinds=(kind,))) for s in seeds]
        n = sum(q["alerts"] for q in ks)
        prec[kind] = (n - sum(q["false_alerts"] for q in ks)) / n if n else float("nan")
    per_kind["precision"] = pd.Series(prec)
    per_kind = per_kind.loc[[k for k in INCIDENT_KINDS if k in per_kind.index]]
    n_alerts = sum(q["alerts"] for q in qs)
    n_false = sum(q["false_alerts"] for q in qs)
    rows = sum(q["clean_rows"] for q in qs)
    clean = sum(q["clean_alerts"] for q in qs)
    return {
        "per_kind": per_kind,
        "recall": float(inc["detected"].mean()),
        "alerts": n_alerts,
        "precision": (n_alerts - n_false) / n_alerts if n_alerts else float("nan"),
        "clean_rate": clean / rows,
        "clean_alerts": clean,
        "clean_rows": rows,
        "nominal": nominal_alert_rate(pol),
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--keys", type=int, default=10_000)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    a = p.parse_args(argv)
    lines = [
        f"# sead watch ({date.today()}, Python {platform.python_version()}, {platform.machine()})",
        "",
        f"`python benchmarks/bench_watch.py --agents {a.agents} --steps {a.steps} --keys {a.keys} "
        f"--seeds {a.seeds}`",
        "",
    ]
    n, times = end_to_end(a.agents, a.steps, a.repeat)
    lines += [
        f"## Throughput: {a.agents:,} agents x {a.steps} steps = {n:,} records, best of {a.repeat}",
        "",
        "| what | records/s | µs per record |",
        "|---|---:|---:|",
    ]
    for k, t in times.items():
        lines.append(f"| {k} | {n / t:,.0f} | {1e6 * t / n:.1f} |")
    print("\n".join(lines), flush=True)
    rss, now, base, per_key, nk, cap = memory(a.keys)
    mem = [
        "",
        f"## Memory: {nk:,} keys, 6 fields",
        "",
        f"peak resident {rss / 2**20:,.0f} MB (target <= 1024 MB), {now / 2**20:,.0f} MB at the "
        f"end, {base / 2**20:,.0f} MB before the first key (imports); learned state {per_key:,} "
        "bytes per key (KeyedSEAD.nbytes_per_key, policy state not included); slots allocated "
        f"{cap:,}",
    ]
    print("\n".join(mem), flush=True)
    lines += mem
    q = quality(range(a.seeds))
    qual = [
        "",
        f"## Alert quality: agent_telemetry() defaults, seeds 0-{a.seeds - 1}, default Monitor",
        "",
        "| kind | incidents | recall | precision (that kind only) | median delay (steps) | median "
        "delay (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for kind, r in q["per_kind"].iterrows():
        qual.append(
            f"| {kind} | {int(r['incidents'])} | {r['recall']:.2f} | {r['precision']:.2f} | "
            f"{r['median_delay_steps']:.1f} | {r['median_delay_s']:.1f} |"
        )
    qual += [
        "",
        f"recall {q['recall']:.3f} (target >= 0.9); alerts {q['alerts']}, precision "
        f"{q['precision']:.3f}; false alerts on clean agents {q['clean_alerts']} in "
        f"{q['clean_rows']:,} rows = {q['clean_rate']:.2e} per row, nominal {q['nominal']:.2e} per "
        f"row, ratio {q['clean_rate'] / q['nominal']:.2f} (target <= 2)",
    ]
    print("\n".join(qual), flush=True)
    lines += qual
    if a.out is not None:
        a.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
