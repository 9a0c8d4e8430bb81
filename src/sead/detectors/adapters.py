"""Adapters: River, PySAD and scikit-learn anomaly detectors as sead detectors.

A detector a user already has joins a :class:`sead.SEAD` ensemble (or any code written for the
sead protocol) through one of three wrappers:

* :class:`RiverDetector` — any River anomaly detector (``river.anomaly.*``), anomaly filter, or
  River pipeline ending in one (``preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees()``);
* :class:`PySADDetector` — any PySAD model (``fit_partial`` / ``score_partial`` on 1-D arrays);
  PySAD is an optional dependency, imported only when a PySAD model is wrapped;
* :class:`SklearnWindowDetector` — any scikit-learn outlier detector with ``score_samples``
  (``IsolationForest``, ``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``,
  ``EllipticEnvelope``, a ``Pipeline`` ending in one …), refit on a sliding window.

Each adapter works on its own copy of the wrapped model (the user's object is never trained or
changed), keeps sead's contract (pure scoring, ``score_learn_many`` equal to the one-by-one loop,
pickling, bad input rejected before any state is touched), and inherits the wrapped model's score
range, cost and memory. These adapters run the wrapped model's own Python code row by row; they
are for bringing a model into an ensemble, not for speed (sead's compiled detectors are).
"""

from __future__ import annotations

import copy
import inspect
import numbers
import pickle

import numpy as np

from ..base import Detector
from .._params import check_int as _check_int

__all__ = ["RiverDetector", "PySADDetector", "SklearnWindowDetector"]


def _type_name(obj) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _adapter_hint(model) -> str:
    """Which adapter fits an object that the one it was given to does not take."""
    if callable(getattr(model, "fit_partial", None)) and callable(getattr(model, "score_partial", None)):
        return "; it looks like a PySAD model: wrap it in sead.detectors.PySADDetector"
    if callable(getattr(model, "learn_one", None)) and callable(getattr(model, "score_one", None)):
        return "; it looks like a River anomaly detector: wrap it in sead.detectors.RiverDetector"
    if callable(getattr(model, "fit", None)) and hasattr(model, "get_params"):
        return (
            "; it looks like a scikit-learn estimator: wrap it in sead.detectors.SklearnWindowDetector"
        )
    return ""


def _refuse_class(model, adapter: str, example: str):
    if inspect.isclass(model):
        raise TypeError(
            f"{adapter} expects a model instance, got the class {_type_name(model)}; "
            f"pass an instance, e.g. {adapter}({example})"
        )


