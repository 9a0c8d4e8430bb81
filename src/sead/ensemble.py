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

import numpy as np

from .base import Detector
from .combiner import (
    OUTPUTS,
    CombineResult,
    _check_loss,
    _check_output,
    _finish,
    _output_values,
    _weighted_mean_observed,
    combine_scores,
    weigh,
)
from .normalization import make_reference
from .weights import check_hyper, check_prior, mwu_run

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

    Parameters
    ----------
    detectors
        Base detectors (sead detectors, or adapters around River / PySAD / scikit-learn
        models). They are cloned at the first point; the list itself is never modified.
        ``None`` uses :func:`sead.pools.default` (the 13-detector :func:`sead.pools.paper`) seeded with ``seed``.
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

    The defaults were chosen on the 15-task benchmark (``docs/benchmark.md``); the paper's
    literal reading is ``SEAD(eta=1.0, loss="score", output="quantile", reference="exact")``.
    seed
        Seeds the default pool (and, in SEAD++, the sampling).

    Attributes
    ----------
    weights_
        Current weights, a distribution over the detectors.
    detectors_
        The fitted clones of ``detectors``.

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
    >>> model.weights_.round(2)       # on Gaussian noise the z-score rule earns the trust
    array([0., 1.])

    One point at a time, River style, gives the same scores:

    >>> m2 = SEAD([HalfSpaceTrees(seed=1), ZScoreRule()], warmup=100)
    >>> same = []
    >>> for x in X[:300]:
    ...     same.append(m2.score_one(x))
    ...     m2.learn_one(x)
    >>> bool(np.allclose(same, scores[:300], rtol=0, atol=1e-12))
    True

    References
    ----------
    Shah, Sankararaman, Narayanaswamy, Singh. "SEAD: Unsupervised Ensemble of Streaming
    Anomaly Detectors." ICML 2025, PMLR 267:54167-54185.
    """

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

    @classmethod
    def _unit_test_params(cls):
        from .detectors import HalfSpaceTrees, ZScoreRule

        yield {"detectors": [HalfSpaceTrees(n_trees=5, height=6, seed=1), ZScoreRule()], "warmup": 10}

    def _unit_test_skips(self):
        skips = set(super()._unit_test_skips())
        if self.reference == "exact" and self.window is None:
            # the exact full-history reference keeps every score by definition (documented);
            # "tdigest", "window" and "frozen" are the bounded choices
            skips |= {"check_bounded_memory", "check_bounded_memory_growth"}
        return skips

    # ---- state ---------------------------------------------------------------------------
    def _init_state(self, n_features):
        check_hyper(self.eta, self.lam, self.warmup)
        self._loss_code = _check_loss(self.loss)
        _check_output(self.output)
        dets = _default_detectors(self.seed) if self.detectors is None else list(self.detectors)
        if not dets:
            raise ValueError("detectors must hold at least one detector")
        for i, d in enumerate(dets):
            if not isinstance(d, Detector):
                raise TypeError(
                    f"detectors[{i}] is a {type(d).__name__}, not a sead detector; wrap River "
                    "models in sead.detectors.RiverDetector (or another adapter)"
                )
        self.detectors_ = [d.clone() for d in dets]
        K = len(self.detectors_)
        self.prior_ = check_prior(self.prior, K)
        self.p_ = self.prior_.copy()
        self.reference_ = make_reference(self.reference, window=self.window, warmup=self.warmup)
        self.warmup_left_ = int(self.warmup)
        self.n_seen_ = 0
        # points each detector has learned, and how many of its first scores are placeholders
        self.n_learned_ = np.zeros(K, dtype=np.int64)
        self._det_warmup = np.array([int(d._warmup_points()) for d in self.detectors_], dtype=np.int64)

    def _prepare(self, schema):
        if not self._fitted:
            super()._prepare(schema)
            for d in self.detectors_:
                d._prepare(schema)

    @property
    def weights_(self) -> np.ndarray:
        """Current weights (a copy), one per detector, summing to 1."""
        if not self._fitted:
            raise AttributeError("weights_: the model has not learned anything yet")
        return self.p_.copy()

    @property
    def detector_names_(self) -> list[str]:
        """Readable names of the detectors, in weight order (repeated names get a suffix)."""
        names, seen = [], {}
        for d in self.detectors_:
            base = getattr(d, "name", None) or type(d).__name__
            seen[base] = seen.get(base, 0) + 1
            names.append(base if seen[base] == 1 else f"{base}#{seen[base]}")
        return names

    @staticmethod
    def _check_raw(R, dets, idx=None):
        if not np.isfinite(R).all():
            t, k = np.argwhere(~np.isfinite(R))[0]
            kk = k if idx is None else idx[k]
            raise RuntimeError(
                f"detector {kk} ({type(dets[kk]).__name__}) returned a non-finite score "
                f"{R[t, k]} at row {t}; this is a bug in that detector"
            )

    def _mask_placeholders(self, R, k):
        """NaN out detector k's placeholder scores (its own warm-up) in R[:, k]."""
        left = self._det_warmup[k] - self.n_learned_[k]
        if left > 0:
            R[: min(left, R.shape[0]), k] = np.nan

    def _raw_scores(self, X):
        R = np.empty((X.shape[0], len(self.detectors_)))
        for k, d in enumerate(self.detectors_):
            R[:, k] = d._score_rows(X)
        self._check_raw(R, self.detectors_)
        for k in range(R.shape[1]):
            if self.n_learned_[k] < self._det_warmup[k]:
                R[:, k] = np.nan  # pure scoring: a placeholder until the detector is set up
        return R

    # ---- hooks -----------------------------------------------------------------------------
    def _score_rows(self, X):
        return self._output(*self.reference_.transform(self._raw_scores(X), return_sizes=True))

    def _output(self, Z, N):
        """Pure scoring: the output from quantiles Z (and reference sizes N) at the current weights."""
        return _finish(_weighted_mean_observed(_output_values(Z, N, self.output), self.p_), self.output)

    def _learn_rows(self, X):
        self._score_learn_rows(X)

    def _combine(self, R, details=None, start=0):
        """Normalise (with insertion) and weight R; updates the weights; returns S.

        With ``details`` (a CombineResult holding a weights array), rows ``start:start+n`` of
        its weights, normalized and raw arrays are filled in.
        """
        Z, N = self.reference_.transform_update(R, return_sizes=True)
        S = np.empty(R.shape[0])
        n, K = R.shape
        P = np.empty((0, K)) if details is None else details.weights[start : start + n]
        self.warmup_left_ = mwu_run(Z, _output_values(Z, N, self.output), self.p_, self.prior_,
                                    float(self.eta), float(self.lam), self.warmup_left_,
                                    self._loss_code, S, P)
        S = _finish(S, self.output)
        self.n_seen_ += n
        if details is not None:
            if details.raw is None:
                total = details.weights.shape[0]
                details.raw = np.empty((total, K))
                details.normalized = np.empty((total, K))
            details.raw[start : start + n] = R
            details.normalized[start : start + n] = Z
        return S

    def _score_learn_rows(self, X, details=None):
        R = np.empty((X.shape[0], len(self.detectors_)))
        for k, d in enumerate(self.detectors_):
            R[:, k] = d._score_learn_rows(X)
        self._check_raw(R, self.detectors_)
        for k in range(R.shape[1]):
            self._mask_placeholders(R, k)
        self.n_learned_ += X.shape[0]
        return self._combine(R, details)

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
        from ._validation import as_matrix

        A, schema = as_matrix(X, getattr(self, "schema_", None))
        self._prepare(schema)
        if not return_details:
            return self._wrap(self._score_learn_rows(A), X)
        details = CombineResult(None, None, np.empty((A.shape[0], len(self.detectors_))))
        S = self._score_learn_rows(A, details)
        details.scores = self._wrap(S, X)
        return details

    def explain_one(self, x) -> dict:
        """Per-detector raw score, quantile and weight for one point (pure).

        Returns ``{"score": S, "detectors": [{"name", "raw", "quantile", "weight"}, ...]}``.
        """
        from ._validation import as_row

        X, schema = as_row(x, getattr(self, "schema_", None))
        if not self._fitted:
            tmp = self.clone()
            tmp._prepare(schema)
            return tmp.explain_one(x)
        R = self._raw_scores(X)
        Z, N = self.reference_.transform(R, return_sizes=True)
        rows = [
            {"name": n, "raw": float(R[0, k]), "quantile": float(Z[0, k]), "weight": float(self.p_[k])}
            for k, n in enumerate(self.detector_names_)
        ]
        return {"score": float(self._output(Z, N)[0]), "detectors": rows}


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
    n_sampled
        Detectors scored per round; ``None`` = half the pool, rounded down (at least 1).
    learn_unsampled
        Whether detectors outside the sample still learn every point.
    resample_every
        Points between two draws of the sample.
    (others)
        As :class:`SEAD`. ``seed`` also seeds the sampling.

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
    ):
        super().__init__(detectors, eta=eta, lam=lam, prior=prior, warmup=warmup,
                         reference=reference, window=window, loss=loss, output=output, seed=seed)
        self.n_sampled = n_sampled
        self.learn_unsampled = learn_unsampled
        self.resample_every = resample_every

    @classmethod
    def _unit_test_params(cls):
        from .detectors import HalfSpaceTrees, ZScoreRule

        yield {
            "detectors": [HalfSpaceTrees(n_trees=5, height=6, seed=1), HalfSpaceTrees(n_trees=5, height=6, seed=2), ZScoreRule()],
            "warmup": 10,
            "n_sampled": 2,
            "resample_every": 5,
        }

    def _init_state(self, n_features):
        super()._init_state(n_features)
        K = len(self.detectors_)
        m = max(1, K // 2) if self.n_sampled is None else self.n_sampled
        if not (isinstance(m, (int, np.integer)) and 1 <= m <= K):
            raise ValueError(f"n_sampled must be an integer in [1, {K}] (the pool size), got {self.n_sampled!r}")
        if not (isinstance(self.resample_every, (int, np.integer)) and self.resample_every >= 1):
            raise ValueError(f"resample_every must be an integer >= 1, got {self.resample_every!r}")
        self.m_ = int(m)
        self.rng_ = np.random.default_rng(self.seed)
        self.block_pos_ = 0
        self._draw()

    def _draw(self):
        """Draw the sample used until the next draw (the whole pool during the warm-up)."""
        K = len(self.detectors_)
        if self.warmup_left_ > 0:
            self.sample_ = np.arange(K)
            return
        u = self.rng_.random(K)
        keys = np.log(u) / self.p_  # Efraimidis–Spirakis: largest u**(1/p) wins
        self.sample_ = np.sort(np.argpartition(-keys, self.m_ - 1)[: self.m_])

    def _score_rows(self, X):
        idx = self.sample_
        R = np.full((X.shape[0], len(self.detectors_)), np.nan)
        for k in idx:
            R[:, k] = self.detectors_[k]._score_rows(X)
        self._check_raw(R[:, idx], self.detectors_, idx)
        for k in idx:
            if self.n_learned_[k] < self._det_warmup[k]:
                R[:, k] = np.nan
        return self._output(*self.reference_.transform(R, return_sizes=True))

    def _score_learn_rows(self, X, details=None):
        n = X.shape[0]
        K = len(self.detectors_)
        S = np.empty(n)
        t = 0
        while t < n:
            # a segment ends where the sample is redrawn: the block's end or the warm-up's end
            seg = self.resample_every - self.block_pos_
            if self.warmup_left_ > 0:
                seg = min(seg, self.warmup_left_)
            seg = min(seg, n - t)
            Xs = X[t : t + seg]
            idx = self.sample_
            R = np.full((seg, K), np.nan)
            in_sample = np.zeros(K, dtype=bool)
            in_sample[idx] = True
            for k, d in enumerate(self.detectors_):
                if in_sample[k]:
                    R[:, k] = d._score_learn_rows(Xs)
                    self._check_raw(R[:, k : k + 1], self.detectors_, [k])
                    self._mask_placeholders(R, k)
                    self.n_learned_[k] += seg
                elif self.learn_unsampled:
                    d._learn_rows(Xs)
                    self.n_learned_[k] += seg
            was_warm = self.warmup_left_ > 0
            S[t : t + seg] = self._combine(R, details, t)
            self.block_pos_ += seg
            t += seg
            if self.block_pos_ >= self.resample_every or (was_warm and self.warmup_left_ == 0):
                self.block_pos_ = 0
                self._draw()
        return S
