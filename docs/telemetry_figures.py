"""The figures and the quality table of ``docs/telemetry.md``.

    python docs/telemetry_figures.py [--seed 0] [--out docs/telemetry]
    python docs/telemetry_figures.py --quality [--seeds 5]

For one incident of every kind in ``agent_telemetry(seed=...)``: the agent's ensemble score, the
policy's threshold and the alert events over time, with the incident shaded — computed with the
default Monitor's model and policy (``sead.telemetry.monitor.default_pool``,
``default_reference``, ``AlertPolicy()``), the same numbers ``sead watch`` uses. And, for the
detection mode (``AlertPolicy(mode="detect")``), the NAB alert signal and its alerts on the same
incidents of two kinds (``detect_<kind>.png``).

``--quality`` prints instead the per-kind quality table of
:func:`sead.telemetry.watch.alert_quality_over_seeds` for seeds ``0 .. --seeds - 1`` of the
generator's default stream, for both modes of the policy side by side: the persistence mode
(``AlertPolicy()``, on the ensemble score) and the detection mode (``AlertPolicy(mode="detect")``,
on the NAB alert signal ``sead.alerting.AlertSignal()``) — each through ``Monitor``, the code path
of ``sead watch``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sead import KeyedSEAD  # noqa: E402
from sead.alerting import AlertSignal  # noqa: E402
from sead.datasets import INCIDENT_KINDS, agent_telemetry  # noqa: E402
from sead.telemetry import AlertPolicy  # noqa: E402
from sead.telemetry.monitor import PolicyState, default_pool, default_reference  # noqa: E402
from sead.telemetry.watch import alert_quality_over_seeds  # noqa: E402

DETECT_KINDS = ("latency_spike", "level_shift")


def scored(seed):
    """Records with the Monitor's score, threshold and event per row (fields sorted by name, as
    the Monitor infers them)."""
    d = agent_telemetry(seed=seed)
    r = d.records.copy()
    fields = sorted(c for c in r.columns if c not in ("agent", "ts", "label", "incident"))
    X = r[fields].to_numpy(np.float64)
    keys = r["agent"].to_numpy(object)
    S = KeyedSEAD(default_pool(0), reference=default_reference()).score_learn_many(keys, X)
    codes, _ = pd.factorize(keys)
    pol = AlertPolicy()
    st = PolicyState(pol, X.shape[1])
    st.reserve(int(codes.max()) + 1)
    ev, thr, _ = st.run(S, X, codes.astype(np.int64))
    # the detection mode: the alert signal per agent, an alert per detection
    n = int(codes.max()) + 1
    sig = AlertSignal()
    sig.allocate(n, n_features=X.shape[1])
    raw = np.empty(len(S))
    A = sig.run(S, codes.astype(np.int64), True, X, raw=raw)
    st = PolicyState(AlertPolicy(mode="detect"), X.shape[1])
    st.reserve(n)
    dev, _, _ = st.run(A, X, codes.astype(np.int64), raw, float(sig.threshold))
    r["signal"], r["detect_event"] = A, dev
    r["score"], r["threshold"], r["event"] = S, thr, ev
    return d, r


def _incident_figure(d, r, kind):
    """The first incident of ``kind``, its agent's rows, their first time and a new figure."""
    inc = d.incidents[d.incidents.kind == kind].iloc[0]
    a = r[r.agent == inc.agent].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    return inc, a, a.ts.iloc[0], fig, ax


def _shade(ax, inc, t0, kind):
    ax.axvspan(
        (inc.start_ts - t0) / 60,
        (inc.end_ts - t0) / 60,
        color="tab:red",
        alpha=0.15,
        label=f"incident: {kind}",
    )


