"""A t-digest reference that forgets its history when a detector's scores shift for good.

A full-history reference compares every new score with everything the detector has ever
scored. After a level shift of the stream (a new normal), the detector's scores of the
transition — every point looked anomalous until the detector adapted — stay in the reference
for ever; later anomalies rank below them, and their quantiles and tail p-values never recover.
:class:`ResettingTDigestQuantile` is :class:`~sead.normalization.TDigestQuantile` plus one
test per block: every time its exact buffer of ``buffer_size`` recent scores is full (the
moment the t-digest merges it), the mean quantile of those scores against the reference they
were normalised with is compared with ½. Without a change of the score distribution that mean
is ½ whatever the distribution (mid-rank quantiles); when it is beyond ``½ ± threshold`` — the
whole block sat in the reference's top (or bottom) tail — the digest is *replaced* by the block
instead of merged with it: the reference restarts from the detector's recent scores. A shift
up (the transition) and the shift back down (the detector adapted) each restart it, so a few
blocks after a level shift the reference holds only the new normal.

Until a restart the numbers are exactly :class:`TDigestQuantile`'s (tested).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._kernels.sorted import insert_right
from .._params import Interval
from .._stack import Compiled, slot_runs
from .tdigest import (
    TDigestQuantile,
    _td_cdf,
    _td_compress,
    _td_run,
    _td_run_batch,
    td_view,
)

__all__ = ["ResettingTDigestQuantile"]


@njit(cache=True)
def _rs_column(R, Z, N, d, zacc, nres, k, delta, threshold, update, batch_rows):
    """One slot (``d``, its :class:`~sead.normalization.tdigest.TDigestState`), column ``k``:
    the t-digest kernels up to the last score of each block, that score by hand (normalise,
    insert, test the block, then merge or restart). ``zacc`` float64 (K,) sums the quantiles of
    the block so far, ``nres`` int64 (K,) counts the restarts."""
    means, weights, cum, nc, total_c, buf, nb = d
    col = td_view(d, slice(k, k + 1))
    n = R.shape[0]
    B = buf.shape[1]
    if not update:
        _td_run(R[:, k : k + 1], Z[:, k : k + 1], N[:, k : k + 1], col, delta, False)
        return
    t = 0
    while t < n:
        need = B - nb[k]  # observed scores until the buffer is full (>= 1)
        e = t
        cnt = 0
        while e < n and (cnt < need - 1 or math.isnan(R[e, k])):
            if not math.isnan(R[e, k]):
                cnt += 1
            e += 1
        # rows t..e-1 leave the buffer one short of full: the t-digest's own kernels
        if e > t:
            seg = R[t:e, k : k + 1]
            zs = Z[t:e, k : k + 1]
            if e - t >= batch_rows:
                _td_run_batch(seg, zs, N[t:e, k : k + 1], col, delta)
            else:
                _td_run(seg, zs, N[t:e, k : k + 1], col, delta, True)
            for i in range(e - t):
                z = zs[i, 0]
                if not math.isnan(z):
                    zacc[k] += z
        if e >= n:
            break
        # row e: the score that fills the buffer
        r = R[e, k]
        c = nc[k]
        tc = total_c[k]
        b = nb[k]
        N[e, k] = tc + b
        z = _td_cdf(means[k], weights[k], cum[k], c, tc, buf[k], b, r)
        Z[e, k] = z
        insert_right(buf[k], b, r)
        b += 1
        mean_q = (zacc[k] + z) / b
        zacc[k] = 0.0
        if tc >= B and abs(mean_q - 0.5) > threshold:  # the block left the reference: restart
            c = _td_compress(means[k], weights[k], cum[k], 0, buf[k], b, delta)
            tc = float(b)
            nres[k] += 1
        else:
            c = _td_compress(means[k], weights[k], cum[k], c, buf[k], b, delta)
            tc += b
        nc[k] = c
        total_c[k] = tc
        nb[k] = 0
        t = e + 1


@njit(cache=True)
def _rs_slots(R, slots, Z, N, st, zacc, nres, delta, threshold, update, batch_rows):
    """Every run of rows of one slot, column by column; ``st`` is the stacked
    :class:`~sead.normalization.tdigest.TDigestState`, ``zacc`` and ``nres`` (capacity, K)."""
    starts = slot_runs(slots)
    K = R.shape[1]
    for q in range(starts.shape[0] - 1):
        a, b = starts[q], starts[q + 1]
        s = slots[a]
        d = td_view(st, s)
        for k in range(K):
            _rs_column(
                R[a:b], Z[a:b], N[a:b], d, zacc[s], nres[s], k, delta, threshold, update, batch_rows
            )


_rs_slots_call = Compiled(_rs_slots)


class ResettingTDigestQuantile(TDigestQuantile):
    """:class:`TDigestQuantile` that restarts from its recent scores after a level shift.

    Each time the exact buffer of the last ``buffer_size`` scores is full, the mean of their
    quantiles (each against the reference it was normalised with) is compared with ½: beyond
    ``½ ± threshold`` the digest is replaced by those scores instead of absorbing them (see
    the module docstring). Same memory and cost as the t-digest.

    Parameters
    ----------
    compression, buffer_size
        As :class:`TDigestQuantile`; ``buffer_size`` is also the block of the test.
    threshold
        How far from ½ a block's mean quantile must be to restart (in (0, ½); 0.4: the block's
        scores averaged above the reference's 90th percentile, or below its 10th).

    Attributes
    ----------
    n_resets_
        Restarts so far, per column (single stream).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> ref = ResettingTDigestQuantile()
    >>> R = np.r_[rng.normal(size=5_000), 10 + rng.normal(size=5_000)][:, None]
    >>> Z = ref.transform_update(R)
    >>> int(ref.n_resets_[0]), round(float(Z[-1000:].mean()), 2)   # a new normal, quantiles ~ ½
    (1, 0.5)
    >>> plain = TDigestQuantile().transform_update(R)
    >>> round(float(plain[-1000:].mean()), 2)                        # against the whole history
    0.76
    """

    def __init__(self, compression: float = 100.0, buffer_size: int = 500, threshold: float = 0.4):
        super().__init__(compression=compression, buffer_size=buffer_size)
        self.threshold = threshold

    _parameter_constraints = {
        **TDigestQuantile._parameter_constraints,
        "threshold": [Interval("real", 0, 0.5, closed="neither")],
    }

    def _spec(self, K):
        spec = super()._spec(K)
        spec["zacc"] = ((K,), np.float64)
        spec["n_resets"] = ((K,), np.int64)
        return spec

    def _run_slots(self, R, slots, Z, N, update):
        _rs_slots_call(
            R,
            slots,
            Z,
            N,
            self._bundle(),
            self.state_["zacc"],
            self.state_["n_resets"],
            float(self.compression),
            float(self.threshold),
            update,
            self._BATCH_ROWS,
        )

    def fresh_sizes(self, R) -> np.ndarray:
        """The reference sizes of ``transform_update(R)`` on a fresh reference: they depend on
        the scores here (a restart shrinks the reference), so this runs a fresh clone."""
        return self.clone().transform_update(np.asarray(R, dtype=np.float64), return_sizes=True)[1]

    @property
    def n_resets_(self) -> np.ndarray:
        """Restarts so far, per column, ``(K,)`` (single stream)."""
        return self._slot0("n_resets")
