"""Half-Space Trees (Tan, Ting & Liu, 2011), compiled with numba.

Each tree is a full binary tree of depth ``height`` over a random *work space*; every internal
node halves its region along a random feature. A point's anomaly score is low when many points
of the previous window fell in the regions it falls in (mass), with deeper regions weighted more
(mass × 2^depth). Trees are flat numpy arrays in heap order (node ``i`` has the children
``2i + 1`` and ``2i + 2``).

The reference/latest window swap of the paper (every ``window`` points: reference <-
latest, latest <- 0) is done lazily, node by node: each node stores its latest mass, its
reference mass and the index of the window its latest mass belongs to, so a swap costs O(1)
instead of a pass over every node.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit

from .._params import SEED, Interval, take_renamed, validate_params
from .._stack import LEARN, SCORE, SCORE_LEARN, Stack, member_ints, slot_runs
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["HalfSpaceTrees"]

# the per-node mass table has 3 int32 columns: 0 latest mass, 1 reference mass, 2 window index
_EPOCH = 2
_MAX_HEIGHT = 20


# ------------------------------------------------------------------------------------------
# kernels


@njit(cache=True)
def _build_split_values(feat, u, lo, hi, height):
    """Split value of every internal node of every tree, in heap order.

    Tree ``t`` works in its own random work space (the paper's Section 3.1): for feature ``q``
    with warm-up range ``[lo, hi]``, ``s = lo + u[t, q] (hi - lo)`` and the work space is
    ``s ± 2 max(s - lo, hi - s)``. A node splits its feature ``q`` at the middle of the node's
    range of ``q``, which its ancestors that also split ``q`` have narrowed. A depth-first walk
    keeps the current node's ranges (narrowed on the way down, restored on the way up): O(nodes).
    """
    n_trees, n_internal = feat.shape
    d = lo.shape[0]
    vals = np.empty((n_trees, n_internal))
    a = np.empty(d)  # current node's range [a, b] of every feature
    b = np.empty(d)
    stack = np.empty(height, dtype=np.int64)  # node at each depth of the current path
    phase = np.empty(height, dtype=np.int64)  # 0: new, 1: left subtree done, 2: both done
    saved = np.empty(height)
    for t in range(n_trees):
        for q in range(d):
            s = lo[q] + u[t, q] * (hi[q] - lo[q])
            half = 2.0 * max(s - lo[q], hi[q] - s)
            a[q] = s - half
            b[q] = s + half
        sp = 0
        stack[0] = 0
        phase[0] = 0
        while sp >= 0:
            i = stack[sp]
            q = feat[t, i]
            if phase[sp] == 0:
                v = 0.5 * (a[q] + b[q])
                vals[t, i] = v
                if sp == height - 1:  # children are leaves
                    sp -= 1
                    continue
                saved[sp] = b[q]
                b[q] = v
                phase[sp] = 1
                stack[sp + 1] = 2 * i + 1
                phase[sp + 1] = 0
                sp += 1
            elif phase[sp] == 1:
                b[q] = saved[sp]
                saved[sp] = a[q]
                a[q] = vals[t, i]
                phase[sp] = 2
                stack[sp + 1] = 2 * i + 2
                phase[sp + 1] = 0
                sp += 1
            else:
                a[q] = saved[sp]
                sp -= 1
    return vals


@njit(cache=True, inline="always")
def _reference_mass(mass, t, node, epoch):
    """Mass of ``node`` in the reference window (the last complete one)."""
    ep = mass[t, node, 2]
    if ep == epoch:
        return mass[t, node, 1]
    if ep == epoch - 1:
        return mass[t, node, 0]
    return 0


@njit(cache=True, inline="always")
def _latest_mass(mass, t, node, epoch):
    """Mass of ``node`` in the window being filled."""
    if mass[t, node, 2] == epoch:
        return mass[t, node, 0]
    return 0


@njit(cache=True, inline="always")
def _add_mass(mass, t, node, epoch):
    """Record one point in ``node``'s latest mass, applying pending window swaps first."""
    ep = mass[t, node, 2]
    if ep != epoch:
        if ep == epoch - 1:
            mass[t, node, 1] = mass[t, node, 0]
        else:
            mass[t, node, 1] = 0
        mass[t, node, 0] = 0
        mass[t, node, 2] = epoch
    mass[t, node, 0] += 1


@njit(cache=True, inline="always")
def _node_mass(mass, t, node, epoch, first_scale):
    """The mass a point is scored against: the reference window's, or during the first window
    the latest mass scaled up to a full window (``first_scale = window / count``)."""
    if epoch == 0:
        return _latest_mass(mass, t, node, epoch) * first_scale
    return float(_reference_mass(mass, t, node, epoch))


@njit(cache=True)
def _hst_score(X, feat, vals, mass, height, window, count, epoch, limit):
    """Score every row of X against the current masses (pure).

    The walk is level-major (all trees one level down, then the next level) so the trees'
    independent memory accesses overlap; the fused kernel below sums in the same order.
    """
    n = X.shape[0]
    n_trees = feat.shape[0]
    out = np.zeros(n)
    if epoch == 0 and count == 0:
        return out
    first_scale = window / count if epoch == 0 else 1.0
    max_score = n_trees * window * (2.0 ** (height + 1) - 1.0)
    nodes = np.zeros(n_trees, dtype=np.int64)
    active = np.ones(n_trees, dtype=np.bool_)
    for r in range(n):
        nodes[:] = 0
        active[:] = True
        total = 0.0
        w = 1.0
        for k in range(height + 1):
            for t in range(n_trees):
                if active[t]:
                    node = nodes[t]
                    m = _node_mass(mass, t, node, epoch, first_scale)
                    total += m * w
                    if m < limit:
                        active[t] = False
                    elif k < height:
                        nodes[t] = 2 * node + 1 + (X[r, feat[t, node]] >= vals[t, node])
            w *= 2.0
        out[r] = max(0.0, 1.0 - total / max_score)
    return out


@njit(cache=True)
def _hst_learn(X, feat, vals, mass, height, window, count, epoch):
    """Learn the rows of X in order; returns the new (count, epoch)."""
    n_trees = feat.shape[0]
    nodes = np.zeros(n_trees, dtype=np.int64)
    for r in range(X.shape[0]):
        nodes[:] = 0
        for k in range(height + 1):
            for t in range(n_trees):
                node = nodes[t]
                _add_mass(mass, t, node, epoch)
                if k < height:
                    nodes[t] = 2 * node + 1 + (X[r, feat[t, node]] >= vals[t, node])
        count += 1
        if count == window:
            count = 0
            epoch += 1
    return count, epoch


@njit(cache=True)
def _hst_score_learn(X, feat, vals, mass, height, window, count, epoch, limit, out):
    """Prequential pass: score row r, then learn it (one walk per tree does both)."""
    n_trees = feat.shape[0]
    max_score = n_trees * window * (2.0 ** (height + 1) - 1.0)
    nodes = np.zeros(n_trees, dtype=np.int64)
    active = np.ones(n_trees, dtype=np.bool_)
    for r in range(X.shape[0]):
        scoring = not (epoch == 0 and count == 0)
        first_scale = window / count if (epoch == 0 and count > 0) else 1.0
        nodes[:] = 0
        active[:] = scoring
        total = 0.0
        w = 1.0
        for k in range(height + 1):
            for t in range(n_trees):
                node = nodes[t]
                if active[t]:
                    m = _node_mass(mass, t, node, epoch, first_scale)
                    total += m * w
                    if m < limit:
                        active[t] = False
                _add_mass(mass, t, node, epoch)
                if k < height:
                    nodes[t] = 2 * node + 1 + (X[r, feat[t, node]] >= vals[t, node])
            w *= 2.0
        out[r] = max(0.0, 1.0 - total / max_score) if scoring else 0.0
        count += 1
        if count == window:
            count = 0
            epoch += 1
    return count, epoch


# ------------------------------------------------------------------------------------------
# stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

HSTState = namedtuple("HSTState", ["feat", "draws", "vals", "mass", "wbuf", "lohi", "scal"])
HSTState.__doc__ = """State of stacked Half-Space Trees; per member (``T`` trees of height ``h``,
``d`` features, ``w`` warm-up points), flattened into each slot's row:

* ``feat`` int32 ``(T, 2^h - 1)`` split feature of each internal node;
* ``draws`` float64 ``(T, d)`` the work-space draws ``u`` (``s = lo + u (hi - lo)``);
* ``vals`` float64 ``(T, 2^h - 1)`` split values (set when the trees are built);
* ``mass`` int32 ``(T, 2^(h+1) - 1, 3)`` latest mass, reference mass, window index per node;
* ``wbuf`` float64 ``(w, d)`` the warm-up points, until the trees are built;
* ``lohi`` float64 ``(2, d)`` the warm-up ranges (lower, upper);
* ``scal`` int64 ``(3,)`` warm-up points seen, points in the latest window, complete windows.
"""
HSTConfig = namedtuple("HSTConfig", ["off", "n_trees", "height", "window", "warmup", "limit"])
HSTConfig.__doc__ = """Per-member parameters ``(m,)`` (int64, but ``limit`` float64: the mass
limit ``size_limit * window``) and the field offsets ``off`` ``(7, m + 1)``."""
_FEAT, _DRAWS, _VALS, _MASS, _WBUF, _LOHI, _SCAL = range(7)
_N_WARM, _COUNT, _EPOCHS = 0, 1, 2


@njit(cache=True)
def _hst_build(wbuf, feat, draws, vals, mass, lohi, height, window):
    """Fix the warm-up ranges, build the split values, zero the masses and learn the warm-up
    points in order; returns the new (count, epoch)."""
    d = wbuf.shape[1]
    for q in range(d):
        lo = wbuf[0, q]
        hi = wbuf[0, q]
        for i in range(1, wbuf.shape[0]):
            v = wbuf[i, q]
            if v < lo:
                lo = v
            if v > hi:
                hi = v
        mid = 0.5 * (lo + hi)
        tiny = 1e-9 * max(1.0, abs(mid))
        if hi - lo < tiny:  # a zero-width range is widened around its value
            lo = mid - 0.5 * tiny
            hi = mid + 0.5 * tiny
        lohi[0, q] = lo
        lohi[1, q] = hi
    vals[:, :] = _build_split_values(feat, draws, lohi[0], lohi[1], height)
    mass[:, :, :] = 0
    mass[:, :, _EPOCH] = -2  # "older than the previous window": mass 0
    return _hst_learn(wbuf, feat, vals, mass, height, window, 0, 0)


@njit(cache=True)
def _hst_member(
    X, mode, out, feat, draws, vals, mass, wbuf, lohi, sc, height, window, n_warmup, limit
):
    """Run one instance (one member in one slot) over the rows of ``X`` in ``mode``."""
    n = X.shape[0]
    start = 0
    if sc[_N_WARM] < n_warmup:  # still buffering the warm-up points: placeholder scores 0
        if mode == SCORE:
            out[:] = 0.0
            return
        k = min(n_warmup - sc[_N_WARM], n)
        wbuf[sc[_N_WARM] : sc[_N_WARM] + k] = X[:k]
        sc[_N_WARM] += k
        if mode == SCORE_LEARN:
            out[:k] = 0.0
        if sc[_N_WARM] == n_warmup:
            sc[_COUNT], sc[_EPOCHS] = _hst_build(
                wbuf, feat, draws, vals, mass, lohi, height, window
            )
        start = k
    if start == n:
        return
    if mode == SCORE:
        out[:] = _hst_score(X, feat, vals, mass, height, window, sc[_COUNT], sc[_EPOCHS], limit)
    elif mode == LEARN:
        sc[_COUNT], sc[_EPOCHS] = _hst_learn(
            X[start:], feat, vals, mass, height, window, sc[_COUNT], sc[_EPOCHS]
        )
    else:
        sc[_COUNT], sc[_EPOCHS] = _hst_score_learn(
            X[start:], feat, vals, mass, height, window, sc[_COUNT], sc[_EPOCHS], limit, out[start:]
        )


@njit(cache=True)
def hst_kernel(X, slots, modes, out, cfg, st):
    """The stacked Half-Space Trees kernel (arguments as in :mod:`sead._stack`)."""
    d = X.shape[1]
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.n_trees.shape[0]):
        T = cfg.n_trees[j]
        h = cfg.height[j]
        n_int = (1 << h) - 1
        n_nodes = (1 << (h + 1)) - 1
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            _hst_member(
                X[a:b],
                mode,
                out[a:b, j],
                st.feat[s, off[_FEAT, j] : off[_FEAT, j + 1]].reshape((T, n_int)),
                st.draws[s, off[_DRAWS, j] : off[_DRAWS, j + 1]].reshape((T, d)),
                st.vals[s, off[_VALS, j] : off[_VALS, j + 1]].reshape((T, n_int)),
                st.mass[s, off[_MASS, j] : off[_MASS, j + 1]].reshape((T, n_nodes, 3)),
                st.wbuf[s, off[_WBUF, j] : off[_WBUF, j + 1]].reshape((cfg.warmup[j], d)),
                st.lohi[s, off[_LOHI, j] : off[_LOHI, j + 1]].reshape((2, d)),
                st.scal[s, off[_SCAL, j] : off[_SCAL, j + 1]],
                h,
                cfg.window[j],
                cfg.warmup[j],
                cfg.limit[j],
            )


