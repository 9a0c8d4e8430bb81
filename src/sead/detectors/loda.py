"""LODA: streaming histograms over sparse random projections (Pevný 2016)."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .._params import SEED, Interval, validate_params
from .._stack import LEARN, SCORE, Stack, member_ints, slot_runs
from ..base import StackedDetector

__all__ = ["LODA"]

# Projected values are clipped to this magnitude (each term first, when a sum overflows), so that
# a huge (but finite) input can neither overflow to inf or NaN nor make the bin-doubling loop run
# for ever.
_CLIP = 1e250
# The width set from the first two distinct values is at least this, so its inverse is finite.
_MIN_WIDTH = 1e-300
# Rows holding a value beyond this magnitude are projected with every term clipped to ±_CLIP
# (a term w * x can overflow to ±inf, and inf - inf is NaN).
_HUGE = 1e300
# A bound on the doublings of one widening (a value within ±_CLIP needs fewer than 2,000).
_MAX_DOUBLINGS = 4096
# Bounded influence of one point on the bins: a learned value that the range would have to grow
# by more than _FAR_DOUBLINGS doublings (8x) to cover is *far*; far values are held as weight in
# an overflow beside the histogram (one per side) and widen the range only once that side's
# overflow holds at least _FAR_SHARE of the (decayed) weight learned. So one glitch row cannot
# stretch the bins, while a real change of scale (far values that keep coming) still does.
_FAR_DOUBLINGS = 3
_FAR_LEFT = float(2**_FAR_DOUBLINGS - 1)  # in ranges (n_bins bins) left of the left edge
_FAR_RIGHT = float(2**_FAR_DOUBLINGS)  # in ranges right of the left edge
_FAR_SHARE = 0.05
# With forgetting, counts are stored multiplied by a growing scale g; when g passes this value
# every count (and the total weight) is divided by g and g restarts at 1.
_RESCALE_AT = 2.0**64
# Scores multiply up to this many density ratios (each in (0, 1], none below 2**-53) before
# taking one log (16 * 53 < 1022: the product cannot underflow).
_LOG_GROUP = 16

# Indices into the ``stats_`` array: the count scale g, the (scaled) weight of everything
# learned, the number of points learned.
_G, _N, _SEEN = 0, 1, 2


# ---- kernels ------------------------------------------------------------------------------------


@njit(cache=True)
def _project_clipped(x, proj_idx, proj_w, k):
    """Projection ``k`` of a row holding a huge value: every term clipped to ``±_CLIP``, then the
    sum (clipped too). (A term ``w * x`` of a finite ``x`` near the float limit can overflow to
    ``±inf``, and two such terms of opposite signs sum to NaN.)"""
    s = 0.0
    for j in range(proj_idx.shape[1]):
        t = proj_w[k, j] * x[proj_idx[k, j]]
        s += min(max(t, -_CLIP), _CLIP)
    return min(max(s, -_CLIP), _CLIP)


@njit(cache=True)
def _project(x, proj_idx, proj_w, out):
    """Sparse projections of one row: ``out[k] = sum_j proj_w[k, j] * x[proj_idx[k, j]]``,
    clipped to ``±_CLIP`` (never inf or NaN for a finite row).

    A row holding a value beyond ``±_HUGE`` takes :func:`_project_clipped`; below it no term can
    overflow (the weights are standard normal draws, far below ``1.7e8``), so the common path
    only clips the sums."""
    K, q = proj_idx.shape
    for j in range(x.shape[0]):
        if not (-_HUGE <= x[j] <= _HUGE):
            for k in range(K):
                out[k] = _project_clipped(x, proj_idx, proj_w, k)
            return
    for k in range(K):
        s = 0.0
        for j in range(q):
            s += proj_w[k, j] * x[proj_idx[k, j]]
        if s > _CLIP:
            s = _CLIP
        elif s < -_CLIP:
            s = -_CLIP
        out[k] = s


@njit(cache=True)
def _bin_of(v, low, inv_width):
    """Bin coordinate of ``v`` as a float (may lie outside ``[0, n_bins)``)."""
    return np.floor((v - low) * inv_width)


@njit(cache=True)
def _find_bins(p, low, inv_width, n_bins, bins):
    """``bins[k]``: the bin of ``p[k]``, or -1 outside the range or without a width yet."""
    for k in range(p.shape[0]):
        bins[k] = -1
        iw = inv_width[k]
        if iw != 0.0:
            b = _bin_of(p[k], low[k], iw)
            if 0.0 <= b < n_bins:
                bins[k] = int(b)


@njit(cache=True)
def _score_projected(p, hist, low, inv_width, log_width, over, stats, bins):
    """Mean over the projections of -log density of each projected value (the LODA score).

    Density of bin ``b`` of histogram ``k``: ``(c + 1) / ((n + n_bins) * width_k)`` with the
    (decayed) count ``c`` of the bin and the (decayed) number of points ``n``; a value outside
    the histogram's range counts as an empty bin. A projection that has seen a single distinct
    value so far (no width yet) contributes 0 for that value and ``max(0, log(n / (o + 1)))`` for
    any other, with ``o`` the weight of other values held on that side (see ``_FAR_SHARE``): the
    surprise of a new value after ``n`` points, ``n - o`` of them identical (0 after a single
    point). ``bins[k]`` receives the bin of ``p[k]``, or -1 when it is outside the range or the
    histogram has no width yet.
    """
    K, B = hist.shape
    g = stats[_G]
    inv_z = 1.0 / (stats[_N] + B * g)
    acc = 0.0
    prod = 1.0
    m = 0
    for k in range(K):
        iw = inv_width[k]
        b = _bin_of(p[k], low[k], iw)
        bi = -1
        c = 0.0
        if iw != 0.0 and 0.0 <= b < B:
            bi = int(b)
            c = hist[k, bi]
        bins[k] = bi
        if iw != 0.0:
            prod *= (c + g) * inv_z
            acc += log_width[k]
        elif p[k] != low[k]:
            r = stats[_N] / (over[k, 0 if p[k] < low[k] else 1] + g)
            if r > 1.0:
                acc += math.log(r)
        m += 1
        if m == _LOG_GROUP:
            acc -= math.log(prod)
            prod = 1.0
            m = 0
    acc -= math.log(prod)
    return acc / K


@njit(cache=True)
def _extend(k, v, hist, low, width, inv_width, log_width, tmp):
    """Double histogram ``k``'s bin width towards ``v`` (merging pairs of bins) until ``v`` fits;
    returns the bin of ``v``.

    A finite ``v`` (``|v| <= _CLIP``) fits after at most ~1,900 doublings (from the smallest
    width ``_MIN_WIDTH``); the loop stops after ``_MAX_DOUBLINGS`` whatever the input, at the
    edge bin on ``v``'s side."""
    B = hist.shape[1]
    for _ in range(_MAX_DOUBLINGS):
        b = _bin_of(v, low[k], inv_width[k])
        if 0.0 <= b < B:
            log_width[k] = math.log(width[k])
            return int(b)
        for j in range(2 * B):
            tmp[j] = 0.0
        if b < 0.0:  # extend to the left: the old bins become the right half
            for j in range(B):
                tmp[B + j] = hist[k, j]
            low[k] -= B * width[k]
        else:  # extend to the right: the old bins become the left half
            for j in range(B):
                tmp[j] = hist[k, j]
        for j in range(B):
            hist[k, j] = tmp[2 * j] + tmp[2 * j + 1]
        width[k] *= 2.0
        inv_width[k] *= 0.5
    log_width[k] = math.log(width[k])
    return 0 if _bin_of(v, low[k], inv_width[k]) < 0.0 else B - 1


