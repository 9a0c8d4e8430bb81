"""Tests for sead.detectors.xstream.XStream.

Known answers come from a slow pure-Python xStream (exact ``Counter`` bin counts keyed by the
bin vector, as in PySAD) run on the detector's own random draws, and from PySAD's ``xStream``
itself with those draws injected. The accuracy test needs the shared ODDS data and PySAD.
"""

from __future__ import annotations

import math
import pickle
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst
from hypothesis.extra import numpy as hnp

from sead._kernels.hashing import murmur3_32 as _murmur3_32
from sead.checks import stream
from sead.detectors.xstream import XStream, _first_window_widths, _streamhash_matrix

from ._stacked import check_stack_equals_standalone

SMALL = {"n_components": 8, "n_chains": 6, "depth": 6, "window": 32}


def _drawn(det: XStream, n_features: int) -> XStream:
    """A fresh clone of ``det`` with its state allocated (same seed -> same random draws)."""
    twin = det.clone()
    twin._init_state(n_features)
    return twin


def expected_widths(P):
    """Bin widths from the first window's projected points ``P`` (W, k), all finite: half the
    range, where the ``t`` extremes at each end stretch it to at most 4 times the range of the
    rest; a feature constant apart from them gets the median positive width (scale-free)."""
    W = P.shape[0]
    S = np.sort(P, axis=0)
    t = min(max(2, (W + 25) // 50), W // 4)
    lo, hi = S[t], S[W - 1 - t]
    bulk = hi / 2 - lo / 2
    half = np.where(bulk > 0, np.minimum(S[-1] / 2 - S[0] / 2, 4.0 * bulk), 0.0)
    positive = half[half > 0]
    full = S[-1] / 2 - S[0] / 2
    if positive.size:
        fallback = np.median(positive)
    elif max(np.abs(lo).max(), np.abs(hi).max()) > 0:
        fallback = max(np.abs(lo).max(), np.abs(hi).max())
    else:
        fallback = np.median(full[full > 0]) if (full > 0).any() else 1.0
    return np.where(half > 0, half, fallback)


def xstream_reference(X, det):
    """Slow pure-Python xStream on the random draws of ``det`` (exact bin counts)."""
    twin = _drawn(det, X.shape[1])
    R, fs, frac = twin.projection_, twin.split_features_, twin.shift_fraction_
    C, D = fs.shape
    k = R.shape[0]
    W = det.window
    deltamax = np.full(k, 0.5)

    def keys(y):
        out = []
        for c in range(C):
            pre, bins = {}, {}
            for lv in range(D):
                f = fs[c, lv]
                shift = frac[c, f] * deltamax[f]
                pre[f] = (
                    (y[f] + shift) / deltamax[f]
                    if f not in pre
                    else 2.0 * pre[f] - shift / deltamax[f]
                )
                bins[f] = math.floor(pre[f])
                out.append((c, lv, tuple(sorted(bins.items()))))
        return out

    ref = cur = Counter()
    first = []
    scores = []
    for t, x in enumerate(X):
        y = np.array([sum(R[i, j] * x[j] for j in range(len(x))) for i in range(k)])
        ks = keys(y)
        if t == 0:
            scores.append(0.0)
        else:
            per_chain = [
                min(math.log2(1 + ref[ks[c * D + lv]]) + lv + 1 for lv in range(D))
                for c in range(C)
            ]
            scores.append(-sum(per_chain) / C)
        cur.update(ks)
        if t < W:
            first.append(y)
        if (t + 1) % W == 0:
            if t + 1 == W:
                deltamax = expected_widths(np.array(first))
                ref = Counter(key for y_ in first for key in keys(y_))
            else:
                ref = cur
            cur = Counter()
    return np.array(scores)


# ---- known answers ---------------------------------------------------------------------------


def test_murmur3_known_values():
    # published MurmurHash3_x86_32 test vectors
    assert _murmur3_32(np.frombuffer(b"", dtype=np.uint8), 0) == 0
    assert _murmur3_32(np.frombuffer(b"", dtype=np.uint8), 1) == 0x514E28B7
    assert _murmur3_32(np.frombuffer(b"hello", dtype=np.uint8), 0) == 0x248BFA47
    assert _murmur3_32(np.frombuffer(b"Hello, world!", dtype=np.uint8), 1234) == 0xFAF6CDB3
    assert _murmur3_32(np.frombuffer(b"\xff\xff\xff\xff", dtype=np.uint8), 0) == 0x76293B50


def test_streamhash_matrix_structure():
    R = _streamhash_matrix(100, 23, 1.0 / 3.0)
    c = math.sqrt(3.0) / 10.0
    values = set(np.round(np.unique(R), 12))
    assert values <= {round(-c, 12), 0.0, round(c, 12)}
    assert 0.25 < np.mean(R != 0) < 0.42  # density 1/3
    # feature j's column only depends on j: a wider matrix extends a narrower one
    np.testing.assert_array_equal(_streamhash_matrix(100, 5, 1.0 / 3.0), R[:, :5])


def test_streamhash_matches_pysad():
    sp = pytest.importorskip("pysad.transform.projection.streamhash_projector")
    R = sp.StreamhashProjector(num_components=40)._build_projection_matrix(123)
    np.testing.assert_array_equal(_streamhash_matrix(40, 123, 1.0 / 3.0), R)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 4, "n_chains": 3, "depth": 7, "window": 16, "seed": 3},
        {"n_components": 10, "n_chains": 5, "depth": 4, "window": 25, "seed": 0},
    ],
)
def test_matches_pure_python_reference(params):
    X = stream(130, d=3, seed=5)
    det = XStream(**params)
    expected = xstream_reference(X, det)
    np.testing.assert_allclose(det.score_learn_many(X), expected, rtol=0, atol=1e-12)


