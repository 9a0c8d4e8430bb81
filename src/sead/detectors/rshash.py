"""RS-Hash: randomized subspace hashing with decayed counts (Sathe & Aggarwal 2016)."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .._kernels.random import GOLDEN, mix64
from .._params import SEED, Interval, take_renamed, validate_params
from .._stack import SCORE, SCORE_LEARN, Stack, member_ints, slot_runs
from ..base import StackedDetector

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
# Glitches in the warm-up: a value more than _GLITCH_IQRS interquartile ranges beyond the
# quartiles of its feature's warm-up values is left out of that feature's range, when such
# values are at most _GLITCH_SHARE of the warm-up (at least one); more of them are a real mode
# of the data and are kept. (Normal data never reach 3 IQRs in a warm-up; a glitch of 1e3 on
# unit-variance data is ~700.)
_GLITCH_IQRS = 100.0
_GLITCH_SHARE = 0.02
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
def _warm_up_range(col, tmp):
    """``(lo, hi)``: the minimum and maximum of one feature's warm-up values ``col``, glitches
    left out (see ``_GLITCH_IQRS``). ``tmp`` is scratch of ``col``'s length."""
    n = col.shape[0]
    tmp[:] = col
    tmp.sort()
    r = (n - 1) // 4
    q1 = tmp[r]
    q3 = tmp[n - 1 - r]
    iqr = q3 - q1
    a, b = 0, n - 1
    if 0.0 < iqr < np.inf:
        low_fence = q1 - _GLITCH_IQRS * iqr
        high_fence = q3 + _GLITCH_IQRS * iqr
        while tmp[a] < low_fence:
            a += 1
        while tmp[b] > high_fence:
            b -= 1
        if a + (n - 1 - b) > max(1, int(_GLITCH_SHARE * n)):
            a, b = 0, n - 1  # too many to be glitches: keep them
    return tmp[a], tmp[b]


@njit(cache=True)
def _finish_warm_up(
    buffer,
    mins,
    inv_range,
    perm,
    n_dims_drawn,
    dims,
    n_dims,
    shifts,
    inv_f,
    salts,
    tables,
    stats,
    growth,
    slots,
):
    """Fix the ranges from the buffered warm-up rows (glitches left out), pick each component's
    features, then learn the buffered rows in order."""
    n, d = buffer.shape
    varying = np.zeros(d, dtype=np.bool_)
    tmp = np.empty(n)
    for j in range(d):
        lo, hi = _warm_up_range(buffer[:, j], tmp)
        mins[j] = lo
        varying[j] = hi > lo
        if hi - lo == np.inf:  # a range wider than the float limit: halve before dividing
            inv_range[j] = 0.5 / (0.5 * hi - 0.5 * lo)
        else:
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
        _cell_slots(
            buffer[t],
            mins,
            inv_range,
            dims,
            n_dims,
            shifts,
            inv_f,
            salts,
            tables.shape[1],
            xn,
            slots,
        )
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
        _cell_slots(
            X[t], mins, inv_range, dims, n_dims, shifts, inv_f, salts, tables.shape[1], xn, slots
        )
        out[t] = _score_slots(slots, tables, stats)
    return out


@njit(cache=True)
def _score_learn_rows(
    X,
    buffer,
    mins,
    inv_range,
    perm,
    n_dims_drawn,
    dims,
    n_dims,
    shifts,
    f,
    salts,
    tables,
    stats,
    growth,
    warm_up,
    score,
):
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
                _finish_warm_up(
                    buffer,
                    mins,
                    inv_range,
                    perm,
                    n_dims_drawn,
                    dims,
                    n_dims,
                    shifts,
                    inv_f,
                    salts,
                    tables,
                    stats,
                    growth,
                    slots,
                )
            else:
                stats[_SEEN] += 1.0
            continue
        _cell_slots(X[t], mins, inv_range, dims, n_dims, shifts, inv_f, salts, p, xn, slots)
        if score:
            out[t] = _score_slots(slots, tables, stats)
        _learn_slots(slots, tables, stats, growth)
    return out


# ---- stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

