"""The cost of the adapters and of the telemetry reader: the figures the API docs point to.

    python benchmarks/bench_adapters.py [--rows 20000] [--repeat 3] [--out FILE]

(``--out`` defaults to ``benchmarks/results/adapters.md``.)

Measured side by side in one run, best of ``--repeat`` (the machine is shared: read the
ratios), on 10 Gaussian features:

1. ``RiverDetector`` — River's ``HalfSpaceTrees`` at its defaults, alone (``score_one`` then
   ``learn_one`` on dicts built beforehand) and through ``RiverDetector.score_learn_many`` on
   the array (which builds the dicts);
2. ``PySADDetector`` — PySAD's ``LODA`` at its defaults, alone (``score_partial`` then
   ``fit_partial``) and through the adapter (scored directly); PySAD's
   ``RobustRandomCutForest`` alone and through the adapter's ``restore_rng`` path, and one
   scored row through the ``copy`` path (a pickle round trip per scored row);
3. ``SklearnWindowDetector`` — scikit-learn's ``IsolationForest`` at its defaults with
   ``window=2048``: ``score_learn_many`` and the ``score_one`` / ``learn_one`` loop;
4. ``sead.telemetry.sources`` — records/s of ``open_source`` on a JSON lines file, with orjson
   and with the standard ``json`` module.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from datetime import date
from functools import partial
from pathlib import Path

import _common
import numpy as np

D = 10


# timed from the first call: no warm-up call (the slow models are timed in a single run)
best_of = partial(_common.best_of, warmup=False)


def river_rows(X, repeat):
    from river.anomaly import HalfSpaceTrees as RiverHST

    from sead.compat.river import RiverDetector

    dicts = [dict(enumerate(map(float, x))) for x in X]

    def alone():
        m = RiverHST(seed=0)
        for x in dicts:
            m.score_one(x)
            m.learn_one(x)

    t_alone = best_of(alone, repeat)
    t_adapter = best_of(lambda: RiverDetector(RiverHST(seed=0)).score_learn_many(X), repeat)
    n = len(X)
    return [
        ("River HalfSpaceTrees alone (dicts prepared)", n / t_alone, t_alone / n * 1e6),
        ("RiverDetector(HalfSpaceTrees).score_learn_many", n / t_adapter, t_adapter / n * 1e6),
    ]


def _pysad_alone(make, X):
    def run():
        m = make()
        for x in X:
            m.score_partial(x)
            m.fit_partial(x)

    return run


def pysad_rows(X, repeat):
    from pysad.models import LODA, RobustRandomCutForest

    from sead.compat.pysad import PySADDetector

    n = len(X)
    out = []
    t_alone = best_of(_pysad_alone(lambda: LODA(), X), repeat)
    t_adapter = best_of(lambda: PySADDetector(LODA()).score_learn_many(X), repeat)
    out += [
        ("PySAD LODA alone", n / t_alone, t_alone / n * 1e6),
        ("PySADDetector(LODA).score_learn_many (direct)", n / t_adapter, t_adapter / n * 1e6),
    ]
    Xr = X[:300]
    m = len(Xr)
    t_alone = best_of(_pysad_alone(lambda: RobustRandomCutForest(), Xr), 1)
    det = PySADDetector(RobustRandomCutForest())
    t_adapter = best_of(lambda: det.clone().score_learn_many(Xr), 1)
    probe = det.clone()
    probe.learn_many(Xr[:1])
    label = f"PySADDetector(RobustRandomCutForest).score_learn_many ({probe.scoring_}, {m} rows)"
    out += [
        (f"PySAD RobustRandomCutForest alone ({m} rows)", m / t_alone, t_alone / m * 1e6),
        (label, m / t_adapter, t_adapter / m * 1e6),
    ]
    cp = PySADDetector(RobustRandomCutForest(), score_on_copy=True)
    cp.learn_many(Xr)
    t_copy = best_of(lambda: cp.score_many(Xr[:2]), 1) / 2
    out.append(("one scored row through the copy path (same forest)", 1 / t_copy, t_copy * 1e6))
    return out


def sklearn_rows(X, repeat):
    from sklearn.ensemble import IsolationForest

    from sead.compat.sklearn import SklearnWindowDetector

    def make():
        return SklearnWindowDetector(IsolationForest(random_state=0), window=2048)

    n = len(X)
    t_batch = best_of(lambda: make().score_learn_many(X), repeat)
    Xo = X[:3000]
    m = len(Xo)

    def one_by_one():
        det = make()
        for x in Xo:
            det.score_one(x)
            det.learn_one(x)

    t_one = best_of(one_by_one, 1)
    return [
        ("SklearnWindowDetector(IsolationForest).score_learn_many", n / t_batch, t_batch / n * 1e6),
        (f"the same, score_one + learn_one ({m} rows)", m / t_one, t_one / m * 1e6),
    ]


def sources_rows(n_records, repeat):
    from sead.telemetry.sources import open_source

    rng = np.random.default_rng(0)
    fd, path = tempfile.mkstemp(suffix=".jsonl")
    with os.fdopen(fd, "w") as fh:
        for i in range(n_records):
            rec = {"agent": f"a{i % 50}", "ts": 1.7e9 + i, "latency_ms": float(rng.gamma(2, 100))}
            rec.update({f"f{j}": float(v) for j, v in enumerate(rng.normal(size=4))})
            fh.write(json.dumps(rec) + "\n")

    def read(backend):
        def run():
            with open_source(path, batch_size=10_000, json_backend=backend) as src:
                for _ in src:
                    pass

        return run

    out = []
    try:
        for backend in ("orjson", "json"):
            try:
                t = best_of(read(backend), repeat)
            except (ImportError, ValueError):
                continue
            out.append((f"open_source, JSON lines, {backend}", n_records / t, t / n_records * 1e6))
    finally:
        os.unlink(path)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "adapters.md")
    args = ap.parse_args(argv)
    X = np.random.default_rng(0).normal(size=(args.rows, D))
    rows = []
    for part in (
        lambda: river_rows(X, args.repeat),
        lambda: pysad_rows(X[:10_000], args.repeat),
        lambda: sklearn_rows(X, args.repeat),
        lambda: sources_rows(200_000, args.repeat),
    ):
        rows += part()
        print(rows[-1], flush=True)
    lines = [
        "# Adapters and the telemetry reader",
        "",
        f"Command: `python benchmarks/{Path(__file__).name} --rows {args.rows} --repeat "
        f"{args.repeat}`  ",
        f"Date: {date.today()}; {platform.machine()}, Python {platform.python_version()}, 2 "
        f"shared cores (load average {os.getloadavg()[0]:.1f} at the end). Best of "
        f"{args.repeat} (the slow RobustRandomCutForest and one-by-one rows: one run).",
        "",
        "| what | rows/s | µs per row |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {what} | {rate:,.0f} | {us:,.1f} |"
        if rate >= 10
        else f"| {what} | {rate:.2f} | {us:,.0f} |"
        for what, rate, us in rows
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
