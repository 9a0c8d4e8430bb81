"""Where the time goes: cProfile of the paths whose targets are missed, as markdown tables.

    python benchmarks/bench_profile.py [--what keyed,one,watch,otlp] [--top 12]

* ``keyed`` — ``KeyedSEAD(pools.telemetry()).score_learn_many`` over 200,000 records of 10,000
  keys in batches of 10,000 (the stream of ``bench_keyed.py``), after a first pass over the
  same records that creates the keys (so key creation is not profiled);
* ``one`` — ``score_one`` + ``learn_one`` on 5,000 River Shuttle dicts, ``SEAD()`` and
  ``SEAD(pools.telemetry())``, after 500 warm-up events;
* ``watch`` — ``sead watch FILE`` on 1,000 agents x 30 steps of JSON lines;
* ``otlp`` — ``sead watch FILE --format otlp`` on the same records as OTLP metrics lines
  (``bench_watch.write_otlp``: a gauge and a cumulative sum per agent and step).

Each table lists the functions with the most own time (``tottime``: time in the function
itself, not in what it calls; a compiled numba kernel's time is all its own) and the share of
the profiled wall time. cProfile adds a cost per Python call, so the Python-side shares are
overstated; the totals without the profiler are in ``bench_keyed.py`` / ``bench_watch.py``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import tempfile
import time
from pathlib import Path


def profile(fn, top):
    pr = cProfile.Profile()
    t0 = time.perf_counter()
    pr.enable()
    fn()
    pr.disable()
    wall = time.perf_counter() - t0
    st = pstats.Stats(pr, stream=io.StringIO())
    rows = []
    for (file, line, name), (_cc, nc, tt, ct, _callers) in st.stats.items():
        short = f"{Path(file).name}:{line}({name})" if file != "~" else name
        rows.append((tt, ct, nc, short))
    rows.sort(reverse=True)
    lines = [
        f"profiled wall time {wall:.2f} s",
        "",
        "| function | calls | own time s | share | cumulative s |",
        "|---|---:|---:|---:|---:|",
    ]
    for tt, ct, nc, short in rows[:top]:
        lines.append(f"| `{short}` | {nc:,} | {tt:.3f} | {100 * tt / wall:.0f} % | {ct:.3f} |")
    return "\n".join(lines)


def keyed(top):
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_keyed import keyed_stream

    from sead import KeyedSEAD, pools

    keys, X = keyed_stream(10_000, 200_000)
    m = KeyedSEAD(pools.telemetry())
    for a in range(0, len(X), 10_000):
        m.score_learn_many(keys[a : a + 10_000], X[a : a + 10_000])

    def run():
        for a in range(0, len(X), 10_000):
            m.score_learn_many(keys[a : a + 10_000], X[a : a + 10_000])

    return "### keyed, telemetry pool, 10,000 keys, 200,000 records\n\n" + profile(run, top)


def one(top):
    from river import datasets

    from sead import SEAD, pools

    ev = [x for x, _ in datasets.Shuttle().take(5_500)]
    out = []
    for label, make in [
        ("SEAD()", SEAD),
        ("SEAD(pools.telemetry())", lambda: SEAD(pools.telemetry())),
    ]:
        m = make()
        for x in ev[:500]:
            m.score_one(x)
            m.learn_one(x)

        def run(m=m):
            for x in ev[500:]:
                m.score_one(x)
                m.learn_one(x)

        out.append(f"### one event, {label}, 5,000 events\n\n" + profile(run, top))
    return "\n\n".join(out)


def watch(top):
    from sead.datasets import agent_telemetry
    from sead.telemetry.watch import WatchOptions, run

    d = agent_telemetry(n_agents=1000, steps=30, seed=0)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "a.jsonl"
    d.to_jsonl(path)
    opts = WatchOptions(input=str(path), alerts=str(tmp / "o.jsonl"), quiet=True, fsync=False)
    run(opts, stderr=io.StringIO())  # warm-up
    return f"### sead watch, {len(d.records):,} records (1,000 agents)\n\n" + profile(
        lambda: run(opts, stderr=io.StringIO()), top
    )


def otlp(top):
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_watch import write_otlp

    from sead.datasets import agent_telemetry
    from sead.telemetry.watch import WatchOptions, run

    d = agent_telemetry(n_agents=1000, steps=30, seed=0)
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "a.otlp.jsonl"
    n = write_otlp(d, path)
    opts = WatchOptions(
        input=str(path), format="otlp", alerts=str(tmp / "o.jsonl"), quiet=True, fsync=False
    )
    run(opts, stderr=io.StringIO())  # warm-up
    return f"### sead watch --format otlp, {n:,} data points (1,000 agents)\n\n" + profile(
        lambda: run(opts, stderr=io.StringIO()), top
    )


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--what", default="keyed,one,watch")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args(argv)
    for w in args.what.split(","):
        print({"keyed": keyed, "one": one, "watch": watch, "otlp": otlp}[w](args.top), flush=True)
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
