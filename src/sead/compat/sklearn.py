"""scikit-learn and sead, both directions.

* :class:`SEADDetector` — SEAD (or SEAD++) as a scikit-learn outlier detector for batch users:
  ``fit`` / ``partial_fit`` / ``score_samples`` / ``decision_function`` / ``predict``, like
  :class:`sklearn.ensemble.IsolationForest`, so it drops into :class:`sklearn.pipeline.Pipeline`,
  ``clone``, ``get_params`` / ``set_params`` and model selection. River users call
  :class:`sead.SEAD` directly.
* :class:`SklearnWindowDetector` — any scikit-learn outlier detector with ``score_samples``
  (``IsolationForest``, ``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``, a ``Pipeline``
  ending in one …) as a sead detector, refit on a sliding window of the stream.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval as _SkInterval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._params import SEED, Boolean, InstanceOf, Interval, take_renamed, validate_params
from .._params import check_int as _check_int
from ..base import POLICY_CONSTRAINTS, Detector
from ..ensemble import SEAD, SEADPlusPlus
from ._common import _adapter_hint, _refuse_class, _type_name

__all__ = ["SEADDetector", "SklearnWindowDetector", "AUTO_THRESHOLD"]

#: the SEAD score above which ``SEADDetector(contamination="auto")`` flags a point
AUTO_THRESHOLD = 0.995


# SEAD++'s own parameters, with their defaults (read from its signature, so they never drift)
_PLUS_PLUS_ONLY = {
    name: p.default
    for name, p in inspect.signature(SEADPlusPlus.__init__).parameters.items()
    if name in ("n_sampled", "resample_every", "learn_unsampled")
}


class _Auto:
    """The string ``"auto"``."""

    def is_satisfied_by(self, v) -> bool:
        return isinstance(v, str) and v == "auto"

    def __str__(self) -> str:
        return "'auto'"


class _Share(_SkInterval):
    """A share of outliers in (0, 0.5]: scikit-learn's own ``Interval`` (its estimator checks
    read the contamination constraint), described in sead's words."""

    def __init__(self):
        super().__init__(numbers.Real, 0, 0.5, closed="right")

    def is_satisfied_by(self, val) -> bool:
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)

    def __str__(self) -> str:
        return "a number in (0, 0.5]"


class _RandomState:
    """scikit-learn's ``random_state``: an int, None or a ``numpy.random.RandomState``."""

    def is_satisfied_by(self, v) -> bool:
        if v is None or isinstance(v, np.random.RandomState):
            return True
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    def __str__(self) -> str:
        return "an int, None or a RandomState"


