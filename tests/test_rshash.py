"""Tests for sead.detectors.rshash.RSHash: a known answer against a pure-Python reference, the
warm-up, parameter errors, out-of-range values, and accuracy parity with PySAD on a slice of
shuttle. The protocol checks run in test_common.py."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from sead.detectors.rshash import RSHash

from ._pysad import aps_per_seed
from ._splitmix import GOLDEN, M64, mix
from ._stacked import assert_stacked_equal_standalone, assert_threads_score_as_alone

# ---- a slow reference of the same algorithm -----------------------------------------------------


def reference_scores(det: RSHash, X: np.ndarray) -> np.ndarray:
    """Prequential RS-Hash scores in plain Python, with the random draws ``det`` made (grid
    sizes, subspace sizes, feature orders, shifts, salts): ranges from the warm-up rows, PySAD's
    lazy decay (a count and the time it was last touched, per slot), one log per component."""
    det = det.clone()
    det.learn_one(X[0])  # draws the random numbers; we only read them
    W, m = det.warmup, det.n_components
    f = det.f_.tolist()
    shifts = det.shifts_.tolist()
    salts = [int(s) for s in det.salts_]
    p = det.hash_range
    d = X.shape[1]
    lo = X[:W].min(axis=0).tolist()
    hi = X[:W].max(axis=0).tolist()
    varying = [hi[j] > lo[j] for j in range(d)]
    if not any(varying):
        varying = [True] * d
    dims = []
    for i in range(m):
        cand = [int(j) for j in det.perm_[i] if varying[j]]
        dims.append(cand[: int(det.n_dims_drawn_[i])])
    counts, stamps = {}, {}
    now = 0  # points learned so far

    def slots_of(x):
        out = []
        for i in range(m):
            h = ((i + 1) * GOLDEN) & M64
            for j in dims[i]:
                v = (x[j] - lo[j]) / (hi[j] - lo[j]) if hi[j] > lo[j] else x[j] - lo[j]
                v = min(max(v, -1e9), 1e9)
                c = math.floor((v + shifts[i][j]) / f[i])
                h = ((h ^ (c & M64)) * 0xBF58476D1CE4E5B9) & M64
            h = mix(h)
            out.append([((mix(h ^ s) >> 32) * p) >> 32 for s in salts])
        return out

    def count(t, s):
        return counts.get((t, s), 0.0) * 2.0 ** (-det.decay * (now - stamps.get((t, s), now)))

    def learn(slots):
        nonlocal now
        for row in slots:
            for t, s in enumerate(row):
                c = count(t, s)
                counts[(t, s)] = c + 1.0
                stamps[(t, s)] = now
        now += 1

    out = []
    for k, x in enumerate(X.tolist()):
        if k < W:
            out.append(0.0)
            if k == W - 1:
                for xb in X[:W].tolist():
                    learn(slots_of(xb))
            continue
        slots = slots_of(x)
        out.append(
            -sum(math.log2(1.0 + min(count(t, s) for t, s in enumerate(row))) for row in slots) / m
        )
        learn(slots)
    return np.array(out)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 15, "hash_range": 5000, "warmup": 30, "seed": 2},
        # a tiny sketch: many collisions, several tables (count-min), fast decay
        {"n_components": 12, "n_hashes": 3, "hash_range": 37, "decay": 0.2, "warmup": 10},
    ],
    ids=["plain", "collisions"],
)
def test_known_answer_against_python_reference(params):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 5))
    X[:, 3] = np.round(X[:, 3])  # ties on a grid
    X[200:205] += 50.0  # far outside the warm-up ranges
    X[300] = 1e12  # clipped
    det = RSHash(**params)
    ours = det.clone().score_learn_many(X)
    ref = reference_scores(det, X)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12)


def test_constant_features_are_left_out():
    X = np.random.default_rng(0).normal(size=(200, 4))
    X[:, 1] = 3.0  # constant over the warm-up
    det = RSHash(n_components=30, warmup=50, seed=0)
    det.learn_many(X)
    used = {int(j) for i in range(30) for j in det.dims_[i, : det.n_dims_[i]]}
    assert 1 not in used and used <= {0, 2, 3}
    assert det.inv_range_[1] == 1.0
    assert (det.n_dims_ <= 3).all() and (det.n_dims_ >= 1).all()
    ref = reference_scores(RSHash(n_components=30, warmup=50, seed=0), X)
    np.testing.assert_allclose(
        RSHash(n_components=30, warmup=50, seed=0).score_learn_many(X), ref, rtol=1e-9, atol=1e-12
    )


def test_warm_up_buffers_then_learns_in_order():
    rng = np.random.default_rng(1)
    X = rng.uniform(-2, 5, size=(300, 3))
    det = RSHash(n_components=20, warmup=40, seed=3)
    s = det.score_learn_many(X)
    assert (s[:40] == 0.0).all() and (s[40:] < 0.0).all()
    np.testing.assert_array_equal(det.mins_, X[:40].min(axis=0))
    np.testing.assert_allclose(det.inv_range_, 1.0 / (X[:40].max(axis=0) - X[:40].min(axis=0)))
    assert det.buffer_.shape == (0, 3)  # released once full
    # scoring mid-warm-up gives 0 and changes nothing
    half = RSHash(n_components=20, warmup=40, seed=3)
    half.learn_many(X[:20])
    assert (half.score_many(X[20:30]) == 0.0).all()
    # learning the warm-up rows in pieces gives the same state as in one go
    pieces = RSHash(n_components=20, warmup=40, seed=3)
    for a in range(0, 300, 7):
        pieces.learn_many(X[a : a + 7])
    np.testing.assert_array_equal(pieces.tables_, det.tables_)


def test_decayed_counts_sum_to_the_decayed_weight():
    """Each of the n_components cells gets weight 1 per point: the sketch holds
    n_components * sum_a 2**(-decay * a) in total (every table)."""
    det = RSHash(n_components=25, n_hashes=2, decay=0.05, warmup=10, seed=0)
    X = np.random.default_rng(0).normal(size=(3000, 4))
    det.learn_many(X)
    total = det.tables_.sum(axis=1) / det.stats_[0]
    expected = 25 * sum(2.0 ** (-0.05 * a) for a in range(1, 3001))
    np.testing.assert_allclose(total, expected, rtol=1e-9)


# ---- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, word",
    [
        ({"n_components": 0}, "n_components"),
        ({"n_components": 2.0}, "n_components"),
        ({"n_hashes": 0}, "n_hashes"),
        ({"hash_range": -3}, "hash_range"),
        ({"hash_range": True}, "hash_range"),
        ({"hash_range": 2**32 + 1}, "hash_range"),
        ({"warmup": 0}, "warmup"),
        ({"decay": 0.0}, "decay"),
        ({"decay": -0.5}, "decay"),
        ({"decay": 1e-300}, "decay"),  # 2**-decay == 1: no decay at all
        ({"decay": float("inf")}, "decay"),
        ({"decay": "0.01"}, "decay"),
        ({"decay": 2000.0}, "decay"),  # 2 ** decay overflows
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_raise_at_first_learn(params, word):
    det = RSHash(**params)  # __init__ stores, does not validate
    with pytest.raises(ValueError, match=word):
        det.learn_one([0.0, 1.0])


# ---- out-of-range values --------------------------------------------------------------------


def test_values_outside_the_warm_up_range():
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 1, size=(1000, 3))
    det = RSHash(n_components=50, warmup=100, seed=0)
    det.learn_many(X)
    inside = det.score_many(rng.uniform(0, 1, size=(50, 3)))
    outside = det.score_many(rng.uniform(3, 4, size=(50, 3)))
    assert outside.min() > inside.max()
    # nearly empty cells (only hash collisions fill them): close to the maximum score 0
    assert outside.mean() > -0.6 and inside.mean() < -2.0
    assert np.isfinite(det.score_many(np.array([[1e300, -1e300, 5e299]]))).all()
    # a new regime outside the ranges fills its own cells and stops looking anomalous
    shifted = rng.uniform(3, 4, size=(300, 3))
    det.learn_many(shifted)
    later = det.score_many(rng.uniform(3, 4, size=(50, 3)))
    assert later.mean() < outside.mean() - 1.0


FMAX = float(np.finfo(float).max)


def _planted_stream(n_warm=100, n_after=3000, d=4, seed=1):
    """Normal rows; 50 planted 6-sd anomalies (labels ``y``) among the rows after the warm-up."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_warm + n_after, d))
    y = np.zeros(len(X), dtype=int)
    idx = n_warm + rng.choice(n_after, 50, replace=False)
    X[idx, rng.integers(0, d, idx.size)] += rng.choice([-6.0, 6.0], idx.size)
    y[idx] = 1
    return X, y


