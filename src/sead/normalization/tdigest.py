"""The t-digest reference: a merging t-digest (Dunning 2019, k1 scale function) with an exact
sorted buffer of recent scores; bounded memory, exact in the tails and while few scores are seen."""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from .._kernels.fenwick import fenwick_add, fenwick_prefix
from .._kernels.sorted import insert_right, lower_bound, midrank, upper_bound
from .._params import Interval
from .._stack import Compiled, bundler, slot_runs
from ._base import QuantileReference

__all__ = ["TDigestQuantile"]

TDigestState = namedtuple(
    "TDigestState", ["means", "weights", "cum", "n_centroids", "total", "buf", "n_buf"]
)
TDigestState.__doc__ = """State of the t-digest references of ``K`` columns.

For one slot (what the row and batch kernels take) the shapes are: ``means``, ``weights``
float64 (K, C) the centroids, ``cum`` float64 (K, C + 1) their cumulative weights,
``n_centroids`` int64 (K,) centroids in use, ``total`` float64 (K,) their total weight, ``buf``
float64 (K, B) the sorted, right-aligned buffer of recent scores, ``n_buf`` int64 (K,) its fill.
The stacked state (what :attr:`TDigestQuantile.state_` holds) has a leading slot axis.
"""


@njit(cache=True, inline="always")
def td_view(st, i):
    """Every field of ``st`` indexed by ``i`` (views): ``td_view(st, s)`` is slot ``s``'s state,
    ``td_view(d, slice(k, k + 1))`` column ``k`` of one slot's."""
    return TDigestState(
        st.means[i],
        st.weights[i],
        st.cum[i],
        st.n_centroids[i],
        st.total[i],
        st.buf[i],
        st.n_buf[i],
    )


@njit(cache=True, inline="always")
def _td_digest_less(means, weights, cum, nc, total_c, r):
    """Digest mass below r: a centroid whose mean equals r counts half; inside the gap between
    two centroids the mass is interpolated linearly, a single-score centroid being a point mass
    and a heavier one spread around its mean. ``cum[i]`` is the weight of centroids 0..i-1."""
    if nc == 0 or r < means[0]:
        return 0.0
    if r > means[nc - 1]:
        return total_c
    lo = lower_bound(means, nc, r)
    hi = upper_bound(means, nc, r)
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
    less = midrank(buf[buf.shape[0] - nb :], nb, r)
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
    q_limit = (
        math.sin(min(delta / two_pi * math.asin(-1.0) + 1.0, delta / 4.0) * two_pi / delta) + 1.0
    ) / 2.0
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
def _td_run(R, Z, N, d, delta, update):
    """One slot, row path: normalise ``R`` (n, K) into ``Z`` and the sizes into ``N``; with
    ``update`` each observed score then joins its column's buffer (merged into the digest when
    the buffer is full). ``d`` is the slot's :class:`TDigestState`."""
    means, weights, cum, nc, total_c, buf, nb = d
    n, K = R.shape
    B = buf.shape[1]
    for k in range(K):
        c = nc[k]
        tc = total_c[k]
        b = nb[k]
        for t in range(n):
            r = R[t, k]
            N[t, k] = tc + b
            if math.isnan(r):
                Z[t, k] = np.nan
                continue
            Z[t, k] = _td_cdf(means[k], weights[k], cum[k], c, tc, buf[k], b, r)
            if update:
                insert_right(buf[k], b, r)
                b += 1
                if b == B:
                    c = _td_compress(means[k], weights[k], cum[k], c, buf[k], b, delta)
                    tc += b
                    b = 0
        nc[k] = c
        total_c[k] = tc
        nb[k] = b


@njit(cache=True)
def _td_run_batch(R, Z, N, d, delta):
    """Prequential t-digest normalisation of a large batch, bit-identical to ``_td_run``.

    Per column, the scores are taken in segments that fill the buffer exactly as the row path
    does (then the buffer is merged into the digest). Within a segment the digest is fixed, so
    each score's count among the buffer's earlier scores comes from one sort of the segment
    and a Fenwick tree, instead of a sorted insertion (a shift of ~buffer/2 values) per score.
    ``d`` is the slot's :class:`TDigestState`.
    """
    means, weights, cum, nc, total_c, buf, nb = d
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
        size = tc + b
        for t in range(n):  # the reference size behind each entry: every observed score joins
            N[t, k] = size
            if not math.isnan(R[t, k]):
                size += 1.0
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
                    less = fenwick_prefix(tree, di - 1)
                    within = midrank(bview, b, r) + (less + 0.5 * seen[di])
                    Z[seg_t[i], k] = (
                        within + _td_digest_less(means[k], weights[k], cum[k], c, tc, r)
                    ) / total
                seen[di] += 1
                fenwick_add(tree, d, di, 1)
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


@njit(cache=True)
def _td_slots(R, slots, Z, N, st, delta, update, batch_rows):
    """Every run of rows of one slot through the row path, or the batch path for long runs;
    ``st`` is the stacked :class:`TDigestState`."""
    starts = slot_runs(slots)
    for q in range(starts.shape[0] - 1):
        a, b = starts[q], starts[q + 1]
        d = td_view(st, slots[a])
        if update and b - a >= batch_rows:
            _td_run_batch(R[a:b], Z[a:b], N[a:b], d, delta)
        else:
            _td_run(R[a:b], Z[a:b], N[a:b], d, delta, update)


_td_slots_call = Compiled(_td_slots)
_td_bundle = bundler(TDigestState)


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

    _parameter_constraints = {
        "compression": [Interval("real", 10, 1e6)],
        "buffer_size": [Interval("int", 1, 10**7)],
    }

    def _spec(self, K):
        C = int(math.ceil(self.compression)) * 2 + 10 + int(self.buffer_size)
        B = int(self.buffer_size)
        return {
            "means": ((K, C), np.float64),
            "weights": ((K, C), np.float64),
            "cum": ((K, C + 1), np.float64),
            "n_centroids": ((K,), np.int64),
            "total": ((K,), np.float64),
            "buf": ((K, B), np.float64),
            "n_buf": ((K,), np.int64),
        }

    #: runs of at least this many rows take the sorting path (same numbers, faster)
    _BATCH_ROWS = 64

    def _bundle(self) -> TDigestState:
        """The stacked state as the kernels take it."""
        return _td_bundle(self.state_)

    def _run_slots(self, R, slots, Z, N, update):
        _td_slots_call(
            R, slots, Z, N, self._bundle(), float(self.compression), update, self._BATCH_ROWS
        )

    # the single-stream state (slot 0), as attributes
    @property
    def means_(self) -> np.ndarray:
        """Centroid means, (K, C)."""
        return self._slot0("means")

    @property
    def weights_(self) -> np.ndarray:
        """Centroid weights, (K, C)."""
        return self._slot0("weights")

    @property
    def n_centroids_(self) -> np.ndarray:
        """Centroids in use, (K,)."""
        return self._slot0("n_centroids")

    @property
    def total_(self) -> np.ndarray:
        """Weight in the centroids, (K,)."""
        return self._slot0("total")

    @property
    def buf_(self) -> np.ndarray:
        """Sorted, right-aligned buffer, (K, B)."""
        return self._slot0("buf")

    @property
    def n_buf_(self) -> np.ndarray:
        """Scores in the buffer, (K,)."""
        return self._slot0("n_buf")