@njit(cache=True)
def _hold_far(k, side, over, stats, g):
    """Add weight ``g`` to histogram ``k``'s overflow on ``side``; returns 0 when the value stays
    held there, or the overflow's weight (then emptied) when it reached ``_FAR_SHARE`` of the
    weight learned and the range is to grow to the value."""
    o = over[k, side] + g
    if o < _FAR_SHARE * (stats[_N] + g):
        over[k, side] = o
        return 0.0
    over[k, side] = 0.0
    return o


@njit(cache=True)
def _learn_outside(k, v, hist, low, width, inv_width, log_width, over, stats, g, tmp):
    """Learn value ``v`` of histogram ``k`` (weight ``g``) when it is outside the range or the
    histogram has no width yet: widen the range, or hold a far value (see ``_FAR_SHARE``) in the
    overflow on its side until far values there are common — then the range grows to the
    current value and the overflow's weight goes to its bin. (Apart from
    :func:`_learn_projected`'s loop, which it keeps small.)"""
    B = hist.shape[1]
    if width[k] == 0.0:  # a single distinct value seen so far, kept in low[k]
        seen = low[k]
        if v == seen:
            hist[k, 0] += g
            return
        # after many identical points a new value is far (there is no scale yet)
        add = _hold_far(k, 0 if v < seen else 1, over, stats, g)
        if add == 0.0:
            return
        # the smaller value starts the first bin, the larger one falls mid-last-bin
        w = abs(v - seen) / (B - 0.5)
        if w < _MIN_WIDTH:
            w = _MIN_WIDTH
        width[k] = w
        inv_width[k] = 1.0 / w
        low[k] = min(v, seen)
        c = hist[k, 0]
        hist[k, 0] = 0.0
        hist[k, _extend(k, seen, hist, low, width, inv_width, log_width, tmp)] = c
        hist[k, _extend(k, v, hist, low, width, inv_width, log_width, tmp)] += add
        return
    add = g
    e = _bin_of(v, low[k], inv_width[k])
    if e < -_FAR_LEFT * B or e >= _FAR_RIGHT * B:
        add = _hold_far(k, 0 if e < 0.0 else 1, over, stats, g)
        if add == 0.0:
            return
    hist[k, _extend(k, v, hist, low, width, inv_width, log_width, tmp)] += add


