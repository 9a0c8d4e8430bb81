"""Rule-based detectors: a running robust z-score and fixed per-feature bounds.

These are the "rule-based method" of a SEAD pool: cheap, interpretable, and a good baseline on
telemetry (latency, error counts, CPU), where an operator already knows what "too high" means
or where a feature's own recent history is the natural yardstick.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple
from collections.abc import Mapping

import numpy as np
from numba import njit

from .._kernels.sorted import lower_bound
from .._params import Interval, Options, validate_params
from .._stack import LEARN, SCORE, Stack, slot_runs
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["ZScoreRule", "ThresholdRule"]

_MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): MAD -> standard deviation for normal data
_MEANAD_TO_SD = 1.2533  # sqrt(pi / 2): mean absolute deviation -> standard deviation
_FMAX = float(np.finfo(np.float64).max)
#: the largest score of a rule: deviations beyond it (only possible for values near the float
#: limit) score this much. Below the float limit with room to spare, so that a consumer may add
#: or average scores without overflow.
MAX_SCORE = 1e300
#: ZScoreRule (EWMA): from this many points learned on, each update is winsorised ...
_N_ESTABLISHED = 10
#: ... at this many current scales (Huber's winsorising; see the class docstring)
_CLIP = 100.0


# ------------------------------------------------------------------------------------------
# z-score kernels


@njit(cache=True, inline="always")
def _floor(scale, center, min_scale):
    """The scale floored at ``min_scale * max(1, |center|)``, and saturated at the float limit
    (a scale that overflowed, or a floor beyond the float range, is the largest float)."""
    return min(max(scale, min_scale * max(1.0, abs(center))), _FMAX)


@njit(cache=True, inline="always")
def _z_row(x, center, scale):
    """min(max_j |x[j] - center[j]| / scale[j], MAX_SCORE).

    The state is finite with ``scale > 0``, so a quotient is finite or, when the difference or
    the division overflows, ``inf``, which the cap turns into ``MAX_SCORE``: never NaN, never inf.
    """
    best = 0.0
    for j in range(x.shape[0]):
        z = abs(x[j] - center[j]) / scale[j]
        if z > best:
            best = z
    return min(best, MAX_SCORE)


@njit(cache=True)
def _z_score(X, center, scale, out):
    """out[r] = the capped z-score of row r (see _z_row)."""
    for r in range(X.shape[0]):
        out[r] = _z_row(X[r], center, scale)


@njit(cache=True)
def _ewma_update(x, mean, var, scale, n, alpha, min_scale):
    """Exponentially weighted mean and variance (Finch 2009) with weight max(alpha, 1/(n+1)),
    so the first 1/alpha points give the exact running mean and (population) variance.

    Once established (``n >= _N_ESTABLISHED``, and ``a < 1``: with ``a = 1`` the state is the
    last point alone), the deviation ``x - mean`` enters the update winsorised at ``_CLIP``
    current scales, which bounds what one row can do to the mean and the variance."""
    a = max(alpha, 1.0 / (n + 1))
    winsorise = n >= _N_ESTABLISHED and a < 1.0
    for j in range(x.shape[0]):
        diff = x[j] - mean[j]
        if winsorise:
            lim = _CLIP * scale[j]
            if diff > lim:
                diff = lim
            elif diff < -lim:
                diff = -lim
        incr = a * diff
        if abs(diff) <= _FMAX:
            m = mean[j] + incr
        else:  # x - mean overflowed (both near the float limit, opposite signs): convex form
            m = (1.0 - a) * mean[j] + a * x[j]
        mean[j] = min(max(m, -_FMAX), _FMAX)  # saturates (only a rounding or a clipped step)
        v = var[j] + diff * incr
        if v > _FMAX:  # the variance saturates at the float limit instead of overflowing
            v = _FMAX
        var[j] = (1.0 - a) * v
        scale[j] = _floor(math.sqrt(var[j]), mean[j], min_scale)


@njit(cache=True)
def _ewma_learn(X, mean, var, scale, n, alpha, min_scale):
    for r in range(X.shape[0]):
        _ewma_update(X[r], mean, var, scale, n, alpha, min_scale)
        n += 1
    return n


@njit(cache=True)
def _ewma_score_learn(X, mean, var, scale, n, alpha, min_scale, out):
    for r in range(X.shape[0]):
        out[r] = _z_row(X[r], mean, scale) if n > 0 else 0.0
        _ewma_update(X[r], mean, var, scale, n, alpha, min_scale)
        n += 1
    return n


@njit(cache=True)
def _kth_deviation(a, n, m, med, k):
    """k-th smallest (0-based) of |a[i] - med| over the sorted a[:n], where a[:m] < med <= a[m:n].

    The deviations left of m, read leftwards, and right of m, read rightwards, are two sorted
    lists; the k-th smallest of their union is found by binary search (O(log n)).
    """
    n_left = m
    n_right = n - m
    lo = max(0, k + 1 - n_right)
    hi = min(k + 1, n_left)
    while lo < hi:  # c = how many of the k + 1 smallest come from the left list
        c = (lo + hi) >> 1
        if med - a[m - 1 - c] < a[m + k - c] - med:
            lo = c + 1
        else:
            hi = c
    c = lo
    best = -1.0
    if c > 0:
        best = med - a[m - c]
    if k - c >= 0:
        best = max(best, a[m + k - c] - med)
    return best


@njit(cache=True)
def _median_update(x, ring, srt, n, pos, center, scale, min_scale):
    """Slide the window by one row (x replaces the oldest value once full) and refresh the
    median and the scaled MAD of every feature."""
    w = ring.shape[0]
    full = n >= w
    size = w if full else n + 1
    for j in range(x.shape[0]):
        s = srt[j]
        v = x[j]
        if full:  # delete the oldest value, then insert v: one shift between the two places
            old = ring[pos, j]
            i = lower_bound(s, w, old)
            if v >= old:
                k = i
                while k + 1 < w and s[k + 1] < v:
                    s[k] = s[k + 1]
                    k += 1
                s[k] = v
            else:
                k = i
                while k > 0 and s[k - 1] > v:
                    s[k] = s[k - 1]
                    k -= 1
                s[k] = v
        else:
            k = n
            while k > 0 and s[k - 1] > v:
                s[k] = s[k - 1]
                k -= 1
            s[k] = v
        ring[pos, j] = v
        h = size >> 1
        if size & 1:
            med = s[h]
        else:
            med = s[h - 1] + s[h]
            med = 0.5 * med if abs(med) <= _FMAX else 0.5 * s[h - 1] + 0.5 * s[h]  # no overflow
        m = lower_bound(s, size, med)
        if size & 1:
            mad = _kth_deviation(s, size, m, med, h)
        else:
            mad = 0.5 * (
                _kth_deviation(s, size, m, med, h - 1) + _kth_deviation(s, size, m, med, h)
            )
        sc = _MAD_TO_SD * mad  # deviations that overflow make it inf: saturated by _floor
        if sc == 0.0:  # more than half the window on one value: use the mean absolute deviation
            tot = 0.0
            for i in range(size):
                tot += abs(s[i] - med)
            sc = _MEANAD_TO_SD * tot / size
        center[j] = med
        scale[j] = _floor(sc, med, min_scale)


@njit(cache=True)
def _median_learn(X, ring, srt, n, pos, center, scale, min_scale):
    w = ring.shape[0]
    for r in range(X.shape[0]):
        _median_update(X[r], ring, srt, n, pos, center, scale, min_scale)
        n = min(n + 1, w)
        pos = (pos + 1) % w
    return n, pos


@njit(cache=True)
def _median_score_learn(X, ring, srt, n, pos, center, scale, min_scale, out):
    w = ring.shape[0]
    for r in range(X.shape[0]):
        out[r] = _z_row(X[r], center, scale) if n > 0 else 0.0
        _median_update(X[r], ring, srt, n, pos, center, scale, min_scale)
        n = min(n + 1, w)
        pos = (pos + 1) % w
    return n, pos


# ------------------------------------------------------------------------------------------
# stacked z-score state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

ZScoreState = namedtuple("ZScoreState", ["center", "scale", "var", "ring", "srt", "scal"])
ZScoreState.__doc__ = """State of stacked z-score rules; per member (``d`` features; ``w`` the
window of a ``method="median"`` member), flattened into each slot's row:

