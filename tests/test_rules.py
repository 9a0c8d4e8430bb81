"""Tests of the rule-based detectors (ZScoreRule, ThresholdRule) and of RandomDetector."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sead.checks import stream
from sead.detectors.random import RandomDetector, RandomStack
from sead.detectors.rules import ThresholdRule, ThresholdStack, ZScoreRule, ZScoreStack

from ._glitch import glitch_row, planted, with_glitch
from ._stacked import check_stack_equals_standalone

# ---- ZScoreRule ----------------------------------------------------------------------------


def reference_ewma(X, alpha, min_scale, clip=100.0, n_established=10):
    """The EWMA rule in plain numpy: from the 10th point on (and for alpha < 1), the deviation
    enters the update winsorised at ``clip`` current scales."""
    n, d = X.shape
    mean = np.zeros(d)
    var = np.zeros(d)
    out = np.zeros(n)
    for t in range(n):
        scale = np.maximum(np.sqrt(var), min_scale * np.maximum(1.0, np.abs(mean)))
        if t > 0:
            out[t] = np.max(np.abs(X[t] - mean) / scale)
        a = max(alpha, 1.0 / (t + 1))
        diff = X[t] - mean
        if t >= n_established and a < 1.0:
            diff = np.clip(diff, -clip * scale, clip * scale)
        mean = mean + a * diff
        var = (1 - a) * (var + a * diff**2)
    return out


def reference_median(X, window, min_scale):
    n, d = X.shape
    out = np.zeros(n)
    for t in range(1, n):
        W = X[max(0, t - window) : t]
        med = np.median(W, axis=0)
        mad = 1.4826 * np.median(np.abs(W - med), axis=0)
        mean_ad = 1.2533 * np.mean(np.abs(W - med), axis=0)
        scale = np.where(mad > 0, mad, mean_ad)
        scale = np.maximum(scale, min_scale * np.maximum(1.0, np.abs(med)))
        out[t] = np.max(np.abs(X[t] - med) / scale)
    return out


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.2, 1.0])
def test_ewma_known_answer(alpha):
    X = stream(300, d=3, seed=1)
    ours = ZScoreRule(alpha=alpha).score_learn_many(X)
    np.testing.assert_allclose(ours, reference_ewma(X, alpha, 1e-9), rtol=1e-9, atol=1e-9)


def test_alpha_zero_is_the_exact_running_mean_and_variance():
    X = stream(500, d=2, seed=2)
    det = ZScoreRule(alpha=0.0)
    det.learn_many(X)
    np.testing.assert_allclose(det.center_, X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(det.scale_, X.std(axis=0), rtol=1e-10)


@pytest.mark.parametrize("window", [1, 2, 7, 50])
def test_median_known_answer(window):
    X = stream(260, d=3, seed=3)
    X[:, 2] = np.round(X[:, 2])  # ties and MAD = 0 stretches
    X[40:120, 1] = 1.0  # a constant run: MAD = 0 then mean-AD fallback
    ours = ZScoreRule(method="median", window=window).score_learn_many(X)
    np.testing.assert_allclose(ours, reference_median(X, window, 1e-9), rtol=1e-9, atol=1e-9)


def test_median_is_robust_to_a_burst_of_outliers():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 1))
    X[300:340] = 50.0  # 40 outliers in a window of 200: median and MAD barely move
    med = ZScoreRule(method="median", window=200).score_learn_many(X)
    ewma = ZScoreRule(alpha=0.01).score_learn_many(X)
    assert med[339] > 20  # the burst still scores high at its end ...
    assert ewma[339] < 3  # ... while the (non-robust) EWMA has absorbed it
    det = ZScoreRule(method="median", window=200)
    det.learn_many(X[:340])
    assert det.score_one([4.0]) > 2.5  # and a 4-sigma point still stands out


def test_zero_variance_features_give_finite_scores():
    X = np.ones((200, 3))
    X[:, 0] = np.arange(200.0)
    for det in (ZScoreRule(), ZScoreRule(method="median", window=20)):
        s = det.score_learn_many(X)
        assert np.isfinite(s).all()
        # a change in a constant feature: |dx| / (min_scale * max(1, |center|)), large but finite
        z = det.score_one([199.0, 2.0, 1.0])
        assert np.isfinite(z) and z == pytest.approx(1.0 / 1e-9, rel=1e-6)


def test_min_scale_is_relative_to_the_center():
    det = ZScoreRule(min_scale=1e-3)
    det.learn_many(np.full((10, 1), 1000.0))
    assert det.score_one([1001.0]) == pytest.approx(1.0)  # floor 1e-3 * 1000 = 1


def test_ewma_forgets_and_follows_a_level_shift():
    rng = np.random.default_rng(1)
    X = np.concatenate([rng.normal(0, 1, 2000), rng.normal(10, 1, 6000)])[:, None]
    det = ZScoreRule(alpha=0.001)
    s = det.score_learn_many(X)
    assert s[2000] > 5 and np.median(s[-500:]) < 1.5
    assert abs(det.center_[0] - 10) < 0.2 and det.scale_[0] < 1.2
    never = ZScoreRule(alpha=0.0)
    never.learn_many(X)  # alpha=0 never forgets: the center stays between the two levels
    assert abs(never.center_[0] - 7.5) < 0.2 and never.scale_[0] > 4


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(method="mean"), "method"),
        (dict(alpha=-0.1), "alpha"),
        (dict(alpha=1.5), "alpha"),
        (dict(alpha="0.1"), "alpha"),
        (dict(method="median", window=0), "window"),
        (dict(min_scale=0.0), "min_scale"),
        (dict(min_scale=float("nan")), "min_scale"),
    ],
    ids=str,
)
def test_zscore_parameter_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        ZScoreRule(**bad).learn_one([1.0, 2.0])


def _pysad_max_over_features(make, X):
    """PySAD's univariate models, one per feature, combined like ZScoreRule: max over features."""
    models = [make() for _ in range(X.shape[1])]
    out = np.empty(len(X))
    for i, x in enumerate(X):
        out[i] = max(m.score_partial(x[j : j + 1]) for j, m in enumerate(models))
        for j, m in enumerate(models):
            m.fit_partial(x[j : j + 1])
    return out


