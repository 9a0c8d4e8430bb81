"""Shared checks of a detector's stacked state (several members over several slots in one
kernel) and of its kernel releasing the GIL: both must score exactly as standalone detectors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from sead._stack import LEARN, SCORE, SCORE_LEARN, SKIP, modes_for
from sead._validation import FeatureSchema
from sead.checks import stream


def assert_stacked_equal_standalone(cls, members: list, n: int) -> None:
    """Run ``members`` stacked over five slots, rows of the slots interleaved at random and cut
    into batches of random sizes: each (slot, member) must score exactly as a standalone clone of
    that member run over that slot's rows in order, prequentially and then purely."""
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


def check_stack_equals_standalone(
    stack_class,
    make,
    params,
    d=3,
    n_slots=5,
    seed=0,
    cuts=(0, 1, 300, 700, 1100, 1500),
    check_state=None,
):
    """``len(params)`` members over ``n_slots`` slots, rows interleaved at random, in batches with
    mixed modes: every (slot, member) gives exactly the scores of a standalone detector run over
    that slot's rows in order. Then every (slot, member)'s state must equal its standalone's: by
    default field by field; ``check_state(view, det)`` replaces that check."""
    rng = np.random.default_rng(seed)
    stack = stack_class([make(**p) for p in params], FeatureSchema(d), capacity=n_slots)
    stack.reset(slice(0, n_slots))
    alone = [[make(**p) for p in params] for _ in range(n_slots)]
    X = stream(cuts[-1], d=d, seed=4)
    slots = rng.integers(0, n_slots, size=len(X)).astype(np.int64)
    for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
        Xb, sb = np.ascontiguousarray(X[a:b]), slots[a:b]
        if i < 2:
            modes = modes_for(SCORE_LEARN, n_slots, len(params))
        else:
            modes = rng.choice(
                [SKIP, SCORE, LEARN, SCORE_LEARN], size=(n_slots, len(params))
            ).astype(np.int8)
        out = np.full((len(Xb), len(params)), np.nan)
        stack.run(Xb, sb, modes, out)
        for s in range(n_slots):
            rows = sb == s
            if not rows.any():
                continue
            for j, det in enumerate(alone[s]):
                mode = modes[s, j]
                if mode == SCORE:
                    np.testing.assert_array_equal(out[rows, j], det.score_many(Xb[rows]))
                elif mode == LEARN:
                    det.learn_many(Xb[rows])
                elif mode == SCORE_LEARN:
                    np.testing.assert_array_equal(out[rows, j], det.score_learn_many(Xb[rows]))
                if mode in (SKIP, LEARN):
                    assert np.isnan(out[rows, j]).all()
    for s in range(n_slots):
        for j, det in enumerate(alone[s]):
            v = stack.view(j, s)
            if check_state is not None:
                check_state(v, det)
                continue
            for field, a in zip(v.State._fields, v.state):
                np.testing.assert_array_equal(a[0], det.stack_.member_view(field), err_msg=field)


def check_slots_learn_and_skip(cls, stack_cls, params: list, X: np.ndarray, n_slots: int = 5):
    """Members ``cls(**p)`` for ``p`` in ``params``, stacked over ``n_slots`` slots (rows given to
    random slots, cut into 13 batches): each (slot, member) scores exactly as a standalone
    detector over that slot's rows, prequentially and then purely; a LEARN call writes no
    scores, and the (slot, member) pairs (1, 2) and (3, 0) marked SKIP keep their state.

    Returns the state of the slots before and after the LEARN call, for the caller's own checks
    of what did change."""
    rng = np.random.default_rng(0)
    slots = rng.integers(0, n_slots, size=X.shape[0]).astype(np.int64)
    members = [cls(**p) for p in params]
    stack = stack_cls(members, FeatureSchema(X.shape[1]), capacity=2)
    stack.reserve(n_slots)
    stack.reset(slice(0, n_slots))
    out = np.full((X.shape[0], len(members)), np.nan)
    cuts = np.sort(rng.choice(np.arange(1, X.shape[0]), size=12, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, X.shape[0]]):
        stack.run(X[a:b], slots[a:b], modes_for(SCORE_LEARN, n_slots, len(members)), out[a:b])
    probe = stream(40, d=X.shape[1], seed=9)
    probe_slots = np.repeat(np.arange(n_slots, dtype=np.int64), 8)
    probe_out = np.zeros((probe.shape[0], len(members)))
    stack.run(probe, probe_slots, modes_for(SCORE, n_slots, len(members)), probe_out)
    for s in range(n_slots):
        rows = slots == s
        for j, p in enumerate(params):
            alone = cls(**p)
            np.testing.assert_array_equal(
                out[rows, j], alone.score_learn_many(X[rows]), err_msg=f"slot {s} member {j}"
            )
            np.testing.assert_array_equal(
                probe_out[probe_slots == s, j], alone.score_many(probe[probe_slots == s])
            )
    before = stack.slot_state(slice(0, n_slots))
    modes = modes_for(LEARN, n_slots, len(members))
    modes[1, 2] = modes[3, 0] = SKIP
    learn_out = np.full_like(probe_out, np.nan)
    stack.run(probe, probe_slots, modes, learn_out)
    assert np.isnan(learn_out).all()  # LEARN writes no scores
    after = stack.slot_state(slice(0, n_slots))
    for s, j in [(1, 2), (3, 0)]:
        for f, field in enumerate(stack.State._fields):
            lo, hi = stack.off[f, j], stack.off[f, j + 1]
            np.testing.assert_array_equal(after[field][s, lo:hi], before[field][s, lo:hi])
    return stack, before, after
