"""IForestASD: an isolation forest retrained on a sliding window of the stream.

The isolation forest is written here in numba, over plain numpy arrays (the fields of
:class:`IForestASDState`, one row per slot of a stack):

* ``_fit_forest`` builds ``n_trees`` isolation trees, each on a sub-sample (without
  replacement) of the window, with a random feature and a uniform random threshold per node,
  down to depth ``ceil(log2(psi))``, stored as complete binary trees (leaves above the last
  level are padded) whose last level holds the path lengths ``depth + c(size)``;
* ``_forest_score`` walks eight trees at a time, branch-free, averages the path length and
  returns ``2^(-E[h] / c(psi))``;
* ``_iforest_asd_pass`` is the streaming loop (score, learn, or score-then-learn) with the
  window bookkeeping and the refits inside the compiled code;
* ``iforest_asd_kernel`` runs it for every member and slot of a stack (:mod:`sead._stack`):
  the members of one :class:`sead.SEAD` pool may have different window sizes, forest sizes and
  drift settings, and :class:`sead.KeyedSEAD` keeps one window and forest per key.

Random numbers come from a SplitMix64 generator whose state is a one-element array, so a
pickled copy continues exactly like the original.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np
from numba import njit

from .._kernels.random import mix64, randint, uniform
from .._params import SEED, Boolean, Interval, take_renamed, validate_params
from .._stack import SCORE, Stack, member_ints, slot_runs
from .._validation import FeatureSchema
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["IForestASD"]

# state_ layout (int64; the ``scal`` field of the stacked state)
_N_SEEN, _POS, _PSI, _DEPTH, _DRIFT_ACTIVE, _N_FITS, _N_EQUAL = 0, 1, 2, 3, 4, 5, 6
# fstate_ layout (float64; the ``fscal`` field): c(psi) of the current forest, drift threshold of
# the current forest
_C_PSI, _THRESHOLD = 0, 1

_EULER_GAMMA = 0.5772156649015329
_FMAX = float(np.finfo(np.float64).max)
_FP_SEED = np.uint64(0x243F6A8885A308D3)  # start of the row fingerprints (any constant)


# ------------------------------------------------------------------------------------------
# the isolation-forest constants


@njit(cache=True)
def _c(n):
    """Average path length of an unsuccessful search in a binary search tree of ``n`` points."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + _EULER_GAMMA) - 2.0 * (n - 1.0) / n


# ------------------------------------------------------------------------------------------
# the forest


@njit(cache=True)
def _fingerprint(x):
    """A 53-bit fingerprint of the row ``x`` as a float (>= 0): equal rows (``-0.0 == 0.0``)
    have equal fingerprints, different rows collide with probability about 2^-53."""
    h = _FP_SEED
    for f in range(x.shape[0]):
        m, e = math.frexp(x[f])  # exact: the mantissa has 53 bits, and frexp(-0.0) = (-0.0, 0)
        h = mix64(h ^ np.uint64(np.int64(m * 9007199254740992.0)))
        h = mix64(h + np.uint64(e + 2048))
    return np.float64(h >> np.uint64(11))


@njit(cache=True)
def _equal_leaf_length(x, fp, feat, val, t, node, depth):
    """Path length of ``x`` in tree ``t``, whose walk ended at the last-level node ``node`` of a
    leaf of equal points (``val[t, node] < 0``; see :func:`_build_tree`); ``fp`` is ``x``'s
    fingerprint. The usual ``depth + c(size)`` when ``x`` equals the leaf's points, else the
    leaf's depth (``x`` is isolated there)."""
    k = feat[t, node]
    leaf = ((node + 1) >> (depth - k)) - 1
    if val[t, 2 * leaf + 2] == fp:
        return -val[t, node]
    return float(k)