@njit(cache=True)
def _learn_projected(p, bins, hist, low, width, inv_width, log_width, over, stats, growth, tmp):
    """Add one projected point to every histogram (with weight g), then age the counts.

    ``bins`` is what :func:`_score_projected` wrote for ``p`` against the same state; values
    outside a histogram's range go to :func:`_learn_outside`.
    """
    K, B = hist.shape
    g = stats[_G]
    if stats[_SEEN] == 0.0:
        for k in range(K):
            low[k] = p[k]
            hist[k, 0] += g
    else:
        for k in range(K):
            b = bins[k]
            if b >= 0:
                hist[k, b] += g
            else:
                _learn_outside(k, p[k], hist, low, width, inv_width, log_width, over, stats, g, tmp)
    stats[_N] += g
    stats[_SEEN] += 1.0
    if growth != 1.0:
        g *= growth
        if g >= _RESCALE_AT:
            inv = 1.0 / g
            for k in range(K):
                for j in range(B):
                    hist[k, j] *= inv
                over[k, 0] *= inv
                over[k, 1] *= inv
            stats[_N] *= inv
            g = 1.0
        stats[_G] = g


@njit(cache=True)
def _score_rows(X, proj_idx, proj_w, hist, low, inv_width, log_width, over, stats):
    out = np.empty(X.shape[0])
    p = np.empty(proj_idx.shape[0])
    bins = np.empty(proj_idx.shape[0], dtype=np.int64)
    for t in range(X.shape[0]):
        _project(X[t], proj_idx, proj_w, p)
        out[t] = _score_projected(p, hist, low, inv_width, log_width, over, stats, bins)
    return out


@njit(cache=True)
def _learn_rows(
    X, proj_idx, proj_w, hist, low, width, inv_width, log_width, over, stats, growth, score
):
    """Learn the rows of X in order; with ``score``, score each row first (prequential) and
    return the scores (else an empty array)."""
    out = np.empty(X.shape[0] if score else 0)
    p = np.empty(proj_idx.shape[0])
    bins = np.empty(proj_idx.shape[0], dtype=np.int64)
    tmp = np.empty(2 * hist.shape[1])
    for t in range(X.shape[0]):
        _project(X[t], proj_idx, proj_w, p)
        if score:  # scoring also finds the bins
            out[t] = _score_projected(p, hist, low, inv_width, log_width, over, stats, bins)
        else:
            _find_bins(p, low, inv_width, hist.shape[1], bins)
        _learn_projected(p, bins, hist, low, width, inv_width, log_width, over, stats, growth, tmp)
    return out


# ---- stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