@pytest.mark.parametrize(
    "glitch",
    ["1e3 one", "1e12 one", "1e100 all", "-1e300 one", "max all", "-max one", "+-max two rows"],
)
def test_a_glitch_in_the_warm_up_does_not_stretch_the_grids(glitch):
    """The grids are fixed from the warm-up ranges: one glitch row among the warm-up rows
    stretched a feature's range so far that every later value fell in one cell (AUC on planted
    anomalies 1.0 -> 0.87 for 1e3 in one feature, 0.5 for 1e100 in all). A value more than 100
    IQRs beyond the quartiles, when such values are at most 2% of the warm-up, is now left out of
    the range (and still learned)."""
    from sklearn.metrics import roc_auc_score

    X, y = _planted_stream()
    G = X.copy()
    rows = [50]
    if glitch == "+-max two rows":
        G[50] = [FMAX, -FMAX, FMAX, -FMAX]
        G[70] = [-FMAX, FMAX, -FMAX, FMAX]
        rows = [50, 70]
    else:
        value, where = (
            {
                "1e3": 1e3,
                "1e12": 1e12,
                "1e100": 1e100,
                "-1e300": -1e300,
                "max": FMAX,
                "-max": -FMAX,
            }[glitch.split()[0]],
            glitch.split()[1],
        )
        G[50] = value if where == "all" else 0.0
        if where == "one":
            G[50, 0] = value
    clean, det = RSHash().score_learn_many(X), RSHash()
    glitched = det.score_learn_many(G)
    after = slice(100, None)
    assert roc_auc_score(y[after], glitched[after]) >= roc_auc_score(y[after], clean[after]) - 0.01
    rest = np.delete(G[:100], rows, axis=0)  # the warm-up without the glitch rows
    np.testing.assert_array_equal(det.mins_, rest.min(axis=0))
    np.testing.assert_allclose(
        det.inv_range_, 1.0 / (rest.max(axis=0) - rest.min(axis=0)), rtol=1e-15
    )
    assert det.score_one(G[50]) > np.quantile(glitched[after], 0.99)  # the glitch scores high


