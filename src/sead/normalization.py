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
``TDigestQuantile``   a merging t-digest (Dunning 2019), k1 scale   ~24 bytes × (2δ + buffer)
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
    "tail_surprise",
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
# exact, full history: a sorted main array plus a small sorted buffer that is merged into it
# when it reaches ~sqrt(n) entries (amortised O(sqrt n) moves per insert, O(log n) per query)


@njit(cache=True, inline="always")
def _insert_sorted(a, c, r):
    """Insert r into the sorted a[:c] (a has room); the caller increments c."""
    i = _upper_bound(a, c, r)
    for j in range(c, i, -1):
        a[j] = a[j - 1]
    a[i] = r


@njit(cache=True, inline="always")
def _insert_right(a, c, r):
    """Insert r into the sorted, right-aligned a[cap-c:] (room on the left).

    Shifting the smaller values one slot to the left is a forward copy, which compiles to
    vector moves; the usual right shift of a left-aligned array is a backward loop that does
    not vectorise (about 4x slower here).
    """
    cap = a.shape[0]
    s = cap - c
    i = s + _upper_bound(a[s:], c, r)
    for j in range(s - 1, i - 1):
        a[j] = a[j + 1]
    a[i - 1] = r


@njit(cache=True, inline="always")
def _midrank(a, c, r):
    """(#less, #equal) of r in the sorted a[:c], as less + 0.5 * equal."""
    lo = _lower_bound(a, c, r)
    hi = _upper_bound(a, c, r)
    return lo + 0.5 * (hi - lo)


@njit(cache=True)
def _merge_sorted_left(main, n_main, b, nb):
    """Merge the sorted b[:nb] into the sorted main[:n_main] in place (main has room)."""
    i = n_main - 1
    j = nb - 1
    w = n_main + nb - 1
    while j >= 0:
        if i >= 0 and main[i] > b[j]:
            main[w] = main[i]
            i -= 1
        else:
            main[w] = b[j]
            j -= 1
        w -= 1
    return n_main + nb