RSHashState = namedtuple(
    "RSHashState",
    [
        "f",
        "n_dims_drawn",
        "perm",
        "shifts",
        "salts",
        "buffer",
        "mins",
        "inv_range",
        "dims",
        "n_dims",
        "tables",
        "stats",
    ],
)
RSHashState.__doc__ = """State of stacked RS-Hash; per member (``m`` components, ``d`` features,
``w`` hash tables of ``p`` slots, ``W`` warm-up points), flattened into each slot's row:

* ``f`` float64 ``(m,)`` the grid size of each component;
* ``n_dims_drawn`` int64 ``(m,)`` the subspace size drawn for each component;
* ``perm`` int64 ``(m, d)`` a random order of the features per component;
* ``shifts`` float64 ``(m, d)`` the grid shifts;
* ``salts`` uint64 ``(w,)`` the hash salts of the tables;
* ``buffer`` float64 ``(W, d)`` the warm-up rows, until the warm-up is over;
* ``mins``, ``inv_range`` float64 ``(d,)`` the warm-up minimum and inverse range of each
  feature (0 and 1 until the warm-up is over);
* ``dims`` int64 ``(m, d)`` each component's features (the first ``n_dims``);
* ``n_dims`` int64 ``(m,)`` each component's subspace size (set at the end of the warm-up);
* ``tables`` float64 ``(w, p)`` the count-min sketch, counts scaled by ``stats[0]``;
* ``stats`` float64 ``(2,)`` the count scale g, the points learned (buffered, in the warm-up).
"""
RSHashConfig = namedtuple(
    "RSHashConfig", ["off", "n_components", "n_hashes", "hash_range", "warmup", "growth"]
)
RSHashConfig.__doc__ = """Per-member parameters ``(m,)``: ``n_components``, ``n_hashes``,
``hash_range`` and ``warmup`` (int64), ``growth = 2 ** decay`` (float64); and the field offsets
``off`` ``(12, m + 1)``."""
(
    _F,
    _N_DIMS_DRAWN,
    _PERM,
    _SHIFTS,
    _SALTS,
    _BUFFER,
    _MINS,
    _INV_RANGE,
    _DIMS,
    _N_DIMS,
    _TABLES,
    _STATS,
) = range(12)


