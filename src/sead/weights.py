"""Detector weights: the fixed-share multiplicative-weights update.

Given the normalised scores ``z_t`` (one per detector, in [0, 1]) the ensemble outputs
``S_t = sum_k p_k z_k`` and then, past the warm-up, updates

    p  <-  (1 - lam) · normalise(p ⊙ exp(-eta · loss(z_t)))  +  lam · prior

so detectors whose scores stay low (anomalies are rare) gain weight. ``lam`` mixes a little of
the prior back in every step ("fixed share"), which keeps every weight at least
``lam · prior_k`` and lets a detector recover after a drift.

Losses (``loss=``), all in [0, 1], functions of the round's quantiles ``z`` and the weights
``p`` before the step:

* ``"score"`` — the normalised score itself (the paper's);
* ``"gated"`` — ``z_k · (1 - c)^4`` with the consensus ``c = mean_j z_j``: a detector's score
  counted mostly where the ensemble agrees the point is normal;
* ``"consensus"`` — ``(z_k - mean_j z_j)^2``;
* the gated loss with another consensus ``c``: ``"gated-weighted"`` (``sum_j p_j z_j``, the
  consensus of the detectors the weights trust), ``"gated-loo"`` (the mean of the *other*
  detectors), ``"gated-loo-weighted"`` (their weighted mean), ``"gated-median"`` (the median);
* ``"agree"`` / ``"agree-weighted"`` — ``(1 - (2 z_k - 1)(2 c_k - 1)) / 2`` with ``c_k`` the
  (weighted) mean of the other detectors: one minus a detector's agreement with the rest, a
  per-round correlation. A detector whose quantiles are independent of the others' (a random
  one) or constant (``z = 1/2``) has expected loss exactly 1/2; one that rises and falls with
  the others has less.

A NaN in ``z`` marks a detector not observed this round (SEAD++, or a detector in its own
warm-up): it is left out of the output, of the consensus and of the update. With the losses
``"score"``, ``"gated"``, ``"consensus"`` and ``"agree-awake"`` the step is the one above, in
which (the losses being shifted by their minimum, see :func:`mwu_rows`) an unobserved detector
fares like the best observed one; the other losses (and ``"gated-sleep"``) take the
*sleeping-experts* step (Freund, Schapire, Singer & Warmuth 1997): the observed detectors'
factors are rescaled so that their total weight is unchanged, so an unobserved detector keeps
its share against the average of the observed ones — SEAD++'s unsampled detectors are then
neither rewarded nor punished for being left out. Without unobserved detectors both steps are
the same.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._params import Interval, check_values

__all__ = [
    "LOSSES",
    "SLEEP",
    "OUTPUT_CODES",
    "mwu_rows",
    "mwu_run",
    "weighted_rows",
    "tail_values",
    "check_prior",
    "check_hyper",
    "HYPER_CONSTRAINTS",
]

#: flag of a loss code: the sleeping-experts step (see the module docstring)
SLEEP = 16

LOSSES = {
    "score": 0,
    "gated": 1,
    "consensus": 2,
    "gated-weighted": 3 | SLEEP,
    "gated-loo": 4 | SLEEP,
    "gated-loo-weighted": 5 | SLEEP,
    "gated-median": 6 | SLEEP,
    "agree": 7 | SLEEP,
    "agree-weighted": 8 | SLEEP,
    "gated-sleep": 1 | SLEEP,
    "agree-awake": 7,
}


@njit(cache=True, inline="always")
def _loss(z, pk, zbar, zsum, m, wz, wsum, med, loss):
    """Loss ``loss`` of a detector with quantile ``z`` and weight ``pk`` in a round of ``m``
    observed detectors (quantile sum ``zsum``, mean ``zbar``, weighted sum ``wz`` over weight
    ``wsum``, median ``med``); a leave-one-out consensus with no other detector is ``zbar``."""
    if loss == 0:
        return z
    if loss == 2:
        return (z - zbar) * (z - zbar)
    c = zbar
    if loss == 3:
        c = wz / wsum if wsum > 0.0 else zbar
    elif loss == 4 or loss == 7:
        if m > 1:
            c = (zsum - z) / (m - 1)
    elif loss == 5 or loss == 8:
        rest = wsum - pk
        if m > 1 and rest > 0.0:
            c = min(max((wz - pk * z) / rest, 0.0), 1.0)
        elif m > 1:
            c = (zsum - z) / (m - 1)
    elif loss == 6:
        c = med
    if loss >= 7:
        return 0.5 * (1.0 - (2.0 * z - 1.0) * (2.0 * c - 1.0))
    g = 1.0 - c
    return z * g * g * g * g


@njit(cache=True)
def _median_observed(zrow, buf):
    """The median of the non-NaN entries of ``zrow`` (``buf`` a scratch array as long)."""
    m = 0
    for k in range(zrow.shape[0]):
        if not math.isnan(zrow[k]):
            buf[m] = zrow[k]
            m += 1
    if m == 0:
        return 0.5
    v = np.sort(buf[:m])
    h = m // 2
    return v[h] if m % 2 == 1 else 0.5 * (v[h - 1] + v[h])


#: what the ensemble averages (``output=``): the quantiles themselves, or their tail surprises
OUTPUT_CODES = {"quantile": 0, "tail": 1}


@njit(cache=True, inline="always")
def _value(z, n, output):
    """What the output averages for a quantile ``z`` among ``n`` scores: ``z`` itself
    (quantile), or the surprise ``-log p`` of its conformal tail p-value (tail)."""
    if output == 0:
        return z
    return -math.log((n * (1.0 - z) + 0.5) / (n + 1.0))


@njit(cache=True, inline="always")
def _finish(s, output):
    """The weighted mean of the values mapped into [0, 1] (``1 - e^-s`` for tail)."""
    if output == 0:
        return s
    return -math.expm1(-s)


@njit(cache=True, inline="always")
def _row_sums(Z, N, t, ps, output):
    """Row ``t``'s sums over its observed detectors (``Z[t, k]`` not NaN), in column order:
    ``(sum ps·value, sum ps, sum z, sum ps·z, count)``. :func:`mwu_rows` and
    :func:`weighted_rows` both take the output from here, so a row scored alone and the same
    row in a prequential batch agree bit for bit."""
    acc = 0.0
    wsum = 0.0
    zsum = 0.0
    wz = 0.0
    m = 0
    for k in range(Z.shape[1]):
        z = Z[t, k]
        if not math.isnan(z):
            acc += ps[k] * _value(z, N[t, k], output)
            wsum += ps[k]
            zsum += z
            wz += ps[k] * z
            m += 1
    return acc, wsum, zsum, wz, m


@njit(cache=True)
def mwu_rows(Z, N, slots, p, prior, eta, lam, warmup_left, loss, output, S, P):
    """The combiner's second half over rows of many streams; updates ``p`` and ``warmup_left``.

    Parameters
    ----------
    Z : float64 (n, K)
        Quantiles of the raw scores (NaN = detector not observed for that row).
    N : float64 (n, K)
        The reference sizes behind ``Z`` (used by the tail output).
    slots : int64 (n,)
        The stream (slot) of each row; rows are taken in order.
    p : float64 (capacity, K)
        Each slot's weights, updated in place.
    prior : float64 (K,)
        The fixed-share prior.
    eta, lam : float
        Learning rate and fixed-share mixing.
    warmup_left : int64 (capacity,)
        Rounds each slot still has without a weight update; decremented in place.
    loss : int
        A code of :data:`LOSSES` (0 score, 1 gated, 2 consensus, ...).
    output : int
        0 quantile, 1 tail (see :data:`OUTPUT_CODES`).
    S : float64 (n,)
        Out: ``S[t]``, the output at the weights of row ``t``'s slot before its update: the
        weighted mean of the observed detectors' values, mapped into [0, 1] (0.5 when none is
        observed).
    P : float64 (n, K) or (0, K)
        Out, when it has ``n`` rows: the weights used for ``S[t]``.
    """
    n, K = Z.shape
    record = P.shape[0] == n
    lvec = np.empty(K)
    buf = np.empty(K)
    form = loss & (SLEEP - 1)
    sleep = (loss & SLEEP) != 0
    for t in range(n):
        s = slots[t]
        ps = p[s]
        if record:
            for k in range(K):
                P[t, k] = ps[k]
        acc, wsum, zsum, wz, m = _row_sums(Z, N, t, ps, output)
        S[t] = _finish(acc / wsum, output) if wsum > 0.0 else 0.5
        if warmup_left[s] > 0:
            warmup_left[s] -= 1
            continue
        if m == 0:
            continue
        zbar = zsum / m
        med = _median_observed(Z[t], buf) if form == 6 else zbar
        # multiplicative step; losses are shifted by their minimum among the detectors that
        # still have weight, so that one factor is exactly 1 and the total cannot underflow to
        # 0 for any eta (with lam = 0 a weight can reach 0 for good); normalising undoes it
        lmin = np.inf
        for k in range(K):
            z = Z[t, k]
            lk = np.nan if math.isnan(z) else _loss(z, ps[k], zbar, zsum, m, wz, wsum, med, form)
            lvec[k] = lk
            if lk < lmin and ps[k] > 0.0:
                lmin = lk
        if lmin == np.inf:  # no observed detector has weight left: nothing to learn from
            continue
        tot = 0.0
        awake = 0.0
        moved = 0.0
        for k in range(K):
            lk = lvec[k]
            if math.isnan(lk) or ps[k] == 0.0:  # unobserved, or no weight left to move
                w = ps[k]
            else:
                w = ps[k] * math.exp(-eta * (lk - lmin))
                awake += ps[k]
                moved += w
            lvec[k] = w
            tot += w
        if sleep and m < K and moved > 0.0 and moved != awake:
            # sleeping experts: the observed detectors keep their total weight, so a detector
            # left out of the round neither gains nor loses against the average of the others
            f = awake / moved
            tot = 0.0
            for k in range(K):
                if not (math.isnan(Z[t, k]) or ps[k] == 0.0):
                    lvec[k] *= f
                tot += lvec[k]
        for k in range(K):
            ps[k] = (1.0 - lam) * lvec[k] / tot + lam * prior[k]


@njit(cache=True)
def weighted_rows(Z, N, slots, p, output, S):
    """Pure: ``S[t]``, the output of row ``t`` at the current weights ``p[slots[t]]``, summed by
    :func:`_row_sums` as in :func:`mwu_rows`."""
    n = Z.shape[0]
    for t in range(n):
        ps = p[slots[t]]
        acc, wsum, _, _, _ = _row_sums(Z, N, t, ps, output)
        S[t] = _finish(acc / wsum, output) if wsum > 0.0 else 0.5


@njit(cache=True)
def tail_values(Z, N, out):
    """``out = -log p`` elementwise (NaN stays NaN): the tail surprises of :func:`mwu_rows`."""
    n, K = Z.shape
    for t in range(n):
        for k in range(K):
            z = Z[t, k]
            out[t, k] = np.nan if math.isnan(z) else _value(z, N[t, k], 1)


def mwu_run(Z, N, p, prior, eta, lam, warmup_left, loss, output, S, P):
    """:func:`mwu_rows` for one stream.

    Parameters
    ----------
    Z, N
        ``(n, K)`` quantiles (NaN = not observed) and the reference sizes behind them.
    p
        ``(K,)`` weights, updated in place.
    prior, eta, lam
        As :func:`mwu_rows`.
    warmup_left
        Rounds still without a weight update.
    loss, output
        As :func:`mwu_rows`.
    S, P
        Out: as :func:`mwu_rows`.

    Returns
    -------
    int
        The warm-up rounds still left.
    """
    left = np.array([int(warmup_left)], dtype=np.int64)
    mwu_rows(
        Z,
        N,
        np.zeros(Z.shape[0], dtype=np.int64),
        p.reshape(1, -1),
        prior,
        float(eta),
        float(lam),
        left,
        int(loss),
        int(output),
        S,
        P,
    )
    return int(left[0])


def check_prior(prior, K: int) -> np.ndarray:
    """Validate a prior over ``K`` detectors and return it normalised.

    Parameters
    ----------
    prior
        ``(K,)`` finite positive weights, or ``None`` (uniform).
    K
        The number of detectors.

    Returns
    -------
    numpy.ndarray
        The prior, summing to 1.
    """
    if prior is None:
        return np.full(K, 1.0 / K)
    pi = np.asarray(prior, dtype=np.float64)
    if pi.shape != (K,):
        raise ValueError(f"prior must have one entry per detector ({K}), got shape {pi.shape}")
    if not np.isfinite(pi).all() or (pi <= 0).any():
        raise ValueError(f"prior entries must be finite and > 0, got {pi.tolist()}")
    return pi / pi.sum()


#: what eta, lam and the warm-up may be (shared by SEAD, KeyedSEAD, combine_scores and weigh)
HYPER_CONSTRAINTS = {
    "eta": [Interval("real", 0, None)],
    "lam": [Interval("real", 0, 1)],
    "warmup": [Interval("int", 0, None)],
}


def check_hyper(eta, lam, warmup):
    """Validate eta, lambda and the warm-up length; errors name the argument and value.

    Parameters
    ----------
    eta, lam, warmup
        The learning rate (>= 0), the fixed-share mixing (in [0, 1]) and the warm-up rounds
        (an integer >= 0).
    """
    check_values(HYPER_CONSTRAINTS, {"eta": eta, "lam": lam, "warmup": warmup})