def test_matches_pysad_with_the_same_draws():
    """PySAD's xStream, given our split features and shifts, gives our scores exactly."""
    pytest.importorskip("pysad")
    from pysad.models import xStream

    k, C, D, W = 12, 5, 6, 20
    det = XStream(n_components=k, n_chains=C, depth=D, window=W, seed=4)
    X = stream(150, d=4, seed=2)
    twin = _drawn(det, X.shape[1])
    model = xStream(num_components=k, n_chains=C, depth=D, window_size=W, random_state=0)
    hc = model.hs_chains
    if not all(
        hasattr(hc, a)
        for a in ("fs", "rand_arr", "set_deltamax", "slots", "_flat_slots", "first_split")
    ):
        pytest.skip("this PySAD's xStream internals differ")
    hc.fs = twin.split_features_.astype(np.intp)
    hc.rand_arr = twin.shift_fraction_.copy()
    hc.slots = np.argmax(hc.fs[:, :, None] == hc.fs[:, None, :], axis=2)
    hc._flat_slots = np.arange(C)[:, None] * D + hc.slots
    hc.first_split = hc.slots == np.arange(D)
    hc.set_deltamax(np.full(k, 0.5))
    theirs = []
    for x in X:
        theirs.append(float(np.ravel(model.score_partial(x))[0]))
        model.fit_partial(x)
    ours = det.score_learn_many(X)
    # PySAD scores the very first point against empty counts (-1); sead scores it 0
    assert theirs[0] == -1.0 and ours[0] == 0.0
    np.testing.assert_allclose(ours[1:], theirs[1:], rtol=0, atol=1e-9)


# ---- behaviour ------------------------------------------------------------------------------


def test_score_range_and_far_points():
    det = XStream(**SMALL)
    X = stream(300, d=4, seed=1)
    s = det.score_learn_many(X)
    assert s[0] == 0.0
    lower = -(SMALL["depth"] + math.log2(1 + SMALL["window"]))
    assert np.all((s[1:] >= lower) & (s[1:] <= -1.0))
    typical = det.score_one(np.median(X, axis=0))
    for far in (1e12, -1e12, 1e300):
        v = det.score_one(np.full(4, far))
        assert np.isfinite(v) and v > typical


