"""sead in River: River's own check suite, pipelines, progressive validation, anomaly filters,
and pandas in / pandas out on the batch methods.

River's check suite (``river.checks``) runs on SEAD, SEAD++ and every detector of
:mod:`sead.detectors` (the package's ``__all__`` plus every public ``Detector`` subclass of its
modules, collected in ``tests/_models.py``, so a new detector is picked up without touching
this file), once per parameter set of the class's ``_unit_test_params``. Checks a model
declares in ``_unit_test_skips`` are skipped, River's way; the reasons are written next to the
names (see ``Detector._unit_test_skips``). The checks of :mod:`sead.checks` run in
``tests/test_common.py``.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pandas as pd
import pytest
import river.base
from river import anomaly, checks, compose, datasets, evaluate, metrics, preprocessing

from sead import SEAD, SEADPlusPlus
from sead.checks import stream
from sead.detectors.hst import HalfSpaceTrees
from sead.detectors.rules import ZScoreRule

from ._models import BROKEN_MODULES, DETECTOR_CLASSES, MODEL_CLASSES, param_sets


@contextlib.contextmanager
def _shuttle_instead_of_creditcard():
    """River's anomaly checks stream ``datasets.CreditCard``, which River downloads on first use
    and which cannot be reached here. River's bundled ``datasets.Shuttle`` (nine numeric
    features, ~7% anomalies, no download) stands in for it: River's own HalfSpaceTrees passes the
    whole suite that way. ``river.checks`` looks ``datasets.CreditCard`` up when it builds each
    check's stream, so replacing the module attribute is enough."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(datasets, "CreditCard", datasets.Shuttle)
        yield


# ---- the models under test (tests/_models.py) ----------------------------------------------


def _make(cls, i):
    return cls(**param_sets(cls)[i])


def _check_names(model) -> list[str]:
    with _shuttle_instead_of_creditcard():
        names = [check.__name__ for check in checks.yield_checks(model)]
    return list(dict.fromkeys(names))


def _cases():
    """(class, parameter-set index, check name) for every check of every model. A class whose
    ``_unit_test_params`` cannot even build a model gets one case that fails with the error."""
    out = []
    for cls in MODEL_CLASSES:
        try:
            models = [cls(**params) for params in param_sets(cls)]
        except Exception as e:
            why = f"_unit_test_params raised {type(e).__name__}: {e}"
            out.append(pytest.param(cls, 0, why, id=f"{cls.__name__}-params"))
            continue
        for i, model in enumerate(models):
            for name in _check_names(model):
                out.append(pytest.param(cls, i, name, id=f"{cls.__name__}-{i}-{name}"))
    return out


def test_every_detector_module_imports():
    assert not BROKEN_MODULES, "\n".join(BROKEN_MODULES)


def test_every_model_under_test_is_a_river_anomaly_detector():
    names = {c.__name__ for c in DETECTOR_CLASSES}
    assert {"HalfSpaceTrees", "ZScoreRule"} <= names
    for cls in MODEL_CLASSES:
        assert issubclass(cls, river.base.AnomalyDetector)


@pytest.mark.parametrize(("cls", "i", "check_name"), _cases())
def test_river_check(cls, i, check_name):
    """One River check (``river.checks.yield_checks``) on a fresh clone, like check_estimator."""
    assert not check_name.startswith("_unit_test_params raised"), check_name
    model = _make(cls, i)
    if check_name in model._unit_test_skips():
        pytest.skip(
            f"{cls.__name__}._unit_test_skips() declares {check_name} (reason in its source)"
        )
    ran = 0
    with _shuttle_instead_of_creditcard():
        for check in checks.yield_checks(model):
            if check.__name__ == check_name:
                check(model.clone())
                ran += 1
    assert ran >= 1


def test_check_estimator_as_a_whole():
    """``river.checks.check_estimator`` itself (which honours ``_unit_test_skips``) passes."""
    with _shuttle_instead_of_creditcard():
        checks.check_estimator(_make(SEAD, 0))


def test_skipped_river_checks_are_the_documented_feature_policy():
    """The three River checks a model with the strict policies skips feed points whose keys come
    and go; what it does instead is the documented policy: a clear ValueError naming the key.
    (With the default policies those checks run and pass: see test_river_check.)"""
    model = _make(SEAD, 0).clone({"missing": "raise", "extra": "raise"})
    assert {
        "check_emerging_features",
        "check_disappearing_features",
        "check_radically_disappearing_features",
    } <= model._unit_test_skips()
    x = {"a": 1.0, "b": 2.0, "c": 3.0}
    model.learn_one(x)
    with pytest.raises(ValueError, match="'b' is missing"):
        model.score_one({"a": 1.0, "c": 3.0})
    with pytest.raises(ValueError, match=r"unexpected feature\(s\) \['d'\]"):
        model.learn_one({**x, "d": 4.0})