@njit(cache=True)
def _build_tree(W, samples, t, feat, val, max_depth, rng, fperm, stack):
    """Grow tree ``t`` on the rows ``W[samples]``; ``samples`` is reordered in place. Returns
    the number of leaves of equal points (below).

    The tree is stored as a complete binary tree of depth ``max_depth`` (node ``i`` has children
    ``2i + 1`` and ``2i + 2``), so that scoring is a branch-free walk of exactly ``max_depth``
    steps. An internal node ``i`` splits on feature ``feat[t, i]`` at threshold ``val[t, i]``
    (points with ``x[f] <= threshold`` go left). A node becomes a leaf at ``max_depth``, with one
    point, or when all its points are equal; otherwise its feature is drawn at random among the
    features that are not constant on it (a random permutation of the columns is tried in
    turn), and its threshold uniformly between their min and max (also when ``max - min``
    overflows: values near ``±np.finfo(float).max``).
    A leaf above ``max_depth`` is padded by nodes that send every point left (threshold
    ``+inf``) down to the last level, where ``val`` holds its path length ``depth + c(size)``.

    A leaf above ``max_depth`` whose points are all equal (more than one) stores instead
    ``-(depth + c(size))`` (negative: the mark of such a leaf) and, in ``feat`` of that
    last-level node, its depth; the fingerprint of its points goes into the right child of the
    leaf's node, which no walk reaches. A query that differs from the points is isolated at the
    leaf's depth (:func:`_equal_leaf_length`): without this, a window of identical points gives
    trees of one leaf, and every point, however far from them, the same score 0.5.
    """
    d = W.shape[1]
    n_equal = 0
    top = 0
    stack[0, 0] = 0
    stack[0, 1] = 0
    stack[0, 2] = samples.shape[0]
    stack[0, 3] = 0
    while top >= 0:
        node = stack[top, 0]
        start = stack[top, 1]
        end = stack[top, 2]
        depth = stack[top, 3]
        top -= 1
        size = end - start
        split = -1
        lo = 0.0
        hi = 0.0
        if depth < max_depth and size > 1:
            for j in range(d):
                fperm[j] = j
            for i in range(d):
                r = i + randint(rng, d - i)
                f = fperm[r]
                fperm[r] = fperm[i]
                fperm[i] = f
                lo = W[samples[start], f]
                hi = lo
                for q in range(start + 1, end):
                    v = W[samples[q], f]
                    if v < lo:
                        lo = v
                    elif v > hi:
                        hi = v
                if hi > lo:
                    split = f
                    break
        if split < 0:
            leaf = node
            for _ in range(depth, max_depth):
                feat[t, node] = 0
                val[t, node] = np.inf
                node = 2 * node + 1
            if depth < max_depth and size > 1:
                # its points are all equal: a query equal to them has the usual path length,
                # any other query is isolated here (see _equal_leaf_length)
                val[t, node] = -(depth + _c(size))
                feat[t, node] = depth
                val[t, 2 * leaf + 2] = _fingerprint(W[samples[start]])
                n_equal += 1
            else:
                val[t, node] = depth + _c(size)
            continue
        u = uniform(rng)
        span = hi - lo
        if span <= _FMAX:
            thr = lo + u * span
        else:  # hi - lo overflows (lo < 0 < hi, beyond half the float range): this form cannot
            thr = (1.0 - u) * lo + u * hi
        if thr >= hi or thr < lo:
            thr = lo
        # partition samples[start:end] into <= thr | > thr
        i = start
        j = end - 1
        while i <= j:
            if W[samples[i], split] <= thr:
                i += 1
            else:
                s = samples[i]
                samples[i] = samples[j]
                samples[j] = s
                j -= 1
        feat[t, node] = split
        val[t, node] = thr
        top += 1
        stack[top, 0] = 2 * node + 2
        stack[top, 1] = i
        stack[top, 2] = end
        stack[top, 3] = depth + 1
        top += 1
        stack[top, 0] = 2 * node + 1
        stack[top, 1] = start
        stack[top, 2] = i
        stack[top, 3] = depth + 1
    return n_equal


@njit(cache=True)
def _tree_depth(psi):
    """Height limit of a tree grown on ``psi`` points: ``ceil(log2(max(psi, 2)))``."""
    return int(math.ceil(math.log2(max(psi, 2))))


@njit(cache=True)
def _fit_forest(W, n, feat, val, max_samples, rng, perm, samples, fperm, stack):
    """Fit every tree on its own sub-sample of ``min(max_samples, n)`` of the rows ``W[:n]``.

    Returns the sub-sample size ``psi`` and the number of leaves of equal points.
    """
    psi = min(max_samples, n)
    max_depth = _tree_depth(psi)
    n_equal = 0
    for i in range(n):
        perm[i] = i
    for t in range(feat.shape[0]):
        # partial Fisher-Yates: perm[:psi] is a uniform sample without replacement
        for i in range(psi):
            r = i + randint(rng, n - i)
            s = perm[r]
            perm[r] = perm[i]
            perm[i] = s
            samples[i] = s
        n_equal += _build_tree(W, samples[:psi], t, feat, val, max_depth, rng, fperm, stack)
    return psi, n_equal