LODAState = namedtuple(
    "LODAState",
    ["proj_idx", "proj_w", "hist", "low", "width", "inv_width", "log_width", "over", "stats"],
)
LODAState.__doc__ = """State of stacked LODA; per member (``K`` projections with ``q`` non-zero
weights each, ``B`` bins), flattened into each slot's row:

* ``proj_idx`` int64 ``(K, q)`` the features of each projection (sorted);
* ``proj_w`` float64 ``(K, q)`` their weights;
* ``hist`` float64 ``(K, B)`` the (scaled, decayed) bin counts;
* ``low`` float64 ``(K,)`` the left edge of each histogram (the value seen, while a single
  distinct one has been);
* ``width``, ``inv_width``, ``log_width`` float64 ``(K,)`` the bin width (0 while a single
  distinct value has been seen), its inverse and its log (0 while the width is 0);
* ``over`` float64 ``(K, 2)`` the (scaled, decayed) weight of far values held left and right of
  each histogram;
* ``stats`` float64 ``(3,)`` the count scale g, the scaled weight of everything learned, the
  number of points learned.
"""
LODAConfig = namedtuple("LODAConfig", ["off", "n_cuts", "n_bins", "n_nonzero", "growth"])
LODAConfig.__doc__ = """Per-member parameters ``(m,)``: ``n_cuts``, ``n_bins`` and ``n_nonzero``
(int64), ``growth = 2 ** decay`` (float64); and the field offsets ``off`` ``(9, m + 1)``."""
_PROJ_IDX, _PROJ_W, _HIST, _LOW, _WIDTH, _INV_WIDTH, _LOG_WIDTH, _OVER, _STATS = range(9)