def test_windows_swap_and_forget():
    """After two full windows of a new regime, the old regime is forgotten."""
    W = 40
    det = XStream(n_components=6, n_chains=8, depth=6, window=W, seed=0)
    rng = np.random.default_rng(0)
    old = rng.normal(size=(2 * W, 3))
    new = rng.normal(size=(2 * W, 3)) + 10.0
    det.learn_many(old)
    probe_old = det.score_one(old[0])
    det.learn_many(new)
    assert det.score_one(old[0]) > probe_old  # now anomalous
    assert det.score_one(new[0]) < det.score_one(old[0])


def test_first_window_sets_bin_widths():
    det = XStream(n_components=5, n_chains=3, depth=4, window=10)
    X = stream(30, d=3, seed=0)
    det.learn_many(X[:9])
    np.testing.assert_array_equal(det.deltamax_, np.full(5, 0.5))
    det.learn_many(X[9:10])
    P = X[:10] @ det.projection_.T
    np.testing.assert_allclose(det.deltamax_, expected_widths(P), rtol=1e-12)


def _planted(n=6000, d=4, seed=0):
    """Normal rows with 40 planted 6-sd anomalies after the first 2,000 rows, and the labels."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.zeros(n, dtype=int)
    idx = 2000 + rng.choice(n - 2000, 40, replace=False)
    X[idx, rng.integers(0, d, idx.size)] += rng.choice([-6.0, 6.0], idx.size)
    y[idx] = 1
    return X, y


@pytest.mark.parametrize("sd", [1e-6, 1e-12, 1e-20, 1e6])
@pytest.mark.parametrize("params", [{"window": 64}, {**SMALL, "n_chains": 20}])
def test_small_and_large_valued_features_are_found_as_well_as_unit_ones(params, sd):
    """Bin widths are scale-free: the old cut-off (a half-range <= 1e-4 became width 1) put every
    point of a stream with sd <= 3e-5 in one bin (ROC AUC 0.5)."""
    from sklearn.metrics import roc_auc_score

    X, y = _planted()
    base = roc_auc_score(y[2000:], XStream(**params).score_learn_many(X)[2000:])
    det = XStream(**params)
    auc = roc_auc_score(y[2000:], det.score_learn_many(X * sd)[2000:])
    assert base > 0.95
    assert abs(auc - base) < 0.02, (auc, base)
    assert np.all(det.deltamax_ > 0) and np.all(np.isfinite(det.deltamax_))


def test_constant_projected_feature_gets_the_typical_width():
    det = XStream(n_components=6, n_chains=4, depth=4, window=20)
    X = stream(40, d=3, seed=0)
    X[:, 2] = 0.25  # a constant feature
    det.learn_many(X)
    P = X[:20] @ det.projection_.T
    half = (P.max(axis=0) - P.min(axis=0)) / 2.0
    assert (half == 0).any() and (half > 0).any()
    np.testing.assert_allclose(det.deltamax_, expected_widths(P), rtol=1e-12)
    np.testing.assert_allclose(
        det.deltamax_[half == 0], np.median(det.deltamax_[half > 0]), rtol=1e-12
    )


FMAX = float(np.finfo(float).max)
GLITCHES = [
    (1e3, "one"),
    (1e12, "one"),
    (1e100, "all"),
    (-1e300, "one"),
    (1e308, "one"),
    (FMAX, "all"),
    (-FMAX, "one"),
]


def _with_glitch(X, row, value, where):
    G = X.copy()
    G[row] = value if where == "all" else 0.0
    if where == "one":
        G[row, 0] = value
    return G


@pytest.mark.parametrize(
    "params", [{}, {"n_components": 24, "n_chains": 10, "depth": 6, "window": 32}]
)
def test_a_glitch_row_in_the_first_window_does_not_fix_absurd_bin_widths(params):
    """The first window sets the bin widths for good; one glitch row in it used to stretch the
    range of every projected feature it touches (half-range 1e308 -> every later point in one
    bin: ROC AUC 0.85 instead of 1.00 at the defaults, after 20,000 normal rows)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    d, n_after, n_eval = 4, 20000, 5000
    X = rng.normal(size=(n_after + n_eval, d))
    y = np.zeros(len(X), dtype=int)
    idx = n_after + rng.choice(n_eval, 50, replace=False)
    X[idx, rng.integers(0, d, idx.size)] += rng.choice([-6.0, 6.0], idx.size)
    y[idx] = 1
    clean_det = XStream(**params)
    clean = roc_auc_score(y[n_after:], clean_det.score_learn_many(X)[n_after:])
    assert clean > 0.99
    for value, where in GLITCHES:
        det = XStream(**params)
        s = det.score_learn_many(_with_glitch(X, 10, value, where))
        auc = roc_auc_score(y[n_after:], s[n_after:])
        assert np.isfinite(s).all()
        assert auc >= clean - 0.05, (value, where, auc, clean)
        # the widths stay of the order of the clean ones
        assert np.all(det.deltamax_ <= 4.0 * clean_det.deltamax_ + 1e-12), (value, where)