@njit(cache=True)
def _exact_run(R, Z, main, n_main, buf, n_buf, update):
    """Normalise R (n, K) into Z; with ``update``, insert each score after normalising it."""
    n, K = R.shape
    cap = buf.shape[1]
    for k in range(K):
        nm = n_main[k]
        nb = n_buf[k]
        mk = main[k]
        bk = buf[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            if nm + nb == 0:
                Z[t, k] = 0.5
            else:
                Z[t, k] = (_midrank(mk, nm, r) + _midrank(bk[cap - nb :], nb, r)) / (nm + nb)
            if update:
                _insert_right(bk, nb, r)
                nb += 1
                if nb >= cap or nb * nb >= 4 * nm:
                    nm = _merge_sorted_left(mk, nm, bk[cap - nb :], nb)
                    nb = 0
        n_main[k] = nm
        n_buf[k] = nb


@njit(cache=True)
def _exact_run_batch(R, Z, main, n_main, buf, n_buf):
    """Prequential normalisation of a large batch, column by column, with sorting instead of
    one binary search per score.

    For each column the batch's scores are sorted once; their counts among the stored history
    come from one monotone sweep (or binary searches when the batch is much smaller than the
    history), their counts among the *earlier scores of the same batch* from a Fenwick tree
    over the batch's distinct values. Every count is an exact integer, so ``Z`` is
    bit-identical to the one-by-one path. Main has room for every score of the batch.
    """
    n, K = R.shape
    cap = buf.shape[1]
    for k in range(K):
        mk = main[k]
        bk = buf[k]
        nm = n_main[k]
        nb = n_buf[k]
        # the batch's observed scores, in time order
        rows = np.empty(n, dtype=np.int64)
        m = 0
        for t in range(n):
            if math.isnan(R[t, k]):
                Z[t, k] = np.nan
            else:
                rows[m] = t
                m += 1
        if m == 0:
            continue
        v = np.empty(m)
        for i in range(m):
            v[i] = R[rows[i], k]
        order = np.argsort(v, kind="mergesort")
        # dense ranks (1-based) and the history part of each score's mid-rank count
        dense = np.empty(m, dtype=np.int64)
        hist = np.empty(m)
        sweep = m * 32 > nm
        pm_lo = 0
        pm_hi = 0
        d = 0
        prev = np.nan
        h = 0.0
        bview = bk[cap - nb :]
        for q in range(m):
            i = order[q]
            x = v[i]
            if q == 0 or x != prev:
                d += 1
                prev = x
                if sweep:
                    while pm_lo < nm and mk[pm_lo] < x:
                        pm_lo += 1
                    if pm_hi < pm_lo:
                        pm_hi = pm_lo
                    while pm_hi < nm and mk[pm_hi] <= x:
                        pm_hi += 1
                    h = pm_lo + 0.5 * (pm_hi - pm_lo)
                else:
                    h = _midrank(mk, nm, x)
                h += _midrank(bview, nb, x)
            dense[i] = d
            hist[i] = h
        # Fenwick tree over dense ranks for the earlier scores of this batch
        tree = np.zeros(d + 1, dtype=np.int64)
        seen = np.zeros(d + 1, dtype=np.int64)
        n_hist = nm + nb
        for i in range(m):
            di = dense[i]
            less = 0
            j = di - 1
            while j > 0:
                less += tree[j]
                j -= j & (-j)
            total = n_hist + i
            if total == 0:
                Z[rows[i], k] = 0.5
            else:
                Z[rows[i], k] = (hist[i] + (less + 0.5 * seen[di])) / total
            seen[di] += 1
            j = di
            while j <= d:
                tree[j] += 1
                j += j & (-j)
        # insert the batch into the history: buffer first, then the sorted batch
        if nb > 0:
            nm = _merge_sorted_left(mk, nm, bk[cap - nb :], nb)
            nb = 0
        sv = np.empty(m)
        for q in range(m):
            sv[q] = v[order[q]]
        nm = _merge_sorted_left(mk, nm, sv, m)
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
        a = srt[k]
        for t in range(n):
            r = R[t, k]
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = 0.5 if c == 0 else _midrank(a, c, r) / c
            if not update:
                continue
            if c < N:
                _insert_sorted(a, c, r)
                c += 1
            else:  # replace the oldest score: one shift between its slot and the new one's
                i = _lower_bound(a, c, ring[k, p])
                j = _upper_bound(a, c, r)
                if j > i:
                    for q in range(i, j - 1):
                        a[q] = a[q + 1]
                    a[j - 1] = r
                else:
                    for q in range(i, j, -1):
                        a[q] = a[q - 1]
                    a[j] = r
            ring[k, p] = r
            p = (p + 1) % N
        count[k] = c
        pos[k] = p


@njit(cache=True)
def _window_run_batch(codes, m, window, n_pre, out):
    """Sliding-window prequential mid-rank CDF with a Fenwick tree over value codes.

    ``codes`` (values mapped to their rank among the column's distinct values, -1 = NaN) holds
    the window's current content (``n_pre`` codes, oldest first) followed by the batch. The
    window is replayed (inserted, no output), then each batch score is normalised against the
    last ``window`` scores and inserted, evicting the oldest: O(log m) per score instead of
    the row path's O(window) element moves. Counts are exact integers, so ``out`` is
    bit-identical to the row path.
    """
    n = codes.shape[0]
    tree = np.zeros(m + 1, dtype=np.int64)
    cnt = np.zeros(m, dtype=np.int64)
    ring = np.empty(window, dtype=np.int64)
    pos = 0
    c = 0
    for t in range(n):
        code = codes[t]
        if code < 0:
            out[t - n_pre] = np.nan
            continue
        if t >= n_pre:
            if c == 0:
                out[t - n_pre] = 0.5
            else:
                less = 0
                i = code
                while i > 0:
                    less += tree[i]
                    i -= i & (-i)
                out[t - n_pre] = (less + 0.5 * cnt[code]) / c
        if c == window:
            old = ring[pos]
            cnt[old] -= 1
            i = old + 1
            while i <= m:
                tree[i] -= 1
                i += i & (-i)
            c -= 1
        ring[pos] = code
        pos = (pos + 1) % window
        cnt[code] += 1
        i = code + 1
        while i <= m:
            tree[i] += 1
            i += i & (-i)
        c += 1


# ------------------------------------------------------------------------------------------
# merging t-digest (k1 scale function) with an exact unsorted buffer of recent scores


@njit(cache=True, inline="always")
def _td_digest_less(means, weights, cum, nc, total_c, r):
    """Digest mass below r: a centroid whose mean equals r counts half; inside the gap between
    two centroids the mass is interpolated linearly, a single-score centroid being a point mass
    and a heavier one spread around its mean. ``cum[i]`` is the weight of centroids 0..i-1."""
    if nc == 0 or r < means[0]:
        return 0.0
    if r > means[nc - 1]:
        return total_c
    lo = _lower_bound(means, nc, r)
    hi = _upper_bound(means, nc, r)
    if hi > lo:
        return cum[lo] + 0.5 * (cum[hi] - cum[lo])
    i = lo - 1  # means[lo - 1] < r < means[lo]
    wi = weights[i]
    wj = weights[lo]
    left = cum[i] + (wi if wi == 1.0 else 0.5 * wi)
    right = cum[lo] + (0.0 if wj == 1.0 else 0.5 * wj)
    f = (r - means[i]) / (means[lo] - means[i])
    return left + f * (right - left)


@njit(cache=True)
def _td_cdf(means, weights, cum, nc, total_c, buf, nb, r):
    """Mid-rank CDF of r: the digest's mass below r plus the sorted, right-aligned buffer
    ``buf[cap-nb:]`` counted exactly."""
    n = total_c + nb
    if n == 0:
        return 0.5
    less = _midrank(buf[buf.shape[0] - nb :], nb, r)
    return (less + _td_digest_less(means, weights, cum, nc, total_c, r)) / n


@njit(cache=True)
def _td_compress(means, weights, cum, nc, buf, nb, delta):
    """Merge the sorted, right-aligned buffer into the centroids (k1 scale function); returns
    the new number of centroids."""
    m = nc + nb
    allm = np.empty(m)
    allw = np.empty(m)
    i = 0
    j = buf.shape[0] - nb
    for q in range(m):  # merge two sorted sequences
        if j >= buf.shape[0] or (i < nc and means[i] <= buf[j]):
            allm[q] = means[i]
            allw[q] = weights[i]
            i += 1
        else:
            allm[q] = buf[j]
            allw[q] = 1.0
            j += 1
    total = allw.sum()
    two_pi = 2.0 * math.pi
    out = 0
    cur_m = allm[0]
    cur_w = allw[0]
    w_so_far = 0.0
    q_limit = (math.sin(min(delta / two_pi * math.asin(-1.0) + 1.0, delta / 4.0) * two_pi / delta) + 1.0) / 2.0
    for q in range(1, m):
        if (w_so_far + cur_w + allw[q]) / total <= q_limit:
            cur_w += allw[q]
            cur_m += (allm[q] - cur_m) * allw[q] / cur_w
        else:
            means[out] = cur_m
            weights[out] = cur_w
            out += 1
            w_so_far += cur_w
            qq = min(max(w_so_far / total, 0.0), 1.0)
            k_left = delta / two_pi * math.asin(2.0 * qq - 1.0)
            q_limit = (math.sin(min(k_left + 1.0, delta / 4.0) * two_pi / delta) + 1.0) / 2.0
            cur_m = allm[q]
            cur_w = allw[q]
    means[out] = cur_m
    weights[out] = cur_w
    out += 1
    cum[0] = 0.0
    for q in range(out):
        cum[q + 1] = cum[q] + weights[q]
    return out


@njit(cache=True)
def _td_run(R, Z, means, weights, cum, nc, total_c, buf, nb, delta, update):
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
            Z[t, k] = _td_cdf(means[k], weights[k], cum[k], c, tc, buf[k], b, r)
            if update:
                _insert_right(buf[k], b, r)
                b += 1
                if b == B:
                    c = _td_compress(means[k], weights[k], cum[k], c, buf[k], b, delta)
                    tc += b
                    b = 0
        nc[k] = c
        total_c[k] = tc
        nb[k] = b


@njit(cache=True)
def _td_run_batch(R, Z, means, weights, cum, nc, total_c, buf, nb, delta):
    """Prequential t-digest normalisation of a large batch, bit-identical to ``_td_run``.

    Per column, the scores are taken in segments that fill the buffer exactly as the row path
    does (then the buffer is merged into the digest). Within a segment the digest is fixed, so
    each score's count among the buffer's earlier scores comes from one sort of the segment
    and a Fenwick tree, instead of a sorted insertion (a shift of ~buffer/2 values) per score.
    """
    n, K = R.shape
    B = buf.shape[1]
    seg_v = np.empty(B)
    seg_t = np.empty(B, dtype=np.int64)
    dense = np.empty(B, dtype=np.int64)
    tree = np.zeros(B + 1, dtype=np.int64)
    seen = np.zeros(B + 1, dtype=np.int64)
    merged = np.empty(B)
    for k in range(K):
        c = nc[k]
        tc = total_c[k]
        b = nb[k]
        bk = buf[k]
        t = 0
        while t < n:
            # gather the next segment: observed scores until the buffer would be full
            s = 0
            while t < n and s < B - b:
                r = R[t, k]
                if math.isnan(r):
                    Z[t, k] = np.nan
                else:
                    seg_v[s] = r
                    seg_t[s] = t
                    s += 1
                t += 1
            if s == 0:
                continue
            order = np.argsort(seg_v[:s], kind="mergesort")
            d = 0
            for q in range(s):
                if q == 0 or seg_v[order[q]] != seg_v[order[q - 1]]:
                    d += 1
                dense[order[q]] = d
            tree[: d + 1] = 0
            seen[: d + 1] = 0
            bview = bk[B - b :]
            for i in range(s):
                r = seg_v[i]
                di = dense[i]
                total = tc + b + i
                if total == 0:
                    Z[seg_t[i], k] = 0.5
                else:
                    less = 0
                    j = di - 1
                    while j > 0:
                        less += tree[j]
                        j -= j & (-j)
                    within = _midrank(bview, b, r) + (less + 0.5 * seen[di])
                    Z[seg_t[i], k] = (within + _td_digest_less(means[k], weights[k], cum[k], c, tc, r)) / total
                seen[di] += 1
                j = di
                while j <= d:
                    tree[j] += 1
                    j += j & (-j)
            # the segment joins the sorted, right-aligned buffer
            i0 = B - b
            j0 = 0
            for q in range(b + s):
                if j0 >= s or (i0 < B and bk[i0] <= seg_v[order[j0]]):
                    merged[q] = bk[i0]
                    i0 += 1
                else:
                    merged[q] = seg_v[order[j0]]
                    j0 += 1
            b += s
            bk[B - b :] = merged[:b]
            if b == B:
                c = _td_compress(means[k], weights[k], cum[k], c, bk, b, delta)
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
            Z[t, k] = 0.5 if c == 0 else _midrank(a, c, r) / c
            if update and c < N:
                _insert_sorted(a, c, r)
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

    def _sizes(self) -> np.ndarray:  # pragma: no cover - abstract
        """Scores currently in each column's reference (float array of length K)."""
        raise NotImplementedError

    def _sizes_for(self, R: np.ndarray, update: bool) -> np.ndarray:
        """The reference size each entry of R is normalised against (before the kernel runs)."""
        base = self._sizes()
        if not update:
            return np.broadcast_to(base, R.shape).copy()
        obs = ~np.isnan(R)
        n = base + np.cumsum(obs, axis=0) - obs
        cap = self._capacity()
        return n if cap is None else np.minimum(n, cap)

    def _capacity(self):
        """The most scores a column's reference holds (None = unbounded)."""
        return None

    def fresh_sizes(self, R) -> np.ndarray:
        """The reference sizes ``transform_update(R, return_sizes=True)`` reports on a *fresh*
        reference, without running it (they depend only on which entries are NaN)."""
        R = np.asarray(R, dtype=np.float64)
        obs = ~np.isnan(R)
        n = (np.cumsum(obs, axis=0) - obs).astype(np.float64)
        cap = self._capacity()
        return n if cap is None else np.minimum(n, cap)

    def transform(self, R, *, return_sizes: bool = False):
        """Normalise every row of ``R`` against the current reference; changes no state.

        With ``return_sizes=True`` also return, per entry, how many scores the reference held
        (used for tail p-values, see :func:`tail_surprise`).
        """
        R = self._check(R)
        Z = np.empty_like(R)
        N = self._sizes_for(R, False) if return_sizes else None
        self._run(R, Z, False)
        return (Z, N) if return_sizes else Z

    def transform_update(self, R, *, return_sizes: bool = False):
        """Prequential: normalise row *t*, then insert it into the reference, for every *t*."""
        R = self._check(R)
        Z = np.empty_like(R)
        N = self._sizes_for(R, True) if return_sizes else None
        self._run(R, Z, True)
        return (Z, N) if return_sizes else Z

    def update(self, R) -> None:
        """Insert the rows of ``R`` into the reference."""
        self.transform_update(R)


class ExactQuantile(QuantileReference):
    """Exact mid-rank CDF over all past scores, or over the last ``window`` scores.

    Parameters
    ----------
    window
        ``None`` keeps every past score (memory grows by 8 bytes per score and detector;
        a query costs O(log n), an insertion amortised O(sqrt n) element moves); an integer
        keeps the last ``window`` scores (16 bytes × window per detector; O(log window) per
        query, O(window) element moves per insertion).

    Examples
    --------
    >>> ref = ExactQuantile()
    >>> ref.transform_update([[3.0], [1.0], [2.0], [2.0], [9.0]]).ravel()
    array([0.5, 0. , 0.5, 0.5, 1. ])
    >>> ref.transform([[2.0]])     # two 2s, one below: (1 + 0.5 * 2) / 5
    array([[0.4]])
    """

    #: calls with at least this many rows take the sorting path (same numbers, faster)
    _BATCH_ROWS = 256

    def __init__(self, window: int | None = None):
        self.window = window

    def _alloc(self, K):
        if self.window is None:
            self.main_ = np.empty((K, 1024))
            self.n_main_ = np.zeros(K, dtype=np.int64)
            self.buf_ = np.empty((K, 8192))
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
            if update and R.shape[0] >= self._BATCH_ROWS:
                self._window_batch(R, Z)
            else:
                _window_run(R, Z, self.ring_, self.sorted_, self.count_, self.pos_, update)
            return
        if update:  # make room for every score of this call in the main array
            need = int((self.n_main_ + self.n_buf_).max()) + R.shape[0]
            if need > self.main_.shape[1]:
                grown = np.empty((self.main_.shape[0], max(need, 2 * self.main_.shape[1])))
                grown[:, : self.main_.shape[1]] = self.main_
                self.main_ = grown
            if R.shape[0] >= self._BATCH_ROWS:
                _exact_run_batch(R, Z, self.main_, self.n_main_, self.buf_, self.n_buf_)
                return
        _exact_run(R, Z, self.main_, self.n_main_, self.buf_, self.n_buf_, update)

    def _sizes(self):
        if self.window is None:
            return (self.n_main_ + self.n_buf_).astype(np.float64)
        return self.count_.astype(np.float64)

    def _capacity(self):
        return None if self.window is None else int(self.window)

    def _window_batch(self, R, Z):
        """Sliding window, large call: a Fenwick replay per column, then the new window state."""
        N = int(self.window)
        for k in range(R.shape[1]):
            c, p = int(self.count_[k]), int(self.pos_[k])
            pre = self.ring_[k, :c] if c < N else np.concatenate([self.ring_[k, p:], self.ring_[k, :p]])
            col = R[:, k]
            ok = ~np.isnan(col)
            values = np.concatenate([pre, col[ok]])
            uniq, inv = np.unique(values, return_inverse=True)
            codes = np.full(len(pre) + len(col), -1, dtype=np.int64)
            codes[: len(pre)] = inv[: len(pre)]
            codes[len(pre) :][ok] = inv[len(pre) :]
            out = np.empty(len(col))
            _window_run_batch(codes, len(uniq), N, len(pre), out)
            Z[:, k] = out
            last = values[-N:]  # the new window, oldest first, written from slot 0
            self.ring_[k, : len(last)] = last
            self.sorted_[k, : len(last)] = np.sort(last)
            self.count_[k] = len(last)
            self.pos_[k] = len(last) % N

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
        self.cum_ = np.zeros((K, C + 1))
        self.n_centroids_ = np.zeros(K, dtype=np.int64)
        self.total_ = np.zeros(K)
        self.buf_ = np.empty((K, int(self.buffer_size)))
        self.n_buf_ = np.zeros(K, dtype=np.int64)

    def _sizes(self):
        return self.total_ + self.n_buf_

    #: calls with at least this many rows take the sorting path (same numbers, faster)
    _BATCH_ROWS = 64

    def _run(self, R, Z, update):
        if update and R.shape[0] >= self._BATCH_ROWS:
            _td_run_batch(R, Z, self.means_, self.weights_, self.cum_, self.n_centroids_,
                          self.total_, self.buf_, self.n_buf_, float(self.compression))
            return
        _td_run(R, Z, self.means_, self.weights_, self.cum_, self.n_centroids_, self.total_,
                self.buf_, self.n_buf_, float(self.compression), update)


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

    def _sizes(self):
        return self.count_.astype(np.float64)

    def _capacity(self):
        return int(self.n_reference)

    def _run(self, R, Z, update):
        _frozen_run(R, Z, self.ref_, self.count_, update)


def tail_surprise(Z, N):
    """Surprise ``-log p`` of each score from its mid-rank quantile ``z`` among ``n`` scores.

    ``p = (n (1 - z) + 1/2) / (n + 1)`` is the conformal tail p-value of the score — the
    share of the reference at or above it, counting the score itself as one more tie — so it
    is never 0, and it is 1/2 for an empty reference. ``-log p`` grows without bound as a
    score leaves its detector's range (at most ``log(2 (n + 1))``), which keeps the evidence
    of extreme scores that a quantile caps at 1. NaN stays NaN.

    Examples
    --------
    >>> tail_surprise(np.array([[0.5, 1.0, 0.0]]), np.array([[0.0, 99.0, 99.0]])).round(3)
    array([[0.693, 5.298, 0.005]])
    """
    Z = np.asarray(Z, dtype=np.float64)
    N = np.asarray(N, dtype=np.float64)
    return -np.log((N * (1.0 - Z) + 0.5) / (N + 1.0))


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
