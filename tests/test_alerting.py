"""sead.alerting.AlertSignal: its definition, its stacked state, and its unhappy paths.

Properties (hypothesis): the signal is in [0, 1]; ``update=False`` changes nothing; a batch
equals the same rows fed one by one; slots interleaved in one call equal separate streams; a
slot's state written out and read back (or pickled, or copied to another slot) continues
exactly.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sead.alerting import AlertSignal

# small windows and warm-ups so that short examples reach every branch (range breaks, block
# rotation, suppression)
SMALL = dict(
    threshold=0.9,
    suppress=5,
    size_correction=0.2,
    range_window=12,
    range_blocks=3,
    range_warmup=4,
    range_min_score=0.3,
    range_margin=0.05,
    range_margin_score=0.6,
)

scores = hnp.arrays(np.float64, st.integers(0, 120), elements=st.floats(0.0, 1.0))


def _x_for(S, seed, d=2, nan_share=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(S.shape[0], d)) * rng.choice([0.1, 1.0, 5.0], size=(S.shape[0], 1))
    X[rng.random(X.shape) < nan_share] = np.nan
    return X


@settings(max_examples=60, deadline=None)
@given(S=scores, seed=st.integers(0, 2**16))
def test_signal_in_unit_interval_and_update_false_is_pure(S, seed):
    X = _x_for(S, seed)
    sig = AlertSignal(**SMALL)
    A = sig.transform_update(S, X)
    assert A.shape == S.shape and A.dtype == np.float64
    assert np.all((A >= 0) & (A <= 1))
    before = sig.slot_state(slice(0, 1))
    B = sig.transform(S, X)  # pure: every row against the same state
    after = sig.slot_state(slice(0, 1))
    assert all(np.array_equal(before[k], after[k]) for k in before)
    assert np.all((B >= 0) & (B <= 1))
    again = sig.transform(S, X)
    assert np.array_equal(B, again)


@settings(max_examples=60, deadline=None)
@given(S=scores, seed=st.integers(0, 2**16), cut=st.integers(0, 120))
def test_batch_equals_one_by_one_and_any_split(S, seed, cut):
    X = _x_for(S, seed)
    whole = AlertSignal(**SMALL).transform_update(S, X)
    one = AlertSignal(**SMALL)
    rows = [one.transform_update(S[t : t + 1], X[t : t + 1]) for t in range(S.shape[0])]
    by_one = np.concatenate(rows) if rows else np.empty(0)
    assert np.array_equal(whole, by_one)
    two = AlertSignal(**SMALL)
    c = min(cut, S.shape[0])
    split = np.concatenate([two.transform_update(S[:c], X[:c]), two.transform_update(S[c:], X[c:])])
    assert np.array_equal(whole, split)


@settings(max_examples=50, deadline=None)
@given(S=scores, seed=st.integers(0, 2**16), k=st.integers(1, 4))
def test_interleaved_slots_equal_separate_streams(S, seed, k):
    rng = np.random.default_rng(seed)
    X = _x_for(S, seed)
    slots = rng.integers(0, k, size=S.shape[0])
    both = AlertSignal(**SMALL)
    both.allocate(k)
    A = both.run(S, slots, True, X)
    for s in range(k):
        m = slots == s
        alone = AlertSignal(**SMALL).transform_update(S[m], X[m])
        assert np.array_equal(A[m], alone)


@settings(max_examples=40, deadline=None)
@given(S=scores, seed=st.integers(0, 2**16), cut=st.integers(0, 120))
def test_state_round_trip_copy_and_pickle_continue_exactly(S, seed, cut):
    X = _x_for(S, seed)
    c = min(cut, S.shape[0])
    ref = AlertSignal(**SMALL)
    ref.transform_update(S[:c], X[:c])
    rest = ref.clone()  # parameters only
    assert rest.get_params() == ref.get_params()
    state = ref.slot_state(slice(0, 1))
    expect = ref.transform_update(S[c:], X[c:])

    fresh = AlertSignal(**SMALL)
    fresh.allocate(1)
    fresh.load_slot_state(slice(0, 1), state)  # a fresh signal takes the width of the state
    assert np.array_equal(fresh.transform_update(S[c:], X[c:]), expect)

    ref2 = AlertSignal(**SMALL)
    ref2.transform_update(S[:c], X[:c])
    loaded = pickle.loads(pickle.dumps(ref2))
    assert np.array_equal(loaded.transform_update(S[c:], X[c:]), expect)

    many = AlertSignal(**SMALL)
    many.allocate(3)
    many.run(S[:c], np.full(c, 1), True, X[:c])
    many.copy_slots(np.array([1]), np.array([2]))
    assert np.array_equal(many.run(S[c:], np.full(S.shape[0] - c, 2), True, X[c:]), expect)


def test_reset_and_reserve():
    rng = np.random.default_rng(0)
    S, X = rng.uniform(size=60), rng.normal(size=(60, 1))
    sig = AlertSignal(**SMALL)
    sig.allocate(1)
    a = sig.run(S, np.zeros(60, dtype=np.int64), True, X)
    sig.reserve(4)
    assert sig.slot_capacity_ == 4
    # the old slot kept its state; a new slot is fresh
    assert np.array_equal(sig.run(S, np.full(60, 3), True, X), a)
    sig.reset(np.array([0]))
    assert np.array_equal(sig.run(S, np.zeros(60, dtype=np.int64), True, X), a)
    assert sig.nbytes_per_slot() == 5 * 8 + (2 * 3 + 4) * 8  # counts + range arrays at width 1


def test_definition_without_range_or_suppression():
    rng = np.random.default_rng(1)
    S = rng.uniform(size=500)
    A = AlertSignal(suppress=0, size_correction=0.0, range_window=None).transform_update(S)
    assert np.array_equal(A, S)
    c = 0.3
    A = AlertSignal(suppress=0, size_correction=c, range_window=None).transform_update(S)
    n = np.arange(1, 501)
    assert np.allclose(A, 1 - np.minimum(1, (1 - S) * n**c), rtol=0, atol=1e-12)


def test_suppression_holds_the_signal_below_the_threshold():
    S = np.full(40, 0.99)
    sig = AlertSignal(threshold=0.95, suppress=10, size_correction=0.0, range_window=None)
    A = sig.transform_update(S)
    det = np.flatnonzero(A >= 0.95).tolist()
    assert det == [0, 11, 22, 33]  # one detection, then 10 rows held, then the next
    assert np.allclose(A[1:11], 0.5 * 0.95 * 0.99)


# the range check alone: no suppression, no size correction
RANGE_ONLY = dict(threshold=0.95, suppress=0, size_correction=0.0, range_blocks=4)


def test_range_breaks_need_the_ensemble_score():
    base = dict(
        RANGE_ONLY,
        range_window=100,
        range_warmup=10,
        range_min_score=0.5,
        range_margin=0.1,
        range_margin_score=0.8,
    )
    x = np.r_[np.linspace(0.0, 1.0, 50), 3.0, 1.05, 1.05, 2.0]
    S = np.r_[np.full(50, 0.2), 0.6, 0.6, 0.9, 0.4]
    A = AlertSignal(**base).transform_update(S, x[:, None])
    # row 50: far outside [0, 1], score 0.6 >= 0.5 -> 1; row 51: 1.05 is inside the range now
    # [0, 3]; row 53: outside, but the score 0.4 < 0.5
    assert A[50] == 1.0 and A[51] == 0.6 and A[53] == 0.4
    # a marginal break (within 10 % of the range's width) needs the stricter score
    x2 = np.r_[np.linspace(0.0, 1.0, 50), 1.05, 1.08]
    S2 = np.r_[np.full(50, 0.2), 0.6, 0.85]
    A2 = AlertSignal(**base).transform_update(S2, x2[:, None])
    assert A2[50] == 0.6 and A2[51] == 1.0
    # nothing is a break during the warm-up; NaN values are neither checked nor learned
    A3 = AlertSignal(**base).transform_update(
        np.full(5, 0.9), np.array([[0.0], [5.0], [np.nan], [9.0], [1.0]])
    )
    assert A3.max() < 1.0
    A4 = AlertSignal(**{**base, "range_warmup": 2}).transform_update(
        np.full(4, 0.9), np.array([[0.0], [1.0], [np.nan], [7.0]])
    )
    assert A4.tolist() == [0.9, 0.9, 0.9, 1.0]


def test_the_range_forgets_after_its_window():
    # a spike to 10 leaves the range after range_window (+ one block) rows: 5 is a break again
    p = dict(RANGE_ONLY, range_window=20, range_warmup=5, range_min_score=0.0, range_margin=0.0)
    x = np.r_[np.zeros(10), 10.0, np.tile([0.0, 1.0], 20), 5.0]
    A = AlertSignal(**p).transform_update(np.full(x.size, 0.5), x[:, None])
    assert A[10] == 1.0 and A[-1] == 1.0
    x = np.r_[np.zeros(10), 10.0, np.tile([0.0, 1.0], 5), 5.0]
    A = AlertSignal(**p).transform_update(np.full(x.size, 0.5), x[:, None])
    assert A[-1] == 0.5  # still within the window


def test_empty_input():
    sig = AlertSignal()
    out = sig.transform_update(np.empty(0))
    assert out.shape == (0,) and out.dtype == np.float64
    sig.allocate(2)
    assert sig.run([], [], True).shape == (0,)
    assert sig.run(np.empty(0), np.empty(0, dtype=np.int64), False, np.empty((0, 3))).shape == (0,)


@pytest.mark.parametrize(
    "S, message",
    [
        ([0.1, np.nan, 0.3], r"S\[1\] = nan"),
        ([0.1, 1.5], r"S\[1\] = 1.5"),
        ([-0.1], r"S\[0\] = -0.1"),
        ([[0.1, 0.2]], "must be 1-D"),
        (["a"], "ensemble scores"),
    ],
)
def test_bad_scores_raise(S, message):
    with pytest.raises(ValueError, match=message):
        AlertSignal().transform_update(S)


def test_bad_slots_and_rows_raise():
    sig = AlertSignal()
    with pytest.raises(RuntimeError, match="allocate"):
        sig.run([0.5], [0], True)
    sig.allocate(2)
    with pytest.raises(ValueError, match=r"slot 2 is outside \[0, 2\)"):
        sig.run([0.5, 0.5], [0, 2], True)
    with pytest.raises(ValueError, match=r"slot -1"):
        sig.run([0.5], [-1], True)
    with pytest.raises(ValueError, match=r"slots must have shape \(2,\)"):
        sig.run([0.5, 0.5], [0], True)
    with pytest.raises(ValueError, match=r"X must have shape \(n, d\) with n = 2"):
        sig.run([0.5, 0.5], [0, 1], True, np.zeros((3, 1)))
    with pytest.raises(ValueError, match=r"X\[1, 0\] = inf"):
        sig.run([0.5, 0.5], [0, 1], True, np.array([[0.0], [np.inf]]))
    sig.run([0.5], [0], True, np.zeros((1, 2)))
    with pytest.raises(ValueError, match="X has 3 feature"):
        sig.run([0.5], [0], True, np.zeros((1, 3)))
    with pytest.raises(ValueError, match="alert state 'cur_max'"):
        sig.load_slot_state([0], {**sig.slot_state([0]), "cur_max": np.zeros((1, 5))})
    with pytest.raises(ValueError, match="missing"):
        sig.load_slot_state([0], {"counts": np.zeros((1, 5), dtype=np.int64)})


@pytest.mark.parametrize(
    "param, value",
    [
        ("threshold", 0.0),
        ("threshold", 1.5),
        ("suppress", -1),
        ("suppress", 2.5),
        ("size_correction", -0.1),
        ("range_window", 0),
        ("range_blocks", 0),
        ("range_warmup", -3),
        ("range_min_score", 2.0),
        ("range_margin", -1.0),
        ("range_margin_score", float("nan")),
    ],
)
def test_bad_parameters_name_the_parameter(param, value):
    with pytest.raises(ValueError, match=rf"^{param} must be"):
        AlertSignal(**{param: value}).transform_update([0.5])
    with pytest.raises(ValueError, match="no parameter 'nope'"):
        AlertSignal().set_params(nope=1)


def test_range_check_off_ignores_x():
    rng = np.random.default_rng(3)
    S = rng.uniform(size=50)
    a = AlertSignal(range_window=None).transform_update(S, rng.normal(size=(50, 4)))
    b = AlertSignal(range_window=None).transform_update(S)
    assert np.array_equal(a, b)


@settings(max_examples=40, deadline=None)
@given(S=scores, seed=st.integers(0, 2**16))
def test_raw_is_the_signal_without_the_suppression(S, seed):
    # the suppression changes no other state, so the raw signal of a suppressing signal is the
    # output of the same signal with suppress=0, and the output is the raw one outside the holds
    X = _x_for(S, seed)
    held = AlertSignal(**SMALL)
    held.allocate(1)
    raw = np.empty(S.shape[0])
    A = held.run(S, np.zeros(S.shape[0], dtype=np.int64), True, X, raw=raw)
    free = AlertSignal(**{**SMALL, "suppress": 0}).transform_update(S, X)
    assert np.array_equal(raw, free)
    kept = np.isclose(A, raw, rtol=0, atol=0) | np.isclose(A, 0.5 * SMALL["threshold"] * raw)
    assert kept.all()


def test_allocate_with_the_width_equals_the_width_fixed_by_the_first_x():
    rng = np.random.default_rng(3)
    S, X = rng.uniform(size=200), rng.normal(size=(200, 3))
    early = AlertSignal(**SMALL)
    early.allocate(2, n_features=3)
    assert early.n_features_ == 3
    assert early.nbytes_per_slot() == 5 * 8 + (2 * 3 * 3 + 4 * 3) * 8
    late = AlertSignal(**SMALL)
    late.allocate(2)
    slots = np.tile([0, 1], 100)
    assert np.array_equal(early.run(S, slots, True, X), late.run(S, slots, True, X))
    with pytest.raises(ValueError, match="feature"):
        early.run(S, slots, True, X[:, :2])


def test_bad_raw_buffer_raises():
    sig = AlertSignal()
    sig.allocate(1)
    S = np.full(5, 0.5)
    slots = np.zeros(5, dtype=np.int64)
    for bad in (np.empty(4), np.empty(5, dtype=np.float32), [0.0] * 5):
        with pytest.raises(ValueError, match="raw must be"):
            sig.run(S, slots, True, raw=bad)
    with pytest.raises(ValueError, match="n_features"):
        sig.allocate(1, n_features=-1)
