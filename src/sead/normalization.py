"""Online score normalisation: each detector's raw score -> its quantile among its past scores.

SEAD makes detectors with different score scales comparable by mapping a raw score ``r`` of
detector *k* to the mid-rank empirical CDF of ``r`` among *k*'s reference scores,

    z = (#{ref < r} + 0.5 · #{ref == r}) / |ref|,      and z = 0.5 when the reference is empty,

a value in [0, 1], monotone in ``r``. The references differ in what they remember:

====================  ===========================================  ===========================
class                 reference                                    memory per detector
====================  ===========================================  ===========================
``ExactQuantile()``   every past score (exact)                     8 bytes × scores seen
``ExactQuantile(N)``  the last ``N`` scores (exact sliding window)  16 bytes × N
``TDigestQuantile``   a merging t-digest (Dunning 2019), k1 scale   ~16 bytes × (2δ + buffer)
``FrozenQuantile``    the first ``n_reference`` scores, then fixed  8 bytes × n_reference
====================  ===========================================  ===========================

All work on *K* detectors at once: ``R`` is an ``(n, K)`` matrix of raw scores, one column per
detector. A NaN entry means "not observed" (SEAD++ leaves unsampled detectors out): its output
is NaN and it is not inserted. The kernels are numba functions over the column's arrays; the
classes hold the numpy state and pickle.

Methods: ``transform(R)`` scores every row against the current reference (pure);
``transform_update(R)`` is prequential — row *t* is normalised, then inserted, for every *t*.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = [
    "QuantileReference",
    "ExactQuantile",
    "TDigestQuantile",
    "FrozenQuantile",
    "make_reference",
]


# ------------------------------------------------------------------------------------------
# small sorted-array helpers


@njit(cache=True, inline="always")
def _lower_bound(a, n, x):
    """First index i in a[:n] (sorted) with a[i] >= x."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _upper_bound(a, n, x):
    """First index i in a[:n] (sorted) with a[i] > x."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


# ------------------------------------------------------------------------------------------
# exact, full history: a sorted main array plus a small unsorted buffer merged in when it
# reaches ~sqrt(n) entries (amortised O(sqrt n) per insert, O(log n + sqrt n) per query)


@njit(cache=True)
def _exact_cdf(main, n_main, buf, n_buf, r):
    n = n_main + n_buf
    if n == 0:
        return 0.5
    lo = _lower_bound(main, n_main, r)
    hi = _upper_bound(main, n_main, r)
    less = lo
    eq = hi - lo
    for i in range(n_buf):
        v = buf[i]
        if v < r:
            less += 1
        elif v == r:
            eq += 1
    return (less + 0.5 * eq) / n


@njit(cache=True)
def _exact_merge(main, n_main, buf, n_buf):
    """Merge buf[:n_buf] into main[:n_main] in place (main has room); returns the new size."""
    b = np.sort(buf[:n_buf])
    i = n_main - 1
    j = n_buf - 1
    w = n_main + n_buf - 1
    while j >= 0:
        if i >= 0 and main[i] > b[j]:
            main[w] = main[i]
            i -= 1
        else:
            main[w] = b[j]
            j -= 1
        w -= 1
    return n_main + n_buf


@njit(cache=True)
def _exact_run(R, Z, main, n_main, buf, n_buf, update):
    """Normalise R (n, K) into Z; with ``update``, insert each score after normalising it."""
    n, K = R.shape
    for k in range(K):
        nm = n_main[k]
        nb = n_buf[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = _exact_cdf(main[k], nm, buf[k], nb, r)
            if update:
                buf[k, nb] = r
                nb += 1
                if nb >= buf.shape[1] or nb * nb >= nm:
                    nm = _exact_merge(main[k], nm, buf[k], nb)
                    nb = 0
        n_main[k] = nm
        n_buf[k] = nb


# ------------------------------------------------------------------------------------------
# exact, sliding window: a ring buffer (insertion order) and the same values kept sorted


@njit(cache=True)
def _window_run(R, Z, ring, srt, count, pos, update):
    n, K = R.shape
    N = ring.shape[1]
    for k in range(K):
        c = count[k]
        p = pos[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            a = srt[k]
            if c == 0:
                Z[t, k] = 0.5
            else:
                lo = _lower_bound(a, c, r)
                hi = _upper_bound(a, c, r)
                Z[t, k] = (lo + 0.5 * (hi - lo)) / c
            if not update:
                continue
            if c == N:  # drop the oldest score from the sorted copy
                old = ring[k, p]
                i = _lower_bound(a, c, old)
                for j in range(i, c - 1):
                    a[j] = a[j + 1]
                c -= 1
            i = _upper_bound(a, c, r)
            for j in range(c, i, -1):
                a[j] = a[j - 1]
            a[i] = r
            c += 1
            ring[k, p] = r
            p = (p + 1) % N
        count[k] = c
        pos[k] = p


# ------------------------------------------------------------------------------------------
# merging t-digest (k1 scale function) with an exact unsorted buffer of recent scores


@njit(cache=True)
def _td_cdf(means, weights, nc, total_c, buf, nb, r):
    """Mid-rank CDF of r: digest mass below r (interpolated) plus the buffer counted exactly."""
    n = total_c + nb
    if n == 0:
        return 0.5
    less = 0.0
    for i in range(nb):
        v = buf[i]
        if v < r:
            less += 1.0
        elif v == r:
            less += 0.5
    if nc > 0:
        if r < means[0]:
            pass
        elif r > means[nc - 1]:
            less += total_c
        else:
            cum = 0.0
            i = 0
            while i < nc:
                m = means[i]
                if m == r:  # centroids sitting exactly at r count half
                    w_eq = 0.0
                    while i < nc and means[i] == r:
                        w_eq += weights[i]
                        i += 1
                    less += cum + 0.5 * w_eq
                    break
                if i + 1 < nc and means[i + 1] > r:
                    # r lies strictly inside the gap (m_i, m_{i+1}): interpolate; a singleton
                    # centroid is a point mass, a heavier one is spread around its mean
                    wi = weights[i]
                    wj = weights[i + 1]
                    left = cum + (wi if wi == 1.0 else 0.5 * wi)
                    right = cum + wi + (0.0 if wj == 1.0 else 0.5 * wj)
                    f = (r - m) / (means[i + 1] - m)
                    less += left + f * (right - left)
                    break
                cum += weights[i]
                i += 1
    return less / n


@njit(cache=True)
def _td_compress(means, weights, nc, buf, nb, delta):
    """Merge the buffer into the centroids with the k1 scale function; returns new count."""
    m = nc + nb
    allm = np.empty(m)
    allw = np.empty(m)
    allm[:nc] = means[:nc]
    allw[:nc] = weights[:nc]
    allm[nc:] = buf[:nb]
    allw[nc:] = 1.0
    order = np.argsort(allm, kind="mergesort")
    total = allw.sum()
    out = 0
    cur_m = allm[order[0]]
    cur_w = allw[order[0]]
    w_so_far = 0.0
    two_pi = 2.0 * math.pi
    k_left = delta / two_pi * math.asin(2.0 * 0.0 - 1.0)
    q_limit = (math.sin(min(k_left + 1.0, delta / 4.0) * two_pi / delta) + 1.0) / 2.0
    for idx in range(1, m):
        j = order[idx]
        q = (w_so_far + cur_w + allw[j]) / total
        if q <= q_limit:
            cur_w += allw[j]
            cur_m += (allm[j] - cur_m) * allw[j] / cur_w
        else:
            means[out] = cur_m
            weights[out] = cur_w
            out += 1
            w_so_far += cur_w
            qq = min(max(w_so_far / total, 0.0), 1.0)
            k_left = delta / two_pi * math.asin(2.0 * qq - 1.0)
            q_limit = (math.sin(min(k_left + 1.0, delta / 4.0) * two_pi / delta) + 1.0) / 2.0
            cur_m = allm[j]
            cur_w = allw[j]
    means[out] = cur_m
    weights[out] = cur_w
    return out + 1


@njit(cache=True)
def _td_run(R, Z, means, weights, nc, total_c, buf, nb, delta, update):
    n, K = R.shape
    B = buf.shape[1]
    for k in range(K):
        c = nc[k]
        tc = total_c[k]
        b = nb[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = _td_cdf(means[k], weights[k], c, tc, buf[k], b, r)
            if update:
                buf[k, b] = r
                b += 1
                if b == B:
                    c = _td_compress(means[k], weights[k], c, buf[k], b, delta)
                    tc += b
                    b = 0
        nc[k] = c
        total_c[k] = tc
        nb[k] = b


# ------------------------------------------------------------------------------------------
# frozen: exact CDF against the first n_reference scores, which are then never changed


@njit(cache=True)
def _frozen_run(R, Z, ref, count, update):
    n, K = R.shape
    N = ref.shape[1]
    for k in range(K):
        c = count[k]
        a = ref[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            if c == 0:
                Z[t, k] = 0.5
            else:
                lo = _lower_bound(a, c, r)
                hi = _upper_bound(a, c, r)
                Z[t, k] = (lo + 0.5 * (hi - lo)) / c
            if update and c < N:
                i = _upper_bound(a, c, r)
                for j in range(c, i, -1):
                    a[j] = a[j - 1]
                a[i] = r
                c += 1
        count[k] = c


# ------------------------------------------------------------------------------------------
# classes


class QuantileReference:
    """Base of the references: validates ``R``, allocates state lazily for ``K`` columns."""

    def _alloc(self, K: int) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _run(self, R: np.ndarray, Z: np.ndarray, update: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def get_params(self) -> dict:
        import inspect

        return {k: getattr(self, k) for k in inspect.signature(type(self).__init__).parameters if k != "self"}

    def clone(self):
        """A fresh reference with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @property
    def n_columns_(self) -> int:
        return self.K_

    def _check(self, R) -> np.ndarray:
        R = np.ascontiguousarray(R, dtype=np.float64)
        if R.ndim != 2:
            raise ValueError(f"expected an (n, K) matrix of raw scores, got shape {R.shape}")
        if np.isinf(R).any():
            i, k = np.argwhere(np.isinf(R))[0]
            raise ValueError(f"raw score R[{i}, {k}] = {R[i, k]} is infinite; scores must be finite")
        if getattr(self, "K_", None) is None:
            self._alloc(R.shape[1])
            self.K_ = R.shape[1]
        elif R.shape[1] != self.K_:
            raise ValueError(f"expected {self.K_} score columns (fixed at the first call), got {R.shape[1]}")
        return R

    def transform(self, R) -> np.ndarray:
        """Normalise every row of ``R`` against the current reference; changes no state."""
        R = self._check(R)
        Z = np.empty_like(R)
        self._run(R, Z, False)
        return Z

    def transform_update(self, R) -> np.ndarray:
        """Prequential: normalise row *t*, then insert it into the reference, for every *t*."""
        R = self._check(R)
        Z = np.empty_like(R)
        self._run(R, Z, True)
        return Z

    def update(self, R) -> None:
        """Insert the rows of ``R`` into the reference."""
        self.transform_update(R)