@njit(cache=True)
def _forest_score(x, feat, val, depth, c_psi, equal_leaves):
    """``2^(-E[h(x)] / c(psi))``, the isolation-forest score of ``x`` (0.5 when ``c(psi) = 0``).

    ``equal_leaves``: whether the forest has leaves of equal points (checked only then)."""
    n_trees = feat.shape[0]
    total = 0.0
    fp = -1.0  # x's fingerprint, computed when a walk ends in a leaf of equal points
    t = 0
    # eight trees at a time: their walks are independent chains of dependent loads, so
    # interleaving them lets the CPU overlap the load latencies
    while t + 8 <= n_trees:
        n0 = n1 = n2 = n3 = n4 = n5 = n6 = n7 = 0
        for _ in range(depth):
            n0 = 2 * n0 + 1 + np.int64(x[feat[t, n0]] > val[t, n0])
            n1 = 2 * n1 + 1 + np.int64(x[feat[t + 1, n1]] > val[t + 1, n1])
            n2 = 2 * n2 + 1 + np.int64(x[feat[t + 2, n2]] > val[t + 2, n2])
            n3 = 2 * n3 + 1 + np.int64(x[feat[t + 3, n3]] > val[t + 3, n3])
            n4 = 2 * n4 + 1 + np.int64(x[feat[t + 4, n4]] > val[t + 4, n4])
            n5 = 2 * n5 + 1 + np.int64(x[feat[t + 5, n5]] > val[t + 5, n5])
            n6 = 2 * n6 + 1 + np.int64(x[feat[t + 6, n6]] > val[t + 6, n6])
            n7 = 2 * n7 + 1 + np.int64(x[feat[t + 7, n7]] > val[t + 7, n7])
        v0, v1, v2, v3 = val[t, n0], val[t + 1, n1], val[t + 2, n2], val[t + 3, n3]
        v4, v5, v6, v7 = val[t + 4, n4], val[t + 5, n5], val[t + 6, n6], val[t + 7, n7]
        if equal_leaves and min(min(min(v0, v1), min(v2, v3)), min(min(v4, v5), min(v6, v7))) < 0.0:
            # a leaf of equal points (rare: repeated rows)
            if fp < 0.0:
                fp = _fingerprint(x)
            if v0 < 0.0:
                v0 = _equal_leaf_length(x, fp, feat, val, t, n0, depth)
            if v1 < 0.0:
                v1 = _equal_leaf_length(x, fp, feat, val, t + 1, n1, depth)
            if v2 < 0.0:
                v2 = _equal_leaf_length(x, fp, feat, val, t + 2, n2, depth)
            if v3 < 0.0:
                v3 = _equal_leaf_length(x, fp, feat, val, t + 3, n3, depth)
            if v4 < 0.0:
                v4 = _equal_leaf_length(x, fp, feat, val, t + 4, n4, depth)
            if v5 < 0.0:
                v5 = _equal_leaf_length(x, fp, feat, val, t + 5, n5, depth)
            if v6 < 0.0:
                v6 = _equal_leaf_length(x, fp, feat, val, t + 6, n6, depth)
            if v7 < 0.0:
                v7 = _equal_leaf_length(x, fp, feat, val, t + 7, n7, depth)
        total += (v0 + v1 + v2 + v3) + (v4 + v5 + v6 + v7)
        t += 8
    while t < n_trees:
        node = 0
        for _ in range(depth):
            node = 2 * node + 1 + np.int64(x[feat[t, node]] > val[t, node])
        v = val[t, node]
        if equal_leaves and v < 0.0:
            if fp < 0.0:
                fp = _fingerprint(x)
            v = _equal_leaf_length(x, fp, feat, val, t, node, depth)
        total += v
        t += 1
    if c_psi <= 0.0:
        return 0.5
    return 2.0 ** (-(total / n_trees) / c_psi)


