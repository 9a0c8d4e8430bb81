"""IForestASD: an isolation forest retrained on a sliding window of the stream.

The isolation forest is written here in numba, over plain numpy arrays held by
:class:`IForestASD`:

* ``_fit_forest`` builds ``n_estimators`` isolation trees, each on a sub-sample (without
  replacement) of the window, with a random feature and a uniform random threshold per node,
  down to depth ``ceil(log2(psi))``, stored as complete binary trees (leaves above the last
  level are padded) whose last level holds the path lengths ``depth + c(size)``;
* ``_forest_score`` walks eight trees at a time, branch-free, averages the path length and
  returns ``2^(-E[h] / c(psi))``;
* ``_iforest_asd_pass`` is the streaming loop (score, learn, or score-then-learn) with the
  window bookkeeping and the refits inside the compiled code.

Random numbers come from a SplitMix64 generator whose state is a one-element array, so a
pickled copy continues exactly like the original.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit

from .._kernels.random import randint, uniform
from ..base import Detector
from .._params import check_int as _check_int, check_real as _check_real

__all__ = ["IForestASD"]

# state_ layout (int64)
_N_SEEN, _POS, _PSI, _DEPTH, _DRIFT_ACTIVE, _N_FITS = 0, 1, 2, 3, 4, 5
# fstate_ layout (float64): c(psi) of the current forest, drift threshold of the current forest
_C_PSI, _THRESHOLD = 0, 1

_EULER_GAMMA = 0.5772156649015329


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
def _build_tree(W, samples, t, feat, val, max_depth, rng, fperm, stack):
    """Grow tree ``t`` on the rows ``W[samples]``; ``samples`` is reordered in place.

    The tree is stored as a complete binary tree of depth ``max_depth`` (node ``i`` has children
    ``2i + 1`` and ``2i + 2``), so that scoring is a branch-free walk of exactly ``max_depth``
    steps. An internal node ``i`` splits on feature ``feat[t, i]`` at threshold ``val[t, i]``
    (points with ``x[f] <= threshold`` go left). A node becomes a leaf at ``max_depth``, with one
    point, or when all its points are equal; otherwise its feature is drawn at random among the
    features that are not constant on it (a random permutation of the columns is tried in
    turn), and its threshold uniformly between their min and max.
    A leaf above ``max_depth`` is padded by nodes that send every point left (threshold
    ``+inf``) down to the last level, where ``val`` holds its path length ``depth + c(size)``.
    """
    d = W.shape[1]
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
            for _ in range(depth, max_depth):
                feat[t, node] = 0
                val[t, node] = np.inf
                node = 2 * node + 1
            val[t, node] = depth + _c(size)
            continue
        thr = lo + uniform(rng) * (hi - lo)
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


@njit(cache=True)
def _tree_depth(psi):
    """Height limit of a tree grown on ``psi`` points: ``ceil(log2(max(psi, 2)))``."""
    return int(math.ceil(math.log2(max(psi, 2))))


@njit(cache=True)
def _fit_forest(W, n, feat, val, max_samples, rng, perm, samples, fperm, stack):
    """Fit every tree on its own sub-sample of ``min(max_samples, n)`` of the rows ``W[:n]``.

    Returns the sub-sample size ``psi``.
    """
    psi = min(max_samples, n)
    max_depth = _tree_depth(psi)
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
        _build_tree(W, samples[:psi], t, feat, val, max_depth, rng, fperm, stack)
    return psi


@njit(cache=True)
def _forest_score(x, feat, val, depth, c_psi):
    """``2^(-E[h(x)] / c(psi))``, the isolation-forest score of ``x`` (0.5 when ``c(psi) = 0``)."""
    n_trees = feat.shape[0]
    total = 0.0
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
        total += (val[t, n0] + val[t + 1, n1] + val[t + 2, n2] + val[t + 3, n3]) + (
            val[t + 4, n4] + val[t + 5, n5] + val[t + 6, n6] + val[t + 7, n7]
        )
        t += 8
    while t < n_trees:
        node = 0
        for _ in range(depth):
            node = 2 * node + 1 + np.int64(x[feat[t, node]] > val[t, node])
        total += val[t, node]
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
def _refit(W, n, feat, val, state, fstate, max_samples, rng, perm, samples, fperm, stack, contamination, drift):
    psi = _fit_forest(W, n, feat, val, max_samples, rng, perm, samples, fperm, stack)
    state[_PSI] = psi
    depth = _tree_depth(psi)
    state[_DEPTH] = depth
    state[_N_FITS] += 1
    fstate[_C_PSI] = _c(psi)
    if drift:
        # the anomaly label threshold: the (1 - contamination) quantile of the training scores
        sc = np.empty(n)
        for i in range(n):
            sc[i] = _forest_score(W[i], feat, val, depth, fstate[_C_PSI])
        fstate[_THRESHOLD] = _upper_quantile(sc, 1.0 - contamination)


@njit(cache=True)
def _iforest_asd_pass(
    X, mode, out, W, feat, val, state, fstate, rng, max_samples, fit_while_filling, drift_threshold, contamination
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
    """
    n = X.shape[0]
    window = W.shape[0]
    drift = drift_threshold >= 0.0
    perm = np.empty(window, dtype=np.int64)
    samples = np.empty(min(max_samples, window), dtype=np.int64)
    fperm = np.empty(W.shape[1], dtype=np.int64)
    stack = np.empty((_tree_depth(max_samples) + 2, 4), dtype=np.int64)
    for t in range(n):
        if mode != 1:
            if state[_PSI] == 0:
                out[t] = 0.0
            else:
                out[t] = _forest_score(X[t], feat, val, state[_DEPTH], fstate[_C_PSI])
        if mode == 0:
            continue
        pos = state[_POS]
        W[pos, :] = X[t]
        pos += 1
        state[_POS] = pos
        state[_N_SEEN] += 1
        if pos < window:
            if fit_while_filling and state[_N_SEEN] == pos and (pos & (pos - 1)) == 0:
                _refit(W, pos, feat, val, state, fstate, max_samples, rng, perm, samples, fperm, stack, contamination, drift)
            continue
        state[_POS] = 0
        if drift and state[_DRIFT_ACTIVE] == 1:
            n_anomalous = 0
            for i in range(window):
                if _forest_score(W[i], feat, val, state[_DEPTH], fstate[_C_PSI]) > fstate[_THRESHOLD]:
                    n_anomalous += 1
            if n_anomalous < drift_threshold * window:
                continue
        _refit(W, window, feat, val, state, fstate, max_samples, rng, perm, samples, fperm, stack, contamination, drift)
        state[_DRIFT_ACTIVE] = 1