@njit(cache=True, nogil=True)
def rshash_kernel(X, slots, modes, out, cfg, st):
    """The stacked RS-Hash kernel (arguments as in :mod:`sead._stack`)."""
    d = X.shape[1]
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.n_components.shape[0]):
        m = cfg.n_components[j]
        w = cfg.n_hashes[j]
        p = cfg.hash_range[j]
        W = cfg.warmup[j]
        for r in range(starts.shape[0] - 1):
            a, b = starts[r], starts[r + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            f = st.f[s, off[_F, j] : off[_F, j + 1]]
            mins = st.mins[s, off[_MINS, j] : off[_MINS, j + 1]]
            inv_range = st.inv_range[s, off[_INV_RANGE, j] : off[_INV_RANGE, j + 1]]
            dims = st.dims[s, off[_DIMS, j] : off[_DIMS, j + 1]].reshape((m, d))
            n_dims = st.n_dims[s, off[_N_DIMS, j] : off[_N_DIMS, j + 1]]
            shifts = st.shifts[s, off[_SHIFTS, j] : off[_SHIFTS, j + 1]].reshape((m, d))
            salts = st.salts[s, off[_SALTS, j] : off[_SALTS, j + 1]]
            tables = st.tables[s, off[_TABLES, j] : off[_TABLES, j + 1]].reshape((w, p))
            stats = st.stats[s, off[_STATS, j] : off[_STATS, j + 1]]
            if mode == SCORE:
                out[a:b, j] = _score_rows(
                    X[a:b], mins, inv_range, dims, n_dims, shifts, f, salts, tables, stats, W
                )
                continue
            buffer = st.buffer[s, off[_BUFFER, j] : off[_BUFFER, j + 1]].reshape((W, d))
            perm = st.perm[s, off[_PERM, j] : off[_PERM, j + 1]].reshape((m, d))
            n_dims_drawn = st.n_dims_drawn[s, off[_N_DIMS_DRAWN, j] : off[_N_DIMS_DRAWN, j + 1]]
            res = _score_learn_rows(
                X[a:b],
                buffer,
                mins,
                inv_range,
                perm,
                n_dims_drawn,
                dims,
                n_dims,
                shifts,
                f,
                salts,
                tables,
                stats,
                cfg.growth[j],
                W,
                mode == SCORE_LEARN,
            )
            if mode == SCORE_LEARN:
                out[a:b, j] = res


class RSHashStack(Stack):
    """RS-Hash detectors of any sizes, stacked (see :mod:`sead._stack`)."""

    State = RSHashState
    dtypes = {
        "f": np.float64,
        "n_dims_drawn": np.int64,
        "perm": np.int64,
        "shifts": np.float64,
        "salts": np.uint64,
        "buffer": np.float64,
        "mins": np.float64,
        "inv_range": np.float64,
        "dims": np.int64,
        "n_dims": np.int64,
        "tables": np.float64,
        "stats": np.float64,
    }
    kernel = staticmethod(rshash_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        dec = float(det.decay)
        if 2.0**-dec == 1.0:
            raise ValueError(
                f"decay must be a finite number > 0 with 2**-decay < 1, got {det.decay!r}"
            )
        m, d = int(det.n_components), int(schema.n_features)
        rng = np.random.default_rng(det.seed)
        s = max(1000.0, 1.0 / (1.0 - 2.0**-dec))
        f = rng.uniform(1.0 / math.sqrt(s), 1.0 - 1.0 / math.sqrt(s), size=m)
        common = math.log(s) / np.log(np.maximum(2.0, 1.0 / f))
        high = np.floor(common).astype(np.int64)
        low = np.minimum(np.ceil(1.0 + 0.5 * common).astype(np.int64), high)
        n_dims_drawn = rng.integers(low, high + 1)  # clipped to the varying features later
        perm = np.argsort(rng.random((m, d)), axis=1).astype(np.int64)
        shifts = rng.random((m, d)) * f[:, None]
        salts = rng.integers(0, 2**63, size=int(det.n_hashes), dtype=np.int64).astype(np.uint64)
        return {
            "f": f,
            "n_dims_drawn": n_dims_drawn,
            "perm": perm,
            "shifts": shifts,
            "salts": salts,
            # set at the end of the warm-up
            "buffer": np.zeros((int(det.warmup), d)),
            "mins": np.zeros(d),
            "inv_range": np.ones(d),
            "dims": np.zeros((m, d), dtype=np.int64),
            "n_dims": np.zeros(m, dtype=np.int64),
            # the count-min sketch (counts scaled by stats[0]) and the learning clock
            "tables": np.zeros((int(det.n_hashes), int(det.hash_range))),
            "stats": np.array([1.0, 0.0]),
        }

    @staticmethod
    def make_config(members, schema, off):
        return RSHashConfig(
            off,
            member_ints(members, "n_components"),
            member_ints(members, "n_hashes"),
            member_ints(members, "hash_range"),
            member_ints(members, "warmup"),
            np.array([float(2.0 ** float(m.decay)) for m in members]),
        )


# ---- the detector -------------------------------------------------------------------------------


class RSHash(StackedDetector):
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

    Ranges (warm-up). Features are min-max normalised with the ranges of the first ``warmup``
    points learned, which are buffered (each scores 0) and then learned in order — the same as
    PySAD's ``RSHash`` given the minimum and maximum of those points, except for glitches: a
    value more than 100 interquartile ranges beyond the quartiles of its feature's warm-up
    values is left out of that feature's range, when such values are at most 2% of the warm-up
    (at least one; more are a real mode of the data and count). One glitch row in the warm-up,
    up to the float limit, therefore does not stretch the grids (it is still learned, in a far
    cell); a feature whose warm-up values are all equal but for a glitch is not protected. The
    ranges then stay fixed. A value outside them needs no special case: the grid extends beyond
    ``[0, 1]``, so it falls in a cell of its own that is empty (high score) until such values
    recur, when it fills like any other. Normalised values are clipped to ``±1e9`` ranges so
    that grid coordinates stay integers: far-away points share the outermost cells. A feature
    constant over the warm-up keeps range 1 and is not used in subspaces (unless every feature
    is constant).

    Forgetting: counts are decayed, a point learned ``a`` points ago counts ``2 ** (-decay * a)``
    (half-life ``1 / decay`` points: about 67 at the default), so the state follows the recent
    stream and its size is fixed: memory is bounded on an unbounded stream. State per stream
    (one slot of the stack, see :mod:`sead._stack`): ``8 * (n_hashes * hash_range +
    3 * n_components * (d + 1) + 2 * d + n_hashes + 2 + warmup * d)`` bytes, the last term
    the warm-up buffer (kept in the slot) — 111,368 bytes at the defaults with ``d = 9``,
    80 kB of which are the sketch.

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
        Forgetting rate, counts fade by ``2 ** -decay`` per point learned (> 0, with
        ``2 ** -decay < 1``, and below 1024 so that ``2 ** decay`` is a finite float).
    n_hashes
        Number ``w`` of hash tables of the count-min sketch (PySAD's ``num_hash_fns``; the paper
        uses 4, PySAD's default 1 takes no minimum).
    hash_range
        Number ``p`` of slots per hash table (shared by all components), at most ``2**32``. The
        sketch holds about ``n_components / (1 - 2**-decay)`` decayed points: grow it with
        ``n_components`` and the half-life, or collisions blur the counts.
    warmup
        Number of first points whose ranges normalise the features.
    seed
        Random seed for the grids, subspaces, shifts and hash salts.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``warm_up`` (now
        ``warmup``).

    References
    ----------
    [^1]: Sathe, S. and Aggarwal, C.C., 2016. Subspace outlier detection in linear time with
        randomized hashing. In IEEE 16th International Conference on Data Mining (ICDM),
        pp. 459-468.

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
    """

    _parameter_constraints = {
        "n_components": [Interval("int", 1, None)],
        # 2 ** decay must be a finite float (and 2 ** -decay < 1: checked at the first point)
        "decay": [Interval("real", 0, 1024, closed="neither")],
        "n_hashes": [Interval("int", 1, None)],
        "hash_range": [Interval("int", 1, 2**32)],
        "warmup": [Interval("int", 1, None)],
        "seed": SEED,
    }

    def __init__(
        self,
        n_components: int = 100,
        decay: float = 0.015,
        n_hashes: int = 1,
        hash_range: int = 10_000,
        warmup: int = 100,
        seed: int | None = 0,
        **kwargs,
    ):
        self.n_components = n_components
        self.decay = decay
        self.n_hashes = n_hashes
        self.hash_range = hash_range
        self.warmup = warmup
        self.seed = seed
        take_renamed(self, kwargs, {"warm_up": "warmup"})

    @classmethod
    def _unit_test_params(cls):
        yield {"n_components": 20, "hash_range": 1000, "warmup": 50, "seed": 1}
        yield {"n_components": 10, "n_hashes": 3, "hash_range": 500, "decay": 0.05, "warmup": 20}

    def _warmup_points(self) -> int:
        # scores are 0 (placeholders) until the warm-up rows have fixed the ranges
        return int(self.warmup)

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def _warm(self) -> bool:
        """Whether the warm-up is over (ranges and subspaces fixed)."""
        return self._view("stats")[_SEEN] >= int(self.warmup)

    @property
    def f_(self) -> np.ndarray:
        """Grid size of each component, ``(n_components,)``."""
        return self._view("f")

    @property
    def n_dims_drawn_(self) -> np.ndarray:
        """Subspace size drawn for each component (before clipping to the varying features)."""
        return self._view("n_dims_drawn")

    @property
    def perm_(self) -> np.ndarray:
        """A random order of the features per component, ``(n_components, d)``."""
        return self._shaped("perm", int(self.n_components), -1)

    @property
    def shifts_(self) -> np.ndarray:
        """Grid shift of each component and feature, ``(n_components, d)``."""
        return self._shaped("shifts", int(self.n_components), -1)

    @property
    def salts_(self) -> np.ndarray:
        """Hash salt of each table, ``(n_hashes,)`` uint64."""
        return self._view("salts")

    @property
    def buffer_(self) -> np.ndarray:
        """The warm-up rows' storage, ``(warmup, d)``; ``(0, d)`` once the warm-up is over."""
        B = self._shaped("buffer", int(self.warmup), -1)
        return B[:0] if self._warm else B

    @property
    def mins_(self) -> np.ndarray:
        """Per-feature minimum of the warm-up rows, glitches left out (0 until the warm-up is
        over)."""
        return self._view("mins")

    @property
    def inv_range_(self) -> np.ndarray:
        """Per-feature inverse range of the warm-up rows, glitches left out (1 for a constant
        feature, and until the warm-up is over)."""
        return self._view("inv_range")

    @property
    def dims_(self) -> np.ndarray:
        """Each component's features, ``(n_components, d)``: ``n_dims_[i]`` of them in row ``i``."""
        return self._shaped("dims", int(self.n_components), -1)

    @property
    def n_dims_(self) -> np.ndarray:
        """Each component's subspace size (0 until the warm-up is over)."""
        return self._view("n_dims")

    @property
    def tables_(self) -> np.ndarray:
        """The count-min sketch, ``(n_hashes, hash_range)``, counts scaled by ``stats_[0]``."""
        return self._shaped("tables", int(self.n_hashes), int(self.hash_range))

    @property
    def stats_(self) -> np.ndarray:
        """The count scale g and the number of points learned."""
        return self._view("stats")

    @property
    def growth_(self) -> float:
        """``2 ** decay``: the count scale's factor per point learned."""
        return float(self.stack_.cfg.growth[0])


RSHash._stack_class = RSHashStack