# ---- River pipelines, evaluation and filters ----------------------------------------------


def _small_sead(**kw):
    pool = [HalfSpaceTrees(n_trees=10, height=8, window=100, seed=1), ZScoreRule()]
    return SEAD(pool, warmup=50, **kw)


def _shuttle(n):
    return datasets.Shuttle().take(n)


def test_pipeline_scaler_then_sead_equals_manual_scaling():
    """``StandardScaler() | SEAD()`` is a River anomaly detector and gives what scaling by hand
    then calling SEAD gives."""
    model = preprocessing.StandardScaler() | _small_sead()
    assert isinstance(model, compose.Pipeline)
    scaler, det = preprocessing.StandardScaler(), _small_sead()
    got, want = [], []
    for x, _ in _shuttle(600):
        got.append(model.score_one(x))
        model.learn_one(x)
        want.append(det.score_one(scaler.transform_one(x)))
        scaler.learn_one(x)
        det.learn_one(scaler.transform_one(x))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert 0.0 <= min(got) and max(got) <= 1.0
    assert model["SEAD"].weights_.shape == (2,)


@pytest.mark.parametrize("cls", [SEAD, SEADPlusPlus])
def test_progressive_val_score_roc_auc(cls):
    """Prequential ROC AUC with River's evaluator; River has no anomaly-specific metric, its
    anomaly docs use metrics.ROCAUC (an approximation: a fixed grid of thresholds)."""
    model = preprocessing.StandardScaler() | cls(
        [HalfSpaceTrees(n_trees=10, height=8, window=100, seed=1), ZScoreRule()], warmup=50
    )
    metric = evaluate.progressive_val_score(_shuttle(2000), model, metrics.ROCAUC())
    assert isinstance(metric, metrics.ROCAUC)
    assert metric.get() > 0.6, metric  # shuttle's anomalies are easy: well above chance


def test_quantile_filter_around_sead():
    """``anomaly.QuantileFilter(SEAD(...), q=0.98)`` flags about 2% of the stream, and the flags
    catch anomalies far above their 7% base rate.

    ``protect_anomaly_detector=False``: River's filter flags ties (``score >= quantile``) and,
    when protecting, does not let the detector learn a flagged point. A fresh SEAD gives its
    first points the same score (no score history to rank them against yet), so a protected
    cold SEAD would flag and skip every point after the first (checked below). SEAD's
    normalisation already discounts rare anomalies, so letting it learn them costs little.
    """
    model = preprocessing.StandardScaler() | anomaly.QuantileFilter(
        _small_sead(), q=0.98, protect_anomaly_detector=False
    )
    flags, labels = [], []
    for x, y in _shuttle(3000):
        score = model.score_one(x)
        flags.append(model["QuantileFilter"].classify(score))
        labels.append(y)
        model.learn_one(x)
    flags, labels = np.array(flags[300:]), np.array(labels[300:])
    assert 0.005 < flags.mean() < 0.08, flags.mean()
    assert labels[flags].mean() > 0.3, labels[flags].mean()
    assert model["QuantileFilter"].anomaly_detector.n_seen_ == 3000
    # progressive_val_score takes a filter (its decisions are 0/1) but not a pipeline ending in
    # one (River looks for .classify on the pipeline), so the scaler goes inside the filter
    model = anomaly.QuantileFilter(
        preprocessing.StandardScaler() | _small_sead(), q=0.98, protect_anomaly_detector=False
    )
    auc = evaluate.progressive_val_score(_shuttle(1000), model, metrics.ROCAUC())
    assert auc.get() > 0.5, auc
    # why not River's default protect_anomaly_detector=True from a cold start
    cold = anomaly.QuantileFilter(_small_sead(), q=0.98)
    for x, _ in _shuttle(300):
        cold.score_one(x)
        cold.learn_one(x)
    assert cold.anomaly_detector.n_seen_ == 1


