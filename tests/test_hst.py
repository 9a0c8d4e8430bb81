"""Tests of sead.detectors.hst.HalfSpaceTrees."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from sead.checks import stream
from sead.detectors.hst import HalfSpaceTrees

from ._pysad import aps_per_seed

# ---- a slow, independent reference of the same algorithm ------------------------------------


def reference_hst(X, n_trees, height, window_size, n_warmup, size_limit, features, draws):
    """Pure-Python HST: recursive tree build, eager window swap (as in the paper's Algorithm 3),
    with the detector's random draws (split features per heap node, work-space draws)."""
    n, d = X.shape
    W = X[:n_warmup]
    lo, hi = W.min(axis=0), W.max(axis=0)
    for q in range(d):
        mid = 0.5 * (lo[q] + hi[q])
        tiny = 1e-9 * max(1.0, abs(mid))
        if hi[q] - lo[q] < tiny:
            lo[q], hi[q] = mid - 0.5 * tiny, mid + 0.5 * tiny
    trees = []
    for t in range(n_trees):
        ws_lo, ws_hi = [], []
        for q in range(d):
            s = lo[q] + draws[t, q] * (hi[q] - lo[q])
            half = 2.0 * max(s - lo[q], hi[q] - s)
            ws_lo.append(s - half)
            ws_hi.append(s + half)
        split = {}

        def build(node, depth, a, b, t=t, split=split):
            if depth == height:
                return
            q = int(features[t, node])
            v = (a[q] + b[q]) / 2
            split[node] = (q, v)
            bl = list(b)
            bl[q] = v
            build(2 * node + 1, depth + 1, a, bl)
            ar = list(a)
            ar[q] = v
            build(2 * node + 2, depth + 1, ar, b)

        build(0, 0, ws_lo, ws_hi)
        trees.append(split)

    def path(tree, x):
        nodes = [0]
        for _ in range(height):
            q, v = tree[nodes[-1]]
            nodes.append(2 * nodes[-1] + (1 if x[q] < v else 2))
        return nodes

    latest = [dict() for _ in trees]
    ref = [dict() for _ in trees]
    seen = 0
    count = 0
    first = True
    scores = np.zeros(n)

    def learn(x):
        nonlocal count, first, latest, ref
        for t, tree in enumerate(trees):
            for node in path(tree, x):
                latest[t][node] = latest[t].get(node, 0) + 1
        count += 1
        if count == window_size:
            ref, latest = latest, [dict() for _ in trees]
            count = 0
            first = False

    for i in range(n):
        x = X[i]
        if seen < n_warmup:
            seen += 1
            if seen == n_warmup:
                for w in W:
                    learn(w)
            continue
        total = 0.0
        for t, tree in enumerate(trees):
            for k, node in enumerate(path(tree, x)):
                m = latest[t].get(node, 0) * window_size / count if first else ref[t].get(node, 0)
                total += m * 2**k
                if m < size_limit * window_size:
                    break
        scores[i] = 1 - total / (n_trees * window_size * (2 ** (height + 1) - 1))
        learn(x)
    return scores


@pytest.mark.parametrize(
    "params",
    [
        dict(n_trees=3, height=4, window=20, warmup=15, size_limit=0.1, seed=3),
        dict(n_trees=2, height=5, window=16, warmup=40, size_limit=0.0, seed=4),
        dict(n_trees=4, height=3, window=7, warmup=7, size_limit=0.5, seed=5),
    ],
    ids=str,
)
def test_known_answer_against_reference(params):
    X = stream(180, d=3, seed=11)
    X[100:104] *= 30.0  # far outside the warm-up ranges
    det = HalfSpaceTrees(**params)
    ours = det.score_learn_many(X)
    ref = reference_hst(
        X,
        params["n_trees"],
        params["height"],
        params["window"],
        params["warmup"],
        params["size_limit"],
        det.split_features_,
        det.work_space_draws_,
    )
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-12)
    assert (ours[: params["warmup"]] == 0).all()


def test_warmup_then_fixed_memory():
    X = stream(700, d=4, seed=2)
    det = HalfSpaceTrees(n_trees=4, height=5, window=50, warmup=120, seed=0)
    det.learn_many(X[:60])
    assert det.mass_ is None and det.warmup_buffer_.shape == (120, 4)
    assert (det.score_many(X[60:70]) == 0).all()
    det.learn_many(X[60:200])
    assert det.warmup_buffer_.shape == (0, 4)
    np.testing.assert_array_equal(det.lower_, X[:120].min(axis=0))
    np.testing.assert_array_equal(det.upper_, X[:120].max(axis=0))
    # documented size: ~36 bytes x n_trees x 2^height (12 B per split, 12 B per mass node)
    T, h = 4, 5
    expected = T * (2**h - 1) * (4 + 8) + T * (2 ** (h + 1) - 1) * 12
    state = det.split_features_.nbytes + det.split_values_.nbytes + det.mass_.nbytes
    assert state == expected


