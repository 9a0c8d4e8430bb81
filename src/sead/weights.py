"""Detector weights: the fixed-share multiplicative-weights update.

Given the normalised scores ``z_t`` (one per detector, in [0, 1]) the ensemble outputs
``S_t = sum_k p_k z_k`` and then, past the warm-up, updates

    p  <-  (1 - lam) · normalise(p ⊙ exp(-eta · loss(z_t)))  +  lam · prior

so detectors whose scores stay low (anomalies are rare) gain weight. ``lam`` mixes a little of
the prior back in every step ("fixed share"), which keeps every weight at least
``lam · prior_k`` and lets a detector recover after a drift.

Losses (``loss=``): ``"score"`` — the normalised score itself (the paper's); ``"gated"`` —
``z_k · (1 - mean_j z_j)^4``, counting a detector's score mostly where the ensemble agrees the
point is normal; ``"consensus"`` — ``(z_k - mean_j z_j)^2``. A NaN in ``z`` marks a detector not
observed this round (SEAD++): it is left out of the output and of the update.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._params import Interval, check_values

__all__ = ["LOSSES", "OUTPUT_CODES", "mwu_rows", "mwu_run", "weighted_rows", "tail_values", "check_prior", "check_hyper", "HYPER_CONSTRAINTS"]

LOSSES = {"score": 0, "gated": 1, "consensus": 2}


@njit(cache=True, inline="always")
def _loss(z, zbar, loss):
    if loss == 0:
        return z
    if loss == 1:
        g = 1.0 - zbar
        return z * g * g * g * g
    return (z - zbar) * (z - zbar)


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
        0 score, 1 gated, 2 consensus (see :data:`LOSSES`).
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
    for t in range(n):
        s = slots[t]
        ps = p[s]
        if record:
            for k in range(K):
                P[t, k] = ps[k]
        acc = 0.0
        wsum = 0.0
        zsum = 0.0
        m = 0
        for k in range(K):
            z = Z[t, k]
            if not math.isnan(z):
                acc += ps[k] * _value(z, N[t, k], output)
                wsum += ps[k]
                zsum += z
                m += 1
        S[t] = _finish(acc / wsum, output) if wsum > 0.0 else 0.5
        if warmup_left[s] > 0:
            warmup_left[s] -= 1
            continue
        if m == 0:
            continue
        zbar = zsum / m
        # multiplicative step; losses are shifted by their minimum among the detectors that
        # still have weight, so that one factor is exactly 1 and the total cannot underflow to
        # 0 for any eta (with lam = 0 a weight can reach 0 for good); normalising undoes it
        lmin = np.inf
        for k in range(K):
            z = Z[t, k]
            lk = np.nan if math.isnan(z) else _loss(z, zbar, loss)
            lvec[k] = lk
            if lk < lmin and ps[k] > 0.0:
                lmin = lk
        if lmin == np.inf:  # no observed detector has weight left: nothing to learn from
            continue
        tot = 0.0
        for k in range(K):
            lk = lvec[k]
            if math.isnan(lk) or ps[k] == 0.0:  # unobserved, or no weight left to move
                w = ps[k]
            else:
                w = ps[k] * math.exp(-eta * (lk - lmin))
            lvec[k] = w
            tot += w
        for k in range(K):
            ps[k] = (1.0 - lam) * lvec[k] / tot + lam * prior[k]


@njit(cache=True)
def weighted_rows(Z, N, slots, p, output, S):
    """Pure: ``S[t]``, the output of row ``t`` at the current weights ``p[slots[t]]``, summed in
    the same order as :func:`mwu_rows`, so that scoring a row alone and in a prequential batch
    agree bit for bit."""
    n, K = Z.shape
    for t in range(n):
        ps = p[slots[t]]
        acc = 0.0
        wsum = 0.0
        for k in range(K):
            z = Z[t, k]
            if not math.isnan(z):
                acc += ps[k] * _value(z, N[t, k], output)
                wsum += ps[k]
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
    """:func:`mwu_rows` for one stream: ``p`` (K,) updated in place; returns the warm-up rounds
    still left."""
    left = np.array([int(warmup_left)], dtype=np.int64)
    mwu_rows(Z, N, np.zeros(Z.shape[0], dtype=np.int64), p.reshape(1, -1), prior, float(eta), float(lam),
             left, int(loss), int(output), S, P)
    return int(left[0])


def check_prior(prior, K: int) -> np.ndarray:
    """Validate a prior over ``K`` detectors (``None`` = uniform) and return it normalised."""
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
    """Validate eta, lambda and the warm-up length; errors name the argument and value."""
    check_values(HYPER_CONSTRAINTS, {"eta": eta, "lam": lam, "warmup": warmup})