class ExactQuantile(QuantileReference):
    """Exact mid-rank CDF over all past scores, or over the last ``window`` scores.

    Parameters
    ----------
    window
        ``None`` keeps every past score (memory grows by 8 bytes per score and detector;
        insertion costs amortised O(sqrt n)); an integer keeps the last ``window`` scores
        (16 bytes × window per detector; O(window) per insertion).

    Examples
    --------
    >>> ref = ExactQuantile()
    >>> ref.transform_update([[3.0], [1.0], [2.0], [2.0], [9.0]]).ravel()
    array([0.5, 0. , 0.5, 0.5, 1. ])
    >>> ref.transform([[2.0]])     # two 2s, one below: (1 + 0.5 * 2) / 5
    array([[0.4]])
    """

    def __init__(self, window: int | None = None):
        self.window = window

    def _alloc(self, K):
        if self.window is None:
            self.main_ = np.empty((K, 1024))
            self.n_main_ = np.zeros(K, dtype=np.int64)
            self.buf_ = np.empty((K, 4096))
            self.n_buf_ = np.zeros(K, dtype=np.int64)
        else:
            if int(self.window) < 1:
                raise ValueError(f"window must be a positive integer or None, got {self.window!r}")
            N = int(self.window)
            self.ring_ = np.empty((K, N))
            self.sorted_ = np.empty((K, N))
            self.count_ = np.zeros(K, dtype=np.int64)
            self.pos_ = np.zeros(K, dtype=np.int64)

    def _run(self, R, Z, update):
        if self.window is not None:
            _window_run(R, Z, self.ring_, self.sorted_, self.count_, self.pos_, update)
            return
        if update:  # make room for every score of this call in the main array
            need = int((self.n_main_ + self.n_buf_).max()) + R.shape[0]
            if need > self.main_.shape[1]:
                grown = np.empty((self.main_.shape[0], max(need, 2 * self.main_.shape[1])))
                grown[:, : self.main_.shape[1]] = self.main_
                self.main_ = grown
        _exact_run(R, Z, self.main_, self.n_main_, self.buf_, self.n_buf_, update)

    def __getstate__(self):  # do not pickle the unused tail of the growing array
        state = self.__dict__.copy()
        if self.window is None and "main_" in state:
            state["main_"] = self.main_[:, : int(self.n_main_.max()) if len(self.n_main_) else 0].copy()
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if self.window is None and "main_" in state and self.main_.shape[1] == 0:
            self.main_ = np.empty((self.main_.shape[0], 1024))