def test_values_outside_the_range_follow_the_outermost_branch():
    X = stream(600, d=3, seed=5)
    det = HalfSpaceTrees(n_trees=10, height=6, window=100, seed=0)
    det.learn_many(X)
    far = np.array([[1e6, 0.0, 0.0], [1e12, 0.0, 0.0], [0.0, -1e9, 1e9], [0.0, -1e15, 1e15]])
    s = det.score_many(far)
    assert np.isfinite(s).all() and ((0 <= s) & (s <= 1)).all()
    assert s[0] == s[1] and s[2] == s[3]  # as if clipped to the work space
    assert s[0] > np.quantile(det.score_many(X), 0.9)


def test_constant_feature_gets_a_positive_width():
    X = stream(400, d=3, seed=1)
    X[:, 1] = 7.0
    det = HalfSpaceTrees(n_trees=5, height=5, window=50, seed=0)
    s = det.score_learn_many(X)
    assert det.upper_[1] > det.lower_[1] and np.isfinite(s).all()
    moved = X[-1].copy()
    moved[1] = 7.5  # a change in a feature that was constant
    assert det.score_one(moved) >= det.score_one(X[-1])


def test_first_window_is_scaled_to_a_full_window():
    X = stream(300, d=2, seed=3)
    det = HalfSpaceTrees(n_trees=3, height=4, window=200, warmup=50, seed=0)
    s = det.score_learn_many(X)
    # after warm-up the scores are on the scale of later windows, not near 1
    assert 0 < s[50:200].mean() < 1 and abs(s[50:200].mean() - s[200:].mean()) < 0.2


def test_window_swap_uses_only_the_last_complete_window():
    det = HalfSpaceTrees(n_trees=2, height=3, window=10, warmup=10, seed=0)
    A = np.zeros((10, 1))
    B = np.ones((30, 1))
    det.learn_many(np.vstack([np.linspace(0, 1, 10)[:, None]]))  # warm-up: range [0, 1]
    det.learn_many(A)
    s_a = det.score_one([0.0])
    det.learn_many(B)  # three windows of ones: zeros are gone from the reference
    s_b = det.score_one([0.0])
    assert s_b > s_a
    assert det.score_one([1.0]) < s_b


def test_pickle_keeps_lazy_swap_state():
    X = stream(900, d=3, seed=4)
    det = HalfSpaceTrees(n_trees=5, height=6, window=64, seed=2)
    det.learn_many(X[:333])
    twin = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(det.score_learn_many(X[333:]), twin.score_learn_many(X[333:]))


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(n_trees=0), "n_trees"),
        (dict(n_trees=2.5), "n_trees"),
        (dict(height=0), "height"),
        (dict(height=21), "height"),
        (dict(window=0), "window"),
        (dict(warmup=0), "warmup"),
        (dict(size_limit=-0.1), "size_limit"),
        (dict(size_limit=1.5), "size_limit"),
        (dict(seed="a"), "seed"),
    ],
    ids=str,
)
def test_parameter_errors_name_the_argument(bad, match):
    det = HalfSpaceTrees(**bad)
    assert det.get_params()[next(iter(bad))] == next(iter(bad.values()))  # __init__ stores as is
    with pytest.raises(ValueError, match=match):
        det.learn_one([0.0, 1.0])


def test_same_seed_same_trees_other_seed_other_trees():
    X = stream(300, d=3, seed=0)
    a = HalfSpaceTrees(seed=7).score_learn_many(X)
    b = HalfSpaceTrees(seed=7).score_learn_many(X)
    c = HalfSpaceTrees(seed=8).score_learn_many(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_accuracy_not_below_pysad_on_shuttle(dataset, pysad_models):
    """With PySAD's defaults (25 trees, depth 15, window 250, full-path score), APS on the first
    3,000 points of chunk-shuffled shuttle is at least PySAD's minus 0.02 (3 seeds each)."""
    X, y = dataset("shuttle", seed=0, n=3000)
    lo, hi = X[:100].min(axis=0), X[:100].max(axis=0)
    ours, theirs = aps_per_seed(
        X,
        y,
        lambda seed: HalfSpaceTrees(
            n_trees=25, height=15, window=250, warmup=100, size_limit=0.0, seed=seed
        ),
        lambda seed: pysad_models.HalfSpaceTrees(
            lo, hi, window_size=250, num_trees=25, max_depth=15, random_state=seed
        ),
        range(3),
    )
    assert np.mean(ours) >= np.mean(theirs) - 0.02, (ours, theirs)