class SEADDetector(OutlierMixin, BaseEstimator):
    """SEAD (or SEAD++) as a scikit-learn outlier detector.

    ``fit(X)`` builds a fresh :class:`sead.SEAD` (``plus_plus=True``: :class:`sead.SEADPlusPlus`)
    and streams the rows of ``X`` through it in order, prequentially (each row is scored, then
    learned), exactly as the River-style model would see them; ``partial_fit(X)`` continues the
    stream with more rows. Row order matters: pass the rows in time order.

    Scores follow scikit-learn's sign convention: ``score_samples(X)`` is **minus** SEAD's score,
    so it lies in [-1, 0] and lower = more abnormal. Scoring is pure (it changes no state), and a
    row's score does not depend on the other rows of the call.

    The threshold (as in :class:`~sklearn.ensemble.IsolationForest`): ``offset_`` is the
    ``contamination`` quantile of ``score_samples`` over the last ``threshold_window`` training
    rows, each scored by the model right after the ``fit`` / ``partial_fit`` call that learned
    it. ``decision_function(X) = score_samples(X) - offset_`` is negative for outliers and
    ``predict`` returns -1 there, +1 elsewhere; so after ``fit(X)`` with ``len(X) <=
    threshold_window``, ``predict(X)`` flags a ``contamination`` fraction of ``X`` (up to ties).
    The window keeps memory bounded under ``partial_fit``; small ``partial_fit`` batches share
    one threshold over the window rather than each getting its own.

    Parameters
    ----------
    detectors
        Base detectors (sead detectors, unfitted; they are cloned, never modified). ``None``:
        :func:`sead.pools.default` seeded from ``random_state``.
    plus_plus
        Use SEAD++ (a weighted sample of the detectors scores each point; faster on big pools).
    contamination
        Expected fraction of outliers in the training data, in (0, 0.5]; sets ``offset_``.
        ``"auto"`` (as :class:`~sklearn.ensemble.IsolationForest`): a fixed threshold instead, a
        SEAD score of ``AUTO_THRESHOLD`` = 0.995 (about 0.5 % of the points of a stationary
        stream; see ``docs/ecosystem.md`` for what a score means).
    eta, lam, prior, warmup, reference, window, loss, output
        As :class:`sead.SEAD` (same defaults): learning rate and fixed-share mixing of the
        weights, prior weights, warm-up length (points), quantile reference, its window, the
        loss, and what the output averages.
    n_sampled, resample_every, learn_unsampled
        As :class:`sead.SEADPlusPlus`; only with ``plus_plus=True`` (setting them otherwise is
        an error at ``fit``, rather than silently ignored).
    threshold_window
        Number of most recent training rows whose scores set ``offset_``.
    random_state
        Seeds the default pool and SEAD++'s sampling: an int (the ``seed`` of the sead model),
        ``None`` or a :class:`numpy.random.RandomState` (an int is drawn from it at ``fit``).
        Detectors passed in ``detectors`` keep their own seeds.

    Attributes
    ----------
    model_
        The fitted :class:`sead.SEAD` / :class:`sead.SEADPlusPlus`: its ``weights_``,
        ``detector_names_`` and ``explain_one`` tell which detectors drive the scores.
    offset_
        The threshold on ``score_samples`` (see above).
    decision_scores_
        PyOD's convention: SEAD's prequential scores (higher = more abnormal) of the last
        ``threshold_window`` training rows, each scored before it was learned.
    threshold_
        PyOD's convention: the threshold on ``decision_scores_`` (their ``1 - contamination``
        quantile, or ``AUTO_THRESHOLD``).
    labels_
        PyOD's convention: 1 for the training rows of ``decision_scores_`` above ``threshold_``,
        0 for the others.
    n_features_in_, feature_names_in_
        Set at ``fit`` (``feature_names_in_`` only for a DataFrame with string column names;
        later input must have the same columns, in the same order).

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.hst import HalfSpaceTrees
    >>> from sead.detectors.rules import ZScoreRule
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(1000, 3))
    >>> X[[500, 800]] += 8.0                            # two outliers
    >>> det = SEADDetector([HalfSpaceTrees(seed=1), ZScoreRule()], contamination=0.01)
    >>> labels = det.fit_predict(X)                     # +1 inlier, -1 outlier
    >>> int((labels == -1).sum()), bool(labels[500] == labels[800] == -1)
    (10, True)
    >>> s = det.score_samples(X[[0, 500]])              # lower = more abnormal
    >>> bool(s[1] < s[0] <= 0)
    True
    >>> det.partial_fit(rng.normal(size=(200, 3))).model_.n_seen_
    1200

    In a pipeline:

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), SEADDetector([HalfSpaceTrees(seed=1), ZScoreRule()]))
    >>> bool(pipe.fit(X).predict(X)[500] == -1)
    True
    """

    _threshold_scores: np.ndarray  # the recent scores the offset is the contamination quantile of
    decision_scores_: np.ndarray  # set by fit (PyOD's name), declared for the type checker

    def __init__(
        self,
        detectors: list | None = None,
        *,
        plus_plus: bool = False,
        contamination: float = 0.01,
        eta: float = 0.02,
        lam: float = 1e-6,
        prior=None,
        warmup: int = 100,
        reference="tdigest",
        window: int | None = None,
        loss: str = "gated",
        output: str = "tail",
        n_sampled: int | None = None,
        resample_every: int = 250,
        learn_unsampled: bool = False,
        threshold_window: int = 10_000,
        random_state=0,
    ):
        self.detectors = detectors
        self.plus_plus = plus_plus
        self.contamination = contamination
        self.eta = eta
        self.lam = lam
        self.prior = prior
        self.warmup = warmup
        self.reference = reference
        self.window = window
        self.loss = loss
        self.output = output
        self.n_sampled = n_sampled
        self.resample_every = resample_every
        self.learn_unsampled = learn_unsampled
        self.threshold_window = threshold_window
        self.random_state = random_state

    _parameter_constraints = {
        **{
            k: v
            for k, v in SEADPlusPlus._parameter_constraints.items()
            if k not in ("seed", "missing", "extra")
        },
        "plus_plus": [Boolean()],
        "contamination": [_Auto(), _Share()],
        "threshold_window": [Interval("int", 1, None)],
        "random_state": [_RandomState()],
    }

    # ---- building the model ----------------------------------------------------------------
    def _check_params(self) -> None:
        validate_params(self)
        if not self.plus_plus:
            changed = [k for k, default in _PLUS_PLUS_ONLY.items() if getattr(self, k) != default]
            if changed:
                one = len(changed) == 1
                raise ValueError(
                    f"{', '.join(changed)} "
                    f"{'is a SEAD++ parameter' if one else 'are SEAD++ parameters'} "
                    "(plus_plus=False): set plus_plus=True, or leave "
                    f"{'it at its default' if one else 'them at their defaults'}"
                )

    def _seed(self):
        rs = self.random_state
        if rs is None or isinstance(rs, np.random.RandomState):
            return int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        return int(rs)

    def _build_model(self):
        self._check_params()
        common = dict(
            eta=self.eta,
            lam=self.lam,
            prior=self.prior,
            warmup=self.warmup,
            reference=self.reference,
            window=self.window,
            loss=self.loss,
            output=self.output,
            seed=self._seed(),
        )
        if self.plus_plus:
            extra = {k: getattr(self, k) for k in _PLUS_PLUS_ONLY}
            return SEADPlusPlus(self.detectors, **extra, **common)
        return SEAD(self.detectors, **common)

    def _validate(self, X, reset: bool) -> np.ndarray:
        return validate_data(
            self, X, reset=reset, dtype=np.float64, order="C", force_writeable=True
        )

    def _learn(self, A: np.ndarray) -> None:
        # SEAD learns prequentially: score each row, then learn it; those scores are PyOD's
        # decision_scores_ (higher = more abnormal) of the training rows
        window = int(self.threshold_window)
        prequential = np.asarray(self.model_.score_learn_many(A), dtype=np.float64)
        self.decision_scores_ = np.concatenate([self.decision_scores_, prequential])[-window:]
        tail = A[-window:]
        scores = np.concatenate([self._threshold_scores, self._scores(tail)])
        self._threshold_scores = scores[-window:]
        if self.contamination == "auto":
            self.offset_ = -AUTO_THRESHOLD
            self.threshold_ = AUTO_THRESHOLD
        else:
            self.offset_ = float(np.percentile(self._threshold_scores, 100.0 * self.contamination))
            self.threshold_ = float(
                np.percentile(self.decision_scores_, 100.0 * (1.0 - self.contamination))
            )
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(int)

    def _scores(self, A: np.ndarray) -> np.ndarray:
        return -np.asarray(self.model_.score_many(A), dtype=np.float64)

    # ---- scikit-learn API ------------------------------------------------------------------
    def fit(self, X, y=None):
        """Build a fresh model and learn the rows of ``X`` in order (``y`` is ignored).

        Parameters
        ----------
        X
            ``(n_samples, n_features)`` array-like or DataFrame, rows in time order.
        y
            Ignored (present for API consistency).

        Returns
        -------
        self
        """
        model = self._build_model()
        A = self._validate(X, reset=True)
        self.model_ = model
        self._threshold_scores = np.empty(0)
        self.decision_scores_ = np.empty(0)
        self._learn(A)
        return self

    def partial_fit(self, X, y=None):
        """Continue the stream with the rows of ``X`` (a first call acts like ``fit``).

        ``offset_`` is updated from the last ``threshold_window`` training rows.

        Returns
        -------
        self
        """
        if not hasattr(self, "model_"):
            return self.fit(X)
        self._check_params()
        A = self._validate(X, reset=False)
        self._learn(A)
        return self

    def score_samples(self, X) -> np.ndarray:
        """Minus SEAD's score of each row, in [-1, 0]: lower = more abnormal (scikit-learn's sign).

        Pure. For a ROC AUC with the anomalies as the positive class, pass ``-score_samples(X)``
        (or the PyOD-style ``decision_scores_``), not ``decision_function``.
        """
        check_is_fitted(self)
        return self._scores(self._validate(X, reset=False))

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers (lower =
        more abnormal, scikit-learn's sign: ``roc_auc_score(y_anomaly, decision_function(X))``
        is 1 minus the AUC you want)."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for inliers and -1 for outliers (``decision_function(X) < 0``)."""
        decision = self.decision_function(X)
        labels = np.ones(decision.shape[0], dtype=int)
        labels[decision < 0] = -1
        return labels


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
        raise TypeError(
            f"{expected}; got {_type_name(estimator)}{_adapter_hint(estimator)}"
        ) from None
    if not callable(getattr(est, "fit", None)) or not callable(getattr(est, "score_samples", None)):
        hint = _adapter_hint(estimator)
        if type(estimator).__name__ == "LocalOutlierFactor":
            hint = "; LocalOutlierFactor scores new points only with novelty=True"
        raise TypeError(
            f"{expected}; got {_type_name(estimator)}, which has no score_samples{hint}"
        )
    return est


