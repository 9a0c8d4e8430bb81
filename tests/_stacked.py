"""Shared checks of a detector's stacked state (several members over several slots in one
kernel) and of its kernel releasing the GIL: both must score exactly as standalone detectors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np


def assert_stacked_equal_standalone(cls, members: list, n: int) -> None:
    """Run ``members`` stacked over five slots, rows of the slots interleaved at random and cut
    into batches of random sizes: each (slot, member) must score exactly as a standalone clone of
    that member run over that slot's rows in order, prequentially and then purely."""
    from sead._stack import SCORE, SCORE_LEARN, modes_for
    from sead._validation import FeatureSchema

    rng = np.random.default_rng(3)
    d, n_slots = 4, 5
    slots = rng.integers(0, n_slots, size=n).astype(np.int64)
    X = (
        rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=(n_slots, d))[slots]
    )  # a scale per slot
    X[rng.choice(n, 20, replace=False)] += 8.0
    stack = cls._stack_class(members, FeatureSchema(d), capacity=n_slots)
    stack.reset(slice(0, n_slots))
    out = np.full((n, len(members)), np.nan)
    cuts = np.unique(np.concatenate([[0, n], rng.integers(0, n, size=40), [7, 8]]))
    for a, b in zip(cuts[:-1], cuts[1:]):
        o = np.zeros((b - a, len(members)))
        stack.run(
            np.ascontiguousarray(X[a:b]),
            slots[a:b],
            modes_for(SCORE_LEARN, n_slots, len(members)),
            o,
        )
        out[a:b] = o
    probe = rng.normal(size=(50, d))
    pure = np.zeros((50, len(members)))
    stack.run(probe, np.full(50, 2, dtype=np.int64), modes_for(SCORE, n_slots, len(members)), pure)
    for j, member in enumerate(members):
        for s in range(n_slots):
            alone = member.clone()
            np.testing.assert_array_equal(out[slots == s, j], alone.score_learn_many(X[slots == s]))
            if s == 2:
                np.testing.assert_array_equal(pure[:, j], alone.score_many(probe))


def assert_threads_score_as_alone(cls) -> None:
    """Four ``cls(seed=i)`` over four independent streams, run in threads, must each score exactly
    as it does alone."""
    rng = np.random.default_rng(4)
    streams = [rng.normal(size=(20_000, 5)) * (i + 1) for i in range(4)]
    alone = [cls(seed=i).score_learn_many(X) for i, X in enumerate(streams)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda i: cls(seed=i).score_learn_many(streams[i]), range(4)))
    for a, b in zip(alone, threaded):
        np.testing.assert_array_equal(a, b)
