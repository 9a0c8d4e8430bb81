"""Rule-based detectors: a running robust z-score and fixed per-feature bounds.

These are the "rule-based method" of a SEAD pool: cheap, interpretable, and a good baseline on
telemetry (latency, error counts, CPU), where an operator already knows what "too high" means
or where a feature's own recent history is the natural yardstick.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
from numba import njit

from ..base import Detector
from .._kernels.sorted import lower_bound
from .._params import check_int as _check_int, check_real as _check_real

__all__ = ["ZScoreRule", "ThresholdRule"]

_MAD_TO_SD = 1.4826  # 1 / Phi^-1(3/4): MAD -> standard deviation for normal data
_MEANAD_TO_SD = 1.2533  # sqrt(pi / 2): mean absolute deviation -> standard deviation


# ------------------------------------------------------------------------------------------
# z-score kernels


@njit(cache=True, inline="always")
def _floor(scale, center, min_scale):
    return max(scale, min_scale * max(1.0, abs(center)))


@njit(cache=True)
def _z_score(X, center, scale, out):
    """out[r] = max_j |X[r, j] - center[j]| / scale[j]."""
    for r in range(X.shape[0]):
        best = 0.0
        for j in range(X.shape[1]):
            z = abs(X[r, j] - center[j]) / scale[j]
            if z > best:
                best = z
        out[r] = best


@njit(cache=True)
def _ewma_update(x, mean, var, scale, n, alpha, min_scale):
    """Exponentially weighted mean and variance (Finch 2009) with weight max(alpha, 1/(n+1)),
    so the first 1/alpha points give the exact running mean and (population) variance."""
    a = max(alpha, 1.0 / (n + 1))
    for j in range(x.shape[0]):
        diff = x[j] - mean[j]
        incr = a * diff
        mean[j] += incr
        var[j] = (1.0 - a) * (var[j] + diff * incr)
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
        if n == 0:
            out[r] = 0.0
        else:
            _z_score(X[r : r + 1], mean, scale, out[r : r + 1])
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
            med = 0.5 * (s[h - 1] + s[h])
        m = lower_bound(s, size, med)
        if size & 1:
            mad = _kth_deviation(s, size, m, med, h)
        else:
            mad = 0.5 * (_kth_deviation(s, size, m, med, h - 1) + _kth_deviation(s, size, m, med, h))
        sc = _MAD_TO_SD * mad
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
        if n == 0:
            out[r] = 0.0
        else:
            _z_score(X[r : r + 1], center, scale, out[r : r + 1])
        _median_update(X[r], ring, srt, n, pos, center, scale, min_scale)
        n = min(n + 1, w)
        pos = (pos + 1) % w
    return n, pos


# ------------------------------------------------------------------------------------------
# ZScoreRule


class ZScoreRule(Detector):
    """Running z-score rule: how many (robust) standard deviations the most deviant feature is.

    The score of a point is ``max_j |x_j - center_j| / scale_j`` over its features, with a
    center and a scale per feature learned from the stream:

    * ``method="ewma"`` (default): exponentially weighted mean and standard deviation with
      weight ``alpha`` (a memory of about ``1/alpha`` points, 1,000 at the default, so it
      follows level shifts and drift). The first ``1/alpha`` points use weight ``1/n``, i.e.
      the exact running mean and variance, so early scores are not biased towards the first
      value; ``alpha=0`` keeps that forever (no forgetting; on the stationary, shuffled ODDS
      benchmark sets it ranks best). O(d) per point, 24 bytes per feature.
    * ``method="median"``: median and MAD of the last ``window`` values of each feature, the
      MAD multiplied by 1.4826 (the standard deviation for normal data). Robust: up to half the
      window may be outliers. When more than half of the window holds one value (MAD = 0, common
      on counters and discrete telemetry), the scale falls back to 1.2533 × the mean absolute
      deviation from the median. O(d × window) per point in the worst case (a sorted window per
      feature; the MAD is found in O(log window)), ``16 × window + 16`` bytes per feature.

    Good at: sudden spikes and level shifts in one or a few features (telemetry: latency, error
    rates); it adapts to slow drift. Bad at: anomalies that are only unusual *jointly* (every
    feature in range, the combination rare) and multi-modal features. Assumes numeric features;
    each feature is scaled by its own history, so no input scaling is needed.

    Scores are in [0, inf), higher = more anomalous (roughly a number of standard deviations).
    A feature that has been (nearly) constant has a scale floored at
    ``min_scale × max(1, |center|)``, so a change in it scores high but finite; no score is
    ever inf or NaN. The first point learned gives scale 0 -> the floor, so the second point's
    score is large unless it repeats the first; use a warm start.

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

    References
    ----------
    Finch, T. (2009). Incremental calculation of weighted mean and variance.
    Hochenbaum, J., Vallis, O.S. and Kejariwal, A. (2017). Automatic anomaly detection in the
    cloud via statistical learning. arXiv:1704.07706 (median and MAD scores).
    """

    def __init__(self, method: str = "ewma", alpha: float = 0.001, window: int = 250, min_scale: float = 1e-9):
        self.method = method
        self.alpha = alpha
        self.window = window
        self.min_scale = min_scale

    @classmethod
    def _unit_test_params(cls):
        yield {}
        yield {"method": "median", "window": 31}
        yield {"method": "median", "window": 20}

    def _warmup_points(self) -> int:
        # the first scores rest on a scale estimated from a handful of points (the first one on
        # the floor alone): huge and meaningless, they would skew an ensemble's quantiles
        return 10

    def _init_state(self, n_features: int) -> None:
        if self.method not in ("ewma", "median"):
            raise ValueError(f"method must be 'ewma' or 'median', got {self.method!r}")
        self._min_scale = _check_real("min_scale", self.min_scale, 0.0, low_open=True)
        d = n_features
        self.center_ = np.zeros(d)
        self.scale_ = np.ones(d)
        self.n_ = 0
        if self.method == "ewma":
            self._alpha = _check_real("alpha", self.alpha, 0.0, 1.0)
            self.var_ = np.zeros(d)
        else:
            w = _check_int("window", self.window, 1)
            self.ring_ = np.zeros((w, d))
            self.sorted_ = np.zeros((d, w))
            self.pos_ = 0

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(X.shape[0])
        if self.n_ > 0:
            _z_score(X, self.center_, self.scale_, out)
        return out

    def _learn_rows(self, X: np.ndarray) -> None:
        if self.method == "ewma":
            self.n_ = _ewma_learn(X, self.center_, self.var_, self.scale_, self.n_, self._alpha, self._min_scale)
        else:
            self.n_, self.pos_ = _median_learn(
                X, self.ring_, self.sorted_, self.n_, self.pos_, self.center_, self.scale_, self._min_scale
            )

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        if self.method == "ewma":
            self.n_ = _ewma_score_learn(
                X, self.center_, self.var_, self.scale_, self.n_, self._alpha, self._min_scale, out
            )
        else:
            self.n_, self.pos_ = _median_score_learn(
                X, self.ring_, self.sorted_, self.n_, self.pos_, self.center_, self.scale_, self._min_scale, out
            )
        return out


# ------------------------------------------------------------------------------------------
# ThresholdRule


@njit(cache=True)
def _threshold_score(X, lower, upper, divisor, out):
    """out[r] = max_j distance of X[r, j] outside [lower_j, upper_j] / divisor_j (0 inside)."""
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
        out[r] = best


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
            raise ValueError(f"{name}[{key!r}] must be a finite number{' or None' if allow_none else ''}, got {v!r}")
        return float(v)

    if isinstance(spec, Mapping):
        if schema.names is None:
            raise ValueError(
                f"{name} is a dict {dict(spec)!r}, but the input has no feature names (arrays or "
                f"sequences); pass {name} as a sequence of {d} values, or learn dicts/DataFrames"
            )
        unknown = [k for k in spec if k not in schema._index]
        if unknown:
            raise ValueError(f"{name} names unknown feature(s) {unknown}; the features are {list(schema.names)}")
        return [one(k, spec[k]) if k in spec else None for k in schema.names]
    if isinstance(spec, numbers.Real) and not isinstance(spec, bool):
        return [one(j, spec) for j in range(d)]
    if isinstance(spec, (str, bytes)):
        raise ValueError(f"{name} must be None, a number, a sequence or a dict, got {spec!r}")
    try:
        values = list(spec)
    except TypeError:
        raise ValueError(f"{name} must be None, a number, a sequence or a dict, got {spec!r}") from None
    if len(values) != d:
        raise ValueError(f"{name} has {len(values)} values but the input has {d} features")
    return [one(j, v) for j, v in enumerate(values)]


class ThresholdRule(Detector):
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
    bounds do not describe — it never adapts. Scores are in [0, inf), higher = more anomalous.

    Parameters
    ----------
    lower
        Lower bounds: None, a number, a sequence (None entries = unbounded) or a dict
        feature name -> bound.
    upper
        Upper bounds, same forms as ``lower``.
    scale
        Divisors (> 0), same forms; None entries use the default divisor described above.

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

    def __init__(self, lower=None, upper=None, scale=None):
        self.lower = lower
        self.upper = upper
        self.scale = scale

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
                divisor[j] = b - a
            else:
                bound = a if a is not None else b
                if bound is not None and bound != 0.0:
                    divisor[j] = abs(bound)
        return lower, upper, divisor

    def _prepare(self, schema) -> None:
        if not self._fitted:
            resolved = self._resolve(schema)  # raises before any state is set
            super()._prepare(schema)
            self.lower_, self.upper_, self.divisor_ = resolved

    def _init_state(self, n_features: int) -> None:
        self.started_ = False  # nothing learned yet: score 0, as the protocol requires

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(X.shape[0])
        if self.started_:
            _threshold_score(X, self.lower_, self.upper_, self.divisor_, out)
        return out

    def _learn_rows(self, X: np.ndarray) -> None:
        self.started_ = True

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros(X.shape[0])
        _threshold_score(X, self.lower_, self.upper_, self.divisor_, out)
        if not self.started_:
            out[0] = 0.0
            self.started_ = True
        return out