# ------------------------------------------------------------------------------------------
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
    one-by-one loop costs: the wrapped model's per-point cost plus about 3 µs per row (10
    features) to build the dicts (River's HalfSpaceTrees at its defaults: 48,000 rows/s alone,
    42,000 through the adapter). Memory is the wrapped model's. Scores are the wrapped model's, unchanged
    (River's ``HalfSpaceTrees``: [0, 1], higher = more anomalous).

    Parameters
    ----------
    model
        The River anomaly detector (or pipeline ending in one) to wrap; it is cloned, never
        modified. Seed it (``seed=...``) for reproducible scores.
    n_warmup
        How many of the first scores are placeholders, left out of a SEAD ensemble's quantile
        references and weights. ``None`` = automatic: ``window_size`` for River's
        ``HalfSpaceTrees`` (which scores 0 until its first window is full), else 0.

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

    References
    ----------
    Montiel, J. et al. (2021). River: machine learning for streaming data in Python. JMLR 22(110).
    """

    def __init__(self, model, *, n_warmup: int | None = None):
        self.model = model
        self.n_warmup = n_warmup

    @classmethod
    def _unit_test_params(cls):
        from river import anomaly, preprocessing

        hst = anomaly.HalfSpaceTrees(n_trees=5, height=6, window_size=50, seed=42)
        yield {"model": preprocessing.MinMaxScaler() | hst}
        yield {"model": anomaly.HalfSpaceTrees(n_trees=3, height=4, window_size=30, seed=7), "n_warmup": 0}

    def _warmup_points(self) -> int:
        if self.n_warmup is not None:
            return _check_int("n_warmup", self.n_warmup, 0)
        from river import anomaly

        inner = _river_detector_of(self.model)
        if isinstance(inner, anomaly.HalfSpaceTrees):
            return int(inner.window_size)
        return 0

    def _init_state(self, n_features: int) -> None:
        _river_detector_of(self.model)
        self._warmup_points()  # validates n_warmup
        self.model_ = self.model.clone()

    def _prepare(self, schema) -> None:
        fresh = not self._fitted
        super()._prepare(schema)
        if fresh:
            names = self.schema_.names
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
# (LODA: from ``random_state``; xStream: a cache of a deterministic matrix) at the first call,
# whichever of ``score_partial`` / ``fit_partial`` it is, so they are pure after that and give
# the same scores either way. KitNet's scoring only counts its calls (``n_executed``, never read).
_PYSAD_PURE_SCORING = frozenset({
    "ExactStorm", "HalfSpaceTrees", "IForestASD", "Inqmad", "KitNet", "KNNCAD", "LODA",
    "LocalOutlierProbability", "MedianAbsoluteDeviation", "NullModel", "RelativeEntropy",
    "RSHash", "SeasonalESD", "SeasonalHybridESD", "StandardAbsoluteDeviation", "xStream",
})
# PySAD models whose ``score_partial`` changes nothing but the state of the model's own NumPy
# random generator (the attribute named here): RobustRandomCutForest draws its random cuts for
# the displacement of the scored point (the trees are left unchanged), RandomModel draws the
# score. Saving and restoring that generator's state around the call makes scoring pure for the
# price of two small copies, where a copy of the model costs far more (RobustRandomCutForest at
# its defaults: a 7 MB pickle, about 2 s per round trip).
_PYSAD_RNG_ONLY_SCORING = {"RobustRandomCutForest": "rng", "RandomModel": "_rng"}
# Anything else (another PySAD class, a subclass, a PySAD-like object) is scored on a copy.
_PYSAD_CHECKED_VERSION = (0, 7)
_PYSAD_NEEDS_LABELS = frozenset({"PerfectModel"})


def _pysad_class_name(model) -> str | None:
    """The name under ``pysad.models`` of ``model``'s exact class, or None (not a PySAD model, or
    a subclass, which may score differently). Imports pysad only for an object from pysad."""
    if type(model).__module__.split(".")[0] != "pysad":
        return None
    import pysad.models

    name = type(model).__name__
    return name if getattr(pysad.models, name, None) is type(model) else None


def _pysad_version() -> tuple[int, ...]:
    import pysad

    parts = []
    for p in str(getattr(pysad, "__version__", "0")).split(".")[:2]:
        digits = "".join(ch for ch in p if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _pysad_scoring(model) -> tuple[str, str | None]:
    """How to keep ``model``'s scoring pure: ("direct", None), ("restore_rng", attribute name)
    or ("copy", None)."""
    name = _pysad_class_name(model)
    if name is None or _pysad_version() < _PYSAD_CHECKED_VERSION:
        return "copy", None
    if name in _PYSAD_PURE_SCORING:
        return "direct", None
    attr = _PYSAD_RNG_ONLY_SCORING.get(name)
    if attr is not None and isinstance(getattr(model, attr, None), np.random.RandomState):
        return "restore_rng", attr
    return "copy", None


def _check_pysad_model(model):
    _refuse_class(model, "PySADDetector", "pysad.models.LODA(random_state=0)")
    if not (callable(getattr(model, "fit_partial", None)) and callable(getattr(model, "score_partial", None))):
        raise TypeError(
            "PySADDetector expects a PySAD model (an object with fit_partial(x) and "
            f"score_partial(x) on 1-D arrays, e.g. pysad.models.LODA()); got {_type_name(model)}"
            f"{_adapter_hint(model)}"
        )
    if _pysad_class_name(model) in _PYSAD_NEEDS_LABELS:
        raise TypeError(
            f"PySADDetector cannot wrap pysad.models.{type(model).__name__}: it needs the true "
            "labels in fit_partial(x, y), and sead detectors are unsupervised"
        )


def _as_score(value, name) -> float:
    arr = np.asarray(value, dtype=np.float64)
    if arr.size != 1:
        raise TypeError(f"{name}.score_partial returned {arr.size} values for one row, expected one number")
    return float(arr.reshape(-1)[0])


class PySADDetector(Detector):
    """Any PySAD model as a sead detector.

    Wraps a PySAD model (``pysad.models.xStream``, ``RSHash``, ``LODA``, ``HalfSpaceTrees``,
    ``IForestASD``, ``RobustRandomCutForest`` …, or any object with PySAD's ``fit_partial(x)`` /
    ``score_partial(x)`` on 1-D float64 arrays) so that it can join a :class:`sead.SEAD`
    ensemble. PySAD is optional: this module does not import it; ``pip install sead[pysad]``
    (or ``pip install pysad``) to wrap its models.

    The adapter learns on a deep copy of ``model``, made at the first point learned, so the
    object passed in is never changed; pass an unfitted model (a deep copy keeps whatever it had
    learned). Each row is given to PySAD as its own 1-D float64 array. The prequential pass calls
    ``score_partial`` then ``fit_partial`` on each row, never ``fit_score_partial``: a model whose
    ``fit_score_partial`` does something else (KNNCAD's alarm suppression,
    MedianAbsoluteDeviation learning the value before scoring it) gives the
    ``score_partial``-then-``fit_partial`` scores here, the same in every sead method.

    Scoring must be pure in sead, and not every PySAD model's ``score_partial`` is:
    ``RobustRandomCutForest`` and ``RandomModel`` draw from the model's random generator when
    they score. The adapter picks one of three ways to score, by the model's exact class
    (``scoring_`` tells which):

    * ``"direct"``: classes checked to score purely (pysad >= 0.7: xStream, RSHash, LODA,
      HalfSpaceTrees, IForestASD, ExactStorm, KNNCAD, KitNet, Inqmad, LocalOutlierProbability,
      MedianAbsoluteDeviation, StandardAbsoluteDeviation, RelativeEntropy, SeasonalESD,
      SeasonalHybridESD, NullModel) are scored as they are, at no extra cost;
    * ``"restore_rng"``: RobustRandomCutForest and a seeded RandomModel, whose scoring changes
      nothing but their generator's state, get that state saved and restored around each call
      (about 80 µs per row; RobustRandomCutForest itself takes some 14 ms per row at its
      defaults);
    * ``"copy"``: anything else — another class, a subclass, a PySAD-like object of your own, an
      older pysad — is scored on a copy of the model (a pickle round trip per scored row): pure
      for any model, but the copy costs about what pickling the model's state costs, per row
      (RobustRandomCutForest at its defaults would take some 2 s per row this way).

    ``score_on_copy=True`` forces the copy; ``score_on_copy=False`` scores the model itself
    (only correct when its ``score_partial`` changes nothing that a later score reads).

    Cost and memory are the wrapped model's, plus about 1.5 µs per row (LODA at its defaults,
    10 features: 27,500 rows/s alone, 26,500 through the adapter). Scores are the wrapped
    model's, unchanged (higher = more anomalous; e.g. LODA: a mean negative log density,
    unbounded). Reproducibility is as good as the wrapped model's: seed it with its own
    ``random_state``; models left at ``random_state=None`` draw from NumPy's global generator.

    Parameters
    ----------
    model
        The PySAD model to wrap (deep-copied, never modified).
    score_on_copy
        ``None`` (automatic, see above), ``True`` (always score on a copy: pure for any model) or
        ``False`` (score the model itself: fast, but only correct when its ``score_partial``
        changes nothing).

    Attributes
    ----------
    model_
        The adapter's own copy of ``model``, which learns.
    scoring_
        ``"direct"``, ``"restore_rng"`` or ``"copy"`` (see above).
    n_warmup
        How many of the first scores are placeholders, left out of a SEAD ensemble's quantile
        references and weights (e.g. KNNCAD's ``probationary_period``, during which it
        scores 0).

    Examples
    --------
    >>> import numpy as np
    >>> import pytest
    >>> _ = pytest.importorskip("pysad")                  # the optional extra: sead[pysad]
    >>> from pysad.models import LODA
    >>> from sead.detectors.adapters import PySADDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> X[500] = [5.0, -5.0, 5.0]                        # an anomaly
    >>> det = PySADDetector(LODA(random_state=1))
    >>> s = det.score_learn_many(X)
    >>> print(np.round(s[[300, 400, 500]], 3))
    [0.504 0.815 5.638]

    References
    ----------
    Yilmaz, S.F. and Kozat, S.S. (2020). PySAD: a streaming anomaly detection framework in
    Python. arXiv:2009.02572.
    """

    def __init__(self, model, *, score_on_copy: bool | None = None, n_warmup: int = 0):
        self.model = model
        self.score_on_copy = score_on_copy
        self.n_warmup = n_warmup

    @classmethod
    def _unit_test_params(cls):
        try:
            from pysad.models import LODA
        except ImportError:  # PySAD is optional: nothing to check without it
            return
        yield {"model": LODA(num_bins=10, num_random_cuts=20, random_state=3)}

    def _unit_test_skips(self):
        skips = set(super()._unit_test_skips())
        if getattr(self.model, "random_state", 0) is None:
            # an unseeded PySAD model draws from NumPy's global generator: two clones differ;
            # reproducibility is the wrapped model's (seed it with random_state)
            skips.add("check_same_seed_same_scores")
        return skips

    def _warmup_points(self) -> int:
        return _check_int("n_warmup", self.n_warmup, 0)

    def _init_state(self, n_features: int) -> None:
        _check_pysad_model(self.model)
        if self.score_on_copy not in (None, True, False):
            raise ValueError(f"score_on_copy must be None, True or False, got {self.score_on_copy!r}")
        self._warmup_points()
        self.model_ = copy.deepcopy(self.model)
        self._name = type(self.model).__name__
        if self.score_on_copy is None:
            self.scoring_, self._rng_attr = _pysad_scoring(self.model_)
        else:
            self.scoring_, self._rng_attr = ("copy" if self.score_on_copy else "direct"), None

    def _score_row(self, model, x: np.ndarray, state: bytes | None = None) -> float:
        """Score one row purely (``state``: a pickle of ``model`` to score a copy from)."""
        if self.scoring_ == "restore_rng":
            gen = getattr(model, self._rng_attr, None)
            if isinstance(gen, np.random.RandomState):
                saved = gen.get_state()
                try:
                    return _as_score(model.score_partial(x), self._name)
                finally:
                    gen.set_state(saved)
        elif self.scoring_ == "direct":
            return _as_score(model.score_partial(x), self._name)
        if state is None:
            state = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        return _as_score(pickle.loads(state).score_partial(x), self._name)

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        model = self.model_
        state = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL) if self.scoring_ == "copy" else None
        return np.array([self._score_row(model, X[t].copy(), state) for t in range(X.shape[0])])

    def _learn_rows(self, X: np.ndarray) -> None:
        model = self.model_
        for t in range(X.shape[0]):
            model.fit_partial(X[t].copy())  # a row of its own: models may keep it (IForestASD)

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        model = self.model_
        for t in range(X.shape[0]):
            out[t] = self._score_row(model, X[t].copy())
            model.fit_partial(X[t].copy())
        return out

    def __repr__(self) -> str:
        # a PySAD model has Python's default repr (with its memory address), which differs
        # between a detector and its clone; show its class and simple constructor arguments
        return (
            f"{type(self).__name__} (\n\tmodel={_describe(self.model)}\n"
            f"\tscore_on_copy={self.score_on_copy}\n\tn_warmup={self.n_warmup}\n)"
        ).expandtabs(2)


def _describe(model) -> str:
    """``Class(arg=value, …)`` from the constructor arguments a model stores under their own
    name (numbers, strings, None); '…' stands for the others."""
    if inspect.isclass(model) or type(model).__repr__ is not object.__repr__:
        return repr(model)
    shown, hidden = [], False
    try:
        params = inspect.signature(type(model).__init__).parameters.values()
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        v = getattr(model, p.name, inspect.Parameter.empty)
        if v is None or isinstance(v, (bool, numbers.Number, str)):
            shown.append(f"{p.name}={v!r}")
        else:
            hidden = True
    return f"{type(model).__name__}({', '.join(shown + (['…'] if hidden else []))})"


# ------------------------------------------------------------------------------------------
# scikit-learn


def _check_sklearn_estimator(estimator):
    from sklearn.base import clone

    _refuse_class(estimator, "SklearnWindowDetector", "IsolationForest()")
    expected = (
        "SklearnWindowDetector expects a scikit-learn outlier detector with fit and "
        "score_samples (e.g. IsolationForest(), LocalOutlierFactor(novelty=True), OneClassSVM(), "
        "EllipticEnvelope(), or a Pipeline ending in one)"
    )
    try:
        est = clone(estimator)
    except TypeError:
        raise TypeError(f"{expected}; got {_type_name(estimator)}{_adapter_hint(estimator)}") from None
    if not callable(getattr(est, "fit", None)) or not callable(getattr(est, "score_samples", None)):
        hint = _adapter_hint(estimator)
        if type(estimator).__name__ == "LocalOutlierFactor":
            hint = "; LocalOutlierFactor scores new points only with novelty=True"
        raise TypeError(f"{expected}; got {_type_name(estimator)}, which has no score_samples{hint}")
    return est


def _seed_keys(est) -> list[str]:
    """Parameters of ``est`` (nested ones in pipelines too) that are a ``random_state``."""
    return sorted(k for k in est.get_params(deep=True) if k == "random_state" or k.endswith("__random_state"))


class SklearnWindowDetector(Detector):
    """Any scikit-learn outlier detector, refit on a sliding window of the stream.

    Keeps the last ``window_size`` points and fits a fresh clone
    (:func:`sklearn.base.clone`) of ``estimator`` on them — the reference-window scheme of
    PySAD's ``ReferenceWindowModel`` and of IForestASD — and scores each point with the latest
    fit: score ``= -estimator.score_samples(x)`` (scikit-learn's sign flipped, so that higher
    = more anomalous). Works with any estimator that has ``score_samples``:
    ``IsolationForest``, ``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``,
    ``EllipticEnvelope``, a ``Pipeline`` ending in one.

    Refit points (counting the points learned): the first fit is after ``n_warmup`` points;
    while fewer than ``window_size`` points have been seen, the next fit comes when the count
    doubles, after ``refit_every`` more points, or when the window fills, whichever is first;
    after that, every ``refit_every`` points. With the defaults (``window_size=256``,
    ``n_warmup=64``) the fits are after 64, 128, 256, 512, 768 … points. Until the first fit,
    every score is 0, a placeholder (``_warmup_points() == n_warmup``, so a SEAD ensemble
    leaves those scores out).

    Randomness: when the estimator has a ``random_state`` (nested ones in a pipeline too), fit
    number *k* gets ``random_state`` drawn from ``numpy.random.SeedSequence([seed, k])``, so runs
    are reproducible and successive fits still differ. ``seed=None`` keeps the estimator's own
    ``random_state`` as given.

    Cost: one fit per ``refit_every`` points (IsolationForest with 100 trees on 256 points:
    about 0.1 s), plus scoring. ``score_learn_many`` scores all the points between two refits in
    one ``score_samples`` call (that is where its speed comes from), while ``score_one`` pays
    scikit-learn's per-call overhead (0.1-0.5 ms) each time. IsolationForest at its defaults
    with ``window_size=2048``, 10 features: about 8,000 rows/s through ``score_learn_many``
    (PySAD's IForestASD, the same scheme one row at a time: about 180 rows/s), about 200 rows/s
    through ``score_one`` / ``learn_one``. Memory: ``8 × window_size × d``
    bytes for the window plus the fitted estimator, bounded. Scores follow the estimator's
    ``score_samples``, flipped: IsolationForest (0, 1]; LocalOutlierFactor: the LOF, about 1
    for inliers; EllipticEnvelope: the squared Mahalanobis distance; OneClassSVM: any real.
    Score before the first fit: 0.

    Parameters
    ----------
    estimator
        The scikit-learn outlier detector (cloned at each refit, never fitted itself).
    window_size
        Number of most recent points each fit uses.
    refit_every
        Points between two fits once the window is full; ``None`` = ``window_size``
        (consecutive windows do not overlap).
    n_warmup
        Points before the first fit; ``None`` = ``min(window_size, 64)``.
    seed
        Seeds the estimator's ``random_state`` at each fit (see above); ``None`` leaves it as is.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sead.detectors.adapters import SklearnWindowDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> X[500] = [5.0, -5.0, 5.0]                        # an anomaly
    >>> det = SklearnWindowDetector(IsolationForest(n_estimators=50), window_size=200)
    >>> s = det.score_learn_many(X)
    >>> print(np.round(s[[10, 300, 400, 500]], 3))
    [0.    0.43  0.455 0.744]
    >>> det.n_fits_, det.n_warmup_                       # fits after 64, 128, 200, 400, 600
    (5, 64)

    References
    ----------
    Ding, Z. and Fei, M. (2013). An anomaly detection approach based on isolation forest
    algorithm for streaming data using sliding window. IFAC Proceedings 46(20).
    Pedregosa, F. et al. (2011). Scikit-learn: machine learning in Python. JMLR 12.
    """

    def __init__(
        self,
        estimator,
        *,
        window_size: int = 256,
        refit_every: int | None = None,
        n_warmup: int | None = None,
        seed: int | None = 0,
    ):
        self.estimator = estimator
        self.window_size = window_size
        self.refit_every = refit_every
        self.n_warmup = n_warmup
        self.seed = seed

    @classmethod
    def _unit_test_params(cls):
        from sklearn.ensemble import IsolationForest

        yield {"estimator": IsolationForest(n_estimators=10), "window_size": 128, "n_warmup": 32}

    def _resolved(self) -> tuple[int, int, int]:
        w = _check_int("window_size", self.window_size, 2)
        r = _check_int("refit_every", self.refit_every, 1, allow_none=True)
        n0 = _check_int("n_warmup", self.n_warmup, 1, allow_none=True)
        return w, w if r is None else r, min(w, 64) if n0 is None else n0

    def _warmup_points(self) -> int:
        return self._resolved()[2]

    def _init_state(self, n_features: int) -> None:
        self.window_size_, self.refit_every_, self.n_warmup_ = self._resolved()
        if self.seed is not None:
            _check_int("seed", self.seed, 0)
        _check_sklearn_estimator(self.estimator)
        self.window_ = np.zeros((self.window_size_, n_features))
        self.pos_ = 0  # next slot of the ring buffer
        self.n_ = 0  # points learned
        self.next_fit_ = self.n_warmup_  # value of n_ at which the next fit happens
        self.n_fits_ = 0
        self.estimator_ = None

    # ---- the window and the fits -------------------------------------------------------------
    def _next_fit_after(self, n: int) -> int:
        w, r = self.window_size_, self.refit_every_
        if n < w:
            return min(2 * n, n + r, w)
        return n + r

    def _push(self, rows: np.ndarray) -> None:
        w = self.window_size_
        m = rows.shape[0]
        idx = (self.pos_ + np.arange(m)) % w
        if m > w:
            idx, rows = idx[-w:], rows[-w:]
        self.window_[idx] = rows
        self.pos_ = (self.pos_ + m) % w
        self.n_ += m

    def _window_in_order(self) -> np.ndarray:
        if self.n_ < self.window_size_:
            return self.window_[: self.n_].copy()
        return np.concatenate([self.window_[self.pos_ :], self.window_[: self.pos_]])

    def _fit(self) -> None:
        from sklearn.base import clone

        est = clone(self.estimator)
        if self.seed is not None:
            keys = _seed_keys(est)
            if keys:
                rs = int(np.random.SeedSequence([int(self.seed), self.n_fits_]).generate_state(1)[0])
                est.set_params(**dict.fromkeys(keys, rs))
        est.fit(self._window_in_order())
        self.estimator_ = est
        self.n_fits_ += 1
        self.next_fit_ = self._next_fit_after(self.n_)

    def _segments(self, n: int):
        """(start, stop) of the pieces of an n-row batch between two refit points."""
        t = 0
        while t < n:
            stop = min(n, t + self.next_fit_ - self.n_)
            yield t, stop
            t = stop

    # ---- hooks -------------------------------------------------------------------------------
    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        if self.estimator_ is None:
            return np.zeros(X.shape[0])
        return -np.asarray(self.estimator_.score_samples(X), dtype=np.float64).reshape(-1)

    def _learn_rows(self, X: np.ndarray) -> None:
        for a, b in self._segments(X.shape[0]):
            self._push(X[a:b])
            if self.n_ == self.next_fit_:
                self._fit()

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        out = np.empty(X.shape[0])
        for a, b in self._segments(X.shape[0]):
            out[a:b] = self._score_rows(X[a:b])  # one score_samples call per segment
            self._push(X[a:b])
            if self.n_ == self.next_fit_:
                self._fit()
        return out