def test_a_mode_far_from_the_rest_of_the_warm_up_is_kept():
    """Far values that are more than 2% of the warm-up are data, not glitches: they count in the
    ranges (PySAD's minimum and maximum)."""
    X, _ = _planted_stream()
    X[10:15, 0] = 1e3  # 5% of the warm-up
    det = RSHash()
    det.learn_many(X[:200])
    np.testing.assert_array_equal(det.mins_, X[:100].min(axis=0))
    assert det.inv_range_[0] == 1.0 / (1e3 - X[:100, 0].min())


def test_a_warm_up_range_wider_than_the_float_limit():
    """Warm-up values of both signs near the float limit: the range overflowed to inf, its inverse
    was 0, and 0 * inf normalised later huge values to NaN. The inverse is now a positive float."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    X[:100:2, 0] = 1e308
    X[1:100:2, 0] = -1e308
    det = RSHash(warmup=100)
    det.learn_many(X)
    assert 0.0 < det.inv_range_[0] < 1e-307
    probe = np.array([[FMAX, 0.0, 0.0], [-FMAX, 1.0, -1.0], [0.0, 0.0, 0.0]])
    assert (
        np.isfinite(det.score_many(probe)).all() and np.isfinite(det.score_learn_many(probe)).all()
    )


def test_bounded_state_size():
    det = RSHash(n_components=20, warmup=50, seed=0)
    rng = np.random.default_rng(0)
    det.learn_many(rng.normal(size=(1000, 6)))
    a = len(pickle.dumps(det))
    det.learn_many(rng.normal(size=(30_000, 6)))  # passes the sketch's rescaling several times
    assert len(pickle.dumps(det)) == a
    assert np.isfinite(det.tables_).all() and det.stats_[0] < 2.0**64


# ---- accuracy parity ----------------------------------------------------------------------------


def test_accuracy_parity_with_pysad_on_shuttle(dataset, pysad_models):
    """Mean APS over seeds 0-2 on the first 3,000 chunk-shuffled shuttle rows (warm start 100)
    is at least PySAD's RSHash (default hyperparameters, given the ranges of the first 100
    rows) minus 0.02."""
    X, y = dataset("shuttle", seed=0, n=3000)
    lo, hi = X[:100].min(axis=0), X[:100].max(axis=0)
    ours, theirs = aps_per_seed(
        X,
        y,
        lambda seed: RSHash(seed=seed),
        lambda seed: pysad_models.RSHash(lo, hi, random_state=seed),
        range(3),
    )
    assert np.mean(ours) >= np.mean(theirs) - 0.02, (ours, theirs)


# ---- stacked state ------------------------------------------------------------------------------


def test_stacked_members_and_slots_equal_standalone_detectors():
    """Three RS-Hashes of different sizes and warm-ups over five slots, rows of the slots
    interleaved at random and cut into batches of random sizes: each (slot, member) scores exactly
    as a standalone detector of that member run over that slot's rows in order (each slot ends
    its own warm-up when its own rows fill it), prequentially and then purely."""
    members = [
        RSHash(seed=0),
        RSHash(n_components=20, n_hashes=3, hash_range=500, decay=0.05, warmup=20, seed=1),
        RSHash(n_components=7, hash_range=1000, warmup=150, seed=2),
    ]
    assert_stacked_equal_standalone(RSHash, members, n=2000)


def test_independent_streams_in_threads_score_as_alone():
    """The kernel releases the GIL (nogil): detectors of independent streams can run in threads,
    and each scores exactly as it does alone."""
    assert_threads_score_as_alone(RSHash)
