"""Tests of the adapters: River, PySAD and scikit-learn detectors as sead detectors."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from river import anomaly, preprocessing
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.covariance import EllipticEnvelope
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

from sead import SEAD
from sead.checks import check_batch_equals_one_by_one, check_scoring_is_pure, stream
from sead.detectors.adapters import PySADDetector, RiverDetector, SklearnWindowDetector
from sead.detectors.rules import ZScoreRule


def test_pysad_has_unit_test_params_when_installed():
    pytest.importorskip("pysad")
    assert len(list(PySADDetector._unit_test_params())) >= 1


# ---- RiverDetector ------------------------------------------------------------------------


def _river_loop(model, rows):
    out = []
    for x in rows:
        out.append(model.score_one(x))
        model.learn_one(x)
    return np.array(out, dtype=float)


def test_river_hst_inside_sead_matches_rivers_own_scores():
    rng = np.random.default_rng(0)
    X = rng.random((700, 3))
    X[rng.choice(np.arange(200, 700), 10, replace=False)] = [0.99, 0.01, 0.99]
    hst = anomaly.HalfSpaceTrees(n_trees=10, height=8, window_size=100, seed=3)
    want = _river_loop(hst.clone(), [dict(enumerate(x)) for x in X.tolist()])
    assert (want[:100] == 0).all() and want[100:].std() > 0

    # automatic warm-up: River's HST scores 0 until its first window is full -> placeholders
    det = RiverDetector(hst)
    assert det._warmup_points() == 100
    res = SEAD([det, ZScoreRule()], warmup=50).score_learn_many(X, return_details=True)
    assert np.isnan(res.raw[:100, 0]).all()
    np.testing.assert_array_equal(res.raw[100:, 0], want[100:])

    # no warm-up declared: the whole column is River's
    res = SEAD([RiverDetector(hst, warmup=0), ZScoreRule()], warmup=50).score_learn_many(
        X, return_details=True
    )
    np.testing.assert_array_equal(res.raw[:, 0], want)


def test_river_pipeline_sees_the_feature_names():
    X = stream(500, d=3, seed=4)
    df = pd.DataFrame(X, columns=["lat", "cpu", "mem"])
    model = preprocessing.MinMaxScaler() | anomaly.HalfSpaceTrees(
        n_trees=5, height=6, window_size=50, seed=1
    )
    want = _river_loop(model.clone(), df.to_dict("records"))
    res = SEAD([RiverDetector(model, warmup=0), ZScoreRule()], warmup=20).score_learn_many(
        df, return_details=True
    )
    np.testing.assert_array_equal(res.raw[:, 0], want)
    det = RiverDetector(model)
    det.learn_many(df)
    assert det.keys_ == ("cpu", "lat", "mem")  # named features are kept sorted
    assert det.model_["HalfSpaceTrees"].trees[0].feature in {"lat", "cpu", "mem"}
    positional = RiverDetector(model)
    positional.learn_many(X)
    assert positional.keys_ == (0, 1, 2)


def test_river_anomaly_filter_is_accepted():
    det = RiverDetector(anomaly.QuantileFilter(anomaly.HalfSpaceTrees(seed=1), q=0.9))
    assert det._warmup_points() == 250
    s = det.score_learn_many(np.random.default_rng(1).random((300, 2)))
    assert np.isfinite(s).all()


@pytest.mark.parametrize(
    "model, match",
    [
        (anomaly.GaussianScorer(), "supervised anomaly detector GaussianScorer"),
        (anomaly.QuantileFilter(anomaly.StandardAbsoluteDeviation(), q=0.9), "supervised"),
        (anomaly.HalfSpaceTrees, "got the class river.anomaly.hst.HalfSpaceTrees"),
        (preprocessing.StandardScaler(), "River anomaly detector.*StandardScaler"),
        (IsolationForest(), "SklearnWindowDetector"),
        ("HalfSpaceTrees", "got builtins.str"),
    ],
    ids=["supervised", "supervised-in-filter", "class", "transformer", "sklearn", "string"],
)
def test_river_wrong_objects_raise_a_clear_type_error(model, match):
    with pytest.raises(TypeError, match=match):
        RiverDetector(model).learn_one([1.0, 2.0])
    with pytest.raises(TypeError, match=match):  # also from inside an ensemble
        SEAD([RiverDetector(model), ZScoreRule()]).learn_one([1.0, 2.0])


def test_river_bad_n_warmup():
    with pytest.raises(ValueError, match="warmup must be an integer >= 0 or None, got -1"):
        RiverDetector(anomaly.HalfSpaceTrees(), warmup=-1).learn_one([1.0])


# ---- the user's object is never changed -----------------------------------------------------


def _users_models():
    hst = anomaly.HalfSpaceTrees(n_trees=3, height=4, window_size=20, seed=1)
    yield RiverDetector, preprocessing.MinMaxScaler() | hst
    yield SklearnWindowDetector, IsolationForest(n_estimators=5, random_state=0)
    try:
        from pysad.models import LODA, RobustRandomCutForest
    except ImportError:
        return
    yield PySADDetector, LODA(num_random_cuts=10, random_state=0)
    yield PySADDetector, RobustRandomCutForest(num_trees=3, tree_size=16, random_state=0)


@pytest.mark.parametrize("cls, model", list(_users_models()), ids=lambda v: type(v).__name__)
def test_the_wrapped_object_is_not_mutated(cls, model):
    before = pickle.dumps(model)
    X = stream(300, d=3)
    det = cls(model)
    det.learn_many(X[:100])
    det.score_many(X[100:150])
    det.score_learn_many(X[150:])
    det.score_one(X[0])
    det.clone().learn_one(X[0])
    SEAD([det, ZScoreRule()], warmup=10).score_learn_many(X)
    assert pickle.dumps(model) == before
    assert det.model_ is not model if hasattr(det, "model_") else det.estimator_ is not model


# ---- PySADDetector --------------------------------------------------------------------------


def test_importing_the_adapters_does_not_import_pysad():
    code = (
        "import sys, numpy as np\n"
        "from river import anomaly\n"
        "from sklearn.ensemble import IsolationForest\n"
        "from sead.detectors.adapters import RiverDetector, SklearnWindowDetector, PySADDetector\n"
        "X = np.random.default_rng(0).random((100, 2))\n"
        "RiverDetector(anomaly.HalfSpaceTrees(seed=1)).score_learn_many(X)\n"
        "SklearnWindowDetector(IsolationForest(n_estimators=5), "
        "window=32).score_learn_many(X)\n"
        "assert 'pysad' not in sys.modules, 'pysad was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _CountingScorer:
    """A PySAD-style model whose scoring changes its state (it counts its calls)."""

    def __init__(self):
        self.n_fit = 0
        self.n_scored = 0
        self.rows = []

    def fit_partial(self, X, y=None):
        self.n_fit += 1
        self.rows.append(X)  # keeps the row it was given, as IForestASD does
        return self

    def score_partial(self, X):
        self.n_scored += 1
        return float(np.abs(X).sum() + 0.01 * self.n_scored)


def test_pysad_like_objects_are_scored_on_a_copy_by_default():
    det = PySADDetector(_CountingScorer())
    check_scoring_is_pure(det)
    check_batch_equals_one_by_one(det)
    det.learn_many(stream(50))
    assert det.scoring_ == "copy" and det.model_.n_scored == 0 and det.model_.n_fit == 50
    # forcing direct scoring breaks the purity contract on such a model
    with pytest.raises(AssertionError, match="scores after extra scoring calls"):
        check_scoring_is_pure(PySADDetector(_CountingScorer(), score_on_copy=False))


def test_pysad_rows_are_copied_before_the_model_keeps_them():
    X = stream(20)
    det = PySADDetector(_CountingScorer(), score_on_copy=False)
    det.learn_many(X)
    kept = np.array(det.model_.rows)
    X[:] = 0.0  # the caller reuses its buffer
    np.testing.assert_array_equal(np.array(det.model_.rows), kept)
    assert not np.array_equal(kept, X)


def test_pysad_scoring_mode_by_class():
    models = pytest.importorskip("pysad.models")

    class MyLODA(models.LODA):  # a subclass may score differently: not trusted
        pass

    cases = [
        (models.LODA(random_state=0), None, "direct"),
        (
            models.xStream(num_components=8, n_chains=8, depth=5, window_size=16, random_state=0),
            None,
            "direct",
        ),
        (
            models.RobustRandomCutForest(num_trees=2, tree_size=8, random_state=0),
            None,
            "restore_rng",
        ),
        (models.RandomModel(random_state=0), None, "restore_rng"),
        (models.RandomModel(), None, "copy"),  # unseeded: it draws from NumPy's global generator
        (MyLODA(random_state=0), None, "copy"),
        (models.LODA(random_state=0), True, "copy"),
        (models.RobustRandomCutForest(num_trees=2, tree_size=8, random_state=0), False, "direct"),
    ]
    for model, flag, mode in cases:
        det = PySADDetector(model, score_on_copy=flag)
        det.learn_one([0.1, 0.2, 0.3])
        assert det.scoring_ == mode, (type(model).__name__, flag, det.scoring_)


def test_pysad_rrcf_scoring_is_made_pure():
    """RobustRandomCutForest draws random cuts when it scores: the adapter restores its
    generator, which gives exactly what scoring a copy gives; scoring it directly is impure."""
    models = pytest.importorskip("pysad.models")
    rrcf = models.RobustRandomCutForest(num_trees=4, tree_size=32, random_state=0)
    det = PySADDetector(rrcf)
    check_scoring_is_pure(det)
    check_batch_equals_one_by_one(det)
    X = stream(300)
    np.testing.assert_array_equal(
        PySADDetector(rrcf).score_learn_many(X),
        PySADDetector(rrcf, score_on_copy=True).score_learn_many(X),
    )
    with pytest.raises(AssertionError, match="scores after extra scoring calls"):
        check_scoring_is_pure(PySADDetector(rrcf, score_on_copy=False))


def test_pysad_matches_pysads_own_loop():
    models = pytest.importorskip("pysad.models")
    X = stream(400, d=3)
    ref = models.xStream(num_components=10, n_chains=10, depth=6, window_size=32, random_state=2)
    mine = PySADDetector(ref).score_learn_many(X)
    want = [ref.fit_score_partial(x.copy()) for x in X]  # xStream: fit_score = score then fit
    np.testing.assert_allclose(mine, want, rtol=0, atol=1e-12)


def test_pysad_seed_check_skipped_for_unseeded_models():
    models = pytest.importorskip("pysad.models")
    assert "check_same_seed_same_scores" in PySADDetector(models.LODA())._unit_test_skips()
    assert (
        "check_same_seed_same_scores"
        not in PySADDetector(models.LODA(random_state=1))._unit_test_skips()
    )


def test_pysad_repr_is_stable_under_clone():
    models = pytest.importorskip("pysad.models")
    det = PySADDetector(models.RobustRandomCutForest(num_trees=3, random_state=1))
    assert repr(det) == repr(det.clone())
    assert "RobustRandomCutForest(num_trees=3, shingle_size=1, tree_size=256" in repr(det)


@pytest.mark.parametrize(
    "model, match",
    [
        (IsolationForest(), r"PySAD model.*fit_partial.*SklearnWindowDetector"),
        (anomaly.HalfSpaceTrees(), r"PySAD model.*RiverDetector"),
        (_CountingScorer, "got the class"),
    ],
    ids=["sklearn", "river", "class"],
)
def test_pysad_wrong_objects_raise_a_clear_type_error(model, match):
    with pytest.raises(TypeError, match=match):
        PySADDetector(model).learn_one([1.0, 2.0])


def test_pysad_supervised_model_and_bad_flag():
    models = pytest.importorskip("pysad.models")
    with pytest.raises(TypeError, match="PerfectModel: it needs the true labels"):
        PySADDetector(models.PerfectModel()).learn_one([1.0])
    with pytest.raises(ValueError, match="score_on_copy must be None, True or False, got 'yes'"):
        PySADDetector(models.LODA(), score_on_copy="yes").learn_one([1.0])


# ---- SklearnWindowDetector ------------------------------------------------------------------

FIT_LOG: list = []


class _Recording(OutlierMixin, BaseEstimator):
    """Scores by the distance to the mean of the fitted window; logs every fit."""

    def __init__(self, random_state=None):
        self.random_state = random_state

    def fit(self, X, y=None):
        X = np.asarray(X)
        FIT_LOG.append((X.copy(), self.random_state))
        self.center_ = X.mean(axis=0)
        return self

    def score_samples(self, X):
        return -np.linalg.norm(np.asarray(X) - self.center_, axis=1)


def _fits(det, X, chunks):
    FIT_LOG.clear()
    if chunks is None:
        scores = []
        for x in X:
            scores.append(det.score_one(x))
            det.learn_one(x)
        scores = np.array(scores)
    else:
        scores = np.concatenate(
            [det.score_learn_many(X[a:b]) for a, b in zip(chunks[:-1], chunks[1:])]
        )
    return scores, list(FIT_LOG)


@pytest.mark.parametrize(
    "params, n, points",
    [
        ({}, 800, [64, 128, 256, 512, 768]),
        (
            {"window": 100, "refit_every": 30, "warmup": 10},
            200,
            [10, 20, 40, 70, 100, 130, 160, 190],
        ),
        ({"window": 50, "warmup": 80}, 200, [80, 130, 180]),
    ],
    ids=["defaults", "frequent", "late-start"],
)
def test_sklearn_refit_points_and_windows(params, n, points):
    X = stream(n, d=2, seed=5)
    w = params.get("window", 256)
    rng = np.random.default_rng(0)
    chunks = [0, *sorted(rng.choice(np.arange(1, n), 12, replace=False)), n]
    batch, batch_log = _fits(SklearnWindowDetector(_Recording(), **params), X, chunks)
    loop, loop_log = _fits(SklearnWindowDetector(_Recording(), **params), X, None)
    np.testing.assert_array_equal(batch, loop)
    for log in (batch_log, loop_log):
        assert [len(Xf) for Xf, _ in log] == [min(p, w) for p in points]
        for (Xf, _), p in zip(log, points):  # the last min(p, w) points, oldest first
            np.testing.assert_array_equal(Xf, X[max(0, p - w) : p])
    first = points[0]
    assert (batch[:first] == 0).all() and (batch[first:] > 0).all()
    assert SklearnWindowDetector(_Recording(), **params)._warmup_points() == first


def test_sklearn_score_is_minus_score_samples():
    X = stream(400, d=3, seed=6)
    det = SklearnWindowDetector(IsolationForest(n_estimators=20), window=128)
    det.learn_many(X[:300])
    Z = X[300:]
    np.testing.assert_array_equal(det.score_many(Z), -det.estimator_.score_samples(Z))
    inlier, outlier = det.score_many(np.array([[0.5, 0.5, 0.5], [20.0, -20.0, 20.0]]))
    assert outlier > inlier
    rec = SklearnWindowDetector(_Recording(), window=50)
    rec.learn_many(X)
    np.testing.assert_allclose(rec.score_many(Z), np.linalg.norm(Z - X[-50:].mean(axis=0), axis=1))


def test_sklearn_seeds():
    X = stream(300, d=2, seed=7)
    _, log = _fits(SklearnWindowDetector(_Recording(), window=64, seed=3), X, [0, 300])
    want = [int(np.random.SeedSequence([3, k]).generate_state(1)[0]) for k in range(len(log))]
    assert [rs for _, rs in log] == want and len(set(want)) == len(want)
    _, log = _fits(
        SklearnWindowDetector(_Recording(random_state=11), window=64, seed=None), X, [0, 300]
    )
    assert {rs for _, rs in log} == {11}
    # same seed, same scores; another seed, other scores (IsolationForest is randomised)
    a = SklearnWindowDetector(IsolationForest(n_estimators=10), window=64, seed=1).score_learn_many(
        X
    )
    b = SklearnWindowDetector(IsolationForest(n_estimators=10), window=64, seed=1).score_learn_many(
        X
    )
    c = SklearnWindowDetector(IsolationForest(n_estimators=10), window=64, seed=2).score_learn_many(
        X
    )
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # a random_state nested in a pipeline is seeded too
    pipe = SklearnWindowDetector(
        make_pipeline(StandardScaler(), IsolationForest(n_estimators=5)), window=64
    )
    pipe.learn_many(X)
    want = int(np.random.SeedSequence([0, pipe.n_fits_ - 1]).generate_state(1)[0])
    assert pipe.estimator_[-1].random_state == want


@pytest.mark.parametrize(
    "estimator",
    [
        LocalOutlierFactor(n_neighbors=10, novelty=True),
        OneClassSVM(nu=0.1),
        EllipticEnvelope(random_state=0),
    ],
    ids=lambda e: type(e).__name__,
)
def test_sklearn_other_estimators_batch_equals_one_by_one(estimator):
    det = SklearnWindowDetector(estimator, window=64, warmup=32)
    check_batch_equals_one_by_one(det)
    check_scoring_is_pure(det)


def test_sklearn_placeholders_stay_out_of_sead():
    X = stream(300, d=2)
    det = SklearnWindowDetector(IsolationForest(n_estimators=5), window=100, warmup=40)
    res = SEAD([det, ZScoreRule()], warmup=10).score_learn_many(X, return_details=True)
    assert np.isnan(res.raw[:40, 0]).all() and np.isfinite(res.raw[40:, 0]).all()


@pytest.mark.parametrize(
    "estimator, match",
    [
        (
            LocalOutlierFactor(),
            "no score_samples; LocalOutlierFactor scores new points only with novelty=True",
        ),
        (IsolationForest, "got the class sklearn.ensemble._iforest.IsolationForest"),
        (anomaly.HalfSpaceTrees(), "scikit-learn outlier detector.*RiverDetector"),
        (StandardScaler(), "StandardScaler, which has no score_samples"),
    ],
    ids=["lof-without-novelty", "class", "river", "transformer"],
)
def test_sklearn_wrong_objects_raise_a_clear_type_error(estimator, match):
    with pytest.raises(TypeError, match=match):
        SklearnWindowDetector(estimator).learn_one([1.0, 2.0])


@pytest.mark.parametrize(
    "params, match",
    [
        ({"window": 1}, "window must be an integer >= 2, got 1"),
        ({"refit_every": 0}, "refit_every must be an integer >= 1 or None, got 0"),
        ({"warmup": 2.5}, r"warmup must be an integer >= 1 or None, got 2.5"),
        ({"seed": -1}, "seed must be an integer >= 0 or None, got -1"),
    ],
)
def test_sklearn_bad_parameters(params, match):
    with pytest.raises(ValueError, match=match):
        SklearnWindowDetector(IsolationForest(), **params).learn_one([1.0])