class HSTStack(Stack):
    """Half-Space Trees of any sizes, stacked (see :mod:`sead._stack`)."""

    State = HSTState
    dtypes = {
        "feat": np.int32,
        "draws": np.float64,
        "vals": np.float64,
        "mass": np.int32,
        "wbuf": np.float64,
        "lohi": np.float64,
        "scal": np.int64,
    }
    kernel = staticmethod(hst_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        n_trees, height, n_warmup = int(det.n_trees), int(det.height), int(det.warmup)
        d = schema.n_features
        rng = np.random.default_rng(det.seed)
        n_int = 2**height - 1
        return {
            "feat": rng.integers(0, d, size=(n_trees, n_int), dtype=np.int32),
            "draws": rng.random((n_trees, d)),
            "vals": np.zeros(n_trees * n_int),
            "mass": np.zeros(n_trees * (2 * n_int + 1) * 3, dtype=np.int32),
            "wbuf": np.zeros(n_warmup * d),
            "lohi": np.zeros(2 * d),
            "scal": np.zeros(3, dtype=np.int64),
        }

    @staticmethod
    def make_config(members, schema, off):
        return HSTConfig(
            off,
            member_ints(members, "n_trees"),
            member_ints(members, "height"),
            member_ints(members, "window"),
            member_ints(members, "warmup"),
            np.array([float(m.size_limit) * int(m.window) for m in members]),
        )


# ------------------------------------------------------------------------------------------
# the detector


class HalfSpaceTrees(StackedDetector):
    """Half-Space Trees (HST): mass-based streaming anomaly detection with random trees.

    ``n_trees`` random binary trees of depth ``height`` each halve a random work space along
    random features. The points of the latest window are counted in every node they pass; every
    ``window`` points the counts become the *reference* profile (the paper's swap of the
    reference and latest windows) and a new latest window starts. A point is scored against the
    reference profile: regions holding few reference points, especially deep ones, mean an
    anomaly.

    HST is fast, constant-memory and adapts to drift one window at a time. It is good at
    scattered anomalies in low- to mid-dimensional numeric data. It is weak when anomalies come
    in dense bursts (a burst fills its own region within a window and looks normal in the next
    one), and in high dimension, where each tree splits only a few of the features.

    **Input ranges.** The trees need a range per feature. The first ``warmup`` points learned
    fix it: per feature, ``[min, max]`` of those points (a zero-width range is widened to
    ``1e-9 × max(1, |value|)`` around its value). Then each tree draws its work space as in the
    paper — ``s ~ U(min, max)``, work space ``s ± 2 max(s - min, max - s)``, at least twice the
    warm-up range — and its nodes split a random feature at the middle of the node's range. The
    warm-up points are then learned in order. A value outside the work space is handled as if
    clipped to it: it follows the outermost branch at every split of that feature. No input
    scaling is needed.

    **Score.** River's form: the sum over trees and over the nodes of the point's path of
    ``reference mass × 2^depth``, stopping after the first node whose mass is below
    ``size_limit × window`` (``size_limit=0`` walks the full path, PySAD's form), mapped to
    ``1 - sum / (n_trees × window × (2^(height+1) - 1))``. Scores are in [0, 1], higher =
    more anomalous. Deeper trees push scores towards 1 (on shuttle, median 0.57 at
    ``height=8``, 0.85 at ``height=15``); compare scores of one setting only, or use their
    order (as the quantile normalisation of :class:`sead.SEAD` does). Scores are 0 during the
    warm-up. During the first window after it
    (before any reference exists) a point is scored against the latest masses scaled up to a
    full window, ``× window / points so far`` (as PySAD does; River returns 0 there).

    **Cost.** Score and learn each visit ``n_trees × (height + 1)`` nodes per point, whatever the
    number of features; the window swap is lazy (O(1) per node visited). Deep trees cost more
    per node once their nodes no longer fit in cache (29 MB at height 15); measured times are in
    ``benchmarks/RESULTS.md`` and ``benchmarks/results/parity_hst.md``. Window indices are stored as
    int32, which limits a detector to 2^31 windows (5 × 10^11 points at ``window=250``).

    **Memory** (fixed after the warm-up; the warm-up buffer of ``warmup × d`` floats is freed):
    ``n_trees × (2^height - 1) × 12`` bytes of splits (feature and value) plus
    ``n_trees × (2^(height+1) - 1) × 12`` bytes of masses (latest, reference, window index) —
    about 36 bytes × n_trees × 2^height, plus ``8 × n_trees × d`` bytes of work-space draws.
    At the defaults (25 trees, height 8): 230 kB. At PySAD's defaults (25 trees, height 15):
    29 MB (PySAD's own arrays take 11 MB; the extra is the window index that makes the swap
    O(1)).

    Parameters
    ----------
    n_trees
        Number of trees (25, as in the paper and PySAD).
    height
        Depth of each tree (``height + 1`` levels, ``2^(height+1) - 1`` nodes); at most 20.
        The default 8 is River's; the paper and PySAD use 15, which costs 128× the memory and
        scored lower on the ODDS parity sets (``benchmarks/results/parity_hst.md``).
    window
        Points per window: the reference profile is the latest complete window.
    warmup
        Points used to fix the per-feature ranges before the trees are built.
    size_limit
        Scoring stops below the first node holding fewer than ``size_limit × window``
        reference points (0.1 in the paper and in River); 0 sums the whole path.
    seed
        Seeds the work spaces and the split features.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``window_size`` (now
        ``window``), ``n_warmup`` (now ``warmup``).

    References
    ----------
    Tan, S.C., Ting, K.M. and Liu, T.F. (2011). Fast anomaly detection for streaming data.
    IJCAI 2011, pp. 1511-1516.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.hst import HalfSpaceTrees
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(1000, 3))
    >>> X[900] = [4.0, -4.0, 4.0]                     # one far-away point
    >>> hst = HalfSpaceTrees(n_trees=10, height=6, window=100, seed=1)
    >>> scores = hst.score_learn_many(X)
    >>> print(scores[:3], round(float(np.median(scores[300:])), 3), round(float(scores[900]), 3))
    [0. 0. 0.] 0.602 0.978
    >>> int(np.argmax(scores))
    900
    """

    _parameter_constraints = {
        "n_trees": [Interval("int", 1, None)],
        "height": [Interval("int", 1, _MAX_HEIGHT)],
        "window": [Interval("int", 1, None)],
        "warmup": [Interval("int", 1, None)],
        "size_limit": [Interval("real", 0, 1)],
        "seed": SEED,
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self,
        n_trees: int = 25,
        height: int = 8,
        window: int = 250,
        warmup: int = 100,
        size_limit: float = 0.1,
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.n_trees = n_trees
        self.height = height
        self.window = window
        self.warmup = warmup
        self.size_limit = size_limit
        self.seed = seed
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"window_size": "window", "n_warmup": "warmup"})

    @classmethod
    def _unit_test_params(cls):
        yield {"n_trees": 5, "height": 6, "window": 50, "warmup": 20, "seed": 1}
        yield {
            "n_trees": 3,
            "height": 4,
            "window": 30,
            "warmup": 70,
            "size_limit": 0.0,
            "seed": 2,
        }

    def _warmup_points(self) -> int:
        # scores are 0 (placeholders) until the warm-up points have fixed the ranges
        return int(self.warmup)

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def _built(self) -> bool:
        return int(self._view("scal")[_N_WARM]) >= int(self.warmup)

    @property
    def split_features_(self) -> np.ndarray:
        """Split feature of every internal node, ``(n_trees, 2^height - 1)``."""
        return self._shaped("feat", int(self.n_trees), -1)

    @property
    def work_space_draws_(self) -> np.ndarray:
        """The work-space draws ``u`` of every tree and feature, ``(n_trees, d)``."""
        return self._shaped("draws", int(self.n_trees), -1)

    @property
    def split_values_(self) -> np.ndarray | None:
        """Split values, ``(n_trees, 2^height - 1)``; None until the trees are built."""
        return self._shaped("vals", int(self.n_trees), -1) if self._built else None

    @property
    def mass_(self) -> np.ndarray | None:
        """Latest mass, reference mass and window index of every node,
        ``(n_trees, 2^(height+1) - 1, 3)``; None until the trees are built."""
        return self._shaped("mass", int(self.n_trees), -1, 3) if self._built else None

    @property
    def warmup_buffer_(self) -> np.ndarray:
        """The warm-up points buffered so far's storage, ``(warmup, d)``; ``(0, d)`` once the
        trees are built (the points are learned then)."""
        W = self._shaped("wbuf", int(self.warmup), -1)
        return W[:0] if self._built else W

    @property
    def lower_(self) -> np.ndarray | None:
        """Per-feature lower end of the warm-up range (None until the trees are built)."""
        return self._shaped("lohi", 2, -1)[0] if self._built else None

    @property
    def upper_(self) -> np.ndarray | None:
        """Per-feature upper end of the warm-up range (None until the trees are built)."""
        return self._shaped("lohi", 2, -1)[1] if self._built else None

    @property
    def n_warmup_seen_(self) -> int:
        """How many warm-up points have been learned so far (at most ``warmup``)."""
        return int(self._view("scal")[_N_WARM])

    @property
    def count_(self) -> int:
        """Points in the latest window."""
        return int(self._view("scal")[_COUNT])

    @property
    def epoch_(self) -> int:
        """Complete windows so far."""
        return int(self._view("scal")[_EPOCHS])


HalfSpaceTrees._stack_class = HSTStack