def test_two_glitch_rows_in_the_first_window_are_trimmed():
    X = np.random.default_rng(2).normal(size=(64, 3))
    clean, det = XStream(window=64), XStream(window=64)
    clean.learn_many(X)
    X[[5, 40]] = [[1e300, 0.0, -1e300], [-1e12, 1e12, 1e300]]
    det.learn_many(X)
    assert np.all(det.deltamax_ <= 4.0 * clean.deltamax_)


@pytest.mark.parametrize(
    "params",
    [
        SMALL,
        {"n_components": 1, "n_chains": 3, "depth": 5, "window": 8},
        {"n_components": 3, "n_chains": 2, "depth": 12, "window": 5},
    ],
)
def test_rows_up_to_the_float_limit_give_finite_scores_and_widths(params):
    """Rows of values up to the float limit, inside the first window and after it: finite scores,
    finite positive widths (a projection may overflow to inf, or to nan with one component)."""
    rng = np.random.default_rng(0)
    W = params["window"]
    hostile = []
    for v in (FMAX, -FMAX, 1e308, 1e300, 1e12, 5e-324, -1e-300):
        hostile.append(np.full(3, v))
        one = np.zeros(3)
        one[1] = v
        hostile.append(one)
    hostile.append(np.array([FMAX, -FMAX, 1e-300]))
    X = np.vstack(
        [
            rng.normal(size=(W // 2, 3)),
            hostile[:3],
            rng.normal(size=(W, 3)),
            hostile,
            rng.normal(size=(3 * W, 3)),
        ]
    )
    det = XStream(**params)
    s = det.score_learn_many(X)
    assert np.isfinite(s).all()
    assert np.all(np.isfinite(det.deltamax_)) and np.all(det.deltamax_ > 0)
    for r in hostile:
        assert np.isfinite(det.score_one(r))


def test_constant_stream():
    det = XStream(**SMALL)
    s = det.score_learn_many(np.ones((100, 3)))
    assert np.isfinite(s).all()
    assert np.all(s[SMALL["window"] + 1 :] == s[-1])


def test_stamp_wraparound_changes_nothing():
    """Window stamps are int32: the wrap-around cleanup keeps the counts of the live window."""
    X = stream(400, d=3, seed=9)
    a = XStream(**SMALL)
    b = XStream(**SMALL)
    a.learn_many(X[:100])
    b.learn_many(X[:100])
    b.state_[3] = 2**31 - 3  # the next stamps hit the limit within two window swaps
    np.testing.assert_array_equal(a.score_learn_many(X[100:]), b.score_learn_many(X[100:]))
    assert b.state_[3] < 100


def test_memory_is_fixed_by_the_parameters():
    det = XStream(n_components=10, n_chains=10, depth=8, window=64)
    X = stream(2000, d=5, seed=0)
    det.learn_many(X[:200])
    size = len(pickle.dumps(det))
    det.learn_many(X[200:])
    assert len(pickle.dumps(det)) == size
    # 4/3 of window * chains * depth = 6827 keys -> 8192 slots of 12 bytes, two tables
    assert det.tables_.nbytes == 2 * 8192 * 12


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_chains": -1}, "n_chains"),
        ({"depth": 2.5}, "depth"),
        ({"window": "256"}, "window"),
        ({"window": True}, "window"),
        ({"seed": "x"}, "seed"),
    ],
)
def test_parameter_validation(params, match):
    det = XStream(**params)
    with pytest.raises(ValueError, match=match):
        det.learn_one([0.0, 1.0])