def test_accuracy_not_below_pysad_on_shuttle(dataset, pysad_models):
    """APS on the first 3,000 points of chunk-shuffled shuttle: ZScoreRule(alpha=0) against
    PySAD's StandardAbsoluteDeviation, ZScoreRule(method="median", window=500) against its
    MedianAbsoluteDeviation (PySAD defaults; one model per feature, max over features)."""
    from sklearn.metrics import average_precision_score as aps

    X, y = dataset("shuttle", seed=0, n=3000)
    pairs = [
        (ZScoreRule(alpha=0.0), pysad_models.StandardAbsoluteDeviation),
        (ZScoreRule(method="median", window=500), pysad_models.MedianAbsoluteDeviation),
    ]
    for ours, make in pairs:
        theirs = aps(y[100:], _pysad_max_over_features(make, X)[100:])
        mine = aps(y[100:], ours.score_learn_many(X)[100:])
        assert mine >= theirs - 0.02, (ours, mine, theirs)


FMAX = float(np.finfo(float).max)
HOSTILE = [
    np.full(4, FMAX),
    np.full(4, -FMAX),
    np.array([FMAX, 0.0, 0.0, 0.0]),
    np.array([0.0, -FMAX, 0.0, 0.0]),
    np.array([FMAX, -FMAX, 0.0, 1e-300]),
    np.full(4, 1e308),
    np.full(4, 5e-324),
    np.array([1e300, -1e300, 1e12, 0.0]),
]


@pytest.mark.parametrize(
    "params", [{}, {"alpha": 0.0}, {"alpha": 1.0}, {"method": "median", "window": 20}], ids=str
)
def test_zscore_scores_are_finite_near_the_float_limit(params):
    """A value near np.finfo(float).max (a "missing" sentinel in telemetry) used to score inf,
    and learning it made the EWMA scale inf; every score is finite, at most MAX_SCORE, and
    the learned state stays finite, whatever finite rows come."""
    from sead.detectors.rules import MAX_SCORE

    rng = np.random.default_rng(0)
    det = ZScoreRule(**params)
    det.learn_many(rng.normal(size=(300, 4)))
    first = det.score_one(HOSTILE[0])
    assert first == MAX_SCORE  # flagged: far beyond any scale
    scores = []
    for row in HOSTILE:
        scores += [det.score_one(row), det.score_one(rng.normal(size=4))]
        det.learn_one(row)
        assert (
            np.isfinite(det.center_).all()
            and np.isfinite(det.scale_).all()
            and (det.scale_ > 0).all()
        )
    scores += list(det.score_learn_many(np.vstack(HOSTILE * 3)))
    scores += list(det.score_learn_many(rng.normal(size=(50, 4))))
    scores = np.array(scores)
    assert np.isfinite(scores).all() and (scores >= 0).all() and (scores <= MAX_SCORE).all()


