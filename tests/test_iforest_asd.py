"""Tests for sead.detectors.iforest_asd.IForestASD.

The known answer comes from a slow pure-Python isolation forest with the same SplitMix64
random numbers drawn in the same order (recursive trees of tuples); the forest itself is also
compared, statistically, with scikit-learn's ``IsolationForest``. The accuracy test needs the
shared ODDS data and PySAD.
"""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

from sead.checks import stream
from sead.detectors.iforest_asd import IForestASD

from ._splitmix import SplitMix64
from ._stacked import check_slots_learn_and_skip

SMALL = {"window": 64, "n_trees": 10, "max_samples": 32}
# the drift test on, the forest fitted only when a window is full (state_[5] counts the fits)
DRIFT = {"n_trees": 20, "max_samples": 64, "drift_threshold": 0.5, "fit_while_filling": False}


# ---- a slow pure-Python reference -------------------------------------------------------------


def c_n(n: int) -> float:
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1) + 0.5772156649015329) - 2.0 * (n - 1) / n


def build_tree(rows, depth, max_depth, rng):
    d = len(rows[0])
    if depth < max_depth and len(rows) > 1:
        feats = list(range(d))
        for i in range(d):
            r = i + rng.randint(d - i)
            feats[i], feats[r] = feats[r], feats[i]
            f = feats[i]
            lo = min(row[f] for row in rows)
            hi = max(row[f] for row in rows)
            if hi > lo:
                thr = lo + rng.uniform() * (hi - lo)
                if thr >= hi or thr < lo:
                    thr = lo
                left = build_tree([row for row in rows if row[f] <= thr], depth + 1, max_depth, rng)
                right = build_tree([row for row in rows if row[f] > thr], depth + 1, max_depth, rng)
                return (f, thr, left, right)
        return EqualLeaf(list(rows[0]), depth, depth + c_n(len(rows)))  # all its rows are equal
    return depth + c_n(len(rows))


class EqualLeaf:
    """A leaf above the depth limit whose rows are all equal: a query equal to them has the
    usual path length, any other query is isolated at the leaf's depth."""

    def __init__(self, value, depth, length):
        self.value, self.depth, self.length = value, depth, length


def fit_forest(window, n_trees, max_samples, rng):
    n = len(window)
    psi = min(max_samples, n)
    max_depth = math.ceil(math.log2(max(psi, 2)))
    perm = list(range(n))
    trees = []
    for _ in range(n_trees):
        for i in range(psi):
            r = i + rng.randint(n - i)
            perm[i], perm[r] = perm[r], perm[i]
        trees.append(build_tree([window[j] for j in perm[:psi]], 0, max_depth, rng))
    return trees, psi


def path_length(tree, x):
    while isinstance(tree, tuple):
        f, thr, left, right = tree
        tree = left if x[f] <= thr else right
    if isinstance(tree, EqualLeaf):
        return tree.length if list(x) == tree.value else float(tree.depth)
    return tree


def forest_score(forest, x):
    trees, psi = forest
    mean = sum(path_length(t, x) for t in trees) / len(trees)
    return 0.5 if c_n(psi) == 0 else 2.0 ** (-mean / c_n(psi))


def iforest_asd_reference(X, det, seed_word):
    """Pure-Python IForestASD (refit on every window, PySAD's fits while the first fills)."""
    rng = SplitMix64(seed_word)
    W = det.window
    forest = None
    window = []
    scores = []
    for t, x in enumerate(X):
        scores.append(0.0 if forest is None else forest_score(forest, x))
        window.append(list(x))
        n = len(window)
        if n == W:
            forest = fit_forest(window, det.n_trees, det.max_samples, rng)
            window = []
        elif det.fit_while_filling and t + 1 == n and n & (n - 1) == 0:
            forest = fit_forest(window, det.n_trees, det.max_samples, rng)
    return np.array(scores)


