"""RS-Hash: randomized subspace hashing with decayed counts (Sathe & Aggarwal 2016)."""

from __future__ import annotations

import math
import numbers

import numpy as np
from numba import njit

from .._kernels.random import GOLDEN, mix64
from ..base import Detector

__all__ = ["RSHash"]

# Normalised values are clipped to this magnitude (in warm-up ranges from the warm-up minimum),
# so that grid coordinates of any finite input fit in an int64.
_CLIP = 1e9
# Counts are stored multiplied by a scale g that grows by 2**decay per point learned; when g
# passes this value every count is divided by g and g restarts at 1.
_RESCALE_AT = 2.0**64
# Scores multiply this many factors (1 + count) before taking one log2 (a count stays below
# ~1e17 for any allowed decay, so a product of 8 stays far from overflow).
_LOG_GROUP = 8
# Indices into ``stats_``: the count scale g, the number of points learned.
_G, _SEEN = 0, 1

_MUL1 = np.uint64(0xBF58476D1CE4E5B9)  # a SplitMix64 multiplier, as the polynomial hash step


# ---- kernels ------------------------------------------------------------------------------------


@njit(cache=True)
def _cell_slots(x, mins, inv_range, dims, n_dims, shifts, inv_f, salts, hash_range, xn, slots):
    """The table slot of ``x``'s grid cell, for every component and hash table.

    ``x`` is min-max normalised with the warm-up ranges (into ``xn``, clipped to ``±_CLIP``);
    component ``i`` takes its ``n_dims[i]`` features ``dims[i, :n_dims[i]]`` and the grid
    coordinates ``floor((xn_j + shifts[i, j]) * inv_f[i])``. The cell key (component,
    coordinates) is hashed once (a polynomial hash then SplitMix64's mixer), then salted, mixed
    again and mapped to ``[0, hash_range)`` per table.
    """
    for j in range(x.shape[0]):
        v = (x[j] - mins[j]) * inv_range[j]
        if v > _CLIP:
            v = _CLIP
        elif v < -_CLIP:
            v = -_CLIP
        xn[j] = v
    m = dims.shape[0]
    w = salts.shape[0]
    p = np.uint64(hash_range)
    for i in range(m):
        h = np.uint64(i + 1) * GOLDEN
        for a in range(n_dims[i]):
            j = dims[i, a]
            c = np.int64(np.floor((xn[j] + shifts[i, j]) * inv_f[i]))
            h = (h ^ np.uint64(c)) * _MUL1
        h = mix64(h)
        for t in range(w):
            # multiply-shift range reduction of the top 32 bits (no division)
            slots[i, t] = np.int64(((mix64(h ^ salts[t]) >> np.uint64(32)) * p) >> np.uint64(32))


@njit(cache=True)
def _score_slots(slots, tables, stats):
    """``-mean_i log2(1 + c_i)``, with ``c_i`` the smallest decayed count of component ``i``'s
    cell over the hash tables (count-min)."""
    m, w = slots.shape
    inv_g = 1.0 / stats[_G]
    acc = 0.0
    prod = 1.0
    n = 0
    for i in range(m):
        c = tables[0, slots[i, 0]]
        for t in range(1, w):
            ct = tables[t, slots[i, t]]
            if ct < c:
                c = ct
        prod *= 1.0 + c * inv_g
        n += 1
        if n == _LOG_GROUP:
            acc += math.log2(prod)
            prod = 1.0
            n = 0
    acc += math.log2(prod)
    return -acc / m


@njit(cache=True)
def _learn_slots(slots, tables, stats, growth):
    """Add the point to its cell in every component and table (weight 1 now), then age all
    counts by ``2 ** -decay``."""
    m, w = slots.shape
    g = stats[_G]
    for i in range(m):
        for t in range(w):
            tables[t, slots[i, t]] += g
    g *= growth
    if g >= _RESCALE_AT:
        inv = 1.0 / g
        for t in range(tables.shape[0]):
            for s in range(tables.shape[1]):
                tables[t, s] *= inv
        g = 1.0
    stats[_G] = g
    stats[_SEEN] += 1.0


