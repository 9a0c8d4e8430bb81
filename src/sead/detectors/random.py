"""A detector that outputs uniform random scores (for robustness experiments)."""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba import njit, uint64

from .._kernels.random import counter_uniform
from .._params import SEED, validate_params
from .._stack import LEARN, SCORE, Stack, slot_runs
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["RandomDetector"]


@njit(cache=True)
def _uniform(key, t0, n, out):
    """out[i] = the uniform [0, 1) number of counter t0 + i (53 random bits)."""
    k = uint64(key)
    for i in range(n):
        out[i] = counter_uniform(k, uint64(t0 + i))


# ------------------------------------------------------------------------------------------
# stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

RandomState = namedtuple("RandomState", ["scal"])
RandomState.__doc__ = """State of stacked random detectors; per member, in each slot's row:

* ``scal`` int64 ``(2,)`` the key of the random sequence (in [0, 2^63)), points learned.
"""
RandomConfig = namedtuple("RandomConfig", ["off"])
RandomConfig.__doc__ = """The field offsets ``off`` ``(1, m + 1)`` (no per-member parameters: the
seed has been turned into the key of the state)."""
_KEY, _N = 0, 1


@njit(cache=True, nogil=True)
def random_kernel(X, slots, modes, out, cfg, st):
    """The stacked RandomDetector kernel (arguments as in :mod:`sead._stack`)."""
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(off.shape[1] - 1):
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            sc = st.scal[s, off[0, j] : off[0, j + 1]]
            n, o = b - a, out[a:b, j]
            if mode == SCORE:  # every row scores the draw of the points learned so far
                if sc[_N] == 0:
                    o[:] = 0.0
                else:
                    _uniform(sc[_KEY], sc[_N] - 1, 1, o[:1])
                    o[1:] = o[0]
                continue
            if mode != LEARN:  # prequential: row i scores the draw of sc[_N] + i points learned
                if sc[_N] == 0:
                    o[0] = 0.0
                    _uniform(sc[_KEY], 0, n - 1, o[1:])
                else:
                    _uniform(sc[_KEY], sc[_N] - 1, n, o)
            sc[_N] += n


class RandomStack(Stack):
    """Random detectors, stacked (see :mod:`sead._stack`)."""

    State = RandomState
    dtypes = {"scal": np.int64}
    kernel = staticmethod(random_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        key = int(np.random.default_rng(det.seed).integers(0, 2**63, dtype=np.int64))
        return {"scal": np.array([key, 0], dtype=np.int64)}

    @staticmethod
    def make_config(members, schema, off):
        return RandomConfig(off)


class RandomDetector(StackedDetector):
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
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.random import RandomDetector
    >>> X = np.zeros((5, 2))
    >>> print(RandomDetector(seed=3).score_learn_many(X).round(4))
    [0.     0.7667 0.7454 0.6479 0.1795]
    """

    _parameter_constraints = {"seed": SEED, **POLICY_CONSTRAINTS}

    def __init__(self, seed: int | None = 0, missing: str = "impute", extra: str = "ignore"):
        self.seed = seed
        self.missing = missing
        self.extra = extra

    @classmethod
    def _unit_test_params(cls):
        yield {"seed": 0}

    def _unit_test_skips(self) -> set[str]:
        # random scores rank outliers no better than chance, on purpose: the sanity bars of
        # sead.checks (planted outliers) and River (ROC AUC >= 0.5) do not apply
        return super()._unit_test_skips() | {"check_scores_rank_outliers", "check_roc_auc"}

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def key_(self) -> int:
        """Key of the random sequence, drawn from ``seed`` (in [0, 2^63))."""
        return int(self._view("scal")[_KEY])

    @property
    def n_(self) -> int:
        """Points learned."""
        return int(self._view("scal")[_N])


RandomDetector._stack_class = RandomStack