# ---- known answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"window": 50, "n_trees": 11, "max_samples": 16, "seed": 2},
        {
            "window": 24,
            "n_trees": 9,
            "max_samples": 64,
            "seed": 0,
            "fit_while_filling": False,
        },
    ],
)
def test_matches_pure_python_reference(params):
    X = stream(170, d=3, seed=4)
    X[::5, 1] = 0.5  # ties and constant features inside nodes
    det = IForestASD(**params)
    twin = det.clone()
    twin._init_state(X.shape[1])
    expected = iforest_asd_reference(X, det, int(twin.rng_[0]))
    np.testing.assert_allclose(det.score_learn_many(X), expected, rtol=0, atol=1e-12)


def test_forest_agrees_with_sklearn():
    """On the same window, our forest's scores and scikit-learn's agree up to forest noise."""
    from sklearn.ensemble import IsolationForest

    rng = np.random.default_rng(0)
    train = rng.normal(size=(512, 3))
    probe = np.vstack([rng.normal(size=(200, 3)), rng.normal(size=(20, 3)) * 4.0])
    det = IForestASD(window=512, n_trees=300, max_samples=256, fit_while_filling=False, seed=1)
    det.learn_many(train)
    ours = det.score_many(probe)
    theirs = (
        -IsolationForest(n_estimators=300, max_samples=256, random_state=0)
        .fit(train)
        .score_samples(probe)
    )
    assert np.abs(ours - theirs).mean() < 0.01
    assert np.corrcoef(ours, theirs)[0, 1] > 0.97


# ---- behaviour ------------------------------------------------------------------------------


def test_scores_zero_until_first_window_without_early_fits():
    det = IForestASD(window=30, n_trees=5, max_samples=16, fit_while_filling=False)
    s = det.score_learn_many(stream(100, d=2, seed=0))
    assert np.all(s[:30] == 0.0)
    assert np.all((s[30:] > 0.0) & (s[30:] <= 1.0))


def test_fits_while_the_first_window_fills():
    det = IForestASD(window=64, n_trees=5, max_samples=16)
    X = stream(200, d=2, seed=0)
    s = det.score_learn_many(X[:1])
    assert s[0] == 0.0
    assert det.score_one(X[1]) == 0.5  # a forest of one point: c(1) = 0
    det.learn_many(X[1:100])
    # fits at 1, 2, 4, ..., 32 points, then at the full window of 64
    assert det.state_[5] == 7
    det.learn_many(X[100:128])
    assert det.state_[5] == 8


def test_far_points_score_high():
    det = IForestASD(**SMALL)
    X = stream(300, d=4, seed=1)
    det.learn_many(X)
    typical = det.score_one(np.median(X, axis=0))
    for far in (1e12, -1e12, 1e300):
        v = det.score_one(np.full(4, far))
        assert np.isfinite(v) and typical < v <= 1.0


def test_a_constant_stream_does_not_blind_the_forest():
    """After identical rows every tree is one leaf of equal points; a point that differs from
    them must still score clearly higher than the constant (it used to score 0.5 like it), and
    the detector is back to normal once the stream varies again."""
    c = np.array([1.0, -2.0, 0.5, 3.0])
    det = IForestASD()
    det.learn_many(np.tile(c, (3000, 1)))
    const = det.score_one(c)
    assert const == 0.5
    for probe in (c + [1e-3, 0, 0, 0], c + 1.0, np.full(4, 1e6), np.zeros(4)):
        assert det.score_one(probe) > const + 0.3, probe
    s = det.score_many(np.tile(c, (5, 1)))  # the constant itself is not an anomaly
    np.testing.assert_array_equal(s, 0.5)
    rng = np.random.default_rng(0)
    det.learn_many(rng.normal(size=(2 * 2048, 4)))
    typical, far = det.score_many(np.vstack([np.zeros(4), np.full(4, 5.0)]))
    assert typical < 0.5 and far > 0.7
    np.testing.assert_array_less(det.score_many(rng.normal(size=(200, 4))).mean(), 0.5)


