"""Tests for sead.detectors.rrcf: a known-answer test against a slow pure-Python robust random
cut forest, the tree invariants, the samples, parameters, extreme values, and accuracy parity
with PySAD on a slice of shuttle. The check suite runs in test_common.py."""

from __future__ import annotations

import heapq
import math

import numpy as np
import pytest

from sead.checks import stream
from sead.detectors.rrcf import RRCF

from ._glitch import planted, with_glitch
from ._pysad import aps_per_seed
from ._splitmix import GOLDEN, M64, SplitMix64, mix
from ._stacked import check_slots_learn_and_skip

# ---- a slow reference: the same algorithm on Python objects -------------------------------------
# Boxes and counts are recomputed from the leaves every time (nothing incremental), CoDisp is
# computed by its definition on a copy of the tree with the point inserted (rrcf's codisp), and
# the random numbers are the same hashed SplitMix64 streams.


def _stream(seed, clock):
    """The draws of one insertion: SplitMix64 started at a hash of (seed, clock)."""
    return SplitMix64(mix((seed + clock * 2 * GOLDEN) & M64))


def _key(seed, clock, decay):
    if decay == math.inf:
        return float(clock)
    z = mix((seed + (2 * clock + 1) * GOLDEN) & M64)
    u = ((z >> 11) + 0.5) * 2.0**-53
    return u if decay == 0 else decay * clock - math.log(-math.log(u))


class _Leaf:
    def __init__(self, x):
        self.x, self.count, self.parent = x, 1, None


class _Branch:
    def __init__(self, dim, cut, left, right):
        self.dim, self.cut, self.left, self.right, self.parent = dim, cut, left, right, None
        left.parent = right.parent = self


def _count(node):
    return node.count if isinstance(node, _Leaf) else _count(node.left) + _count(node.right)


def _box(node):
    if isinstance(node, _Leaf):
        return node.x, node.x
    (a, b), (c, d) = _box(node.left), _box(node.right)
    return [min(u, v) for u, v in zip(a, c)], [max(u, v) for u, v in zip(b, d)]


def _cut(x, lo, hi, u):
    """The cut of the box [lo, hi] extended by x: (separates, dim, value); the spans are taken at
    scale 2**-16 if their sum overflows."""
    s = 1.0
    total = sum(max(h, v) * s - min(l_, v) * s for l_, h, v in zip(lo, hi, x))
    if not math.isfinite(total):
        s = 2.0**-16
        total = sum(max(h, v) * s - min(l_, v) * s for l_, h, v in zip(lo, hi, x))
    r = u * total
    acc, dim, o, last = 0.0, -1, 0.0, -1
    for j in range(len(x)):
        w = max(hi[j], x[j]) * s - min(lo[j], x[j]) * s
        if w > 0.0:
            last = j
            if r < acc + w:
                dim, o = j, r - acc
                break
            acc += w
    if dim < 0:
        dim = last
        o = max(hi[dim], x[dim]) * s - min(lo[dim], x[dim]) * s
    if x[dim] < lo[dim] and o < lo[dim] * s - x[dim] * s:
        c = x[dim] + o / s
        return True, dim, (c if c < lo[dim] else x[dim])
    if x[dim] > hi[dim] and o >= hi[dim] * s - lo[dim] * s:
        c = lo[dim] + o / s
        return True, dim, (hi[dim] if c < hi[dim] or not c < x[dim] else c)
    return False, dim, 0.0