* ``center`` float64 ``(d,)`` the EWMA mean or the window median of each feature;
* ``scale`` float64 ``(d,)`` the floored EWMA standard deviation or scaled MAD;
* ``var`` float64 ``(d,)`` the EWMA variance (``"ewma"``; ``(0,)`` for ``"median"``);
* ``ring`` float64 ``(w, d)`` the window in arrival order (``"median"``; ``(0,)`` for ``"ewma"``);
* ``srt`` float64 ``(d, w)`` the window of each feature, sorted (``"median"``; ``(0,)`` for
  ``"ewma"``);
* ``scal`` int64 ``(2,)`` points learned (``"median"``: at most ``w``), next ring position.
"""
ZScoreConfig = namedtuple("ZScoreConfig", ["off", "method", "alpha", "window", "min_scale"])
ZScoreConfig.__doc__ = """Per-member parameters ``(m,)``: ``method`` int64 (0 ``"ewma"``, 1
``"median"``), ``alpha`` float64, ``window`` int64 (0 for ``"ewma"``), ``min_scale`` float64;
and the field offsets ``off`` ``(6, m + 1)``."""
_CENTER, _SCALE, _VAR, _RING, _SRT, _ZSCAL = range(6)
_N, _POS = 0, 1
_EWMA, _MEDIAN = 0, 1


@njit(cache=True, nogil=True)
def zscore_kernel(X, slots, modes, out, cfg, st):
    """The stacked ZScoreRule kernel (arguments as in :mod:`sead._stack`); members of both
    methods may share a stack."""
    d = X.shape[1]
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.method.shape[0]):
        method = cfg.method[j]
        alpha = cfg.alpha[j]
        w = cfg.window[j]
        min_scale = cfg.min_scale[j]
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            center = st.center[s, off[_CENTER, j] : off[_CENTER, j + 1]]
            scale = st.scale[s, off[_SCALE, j] : off[_SCALE, j + 1]]
            sc = st.scal[s, off[_ZSCAL, j] : off[_ZSCAL, j + 1]]
            o = out[a:b, j]
            if mode == SCORE:
                if sc[_N] > 0:
                    _z_score(X[a:b], center, scale, o)
                else:
                    o[:] = 0.0
            elif method == _EWMA:
                var = st.var[s, off[_VAR, j] : off[_VAR, j + 1]]
                if mode == LEARN:
                    sc[_N] = _ewma_learn(X[a:b], center, var, scale, sc[_N], alpha, min_scale)
                else:
                    sc[_N] = _ewma_score_learn(
                        X[a:b], center, var, scale, sc[_N], alpha, min_scale, o
                    )
            else:
                ring = st.ring[s, off[_RING, j] : off[_RING, j + 1]].reshape((w, d))
                srt = st.srt[s, off[_SRT, j] : off[_SRT, j + 1]].reshape((d, w))
                if mode == LEARN:
                    sc[_N], sc[_POS] = _median_learn(
                        X[a:b], ring, srt, sc[_N], sc[_POS], center, scale, min_scale
                    )
                else:
                    sc[_N], sc[_POS] = _median_score_learn(
                        X[a:b], ring, srt, sc[_N], sc[_POS], center, scale, min_scale, o
                    )


class ZScoreStack(Stack):
    """Z-score rules of both methods and any windows, stacked (see :mod:`sead._stack`)."""

    State = ZScoreState
    dtypes = {
        "center": np.float64,
        "scale": np.float64,
        "var": np.float64,
        "ring": np.float64,
        "srt": np.float64,
        "scal": np.int64,
    }
    kernel = staticmethod(zscore_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        d = schema.n_features
        ewma = det.method == "ewma"
        w = 0 if ewma else int(det.window)
        return {
            "center": np.zeros(d),
            "scale": np.ones(d),
            "var": np.zeros(d if ewma else 0),
            "ring": np.zeros(w * d),
            "srt": np.zeros(d * w),
            "scal": np.zeros(2, dtype=np.int64),
        }

    @staticmethod
    def make_config(members, schema, off):
        ewma = [m.method == "ewma" for m in members]
        return ZScoreConfig(
            off,
            np.array([_EWMA if e else _MEDIAN for e in ewma], dtype=np.int64),
            np.array([float(m.alpha) for m in members]),
            np.array([0 if e else int(m.window) for e, m in zip(ewma, members)], dtype=np.int64),
            np.array([float(m.min_scale) for m in members]),
        )


# ------------------------------------------------------------------------------------------
# ZScoreRule


class ZScoreRule(StackedDetector):
    """Running z-score rule: how many (robust) standard deviations the most deviant feature is.

    The score of a point is ``max_j |x_j - center_j| / scale_j`` over its features, with a
    center and a scale per feature learned from the stream:

    * ``method="ewma"`` (default): exponentially weighted mean and standard deviation with
      weight ``alpha`` (a memory of about ``1/alpha`` points, 1,000 at the default, so it
      follows level shifts and drift). The first ``1/alpha`` points use weight ``1/n``, i.e.
      the exact running mean and variance, so early scores are not biased towards the first
      value; ``alpha=0`` keeps that forever (no forgetting; on the stationary, shuffled ODDS
      benchmark sets it ranks best). O(d) per point, 24 bytes per feature.

      **Bounded influence.** From the 10th point learned on, a deviation ``x_j - center_j`` of
      more than 100 current scales enters the update as 100 scales (winsorised; the point is
      still scored in full). So one row — a glitch of 1e12, a "missing" sentinel near the float
      limit — weighs at most like a 100-sd outlier: it moves the mean by at most ``100 a``
      scales and multiplies the variance by at most ``(1 - a)(1 + 10^4 a)``, ``a`` the point's
      weight. At the default ``alpha`` the scale grows 3.3× and is back within 10 % about 3,700
      points later (with ``alpha=0``, which never forgets, the excess fades as ``1/n``: about
      50,000 points from the start of the stream). Normal data, heavy tails included, almost
      never reaches 100 scales, so its scores do not change. A genuine level shift is still
      followed: each clipped point multiplies the scale by up to ``sqrt((1 - a)(1 + 10^4 a))``.
      A feature that has been constant (its scale on the floor) takes a few points more than
      an unclipped EWMA to take in its first change (about 14 at the default ``alpha``), scoring
      it as large all along. The first 10 points are learned in full (there is no scale to
      measure them by yet: a glitch among them blinds the rule until it is forgotten), and
      ``alpha=1`` (the state is the last point alone) is never winsorised.
    * ``method="median"``: median and MAD of the last ``window`` values of each feature, the
      MAD multiplied by 1.4826 (the standard deviation for normal data). Robust: up to half the
      window may be outliers. When more than half of the window holds one value (MAD = 0, common
      on counters and discrete telemetry), the scale falls back to 1.2533 × the mean absolute
      deviation from the median. O(d × window) per point in the worst case (a sorted window per
      feature; the MAD is found in O(log window)), ``16 × window + 16`` bytes per feature.
      A glitch row (up to the float limit) moves the median and the MAD by one rank and leaves
      the window ``window`` points later; only the mean-deviation fallback is not robust: on a
      feature whose window is mostly one value, a glitch inflates the scale until it leaves.

    Good at: sudden spikes and level shifts in one or a few features (telemetry: latency, error
    rates); it adapts to slow drift. Bad at: anomalies that are only unusual *jointly* (every
    feature in range, the combination rare) and multi-modal features. Assumes numeric features;
    each feature is scaled by its own history, so no input scaling is needed.

    Scores are finite, in [0, 1e300] (``rules.MAX_SCORE``), higher = more anomalous (roughly a
    number of standard deviations), for every finite input: a deviation that would exceed 1e300
    scales (only possible for values near the float limit, ``np.finfo(float).max``, a common
    "missing" sentinel in telemetry) scores 1e300. A feature that has been (nearly) constant has
    a scale floored at ``min_scale × max(1, |center|)``, so a change in it scores high but
    finite. The state stays finite too: the EWMA mean is a convex combination of the values
    seen, and a variance or a MAD beyond the float range saturates at the largest float. The
    first point learned gives scale 0 -> the floor, so the second point's score is large unless
    it repeats the first; use a warm start.

    Parameters
    ----------
    method
        ``"ewma"`` or ``"median"``.
    alpha
        Weight of the newest point for ``method="ewma"``, in [0, 1]; 0 keeps the exact
        running mean and variance of everything seen (PySAD's ``StandardAbsoluteDeviation``).
    window
        Sliding window length for ``method="median"``.
    min_scale
        Relative floor of the scale (see above), > 0.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.

    References
    ----------
    Finch, T. (2009). Incremental calculation of weighted mean and variance.
    Hochenbaum, J., Vallis, O.S. and Kejariwal, A. (2017). Automatic anomaly detection in the
    cloud via statistical learning. arXiv:1704.07706 (median and MAD scores).

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.rules import ZScoreRule
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(loc=[10.0, 200.0], scale=[1.0, 20.0], size=(500, 2))
    >>> X[400, 1] = 320.0                               # a latency spike of 6 sd
    >>> z = ZScoreRule().score_learn_many(X)
    >>> print(np.round(z[[200, 300, 400]], 2))
    [0.55 1.42 6.01]
    >>> zm = ZScoreRule(method="median", window=200).score_learn_many(X)
    >>> print(np.round(zm[[200, 300, 400]], 2))
    [0.61 1.51 5.96]
    """

    _parameter_constraints = {
        "method": [Options("ewma", "median")],
        "alpha": [Interval("real", 0, 1)],
        "window": [Interval("int", 1, None)],
        "min_scale": [Interval("real", 0, None, closed="right")],
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self,
        method: str = "ewma",
        alpha: float = 0.001,
        window: int = 250,
        min_scale: float = 1e-9,
        missing: str = "impute",
        extra: str = "ignore",
    ):
        self.method = method
        self.alpha = alpha
        self.window = window
        self.min_scale = min_scale
        self.missing = missing
        self.extra = extra

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"method": "median", "window": 31}
        yield {"method": "median", "window": 20}

    def _warmup_points(self) -> int:
        # the first scores rest on a scale estimated from a handful of points (the first one on
        # the floor alone): huge and meaningless, they would skew an ensemble's quantiles
        return _N_ESTABLISHED

    # ---- the learned state, read from the stack ---------------------------------------------
    def _only(self, name: str, method: str) -> None:
        if self.method != method:
            raise AttributeError(
                f"{name}: only method={method!r} has it (this rule is {self.method!r})"
            )

    @property
    def center_(self) -> np.ndarray:
        """Center of each feature: the EWMA mean, or the median of the window, ``(d,)``."""
        return self._view("center")

    @property
    def scale_(self) -> np.ndarray:
        """Scale of each feature (floored), ``(d,)``."""
        return self._view("scale")

    @property
    def var_(self) -> np.ndarray:
        """EWMA variance of each feature, ``(d,)`` (``method="ewma"`` only)."""
        self._only("var_", "ewma")
        return self._view("var")

    @property
    def ring_(self) -> np.ndarray:
        """The window as a ring buffer, ``(window, d)``; ``method="median"`` only."""
        self._only("ring_", "median")
        return self._view("ring").reshape(int(self.window), -1)

    @property
    def sorted_(self) -> np.ndarray:
        """Each feature's window values, sorted (the first ``n_`` are in use), ``(d, window)``
        (``method="median"`` only)."""
        self._only("sorted_", "median")
        return self._view("srt").reshape(-1, int(self.window))

    @property
    def n_(self) -> int:
        """Points learned (for ``method="median"``: in the window, at most ``window``)."""
        return int(self._view("scal")[_N])

    @property
    def pos_(self) -> int:
        """Next position of the ring buffer (``method="median"`` only)."""
        self._only("pos_", "median")
        return int(self._view("scal")[_POS])


ZScoreRule._stack_class = ZScoreStack


# ------------------------------------------------------------------------------------------
# ThresholdRule


@njit(cache=True)
def _threshold_score(X, lower, upper, divisor, out):
    """out[r] = max_j distance of X[r, j] outside [lower_j, upper_j] / divisor_j (0 inside),
    capped at MAX_SCORE."""
    for r in range(X.shape[0]):
        best = 0.0
        for j in range(X.shape[1]):
            v = X[r, j]
            if v > upper[j]:
                z = (v - upper[j]) / divisor[j]
            elif v < lower[j]:
                z = (lower[j] - v) / divisor[j]
            else:
                z = 0.0
            if z > best:
                best = z
        out[r] = min(best, MAX_SCORE)  # an excess or a quotient that overflowed: MAX_SCORE


class _PerFeature:
    """A per-feature spec of ThresholdRule: a finite number, a sequence (an iterable that is not a
    string) or a mapping feature name -> value; the entries are checked against the schema at the
    first point learned."""

    def is_satisfied_by(self, v) -> bool:
        if isinstance(v, (str, bytes, bool, np.bool_)):
            return False
        if isinstance(v, numbers.Real):
            return math.isfinite(v)
        if isinstance(v, Mapping):
            return True
        try:
            iter(v)
        except TypeError:
            return False
        return True

    def __str__(self) -> str:
        return "a finite number, a sequence or a dict feature name -> value"


def _per_feature(name, spec, schema, allow_none):
    """Resolve a bound/scale spec (None, number, sequence, or dict name -> value) to a list of
    ``n_features`` floats or Nones, matched to the schema's feature names for dicts."""
    d = schema.n_features
    if spec is None:
        return [None] * d

    def one(key, v):
        if v is None and allow_none:
            return None
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(v):
            raise ValueError(
                f"{name}[{key!r}] must be a finite number{' or None' if allow_none else ''}, got "
                f"{v!r}"
            )
        return float(v)

    if isinstance(spec, Mapping):
        if schema.names is None:
            raise ValueError(
                f"{name} is a dict {dict(spec)!r}, but the input has no feature names (arrays or "
                f"sequences); pass {name} as a sequence of {d} values, or learn dicts/DataFrames"
            )
        unknown = [k for k in spec if k not in schema._index]
        if unknown:
            raise ValueError(
                f"{name} names unknown feature(s) {unknown}; the features are {list(schema.names)}"
            )
        return [one(k, spec[k]) if k in spec else None for k in schema.names]
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return [one(j, spec) for j in range(d)]
    if isinstance(spec, (str, bytes)):
        raise ValueError(f"{name} must be None, a number, a sequence or a dict, got {spec!r}")
    try:
        values = list(spec)
    except TypeError:
        raise ValueError(
            f"{name} must be None, a number, a sequence or a dict, got {spec!r}"
        ) from None
    if len(values) != d:
        raise ValueError(f"{name} has {len(values)} values but the input has {d} features")
    return [one(j, v) for j, v in enumerate(values)]


ThresholdState = namedtuple("ThresholdState", ["lower", "upper", "divisor", "scal"])
ThresholdState.__doc__ = """State of stacked threshold rules; per member (``d`` features),
flattened into each slot's row:

* ``lower`` float64 ``(d,)`` lower bounds (``-inf``: unbounded);
* ``upper`` float64 ``(d,)`` upper bounds (``inf``: unbounded);
* ``divisor`` float64 ``(d,)`` the divisor of each feature's excess;
* ``scal`` int64 ``(1,)`` 1 once a point has been learned, else 0.
"""
ThresholdConfig = namedtuple("ThresholdConfig", ["off"])
ThresholdConfig.__doc__ = """The field offsets ``off`` ``(4, m + 1)`` (the bounds, resolved from the
schema's feature names, are state: they have the width of the input)."""
_LOWER, _UPPER, _DIVISOR, _TSCAL = range(4)


@njit(cache=True, nogil=True)
def threshold_kernel(X, slots, modes, out, cfg, st):
    """The stacked ThresholdRule kernel (arguments as in :mod:`sead._stack`)."""
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(off.shape[1] - 1):
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            sc = st.scal[s, off[_TSCAL, j] : off[_TSCAL, j + 1]]
            o = out[a:b, j]
            if mode == LEARN:
                sc[0] = 1
                continue
            if mode == SCORE and sc[0] == 0:  # nothing learned yet: 0, as the protocol requires
                o[:] = 0.0
                continue
            _threshold_score(
                X[a:b],
                st.lower[s, off[_LOWER, j] : off[_LOWER, j + 1]],
                st.upper[s, off[_UPPER, j] : off[_UPPER, j + 1]],
                st.divisor[s, off[_DIVISOR, j] : off[_DIVISOR, j + 1]],
                o,
            )
            if mode != SCORE and sc[0] == 0:  # prequential: the first point is scored unlearned
                o[0] = 0.0
                sc[0] = 1


class ThresholdStack(Stack):
    """Threshold rules, stacked (see :mod:`sead._stack`)."""

    State = ThresholdState
    dtypes = {"lower": np.float64, "upper": np.float64, "divisor": np.float64, "scal": np.int64}
    kernel = staticmethod(threshold_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        lower, upper, divisor = det._resolve(schema)  # raises before any state is set
        return {
            "lower": lower,
            "upper": upper,
            "divisor": divisor,
            "scal": np.zeros(1, dtype=np.int64),
        }

    @staticmethod
    def make_config(members, schema, off):
        return ThresholdConfig(off)


class ThresholdRule(StackedDetector):
    """Fixed per-feature bounds: how far outside its allowed range the worst feature is.

    The score of a point is the largest, over its features, of the distance outside
    ``[lower_j, upper_j]`` divided by a per-feature divisor, and 0 when every feature is inside
    its bounds. The divisor of feature ``j`` is ``scale[j]`` when given, else the width
    ``upper_j - lower_j`` when both bounds are set and differ, else ``|bound|`` for a one-sided
    bound (so the score is the relative excess: latency 750 over an upper bound of 500 scores
    0.5), or 1 when that bound is 0.

    The rule learns nothing: ``learn_one`` only fixes the input's features (the first point, as
    for every detector; a detector that has learned nothing scores 0). Bounds given as a dict
    are matched to the feature names of dict or DataFrame input (features not named are
    unbounded); sequences are matched by position, and a single number applies to every
    feature. ``None`` means unbounded. Cost: O(d) per point, 24 bytes per feature.

    Good at: known operating limits (SLOs, physical limits) on telemetry. Bad at: anything the
    bounds do not describe — it never adapts. Scores are finite, in [0, 1e300]
    (``rules.MAX_SCORE``: an excess that would be larger, only possible for values or bounds near
    the float limit, scores 1e300), higher = more anomalous. A width ``upper - lower`` beyond the
    float range is taken as the largest float.

    Parameters
    ----------
    lower
        Lower bounds: None, a number, a sequence (None entries = unbounded) or a dict
        feature name -> bound.
    upper
        Upper bounds, same forms as ``lower``.
    scale
        Divisors (> 0), same forms; None entries use the default divisor described above.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.

    Examples
    --------
    >>> from sead.detectors.rules import ThresholdRule
    >>> rule = ThresholdRule(upper={"latency_ms": 500}, lower={"cpu": 0.0}, scale={"cpu": 0.1})
    >>> rule.learn_one({"latency_ms": 120.0, "cpu": 0.4})
    >>> rule.score_one({"latency_ms": 120.0, "cpu": 0.4})
    0.0
    >>> rule.score_one({"latency_ms": 750.0, "cpu": 0.4})
    0.5
    >>> rule.score_one({"latency_ms": 650.0, "cpu": -0.05})
    0.5
    """

    _parameter_constraints = {
        "lower": [None, _PerFeature()],
        "upper": [None, _PerFeature()],
        "scale": [None, _PerFeature()],
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self, lower=None, upper=None, scale=None, missing: str = "impute", extra: str = "ignore"
    ):
        self.lower = lower
        self.upper = upper
        self.scale = scale
        self.missing = missing
        self.extra = extra

    @classmethod
    def _unit_test_params(cls):
        yield {"lower": -2.0, "upper": 2.0}
        yield {"lower": -2.5, "upper": None, "scale": 0.5}

    def _resolve(self, schema):
        lo = _per_feature("lower", self.lower, schema, True)
        hi = _per_feature("upper", self.upper, schema, True)
        sc = _per_feature("scale", self.scale, schema, True)
        names = schema.names or range(schema.n_features)
        lower = np.full(schema.n_features, -np.inf)
        upper = np.full(schema.n_features, np.inf)
        divisor = np.ones(schema.n_features)
        for j, name in enumerate(names):
            a, b, s = lo[j], hi[j], sc[j]
            if a is not None and b is not None and a > b:
                raise ValueError(f"feature {name!r}: lower bound {a} is above upper bound {b}")
            if s is not None and s <= 0:
                raise ValueError(f"scale[{name!r}] must be > 0, got {s!r}")
            if a is not None:
                lower[j] = a
            if b is not None:
                upper[j] = b
            if s is not None:
                divisor[j] = s
            elif a is not None and b is not None and b > a:
                divisor[j] = min(b - a, _FMAX)  # a width beyond the float range saturates
            else:
                bound = a if a is not None else b
                if bound is not None and bound != 0.0:
                    divisor[j] = abs(bound)
        return lower, upper, divisor

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def lower_(self) -> np.ndarray:
        """Lower bound of each feature (``-inf``: unbounded), ``(d,)``."""
        return self._view("lower")

    @property
    def upper_(self) -> np.ndarray:
        """Upper bound of each feature (``inf``: unbounded), ``(d,)``."""
        return self._view("upper")

    @property
    def divisor_(self) -> np.ndarray:
        """Divisor of each feature's excess, ``(d,)``."""
        return self._view("divisor")

    @property
    def started_(self) -> bool:
        """Whether a point has been learned (before that, every score is 0)."""
        return bool(self._view("scal")[0])


ThresholdRule._stack_class = ThresholdStack
