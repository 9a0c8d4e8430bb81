"""PNG plots of a benchmark run (matplotlib, Agg backend: no display needed).

* ``weights-<task>.png`` — SEAD's weight on each detector over the stream (first seed; mean
  weight in each of up to 1,500 consecutive bins), one labelled line per detector, as the
  paper's figure;
* ``aps.png`` — APS per task and method (dot plot: mean over seeds, bars = ± std);
* ``ranks.png`` — distribution of each method's per-task ranks (box plot, ordered by average
  rank; the diamond marks the average).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .metrics import mean_std

__all__ = ["plot_all", "plot_weights", "plot_aps", "plot_ranks"]


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _colors(n):
    plt = _plt()
    cmap = plt.get_cmap("tab20" if n > 10 else "tab10")
    return [cmap(i % cmap.N) for i in range(n)]


def plot_weights(task: str, weights: dict, path, seed: int = 0) -> Path:
    """One line per detector: SEAD's weight at each time step (sampled points)."""
    plt = _plt()
    t = np.asarray(weights["t"])
    W = np.asarray(weights["w"])
    names = weights["names"]
    fig, ax = plt.subplots(figsize=(9, 4.2))
    styles = ["-", "--", "-.", ":"]
    lines = []
    for k, c in enumerate(_colors(len(names))):
        lines += ax.plot(t, W[:, k], styles[(k // 10) % 4], color=c, lw=1.4)
    ax.set_xlabel("point in the stream")
    ax.set_ylabel("weight")
    ax.set_ylim(0, max(1e-3, float(W.max()) * 1.05))
    ax.set_title(f"SEAD's weights over time — {task} (seed {seed})")
    ax.legend(lines, names, fontsize=7, ncol=1 if len(names) <= 8 else 2, loc="center left",
              bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _style(m, base):
    if m == "SEAD":
        return dict(color="crimson", marker="*", ms=11, zorder=5)
    if m == "SEAD++":
        return dict(color="darkorange", marker="P", ms=8, zorder=4)
    if m == "mean":
        return dict(color="royalblue", marker="s", ms=6, zorder=3)
    if m == "max":
        return dict(color="seagreen", marker="^", ms=6, zorder=3)
    i = base.index(m) if m in base else 0
    return dict(color=_colors(max(len(base), 1))[i], marker="o", ms=4, alpha=0.75, zorder=2)


def plot_aps(results: dict, path) -> Path:
    """Dot plot of mean APS (± std over seeds) per task and method."""
    plt = _plt()
    tasks = list(results["tasks"])
    methods = results["methods"]
    base = results["base_methods"]
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(tasks) + 2.2))
    n = len(methods)
    handles = []
    for j, m in enumerate(methods):
        ys, xs, es = [], [], []
        for i, t in enumerate(tasks):
            per = results["tasks"][t]
            if m in per:
                mu, sd = mean_std(per[m]["aps"])
                ys.append(i + (j - (n - 1) / 2) * 0.6 / max(n, 1))
                xs.append(mu)
                es.append(sd)
        st = _style(m, base)
        handles.append(ax.errorbar(xs, ys, xerr=es, ls="none", elinewidth=0.8, capsize=0, **st))
    ax.set_yticks(range(len(tasks)))
    ax.set_yticklabels(tasks)
    ax.invert_yaxis()
    ax.set_xlabel("average precision (mean ± std over seeds)")
    ax.set_xlim(-0.02, 1.02)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("APS per task and method")
    ax.legend(handles, methods, fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_ranks(results: dict, path, key: str = "ranks_all") -> Path:
    """Box plot of each method's per-task ranks, methods ordered by average rank."""
    plt = _plt()
    summ = results[key] or results["ranks"]
    order = sorted(summ, key=lambda m: (summ[m]["mean"], summ[m]["var"]))
    data = [summ[m]["ranks"] for m in order]
    base = results["base_methods"]
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(order) + 1.8))
    try:
        bp = ax.boxplot(data, orientation="horizontal", patch_artist=True, widths=0.6)
    except TypeError:  # matplotlib < 3.10
        bp = ax.boxplot(data, vert=False, patch_artist=True, widths=0.6)
    for patch, m in zip(bp["boxes"], order):
        patch.set_facecolor(_style(m, base)["color"])
        patch.set_alpha(0.55)
    ax.plot([summ[m]["mean"] for m in order], range(1, len(order) + 1), "D", color="black", ms=4)
    ax.set_yticks(range(1, len(order) + 1))
    ax.set_yticklabels(order)
    ax.invert_yaxis()
    ax.set_xlabel("rank on a task (1 = best)")
    n_tasks = summ[order[0]]["n_tasks"] if order else 0
    ax.set_title(f"Rank distribution over {n_tasks} tasks (box: quartiles, bar: median, ◆: average rank)",
                 fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_all(results: dict, units: list[dict], out_dir) -> dict[str, str]:
    """Write every plot into ``out_dir``; returns ``{label: file name}``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    if results["tasks"]:
        made["APS per task and method"] = plot_aps(results, out_dir / "aps.png").name
        if results.get("ranks_all") or results.get("ranks"):
            made["rank distribution per method"] = plot_ranks(results, out_dir / "ranks.png").name
    for u in units:
        if "weights" in u:
            p = plot_weights(u["task"], u["weights"], out_dir / f"weights-{u['task']}.png", seed=u["seed"])
            made[f"SEAD's weights over time: {u['task']}"] = p.name
    return made
