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
4. alert quality — :func:`sead.telemetry.watch.alert_quality_over_seeds` of the default Monitor
   on the generator's default stream (20 agents x 600 steps), seeds ``0 .. --seeds - 1``:
   recall per kind, precision (overall, and per kind on the same stream with incidents of that
   kind only), false alerts per row on clean agents against the policy's nominal rate (the alert
   rate of the same policy on i.i.d. uniform scores) and the median delay.
"""

from __future__ import annotations

import argparse
import io
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from _common import HERE, spread


def timings(fn, repeat):
    """``(wall, cpu)``: seconds of each of ``repeat`` calls, wall clock and this process's CPU
    time (the first call is a warm-up, not counted). On a shared machine the CPU time is the
    better estimate of what one free core would do."""
    fn()
    wall, cpu = [], []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return wall, cpu


def write_otlp(d, path):
    """The records of ``d`` as OTLP metrics JSON lines (one ExportMetricsServiceRequest per step,
    a resource per agent): a gauge ``latency_ms`` and a cumulative monotonic sum
    ``input_tokens`` per agent, so 2 data points (records) per agent and step."""
    import json

    r = d.records.sort_values(["ts"], kind="stable").copy()
    r["step"] = r.groupby("agent").cumcount()
    r["tokens"] = r.groupby("agent")["input_tokens"].cumsum()
    start = r.groupby("agent")["ts"].transform("min")
    r["t0"] = (start * 1e9).astype(np.int64) - 1
    r["tn"] = (r["ts"] * 1e9).astype(np.int64)
    n = 0
    with open(path, "w") as fh:
        for _, g in r.groupby("step", sort=True):
            res = []
            cols = (g["agent"], g["latency_ms"], g["tokens"], g["t0"], g["tn"])
            for a, lat, tok, t0, tn in zip(*cols):
                res.append(
                    {
                        "resource": {
                            "attributes": [{"key": "service.name", "value": {"stringValue": a}}]
                        },
                        "scopeMetrics": [
                            {
                                "scope": {"name": "bench"},
                                "metrics": [
                                    {
                                        "name": "latency_ms",
                                        "gauge": {
                                            "dataPoints": [
                                                {"timeUnixNano": str(tn), "asDouble": float(lat)}
                                            ]
                                        },
                                    },
                                    {
                                        "name": "input_tokens",
                                        "sum": {
                                            "aggregationTemporality": 2,
                                            "isMonotonic": True,
                                            "dataPoints": [
                                                {
                                                    "startTimeUnixNano": str(t0),
                                                    "timeUnixNano": str(tn),
                                                    "asInt": str(int(tok)),
                                                }
                                            ],
                                        },
                                    },
                                ],
                            }
                        ],
                    }
                )
                n += 2
            fh.write(json.dumps({"resourceMetrics": res}) + "\n")
    return n


def end_to_end(agents, steps, repeat):
    """Seconds per pass of each way of feeding the records, and the record counts."""
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
    otlp = tmp / "agents.otlp.jsonl"
    n_otlp = write_otlp(d, otlp)
    out = tmp / "alerts.jsonl"

    def watch(src=path, fmt=None):
        kw = {} if fmt is None else {"format": fmt}
        status = run(
            WatchOptions(input=str(src), alerts=str(out), quiet=True, fsync=False, **kw),
            stderr=io.StringIO(),
        )
        assert status == 0

    t_watch = timings(watch, repeat)
    t_otlp = timings(lambda: watch(otlp, "otlp"), repeat)
    recs = d.records[list(RECORD_FIELDS)].to_dict("records")

    def monitor():
        m = Monitor()
        for i in range(0, n, 1000):
            m.process_many(recs[i : i + 1000])

    t_mon = timings(monitor, repeat)
    fields = sorted(f for f in RECORD_FIELDS if f not in ("agent", "ts"))
    X = d.records[fields].to_numpy(np.float64)
    keys = d.records["agent"].to_numpy(object)

    def scoring():
        m = KeyedSEAD(default_pool(0), reference=default_reference())
        for i in range(0, n, 1000):
            m.score_learn_many(keys[i : i + 1000], X[i : i + 1000])

    t_score = timings(scoring, repeat)
    return {
        "sead watch FILE, JSON lines (parse, score, policy, write)": (n, t_watch),
        f"sead watch FILE --format otlp ({n_otlp:,} data points: gauge + cumulative sum per "
        "agent and step)": (n_otlp, t_otlp),
        "Monitor.process_many on pre-parsed dicts (score + policy, no JSON)": (n, t_mon),
        "KeyedSEAD.score_learn_many on pre-built arrays (scoring alone, no policy)": (n, t_score),
    }


_MEM_CHILD = r"""
import resource, sys, numpy as np
from _common import rss
from sead.telemetry import Monitor
keys, fields, rows = int(sys.argv[1]), 6, int(sys.argv[2])
rng = np.random.default_rng(0)
m = Monitor()
m.process_many([{"agent": "warm", "ts": 0.0, **{f"f{j}": 0.0 for j in range(fields)}}])
m = Monitor()
base = rss()
for r in range(rows):
    recs = [
        {"agent": f"k{k}", "ts": float(r),
         **{f"f{j}": float(v) for j, v in enumerate(rng.normal(size=fields))}}
        for k in range(keys)
    ]
    for i in range(0, keys, 2000):
        m.process_many(recs[i:i + 2000])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, rss(), base,
      m.model_.nbytes_per_key(), m.model_.n_keys_, m.model_.engine_.capacity)