def test_median_window_of_extremes_has_a_finite_center_and_scale():
    """Half the window at +max and half at -max: the two middle values and every deviation
    from the median overflow in plain arithmetic; center and scale stay finite."""
    det = ZScoreRule(method="median", window=4)
    det.learn_many(np.array([[FMAX], [-FMAX], [FMAX], [-FMAX]]))
    assert det.center_[0] == 0.0 and det.scale_[0] == FMAX
    assert det.score_one([FMAX]) == 1.0 and det.score_one([0.0]) == 0.0
    det.learn_many(np.array([[FMAX], [FMAX]]))  # window [max, -max, max, max]: median max
    assert det.center_[0] == FMAX and np.isfinite(det.scale_[0])
    assert np.isfinite(det.score_one([-FMAX]))


GLITCHES = [
    (1e12, "one"),
    (1e100, "all"),
    (-1e300, "one"),
    (FMAX, "all"),
    (-FMAX, "one"),
    (1e3, "one"),
]


@pytest.mark.parametrize("value, where", GLITCHES, ids=str)
def test_one_glitch_row_is_flagged_and_does_not_blind_the_ewma(value, where):
    """One row of 1e308 used to leave the EWMA scale inf for good (a 10-sd point scored 0.02
    200,000 rows later), one of 1e12 blinded the rule for 10k-50k rows. The row is now scored
    high, and learning it moves the mean by at most 100 a scales and the scale by at most
    sqrt(1 + 10^4 a) (3.3 at the default alpha)."""
    rng = np.random.default_rng(5)
    det = ZScoreRule()
    det.learn_many(rng.normal(size=(2000, 4)))
    center, scale = det.center_.copy(), det.scale_.copy()
    glitch = glitch_row(value, where)
    assert det.score_one(glitch) >= min(abs(value) / 2, 1e300)
    det.learn_one(glitch)
    assert np.all(np.abs(det.center_ - center) <= 0.1 * scale + 1e-12)
    assert np.all(det.scale_ <= 3.32 * scale)
    ten_sd = center + 10 * scale
    assert det.score_one(ten_sd) > 2.5  # still seen right after the glitch
    det.learn_many(rng.normal(size=(5000, 4)))
    assert det.score_one(det.center_ + 10 * det.scale_) == pytest.approx(10.0)
    assert np.all(det.scale_ < 1.1 * scale)  # and the scale is back


@pytest.mark.parametrize("alpha", [0.001, 0.0, 0.05])
def test_one_glitch_row_keeps_the_prequential_auc(alpha):
    """Prequential ROC AUC on planted 6-sd anomalies 5,000 rows after one glitch row: as
    without the glitch (it was 0.5, i.e. blind, before the fix)."""
    from sklearn.metrics import roc_auc_score

    X, y, start = planted(np.random.default_rng(1), 2000, 5000, 5000)
    clean = roc_auc_score(y[start:], ZScoreRule(alpha=alpha).score_learn_many(X)[start:])
    for value, where in GLITCHES:
        s = ZScoreRule(alpha=alpha).score_learn_many(with_glitch(X, 2000, value, where))
        assert s[2000] >= min(abs(value) / 2, 1e300)
        assert roc_auc_score(y[start:], s[start:]) >= clean - 0.02, (value, where)


def test_winsorised_update_matches_the_formula():
    """One clipped step: the mean moves by a * 100 * scale, the variance becomes
    (1 - a) (var + a (100 scale)^2)."""
    X = np.random.default_rng(2).normal(size=(100, 2))
    det = ZScoreRule(alpha=0.0)
    det.learn_many(X)
    c, v, s = det.center_.copy(), det.var_.copy(), det.scale_.copy()
    det.learn_one([1e9, -1e9])
    a = 1.0 / 101
    np.testing.assert_allclose(det.center_, c + a * 100 * s * np.array([1.0, -1.0]), rtol=1e-12)
    np.testing.assert_allclose(det.var_, (1 - a) * (v + a * (100 * s) ** 2), rtol=1e-12)


