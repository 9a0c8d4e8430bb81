"""The SEAD combiner on a matrix of raw scores: normalise, weigh, average.

``combine_scores(R)`` runs the whole combiner over a ``(T, K)`` matrix of raw, prequential
base-detector scores (detectors you already run); :func:`weigh` is its second half (the weights
over already-normalised quantiles). The output transforms live here too: what the ensemble
averages (the quantiles, or the tail surprises of :func:`tail_surprise`) and how the average is
mapped back into [0, 1]. :class:`sead.SEAD` uses the same pieces on its own detectors' scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .normalization import make_reference
from .weights import LOSSES, OUTPUT_CODES, check_hyper, check_prior, mwu_run, tail_values

__all__ = ["combine_scores", "CombineResult", "weigh", "tail_surprise", "OUTPUTS"]


def tail_surprise(Z, N):
    """Surprise ``-log p`` of each score from its mid-rank quantile ``z`` among ``n`` scores.

    ``p = (n (1 - z) + 1/2) / (n + 1)`` is the conformal tail p-value of the score — the
    share of the reference at or above it, counting the score itself as one more tie — so it
    is never 0, and it is 1/2 for an empty reference. ``-log p`` grows without bound as a
    score leaves its detector's range (at most ``log(2 (n + 1))``), which keeps the evidence
    of extreme scores that a quantile caps at 1. NaN stays NaN.

    Parameters
    ----------
    Z
        Mid-rank quantiles in [0, 1] (NaN = not observed); any shape.
    N
        The reference sizes behind them; broadcast against ``Z``.

    Returns
    -------
    numpy.ndarray
        ``-log p``, of the broadcast shape of ``Z`` and ``N``.

    Examples
    --------
    >>> tail_surprise(np.array([[0.5, 1.0, 0.0]]), np.array([[0.0, 99.0, 99.0]])).round(3).tolist()
    [[0.693, 5.298, 0.005]]
    """
    Z = np.asarray(Z, dtype=np.float64)
    N = np.asarray(N, dtype=np.float64)
    Z2, N2 = np.broadcast_arrays(np.atleast_2d(Z), np.atleast_2d(N))
    out = np.empty(Z2.shape)
    tail_values(np.ascontiguousarray(Z2), np.ascontiguousarray(N2, dtype=np.float64), out)
    return out.reshape(np.broadcast_shapes(Z.shape, N.shape))


#: What the ensemble averages: "quantile" (the paper's weighted mean of quantiles) or "tail"
#: (one minus the weighted geometric mean of the detectors' conformal tail p-values).
OUTPUTS = ("quantile", "tail")


@dataclass
class CombineResult:
    """Output of :func:`combine_scores`.

    Attributes
    ----------
    scores
        ``(T,)`` ensemble scores in [0, 1].
    normalized
        ``(T, K)`` normalised (quantile) scores ``z``.
    weights
        ``(T, K)`` weights; ``weights[t]`` are the ones used to form ``scores[t]``.
    raw
        ``(T, K)`` raw detector scores (from :meth:`SEAD.score_learn_many` with
        ``return_details=True``; ``None`` from :func:`combine_scores`, whose input they are).
    """

    scores: np.ndarray
    normalized: np.ndarray
    weights: np.ndarray
    raw: np.ndarray | None = None


def _check_loss(loss) -> int:
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {loss!r}")
    return LOSSES[loss]


def _check_output(output) -> str:
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {list(OUTPUTS)}, got {output!r}")
    return output


def weigh(
    Z,
    N=None,
    *,
    eta=1.0,
    lam=1e-6,
    prior=None,
    warmup=0,
    loss="score",
    output="quantile",
    record=True,
):
    """The weights kernel over a normalised matrix (the second half of :func:`combine_scores`).

    Parameters
    ----------
    Z
        ``(T, K)`` quantiles (NaN = not observed).
    N
        ``(T, K)`` reference sizes behind ``Z`` (needed for ``output="tail"``).
    eta, lam, prior, warmup, loss, output
        As :func:`combine_scores`.
    record
        Keep the ``(T, K)`` weight history; with False the second result is the final ``(K,)``
        weights.

    Returns
    -------
    tuple
        ``(scores, weights)``: the ``(T,)`` outputs and the weights (see ``record``).
    """
    check_hyper(eta, lam, warmup)
    code = _check_loss(loss)
    _check_output(output)
    K = Z.shape[1]
    pi = check_prior(prior, K)
    p = pi.copy()
    S = np.empty(Z.shape[0])
    P = np.empty((Z.shape[0] if record else 0, K))
    if N is None:
        if output != "quantile":
            raise ValueError("N (the reference sizes) is needed for output='tail'")
        N = np.zeros_like(Z)
    mwu_run(
        np.ascontiguousarray(Z, dtype=np.float64),
        np.ascontiguousarray(N, dtype=np.float64),
        p,
        pi,
        float(eta),
        float(lam),
        int(warmup),
        code,
        OUTPUT_CODES[output],
        S,
        P,
    )
    return S, (P if record else p)


def combine_scores(
    R,
    *,
    eta: float = 1.0,
    lam: float = 1e-6,
    prior=None,
    warmup: int = 0,
    reference="exact",
    window: int | None = None,
    loss: str = "score",
    output: str = "quantile",
) -> CombineResult:
    """Run the SEAD combiner over a matrix of raw, prequential base-detector scores.

    Parameters
    ----------
    R
        ``(T, K)`` raw scores: ``R[t, k]`` is detector *k*'s score of point *t*, computed
        before the detector learned point *t*. Any scale; higher = more anomalous. A NaN marks
        a detector that did not score that point (it is left out of that round).
    eta
        Learning rate of the multiplicative-weights update (>= 0; 0 keeps the prior).
    lam
        Fixed-share mixing towards the prior, in [0, 1].
    prior
        ``(K,)`` positive prior weights; ``None`` = uniform.
    warmup
        Rounds at the start without a weight update.
    reference
        ``"exact"`` (all past scores), ``"window"``, ``"tdigest"``, ``"frozen"`` (the first
        ``warmup`` scores), or a :class:`~sead.normalization.QuantileReference`.
    window
        Window length for ``"window"`` (or to make ``"exact"`` a sliding window).
    loss
        What drives the weights: ``"score"`` (the paper's), ``"gated"``, ``"consensus"``, or
        one of the other losses of :data:`sead.weights.LOSSES` (see :mod:`sead.weights`).
    output
        What is averaged: ``"quantile"`` (the paper's ``S = sum_k p_k z_k``) or ``"tail"``
        (``S = 1 - prod_k p-value_k ** p_k``, from each detector's conformal tail p-value:
        keeps how far into its tail a detector's score lies; see
        :func:`tail_surprise`).

    Returns
    -------
    CombineResult
        ``.scores`` (T,), ``.normalized`` (T, K) and ``.weights`` (T, K).

    Examples
    --------
    A detector whose scores always sit at the top of its own history loses its weight:

    >>> rng = np.random.default_rng(0)
    >>> R = rng.random((500, 3))
    >>> R[:, 2] = np.linspace(0, 1, 500)          # z = 1 at every step
    >>> res = combine_scores(R, eta=1.0)
    >>> res.weights[[0, 10, 499], 2].round(4)
    array([0.3333, 0.0073, 0.    ])
    >>> res.scores.shape, bool(((0 <= res.scores) & (res.scores <= 1)).all())
    ((500,), True)
    """
    check_hyper(eta, lam, warmup)
    _check_loss(loss)
    _check_output(output)
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[1] == 0:
        raise ValueError(f"R must be a (T, K) matrix with K >= 1, got shape {R.shape}")
    ref = make_reference(reference, window=window, warmup=warmup)
    Z, N = ref.transform_update(R, return_sizes=True)
    S, P = weigh(Z, N, eta=eta, lam=lam, prior=prior, warmup=warmup, loss=loss, output=output)
    return CombineResult(scores=S, normalized=Z, weights=P)


def _weighted_mean_observed(Z, p):
    """Row-wise weighted mean of the non-NaN entries of Z, as the weights kernel computes it
    (0.5 when a row has none)."""
    S = np.empty(Z.shape[0])
    for t in range(Z.shape[0]):
        obs = ~np.isnan(Z[t])
        w = p[obs].sum()
        S[t] = (p[obs] * Z[t, obs]).sum() / w if w > 0 else 0.5
    return S
