"""SEAD and SEAD++: equivalence of paths, determinism, pickling, errors, sampling."""

import pickle

import numpy as np
import pandas as pd
import pytest

from sead import SEAD, SEADPlusPlus, combine_scores
from sead.checks import stream, yield_checks

from ._toy import RunningMeanDistance


def pool():
    return [
        RunningMeanDistance(),
        RunningMeanDistance(offset=5.0, power=2.0),
        RunningMeanDistance(power=0.5),
    ]


MODELS = {
    "SEAD": lambda **kw: SEAD(pool(), warmup=20, **kw),
    "SEAD-exact": lambda **kw: SEAD(pool(), warmup=20, reference="exact", **kw),
    "SEAD-window": lambda **kw: SEAD(pool(), warmup=20, reference="window", window=50, **kw),
    "SEAD-frozen-gated": lambda **kw: SEAD(
        pool(), warmup=20, reference="frozen", loss="gated", **kw
    ),
    "SEAD-tail-consensus": lambda **kw: SEAD(
        pool(), warmup=20, output="tail", loss="consensus", eta=0.1, **kw
    ),
    "SEAD-reset-agree": lambda **kw: SEAD(
        pool(), warmup=20, reference="tdigest-reset", loss="agree", **kw
    ),
    "SEAD++-sleep": lambda **kw: SEADPlusPlus(
        pool(), warmup=20, n_sampled=2, loss="gated-sleep", **kw
    ),
    "SEAD++-tail": lambda **kw: SEADPlusPlus(pool(), warmup=20, n_sampled=2, output="tail", **kw),
    "SEAD++": lambda **kw: SEADPlusPlus(pool(), warmup=20, n_sampled=2, **kw),
    "SEAD++-every-1": lambda **kw: SEADPlusPlus(
        pool(), warmup=20, n_sampled=2, resample_every=1, **kw
    ),
    "SEAD++-learn-all": lambda **kw: SEADPlusPlus(
        pool(), warmup=20, n_sampled=1, resample_every=7, learn_unsampled=True, **kw
    ),
}


@pytest.mark.parametrize(
    ("name", "check"),
    [
        pytest.param(name, check, id=f"{name}-{check.__name__}")
        for name in MODELS
        for check in yield_checks(MODELS[name]())
    ],
)
def test_shared_check_suite(name, check):
    """The check suite on the ensembles over a pure-numpy pool, one case per check (SEAD and
    SEAD++ over the compiled detectors, by ``_unit_test_params``: tests/test_common.py)."""
    check(MODELS[name]())


@pytest.mark.parametrize("name", MODELS)
def test_batch_equals_loop_for_arrays_dicts_and_frames(name):
    X = stream(500, d=3, seed=5)
    batch = MODELS[name]().score_learn_many(X)
    m = MODELS[name]()
    loop = []
    for x in X:
        loop.append(m.score_one(x))
        m.learn_one(x)
    np.testing.assert_allclose(batch, loop, rtol=0, atol=1e-12)
    m = MODELS[name]()
    dicts = []
    for x in X:
        d = {"cpu": x[0], "mem": x[1], "lat": x[2]}
        dicts.append(m.score_one(d))
        m.learn_one(d)
    np.testing.assert_allclose(dicts, loop, rtol=0, atol=1e-12)
    df = pd.DataFrame(
        X, columns=["cpu", "mem", "lat"], index=pd.date_range("2026-01-01", periods=500, freq="s")
    )
    s = MODELS[name]().score_learn_many(df)
    assert isinstance(s, pd.Series) and s.index.equals(df.index)
    np.testing.assert_allclose(s.to_numpy(), loop, rtol=0, atol=1e-12)
    # split batches continue exactly
    m = MODELS[name]()
    parts = np.concatenate(
        [m.score_learn_many(X[:123]), m.score_learn_many(X[123:124]), m.score_learn_many(X[124:])]
    )
    np.testing.assert_allclose(parts, loop, rtol=0, atol=1e-12)


@pytest.mark.parametrize("output", ["quantile", "tail"])
def test_details_match_combine_scores(output):
    X = stream(800, d=3, seed=1)
    for ref in ["exact", "window", "tdigest", "frozen"]:
        kw = dict(
            warmup=30, reference=ref, window=100, eta=0.7, lam=1e-3, output=output, loss="gated"
        )
        m = SEAD(pool(), **kw)
        det = m.score_learn_many(X, return_details=True)
        res = combine_scores(det.raw, **kw)
        np.testing.assert_array_equal(det.scores, res.scores)
        np.testing.assert_array_equal(det.weights, res.weights)
        np.testing.assert_array_equal(det.normalized, res.normalized)
        np.testing.assert_allclose(m.weights_, _next_weights(res, 0.7, 1e-3), rtol=0, atol=1e-12)


def _next_weights(res, eta, lam):
    """One more gated step from the last recorded weights."""
    z = res.normalized[-1]
    loss = z * (1 - z.mean()) ** 4
    p = res.weights[-1] * np.exp(-eta * loss)
    return (1 - lam) * p / p.sum() + lam / len(p)


