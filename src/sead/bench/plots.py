"""PNG plots of a benchmark run (matplotlib, Agg backend: no display needed).

* ``weights-<task>.png`` — SEAD's weight on each detector over the stream (first seed; mean
  weight in each of up to 1,500 consecutive bins), one labelled line per detector, as the
  paper's figure;
* ``aps.png`` — APS per task and method (dot plot: mean over seeds, bars = ± std);
* ``ranks.png`` — distribution of each method's per-task ranks (box plot, ordered by average
  rank; the diamond marks the average; with one or two tasks the ranks themselves, as points);
* ``random-curve.png`` — SEAD's APS change as 0, 13, 26, 52 random detectors are added (mean
  over tasks, and each task), and the weight the random detectors end with;
* ``pp-curve.png`` — SEAD++'s APS change against its speed-up over SEAD for each
  ``n_sampled`` (with ``--pp-curve``).

Every method has its own colour and marker (:func:`method_styles`): the ensembles fixed ones,
the pool's detectors a marker per family and colours that none of the ensembles uses.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .metrics import mean_std

__all__ = [
    "plot_all",
    "plot_weights",
    "plot_aps",
    "plot_ranks",
    "plot_random_curve",
    "plot_pp_curve",
    "method_styles",
]

#: The ensembles' styles (colours and markers no base detector gets).
ENSEMBLE_STYLES = {
    "SEAD": dict(color="crimson", marker="*", ms=11, zorder=5),
    "SEAD++": dict(color="black", marker="P", ms=8, zorder=4),
    "mean": dict(color="dimgray", marker="s", ms=6, zorder=3),
    "max": dict(color="teal", marker="^", ms=6, zorder=3),
}
_FAMILY_MARKERS = ("o", "v", "D", "h", "<", ">", "p", "X", "d", "8")


_RESULTS_PLOT_SECTIONS = """
    Parameters
    ----------
    results
        The benchmark's results, as :func:`sead.bench.report.collect` makes them.
    path
        The image file to write (PNG).

    Returns
    -------
    pathlib.Path
        ``path``.
    """


def _results_plot(func):
    """Give a plot of the results the Parameters and Returns sections these plots share."""
    func.__doc__ = func.__doc__.rstrip() + "\n" + _RESULTS_PLOT_SECTIONS
    return func


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _base_colors(n: int) -> list:
    """``n`` colours for the pool's detectors: tab20 without its reds, greys and cyans (near the
    ensembles' colours), then tab20b for larger pools."""
    plt = _plt()
    t20 = plt.get_cmap("tab20")
    palette = [t20(i) for i in range(20) if i not in (6, 7, 14, 15, 18, 19)]
    t20b = plt.get_cmap("tab20b")
    palette += [t20b(i) for i in range(20)]
    return [palette[i % len(palette)] for i in range(n)]


def _family(name: str) -> str:
    """``IForestASD-3`` -> ``IForestASD`` (the names of :func:`sead.pools.named`)."""
    head, _, tail = name.rpartition("-")
    return head if head and tail.isdigit() else name


def method_styles(methods, base) -> dict[str, dict]:
    """A distinct ``(colour, marker)`` for every method.

    The ensembles get their fixed styles; the pool's detectors a marker per family and a colour
    per detector.

    Parameters
    ----------
    methods
        Every method plotted (the ensembles and the detectors).
    base
        The pool's detectors, named as :func:`sead.pools.names` names them (``IForestASD-3``).

    Returns
    -------
    dict
        ``{method: matplotlib keyword arguments}`` (``color``, ``marker``, ``ms``, ...).

    Examples
    --------
    >>> st = method_styles(["A-1", "A-2", "B-1", "SEAD", "SEAD++"], ["A-1", "A-2", "B-1"])
    >>> [st[m]["marker"] for m in ["A-1", "A-2", "B-1", "SEAD", "SEAD++"]]
    ['o', 'o', 'v', '*', 'P']
    >>> len({str(s["color"]) for s in st.values()})
    5
    """
    base = list(base)
    colors = _base_colors(len(base))
    families = list(dict.fromkeys(_family(m) for m in base))
    out = {}
    for i, m in enumerate(base):
        marker = _FAMILY_MARKERS[families.index(_family(m)) % len(_FAMILY_MARKERS)]
        out[m] = dict(color=colors[i], marker=marker, ms=5, alpha=0.85, zorder=2)
    for m in methods:
        if m not in out:
            out[m] = dict(ENSEMBLE_STYLES.get(m, dict(color="gray", marker="x", ms=6, zorder=3)))
    return out