def test_a_huge_level_shift_is_still_followed():
    """Winsorising bounds one row, not a new regime: a shift of 10^6 sd is taken in about as
    fast as by the plain EWMA (106 rows above 3, the mean 336 behind after 8,000 rows, e^-8)."""
    rng = np.random.default_rng(3)
    X = np.concatenate([rng.normal(size=3000), rng.normal(1e6, 1.0, size=8000)])[:, None]
    det = ZScoreRule()
    s = det.score_learn_many(X)
    assert s[3000] > 1e5 and np.median(s[-500:]) < 0.1
    assert np.sum(s[3000:] > 3) < 130
    assert abs(det.center_[0] - 1e6) < 400


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(2, 150),
    d=st.integers(1, 3),
    alpha=st.sampled_from([0.0, 0.001, 0.05, 0.5, 1.0]),
    glitches=st.lists(st.tuples(st.integers(0, 149), st.floats(-1e12, 1e12)), max_size=6),
)
def test_ewma_with_glitches_matches_the_reference(seed, n, d, alpha, glitches):
    X = np.random.default_rng(seed).normal(size=(n, d))
    for t, v in glitches:
        X[t % n, t % d] = v
    ours = ZScoreRule(alpha=alpha).score_learn_many(X)
    np.testing.assert_allclose(ours, reference_ewma(X, alpha, 1e-9), rtol=1e-7, atol=1e-6)


