"""Ready-made pools of base detectors for :class:`sead.SEAD`.

A pool is a list of unfitted detectors; ``named(pool)`` gives each a short, stable name (used by
the benchmark and in reports).
"""

from __future__ import annotations

__all__ = ["default", "named"]


def _seeds(seed):
    """Per-member seeds derived from the pool's seed (``None`` stays unseeded)."""
    return (lambda k: None) if seed is None else (lambda k: int(seed) + k)


def default(seed: int | None = 0) -> list:
    """The pool ``SEAD()`` uses when given no detectors."""
    from .detectors.hst import HalfSpaceTrees
    from .detectors.rules import ZScoreRule

    s = _seeds(seed)
    return [
        HalfSpaceTrees(n_trees=15, height=6, window_size=100, seed=s(0)),
        HalfSpaceTrees(n_trees=15, height=8, window_size=250, seed=s(1)),
        HalfSpaceTrees(n_trees=15, height=8, window_size=1000, seed=s(2)),
        HalfSpaceTrees(n_trees=20, height=10, window_size=500, seed=s(3)),
        ZScoreRule(),
    ]


def named(pool: list) -> dict:
    """``{name: detector}`` with names like ``HalfSpaceTrees-1`` numbered within each class."""
    out, seen = {}, {}
    for d in pool:
        base = type(d).__name__
        seen[base] = seen.get(base, 0) + 1
        out[f"{base}-{seen[base]}"] = d
    return out
