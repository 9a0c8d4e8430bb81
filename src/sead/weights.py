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

__all__ = ["LOSSES", "mwu_run", "check_prior"]

LOSSES = {"score": 0, "gated": 1, "consensus": 2}


@njit(cache=True)
def mwu_run(Z, O, p, prior, eta, lam, warmup_left, loss, S, P):
    """Run the combiner over the quantiles ``Z`` (n, K); updates ``p`` in place.

    Writes ``S[t]``, the weighted mean of the observed entries of row *t* of ``O`` (the values
    averaged into the output: ``Z`` itself, or another transform of it), and, when ``P`` has
    ``n`` rows, ``P[t] = p`` used for ``S[t]``. The losses come from ``Z``. Returns the
    warm-up rounds still left. Weights are not updated while ``warmup_left > 0``.
    """
    n, K = Z.shape
    record = P.shape[0] == n
    lvec = np.empty(K)
    for t in range(n):
        if record:
            for k in range(K):
                P[t, k] = p[k]
        s = 0.0
        wsum = 0.0
        zsum = 0.0
        m = 0
        for k in range(K):
            z = Z[t, k]
            if not math.isnan(z):
                s += p[k] * O[t, k]
                wsum += p[k]
                zsum += z
                m += 1
        S[t] = s / wsum if wsum > 0.0 else 0.5
        if warmup_left > 0:
            warmup_left -= 1
            continue
        if m == 0:
            continue
        zbar = zsum / m
        # multiplicative step; losses are shifted by their minimum so that the largest factor
        # is exactly 1 (no underflow for any eta), which the normalisation undoes
        lmin = np.inf
        for k in range(K):
            z = Z[t, k]
            if math.isnan(z):
                lk = np.nan
            elif loss == 0:
                lk = z
            elif loss == 1:
                g = 1.0 - zbar
                lk = z * g * g * g * g
            else:
                lk = (z - zbar) * (z - zbar)
            lvec[k] = lk
            if lk < lmin:
                lmin = lk
        tot = 0.0
        for k in range(K):
            lk = lvec[k]
            w = p[k] if math.isnan(lk) else p[k] * math.exp(-eta * (lk - lmin))
            lvec[k] = w
            tot += w
        for k in range(K):
            p[k] = (1.0 - lam) * lvec[k] / tot + lam * prior[k]
    return warmup_left


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


def check_hyper(eta, lam, warmup):
    """Validate eta, lambda and the warm-up length; errors name the argument and value."""
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta >= 0):
        raise ValueError(f"eta must be a finite number >= 0, got {eta!r}")
    if not (isinstance(lam, (int, float)) and 0 <= lam <= 1):
        raise ValueError(f"lam must be a number in [0, 1], got {lam!r}")
    if not (isinstance(warmup, (int, np.integer)) and warmup >= 0):
        raise ValueError(f"warmup must be an integer >= 0, got {warmup!r}")