def _save(fig, ax, inc, r, ylabel, title, path):
    ax.set_xlabel(f"minutes ({inc.agent}, seed {r.attrs.get('seed', 0)})")
    ax.set_ylabel(ylabel)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    ax.legend(loc="lower left", fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def figure(d, r, kind, out):
    inc, a, t0, fig, ax = _incident_figure(d, r, kind)
    minutes = (a.ts - t0) / 60
    ax.plot(minutes, a.score, lw=0.8, color="0.35", label="ensemble score")
    ax.plot(
        minutes,
        a.threshold.where(np.isfinite(a.threshold)),
        lw=1.2,
        color="tab:orange",
        label="threshold (q-quantile of the agent's scores)",
    )
    _shade(ax, inc, t0, kind)
    al = a[a.event == 1]
    ax.scatter((al.ts - t0) / 60, al.score, marker="v", color="tab:red", zorder=3, label="alert")
    rs = a[a.event == 2]
    ax.scatter(
        (rs.ts - t0) / 60, rs.score, marker="^", color="tab:green", zorder=3, label="resolved"
    )
    title = f"{kind}: {inc.n_records} steps, magnitude {inc.magnitude}"
    _save(fig, ax, inc, r, "score", title, out / f"{kind}.png")


def detect_figure(d, r, kind, out):
    """The detection mode on the same incident as :func:`figure`: score, signal, alerts."""
    inc, a, t0, fig, ax = _incident_figure(d, r, kind)
    minutes = (a.ts - t0) / 60
    ax.plot(minutes, a.score, lw=0.6, color="0.6", label="ensemble score")
    ax.plot(minutes, a.signal, lw=0.8, color="tab:blue", label="alert signal (AlertSignal)")
    ax.axhline(0.96, lw=1.2, color="tab:orange", label="signal threshold 0.96")
    _shade(ax, inc, t0, kind)
    al = a[a.detect_event == 1]
    ax.scatter((al.ts - t0) / 60, al.signal, marker="v", color="tab:red", zorder=3, label="alert")
    title = f"detection mode, {kind}: {inc.n_records} steps, magnitude {inc.magnitude}"
    _save(fig, ax, inc, r, "score / signal", title, out / f"detect_{kind}.png")


def print_quality(seeds):
    """The side-by-side table of the two policy modes (markdown, as in ``docs/telemetry.md``)."""
    modes = {
        "persist (q-quantile of S, 6 of 10)": AlertPolicy(),
        "detect (AlertSignal, NAB defaults)": AlertPolicy(mode="detect"),
    }
    res = {name: alert_quality_over_seeds(seeds, pol) for name, pol in modes.items()}
    names = list(res)
    print(f"agent_telemetry() default stream, seeds 0-{len(seeds) - 1}, default Monitor\n")
    print("| kind | incidents | " + " | ".join(f"recall / precision / delay: {n}" for n in names))
    print("|---|---:|" + "---:|" * len(names))
    for kind in res[names[0]]["per_kind"].index:
        cells = []
        for n in names:
            r = res[n]["per_kind"].loc[kind]
            cells.append(f"{r.recall:.2f} / {r.precision:.2f} / {r.median_delay_steps:g}")
        print(
            f"| {kind} | {int(res[names[0]]['per_kind'].loc[kind].incidents)} | "
            + " | ".join(cells)
            + " |"
        )
    print()
    for n in names:
        q = res[n]
        print(
            f"{n}: recall {q['recall']:.3f} of {len(q['incidents'])} incidents; {q['alerts']} "
            f"alerts, {q['precision']:.1%} true; clean agents {q['clean_alerts']} false alerts "
            f"= {q['clean_rate']:.2e} per row, nominal {q['nominal']:.2e} "
            f"({q['clean_rate'] / q['nominal']:.2f}x)"
        )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "telemetry")
    p.add_argument("--quality", action="store_true", help="print the two modes' quality table")
    p.add_argument("--seeds", type=int, default=5, help="seeds of --quality (0 .. N-1)")
    a = p.parse_args(argv)
    if a.quality:
        print_quality(list(range(a.seeds)))
        return
    a.out.mkdir(parents=True, exist_ok=True)
    d, r = scored(a.seed)
    r.attrs["seed"] = a.seed
    for kind in INCIDENT_KINDS:
        figure(d, r, kind, a.out)
    for kind in DETECT_KINDS:
        detect_figure(d, r, kind, a.out)
    print(f"wrote {len(INCIDENT_KINDS) + len(DETECT_KINDS)} figures to {a.out}")


if __name__ == "__main__":
    main()