def _save(fig, path) -> Path:
    """Save with the whole legend inside the image (bbox ``tight``) and close the figure."""
    plt = _plt()
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_weights(task: str, weights: dict, path, seed: int = 0) -> Path:
    """One line per detector: SEAD's weight at each time step (sampled points).

    Parameters
    ----------
    task
        The task's name, for the title.
    weights
        ``{"t": time steps, "w": weights (one column per detector), "names": detector names}``,
        as one benchmark unit records them.
    path
        The image file to write (PNG).
    seed
        The unit's seed, for the title.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    plt = _plt()
    t = np.asarray(weights["t"])
    W = np.asarray(weights["w"])
    names = weights["names"]
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    styles = ["-", "--", "-.", ":"]
    lines = []
    for k, c in enumerate(_base_colors(len(names))):
        lines += ax.plot(t, W[:, k], styles[(k // 10) % 4], color=c, lw=1.4)
    ax.set_xlabel("point in the stream")
    ax.set_ylabel("weight")
    ax.set_ylim(0, max(1e-3, float(W.max()) * 1.05))
    ax.set_title(f"SEAD's weights over time — {task} (seed {seed})")
    ax.legend(
        lines,
        names,
        fontsize=7,
        ncol=1 if len(names) <= 8 else 2,
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
    )
    ax.grid(alpha=0.3)
    return _save(fig, path)


@_results_plot
def plot_aps(results: dict, path) -> Path:
    """Dot plot of mean APS (± std over seeds) per task and method."""
    plt = _plt()
    tasks = list(results["tasks"])
    methods = results["methods"]
    styles = method_styles(methods, results["base_methods"])
    n = len(methods)
    # tall enough for the tasks and for the legend (one line per method, outside on the right)
    height = max(0.45 * len(tasks) + 2.2, 0.19 * n + 1.2)
    fig, ax = plt.subplots(figsize=(9, height), layout="constrained")
    handles = []
    for j, m in enumerate(methods):
        ys, xs, es = [], [], []
        for i, t in enumerate(tasks):
            per = results["tasks"][t]
            if m in per:
                mu, sd = mean_std(per[m]["aps"])
                ys.append(i + (j - (n - 1) / 2) * 0.6 / max(n, 1))
                xs.append(mu)
                es.append(0.0 if not math.isfinite(sd) else sd)
        handles.append(
            ax.errorbar(xs, ys, xerr=es, ls="none", elinewidth=0.8, capsize=0, **styles[m])
        )
    ax.set_yticks(range(len(tasks)))
    ax.set_yticklabels(tasks)
    ax.set_ylim(len(tasks) - 0.5, -0.5)
    ax.set_xlabel("average precision (mean ± std over seeds)")
    ax.set_xlim(-0.02, 1.02)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("APS per task and method")
    ax.legend(
        handles,
        methods,
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        frameon=False,
        ncol=1 if n <= 24 else 2,
    )
    return _save(fig, path)


def plot_ranks(results: dict, path, key: str = "ranks_all") -> Path:
    """Box plot of each method's per-task ranks, methods ordered by average rank.

    With one or two tasks, where quartiles mean nothing, the ranks themselves are drawn as
    points.

    Parameters
    ----------
    results, path
        As for :func:`plot_aps`.
    key
        Which rank summary of ``results`` to draw (``"ranks"`` when that one is empty).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    plt = _plt()
    summ = results[key] or results["ranks"]
    order = sorted(summ, key=lambda m: (summ[m]["mean"], summ[m]["var"]))
    data = [summ[m]["ranks"] for m in order]
    styles = method_styles(order, results["base_methods"])
    n_tasks = summ[order[0]]["n_tasks"] if order else 0
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(order) + 1.8), layout="constrained")
    ys = range(1, len(order) + 1)
    if n_tasks <= 2:
        for y, m, r in zip(ys, order, data):
            st = {k: v for k, v in styles[m].items() if k in ("color", "marker")}
            ax.plot(r, [y] * len(r), ls="none", ms=12 if st["marker"] == "*" else 8, **st)
        what = "one point per task" if n_tasks == 2 else "the rank on the one task"
        title = f"Rank per method on {n_tasks} task{'s' if n_tasks != 1 else ''} ({what})"
    else:
        try:
            bp = ax.boxplot(data, orientation="horizontal", patch_artist=True, widths=0.6)
        except TypeError:  # matplotlib < 3.10
            bp = ax.boxplot(data, vert=False, patch_artist=True, widths=0.6)
        for patch, m in zip(bp["boxes"], order):
            patch.set_facecolor(styles[m]["color"])
            patch.set_alpha(0.55)
        ax.plot([summ[m]["mean"] for m in order], list(ys), "D", color="black", ms=4)
        title = (
            f"Rank distribution over {n_tasks} tasks (box: quartiles, bar: median, ◆: average rank)"
        )
    ax.set_yticks(list(ys))
    ax.set_yticklabels(order)
    ax.set_ylim(len(order) + 0.5, 0.5)
    ax.set_xlabel("rank on a task (1 = best)")
    ax.set_title(title, fontsize=10)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)


