"""A detector that outputs uniform random scores (for robustness experiments)."""

from __future__ import annotations

import numbers

import numpy as np
from numba import njit, uint64

from .._kernels.random import counter_uniform
from ..base import Detector

__all__ = ["RandomDetector"]


@njit(cache=True)
def _uniform(key, t0, n, out):
    """out[i] = the uniform [0, 1) number of counter t0 + i (53 random bits)."""
    k = uint64(key)
    for i in range(n):
        out[i] = counter_uniform(k, uint64(t0 + i))


class RandomDetector(Detector):
    """Uniform random scores in [0, 1): a detector that knows nothing.

    Used to test how an ensemble copes with useless members (the paper's random-detector
    experiment: 13 real detectors plus 13 random ones). The score of a point depends only on
    ``seed`` and on how many points the detector has learned before it: after learning ``t``
    points, every point scores ``U(seed, t)``, a counter-based SplitMix64 draw. So scoring is
    pure, ``score_one`` then ``learn_one`` gives exactly the prequential batch scores, a pickled
    copy continues the same sequence, and the prequential scores of a stream are i.i.d.
    uniform whatever the data. A detector that has learned nothing scores 0, as every detector.

    Cost: O(1) per point, independent of the features; state: two integers.

    Parameters
    ----------
    seed
        Selects the random sequence; None draws one at the first point learned.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.random import RandomDetector
    >>> X = np.zeros((5, 2))
    >>> print(RandomDetector(seed=3).score_learn_many(X).round(4))
    [0.     0.7667 0.7454 0.6479 0.1795]
    """

    def __init__(self, seed: int | None = 0):
        self.seed = seed

    @classmethod
    def _unit_test_params(cls):
        yield {"seed": 0}

    def _unit_test_skips(self) -> set[str]:
        # random scores rank outliers no better than chance, on purpose: the sanity bars of
        # sead.checks (planted outliers) and River (ROC AUC >= 0.5) do not apply
        return super()._unit_test_skips() | {"check_scores_rank_outliers", "check_roc_auc"}

    def _init_state(self, n_features: int) -> None:
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral)):
            raise ValueError(f"seed must be an integer or None, got {self.seed!r}")
        self.key_ = int(np.random.default_rng(self.seed).integers(0, 2**63, dtype=np.int64))
        self.n_ = 0

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        if self.n_ == 0:
            return np.zeros(X.shape[0])
        one = np.empty(1)
        _uniform(self.key_, self.n_ - 1, 1, one)
        return np.full(X.shape[0], one[0])

    def _learn_rows(self, X: np.ndarray) -> None:
        self.n_ += X.shape[0]

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        out = np.empty(n)
        if self.n_ == 0:
            out[0] = 0.0
            _uniform(self.key_, 0, n - 1, out[1:])
        else:
            _uniform(self.key_, self.n_ - 1, n, out)
        self.n_ += n
        return out