def test_the_drift_test_sees_a_change_after_a_constant_stream():
    """With the drift test, a forest of identical points must label a varying window
    anomalous and refit (it used to score every point 0.5, never above its threshold)."""
    det = IForestASD(window=256, **DRIFT)
    det.learn_many(np.ones((512, 3)))
    assert det.state_[5] == 1
    rng = np.random.default_rng(1)
    det.learn_many(rng.normal(size=(256, 3)))
    assert det.state_[5] == 2
    assert det.score_one(np.zeros(3)) < det.score_one(np.full(3, 5.0))


def test_ties_in_a_window_follow_the_pure_python_reference():
    """Repeated rows make leaves of equal points inside the trees (also checked against the
    reference, which implements the same rule)."""
    rng = np.random.default_rng(3)
    X = rng.integers(0, 3, size=(300, 2)).astype(float)
    X[100:140] = [1.0, 1.0]
    det = IForestASD(window=60, n_trees=12, max_samples=32, seed=4)
    twin = det.clone()
    twin._init_state(X.shape[1])
    expected = iforest_asd_reference(X, det, int(twin.rng_[0]))
    np.testing.assert_allclose(det.score_learn_many(X), expected, rtol=0, atol=1e-12)


def test_thresholds_stay_uniform_when_the_range_overflows():
    """Between -max and +max float, ``hi - lo`` overflows to inf: the thresholds must still be
    drawn uniformly in the range (they used to fall back to the minimum every time, so each
    split peeled off the lowest point and the largest values looked the most normal)."""
    fmax = np.finfo(float).max
    X = np.column_stack([fmax * np.linspace(-1.0, 1.0, 64), np.zeros(64)])
    det = IForestASD(window=64, n_trees=50, max_samples=64, fit_while_filling=False, seed=0)
    det.learn_many(X)
    roots = det.node_values_[det.split_features_[:, 0] == 0, 0]  # trees whose root splits feature 0
    assert roots.size > 10 and np.isfinite(roots).all()
    assert (roots > -fmax).mean() > 0.9 and np.abs(np.mean(roots / fmax)) < 0.3
    low, mid, high = det.score_many(np.array([[-0.99 * fmax, 0.0], [0.0, 0.0], [0.99 * fmax, 0.0]]))
    assert low > mid and high > mid
    assert abs(low - high) < 0.1


@pytest.mark.parametrize(
    "params",
    [{}, {"window": 64, "n_trees": 10, "max_samples": 32, "drift_threshold": 0.1}],
)
def test_huge_values_are_scored_finite(params):
    fmax = np.finfo(float).max
    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 3))
    X[rng.choice(700, 40, replace=False)] = rng.choice(
        [fmax, -fmax, 1e308, -1e300, 5e-324], size=(40, 3)
    )
    s = IForestASD(**params).score_learn_many(X)
    assert np.isfinite(s).all() and (s[1:] > 0).all() and (s <= 1).all()


def test_drift_threshold_zero_equals_refitting_every_window():
    X = stream(400, d=3, seed=2)
    a = IForestASD(**SMALL).score_learn_many(X)
    b = IForestASD(**SMALL, drift_threshold=0.0).score_learn_many(X)
    np.testing.assert_array_equal(a, b)


def test_drift_threshold_one_keeps_the_forest_on_a_stable_stream():
    X = np.random.default_rng(0).normal(size=(400, 3))
    det = IForestASD(**SMALL, drift_threshold=1.0)
    det.learn_many(X[:64])
    probe = det.score_many(X[:20])
    fits = det.state_[5]
    det.learn_many(X[64:])
    assert det.state_[5] == fits
    np.testing.assert_array_equal(det.score_many(X[:20]), probe)


def test_drift_test_refits_after_a_shift():
    rng = np.random.default_rng(1)
    det = IForestASD(window=100, **DRIFT)
    det.learn_many(rng.normal(size=(200, 3)))
    assert det.state_[5] == 1  # the second window looked like the first: no refit
    det.learn_many(rng.normal(size=(100, 3)) + 8.0)
    assert det.state_[5] == 2  # every point of the shifted window is anomalous: refit
    assert det.score_one(np.full(3, 8.0)) < det.score_one(np.zeros(3))