@njit(cache=True, nogil=True)
def loda_kernel(X, slots, modes, out, cfg, st):
    """The stacked LODA kernel (arguments as in :mod:`sead._stack`)."""
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.n_cuts.shape[0]):
        K = cfg.n_cuts[j]
        B = cfg.n_bins[j]
        q = cfg.n_nonzero[j]
        growth = cfg.growth[j]
        for r in range(starts.shape[0] - 1):
            a, b = starts[r], starts[r + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            proj_idx = st.proj_idx[s, off[_PROJ_IDX, j] : off[_PROJ_IDX, j + 1]].reshape((K, q))
            proj_w = st.proj_w[s, off[_PROJ_W, j] : off[_PROJ_W, j + 1]].reshape((K, q))
            hist = st.hist[s, off[_HIST, j] : off[_HIST, j + 1]].reshape((K, B))
            low = st.low[s, off[_LOW, j] : off[_LOW, j + 1]]
            width = st.width[s, off[_WIDTH, j] : off[_WIDTH, j + 1]]
            inv_width = st.inv_width[s, off[_INV_WIDTH, j] : off[_INV_WIDTH, j + 1]]
            log_width = st.log_width[s, off[_LOG_WIDTH, j] : off[_LOG_WIDTH, j + 1]]
            over = st.over[s, off[_OVER, j] : off[_OVER, j + 1]].reshape((K, 2))
            stats = st.stats[s, off[_STATS, j] : off[_STATS, j + 1]]
            if mode == SCORE:
                out[a:b, j] = _score_rows(
                    X[a:b], proj_idx, proj_w, hist, low, inv_width, log_width, over, stats
                )
            else:
                scores = _learn_rows(
                    X[a:b],
                    proj_idx,
                    proj_w,
                    hist,
                    low,
                    width,
                    inv_width,
                    log_width,
                    over,
                    stats,
                    growth,
                    mode != LEARN,
                )
                if mode != LEARN:
                    # a contiguous result copied into the column (writing the strided column
                    # row by row in the loop measured ~5% slower)
                    out[a:b, j] = scores


class LODAStack(Stack):
    """LODA detectors of any sizes, stacked (see :mod:`sead._stack`)."""

    State = LODAState
    dtypes = {
        "proj_idx": np.int64,
        "proj_w": np.float64,
        "hist": np.float64,
        "low": np.float64,
        "width": np.float64,
        "inv_width": np.float64,
        "log_width": np.float64,
        "over": np.float64,
        "stats": np.float64,
    }
    kernel = staticmethod(loda_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        K, B = int(det.n_random_cuts), int(det.n_bins)
        d = schema.n_features
        q = max(1, int(math.sqrt(d)))
        rng = np.random.default_rng(det.seed)
        # each row a permutation of the features (the same draws as K calls of rng.permutation),
        # cut to q and sorted, so each dot product reads the row left to right
        proj_idx = np.sort(
            rng.permuted(np.tile(np.arange(d, dtype=np.int64), (K, 1)), axis=1)[:, :q], axis=1
        )
        return {
            "proj_idx": proj_idx,
            "proj_w": rng.standard_normal((K, q)),
            "hist": np.zeros((K, B)),
            "low": np.zeros(K),
            "width": np.zeros(K),  # 0: the projection has seen a single distinct value
            "inv_width": np.zeros(K),
            "log_width": np.zeros(K),
            "over": np.zeros((K, 2)),
            "stats": np.array([1.0, 0.0, 0.0]),  # count scale g, scaled weight n, points seen
        }

    @staticmethod
    def make_config(members, schema, off):
        q = max(1, int(math.sqrt(schema.n_features)))
        return LODAConfig(
            off,
            member_ints(members, "n_random_cuts"),
            member_ints(members, "n_bins"),
            np.full(len(members), q, dtype=np.int64),
            np.array([float(2.0 ** float(m.decay)) for m in members]),
        )


# ---- the detector -------------------------------------------------------------------------------


class LODA(StackedDetector):
    """LODA (Lightweight On-line Detector of Anomalies), with compiled streaming histograms.

    LODA [^1] projects each point on ``n_random_cuts`` sparse random directions and keeps a
    one-dimensional equi-width histogram of ``n_bins`` bins on each. The score of a point is the
    mean over the projections of ``-log`` of the density of its bin. Each direction has
    ``max(1, int(sqrt(d)))`` non-zero weights drawn from N(0, 1) on features chosen at random.
    The algorithm follows PySAD's streaming ``LODA`` (same ``n_bins`` and ``n_random_cuts``
    defaults, same histograms), with an exponential forgetting of the counts and a bounded
    influence of far values (a glitch row) added.

    It is good at global, scattered anomalies (points far from the bulk along some direction) and
    is one of the cheapest detectors there is: each point costs ``n_random_cuts`` sparse dot
    products and histogram look-ups. It is weak at anomalies that only show in the joint values
    of many features at once (each histogram sees one direction), and a few random directions
    make it noisy: its accuracy varies noticeably with ``seed`` at small ``n_random_cuts``.

    Histograms. The range of each histogram is not known in advance: the first two distinct
    projected values set the bin width (the smaller one starts the first bin and the larger falls
    in the middle of the last), and a value outside the current range doubles the width, merging
    adjacent pairs of bins, until it fits — so the range follows the data outwards, keeping the
    counts exact, but never shrinks. One point's influence on the bins is bounded: a value the
    range would have to grow more than 8-fold (3 doublings) to cover is *far*, and is held as
    weight in an overflow beside the histogram (one per side) instead of stretching it; only when
    the far values on one side make 5% of the (decayed) weight learned does the range grow to
    the latest one (a change of scale, not a glitch). So a glitch row — up to the float limit —
    neither blinds the histograms nor changes their bins, while a stream that moves far away is
    still learned. The same holds after a long constant stream: the first other values are held
    until they are 5% of the weight, rather than fixing the bin width. For the first 20 points
    (5% is then one point or more) every value widens the range, as in PySAD — and always with a
    half-life under ~14 points (``decay`` above ~0.074), whose decayed weight stays below 20.
    When scoring, a value outside the range counts as an empty bin of the current width (a high
    but finite score). Projected values are clipped to ±1e250, so every finite input scores
    finitely. Features need no scaling (the projections are linear and each histogram finds its
    own range).

    Forgetting (``decay``): the histograms are exponentially decayed, not windowed — a point
    learned ``a`` points ago counts ``2 ** (-decay * a)`` in its bin and in ``n`` (a half-life of
    ``1 / decay`` points, 10,000 at the default), so the densities follow a drifting stream;
    ``decay=0`` keeps exact counts of everything seen and then reproduces PySAD's ``LODA``
    (to ~1e-14, given the same projections) as long as no far value is held. Either way the
    state has a fixed size: memory is bounded on an unbounded stream.

    Cost per point (score + learn): ``O(n_random_cuts * sqrt(d))``, independent of ``n_bins``
    except when a histogram is widened (``O(n_bins)``, rare). State: ``8 * (n_random_cuts *
    (n_bins + 6 + 2 * int(sqrt(d))) + 3)`` bytes per stream (one slot of the stack, see
    :mod:`sead._stack`) — 17,624 bytes at the defaults with ``d = 9`` or ``10``.

    Scores: ``-mean_k log density_k``, higher = more anomalous; a real number of either sign whose
    scale depends on the data's (projected) scale — it has no fixed range. A projection that has
    seen a single distinct value so far has no density: it contributes 0 for that value (so the
    first points score 0) and ``log(n / (o + 1))`` for any other value after ``n`` points, ``o``
    of them other values held on that side (0 after one point) — after a long constant stream,
    any change scores high.

    Parameters
    ----------
    n_bins
        Number of bins of each histogram (PySAD's ``num_bins``).
    n_random_cuts
        Number of random projections, i.e. histograms (PySAD's ``num_random_cuts``).
    decay
        Forgetting rate: counts fade by a factor ``2 ** -decay`` per point learned (half-life
        ``1 / decay`` points); 0 keeps every count (no forgetting, PySAD's behaviour). Below
        1024, so that ``2 ** decay`` is a finite float.
    seed
        Random seed for the projections (``numpy.random.default_rng(seed)``).

    References
    ----------
    [^1]: Pevný, T., 2016. Loda: Lightweight on-line detector of anomalies. Machine Learning,
        102(2), pp. 275-304.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.loda import LODA
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(1000, 4))
    >>> X[-1] = [6.0, -6.0, 6.0, -6.0]  # an outlier at the end
    >>> det = LODA(n_random_cuts=50, seed=0)
    >>> scores = det.score_learn_many(X)
    >>> print(f"typical: {np.median(scores[100:-1]):.3f}   outlier: {scores[-1]:.3f}")
    typical: 1.546   outlier: 6.083
    """

    _parameter_constraints = {
        "n_bins": [Interval("int", 1, None)],
        "n_random_cuts": [Interval("int", 1, None)],
        # 2 ** decay must be a finite float
        "decay": [Interval("real", 0, 1024, closed="left")],
        "seed": SEED,
    }

    def __init__(
        self,
        n_bins: int = 10,
        n_random_cuts: int = 100,
        decay: float = 1e-4,
        seed: int | None = 0,
    ):
        self.n_bins = n_bins
        self.n_random_cuts = n_random_cuts
        self.decay = decay
        self.seed = seed

    @classmethod
    def _unit_test_params(cls):
        yield {"n_bins": 8, "n_random_cuts": 20, "seed": 1}
        yield {"n_bins": 5, "n_random_cuts": 10, "decay": 0.01, "seed": 2}

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def proj_idx_(self) -> np.ndarray:
        """The features of each projection, ``(n_random_cuts, q)`` (sorted)."""
        return self._shaped("proj_idx", int(self.n_random_cuts), -1)

    @property
    def proj_w_(self) -> np.ndarray:
        """The weights of each projection, ``(n_random_cuts, q)``."""
        return self._shaped("proj_w", int(self.n_random_cuts), -1)

    @property
    def hist_(self) -> np.ndarray:
        """Bin counts, ``(n_random_cuts, n_bins)``, scaled by ``stats_[0]``."""
        return self._shaped("hist", int(self.n_random_cuts), int(self.n_bins))

    @property
    def low_(self) -> np.ndarray:
        """Left edge of each histogram (the value seen, while a single one has been)."""
        return self._view("low")

    @property
    def width_(self) -> np.ndarray:
        """Bin width of each histogram (0 while a single distinct value has been seen)."""
        return self._view("width")

    @property
    def inv_width_(self) -> np.ndarray:
        """``1 / width_`` (0 while the width is 0)."""
        return self._view("inv_width")

    @property
    def log_width_(self) -> np.ndarray:
        """``log(width_)`` (0 while the width is 0)."""
        return self._view("log_width")

    @property
    def overflow_(self) -> np.ndarray:
        """Weight of the far values held left and right of each histogram, ``(n_random_cuts, 2)``,
        scaled by ``stats_[0]``."""
        return self._shaped("over", int(self.n_random_cuts), 2)

    @property
    def stats_(self) -> np.ndarray:
        """The count scale g, the scaled weight of everything learned, the points learned."""
        return self._view("stats")

    @property
    def growth_(self) -> float:
        """``2 ** decay``: the count scale's factor per point learned."""
        return float(self.stack_.cfg.growth[0])


LODA._stack_class = LODAStack