class TDigestQuantile(QuantileReference):
    """Mid-rank CDF from a merging t-digest: bounded memory, approximate in the middle.

    Scores are buffered exactly and merged into at most ~``compression`` centroids (k1 scale
    function, so the tails stay precise) every ``buffer_size`` insertions. Queries count the
    buffer exactly and interpolate the digest between centroid means; single-score centroids
    are treated as exact points, so the result is exact while fewer than ``buffer_size`` scores
    have been seen.

    Parameters
    ----------
    compression
        The t-digest's δ: more centroids, more accuracy, more memory.
    buffer_size
        Scores kept exactly between merges.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = TDigestQuantile(compression=100)
    >>> _ = ref.transform_update(rng.normal(size=(20_000, 1)))
    >>> ref.transform([[-1.0], [0.0], [1.645]]).ravel().round(3)    # exact: 0.155 0.502 0.951
    array([0.155, 0.502, 0.95 ])
    >>> int(ref.n_centroids_[0])                                 # 20,000 scores, 59 centroids
    59
    """

    def __init__(self, compression: float = 100.0, buffer_size: int = 500):
        self.compression = compression
        self.buffer_size = buffer_size

    def _alloc(self, K):
        if not self.compression >= 10:
            raise ValueError(f"compression must be >= 10, got {self.compression!r}")
        if int(self.buffer_size) < 1:
            raise ValueError(f"buffer_size must be a positive integer, got {self.buffer_size!r}")
        C = int(math.ceil(self.compression)) * 2 + 10 + int(self.buffer_size)
        self.means_ = np.zeros((K, C))
        self.weights_ = np.zeros((K, C))
        self.n_centroids_ = np.zeros(K, dtype=np.int64)
        self.total_ = np.zeros(K)
        self.buf_ = np.empty((K, int(self.buffer_size)))
        self.n_buf_ = np.zeros(K, dtype=np.int64)

    def _run(self, R, Z, update):
        _td_run(R, Z, self.means_, self.weights_, self.n_centroids_, self.total_, self.buf_,
                self.n_buf_, float(self.compression), update)


