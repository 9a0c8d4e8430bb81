"""sead.sklearn.SEADDetector: scikit-learn's own estimator checks, the outlier contract, pipelines
and pandas input."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import ParameterGrid
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sead import SEAD, SEADPlusPlus
from sead.detectors.hst import HalfSpaceTrees
from sead.detectors.rules import ZScoreRule
from sead.sklearn import SEADDetector


def small_pool(seed=1):
    # small trees keep scikit-learn's ~50 checks (each fitting several times) fast
    return [HalfSpaceTrees(n_trees=5, height=6, window=50, seed=seed), ZScoreRule()]


def _expected_failed_checks(estimator):
    # Every check applies and passes; nothing is expected to fail.
    return {}


@parametrize_with_checks(
    [
        SEADDetector(small_pool(), warmup=10),
        SEADDetector(
            small_pool() + [HalfSpaceTrees(n_trees=5, height=6, window=50, seed=2)],
            plus_plus=True,
            n_sampled=2,
            resample_every=5,
            warmup=10,
            contamination=0.05,
        ),
    ],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_check_estimator(estimator, check):
    check(estimator)


# ---- the outlier contract -------------------------------------------------------------------


def _assert_flags_contamination(det, X, contamination):
    """predict(X) flags round(contamination * len(X)) training rows, unless ties in the
    decision values straddle the threshold (scikit-learn's own rule, check_outlier_corruption)."""
    n_flagged = int((det.predict(X) == -1).sum())
    expected = round(contamination * len(X))
    if n_flagged != expected:
        lo, hi = sorted((n_flagged, expected))
        tied = np.sort(det.decision_function(X))[lo : hi + 1]
        assert len(np.unique(tied)) == 1, (n_flagged, expected)


def _data(n=1500, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    idx = rng.choice(np.arange(200, n), 15, replace=False)
    X[idx] += 7.0
    return X, idx


@pytest.mark.parametrize("plus_plus", [False, True])
def test_fit_is_sead_prequential_pass_and_scores_are_minus_sead(plus_plus):
    X, _ = _data()
    kw = dict(n_sampled=1, resample_every=7) if plus_plus else {}
    det = SEADDetector(small_pool(), plus_plus=plus_plus, warmup=30, random_state=4, **kw).fit(
        X[:1000]
    )
    Model = SEADPlusPlus if plus_plus else SEAD
    ref = Model(small_pool(), warmup=30, seed=4, **kw)
    ref.score_learn_many(X[:1000])
    assert type(det.model_) is Model and det.model_.n_seen_ == 1000
    np.testing.assert_allclose(
        det.score_samples(X[1000:]), -ref.score_many(X[1000:]), rtol=0, atol=1e-12
    )
    np.testing.assert_allclose(det.model_.weights_, ref.weights_, rtol=0, atol=1e-12)
    s = det.score_samples(X)
    assert s.dtype == np.float64 and (s <= 0).all() and (s >= -1).all()


def test_scoring_is_pure_and_row_independent():
    X, _ = _data()
    det = SEADDetector(small_pool(), warmup=30).fit(X[:800])
    before = pickle.dumps(det)
    a = det.score_samples(X[800:])
    det.decision_function(X[800:])
    det.predict(X[800:])
    assert pickle.dumps(det) == before
    np.testing.assert_array_equal(det.score_samples(X[800:][::-1])[::-1], a)
    halves = np.concatenate([det.score_samples(X[800:900]), det.score_samples(X[900:])])
    np.testing.assert_array_equal(halves, a)


def test_threshold_is_the_contamination_quantile_of_the_training_scores():
    X, idx = _data()
    det = SEADDetector(small_pool(), warmup=30, contamination=0.02).fit(X)
    s = det.score_samples(X)
    assert det.offset_ == pytest.approx(np.percentile(s, 2.0))
    labels = det.predict(X)
    assert labels.dtype.kind == "i" and set(np.unique(labels)) == {-1, 1}
    _assert_flags_contamination(det, X, 0.02)
    np.testing.assert_array_equal(labels, np.where(det.decision_function(X) < 0, -1, 1))
    np.testing.assert_allclose(det.decision_function(X), s - det.offset_)
    assert (labels[idx] == -1).mean() >= 0.8  # the planted outliers are caught
    np.testing.assert_array_equal(det.fit_predict(X), labels)


def test_partial_fit_continues_the_stream_and_moves_the_threshold_over_a_window():
    X, _ = _data(3000)
    whole = SEADDetector(small_pool(), warmup=30, threshold_window=500).fit(X[:2000])
    parts = SEADDetector(small_pool(), warmup=30, threshold_window=500)
    for chunk in np.array_split(X[:2000], 7):
        parts.partial_fit(chunk)
    # the model is the same stream either way
    np.testing.assert_allclose(
        parts.score_samples(X[2000:]), whole.score_samples(X[2000:]), rtol=0, atol=1e-12
    )
    assert parts.model_.n_seen_ == 2000
    # the threshold comes from the last 500 training rows, scored after the call that learned them
    assert len(parts._threshold_scores) == 500 and len(whole._threshold_scores) == 500
    assert whole.offset_ == pytest.approx(np.percentile(whole.score_samples(X[1500:2000]), 1.0))
    # partial_fit on an unfitted detector is fit
    a = SEADDetector(small_pool(), warmup=30).partial_fit(X[:300])
    b = SEADDetector(small_pool(), warmup=30).fit(X[:300])
    assert a.offset_ == b.offset_
    np.testing.assert_array_equal(a.score_samples(X[300:400]), b.score_samples(X[300:400]))
    # fit starts over
    b.partial_fit(X[300:600]).fit(X[:300])
    assert b.model_.n_seen_ == 300 and b.offset_ == a.offset_


def test_fit_is_idempotent_and_clone_is_unfitted():
    X, _ = _data(600)
    det = SEADDetector(small_pool(), warmup=30).fit(X)
    first = det.score_samples(X)
    np.testing.assert_array_equal(det.fit(X).score_samples(X), first)
    twin = clone(det)
    with pytest.raises(NotFittedError):
        twin.predict(X)
    assert twin.get_params()["warmup"] == 30
    np.testing.assert_array_equal(twin.fit(X).score_samples(X), first)
    # the detectors passed in are never fitted themselves
    assert all(not d._fitted for d in det.detectors)


def test_random_state_seeds_the_default_pool_and_sampling():
    X, _ = _data(400)
    a = SEADDetector(random_state=3, warmup=30).fit(X).score_samples(X)
    b = SEADDetector(random_state=3, warmup=30).fit(X).score_samples(X)
    c = SEADDetector(random_state=4, warmup=30).fit(X).score_samples(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    ref = SEAD(warmup=30, seed=3)
    ref.learn_many(X)
    np.testing.assert_allclose(a, -ref.score_many(X), rtol=0, atol=1e-12)
    rs = np.random.RandomState(0)
    det = SEADDetector(small_pool(), plus_plus=True, random_state=rs, warmup=30).fit(X)
    assert isinstance(det.model_.seed, int)


def test_parameter_errors_name_the_parameter():
    X, _ = _data(300)
    for params, match in [
        (
            {"contamination": 0.0},
            r"contamination must be 'auto' or a number in \(0, 0.5\], got 0.0",
        ),
        ({"contamination": 0.7}, "contamination"),
        (
            {"contamination": "high"},
            "contamination",
        ),  # ("auto" is accepted: IsolationForest's form)
        ({"threshold_window": 0}, "threshold_window must be an integer >= 1"),
        (
            {"n_sampled": 1},
            r"n_sampled is a SEAD\+\+ parameter \(plus_plus=False\): set plus_plus=True",
        ),
        (
            {"resample_every": 3, "learn_unsampled": True},
            r"learn_unsampled, resample_every are SEAD\+\+ parameters .* leave them at their "
            r"defaults",
        ),
        ({"plus_plus": "yes"}, "plus_plus must be True or False"),
        ({"random_state": 1.5}, "random_state must be an int"),
        ({"eta": -1.0}, "eta"),
        ({"plus_plus": True, "n_sampled": 9}, "n_sampled"),
    ]:
        with pytest.raises(ValueError, match=match):
            SEADDetector(small_pool(), **params).fit(X)


def test_get_and_set_params_and_a_grid():
    det = SEADDetector(small_pool())
    params = det.get_params()
    assert params["contamination"] == 0.01 and params["plus_plus"] is False
    assert len(params["detectors"]) == 2
    det.set_params(eta=0.3, contamination=0.05)
    assert det.eta == 0.3 and det.contamination == 0.05
    X, _ = _data(500)
    for p in ParameterGrid({"eta": [0.1, 1.0], "contamination": [0.01, 0.1]}):
        fitted = clone(det).set_params(**p).fit(X)
        assert fitted.model_.eta == p["eta"]
        expected = np.percentile(fitted.score_samples(X), 100 * p["contamination"])
        assert fitted.offset_ == pytest.approx(expected)
        _assert_flags_contamination(fitted, X, p["contamination"])


# ---- pipelines and pandas -------------------------------------------------------------------


def test_sklearn_pipeline_scaler_then_sead():
    X, idx = _data()
    X = X * [1.0, 1000.0, 0.001] + [0.0, 5e4, -3.0]  # wildly different feature scales
    det = SEADDetector(small_pool(), warmup=30, contamination=0.02)
    pipe = Pipeline([("scale", StandardScaler()), ("sead", det)])
    labels = pipe.fit(X).predict(X)
    assert (labels[idx] == -1).mean() >= 0.8
    Z = StandardScaler().fit_transform(X)
    direct = SEADDetector(small_pool(), warmup=30, contamination=0.02).fit(Z)
    np.testing.assert_allclose(pipe.score_samples(X), direct.score_samples(Z), rtol=0, atol=1e-12)
    np.testing.assert_allclose(
        pipe.decision_function(X), direct.decision_function(Z), rtol=0, atol=1e-12
    )
    np.testing.assert_array_equal(pipe.fit_predict(X), labels)
    # the same pipeline shape works for IsolationForest: sead is a drop-in
    Pipeline([("scale", StandardScaler()), ("iforest", IsolationForest(random_state=0))]).fit(
        X
    ).predict(X)


def test_dataframe_input_follows_sklearn_conventions():
    X, _ = _data(600)
    df = pd.DataFrame(X, columns=["cpu", "mem", "lat"], index=pd.RangeIndex(1000, 1600))
    det = SEADDetector(small_pool(), warmup=30).fit(df)
    np.testing.assert_array_equal(det.feature_names_in_, ["cpu", "mem", "lat"])
    assert det.n_features_in_ == 3
    out = det.score_samples(df)
    assert isinstance(out, np.ndarray) and out.shape == (600,)  # arrays out, scikit-learn style
    np.testing.assert_array_equal(
        out, SEADDetector(small_pool(), warmup=30).fit(X).score_samples(X)
    )
    det.partial_fit(df.iloc[:50])
    # missing, extra, renamed or reordered columns are refused with scikit-learn's own messages
    with pytest.raises(ValueError, match="Feature names seen at fit time, yet now missing:\n- lat"):
        det.score_samples(df[["cpu", "mem"]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- disk"):
        det.predict(df.assign(disk=1.0))
    with pytest.raises(ValueError, match="unseen at fit time:\n- latency\n.*missing:\n- lat"):
        det.decision_function(df.rename(columns={"lat": "latency"}))
    with pytest.raises(
        ValueError, match="Feature names must be in the same order as they were in fit"
    ):
        det.partial_fit(df[["lat", "cpu", "mem"]])
    assert det.model_.n_seen_ == 650  # nothing was learned from the refused frames


def test_loaded_from_a_readonly_memory_map(tmp_path):
    """joblib.load(..., mmap_mode="r") gives read-only arrays; the detector copies them back so
    that its compiled kernels (which need writable state) keep working."""
    joblib = pytest.importorskip("joblib")
    X, _ = _data(400)
    det = SEADDetector(small_pool(), warmup=30).fit(X[:300])
    joblib.dump(det, tmp_path / "det.joblib")
    loaded = joblib.load(tmp_path / "det.joblib", mmap_mode="r")
    np.testing.assert_array_equal(loaded.score_samples(X), det.score_samples(X))
    loaded.partial_fit(X[300:])
    det.partial_fit(X[300:])
    np.testing.assert_array_equal(loaded.predict(X), det.predict(X))
    assert loaded.offset_ == det.offset_


def test_bad_values_are_refused_before_anything_is_learned():
    X, _ = _data(300)
    det = SEADDetector(small_pool(), warmup=30).fit(X)
    before = pickle.dumps(det)
    bad = X[:10].copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        det.partial_fit(bad)
    with pytest.raises(
        ValueError, match="X has 2 features, but SEADDetector is expecting 3 features"
    ):
        det.partial_fit(X[:10, :2])
    assert pickle.dumps(det) == before


def test_defaults_follow_sead():
    """SEADDetector's parameters shared with SEAD / SEADPlusPlus have the same defaults."""
    import inspect

    ours = inspect.signature(SEADDetector.__init__).parameters
    for Model in (SEAD, SEADPlusPlus):
        theirs = inspect.signature(Model.__init__).parameters
        for name, param in theirs.items():
            if name in ours and name not in ("self", "detectors"):
                assert ours[name].default == param.default, (Model.__name__, name)


def test_pyod_style_attributes_and_contamination_auto():
    """PyOD users find decision_scores_ (higher = more abnormal, of the training rows),
    threshold_ and labels_; contamination="auto" thresholds a fixed SEAD score."""
    from sklearn.metrics import roc_auc_score

    X, idx = _data(1500)
    y = np.zeros(len(X), dtype=int)
    y[idx] = 1
    det = SEADDetector(small_pool(), warmup=30, contamination=0.02).fit(X)
    assert det.decision_scores_.shape == (1500,)
    assert set(np.unique(det.labels_)) <= {0, 1}
    assert abs(det.labels_.mean() - 0.02) < 0.01
    np.testing.assert_array_equal(det.labels_, (det.decision_scores_ > det.threshold_).astype(int))
    # the sign traps: decision_function is scikit-learn's (lower = more abnormal)
    auc = roc_auc_score(y[100:], -det.score_samples(X[100:]))
    assert (
        auc > 0.9 and abs(roc_auc_score(y[100:], det.decision_function(X[100:])) - (1 - auc)) < 1e-9
    )
    assert roc_auc_score(y[100:], det.decision_scores_[100:]) > 0.9
    auto = SEADDetector(small_pool(), warmup=30, contamination="auto").fit(X)
    assert auto.offset_ == -0.995 and auto.threshold_ == 0.995
    np.testing.assert_array_equal(auto.predict(X) == -1, -auto.score_samples(X) > 0.995)
