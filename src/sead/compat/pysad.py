"""PySAD in sead: :class:`PySADDetector` wraps any PySAD model (``fit_partial`` /
``score_partial`` on 1-D arrays) as a sead detector. PySAD is an optional dependency, imported
only when a PySAD model is wrapped."""

from __future__ import annotations

import copy
import pickle

import numpy as np

from .._params import Boolean, InstanceOf, Interval, take_renamed
from .._params import check_int as _check_int
from ..base import POLICY_CONSTRAINTS, Detector
from ._common import _adapter_hint, _describe, _refuse_class, _type_name

__all__ = ["PySADDetector"]


# (LODA: from ``random_state``; xStream: a cache of a deterministic matrix) at the first call,
# whichever of ``score_partial`` / ``fit_partial`` it is, so they are pure after that and give
# the same scores either way. KitNet's scoring only counts its calls (``n_executed``, never read).
_PYSAD_PURE_SCORING = frozenset(
    {
        "ExactStorm",
        "HalfSpaceTrees",
        "IForestASD",
        "Inqmad",
        "KitNet",
        "KNNCAD",
        "LODA",
        "LocalOutlierProbability",
        "MedianAbsoluteDeviation",
        "NullModel",
        "RelativeEntropy",
        "RSHash",
        "SeasonalESD",
        "SeasonalHybridESD",
        "StandardAbsoluteDeviation",
        "xStream",
    }
)
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
    if not (
        callable(getattr(model, "fit_partial", None))
        and callable(getattr(model, "score_partial", None))
    ):
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
        raise TypeError(
            f"{name}.score_partial returned {arr.size} values for one row, expected one number"
        )
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
      (a small cost beside RobustRandomCutForest's own);
    * ``"copy"``: anything else — another class, a subclass, a PySAD-like object of your own, an
      older pysad — is scored on a copy of the model (a pickle round trip per scored row): pure
      for any model, but the copy costs about what pickling the model's state costs, per row
      (seconds per row for RobustRandomCutForest at its defaults).

    ``score_on_copy=True`` forces the copy; ``score_on_copy=False`` scores the model itself
    (only correct when its ``score_partial`` changes nothing that a later score reads).

    Cost and memory are the wrapped model's, plus a few percent for the adapter (measured in
    ``benchmarks/RESULTS.md``: LODA and RobustRandomCutForest alone and wrapped). Scores are the
    wrapped model's, unchanged (higher = more anomalous; e.g. LODA: a mean negative log density,
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
    warmup
        How many of the first scores are placeholders, left out of a SEAD ensemble's quantile
        references and weights (e.g. KNNCAD's ``probationary_period``, during which it
        scores 0).
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``n_warmup`` (now
        ``warmup``).

    Attributes
    ----------
    model_
        The adapter's own copy of ``model``, which learns.
    scoring_
        ``"direct"``, ``"restore_rng"`` or ``"copy"`` (see above).

    References
    ----------
    Yilmaz, S.F. and Kozat, S.S. (2020). PySAD: a streaming anomaly detection framework in
    Python. arXiv:2009.02572.

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
    """

    _parameter_constraints = {
        "model": [InstanceOf(object, "a PySAD model")],
        "score_on_copy": [Boolean(), None],
        "warmup": [Interval("int", 0, None)],
        **POLICY_CONSTRAINTS,
    }
    _state_bytes_ok = False  # a PySAD model's state is Python objects

    def __init__(
        self,
        model,
        *,
        score_on_copy: bool | None = None,
        warmup: int = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.model = model
        self.score_on_copy = score_on_copy
        self.warmup = warmup
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"n_warmup": "warmup"})

    @property
    def name(self) -> str:
        """``pysad.<Model>``: the wrapped PySAD model's class."""
        return f"pysad.{type(self.model).__name__}"

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
        return _check_int("warmup", self.warmup, 0)

    def _init_state(self, schema) -> None:
        _check_pysad_model(self.model)
        if self.score_on_copy not in (None, True, False):
            raise ValueError(
                f"score_on_copy must be None, True or False, got {self.score_on_copy!r}"
            )
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
        state = (
            pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
            if self.scoring_ == "copy"
            else None
        )
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
            f"\tscore_on_copy={self.score_on_copy}\n\twarmup={self.warmup}\n)"
        ).expandtabs(2)