@njit(cache=True)
def _upper_quantile(scores, q):
    """``np.percentile(scores, 100 q)`` with linear interpolation."""
    s = np.sort(scores)
    pos = q * (s.shape[0] - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, s.shape[0] - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@njit(cache=True)
def _refit(W, n, feat, val, state, fstate, max_samples, rng, scratch, contamination, drift):
    """Fit a new forest on ``W[:n]`` (``scratch``: the work buffers of :func:`_split_scratch`)
    and record it in ``state`` and ``fstate``."""
    psi, n_equal = _fit_forest(W, n, feat, val, max_samples, rng, *scratch)
    state[_PSI] = psi
    state[_N_EQUAL] = n_equal
    depth = _tree_depth(psi)
    state[_DEPTH] = depth
    state[_N_FITS] += 1
    fstate[_C_PSI] = _c(psi)
    if drift:
        # the anomaly label threshold: the (1 - contamination) quantile of the training scores
        sc = np.empty(n)
        for i in range(n):
            sc[i] = _forest_score(W[i], feat, val, depth, fstate[_C_PSI], n_equal > 0)
        fstate[_THRESHOLD] = _upper_quantile(sc, 1.0 - contamination)


@njit(cache=True)
def _iforest_asd_pass(
    X,
    mode,
    out,
    W,
    feat,
    val,
    state,
    fstate,
    rng,
    max_samples,
    fit_while_filling,
    drift_threshold,
    contamination,
    scratch,
):
    """Run the stream over the rows of ``X``.

    ``mode`` 0 scores every row against the current forest (changes nothing), 1 learns every
    row, 2 scores row ``t`` then learns it, for every ``t``. Scores go to ``out`` (modes 0, 2);
    a point scored before any forest exists scores 0.

    Learning appends the point to the window ``W``. While the first window fills, and
    ``fit_while_filling`` is set, a forest is fitted on all the points so far each time their
    number reaches a power of two. Each time the window is full: without drift test
    (``drift_threshold < 0``) a new forest is fitted on it; with the drift test, the first full
    window is always fitted, and later ones only when the fraction of their points that the
    current forest labels anomalous (score above its threshold) is at least ``drift_threshold``.
    The window then starts empty.

    ``scratch`` is the tuple of work buffers of a fit (see :func:`_split_scratch`; unused, and
    may be empty, when ``mode`` is 0).
    """
    n = X.shape[0]
    window = W.shape[0]
    drift = drift_threshold >= 0.0
    for t in range(n):
        if mode != 1:
            if state[_PSI] == 0:
                out[t] = 0.0
            else:
                out[t] = _forest_score(
                    X[t], feat, val, state[_DEPTH], fstate[_C_PSI], state[_N_EQUAL] > 0
                )
        if mode == 0:
            continue
        pos = state[_POS]
        W[pos, :] = X[t]
        pos += 1
        state[_POS] = pos
        state[_N_SEEN] += 1
        if pos < window:
            # not full: a forest on the points so far at each power of two of the first window
            if not (fit_while_filling and state[_N_SEEN] == pos and (pos & (pos - 1)) == 0):
                continue
        else:
            state[_POS] = 0
            if drift and state[_DRIFT_ACTIVE] == 1:
                n_anomalous = 0
                for i in range(window):
                    if (
                        _forest_score(
                            W[i], feat, val, state[_DEPTH], fstate[_C_PSI], state[_N_EQUAL] > 0
                        )
                        > fstate[_THRESHOLD]
                    ):
                        n_anomalous += 1
                if n_anomalous < drift_threshold * window:
                    continue
        _refit(W, pos, feat, val, state, fstate, max_samples, rng, scratch, contamination, drift)
        if pos == window:
            state[_DRIFT_ACTIVE] = 1


@njit(cache=True)
def _scratch_size(window, d, max_samples):
    """int64 words of the work buffers of a fit (see :func:`_split_scratch`)."""
    return window + min(max_samples, window) + d + (_tree_depth(max_samples) + 2) * 4


@njit(cache=True, inline="always")
def _split_scratch(buf, window, d, max_samples):
    """The work buffers of a fit, as views of one int64 array: the window's permutation, a
    tree's sub-sample, a permutation of the features and the tree builder's stack."""
    k = min(max_samples, window)
    perm = buf[:window]
    samples = buf[window : window + k]
    fperm = buf[window + k : window + k + d]
    stack = buf[window + k + d :].reshape((-1, 4))
    return perm, samples, fperm, stack


# ------------------------------------------------------------------------------------------
# stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

IForestASDState = namedtuple("IForestASDState", ["window", "feat", "val", "scal", "fscal", "rng"])
IForestASDState.__doc__ = """State of stacked IForestASDs; per member (window of ``W`` points,
``T`` trees stored as complete binary trees of ``N = 2^(D+1) - 1`` nodes, ``D = ceil(log2(max(2,
min(max_samples, W))))``, ``d`` features), flattened into each slot's row:

* ``window`` float64 ``(W, d)`` the window being filled (its first ``scal[1]`` rows);
* ``feat`` int32 ``(T, N)`` split feature of each node;
* ``val`` float64 ``(T, N)`` threshold of each internal node, path length at the last level;
* ``scal`` int64 ``(7,)`` points seen, position in the window, ``psi`` and depth of the current
  forest, drift test active, number of fits, leaves of equal points in the current forest;
* ``fscal`` float64 ``(2,)`` ``c(psi)`` of the current forest, its drift-test label threshold;
* ``rng`` uint64 ``(1,)`` the SplitMix64 state.
"""
IForestASDConfig = namedtuple(
    "IForestASDConfig",
    [
        "off",
        "window",
        "n_trees",
        "n_nodes",
        "max_samples",
        "fit_while_filling",
        "drift_threshold",
        "contamination",
    ],
)
IForestASDConfig.__doc__ = """Per-member parameters ``(m,)``: int64 ``window``, ``n_trees``,
``n_nodes`` (nodes per tree), ``max_samples``, ``fit_while_filling`` (0/1); float64
``drift_threshold`` (-1: no drift test) and ``contamination``; and the field offsets ``off``
``(6, m + 1)``."""
_WINDOW, _FEAT, _VAL, _SCAL, _FSCAL, _RNG = range(6)


@njit(cache=True, nogil=True)
def iforest_asd_kernel(X, slots, modes, out, cfg, st):
    """The stacked IForestASD kernel (arguments as in :mod:`sead._stack`)."""
    d = X.shape[1]
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.window.shape[0]):
        W = cfg.window[j]
        T = cfg.n_trees[j]
        N = cfg.n_nodes[j]
        max_samples = cfg.max_samples[j]
        size = _scratch_size(W, d, max_samples)
        buf = np.empty(0, dtype=np.int64)  # the fits' work buffers, allocated if rows are learned
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            if mode != SCORE and buf.shape[0] == 0:
                buf = np.empty(size, dtype=np.int64)
            _iforest_asd_pass(
                X[a:b],
                mode,
                out[a:b, j],
                st.window[s, off[_WINDOW, j] : off[_WINDOW, j + 1]].reshape((W, d)),
                st.feat[s, off[_FEAT, j] : off[_FEAT, j + 1]].reshape((T, N)),
                st.val[s, off[_VAL, j] : off[_VAL, j + 1]].reshape((T, N)),
                st.scal[s, off[_SCAL, j] : off[_SCAL, j + 1]],
                st.fscal[s, off[_FSCAL, j] : off[_FSCAL, j + 1]],
                st.rng[s, off[_RNG, j] : off[_RNG, j + 1]],
                max_samples,
                cfg.fit_while_filling[j] != 0,
                cfg.drift_threshold[j],
                cfg.contamination[j],
                _split_scratch(buf, W, d, max_samples),
            )