# ---- accuracy against PySAD -------------------------------------------------------------------


def test_accuracy_not_below_pysad_on_shuttle(dataset, pysad_models):
    from sklearn.metrics import average_precision_score

    X, y = dataset("shuttle", seed=0, n=3000)
    ours = XStream(seed=0).score_learn_many(X)
    model = pysad_models.xStream(random_state=0)
    theirs = np.array([float(np.ravel(model.fit_score_partial(x))[0]) for x in X])
    aps_ours = average_precision_score(y[100:], ours[100:])
    aps_theirs = average_precision_score(y[100:], theirs[100:])
    assert aps_ours >= aps_theirs - 0.02, (aps_ours, aps_theirs)


# ---- stacked state ---------------------------------------------------------------------------


def test_stacked_members_and_slots_equal_standalone_detectors():
    """3 members with different sizes over 5 slots, rows interleaved at random, in batches with
    mixed modes: every (slot, member) gives exactly the scores of a standalone detector run over
    that slot's rows in order."""
    from sead.detectors.xstream import XStreamStack

    params = [
        {"n_components": 8, "n_chains": 6, "depth": 6, "window": 16, "seed": 1},
        {"n_components": 3, "n_chains": 2, "depth": 12, "window": 5, "seed": 2},
        {"n_components": 12, "n_chains": 4, "depth": 8, "window": 40, "seed": 3},
    ]

    def check_state(v, det):
        np.testing.assert_array_equal(v.state.tab[0], det.tables_.ravel())
        np.testing.assert_array_equal(v.state.dmax[0], det.deltamax_)

    check_stack_equals_standalone(
        XStreamStack, XStream, params, cuts=(0, 1, 300, 700, 1200), check_state=check_state
    )


def test_state_attributes_are_views_of_the_stack():
    det = XStream(**SMALL)
    with pytest.raises(AttributeError):
        _ = det.deltamax_
    det.learn_many(stream(100, d=3, seed=0))
    assert np.shares_memory(det.state_, det.stack_.state.scal)
    assert det.tables_.shape == (2, 2048, 3) and det.first_window_.shape == (32, 3)
    assert det.split_features_.shape == det.slots_.shape == det.shift_.shape == (6, 6)
    assert det.projection_.shape == (8, 3) and det.shift_fraction_.shape == (6, 8)
    np.testing.assert_array_equal(det.log_counts_, np.log2(1.0 + np.arange(33)))


# ---- properties of the first-window bin widths -----------------------------------------------

_moderate = hst.one_of(hst.just(0.0), hst.floats(1e-100, 1e100), hst.floats(-1e100, -1e-100))
_shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40)


def _widths(P):
    out = np.empty(P.shape[1])
    _first_window_widths(np.ascontiguousarray(P, dtype=np.float64), out)
    return out


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, _shapes, elements=hst.floats(allow_nan=True, allow_infinity=True)))
def test_widths_are_finite_and_positive_for_any_values(P):
    w = _widths(P)
    assert np.all(np.isfinite(w)) and np.all(w >= 1e-300)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, _shapes, elements=_moderate), hst.integers(-300, 300))
def test_widths_are_scale_free(P, e):
    """Scaling the data by 2^e (exact in floating point) scales every width by 2^e."""
    if not P.any():
        return  # all zero: width 1, nothing to scale by
    np.testing.assert_array_equal(_widths(P * 2.0**e), _widths(P) * 2.0**e)


@settings(max_examples=200, deadline=None)
@given(hnp.arrays(np.float64, _shapes, elements=_moderate))
def test_widths_match_the_reference_and_the_authors_rule_without_outliers(P):
    w = _widths(P)
    np.testing.assert_allclose(w, expected_widths(P), rtol=1e-15)
    half = P.max(axis=0) / 2 - P.min(axis=0) / 2
    S, W = np.sort(P, axis=0), P.shape[0]
    t = min(max(2, (W + 25) // 50), W // 4)
    varies = S[W - 1 - t] > S[t]  # the bulk varies: the width is the (capped) half-range
    assert np.all(w[varies] <= half[varies])
    assert np.all(w[varies] >= (S[W - 1 - t] / 2 - S[t] / 2)[varies])