def test_median_forgets_a_glitch_exactly_when_it_leaves_the_window():
    """The median method against the same glitches: the row is flagged, barely moves the
    median and the MAD while in the window, and the scores are the glitch-free ones as soon as
    it has left."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(1000, 4))
    for value, where in GLITCHES:
        G = X.copy()
        G[300] = value if where == "all" else [value, 0.0, 0.0, 0.0]
        a, b = ZScoreRule(method="median", window=100), ZScoreRule(method="median", window=100)
        sa, sb = a.score_learn_many(X), b.score_learn_many(G)
        assert sb[300] >= min(abs(value) / 4, 1e300)
        ratio = sb[301:400] / sa[301:400]
        assert np.all((ratio > 0.8) & (ratio < 1.25)), (value, where)
        np.testing.assert_array_equal(sa[401:], sb[401:])


# ---- ThresholdRule -------------------------------------------------------------------------


def test_threshold_scores_and_divisors():
    rule = ThresholdRule(
        lower=[0.0, None, -1.0], upper=[10.0, 500.0, None], scale=[None, None, 0.5]
    )
    rule.learn_one([5.0, 100.0, 0.0])
    # inside -> 0; two-sided: / width 10; one-sided upper: / |500|; user scale 0.5
    assert rule.score_one([5.0, 100.0, 0.0]) == 0.0
    assert rule.score_one([12.0, 100.0, 0.0]) == pytest.approx(0.2)
    assert rule.score_one([-5.0, 100.0, 0.0]) == pytest.approx(0.5)
    assert rule.score_one([5.0, 750.0, 0.0]) == pytest.approx(0.5)
    assert rule.score_one([5.0, 100.0, -2.0]) == pytest.approx(2.0)
    assert rule.score_one([12.0, 1500.0, -1.5]) == pytest.approx(2.0)  # the max over features
    assert rule.score_one([5.0, -1e9, 1e9]) == 0.0  # unbounded sides


def test_threshold_zero_bound_divides_by_one():
    rule = ThresholdRule(lower=0.0)
    rule.learn_one([1.0])
    assert rule.score_one([-3.0]) == 3.0


def test_threshold_dict_bounds_match_names_in_any_order():
    rule = ThresholdRule(upper={"latency_ms": 500}, lower={"cpu": 0.0}, scale={"cpu": 0.1})
    df = pd.DataFrame(
        {"cpu": [0.5, -0.2, 0.1], "latency_ms": [100.0, 100.0, 1000.0], "mem": [1, 2, 3]}
    )
    s = rule.score_learn_many(df)
    assert isinstance(s, pd.Series)
    # row 0 is scored 0 (nothing learned yet, as for every detector); then -0.2 / 0.1 and 500 / 500
    np.testing.assert_allclose(s.to_numpy(), [0.0, 2.0, 1.0])
    assert rule.feature_names_in_ == ("cpu", "latency_ms", "mem")
    np.testing.assert_array_equal(rule.upper_, [np.inf, 500.0, np.inf])
    assert rule.score_one({"mem": 1e9, "latency_ms": 600.0, "cpu": 0.3}) == pytest.approx(0.2)


def test_threshold_learns_nothing():
    X = stream(300, d=2)
    a, b = ThresholdRule(upper=1.0), ThresholdRule(upper=1.0)
    a.learn_one(X[0])
    b.learn_many(X)
    np.testing.assert_array_equal(a.score_many(X), b.score_many(X))
    assert pickle.dumps(a.stack_) == pickle.dumps(b.stack_)  # the rule's whole learned state


@pytest.mark.parametrize(
    "params, x, match",
    [
        (dict(lower=2.0, upper=1.0), [0.0], "lower bound"),
        (dict(upper=[1.0, 2.0]), [0.0], "2 values"),
        (dict(upper={"a": 1.0}), [0.0], "no feature names"),
        (dict(upper={"zz": 1.0}), {"a": 0.0}, "zz"),
        (dict(upper=1.0, scale=0.0), [0.0], "scale"),
        (dict(upper=1.0, scale=-1.0), [0.0], "scale"),
        (dict(upper=float("inf")), [0.0], "upper"),
        (dict(upper="high"), [0.0], "upper"),
        (dict(lower=[None, "x"]), [0.0, 1.0], "lower"),
    ],
    ids=str,
)
def test_threshold_errors_name_the_problem_and_leave_it_unfitted(params, x, match):
    rule = ThresholdRule(**params)
    with pytest.raises(ValueError, match=match):
        rule.learn_one(x)
    assert not rule._fitted


def test_threshold_scores_are_finite_near_the_float_limit():
    """An excess divided by a small divisor used to overflow to inf, and a width beyond the float
    range made the divisor inf (a point outside the bounds then scored 0)."""
    from sead.detectors.rules import MAX_SCORE

    one_sided = ThresholdRule(upper=0.5)
    one_sided.learn_one([0.0])
    assert one_sided.score_one([FMAX]) == MAX_SCORE and one_sided.score_one([-FMAX]) == 0.0
    wide = ThresholdRule(lower=-1e308, upper=1e308)
    wide.learn_one([0.0])
    assert wide.divisor_[0] == FMAX
    assert 0.0 < wide.score_one([FMAX]) < 1.0 and 0.0 < wide.score_one([-FMAX]) < 1.0
    for rule in (
        ThresholdRule(lower=-1.0, upper=1.0),
        ThresholdRule(lower=1e308, scale=1e-300),
        ThresholdRule(upper=-1e308, scale=5e-324),
    ):
        rule.learn_one(np.zeros(4))
        s = np.concatenate(
            [[rule.score_one(r) for r in HOSTILE], rule.score_learn_many(np.vstack(HOSTILE))]
        )
        assert np.isfinite(s).all() and (s >= 0).all() and (s <= MAX_SCORE).all()


# ---- RandomDetector ------------------------------------------------------------------------


def test_random_scores_are_uniform_and_ignore_the_data():
    from scipy.stats import kstest

    X = stream(20_000, d=2, seed=0)
    s = RandomDetector(seed=1).score_learn_many(X)
    assert s[0] == 0.0 and ((0 <= s) & (s < 1)).all()
    assert kstest(s[1:], "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(s[1:-1], s[2:])[0, 1]) < 0.03  # no lag-1 correlation
    other = RandomDetector(seed=1).score_learn_many(np.zeros_like(X))
    np.testing.assert_array_equal(s, other)
    assert not np.array_equal(s, RandomDetector(seed=2).score_learn_many(X))


def test_random_score_depends_on_points_learned_only():
    det = RandomDetector(seed=4)
    det.learn_many(np.zeros((10, 1)))
    a = det.score_many(np.array([[0.0], [5.0], [-1e9]]))
    assert a[0] == a[1] == a[2]
    assert det.score_one([3.0]) == a[0]
    det.learn_one([1.0])
    assert det.score_one([3.0]) != a[0]


def test_random_seed_none_still_pure_and_consistent():
    det = RandomDetector(seed=None)
    X = np.zeros((50, 1))
    det.learn_many(X)
    twin = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(det.score_learn_many(X), twin.score_learn_many(X))


def test_random_seed_error():
    with pytest.raises(ValueError, match="seed"):
        RandomDetector(seed=1.5).learn_one([0.0])


# ---- stacked state -------------------------------------------------------------------------


def test_stacked_members_and_slots_equal_standalone_detectors():
    """ZScoreRule members of both methods (and different windows) share one stack."""
    params = [
        {"alpha": 0.01},
        {"method": "median", "window": 31},
        {"method": "median", "window": 7, "min_scale": 1e-3},
        {"alpha": 0.0},
    ]
    check_stack_equals_standalone(ZScoreStack, ZScoreRule, params)


def test_stacked_threshold_rules_equal_standalone_detectors():
    params = [
        {"lower": -2.0, "upper": 2.0},
        {"lower": [-2.5, None, 0.0], "upper": None, "scale": 0.5},
        {"upper": [1.0, 3.0, None]},
    ]
    check_stack_equals_standalone(ThresholdStack, ThresholdRule, params)


def test_stacked_random_detectors_equal_standalone_detectors():
    check_stack_equals_standalone(
        RandomStack, RandomDetector, [{"seed": 0}, {"seed": 5}, {"seed": 2**40}]
    )


def test_state_attributes_are_views_of_the_stack():
    X = stream(100, d=3, seed=0)
    ewma = ZScoreRule()
    with pytest.raises(AttributeError):
        ewma.center_
    ewma.learn_many(X)
    assert np.shares_memory(ewma.center_, ewma.stack_.state.center)
    assert ewma.var_.shape == ewma.scale_.shape == (3,) and ewma.n_ == 100
    for name in ("ring_", "sorted_", "pos_"):
        with pytest.raises(AttributeError, match="median"):
            getattr(ewma, name)
    med = ZScoreRule(method="median", window=40)
    med.learn_many(X)
    assert med.ring_.shape == (40, 3) and med.sorted_.shape == (3, 40)
    assert med.n_ == 40 and med.pos_ == 100 % 40
    np.testing.assert_array_equal(med.sorted_, np.sort(X[-40:].T, axis=1))
    np.testing.assert_array_equal(med.center_, np.median(X[-40:], axis=0))
    with pytest.raises(AttributeError, match="ewma"):
        med.var_
    rule = ThresholdRule(upper=[1.0, None, 2.0])
    rule.learn_one(X[0])
    np.testing.assert_array_equal(rule.upper_, [1.0, np.inf, 2.0])
    assert rule.started_ and rule.divisor_.tolist() == [1.0, 1.0, 2.0]
    rnd = RandomDetector(seed=3)
    rnd.learn_many(X)
    assert rnd.n_ == 100 and 0 <= rnd.key_ < 2**63


def test_pickled_detectors_continue_identically():
    X = stream(400, d=3, seed=1)
    for det in (
        ZScoreRule(),
        ZScoreRule(method="median", window=20),
        ThresholdRule(upper=1.0),
        RandomDetector(1),
    ):
        det.learn_many(X[:200])
        twin = pickle.loads(pickle.dumps(det))
        np.testing.assert_array_equal(det.score_learn_many(X[200:]), twin.score_learn_many(X[200:]))


def test_random_scores_ignore_hostile_values():
    """Rows up to the float limit change nothing: the scores are the same uniform draws."""
    det, twin = RandomDetector(seed=2), RandomDetector(seed=2)
    H = np.vstack(HOSTILE * 5)
    s = det.score_learn_many(H)
    np.testing.assert_array_equal(s, twin.score_learn_many(np.zeros_like(H)))
    assert ((0 <= s) & (s < 1)).all() and np.isfinite(det.score_one(HOSTILE[0]))


def test_kernels_release_the_gil_and_threads_give_the_serial_scores():
    """The stacked kernels are nogil: independent detectors can run in threads."""
    from concurrent.futures import ThreadPoolExecutor

    streams = [stream(3000, d=3, seed=s) for s in range(4)]
    makers = [
        ZScoreRule,
        lambda: ZScoreRule(method="median", window=50),
        lambda: ThresholdRule(upper=1.0),
        lambda: RandomDetector(seed=3),
    ]
    serial = [[m().score_learn_many(X) for X in streams] for m in makers]
    with ThreadPoolExecutor(4) as pool:
        threaded = [list(pool.map(lambda X, m=m: m().score_learn_many(X), streams)) for m in makers]
    for a, b in zip(serial, threaded):
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
