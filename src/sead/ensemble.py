"""The SEAD ensemble, its sampled variant SEAD++, and ``combine_scores`` for score matrices.

For every point ``x_t`` (prequential: score first, then learn):

1. every detector scores ``x_t``: raw scores ``r_k``;
2. each ``r_k`` becomes its mid-rank quantile ``z_k`` among detector *k*'s past scores
   (:mod:`sead.normalization`);
3. the output is ``S_t = sum_k p_k z_k``, a value in [0, 1], higher = more anomalous;
4. past the warm-up, the weights take a fixed-share multiplicative step (:mod:`sead.weights`);
5. ``r_k`` joins detector *k*'s reference and every detector learns ``x_t``.

A detector's prequential scores do not depend on the weights, so the batch path computes the
``(n, K)`` raw-score matrix detector by detector with each one's compiled kernel, then runs the
normalisation and the weights kernels over it — the same arithmetic as the one-by-one loop.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._engine import Engine, PlusConfig, deferred_interrupt
from ._missing import learn_runs
from ._params import SEED, Boolean, InstanceOf, Interval, Options, validate_params
from ._stack import ObjectStack
from ._validation import EXTRA, MISSING
from .base import Detector
from .combiner import (
    OUTPUTS,
    CombineResult,
    _check_loss,
    combine_scores,
    weigh,
)
from .normalization import REFERENCES, QuantileReference
from .weights import HYPER_CONSTRAINTS, LOSSES, check_prior

__all__ = ["SEAD", "SEADPlusPlus", "combine_scores", "CombineResult", "weigh", "OUTPUTS"]


def _default_detectors(seed):
    from . import pools

    return pools.default(seed=seed)


class SEAD(Detector):
    """Streaming Ensemble of Anomaly Detectors (Shah et al., ICML 2025).

    Runs several base detectors side by side, maps each one's raw score to its quantile among
    its own past scores, and weights the detectors by fixed-share multiplicative weights that
    favour detectors whose scores stay low — anomalies are rare, so a detector that keeps
    firing is probably wrong about this stream. No labels are needed.

    Scores are in [0, 1], higher = more anomalous: a weighted average of the detectors'
    quantiles. Cost per point is the sum of the detectors' costs plus O(K log n) for the
    normalisation; memory is the detectors' plus the references' (bounded for every
    reference but ``"exact"`` with ``window=None``).

    The defaults were chosen on the 15-task benchmark (``docs/benchmark.md``); the paper's
    literal reading is ``SEAD(eta=1.0, loss="score", output="quantile", reference="exact")``.

    Parameters
    ----------
    detectors
        Base detectors (sead detectors, or adapters around River / PySAD / scikit-learn
        models). They are cloned at the first point; the list itself is never modified.
        ``None`` uses :func:`sead.pools.default` (the 13-detector :func:`sead.pools.paper`)
        seeded with ``seed``.
    eta
        Learning rate of the weights, per point. The default 0.02 is 1 per 50-point chunk
        (the benchmark's chunk size); the paper's literal reading is 1 per point. 0 keeps the
        prior.
    lam
        Fixed-share mixing towards the prior; every weight stays >= ``lam * prior_k``.
    prior
        Prior weights (``None`` = uniform).
    warmup
        Points during which the detectors and references learn but the weights stay fixed.
    reference
        Quantile reference: ``"tdigest"`` (bounded, the paper's sketch), ``"exact"``,
        ``"window"``, ``"frozen"``, or a :class:`~sead.normalization.QuantileReference`.
    window
        Window length for ``reference="window"`` (or to make ``"exact"`` a sliding window).
    loss
        What drives the weights: ``"gated"`` (default: a detector's quantile counted where the
        ensemble agrees the point is normal, ``z_k (1 - mean z)^4``), ``"score"`` (the
        paper's: the quantile itself), ``"consensus"``.
    output
        What is averaged: ``"tail"`` (default: one minus the weighted geometric mean of the
        detectors' conformal tail p-values) or ``"quantile"`` (the paper's weighted mean of
        quantiles). Both are in [0, 1]; see :func:`combine_scores`.
    seed
        Seeds the default pool (and, in SEAD++, the sampling).
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.

    Attributes
    ----------
    weights_
        Current weights, a distribution over the detectors.
    detectors_
        The fitted clones of ``detectors``.

    References
    ----------
    Shah, Sankararaman, Narayanaswamy, Singh. "SEAD: Unsupervised Ensemble of Streaming
    Anomaly Detectors." ICML 2025, PMLR 267:54167-54185.

    Examples
    --------
    >>> from sead.detectors import HalfSpaceTrees, ZScoreRule
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(2000, 3))
    >>> X[1500:1510] += 6                                 # ten anomalies
    >>> model = SEAD([HalfSpaceTrees(seed=1), ZScoreRule()], warmup=100)
    >>> scores = model.score_learn_many(X)
    >>> bool(scores[1500:1510].mean() > np.median(scores))
    True
    >>> model.weights_.round(2)       # both rank Gaussian noise well: the weights stay close
    array([0.43, 0.57])

    One point at a time, River style, gives the same scores:

    >>> m2 = SEAD([HalfSpaceTrees(seed=1), ZScoreRule()], warmup=100)
    >>> same = []
    >>> for x in X[:300]:
    ...     same.append(m2.score_one(x))
    ...     m2.learn_one(x)
    >>> bool(np.allclose(same, scores[:300], rtol=0, atol=1e-12))
    True
    """

    _parameter_constraints = {
        "detectors": [InstanceOf((list, tuple), "a list of sead detectors"), None],
        **HYPER_CONSTRAINTS,
        "prior": [
            InstanceOf(
                (list, tuple, np.ndarray), "a sequence of positive weights, one per detector"
            ),
            None,
        ],
        "reference": [Options(*REFERENCES), InstanceOf(QuantileReference, "a QuantileReference")],
        "window": [Interval("int", 1, None), None],
        "loss": [Options(*LOSSES)],
        "output": [Options(*OUTPUTS)],
        "seed": SEED,
        "missing": [Options(*MISSING)],
        "extra": [Options(*EXTRA)],
    }

    def __init__(
        self,
        detectors: list | None = None,
        *,
        eta: float = 0.02,
        lam: float = 1e-6,
        prior=None,
        warmup: int = 100,
        reference="tdigest",
        window: int | None = None,
        loss: str = "gated",
        output: str = "tail",
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
    ):
        self.detectors = detectors
        self.eta = eta
        self.lam = lam
        self.prior = prior
        self.warmup = warmup
        self.reference = reference
        self.window = window
        self.loss = loss
        self.output = output
        self.seed = seed
        self.missing = missing
        self.extra = extra

    @classmethod
    def _unit_test_params(cls):
        from .detectors import HalfSpaceTrees, ZScoreRule

        yield {
            "detectors": [HalfSpaceTrees(n_trees=5, height=6, seed=1), ZScoreRule()],
            "warmup": 10,
        }

    def _unit_test_skips(self):
        skips = set(super()._unit_test_skips())
        if self.reference == "exact" and self.window is None:
            # the exact full-history reference keeps every score by definition (documented);
            # "tdigest", "window" and "frozen" are the bounded choices
            skips |= {"check_bounded_memory", "check_bounded_memory_growth"}
        return skips

    # ---- state ---------------------------------------------------------------------------
    def _pool(self) -> list:
        dets = _default_detectors(self.seed) if self.detectors is None else list(self.detectors)
        if not dets:
            raise ValueError("detectors must hold at least one detector")
        for i, d in enumerate(dets):
            if not isinstance(d, Detector):
                raise TypeError(
                    f"detectors[{i}] is a {type(d).__name__}, not a sead detector; wrap River "
                    "models in sead.detectors.RiverDetector (or another adapter)"
                )
        return dets

    def _plus_config(self, K):
        return None

    def _engine_kwargs(self, K) -> dict:
        """The validated settings of the engine (shared with :class:`sead.KeyedSEAD`)."""
        validate_params(self)
        return dict(
            eta=self.eta,
            lam=self.lam,
            prior=check_prior(self.prior, K),
            warmup=self.warmup,
            reference=self.reference,
            window=self.window,
            loss_code=_check_loss(self.loss),
            output=self.output,
            plus=self._plus_config(K),
        )

    def _init_state(self, schema):
        dets = self._pool()
        self.engine_ = Engine(dets, schema, capacity=1, **self._engine_kwargs(len(dets)))
        self.engine_.reset(slice(0, 1))
        self._names = _names_of(dets)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_last", None)  # the one-event cache holds the caller's object
        return state

    def _missing_state(self):
        return self.engine_.missing_last[0:1], self.engine_.missing_seen[0:1]

    def _state_arrays(self) -> dict:
        return self.engine_.arrays(slice(0, 1))

    def _load_state_arrays(self, arrays: dict) -> None:
        self.engine_.load_arrays(slice(0, 1), arrays)

    # ---- learned state, as attributes ---------------------------------------------------------
    def _learned(self, what):
        if not self._fitted:
            raise AttributeError(f"{what}: the model has not learned anything yet")
        return self.engine_

    @property
    def weights_(self) -> np.ndarray:
        """Current weights (a copy), one per detector, summing to 1."""
        engine = self._learned("weights_")
        return engine.pool.to_caller(engine.p[0])

    @property
    def prior_(self) -> np.ndarray:
        """The prior weights in use (``prior``, normalised; uniform when ``prior`` is None)."""
        engine = self._learned("prior_")
        return engine.pool.to_caller(engine.prior)

    @property
    def n_seen_(self) -> int:
        """Points learned."""
        return int(self._learned("n_seen_").n_seen[0])

    @property
    def n_learned_(self) -> np.ndarray:
        """Points each detector has learned."""
        engine = self._learned("n_learned_")
        return engine.pool.to_caller(engine.n_learned[0])

    @property
    def warmup_left_(self) -> int:
        """Points of the warm-up still to learn before the weights start to move."""
        return int(self._learned("warmup_left_").warmup_left[0])

    @property
    def reference_(self):
        """The quantile references (one column per detector)."""
        return self._learned("reference_").ref

    @property
    def detectors_(self) -> list:
        """The fitted detectors, in pool order: live views of the model's state (inspect them,
        score with them; learning through them would desynchronise the ensemble)."""
        engine = self._learned("detectors_")
        return [_member(engine.pool, k, 0) for k in range(engine.K)]

    @property
    def detector_names_(self) -> list[str]:
        """Readable names of the detectors, in weight order (repeated names get a suffix)."""
        return list(self._learned("detector_names_") and self._names)

    # ---- hooks -----------------------------------------------------------------------------
    def _score_rows(self, X):
        return self.engine_.score(X, np.zeros(X.shape[0], dtype=np.int64))

    def _learn_rows(self, X):
        self._score_learn_rows(X)

    def _score_learn_rows(self, X, details=None):
        return self.engine_.score_learn(X, np.zeros(X.shape[0], dtype=np.int64), details=details)

    # ---- one event at a time ------------------------------------------------------------------
    def score_one(self, x) -> float:
        """Anomaly score of one point (higher = more anomalous); changes no state.

        The detectors' raw scores are kept until the next call, so that ``learn_one`` with the
        same point does not score it again.
        """
        X0, schema = self._as_row(x)
        X, _, _ = self._fill(X0, False)
        if not self._fitted:
            return float(self._fresh_scores(X, schema)[0])
        engine = self.engine_
        R = engine.raw_scores(X, _SLOT0)
        if X is X0:  # a point with missing values is filled (and its fill recorded) by learn_one
            self._last = (x, _content(x), X, R, int(engine.n_seen[0]))
        return float(engine.output_of(R, _SLOT0)[0][0])

    def learn_one(self, x) -> None:
        """Learn one point; after ``score_one(x)`` of the same, unchanged point, its raw scores
        are reused (the detectors only learn)."""
        last = self.__dict__.pop("_last", None)
        if (
            last is not None
            and last[0] is x
            and last[4] == int(self.engine_.n_seen[0])
            and _content(x) == last[1]
        ):
            _, _, commit = self._fill(last[2], True)
            with deferred_interrupt():
                self.engine_.score_learn(last[2], _SLOT0, raw=last[3])
                commit()
            return
        X, schema = self._as_row(x)
        self._prepare(schema)
        X, L, commit = self._fill(X, True)
        with deferred_interrupt():
            if L is None:
                self.engine_.score_learn(X, _SLOT0)
            commit()

    # ---- extras ----------------------------------------------------------------------------
    def score_learn_many(self, X, *, return_details: bool = False):
        """Prequential pass over the rows of ``X`` (compiled path); same as the one-by-one loop.

        Parameters
        ----------
        X
            2-D array, sequence of rows or dicts, or DataFrame.
        return_details
            Return a :class:`CombineResult` instead of the scores alone: ``.scores``,
            ``.normalized`` (n, K), ``.weights`` (n, K; row *t* holds the weights used to score
            row *t*) and ``.raw`` (n, K; the detectors' raw scores, NaN where SEAD++ did not
            sample a detector).

        Returns
        -------
        scores or CombineResult
            Scores in [0, 1] (a Series on ``X``'s index for a DataFrame).
        """
        A, schema = self._as_matrix(X)
        self._prepare(schema)
        self.__dict__.pop("_last", None)
        A, L, commit = self._fill(A, True)
        if not return_details:
            with deferred_interrupt():
                S = self._score_learn_masked(A, L)
                commit()
            return self._wrap(S, X)
        n, K = A.shape[0], self.engine_.K
        raw = np.full((n, K), np.nan)
        res = CombineResult(np.empty(0), np.full((n, K), np.nan), np.empty((n, K)), raw)
        S = np.empty(n)
        for a, b, learn in learn_runs(np.ones(n, dtype=bool) if L is None else L):
            if not learn:  # scored, not learned: the weights of the moment, no quantiles recorded
                S[a:b] = self._score_rows(A[a:b])
                res.weights[a:b] = self.engine_.pool.to_caller(self.engine_.p[0])
                continue
            parts: list = []
            S[a:b] = self._score_learn_rows(A[a:b], details=parts)
            to_caller = self.engine_.pool.to_caller
            for rows, _, Z, R, P in parts:
                idx = np.arange(a, b)[rows]
                res.normalized[idx], raw[idx], res.weights[idx] = (
                    to_caller(Z),
                    to_caller(R),
                    to_caller(P),
                )
        commit()
        res.scores = self._wrap(S, X)
        return res

    def explain_one(self, x) -> dict:
        """Per-detector raw score, quantile and weight for one point (pure).

        Returns ``{"score": S, "detectors": [{"name", "raw", "quantile", "weight"}, ...]}``.
        """
        X, schema = self._as_row(x)
        X, _, _ = self._fill(X, False)
        if not self._fitted:
            tmp = self.clone()
            tmp._prepare(schema)
            return tmp.explain_one(x)
        engine = self.engine_
        R = engine.raw_scores(X, _SLOT0)
        S, Z, _ = engine.output_of(R, _SLOT0)
        R, Z, P = (engine.pool.to_caller(a[0]) for a in (R, Z, engine.p))
        rows = [
            {"name": n, "raw": float(R[k]), "quantile": float(Z[k]), "weight": float(P[k])}
            for k, n in enumerate(self._names)
        ]
        return {"score": float(S[0]), "detectors": rows}


_SLOT0 = np.zeros(1, dtype=np.int64)


def _content(x):
    """What ``learn_one`` compares to be sure a point did not change since ``score_one``."""
    if isinstance(x, Mapping):
        return tuple(x.items())
    if isinstance(x, np.ndarray):
        return x.tobytes()
    return tuple(x)


def _names_of(dets) -> list[str]:
    from .pools import names

    return names(dets)


def _member(pool, k, slot):
    """Detector ``k`` of ``pool`` in ``slot``: the live object (Python detectors) or a view of
    the stacked state (compiled families)."""
    stack, j = pool.stack_of(k)
    if isinstance(stack, ObjectStack):
        return stack.objects[slot][j]
    det = stack.members[j].clone()
    det.schema_ = stack.schema
    det.stack_ = stack.view(j, slot)
    return det


class SEADPlusPlus(SEAD):
    """SEAD++: SEAD that scores only a weighted sample of its detectors, for speed.

    Every ``resample_every`` points (default 250), ``n_sampled`` detectors (default half the
    pool) are drawn **without replacement
    with probability proportional to their current weights** (successive sampling, done with
    the Efraimidis–Spirakis keys ``u**(1/p_k)``). Until the next draw:

    * only the sampled detectors score the points; their scores are normalised and join their
      references; unsampled detectors' references do not change;
    * the output is the weighted mean of the sampled detectors' quantiles, with their weights
      renormalised: ``S_t = sum_{k in A} p_k z_k / sum_{k in A} p_k``;
    * the weight update multiplies only the sampled detectors' weights by ``exp(-eta·loss)``
      (the others keep theirs), then normalises and mixes in ``lam·prior`` as in SEAD;
    * unsampled detectors learn the points only if ``learn_unsampled=True`` (default False:
      skipping them is where most of the time is saved).

    During the warm-up every detector scores and learns (the sample is the whole pool), so all
    detectors start trained. ``resample_every=1`` is the per-point sampling of the paper's
    description; larger values keep the compiled batch kernels busy, which is what makes SEAD++
    faster than SEAD in practice (see ``benchmarks/RESULTS.md``).

    Parameters
    ----------
    detectors
        Base detectors, as in :class:`SEAD`.
    n_sampled
        Detectors scored per round; ``None`` = half the pool, rounded down (at least 1).
    learn_unsampled
        Whether detectors outside the sample still learn every point.
    resample_every
        Points between two draws of the sample.
    eta
        Learning rate of the weights, per point, as in :class:`SEAD`.
    lam
        Fixed-share mixing towards the prior, as in :class:`SEAD`.
    prior
        Prior weights (``None`` = uniform).
    warmup
        Points during which every detector scores and learns and the weights stay fixed.
    reference
        Quantile reference, as in :class:`SEAD`.
    window
        Window length for ``reference="window"`` (or to make ``"exact"`` a sliding window).
    loss
        What drives the weights, as in :class:`SEAD`.
    output
        What is averaged (over the sampled detectors), as in :class:`SEAD`.
    seed
        Seeds the sampling (and the default pool).
    missing
        As in :class:`SEAD`: the missing-value policy.
    extra
        As in :class:`SEAD`: the extra-key policy.

    Examples
    --------
    >>> from sead.detectors import HalfSpaceTrees, ZScoreRule
    >>> rng = np.random.default_rng(1)
    >>> X = rng.normal(size=(1000, 3))
    >>> model = SEADPlusPlus([HalfSpaceTrees(seed=1), HalfSpaceTrees(seed=2), ZScoreRule()],
    ...                      n_sampled=2, seed=0)
    >>> s = model.score_learn_many(X)
    >>> bool((0 <= s).all() and (s <= 1).all()), round(float(model.weights_.sum()), 6)
    (True, 1.0)
    """

    def __init__(
        self,
        detectors: list | None = None,
        *,
        n_sampled: int | None = None,
        learn_unsampled: bool = False,
        resample_every: int = 250,
        eta: float = 0.02,
        lam: float = 1e-6,
        prior=None,
        warmup: int = 100,
        reference="tdigest",
        window: int | None = None,
        loss: str = "gated",
        output: str = "tail",
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
    ):
        super().__init__(
            detectors,
            eta=eta,
            lam=lam,
            prior=prior,
            warmup=warmup,
            reference=reference,
            window=window,
            loss=loss,
            output=output,
            seed=seed,
            missing=missing,
            extra=extra,
        )
        self.n_sampled = n_sampled
        self.learn_unsampled = learn_unsampled
        self.resample_every = resample_every

    @classmethod
    def _unit_test_params(cls):
        from .detectors import HalfSpaceTrees, ZScoreRule

        yield {
            "detectors": [
                HalfSpaceTrees(n_trees=5, height=6, seed=1),
                HalfSpaceTrees(n_trees=5, height=6, seed=2),
                ZScoreRule(),
            ],
            "warmup": 10,
            "n_sampled": 2,
            "resample_every": 5,
        }

    _parameter_constraints = {
        **SEAD._parameter_constraints,
        "n_sampled": [Interval("int", 1, None), None],
        "learn_unsampled": [Boolean()],
        "resample_every": [Interval("int", 1, None)],
    }

    def _plus_config(self, K):
        m = max(1, K // 2) if self.n_sampled is None else self.n_sampled
        if m > K:
            raise ValueError(
                f"n_sampled must be an integer in [1, {K}] (the pool size), got {self.n_sampled!r}"
            )
        return PlusConfig(
            int(m), int(self.resample_every), bool(self.learn_unsampled), Engine.seed_key(self.seed)
        )

    @property
    def m_(self) -> int:
        """Detectors scored per round."""
        return self._learned("m_").plus.m

    @property
    def sample_(self) -> np.ndarray:
        """Indices of the detectors in the current sample (the whole pool in the warm-up)."""
        engine = self._learned("sample_")
        return np.sort(engine.pool.order[engine.sample[0]])