class _RefTree:
    def __init__(self):
        self.root = None

    def _hang(self, node, parent, old):
        """Hang ``node`` under ``parent`` where ``old`` was (at the root when ``parent`` is
        None)."""
        node.parent = parent
        if parent is None:
            self.root = node
        elif parent.left is old:
            parent.left = node
        else:
            parent.right = node

    def insert(self, x, rng):
        """Insert x (walking with the uniform numbers of rng); returns its leaf."""
        if self.root is None:
            self.root = _Leaf(x)
            return self.root
        node = self.root
        while True:
            if isinstance(node, _Leaf):
                if node.x == x:
                    node.count += 1
                    return node
                sep, dim, c = _cut(x, node.x, node.x, rng.uniform())
                assert sep
                break
            lo, hi = _box(node)
            if any(v < a or v > b for v, a, b in zip(x, lo, hi)):
                sep, dim, c = _cut(x, lo, hi, rng.uniform())
                if sep:
                    break
            node = node.left if x[node.dim] <= node.cut else node.right
        leaf = _Leaf(x)
        parent = node.parent
        branch = _Branch(dim, c, leaf, node) if x[dim] <= c else _Branch(dim, c, node, leaf)
        self._hang(branch, parent, node)
        return leaf

    def forget(self, leaf):
        if leaf.count > 1:
            leaf.count -= 1
            return
        parent = leaf.parent
        if parent is None:
            self.root = None
            return
        sibling = parent.right if parent.left is leaf else parent.left
        self._hang(sibling, parent.parent, parent)

    def codisp_if_inserted(self, x, rng):
        """rrcf's codisp of x's leaf in a copy of the tree with x inserted."""
        import copy

        if self.root is None:
            return 0.0
        twin = copy.deepcopy(self)
        node = twin.insert(x, rng)
        result = 0.0
        while node.parent is not None:
            parent = node.parent
            sibling = parent.right if parent.left is node else parent.left
            result = max(result, _count(sibling) / _count(node))
            node = parent
        return result


def _reference_scores(X, n_trees, tree_size, time_decay, seed):
    draws = np.random.default_rng(seed).integers(0, 2**64, size=n_trees, dtype=np.uint64)
    seeds = [int(s) for s in draws]
    trees = [_RefTree() for _ in range(n_trees)]
    samples = [[] for _ in range(n_trees)]
    out = []
    for clock, row in enumerate(X):
        x = [float(v) for v in row]
        total = 0.0
        for t in range(n_trees):
            total += trees[t].codisp_if_inserted(x, _stream(seeds[t], clock))
            key = _key(seeds[t], clock, time_decay)
            if clock < tree_size:
                leaf = trees[t].insert(x, _stream(seeds[t], clock))
                heapq.heappush(samples[t], (key, clock, leaf))
            elif key > samples[t][0][0]:
                leaf = trees[t].insert(x, _stream(seeds[t], clock))
                old = heapq.heapreplace(samples[t], (key, clock, leaf))[2]
                trees[t].forget(old)
        out.append(total / n_trees)
    return np.array(out)


def _tiny_stream(n=90, seed=5):
    rng = np.random.default_rng(seed)
    X = np.round(rng.normal(size=(n, 2)), 1)  # rounded: many equal coordinates and duplicates
    X[10::9] = X[3]  # exact repeats of one point
    X[40] = [25.0, -30.0]  # an outlier
    return X