def test_memory_is_fixed_by_the_parameters():
    det = IForestASD(window=100, n_trees=20, max_samples=64)
    X = stream(2000, d=5, seed=0)
    det.learn_many(X[:200])
    size = len(pickle.dumps(det))
    det.learn_many(X[200:])
    assert len(pickle.dumps(det)) == size
    # complete trees of depth 6: 127 nodes of 4 + 8 bytes
    assert det.split_features_.nbytes + det.node_values_.nbytes == 20 * 127 * 12


@pytest.mark.parametrize(
    "params, match",
    [
        ({"window": 0}, "window"),
        ({"n_trees": 1.5}, "n_trees"),
        ({"max_samples": "auto"}, "max_samples"),
        ({"drift_threshold": 1.5}, "drift_threshold"),
        ({"drift_threshold": float("nan")}, "drift_threshold"),
        ({"contamination": 0.0}, "contamination"),
        ({"contamination": 0.7}, "contamination"),
        ({"fit_while_filling": "yes"}, "fit_while_filling"),
        ({"seed": 1.5}, "seed"),
    ],
)
def test_parameter_validation(params, match):
    det = IForestASD(**params)
    with pytest.raises(ValueError, match=match):
        det.learn_one([0.0, 1.0])


# ---- stacked state ------------------------------------------------------------------------


STACK_MEMBERS = [
    {"window": 40, "n_trees": 7, "max_samples": 16, "seed": 3},
    {
        "window": 64,
        "n_trees": 10,
        "max_samples": 100,
        "drift_threshold": 0.2,
        "contamination": 0.2,
        "fit_while_filling": False,
        "seed": 4,
    },
    {"window": 25, "n_trees": 9, "max_samples": 8, "drift_threshold": 0.0, "seed": 5},
]


def test_stacked_members_and_slots_equal_standalone_detectors():
    """Three members with different parameters over five slots, rows interleaved at random and
    cut into batches, give for each (slot, member) exactly a standalone detector's scores."""
    from sead.detectors.iforest_asd import IForestASDStack

    X = stream(900, d=3, seed=8)
    X[::9, 2] = -0.5  # ties
    _, before, after = check_slots_learn_and_skip(IForestASD, IForestASDStack, STACK_MEMBERS, X)
    assert not np.array_equal(after["scal"][1], before["scal"][1])


def test_one_member_view_matches_the_detector():
    from sead.detectors.iforest_asd import IForestASDStack

    det = IForestASD(**SMALL)
    det.learn_many(stream(200, d=3, seed=1))
    assert isinstance(det.stack_, IForestASDStack)
    assert det.state_[0] == 200 and det.window_.shape == (64, 3)
    assert np.shares_memory(det.node_values_, det.stack_.state.val)
    assert np.shares_memory(det.rng_, det.stack_.state.rng) and det.rng_.dtype == np.uint64


def test_kernel_releases_the_gil():
    from sead.detectors.iforest_asd import iforest_asd_kernel

    assert iforest_asd_kernel.targetoptions.get("nogil") is True


# ---- accuracy against PySAD -------------------------------------------------------------------


def test_accuracy_not_below_pysad_on_shuttle(dataset, pysad_models):
    from sklearn.metrics import average_precision_score

    X, y = dataset("shuttle", seed=0, n=3000)
    ours = IForestASD(seed=0).score_learn_many(X)
    # PySAD's batch fit_score scores each block between refits with the forest in force:
    # the same prequential scores as its one-by-one loop, much faster
    theirs = pysad_models.IForestASD(random_state=0).fit_score(X)
    aps_ours = average_precision_score(y[100:], ours[100:])
    aps_theirs = average_precision_score(y[100:], theirs[100:])
    assert aps_ours >= aps_theirs - 0.02, (aps_ours, aps_theirs)
