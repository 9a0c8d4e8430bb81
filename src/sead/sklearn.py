"""The scikit-learn face of sead: :class:`SEADDetector`, an outlier detector for batch users.

River users call :class:`sead.SEAD` directly (``learn_one`` / ``score_one`` and the compiled batch
methods). :class:`SEADDetector` wraps the same model in scikit-learn's outlier-detector contract
(``fit`` / ``partial_fit`` / ``score_samples`` / ``decision_function`` / ``predict``, like
:class:`sklearn.ensemble.IsolationForest`), so it drops into :class:`sklearn.pipeline.Pipeline`,
``clone``, ``get_params`` / ``set_params`` and model selection.
"""

from __future__ import annotations

import inspect
import numbers

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .ensemble import SEAD, SEADPlusPlus

__all__ = ["SEADDetector"]

# SEAD++'s own parameters, with their defaults (read from its signature, so they never drift)
_PLUS_PLUS_ONLY = {
    name: p.default
    for name, p in inspect.signature(SEADPlusPlus.__init__).parameters.items()
    if name in ("n_sampled", "resample_every", "learn_unsampled")
}


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

    # ---- building the model ----------------------------------------------------------------
    def _check_params(self) -> None:
        c = self.contamination
        if isinstance(c, bool) or not isinstance(c, numbers.Real) or not 0.0 < c <= 0.5:
            raise ValueError(f"contamination must be a number in (0, 0.5], got {c!r}")
        w = self.threshold_window
        if isinstance(w, bool) or not isinstance(w, numbers.Integral) or w < 1:
            raise ValueError(f"threshold_window must be an integer >= 1, got {w!r}")
        if not isinstance(self.plus_plus, (bool, np.bool_)):
            raise ValueError(f"plus_plus must be True or False, got {self.plus_plus!r}")
        if not self.plus_plus:
            changed = [k for k, default in _PLUS_PLUS_ONLY.items() if getattr(self, k) != default]
            if changed:
                one = len(changed) == 1
                raise ValueError(
                    f"{', '.join(changed)} {'is a SEAD++ parameter' if one else 'are SEAD++ parameters'} "
                    f"(plus_plus=False): set plus_plus=True, or leave "
                    f"{'it at its default' if one else 'them at their defaults'}"
                )

    def _seed(self):
        rs = self.random_state
        if rs is None or isinstance(rs, np.random.RandomState):
            return int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        if isinstance(rs, bool) or not isinstance(rs, numbers.Integral):
            raise ValueError(f"random_state must be an int, None or a RandomState, got {rs!r}")
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
        return validate_data(self, X, reset=reset, dtype=np.float64, order="C", force_writeable=True)

    def _learn(self, A: np.ndarray) -> None:
        self.model_.learn_many(A)  # SEAD learns prequentially: score each row, then learn it
        tail = A[-int(self.threshold_window) :]
        scores = np.concatenate([self._threshold_scores, self._scores(tail)])
        self._threshold_scores = scores[-int(self.threshold_window) :]
        self.offset_ = float(np.percentile(self._threshold_scores, 100.0 * self.contamination))

    def _scores(self, A: np.ndarray) -> np.ndarray:
        return -np.asarray(self.model_.score_many(A), dtype=np.float64)

    def __setstate__(self, state):
        # joblib can unpickle numpy arrays as read-only memory maps (``mmap_mode="r"``); the
        # compiled kernels need writable state, so such arrays are copied back into memory.
        super().__setstate__(state)
        if "model_" in self.__dict__:
            _make_writable(self.model_, set())

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
        """Minus SEAD's score of each row, in [-1, 0]: lower = more abnormal. Pure."""
        check_is_fitted(self)
        return self._scores(self._validate(X, reset=False))

    def decision_function(self, X) -> np.ndarray:
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers."""
        return self.score_samples(X) - self.offset_

    def predict(self, X) -> np.ndarray:
        """+1 for inliers and -1 for outliers (``decision_function(X) < 0``)."""
        decision = self.decision_function(X)
        labels = np.ones(decision.shape[0], dtype=int)
        labels[decision < 0] = -1
        return labels


def _make_writable(obj, seen: set) -> None:
    """Replace every read-only numpy array held by a sead object (recursively) by a copy."""
    if id(obj) in seen:
        return
    seen.add(id(obj))
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else None
    if items is None:
        if type(obj).__module__.split(".")[0] != "sead" or not hasattr(obj, "__dict__"):
            return
        items = vars(obj).items()
        container = vars(obj)
    else:
        container = obj
    for key, value in list(items):
        if isinstance(value, np.ndarray):
            if not value.flags.writeable:
                container[key] = np.array(value)
        elif isinstance(value, (dict, list)) or type(value).__module__.split(".")[0] == "sead":
            _make_writable(value, seen)