@_results_plot
def plot_random_curve(results: dict, path) -> Path:
    """SEAD's relative APS change and the random detectors' final weight against their number."""
    plt = _plt()
    rc = results["random_curve"]
    counts = rc["counts"]
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for per in rc["tasks"].values():
        rel = [100 * _finite_or_nan(per[str(n)]["rel_change"]) for n in counts]
        ax.plot(counts, rel, "-", color="0.75", lw=0.9, zorder=1)
    ax.plot(
        counts,
        [100 * _finite_or_nan(p["rel_change_of_mean_aps"]) for p in rc["points"]],
        "-o",
        color="crimson",
        lw=2,
        label="mean APS over tasks",
        zorder=3,
    )
    ax.plot([], [], "-", color="0.75", label="each task")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(counts)
    ax.set_xlabel("random detectors added to the pool")
    ax.set_ylabel("SEAD's APS change (%)")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3)
    ax2.plot(
        counts,
        [_finite_or_nan(p["final_weight_random"]) for p in rc["points"]],
        "-o",
        color="dimgray",
    )
    ax2.set_xticks(counts)
    ax2.set_ylim(0, 1)
    ax2.set_xlabel("random detectors added to the pool")
    ax2.set_ylabel("final weight of the random detectors")
    ax2.grid(alpha=0.3)
    fig.suptitle("Random-detector curve (SEAD with its default settings)")
    return _save(fig, path)


@_results_plot
def plot_pp_curve(results: dict, path) -> Path:
    """SEAD++'s APS change against its speed-up over SEAD, one point per ``n_sampled``."""
    plt = _plt()
    pc = results["pp_curve"]
    pts = pc["points"]
    x = [_finite_or_nan(p["speedup_total_time"]) for p in pts]
    y = [100 * _finite_or_nan(p["aps_rel_change"]) for p in pts]
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    ax.plot(x, y, "-o", color="black")
    for xi, yi, p in zip(x, y, pts):
        ax.annotate(
            f"{p['n_sampled']}/{pc['pool_size']}",
            (xi, yi),
            textcoords="offset points",
            xytext=(5, 5),
            fontsize=8,
        )
    ax.plot([1.0], [0.0], "*", color="crimson", ms=12, label="SEAD")
    ax.axhline(0, color="black", lw=0.6)
    ax.axvline(1, color="black", lw=0.6)
    ax.set_xlabel("speed-up over SEAD (total time of the same run)")
    ax.set_ylabel("mean APS change vs SEAD (%)")
    ax.set_title("SEAD++ accuracy-speed curve (labels: n_sampled / pool size)")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _finite_or_nan(x) -> float:
    return math.nan if x is None else float(x)


def plot_all(results: dict, units: list[dict], out_dir) -> dict[str, str]:
    """Write every plot the results allow into ``out_dir``.

    Parameters
    ----------
    results
        The benchmark's results, as :func:`sead.bench.report.collect` makes them.
    units
        The per-(task, seed) unit results; those that recorded weights get a weight plot.
    out_dir
        The directory (created if needed).

    Returns
    -------
    dict
        ``{label: file name}`` of the plots written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    made: dict[str, str] = {}
    if results["tasks"]:
        made["APS per task and method"] = plot_aps(results, out_dir / "aps.png").name
        if results.get("ranks_all") or results.get("ranks"):
            made["rank distribution per method"] = plot_ranks(results, out_dir / "ranks.png").name
    if results.get("random_curve"):
        made["random-detector curve"] = plot_random_curve(
            results, out_dir / "random-curve.png"
        ).name
    if results.get("pp_curve"):
        made["SEAD++ accuracy-speed curve"] = plot_pp_curve(results, out_dir / "pp-curve.png").name
    for u in units:
        if "weights" in u:
            p = plot_weights(
                u["task"], u["weights"], out_dir / f"weights-{u['task']}.png", seed=u["seed"]
            )
            made[f"SEAD's weights over time: {u['task']}"] = p.name
    return made
