"""The figures and the quality table of ``docs/telemetry.md``.

    python docs/telemetry_figures.py [--seed 0] [--out docs/telemetry]

For one incident of every kind in ``agent_telemetry(seed=...)``: the agent's ensemble score, the
policy's threshold and the alert events over time, with the incident shaded — computed with the
default Monitor's model and policy (``sead.telemetry.monitor.default_pool``,
``default_reference``, ``AlertPolicy()``), the same numbers ``sead watch`` uses. Also prints the
per-kind quality table of :func:`sead.telemetry.watch.alert_quality` for seeds 0-4.
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
from sead.datasets import INCIDENT_KINDS, agent_telemetry  # noqa: E402
from sead.telemetry import AlertPolicy  # noqa: E402
from sead.telemetry.monitor import PolicyState, default_pool, default_reference  # noqa: E402


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
    r["score"], r["threshold"], r["event"] = S, thr, ev
    return d, r


def figure(d, r, kind, out):
    inc = d.incidents[d.incidents.kind == kind].iloc[0]
    a = r[r.agent == inc.agent].reset_index(drop=True)
    t0 = a.ts.iloc[0]
    minutes = (a.ts - t0) / 60
    fig, ax = plt.subplots(figsize=(8, 3), dpi=100)
    ax.plot(minutes, a.score, lw=0.8, color="0.35", label="ensemble score")
    ax.plot(minutes, a.threshold.where(np.isfinite(a.threshold)), lw=1.2, color="tab:orange",
            label="threshold (q-quantile of the agent's scores)")
    ax.axvspan((inc.start_ts - t0) / 60, (inc.end_ts - t0) / 60, color="tab:red", alpha=0.15,
               label=f"incident: {kind}")
    al = a[a.event == 1]
    ax.scatter((al.ts - t0) / 60, al.score, marker="v", color="tab:red", zorder=3, label="alert")
    rs = a[a.event == 2]
    ax.scatter((rs.ts - t0) / 60, rs.score, marker="^", color="tab:green", zorder=3,
               label="resolved")
    ax.set_xlabel(f"minutes ({inc.agent}, seed {r.attrs.get('seed', 0)})")
    ax.set_ylabel("score")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"{kind}: {inc.n_records} steps, magnitude {inc.magnitude}")
    ax.legend(loc="lower left", fontsize=7, ncol=3)
    fig.tight_layout()
    fig.savefig(out / f"{kind}.png")
    plt.close(fig)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "telemetry")
    a = p.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    d, r = scored(a.seed)
    r.attrs["seed"] = a.seed
    for kind in INCIDENT_KINDS:
        figure(d, r, kind, a.out)
    print(f"wrote {len(INCIDENT_KINDS)} figures to {a.out}")


if __name__ == "__main__":
    main()