def test_weights_are_a_distribution_and_recorded():
    X = stream(600, d=3)
    m = SEAD(pool(), warmup=50)
    det = m.score_learn_many(X, return_details=True)
    np.testing.assert_allclose(det.weights.sum(axis=1), 1, atol=1e-12)
    np.testing.assert_array_equal(det.weights[:51], 1 / 3)  # no update during warm-up
    assert m.weights_.shape == (3,) and abs(m.weights_.sum() - 1) < 1e-12
    m.weights_[0] = 99  # a copy: the model is unaffected
    assert abs(m.weights_.sum() - 1) < 1e-12


def test_a_detector_that_keeps_firing_loses_weight():
    class Alarmist(RunningMeanDistance):
        """Scores rise forever: each point tops the detector's history."""

        def _score_rows(self, X):
            return np.full(X.shape[0], float(getattr(self, "n_", 0)))

    X = stream(2000, d=3, seed=2)
    m = SEAD([RunningMeanDistance(), Alarmist()], warmup=100, eta=1.0, loss="score")  # the paper's
    m.learn_many(X)
    assert m.weights_[1] < 1e-5  # near its fixed-share floor lam * prior = 5e-7


def test_pickle_mid_stream_and_same_seed():
    X = stream(900, d=3, seed=4)
    for name, make in MODELS.items():
        a = make()
        a.learn_many(X[:400])
        b = pickle.loads(pickle.dumps(a))
        np.testing.assert_array_equal(
            a.score_learn_many(X[400:]), b.score_learn_many(X[400:]), err_msg=name
        )
        np.testing.assert_array_equal(
            make().score_learn_many(X), make().score_learn_many(X), err_msg=name
        )


def test_seadpp_sampling_depends_on_seed_and_covers_the_pool():
    X = stream(3000, d=3, seed=6)
    a = SEADPlusPlus(pool(), n_sampled=1, resample_every=1, warmup=10, seed=1)
    b = SEADPlusPlus(pool(), n_sampled=1, resample_every=1, warmup=10, seed=2)
    da = a.score_learn_many(X, return_details=True)
    db = b.score_learn_many(X, return_details=True)
    assert not np.array_equal(da.scores, db.scores)
    observed = ~np.isnan(da.raw)
    assert observed[:10].all()  # warm-up: everyone scores
    assert (observed[10:].sum(axis=1) == 1).all()  # then exactly n_sampled per point
    assert observed[10:].any(axis=0).all()


def test_seadpp_unsampled_detectors_do_not_learn_by_default():
    X = stream(400, d=3)
    m = SEADPlusPlus(pool(), n_sampled=1, resample_every=400, warmup=0, seed=0)
    m.learn_many(X)
    seen = [d.n_ for d in m.detectors_]
    assert sorted(seen) == [0, 0, 400]
    m2 = SEADPlusPlus(
        pool(), n_sampled=1, resample_every=400, warmup=0, seed=0, learn_unsampled=True
    )
    m2.learn_many(X)
    assert [d.n_ for d in m2.detectors_] == [400, 400, 400]


def test_seadpp_default_sample_is_half_the_pool():
    m = SEADPlusPlus(pool() + pool(), warmup=0)
    m.learn_one([0.0, 0.0, 0.0])
    assert m.m_ == 3 and len(m.sample_) == 3


@pytest.mark.parametrize(
    "bad, match",
    [
        ([np.nan, 0, 0], "feature 0: value nan is not finite"),
        ([0, 0, np.inf], "feature 2: value inf is not finite"),
        ([0, "1", 0], "feature 1: value '1' is not a number"),
        ([0, 0], "expected 3 features"),
        ([], "empty"),
    ],
)
def test_bad_rows_raise_and_change_nothing(bad, match):
    m = SEAD(pool(), warmup=5, missing="raise")  # a NaN is refused only by the strict policy
    m.learn_many(stream(50, d=3))
    before = pickle.dumps(m)
    with pytest.raises(ValueError, match=match):
        m.learn_one(bad)
    with pytest.raises(ValueError, match=match):
        m.score_one(bad)
    assert pickle.dumps(m) == before


def test_bad_batch_names_the_row_and_changes_nothing():
    m = SEAD(pool(), warmup=5, missing="raise")
    m.learn_many(stream(50, d=3))
    before = pickle.dumps(m)
    X = stream(20, d=3)
    X[13, 1] = np.nan
    with pytest.raises(ValueError, match=r"row 13, feature 1: value nan"):
        m.score_learn_many(X)
    df = pd.DataFrame(stream(5, d=3), columns=["a", "b", "c"])
    df.loc[3, "b"] = -np.inf
    m2 = SEAD(pool())
    with pytest.raises(ValueError, match=r"row 3, feature 'b': value -inf"):
        m2.learn_many(df)
    assert not m2._fitted
    assert pickle.dumps(m) == before