"""


def memory(keys):
    r = subprocess.run(
        [sys.executable, "-c", _MEM_CHILD, str(keys), "20"],
        cwd=HERE,  # beside _common.py
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(int(x) for x in r.stdout.split())


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
    load = Path("/proc/loadavg").read_text().split()[0]
    times = end_to_end(a.agents, a.steps, a.repeat)
    load2 = Path("/proc/loadavg").read_text().split()[0]
    n = a.agents * a.steps
    lines += [
        f"## Throughput: {a.agents:,} agents x {a.steps} steps = {n:,} records",
        "",
        f"One process, one thread; 2 cores shared with other engineers' jobs (1-min load average "
        f"{load} before, {load2} after). Median of {a.repeat} passes after a warm-up pass "
        "(min-max).",
        "",
        "| what | records/s (wall), median (min-max) | records per CPU second, median (min-max) "
        "| CPU µs per record (median) |",
        "|---|---:|---:|---:|",
    ]
    for k, (nr, (ts, cs)) in times.items():
        rates = [nr / t for t in ts]
        crates = [nr / c for c in cs]
        lines.append(
            f"| {k} | {spread(rates)} | {spread(crates)} | {1e6 * statistics.median(cs) / nr:.1f} |"
        )
    print("\n".join(lines), flush=True)
    _peak, now, base, per_key, nk, cap = memory(a.keys)
    mem = [
        "",
        f"## Memory: {nk:,} keys, 6 fields",
        "",
        f"Fresh subprocess (default `Monitor()`, policy included, 20 records per key): VmRSS "
        f"{now / 1e6:,.0f} MB at the end (target <= 1,000 MB), {base / 1e6:,.0f} MB before the "
        f"first key (imports, compiled code), so {(now - base) / 1e6:,.0f} MB for the keys (the "
        "child's ru_maxrss is not a peak of its own: Linux keeps the parent's across fork and "
        "exec); learned state "
        f"{per_key:,} "
        "bytes per key (KeyedSEAD.nbytes_per_key, policy state not included); slots allocated "
        f"{cap:,}",
    ]
    print("\n".join(mem), flush=True)
    lines += mem
    from sead.telemetry.watch import alert_quality_over_seeds

    q = alert_quality_over_seeds(range(a.seeds))
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