@pytest.mark.parametrize("time_decay", [0.0, 0.2, math.inf])
def test_known_answer_against_python_reference(time_decay):
    X = _tiny_stream()
    expected = _reference_scores(X, n_trees=3, tree_size=8, time_decay=time_decay, seed=7)
    got = RRCF(n_trees=3, tree_size=8, decay=time_decay, seed=7).score_learn_many(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    assert got[40] == got.max()  # the outlier is cut off at the root


@pytest.mark.parametrize("time_decay", [0.0, math.inf])
def test_known_answer_with_spans_that_overflow(time_decay):
    """Rows up to the float limits, whose box spans overflow: the cuts are drawn at the reduced
    scale exactly as the reference draws them (not clamped to the box's edges)."""
    fmax = float(np.finfo(float).max)
    X = _tiny_stream(60, seed=6)
    X[[7, 20, 33]] = [[fmax, -fmax], [-fmax, 1e308], [1e300, fmax]]
    X[[12, 45]] = [[-1.2e308, 0.5], [5e-324, -fmax]]
    expected = _reference_scores(X, n_trees=4, tree_size=8, time_decay=time_decay, seed=3)
    got = RRCF(n_trees=4, tree_size=8, decay=time_decay, seed=3).score_learn_many(X)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


# ---- the tree invariants ------------------------------------------------------------------------


def _check_invariants(det):
    """Every tree: parent links, counts, exact boxes, cuts between the children, the sample's
    multiplicities, and the number of points."""
    n_sample = min(int(det.clock_[0]), det.tree_size)
    for t in range(det.n_trees):
        nodes, leaves, box, lx = det.nodes_[t], det.leaves_[t], det.box_[t], det.leaf_x_[t]

        def walk(c, parent, t=t, nodes=nodes, leaves=leaves, box=box, lx=lx):
            if c < 0:
                leaf = -c - 1
                assert leaves[leaf, 0] == parent
                return int(leaves[leaf, 1]), lx[leaf], lx[leaf]
            assert nodes[c, 2] == parent
            na, la, ha = walk(nodes[c, 0], c)
            nb, lb, hb = walk(nodes[c, 1], c)
            assert nodes[c, 4] == na + nb
            assert np.array_equal(box[c, 0], np.minimum(la, lb))
            assert np.array_equal(box[c, 1], np.maximum(ha, hb))
            dim = nodes[c, 3]
            assert ha[dim] <= det.cut_[t, c] < lb[dim]
            return na + nb, np.minimum(la, lb), np.maximum(ha, hb)

        assert walk(det.meta_[t, 0], -1)[0] == n_sample
        keys, sample_leaves = det.sample_key_[t, :n_sample], det.sample_leaf_[t, :n_sample]
        assert all(keys[(i - 1) // 2] <= keys[i] for i in range(1, n_sample))
        ids, mult = np.unique(sample_leaves, return_counts=True)
        assert np.array_equal(leaves[ids, 1], mult)


@pytest.mark.parametrize("time_decay", [0.0, 0.05, math.inf])
def test_tree_invariants_hold_while_learning(time_decay):
    X = stream(700, 3, seed=1)
    X[::4] = X[1]  # many duplicates
    det = RRCF(n_trees=2, tree_size=16, decay=time_decay, seed=0)
    for start in range(0, len(X), 35):
        det.learn_many(X[start : start + 35])
        _check_invariants(det)


def test_sliding_window_keeps_the_last_points():
    X = stream(300, 2, seed=4)
    det = RRCF(n_trees=3, tree_size=20, decay=math.inf, seed=0)
    det.learn_many(X)
    last = sorted(map(tuple, X[-20:]))
    for t in range(3):
        leaves = det.sample_leaf_[t]
        assert sorted(map(tuple, det.leaf_x_[t, leaves])) == last


def test_huge_time_decay_is_the_sliding_window():
    X = stream(300, 3, seed=6)
    a = RRCF(n_trees=3, tree_size=16, decay=1e13).score_learn_many(X)
    b = RRCF(n_trees=3, tree_size=16, decay=math.inf).score_learn_many(X)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("time_decay", [0.0, math.inf])
def test_single_point_trees(time_decay):
    X = stream(200, 2, seed=8)
    det = RRCF(n_trees=2, tree_size=1, decay=time_decay, seed=0)
    s = det.score_learn_many(X)
    assert s[0] == 0.0 and (s[1:] == 1.0).all()  # no repeated rows: every point is cut off
    _check_invariants(det)


def test_uniform_sample_keeps_old_points():
    X = np.arange(4000.0).reshape(-1, 1)
    det = RRCF(n_trees=20, tree_size=50, seed=0)
    det.learn_many(X)
    kept = det.leaf_x_[np.arange(20)[:, None], det.sample_leaf_, 0]
    # a uniform sample of 0..3999: about half the points are from the first half of the stream
    assert 0.4 < np.mean(kept < 2000) < 0.6


def test_duplicates_share_a_leaf_and_score_below_one():
    det = RRCF(n_trees=4, tree_size=16, seed=0)
    x = np.array([1.0, 2.0, 3.0])
    for _ in range(40):
        det.learn_one(x)
    assert (det.meta_[:, 0] < 0).all()  # each root is a leaf
    assert (det.leaves_[np.arange(4), -det.meta_[:, 0] - 1, 1] == 16).all()
    assert det.score_one(x) == 0.0  # a copy of the only point displaces nothing
    det.learn_one(x + 1.0)
    assert det.score_one(x) < 1.0
    assert det.score_one(x + [5.0, 0.0, 0.0]) >= 1.0


# ---- the score range and extreme values ---------------------------------------------------------


def test_scores_in_range_and_far_points_score_tree_size():
    X = stream(1000, 4, seed=2)
    det = RRCF(n_trees=10, tree_size=64, seed=0)
    s = det.score_learn_many(X)
    assert s[0] == 0.0 and (s >= 0).all() and (s <= 64).all()
    assert det.score_one(np.full(4, 1e9)) == 64.0


@pytest.mark.parametrize("value", [1e300, -1e300, 1.7e308, 5e-324])
def test_extreme_values_score_finitely(value):
    X = stream(200, 3, seed=3)
    det = RRCF(n_trees=4, tree_size=32, seed=0)
    det.learn_many(X)
    far = np.array([value, -value, value])
    assert np.isfinite(det.score_one(far))
    det.learn_one(far)
    det.learn_one(-far)
    s = det.score_learn_many(X[:50])
    assert np.isfinite(s).all()
    _check_invariants(det)


FMAX = float(np.finfo(float).max)
HOSTILE = (
    FMAX,
    -FMAX,
    1e308,
    1.2e308,
    1e300,
    1e100,
    1e12,
    5e-324,
    -1e-300,
)  # tests/test_glitch_rows.py


def _hostile_rows(d):
    """The rows of tests/test_glitch_rows.py's bounded case (every feature, or one), plus a
    mixture and alternating signs (whose spans overflow in every feature)."""
    rows = []
    for v in HOSTILE:
        rows.append(np.full(d, v))
        one = np.zeros(d)
        one[1] = v
        rows.append(one)
    rows.append(np.array([FMAX, -FMAX, 0.0, 1e-300] * d)[:d])
    alt = np.where(np.arange(d) % 2 == 0, FMAX, -FMAX)
    return np.vstack([*rows, alt, -alt])


@pytest.mark.parametrize(
    "params",
    [
        {"n_trees": 4, "tree_size": 32, "seed": 16},
        {"n_trees": 3, "tree_size": 8, "decay": math.inf, "seed": 2},
        {"n_trees": 4, "tree_size": 16, "decay": 0.05, "seed": 3},
    ],
)
def test_hostile_rows_score_finitely_and_keep_the_trees_exact(params):
    """Every hostile row of the shared glitch test, one at a time and in batches, then a stream
    made of nothing else, then normal rows: finite scores in [0, tree_size], exact trees (the
    box spans that overflow are taken at a reduced scale)."""
    rng = np.random.default_rng(0)
    d = 4
    det = RRCF(**params)
    det.learn_many(rng.normal(size=(300, d)))
    H = _hostile_rows(d)
    scores = []
    for r in H:
        scores += [det.score_one(r), det.score_one(-r)]
        det.learn_one(r)
        scores += [det.score_one(r), det.score_one(rng.normal(size=d))]
    scores += list(det.score_learn_many(H))
    _check_invariants(det)
    scores += list(
        det.score_learn_many(
            H[rng.integers(0, len(H), 400)] * rng.choice([-1.0, 1.0], size=(400, 1))
        )
    )
    _check_invariants(det)
    scores += list(det.score_learn_many(rng.normal(size=(300, d))))
    _check_invariants(det)
    s = np.array(scores)
    assert np.isfinite(s).all() and (s >= 0).all() and (s <= det.tree_size).all()


def _auc(scores, y):
    pos, neg = scores[y == 1], scores[y == 0]
    return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())


@pytest.mark.parametrize("time_decay", [0.0, math.inf])
@pytest.mark.parametrize("glitch", [(1e12, "one"), (-FMAX, "one"), (FMAX, "all"), (1e100, "all")])
def test_one_glitch_row_does_not_blind_small_forests(glitch, time_decay):
    """tests/test_glitch_rows.py's recovery case for the pools' small forests and for the
    sliding window: one hostile row, 20,000 normal rows, then planted 6-sd anomalies are found
    as well as without the glitch (the glitch leaves the samples like any other point)."""
    X, y, start = planted(np.random.default_rng(1), 2000, 20000, 5000)
    G = with_glitch(X, 2000, *glitch)
    params = {"n_trees": 4, "tree_size": 64, "decay": time_decay, "seed": 16}
    clean = _auc(RRCF(**params).score_learn_many(X)[start:], y[start:])
    after = _auc(RRCF(**params).score_learn_many(G)[start:], y[start:])
    assert clean > 0.9 and after >= clean - 0.05, (clean, after)


# ---- the protocol and the parameters ------------------------------------------------------------


@pytest.mark.parametrize(
    "params, name",
    [
        ({"n_trees": 0}, "n_trees"),
        ({"n_trees": 2.5}, "n_trees"),
        ({"tree_size": 0}, "tree_size"),
        ({"tree_size": True}, "tree_size"),
        ({"decay": -0.1}, "decay"),
        ({"decay": float("nan")}, "decay"),
        ({"decay": "fast"}, "decay"),
        ({"seed": 1.5}, "seed"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_raise_naming_the_argument(params, name):
    det = RRCF(**params)
    with pytest.raises(ValueError, match=name):
        det.learn_one([0.0, 1.0])


def test_memory_is_fixed_and_documented():
    det = RRCF()
    det.learn_one(np.zeros(10))
    before = det.state_bytes()
    det.learn_many(stream(3000, 10))
    assert det.state_bytes() == before
    # the docstring's formula, n_trees * tree_size * (24 d + 48), within 1 %
    assert abs(before / (100 * 256 * (24 * 10 + 48)) - 1) < 0.01


# ---- accuracy parity with PySAD -----------------------------------------------------------------


def test_accuracy_parity_with_pysad_on_shuttle(dataset, pysad_models):
    X, y = dataset("shuttle", seed=0, n=3000)
    params = {"num_trees": 10, "tree_size": 128}  # small, so PySAD's loop takes seconds
    [aps_ours], [aps_theirs] = aps_per_seed(
        X,
        y,
        lambda seed: RRCF(n_trees=10, tree_size=128, seed=seed),
        lambda seed: pysad_models.RobustRandomCutForest(**params, random_state=seed),
        [0],
    )
    assert aps_ours >= aps_theirs - 0.02, (aps_ours, aps_theirs)


# ---- stacked state -------------------------------------------------------------------------------

STACK_MEMBERS = [
    {"n_trees": 3, "tree_size": 16, "seed": 3},
    {"n_trees": 5, "tree_size": 8, "decay": math.inf, "seed": 4},
    {"n_trees": 2, "tree_size": 40, "decay": 0.05, "seed": 5},
]


def test_stacked_members_and_slots_equal_standalone_detectors():
    """Three members with different n_trees, tree_size and time_decay over five slots, rows
    interleaved at random and cut into batches, give for each (slot, member) exactly a
    standalone detector's scores; LEARN leaves ``out`` alone, SKIP leaves the state alone."""
    from sead.detectors.rrcf import RRCFStack

    X = stream(900, d=3, seed=8)
    X[::9, 2] = -0.5  # ties
    X[5::11] = X[4]  # exact repeats
    stack, before, after = check_slots_learn_and_skip(RRCF, RRCFStack, STACK_MEMBERS, X)
    assert after["scal"][1, stack.off[-1, 0]] == before["scal"][1, stack.off[-1, 0]] + 8


def test_learned_state_attributes_are_views_of_the_stack():
    det = RRCF(n_trees=3, tree_size=16, seed=0)
    det.learn_many(stream(100, 2, seed=1))
    st = det.stack_.state
    for name, field in [
        ("nodes_", "nodes"),
        ("leaves_", "leaves"),
        ("box_", "box"),
        ("leaf_x_", "leaf_x"),
        ("meta_", "meta"),
        ("sample_key_", "skey"),
        ("sample_leaf_", "sleaf"),
        ("cut_", "cut"),
        ("clock_", "scal"),
    ]:
        assert np.shares_memory(getattr(det, name), getattr(st, field)), name
    assert det.nodes_.shape == (3, 16, 5) and det.box_.shape == (3, 16, 2, 2)
    assert det.leaf_x_.shape == (3, 17, 2) and det.clock_[0] == 100
    assert det.state_bytes() == det.stack_.nbytes_per_slot()


def test_stacked_kernels_release_the_gil():
    from sead.detectors.rrcf import _forest, rrcf_kernel

    assert rrcf_kernel.targetoptions.get("nogil") and _forest.targetoptions.get("nogil")