def _seed_keys(est) -> list[str]:
    """Parameters of ``est`` (nested ones in pipelines too) that are a ``random_state``."""
    return sorted(
        k for k in est.get_params(deep=True) if k == "random_state" or k.endswith("__random_state")
    )


class SklearnWindowDetector(Detector):
    """Any scikit-learn outlier detector, refit on a sliding window of the stream.

    Keeps the last ``window`` points and fits a fresh clone
    (:func:`sklearn.base.clone`) of ``estimator`` on them — the reference-window scheme of
    PySAD's ``ReferenceWindowModel`` and of IForestASD — and scores each point with the latest
    fit: score ``= -estimator.score_samples(x)`` (scikit-learn's sign flipped, so that higher
    = more anomalous). Works with any estimator that has ``score_samples``:
    ``IsolationForest``, ``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``,
    ``EllipticEnvelope``, a ``Pipeline`` ending in one.

    Refit points (counting the points learned): the first fit is after ``warmup`` points;
    while fewer than ``window`` points have been seen, the next fit comes when the count
    doubles, after ``refit_every`` more points, or when the window fills, whichever is first;
    after that, every ``refit_every`` points. With the defaults (``window=256``,
    ``warmup=64``) the fits are after 64, 128, 256, 512, 768 … points. Until the first fit,
    every score is 0, a placeholder (``_warmup_points() == warmup``, so a SEAD ensemble
    leaves those scores out).

    Randomness: when the estimator has a ``random_state`` (nested ones in a pipeline too), fit
    number *k* gets ``random_state`` drawn from ``numpy.random.SeedSequence([seed, k])``, so runs
    are reproducible and successive fits still differ. ``seed=None`` keeps the estimator's own
    ``random_state`` as given.

    Cost: one fit per ``refit_every`` points, plus scoring. ``score_learn_many`` scores all the
    points between two refits in one ``score_samples`` call (that is where its speed comes
    from), while ``score_one`` pays scikit-learn's per-call overhead each time: about a hundred
    times slower per row for IsolationForest (both measured in ``benchmarks/RESULTS.md``).
    Memory: ``8 × window × d``
    bytes for the window plus the fitted estimator, bounded. Scores follow the estimator's
    ``score_samples``, flipped: IsolationForest (0, 1]; LocalOutlierFactor: the LOF, about 1
    for inliers; EllipticEnvelope: the squared Mahalanobis distance; OneClassSVM: any real.
    Score before the first fit: 0.

    Parameters
    ----------
    estimator
        The scikit-learn outlier detector (cloned at each refit, never fitted itself).
    window
        Number of most recent points each fit uses.
    refit_every
        Points between two fits once the window is full; ``None`` = ``window``
        (consecutive windows do not overlap).
    warmup
        Points before the first fit; ``None`` = ``min(window, 64)``.
    seed
        Seeds the estimator's ``random_state`` at each fit (see above); ``None`` leaves it as is.
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``window_size`` (now
        ``window``), ``n_warmup`` (now ``warmup``).

    References
    ----------
    Ding, Z. and Fei, M. (2013). An anomaly detection approach based on isolation forest
    algorithm for streaming data using sliding window. IFAC Proceedings 46(20).
    Pedregosa, F. et al. (2011). Scikit-learn: machine learning in Python. JMLR 12.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.ensemble import IsolationForest
    >>> from sead.detectors.adapters import SklearnWindowDetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> X[500] = [5.0, -5.0, 5.0]                        # an anomaly
    >>> det = SklearnWindowDetector(IsolationForest(n_estimators=50), window=200)
    >>> s = det.score_learn_many(X)
    >>> print(np.round(s[[10, 300, 400, 500]], 3))
    [0.    0.43  0.455 0.744]
    >>> det.n_fits_, det.n_warmup_                       # fits after 64, 128, 200, 400, 600
    (5, 64)
    """

    _parameter_constraints = {
        "estimator": [InstanceOf(object, "a scikit-learn outlier detector with score_samples")],
        "window": [Interval("int", 2, None)],
        "refit_every": [Interval("int", 1, None), None],
        "warmup": [Interval("int", 1, None), None],
        "seed": SEED,
        **POLICY_CONSTRAINTS,
    }
    _state_bytes_ok = False  # a scikit-learn model's state is Python objects

    def __init__(
        self,
        estimator,
        *,
        window: int = 256,
        refit_every: int | None = None,
        warmup: int | None = None,
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.estimator = estimator
        self.window = window
        self.refit_every = refit_every
        self.warmup = warmup
        self.seed = seed
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"window_size": "window", "n_warmup": "warmup"})

    @property
    def name(self) -> str:
        """``sklearn.<Estimator>``: the wrapped estimator's class (the last step of a pipeline)."""
        est = self.estimator
        steps = getattr(est, "steps", None)
        return f"sklearn.{type(steps[-1][1] if steps else est).__name__}"

    @classmethod
    def _unit_test_params(cls):
        from sklearn.ensemble import IsolationForest

        yield {"estimator": IsolationForest(n_estimators=10), "window": 128, "warmup": 32}

    def _resolved(self) -> tuple[int, int, int]:
        w = _check_int("window", self.window, 2)
        r = _check_int("refit_every", self.refit_every, 1, allow_none=True)
        n0 = _check_int("warmup", self.warmup, 1, allow_none=True)
        return w, w if r is None else r, min(w, 64) if n0 is None else n0

    def _warmup_points(self) -> int:
        return self._resolved()[2]

    def _init_state(self, schema) -> None:
        self.window_size_, self.refit_every_, self.n_warmup_ = self._resolved()
        if self.seed is not None:
            _check_int("seed", self.seed, 0)
        _check_sklearn_estimator(self.estimator)
        self.window_ = np.zeros((self.window_size_, schema.n_features))
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
                rs = int(
                    np.random.SeedSequence([int(self.seed), self.n_fits_]).generate_state(1)[0]
                )
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
