"""River in sead: :class:`RiverDetector` wraps any River anomaly detector, anomaly filter, or
River pipeline ending in one, as a sead detector (for a :class:`sead.SEAD` pool).

The other direction needs no adapter: every sead model *is* a River anomaly detector
(:class:`sead.base.Detector` subclasses :class:`river.base.AnomalyDetector`).
"""

from __future__ import annotations

import numpy as np

from .._params import InstanceOf, Interval, take_renamed
from .._params import check_int as _check_int
from ..base import POLICY_CONSTRAINTS, Detector
from ._common import _adapter_hint, _refuse_class, _type_name

__all__ = ["RiverDetector"]


# River


def _river_detector_of(model):
    """The River anomaly detector that scores for ``model`` (the last step of a pipeline, the
    detector inside an anomaly filter), after checking that ``model`` is usable unsupervised.
    Raises a TypeError naming what was expected otherwise."""
    from river import base, compose

    _refuse_class(model, "RiverDetector", "anomaly.HalfSpaceTrees()")
    expected = (
        "RiverDetector expects a River anomaly detector (a river.base.AnomalyDetector such as "
        "river.anomaly.HalfSpaceTrees(), an anomaly filter around one, or a River pipeline "
        "ending in one, e.g. preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees())"
    )
    inner = model
    if isinstance(model, compose.Pipeline):
        if not model.steps:
            raise TypeError(f"{expected}; got an empty pipeline")
        if model._supervised:
            raise TypeError(
                f"{expected}; got a pipeline with a supervised step, which needs a target y "
                "in learn_one: sead detectors are unsupervised"
            )
        inner = model._last_step
    while isinstance(inner, base.AnomalyFilter):
        inner = inner.anomaly_detector
    if isinstance(inner, base.SupervisedAnomalyDetector):
        raise TypeError(
            f"{expected}; got the supervised anomaly detector {type(inner).__name__}, whose "
            "score_one(x, y) and learn_one(x, y) need a target y: sead detectors are unsupervised"
        )
    if not isinstance(inner, base.AnomalyDetector):
        raise TypeError(f"{expected}; got {_type_name(inner)}{_adapter_hint(inner)}")
    return inner


class RiverDetector(Detector):
    """Any River anomaly detector as a sead detector.

    Wraps a River anomaly detector (``river.anomaly.HalfSpaceTrees``, ``LODA``,
    ``LocalOutlierFactor``, ``OneClassSVM`` …), an anomaly filter around one, or a River pipeline
    ending in one (e.g. ``preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees()``), so that it
    can join a :class:`sead.SEAD` ensemble next to sead's compiled detectors. Each row the sead
    model receives becomes a dict for River: keyed by the feature names when the sead model was
    given dicts or DataFrames, by ``0 .. d-1`` for arrays. Then River's ``score_one`` (which is
    pure) and ``learn_one`` are called on it.

    The adapter learns on a fresh clone of ``model`` (River's ``model.clone()``), made at the
    first point learned: the object passed in is never trained or changed, and whatever it had
    learned is not used. Supervised River anomaly detectors (``GaussianScorer``,
    ``StandardAbsoluteDeviation``, ``PredictiveAnomalyDetection``: they need a target ``y``)
    are refused with a TypeError.

    Good at: reusing any River model, its preprocessing and its documentation as is. Bad at:
    speed — River works one dict at a time in Python, so the batch methods cost what the
    one-by-one loop costs: the wrapped model's per-point cost plus building a dict per row
    (measured against River's HalfSpaceTrees alone in ``benchmarks/RESULTS.md``). Memory is the
    wrapped model's. Scores are the wrapped model's,
    unchanged (River's ``HalfSpaceTrees``: [0, 1], higher = more anomalous).

    Parameters
    ----------
    model
        The River anomaly detector (or pipeline ending in one) to wrap; it is cloned, never
        modified. Seed it (``seed=...``) for reproducible scores.
    warmup
        How many of the first scores are placeholders, left out of a SEAD ensemble's quantile
        references and weights. ``None`` = automatic: ``window_size`` for River's
        ``HalfSpaceTrees`` (which scores 0 until its first window is full), else 0.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``n_warmup`` (now
        ``warmup``).

    References
    ----------
    Montiel, J. et al. (2021). River: machine learning for streaming data in Python. JMLR 22(110).

    Examples
    --------
    >>> import numpy as np
    >>> from river import anomaly, preprocessing
    >>> from sead.detectors.adapters import RiverDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> X[500] = [5.0, -5.0, 5.0]                        # an anomaly
    >>> det = RiverDetector(preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(seed=1))
    >>> s = det.score_learn_many(X)
    >>> print(np.round(s[[300, 400, 500]], 3))
    [0.93  0.943 0.983]
    >>> import pandas as pd
    >>> named = RiverDetector(anomaly.HalfSpaceTrees(seed=1))
    >>> _ = named.score_learn_many(pd.DataFrame(X, columns=["cpu", "mem", "lat"]))
    >>> named.keys_                       # River gets dicts with these keys (names kept sorted)
    ('cpu', 'lat', 'mem')
    """

    _parameter_constraints = {
        "model": [
            InstanceOf(object, "a River anomaly detector, anomaly filter or pipeline ending in one")
        ],
        "warmup": [Interval("int", 0, None), None],
        **POLICY_CONSTRAINTS,
    }
    _state_bytes_ok = False  # a River model's state is Python objects

    def __init__(
        self,
        model,
        *,
        warmup: int | None = None,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.model = model
        self.warmup = warmup
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"n_warmup": "warmup"})

    @property
    def name(self) -> str:
        """``river.<Model>``: the wrapped River detector's class (the last step of a pipeline)."""
        try:
            return f"river.{type(_river_detector_of(self.model)).__name__}"
        except TypeError:
            return "river.?"

    @classmethod
    def _unit_test_params(cls):
        from river import anomaly, preprocessing

        hst = anomaly.HalfSpaceTrees(n_trees=5, height=6, window_size=50, seed=42)
        yield {"model": preprocessing.MinMaxScaler() | hst}
        yield {
            "model": anomaly.HalfSpaceTrees(n_trees=3, height=4, window_size=30, seed=7),
            "warmup": 0,
        }

    def _warmup_points(self) -> int:
        if self.warmup is not None:
            return _check_int("warmup", self.warmup, 0)
        from river import anomaly

        inner = _river_detector_of(self.model)
        if isinstance(inner, anomaly.HalfSpaceTrees):
            return int(inner.window_size)
        return 0

    def _init_state(self, schema) -> None:
        _river_detector_of(self.model)
        self._warmup_points()  # validates n_warmup
        self.model_ = self.model.clone()
        names = schema.names
        self.keys_ = tuple(range(schema.n_features)) if names is None else tuple(names)

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        keys, model = self.keys_, self.model_
        return np.array([float(model.score_one(dict(zip(keys, row)))) for row in X.tolist()])

    def _learn_rows(self, X: np.ndarray) -> None:
        keys, model = self.keys_, self.model_
        for row in X.tolist():
            model.learn_one(dict(zip(keys, row)))

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        keys, model = self.keys_, self.model_
        out = np.empty(X.shape[0])
        for t, row in enumerate(X.tolist()):
            out[t] = float(model.score_one(dict(zip(keys, row))))
            model.learn_one(dict(zip(keys, row)))  # a dict of its own, as learn_one gets in a loop
        return out


# ------------------------------------------------------------------------------------------
# PySAD

# PySAD models whose ``score_partial`` changes nothing that a later score or fit reads, checked
# by reading their code and by test (pysad 0.7.0). LODA and xStream build their projections