@njit(cache=True)
def _finish_warm_up(buffer, mins, inv_range, perm, n_dims_drawn, dims, n_dims, shifts, inv_f,
                    salts, tables, stats, growth, slots):
    """Fix the ranges from the buffered warm-up rows, pick each component's features, then
    learn the buffered rows in order."""
    n, d = buffer.shape
    varying = np.zeros(d, dtype=np.bool_)
    for j in range(d):
        lo = buffer[0, j]
        hi = buffer[0, j]
        for t in range(1, n):
            lo = min(lo, buffer[t, j])
            hi = max(hi, buffer[t, j])
        mins[j] = lo
        varying[j] = hi > lo
        inv_range[j] = 1.0 / (hi - lo) if hi > lo else 1.0
    # features constant over the warm-up are left out of the subspaces (unless all are)
    if not varying.any():
        varying[:] = True
    for i in range(dims.shape[0]):
        k = 0
        for a in range(d):
            j = perm[i, a]
            if varying[j] and k < n_dims_drawn[i]:
                dims[i, k] = j
                k += 1
        n_dims[i] = k
    xn = np.empty(d)
    for t in range(n):
        _cell_slots(buffer[t], mins, inv_range, dims, n_dims, shifts, inv_f, salts,
                    tables.shape[1], xn, slots)
        _learn_slots(slots, tables, stats, growth)


@njit(cache=True)
def _score_rows(X, mins, inv_range, dims, n_dims, shifts, f, salts, tables, stats, warm_up):
    out = np.zeros(X.shape[0])
    if stats[_SEEN] < warm_up:
        return out
    inv_f = 1.0 / f
    xn = np.empty(X.shape[1])
    slots = np.empty((dims.shape[0], salts.shape[0]), dtype=np.int64)
    for t in range(X.shape[0]):
        _cell_slots(X[t], mins, inv_range, dims, n_dims, shifts, inv_f, salts, tables.shape[1],
                    xn, slots)
        out[t] = _score_slots(slots, tables, stats)
    return out


@njit(cache=True)
def _score_learn_rows(X, buffer, mins, inv_range, perm, n_dims_drawn, dims, n_dims, shifts, f,
                      salts, tables, stats, growth, warm_up, score):
    """Prequential pass (``score=True``) or plain learning (``score=False``) over the rows."""
    out = np.zeros(X.shape[0])
    inv_f = 1.0 / f
    xn = np.empty(X.shape[1])
    slots = np.empty((dims.shape[0], salts.shape[0]), dtype=np.int64)
    p = tables.shape[1]
    for t in range(X.shape[0]):
        seen = int(stats[_SEEN])
        if seen < warm_up:  # scores 0 while warming up; the rows are kept
            buffer[seen, :] = X[t]
            if seen + 1 == warm_up:
                stats[_SEEN] = 0.0
                _finish_warm_up(buffer, mins, inv_range, perm, n_dims_drawn, dims, n_dims,
                                shifts, inv_f, salts, tables, stats, growth, slots)
            else:
                stats[_SEEN] += 1.0
            continue
        _cell_slots(X[t], mins, inv_range, dims, n_dims, shifts, inv_f, salts, p, xn, slots)
        if score:
            out[t] = _score_slots(slots, tables, stats)
        _learn_slots(slots, tables, stats, growth)
    return out


# ---- the detector -------------------------------------------------------------------------------