def test_protecting_quantile_filter_around_a_warm_sead():
    """With River's default ``protect_anomaly_detector=True``, warm SEAD up first: the filter
    then keeps SEAD from learning the points it flags."""
    scaler, det = preprocessing.StandardScaler(), _small_sead()
    stream_ = list(_shuttle(2500))
    for x, _ in stream_[:500]:
        scaler.learn_one(x)
        det.learn_one(scaler.transform_one(x))
    model = scaler | anomaly.QuantileFilter(det, q=0.98)
    n_flagged = 0
    for x, _ in stream_[500:]:
        n_flagged += model["QuantileFilter"].classify(model.score_one(x))
        model.learn_one(x)
    assert 0 < n_flagged < 300, n_flagged
    assert det.n_seen_ == 2500 - n_flagged  # flagged points were not learned


def test_threshold_filter_around_sead():
    """SEAD's scores are in [0, 1], so a fixed ThresholdFilter is meaningful too."""
    model = anomaly.ThresholdFilter(_small_sead(), threshold=0.99)
    n_flagged = 0
    for x, _ in _shuttle(800):
        n_flagged += model.classify(model.score_one(x))
        model.learn_one(x)
    assert 0 < n_flagged < 400


def test_river_clone_and_repr_of_a_pipeline():
    model = preprocessing.StandardScaler() | _small_sead(seed=3)
    for x, _ in _shuttle(50):
        model.learn_one(x)
    fresh = model.clone()
    assert repr(fresh) == repr(model)
    assert not fresh["SEAD"]._fitted and model["SEAD"]._fitted


# ---- pandas in, pandas out ------------------------------------------------------------------


@pytest.mark.parametrize("cls", [SEAD, SEADPlusPlus])
def test_dataframe_in_series_out(cls):
    X = stream(400, d=3, seed=2)
    idx = pd.date_range("2026-01-01", periods=len(X), freq="min")
    df = pd.DataFrame(X, columns=["cpu", "mem", "lat"], index=idx)
    model = _make(cls, 0)
    s = model.score_learn_many(df.iloc[:300])
    assert isinstance(s, pd.Series) and s.index.equals(idx[:300]) and s.dtype == np.float64
    assert model.feature_names_in_ == ("cpu", "lat", "mem") and model.n_features_in_ == 3  # sorted
    # same numbers as River's one-at-a-time loop over the rows as dicts
    loop_model, loop = _make(cls, 0), []
    for row in df.iloc[:300].to_dict("records"):
        loop.append(loop_model.score_one(row))
        loop_model.learn_one(row)
    np.testing.assert_allclose(s.to_numpy(), loop, rtol=0, atol=1e-12)
    # score_many: a Series on the index; columns are matched by name, whatever their order
    out = model.score_many(df.iloc[300:])
    assert isinstance(out, pd.Series) and out.index.equals(idx[300:])
    np.testing.assert_array_equal(model.score_many(df.iloc[300:][["lat", "cpu", "mem"]]), out)
    np.testing.assert_allclose(
        out.to_numpy(), loop_model.score_many(df.iloc[300:]), rtol=0, atol=1e-12
    )
    # positional input after named input is taken in the order of feature_names_in_
    ordered = df.iloc[300:][list(model.feature_names_in_)].to_numpy()
    np.testing.assert_array_equal(model.score_many(ordered), out.to_numpy())
    details = model.score_learn_many(df.iloc[300:], return_details=True)
    assert isinstance(details.scores, pd.Series) and details.scores.index.equals(idx[300:])


@pytest.mark.parametrize("cls", [SEAD, SEADPlusPlus])
def test_dataframe_with_other_columns_later_raises(cls):
    X = stream(200, d=3, seed=2)
    df = pd.DataFrame(X, columns=["cpu", "mem", "lat"])
    model = _make(cls, 0).clone({"missing": "raise", "extra": "raise"})  # the strict policies
    model.learn_many(df)
    before = model.score_many(X[:20])
    for bad, what in [
        (df[["cpu", "mem"]], r"missing \['lat'\], unexpected \[\]"),
        (df.assign(disk=1.0), r"missing \[\], unexpected \['disk'\]"),
        (df.rename(columns={"lat": "latency"}), r"missing \['lat'\], unexpected \['latency'\]"),
    ]:
        for call in (model.learn_many, model.score_many, model.score_learn_many):
            with pytest.raises(ValueError, match=what):
                call(bad)
    np.testing.assert_array_equal(model.score_many(X[:20]), before)  # nothing was learned


# ---- the documentation page -----------------------------------------------------------------
