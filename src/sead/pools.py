"""Ready-made pools of base detectors for :class:`sead.SEAD`.

A pool is a list of unfitted detectors; ``named(pool)`` gives each a short, stable name (used by
the benchmark and in reports). Each member's settings were chosen from the per-family parity
measurements (``benchmarks/results/parity_*.md``): they span the family's useful range (short
and long memory, coarse and fine partitions) while each stays cheap in the batch path (the
measured times per point are in those files and in ``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

__all__ = ["paper", "wide", "small", "telemetry", "default", "named", "names", "display_name"]


def _seeds(seed):
    """Per-member seeds derived from the pool's seed (``None`` stays unseeded)."""
    return (lambda k: None) if seed is None else (lambda k: int(seed) + k)


_POOL_SECTIONS = """
    Parameters
    ----------
    seed
        Seed of the pool: its ``k``-th randomised member (from 0) gets ``seed + k``. ``None``
        leaves every member unseeded.

    Returns
    -------
    list
        Unfitted detectors, in a fixed order.
    """


def _pool(func):
    """Give a pool function the Parameters and Returns sections all pools share."""
    if func.__doc__:  # None under python -OO
        func.__doc__ = func.__doc__.rstrip() + "\n" + _POOL_SECTIONS
    return func


def _half_space_trees(s, first: int) -> list:
    """The four Half-Space Trees of :func:`paper` and :func:`small`, seeded from ``s(first)``."""
    from .detectors import HalfSpaceTrees

    return [
        HalfSpaceTrees(n_trees=15, height=6, window=100, seed=s(first)),
        HalfSpaceTrees(n_trees=15, height=8, window=250, seed=s(first + 1)),
        HalfSpaceTrees(n_trees=15, height=8, window=1000, seed=s(first + 2)),
        HalfSpaceTrees(n_trees=20, height=10, window=500, seed=s(first + 3)),
    ]


@_pool
def paper(seed: int | None = 0) -> list:
    """The paper's pool shape: 3 streaming families × 4 settings + 1 rule-based detector.

    Isolation forests on sliding windows (IForestASD), Half-Space Trees and xStream, each at
    four settings from short to long memory, plus a robust running z-score rule — 13 detectors.
    """
    from .detectors import IForestASD, XStream, ZScoreRule

    s = _seeds(seed)
    return [
        IForestASD(window=256, n_trees=32, max_samples=64, seed=s(0)),
        IForestASD(window=512, n_trees=32, max_samples=128, seed=s(1)),
        IForestASD(window=2048, n_trees=40, max_samples=256, seed=s(2)),
        IForestASD(window=4096, n_trees=40, max_samples=256, seed=s(3)),
        *_half_space_trees(s, 4),
        XStream(n_components=24, n_chains=10, depth=6, window=32, seed=s(8)),
        XStream(n_components=24, n_chains=10, depth=8, window=64, seed=s(9)),
        XStream(n_components=24, n_chains=10, depth=8, window=128, seed=s(10)),
        XStream(n_components=24, n_chains=10, depth=9, window=256, seed=s(11)),
        ZScoreRule(),
    ]


@_pool
def wide(seed: int | None = 0) -> list:
    """``paper()`` plus RS-Hash, LODA and RRCF at two settings each — 19 detectors."""
    from .detectors import LODA, RRCF, RSHash

    s = _seeds(seed)
    return paper(seed) + [
        RSHash(n_components=50, decay=0.015, seed=s(12)),
        RSHash(n_components=50, decay=0.005, hash_range=40_000, seed=s(13)),
        LODA(seed=s(14)),
        LODA(n_bins=20, decay=1e-3, seed=s(15)),
        RRCF(n_trees=4, tree_size=32, seed=s(16)),
        RRCF(n_trees=4, tree_size=128, seed=s(17)),
    ]


@_pool
def small(seed: int | None = 0) -> list:
    """Four Half-Space Trees and a z-score rule: quick to run, for demos and tests."""
    from .detectors import ZScoreRule

    s = _seeds(seed)
    return [*_half_space_trees(s, 0), ZScoreRule()]


@_pool
def telemetry(seed: int | None = 0) -> list:
    """A small pool for many small streams (1–20 features: an agent's or a host's metrics).

    Robust z-scores for spikes and shifts in one field, Half-Space Trees and an isolation
    forest on short windows for joint anomalies, LODA for density. With the small t-digest
    references :class:`sead.telemetry.Monitor` uses, a key of 5 features holds about 48 KB of
    state; with SEAD's default references about 142 KB (``docs/keyed.md`` gives the bytes per
    key).
    """
    from .detectors import LODA, HalfSpaceTrees, IForestASD, ZScoreRule

    s = _seeds(seed)
    return [
        ZScoreRule(alpha=0.01),
        ZScoreRule(method="median", window=64),
        HalfSpaceTrees(n_trees=10, height=5, window=100, warmup=32, seed=s(0)),
        IForestASD(window=64, n_trees=16, max_samples=32, seed=s(1)),
        LODA(n_bins=10, n_random_cuts=20, seed=s(2)),
    ]


def default(seed: int | None = 0) -> list:
    """The pool ``SEAD()`` uses when given no detectors: :func:`paper`.

    Parameters
    ----------
    seed
        As for :func:`paper`.

    Returns
    -------
    list
        ``paper(seed)``.
    """
    return paper(seed)


def display_name(detector) -> str:
    """A detector's name without its number.

    Parameters
    ----------
    detector
        Any detector.

    Returns
    -------
    str
        Its ``name`` attribute when it has one (the adapters name themselves after the model
        they wrap), else its class name.
    """
    return getattr(detector, "name", None) or type(detector).__name__


def names(pool: list) -> list[str]:
    """Names of the detectors of a pool, numbered within each name.

    The one naming used everywhere (SEAD's ``detector_names_``, ``explain_one``, the
    benchmark's tables).

    Parameters
    ----------
    pool
        A list of detectors.

    Returns
    -------
    list of str
        :func:`display_name` of each, with its number among the detectors of that name:
        ``HalfSpaceTrees-1``, ``HalfSpaceTrees-2``, ``ZScoreRule-1``.
    """
    out: list[str] = []
    seen: dict[str, int] = {}
    for d in pool:
        base = display_name(d)
        seen[base] = seen.get(base, 0) + 1
        out.append(f"{base}-{seen[base]}")
    return out


def named(pool: list) -> dict:
    """The detectors of a pool by name.

    Parameters
    ----------
    pool
        A list of detectors.

    Returns
    -------
    dict
        ``{name: detector}`` with the names of :func:`names`, in pool order.
    """
    return dict(zip(names(pool), pool))