class FrozenQuantile(QuantileReference):
    """Exact mid-rank CDF against the first ``n_reference`` scores, frozen afterwards.

    Parameters
    ----------
    n_reference
        How many scores form the reference (for SEAD, typically the warm-up length).

    Examples
    --------
    >>> ref = FrozenQuantile(n_reference=2)
    >>> ref.transform_update([[1.0], [3.0], [2.0], [5.0]]).ravel()
    array([0.5, 0. , 0.5, 1. ])
    """

    def __init__(self, n_reference: int = 100):
        self.n_reference = n_reference

    def _alloc(self, K):
        if int(self.n_reference) < 1:
            raise ValueError(f"n_reference must be a positive integer, got {self.n_reference!r}")
        self.ref_ = np.empty((K, int(self.n_reference)))
        self.count_ = np.zeros(K, dtype=np.int64)

    def _run(self, R, Z, update):
        _frozen_run(R, Z, self.ref_, self.count_, update)


_KINDS = {"exact": ExactQuantile, "window": ExactQuantile, "tdigest": TDigestQuantile, "frozen": FrozenQuantile}


def make_reference(reference="exact", *, window=None, warmup=100) -> QuantileReference:
    """Build a reference from a name (``"exact"``, ``"window"``, ``"tdigest"``, ``"frozen"``)
    or return a :class:`QuantileReference` instance's fresh clone.

    ``window`` is the window length for ``"window"`` (default 1000) and, if given, turns
    ``"exact"`` into a sliding window; ``"frozen"`` freezes after ``warmup`` scores.
    """
    if isinstance(reference, QuantileReference):
        return reference.clone()
    if reference not in _KINDS:
        raise ValueError(f"reference must be one of {sorted(_KINDS)} or a QuantileReference, got {reference!r}")
    if reference == "exact":
        return ExactQuantile(window)
    if reference == "window":
        return ExactQuantile(1000 if window is None else window)
    if reference == "frozen":
        return FrozenQuantile(max(int(warmup), 1))
    return TDigestQuantile()