# ------------------------------------------------------------------------------------------


class IForestASD(Detector):
    """IForestASD: an isolation forest retrained on a sliding window of the stream.

    The stream is cut into windows of ``window_size`` points. The isolation forest fitted on
    the last complete window scores the points of the next one; when that window is full, a new
    forest is fitted on it (Ding & Fei 2013, with the retraining on every window used by PySAD's
    default, or only on drift, below). The forest is a standard isolation forest (Liu, Ting &
    Zhou 2008): ``n_estimators`` trees, each grown on ``psi = min(max_samples, window_size)``
    points drawn without replacement from the window, splitting a random non-constant feature
    at a uniform random threshold until depth ``ceil(log2 psi)`` or a single point; the score of
    ``x`` is ``2^(-E[h(x)] / c(psi))``, where ``h`` is the path length to ``x``'s leaf plus
    ``c(leaf size)`` and ``c(n) = 2 H(n-1) - 2 (n-1)/n`` is the average path length of an
    unsuccessful BST search.

    **Before the first window is full**: with ``fit_while_filling=True`` (default, as PySAD's
    ``IForestASD``) a forest is fitted on all the points so far each time their number reaches a
    power of two (1, 2, 4, …; about ``log2(window_size)`` small fits), so the start of the stream
    is scored too. With ``fit_while_filling=False`` the detector scores 0 until the first window
    is full. A score of 0 also means "no forest yet" for a detector that has learned nothing.

    **Drift test** (``drift_threshold=u``, the paper's Algorithm 2): after the first full window
    the forest is refitted only when the fraction of the just-completed window that the current
    forest labels anomalous is at least ``u``; a point is labelled anomalous when its score is
    above the ``1 - contamination`` quantile of the scores of the forest's own training window
    (PySAD's ``predict``). Otherwise the window is discarded and the forest kept.
    ``drift_threshold=None`` refits on every window.

    Good at: global anomalies, features of any scale (splits are rank-based, no normalisation
    needed), values far outside the training range (they fall into the outermost leaves).
    Bad at: local anomalies in dense regions and clusters of anomalies larger than ``psi``
    allows to isolate (masking); the forest only knows the last window, so it adapts in jumps.

    Scores are in ``(0, 1]``, higher = more anomalous (about 0.5 and below for typical points;
    exactly 0.5 for a forest of one point), 0 before any forest exists.

    Cost per point: ``O(n_estimators · log2 psi)`` to score; fitting costs
    ``O(n_estimators · psi · log2 psi)`` per window, i.e. ``O(n_estimators · psi log2 psi /
    window_size)`` amortised per point (the drift test adds a scoring pass over the window and,
    after each refit, over the training window).

    Memory: the window, ``8 · window_size · d`` bytes (164 KB at the defaults with 10
    features), and the forest, stored as complete binary trees of depth ``D = ceil(log2 psi)``
    (a 4-byte feature and an 8-byte threshold or path length per node), ``12 · n_estimators ·
    (2^(D+1) - 1)`` bytes (613 KB at the defaults), plus an ``8 · window_size`` work buffer
    during fits; nothing grows with the length of the stream.

    Parameters
    ----------
    window_size
        Points per window (the forest is refitted on each full window).
    n_estimators
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

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.iforest_asd import IForestASD
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(600, 3))
    >>> det = IForestASD(window_size=200, n_estimators=25, max_samples=64, seed=1)
    >>> scores = det.score_learn_many(X)
    >>> print(round(float(scores[200:].mean()), 3))
    0.474
    >>> print(round(det.score_one([0.0, 0.0, 0.0]), 3), round(det.score_one([6.0, -6.0, 6.0]), 3))
    0.399 0.688

    References
    ----------
    Ding, Z., & Fei, M. (2013). An anomaly detection approach based on isolation forest
    algorithm for streaming data using sliding window. IFAC Proceedings Volumes, 46(20), 12–17.

    Liu, F. T., Ting, K. M., & Zhou, Z.-H. (2008). Isolation Forest. ICDM 2008, 413–422.
    """

    def __init__(
        self,
        window_size: int = 2048,
        n_estimators: int = 100,
        max_samples: int = 256,
        drift_threshold: float | None = None,
        contamination: float = 0.1,
        fit_while_filling: bool = True,
        seed: int | None = 0,
    ):
        self.window_size = window_size
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.drift_threshold = drift_threshold
        self.contamination = contamination
        self.fit_while_filling = fit_while_filling
        self.seed = seed

    @classmethod
    def _unit_test_params(cls):
        yield {"window_size": 64, "n_estimators": 10, "max_samples": 32}
        yield {"window_size": 50, "n_estimators": 8, "max_samples": 16, "drift_threshold": 0.1}

    def _init_state(self, n_features: int) -> None:
        _check_int("window_size", self.window_size, 1)
        _check_int("n_estimators", self.n_estimators, 1)
        _check_int("max_samples", self.max_samples, 1)
        if self.drift_threshold is not None:
            _check_real("drift_threshold", self.drift_threshold, 0.0, 1.0)
        _check_real("contamination", self.contamination, 0.0, 0.5, low_open=True)
        if not isinstance(self.fit_while_filling, (bool, np.bool_)):
            raise ValueError(f"fit_while_filling must be True or False, got {self.fit_while_filling!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        W = int(self.window_size)
        psi = min(int(self.max_samples), W)
        n_nodes = 2 ** (int(np.ceil(np.log2(max(psi, 2)))) + 1) - 1
        self.window_ = np.zeros((W, n_features))
        self.split_features_ = np.zeros((int(self.n_estimators), n_nodes), dtype=np.int32)
        self.node_values_ = np.zeros((int(self.n_estimators), n_nodes))
        self.state_ = np.zeros(6, dtype=np.int64)
        self.fstate_ = np.zeros(2)
        seed_word = np.random.default_rng(self.seed).integers(0, 2**64, dtype=np.uint64)
        self.rng_ = np.array([seed_word], dtype=np.uint64)

    def _run(self, X: np.ndarray, mode: int) -> np.ndarray:
        out = np.zeros(X.shape[0]) if mode != 1 else np.empty(0)
        _iforest_asd_pass(
            X,
            mode,
            out,
            self.window_,
            self.split_features_,
            self.node_values_,
            self.state_,
            self.fstate_,
            self.rng_,
            int(self.max_samples),
            bool(self.fit_while_filling),
            -1.0 if self.drift_threshold is None else float(self.drift_threshold),
            float(self.contamination),
        )
        return out

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, 0)

    def _learn_rows(self, X: np.ndarray) -> None:
        self._run(X, 1)

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, 2)