def _n_nodes(det) -> int:
    """Nodes of one tree of ``det`` (a complete binary tree of depth ``ceil(log2 psi)``)."""
    psi = min(int(det.max_samples), int(det.window))
    return 2 ** (int(np.ceil(np.log2(max(psi, 2)))) + 1) - 1


class IForestASDStack(Stack):
    """IForestASDs of any sizes, stacked (see :mod:`sead._stack`)."""

    State = IForestASDState
    dtypes = {
        "window": np.float64,
        "feat": np.int32,
        "val": np.float64,
        "scal": np.int64,
        "fscal": np.float64,
        "rng": np.uint64,
    }
    kernel = staticmethod(iforest_asd_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        W, T, d = int(det.window), int(det.n_trees), schema.n_features
        N = _n_nodes(det)
        seed_word = np.random.default_rng(det.seed).integers(0, 2**64, dtype=np.uint64)
        return {
            "window": np.zeros(W * d),
            "feat": np.zeros(T * N, dtype=np.int32),
            "val": np.zeros(T * N),
            "scal": np.zeros(7, dtype=np.int64),
            "fscal": np.zeros(2),
            "rng": np.array([seed_word], dtype=np.uint64),
        }

    @staticmethod
    def make_config(members, schema, off):
        return IForestASDConfig(
            off,
            member_ints(members, "window"),
            member_ints(members, "n_trees"),
            np.array([_n_nodes(m) for m in members], dtype=np.int64),
            member_ints(members, "max_samples"),
            np.array([int(bool(m.fit_while_filling)) for m in members], dtype=np.int64),
            np.array(
                [-1.0 if m.drift_threshold is None else float(m.drift_threshold) for m in members]
            ),
            np.array([float(m.contamination) for m in members]),
        )


# ------------------------------------------------------------------------------------------
# the detector


class IForestASD(StackedDetector):
    """IForestASD: an isolation forest retrained on a sliding window of the stream.

    The stream is cut into windows of ``window`` points. The isolation forest fitted on
    the last complete window scores the points of the next one; when that window is full, a new
    forest is fitted on it (Ding & Fei 2013, with the retraining on every window used by PySAD's
    default, or only on drift, below). The forest is a standard isolation forest (Liu, Ting &
    Zhou 2008): ``n_trees`` trees, each grown on ``psi = min(max_samples, window)``
    points drawn without replacement from the window, splitting a random non-constant feature
    at a uniform random threshold until depth ``ceil(log2 psi)`` or a single point; the score of
    ``x`` is ``2^(-E[h(x)] / c(psi))``, where ``h`` is the path length to ``x``'s leaf plus
    ``c(leaf size)`` and ``c(n) = 2 H(n-1) - 2 (n-1)/n`` is the average path length of an
    unsuccessful BST search.

    **Before the first window is full**: with ``fit_while_filling=True`` (default, as PySAD's
    ``IForestASD``) a forest is fitted on all the points so far each time their number reaches a
    power of two (1, 2, 4, …; about ``log2(window)`` small fits), so the start of the stream
    is scored too. With ``fit_while_filling=False`` the detector scores 0 until the first window
    is full. A score of 0 also means "no forest yet" for a detector that has learned nothing.

    **Drift test** (``drift_threshold=u``, the paper's Algorithm 2): after the first full window
    the forest is refitted only when the fraction of the just-completed window that the current
    forest labels anomalous is at least ``u``; a point is labelled anomalous when its score is
    above the ``1 - contamination`` quantile of the scores of the forest's own training window
    (PySAD's ``predict``). Otherwise the window is discarded and the forest kept.
    ``drift_threshold=None`` refits on every window.

    **Repeated points.** A node whose points are all equal cannot be split, so it is a leaf; a
    query equal to its points gets the usual path length ``depth + c(size)``, any other query is
    isolated at the leaf's depth (as if the node had been split between it and them). After a
    constant stretch of the stream (every tree one such leaf) the constant itself scores 0.5 and
    any other point 1, instead of every point 0.5; the drift test then sees the first varying
    window as anomalous and refits.

    Good at: global anomalies, features of any scale (splits are rank-based, no normalisation
    needed), values far outside the training range (they fall into the outermost leaves).
    Bad at: local anomalies in dense regions and clusters of anomalies larger than ``psi``
    allows to isolate (masking); the forest only knows the last window, so it adapts in jumps.

    Scores are in ``(0, 1]``, higher = more anomalous (about 0.5 and below for typical points;
    exactly 0.5 for a forest of one point), 0 before any forest exists.

    Cost per point: ``O(n_trees · log2 psi)`` to score; fitting costs
    ``O(n_trees · psi · log2 psi)`` per window, i.e. ``O(n_trees · psi log2 psi /
    window)`` amortised per point (the drift test adds a scoring pass over the window and,
    after each refit, over the training window).

    Memory: the window, ``8 · window · d`` bytes (164 KB at the defaults with 10
    features), and the forest, stored as complete binary trees of depth ``D = ceil(log2 psi)``
    (a 4-byte feature and an 8-byte threshold or path length per node), ``12 · n_trees ·
    (2^(D+1) - 1)`` bytes (613 KB at the defaults), plus an ``8 · window`` work buffer
    during fits; nothing grows with the length of the stream.

    Parameters
    ----------
    window
        Points per window (the forest is refitted on each full window).
    n_trees
        Number of isolation trees.
    max_samples
        Sub-sample size ``psi`` of each tree (at most the window: ``min(max_samples, n)``).
    drift_threshold
        ``None`` (refit on every window) or the anomaly-rate threshold ``u`` in ``[0, 1]`` of the
        paper's drift test.
    contamination
        Only used by the drift test: the fraction of the training window above the label
        threshold, in ``(0, 0.5]``.
    fit_while_filling
        Fit forests on the first 1, 2, 4, … points while the first window fills (PySAD's
        behaviour); ``False`` scores 0 until the first window is full.
    seed
        Seed of the sub-samples, split features and thresholds.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``window_size`` (now
        ``window``), ``n_estimators`` (now ``n_trees``).

    References
    ----------
    Ding, Z., & Fei, M. (2013). An anomaly detection approach based on isolation forest
    algorithm for streaming data using sliding window. IFAC Proceedings Volumes, 46(20), 12–17.

    Liu, F. T., Ting, K. M., & Zhou, Z.-H. (2008). Isolation Forest. ICDM 2008, 413–422.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.iforest_asd import IForestASD
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(600, 3))
    >>> det = IForestASD(window=200, n_trees=25, max_samples=64, seed=1)
    >>> scores = det.score_learn_many(X)
    >>> print(round(float(scores[200:].mean()), 3))
    0.474
    >>> print(round(det.score_one([0.0, 0.0, 0.0]), 3), round(det.score_one([6.0, -6.0, 6.0]), 3))
    0.399 0.688
    """

    _parameter_constraints = {
        "window": [Interval("int", 1, None)],
        "n_trees": [Interval("int", 1, None)],
        "max_samples": [Interval("int", 1, None)],
        "drift_threshold": [Interval("real", 0, 1), None],
        "contamination": [Interval("real", 0, 0.5, closed="right")],
        "fit_while_filling": [Boolean()],
        "seed": SEED,
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self,
        window: int = 2048,
        n_trees: int = 100,
        max_samples: int = 256,
        drift_threshold: float | None = None,
        contamination: float = 0.1,
        fit_while_filling: bool = True,
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.window = window
        self.n_trees = n_trees
        self.max_samples = max_samples
        self.drift_threshold = drift_threshold
        self.contamination = contamination
        self.fit_while_filling = fit_while_filling
        self.seed = seed
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"window_size": "window", "n_estimators": "n_trees"})

    @classmethod
    def _unit_test_params(cls):
        yield {"window": 64, "n_trees": 10, "max_samples": 32}
        yield {"window": 50, "n_trees": 8, "max_samples": 16, "drift_threshold": 0.1}
        # more samples asked for than a window holds, and no fits while the first window fills
        yield {"window": 40, "n_trees": 5, "max_samples": 100, "fit_while_filling": False}

    def _init_state(self, schema) -> None:
        # also takes a number of features (the pre-schema form, still used to make a twin)
        if isinstance(schema, numbers.Integral):
            schema = FeatureSchema(int(schema))
        super()._init_state(schema)

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def window_(self) -> np.ndarray:
        """The window being filled, ``(window, d)`` (its first ``state_[1]`` rows)."""
        return self._shaped("window", int(self.window), -1)

    @property
    def split_features_(self) -> np.ndarray:
        """Split feature of every node of every tree, ``(n_trees, 2^(D+1) - 1)``."""
        return self._shaped("feat", int(self.n_trees), -1)

    @property
    def node_values_(self) -> np.ndarray:
        """Threshold of every internal node, path length at the last level,
        ``(n_trees, 2^(D+1) - 1)``."""
        return self._shaped("val", int(self.n_trees), -1)

    @property
    def state_(self) -> np.ndarray:
        """Points seen, position in the window, psi and depth of the forest, drift test active,
        number of fits, leaves of equal points in the forest (int64, ``(7,)``)."""
        return self._view("scal")

    @property
    def fstate_(self) -> np.ndarray:
        """``c(psi)`` of the current forest and its drift-test label threshold (``(2,)``)."""
        return self._view("fscal")

    @property
    def rng_(self) -> np.ndarray:
        """The SplitMix64 state (uint64, ``(1,)``)."""
        return self._view("rng")


IForestASD._stack_class = IForestASDStack