def test_dict_features_are_fixed_at_the_first_point():
    m = SEAD(pool(), warmup=5, missing="raise", extra="raise")  # the strict policies
    m.learn_one({"cpu": 1.0, "mem": 2.0, "lat": 3.0})
    with pytest.raises(ValueError, match="'lat' is missing"):
        m.learn_one({"cpu": 1.0, "mem": 2.0})
    with pytest.raises(ValueError, match=r"unexpected feature\(s\) \['disk'\]"):
        m.score_one({"cpu": 1.0, "mem": 2.0, "lat": 3.0, "disk": 4.0})
    with pytest.raises(ValueError, match="missing \\['lat'\\]"):
        m.learn_many(pd.DataFrame({"cpu": [1.0], "mem": [2.0]}))
    # key order does not matter
    assert m.score_one({"lat": 3.0, "cpu": 1.0, "mem": 2.0}) == m.score_one(
        {"cpu": 1.0, "mem": 2.0, "lat": 3.0}
    )


def test_params_clone_and_no_mutation_of_the_pool():
    dets = pool()
    m = SEAD(dets, eta=0.5, warmup=7, reference="exact")
    m.learn_many(stream(100, d=3))
    assert all(not d._fitted for d in dets)  # the templates are cloned, never fitted
    c = m.clone()
    assert c.get_params()["eta"] == 0.5 and c.get_params()["warmup"] == 7
    assert not c._fitted
    m.set_params(eta=2.0)
    assert m.eta == 2.0 and not m._fitted
    with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
        m.set_params(bogus=1)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eta": -1}, "eta"),
        ({"lam": 1.5}, "lam"),
        ({"warmup": -1}, "warmup"),
        ({"reference": "x"}, "reference"),
        ({"prior": [1, 2]}, "prior"),
        ({"loss": "x"}, "loss"),
        ({"output": "x"}, "output"),
    ],
)
def test_bad_parameters_raise_at_first_point(kwargs, match):
    m = SEAD(pool(), **kwargs)  # __init__ stores only
    with pytest.raises(ValueError, match=match):
        m.learn_one([0.0, 1.0, 2.0])
    assert not m._fitted


def test_seadpp_bad_parameters():
    with pytest.raises(ValueError, match="n_sampled"):
        SEADPlusPlus(pool(), n_sampled=4).learn_one([0.0, 1.0, 2.0])
    with pytest.raises(ValueError, match="resample_every"):
        SEADPlusPlus(pool(), resample_every=0).learn_one([0.0, 1.0, 2.0])


def test_non_sead_detector_is_refused_with_advice():
    from river.anomaly import HalfSpaceTrees

    with pytest.raises(TypeError, match="RiverDetector"):
        SEAD([HalfSpaceTrees()]).learn_one([0.0])


def test_explain_one_adds_up():
    m = SEAD(pool(), warmup=10, output="quantile")
    X = stream(300, d=3)
    m.learn_many(X)
    e = m.explain_one(X[0] + 5)
    assert abs(e["score"] - m.score_one(X[0] + 5)) < 1e-12
    assert abs(sum(d["weight"] * d["quantile"] for d in e["detectors"]) - e["score"]) < 1e-12
    assert [d["name"] for d in e["detectors"]] == [
        "RunningMeanDistance-1",
        "RunningMeanDistance-2",
        "RunningMeanDistance-3",
    ]


class SlowStarter(RunningMeanDistance):
    """Scores 0 (a placeholder) for its first ``n`` points, like HST while it learns ranges."""

    def __init__(self, n: int = 50):
        super().__init__()
        self.n = n

    def _warmup_points(self):
        return self.n

    def _score_rows(self, X):
        return np.zeros(X.shape[0]) if self.n_ < self.n else super()._score_rows(X)


@pytest.mark.parametrize(
    "make", [SEAD, lambda d, **kw: SEADPlusPlus(d, n_sampled=1, resample_every=3, **kw)]
)
def test_placeholder_scores_stay_out_of_references_and_weights(make):
    X = stream(300, d=3, seed=8)
    m = make([SlowStarter(50), RunningMeanDistance()], warmup=10)
    det = m.score_learn_many(X, return_details=True)
    assert np.isnan(det.raw[:50, 0]).all() and np.isnan(det.normalized[:50, 0]).all()
    assert np.isfinite(det.raw[50, 0]) or isinstance(m, SEADPlusPlus)
    assert (
        det.normalized[np.isfinite(det.normalized[:, 0]), 0][0] == 0.5
    )  # first real score: empty reference
    # its weight does not move while it is only emitting placeholders (after SEAD's warm-up)
    np.testing.assert_allclose(det.weights[10:51, 0] / det.weights[10, 0], 1.0, atol=1e-5)
    loop = make([SlowStarter(50), RunningMeanDistance()], warmup=10)
    seq = []
    for x in X:
        seq.append(loop.score_one(x))
        loop.learn_one(x)
    np.testing.assert_allclose(seq, det.scores, rtol=0, atol=1e-12)
