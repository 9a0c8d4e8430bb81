"""Measure what ``docs/detectors.md`` states for each detector: the scores seen, the bytes of state.

Run from the repository root (about half a minute once the kernels are compiled)::

    python docs/detector_facts.py

For every detector of :mod:`sead.detectors` at its defaults (``ThresholdRule`` with bounds
``[-3, 3]``), it runs the prequential ``score_learn_many`` over two streams — 20,000 rows of
standard Gaussian noise and River's bundled Shuttle data (49,097 rows, ``load_river_shuttle``),
both with ``d = 9`` — then scores a few extreme rows (every feature at ±1e6, 1e12, ±1e300, 0)
with ``score_many``, and prints the smallest and largest score seen. The bytes of state are
those of the detector's one slot of its stack (``sum(a[0].nbytes for a in det.stack_.state)``)
after learning the noise stream with ``d`` = 4, 9 and 20 features, and the length of
``to_bytes()`` at ``d = 9``. The state of every compiled detector is allocated at the first
point learned and never grows, so the number of rows learned does not change these bytes.
"""

from __future__ import annotations

import numpy as np


def _detectors():
    from sead import detectors as D

    return {
        "HalfSpaceTrees": D.HalfSpaceTrees,
        "XStream": D.XStream,
        "IForestASD": D.IForestASD,
        "RSHash": D.RSHash,
        "LODA": D.LODA,
        "RRCF": D.RRCF,
        "ZScoreRule": D.ZScoreRule,
        "ThresholdRule": lambda: D.ThresholdRule(lower=-3.0, upper=3.0),
        "RandomDetector": D.RandomDetector,
    }


def state_nbytes(detector) -> int:
    """Bytes of the learned state of a (fitted, one-slot) compiled detector."""
    return int(sum(a[0].nbytes for a in detector.stack_.state))


def main() -> None:
    from sead.datasets import load_river_shuttle

    noise = np.random.default_rng(0).normal(size=(20_000, 20))
    shuttle = np.asarray(load_river_shuttle()[0], dtype=np.float64)
    extremes = np.array([np.full(9, v) for v in (1e6, -1e6, 1e12, 1e300, -1e300, 0.0)])
    print("| detector | min score | max score | bytes, d = 4 | d = 9 | d = 20 | to_bytes, d = 9 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, make in _detectors().items():
        lo, hi = np.inf, -np.inf
        for X in (noise[:, :9], shuttle):
            det = make()
            s = det.score_learn_many(X)
            e = det.score_many(extremes)
            lo, hi = min(lo, s.min(), e.min()), max(hi, s.max(), e.max())
        sizes = []
        for d in (4, 9, 20):
            det = make()
            det.learn_many(noise[:, :d])
            sizes.append(state_nbytes(det))
            if d == 9:
                blob = len(det.to_bytes())
        cells = " | ".join(f"{b:,}" for b in sizes)
        print(f"| {name} | {lo:.4g} | {hi:.4g} | {cells} | {blob:,} |", flush=True)


if __name__ == "__main__":
    main()