class RSHash(Detector):
    """RS-Hash: subspace outlier detection with randomized hashing, streaming form (RS-Stream).

    RS-Hash [^1] is an ensemble of ``n_components`` randomized grids, each over a random subspace
    of a few features. Component ``i`` has a grid size ``f_i`` drawn uniformly in
    ``[1/sqrt(s), 1 - 1/sqrt(s)]`` (``s = max(1000, 1 / (1 - 2**-decay))``), a number of features
    ``r_i`` drawn uniformly between ``1 + 0.5 log_b(s)`` and ``log_b(s)`` with
    ``b = max(2, 1/f_i)`` (at most the number of varying features), and a random shift per
    feature. A point falls in the grid cell ``floor((x_j + shift_ij) / f_i)`` of each component;
    its score is ``-mean_i log2(1 + c_i)`` where ``c_i`` is the time-decayed count of points seen
    in that cell — rarely visited cells, in any of many subspaces, mean outliers. Cell counts
    live in a count-min sketch: ``n_hashes`` tables of ``hash_range`` slots shared by all
    components, read as the smallest count over the tables (collisions can only inflate it).
    Same algorithm and defaults as PySAD's ``RSHash`` (with its own, faster hash functions).

    It is good at outliers that show in a few features at a time (subspace outliers) and at
    local density drops, costs ``O(n_components * r)`` per point whatever the stream length,
    and adapts to drift through the decay. It is weak on very high-dimensional data where
    anomalies need many features at once, and its scores are coarse (decayed counts of small
    cells): many normal points tie.

    Ranges (warm-up). Features are min-max normalised with the ranges of the first ``warm_up``
    points learned, which are buffered (each scores 0) and then learned in order — the same as
    PySAD's ``RSHash`` given the minimum and maximum of those points. The ranges then stay
    fixed. A value outside them needs no special case: the grid extends beyond ``[0, 1]``, so it
    falls in a cell of its own that is empty (high score) until such values recur, when it fills
    like any other. Normalised values are clipped to ``±1e9`` ranges so that grid coordinates
    stay integers: far-away points share the outermost cells. A feature constant over the
    warm-up keeps range 1 and is not used in subspaces (unless every feature is constant).

    Forgetting: counts are decayed, a point learned ``a`` points ago counts ``2 ** (-decay * a)``
    (half-life ``1 / decay`` points: about 67 at the default), so the state follows the recent
    stream and its size is fixed: memory is bounded on an unbounded stream. State:
    ``8 * (n_hashes * hash_range + 3 * n_components * (d + 1) + 2 * d + n_hashes + 2)`` bytes
    plus ~1 kB of Python object, and ``8 * warm_up * d`` more for the warm-up buffer until it is
    full (it is then released) — about 107 kB at the defaults with ``d = 10``, 80 kB of which
    are the sketch.

    Cost per point (score + learn): ``O(n_components * (r + n_hashes))`` with ``r`` the subspace
    size (2 to 9 at the default ``s = 1000``).

    Scores: ``-mean_i log2(1 + c_i)``, higher (closer to 0) = more anomalous, 0 during the
    warm-up. Without hash collisions a count is at most ``1 / (2**decay - 1)`` (about 96 at the
    default), so scores lie in ``[-log2(2**decay / (2**decay - 1)), 0]`` (about ``[-6.6, 0]``);
    collisions can push them down to ``-log2(1 + n_components / (2**decay - 1))``.

    Parameters
    ----------
    n_components
        Number of ensemble components (random grids), PySAD's ``num_components``.
    decay
        Forgetting rate, counts fade by ``2 ** -decay`` per point learned (> 0).
    n_hashes
        Number ``w`` of hash tables of the count-min sketch (PySAD's ``num_hash_fns``; the paper
        uses 4, PySAD's default 1 takes no minimum).
    hash_range
        Number ``p`` of slots per hash table (shared by all components), at most ``2**32``. The
        sketch holds about ``n_components / (1 - 2**-decay)`` decayed points: grow it with
        ``n_components`` and the half-life, or collisions blur the counts.
    warm_up
        Number of first points whose ranges normalise the features.
    seed
        Random seed for the grids, subspaces, shifts and hash salts.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.rshash import RSHash
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(1000, 4))
    >>> X[-1] = [4.0, -4.0, 4.0, -4.0]  # an outlier at the end
    >>> det = RSHash(n_components=50, seed=0)
    >>> scores = det.score_learn_many(X)
    >>> print(f"typical: {np.median(scores[100:-1]):.3f}   outlier: {scores[-1]:.3f}")
    typical: -2.771   outlier: -0.224

    References
    ----------
    [^1]: Sathe, S. and Aggarwal, C.C., 2016. Subspace outlier detection in linear time with
        randomized hashing. In IEEE 16th International Conference on Data Mining (ICDM),
        pp. 459-468.
    """

    def __init__(
        self,
        n_components: int = 100,
        decay: float = 0.015,
        n_hashes: int = 1,
        hash_range: int = 10_000,
        warm_up: int = 100,
        seed: int | None = 0,
    ):
        self.n_components = n_components
        self.decay = decay
        self.n_hashes = n_hashes
        self.hash_range = hash_range
        self.warm_up = warm_up
        self.seed = seed

    @classmethod
    def _unit_test_params(cls):
        yield {"n_components": 20, "hash_range": 1000, "warm_up": 50, "seed": 1}
        yield {"n_components": 10, "n_hashes": 3, "hash_range": 500, "decay": 0.05, "warm_up": 20}

    # ---- hooks ------------------------------------------------------------------------------
    def _warmup_points(self) -> int:
        # scores are 0 (placeholders) until the warm-up rows have fixed the ranges
        return int(self.warm_up)

    def _init_state(self, n_features: int) -> None:
        for name in ("n_components", "n_hashes", "hash_range", "warm_up"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if self.hash_range > 2**32:
            raise ValueError(f"hash_range must be at most 2**32, got {self.hash_range!r}")
        dec = self.decay
        if (
            isinstance(dec, bool)
            or not isinstance(dec, numbers.Real)
            or not (0.0 < dec < math.inf)
            or 2.0 ** -float(dec) == 1.0
        ):
            raise ValueError(f"decay must be a finite number > 0 (and 2**-decay < 1), got {dec!r}")
        m, d = int(self.n_components), int(n_features)
        rng = np.random.default_rng(self.seed)
        s = max(1000.0, 1.0 / (1.0 - 2.0 ** -float(dec)))
        self.f_ = rng.uniform(1.0 / math.sqrt(s), 1.0 - 1.0 / math.sqrt(s), size=m)
        common = math.log(s) / np.log(np.maximum(2.0, 1.0 / self.f_))
        high = np.floor(common).astype(np.int64)
        low = np.minimum(np.ceil(1.0 + 0.5 * common).astype(np.int64), high)
        self.n_dims_drawn_ = rng.integers(low, high + 1)  # clipped to the varying features later
        self.perm_ = np.argsort(rng.random((m, d)), axis=1).astype(np.int64)
        self.shifts_ = rng.random((m, d)) * self.f_[:, None]
        self.salts_ = rng.integers(0, 2**63, size=int(self.n_hashes), dtype=np.int64)
        self.salts_ = self.salts_.astype(np.uint64)
        # set at the end of the warm-up
        self.buffer_ = np.zeros((int(self.warm_up), d))
        self.mins_ = np.zeros(d)
        self.inv_range_ = np.ones(d)
        self.dims_ = np.zeros((m, d), dtype=np.int64)
        self.n_dims_ = np.zeros(m, dtype=np.int64)
        # the count-min sketch (counts scaled by stats_[0]) and the learning clock
        self.tables_ = np.zeros((int(self.n_hashes), int(self.hash_range)))
        self.stats_ = np.array([1.0, 0.0])
        self.growth_ = float(2.0 ** float(dec))

    def _grids(self):
        return (self.mins_, self.inv_range_, self.dims_, self.n_dims_, self.shifts_, self.f_,
                self.salts_)

    def _run(self, X: np.ndarray, score: bool) -> np.ndarray:
        out = _score_learn_rows(
            X, self.buffer_, self.mins_, self.inv_range_, self.perm_, self.n_dims_drawn_,
            self.dims_, self.n_dims_, self.shifts_, self.f_, self.salts_, self.tables_,
            self.stats_, self.growth_, int(self.warm_up), score,
        )
        if self.buffer_.shape[0] and self.stats_[_SEEN] >= self.warm_up:
            self.buffer_ = np.zeros((0, self.buffer_.shape[1]))  # warm-up over: release it
        return out

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        return _score_rows(X, *self._grids(), self.tables_, self.stats_, int(self.warm_up))

    def _learn_rows(self, X: np.ndarray) -> None:
        self._run(X, False)

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, True)
