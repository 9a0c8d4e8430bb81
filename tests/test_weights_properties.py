"""Properties of the weights kernel's losses (:mod:`sead.weights`) and of the resetting reference.

For every loss (hypothesis): the weights stay a probability distribution, every weight stays
at or above the fixed-share floor ``lam * prior_k``, the losses are in [0, 1], and the agreement
losses give a constant detector exactly ½. On a stream with planted anomalies a constant
detector and a uniform-random detector lose weight. :class:`ResettingTDigestQuantile` equals
the t-digest until it restarts, and restarts after a level shift.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sead import combine_scores
from sead.combiner import weigh
from sead.normalization import ResettingTDigestQuantile, TDigestQuantile, make_reference
from sead.weights import LOSSES

ALL_LOSSES = sorted(LOSSES)
NEW_LOSSES = [
    "gated-weighted",
    "gated-loo",
    "gated-loo-weighted",
    "gated-median",
    "agree",
    "agree-weighted",
]


def _z_matrix(draw, n, K):
    Z = draw(arrays(np.float64, (n, K), elements=st.floats(0.0, 1.0)))
    mask = draw(arrays(np.bool_, (n, K)))
    return np.where(mask & (draw(st.booleans())), np.nan, Z)


@st.composite
def rounds(draw):
    n = draw(st.integers(1, 40))
    K = draw(st.integers(1, 7))
    Z = _z_matrix(draw, n, K)
    prior = draw(arrays(np.float64, K, elements=st.floats(0.01, 1.0)))
    eta = draw(st.sampled_from([0.0, 0.02, 1.0, 30.0, 500.0]))
    lam = draw(st.sampled_from([0.0, 1e-6, 1e-2, 0.5, 1.0]))
    return Z, prior / prior.sum(), eta, lam


@pytest.mark.parametrize("loss", ALL_LOSSES)
@settings(max_examples=60, deadline=None)
@given(case=rounds())
def test_weights_stay_a_distribution_above_the_floor(loss, case):
    Z, prior, eta, lam = case
    for output, N in (("quantile", None), ("tail", np.full_like(Z, 50.0))):
        S, P = weigh(Z, N, eta=eta, lam=lam, prior=prior, warmup=0, loss=loss, output=output)
        _, p_end = weigh(
            Z, N, eta=eta, lam=lam, prior=prior, warmup=0, loss=loss, output=output, record=False
        )
        for p in list(P) + [p_end]:
            assert np.all(np.isfinite(p)) and np.all(p >= 0)
            assert abs(p.sum() - 1.0) < 1e-9
            assert np.all(p >= lam * prior * (1 - 1e-9) - 1e-300)
        assert np.all((S >= 0) & (S <= 1))


@pytest.mark.parametrize("loss", NEW_LOSSES)
@settings(max_examples=40, deadline=None)
@given(case=rounds())
def test_one_step_matches_the_formula(loss, case):
    """The kernel's first step is the documented multiplicative update with the documented loss."""
    Z, prior, eta, lam = case
    z = Z[0]
    obs = ~np.isnan(z)
    if not obs.any():
        return
    zo, po = z[obs], prior[obs]
    m = obs.sum()
    zbar = zo.mean()
    if loss in ("gated-loo", "agree"):
        c = (zo.sum() - zo) / (m - 1) if m > 1 else np.full(m, zbar)
    elif loss in ("gated-loo-weighted", "agree-weighted"):
        rest = po.sum() - po
        if m > 1:
            c = np.clip(
                np.where(rest > 0, (po @ zo - po * zo) / np.where(rest > 0, rest, 1), 0), 0, 1
            )
        else:
            c = np.full(m, zbar)
    elif loss == "gated-weighted":
        c = np.full(m, po @ zo / po.sum())
    else:  # gated-median
        c = np.full(m, np.median(zo))
    ell = 0.5 * (1 - (2 * zo - 1) * (2 * c - 1)) if loss.startswith("agree") else zo * (1 - c) ** 4
    assert np.all((ell >= 0) & (ell <= 1))
    w = prior.copy()
    f = po * np.exp(-eta * (ell - ell.min()))
    w[obs] = f * (po.sum() / f.sum())  # sleeping experts: the observed keep their total weight
    expected = (1 - lam) * w / w.sum() + lam * prior
    _, p = weigh(Z[:1], eta=eta, lam=lam, prior=prior, warmup=0, loss=loss, record=False)
    np.testing.assert_allclose(p, expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("loss", NEW_LOSSES + ["gated-sleep"])
def test_sleeping_experts_keep_an_unobserved_detectors_weight(loss):
    rng = np.random.default_rng(5)
    Z = rng.random((300, 4))
    Z[:, 1] = np.nan  # never observed
    _, p = weigh(Z, eta=2.0, lam=0.0, warmup=0, loss=loss, record=False)
    assert abs(p[1] - 0.25) < 1e-12
    _, p_old = weigh(Z, eta=2.0, lam=0.0, warmup=0, loss="gated", record=False)
    assert p_old[1] > 0.25  # the old step: left out = treated like the best observed detector


@pytest.mark.parametrize("loss", ["agree", "agree-weighted"])
def test_agreement_loss_of_a_constant_detector_is_one_half(loss):
    # one round, eta = 1: a constant detector (z = 1/2) keeps exp(-1/2) relative to the shift
    Z = np.array([[0.5, 0.9, 0.8, 0.1]])
    _, p = weigh(Z, eta=1.0, lam=0.0, warmup=0, loss=loss, record=False)
    c = (Z[0].sum() - Z[0]) / 3
    ell = 0.5 * (1 - (2 * Z[0] - 1) * (2 * c - 1))
    assert ell[0] == 0.5
    if loss == "agree":
        np.testing.assert_allclose(p, np.exp(-ell) / np.exp(-ell).sum(), rtol=1e-12)


def _planted(seed, T=4000, rate=0.02):
    """Three informative detectors (each a noisy view of how far the point is from normal),
    a constant one and a uniform-random one."""
    rng = np.random.default_rng(seed)
    y = rng.random(T) < rate
    far = np.abs(rng.normal(size=T)) + 4.0 * y
    good = np.column_stack([far + 0.5 * rng.normal(size=T) for _ in range(3)])
    R = np.column_stack([good, np.zeros(T), rng.random(T)])
    return R, y


@pytest.mark.parametrize("loss", ["gated", "gated-sleep", "agree-awake"] + NEW_LOSSES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_constant_and_random_detectors_lose_weight(loss, seed):
    R, _ = _planted(seed)
    K = R.shape[1]
    res = combine_scores(
        R, eta=0.05, lam=1e-6, warmup=100, reference="tdigest", loss=loss, output="tail"
    )
    p = res.weights[-1]
    assert p[3] < 1.0 / K, (loss, p)  # the constant detector
    assert p[4] < 1.0 / K, (loss, p)  # the random one
    assert p[:3].sum() > 3.0 / K


# ---- the resetting reference ---------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 3000), ties=st.booleans(), gaps=st.booleans())
def test_resetting_reference_equals_the_tdigest_without_a_shift(seed, n, ties, gaps):
    rng = np.random.default_rng(seed)
    R = rng.normal(size=(n, 3))
    if ties:
        R = np.round(R)
    if gaps:
        R[rng.random(R.shape) < 0.2] = np.nan
    a = TDigestQuantile().transform_update(R, return_sizes=True)
    ref = ResettingTDigestQuantile()
    b = ref.transform_update(R, return_sizes=True)
    assert (ref.n_resets_ == 0).all()
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(ref.fresh_sizes(R), b[1])


def test_resetting_reference_row_path_equals_batch_path():
    rng = np.random.default_rng(3)
    R = np.r_[rng.normal(size=(2000, 2)), 8 + rng.normal(size=(2000, 2))]
    whole = ResettingTDigestQuantile().transform_update(R)
    ref = ResettingTDigestQuantile()
    rows = np.vstack([ref.transform_update(R[i : i + 1]) for i in range(R.shape[0])])
    np.testing.assert_array_equal(whole, rows)
    assert (ref.n_resets_ >= 1).all()


def test_resetting_reference_restarts_after_a_level_shift():
    rng = np.random.default_rng(0)
    R = np.r_[rng.normal(size=(6000, 1)), 6 + rng.normal(size=(6000, 1))]
    ref = make_reference("tdigest-reset")
    Z = ref.transform_update(R)
    assert ref.n_resets_[0] >= 1
    assert abs(Z[-3000:].mean() - 0.5) < 0.03
    assert TDigestQuantile().transform_update(R)[-3000:].mean() > 0.7


def test_resetting_reference_rejects_a_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        ResettingTDigestQuantile(threshold=0.5).transform_update(np.zeros((3, 1)))


def test_resetting_reference_slots_are_independent_streams():
    """Two streams interleaved in slots of one reference = each stream alone (restarts too)."""
    rng = np.random.default_rng(8)
    a = np.r_[rng.normal(size=(1500, 2)), 7 + rng.normal(size=(2500, 2))]
    b = rng.normal(size=(4000, 2))
    order = rng.permutation(np.r_[np.zeros(4000, np.int64), np.ones(4000, np.int64)])
    rows = np.empty((8000, 2))
    rows[order == 0], rows[order == 1] = a, b
    ref = ResettingTDigestQuantile()
    ref.allocate(2, capacity=2)
    Z, _ = ref.run(rows, order, True)
    np.testing.assert_array_equal(Z[order == 0], ResettingTDigestQuantile().transform_update(a))
    np.testing.assert_array_equal(Z[order == 1], ResettingTDigestQuantile().transform_update(b))


def test_resetting_reference_transform_changes_nothing_and_pickles():
    import pickle

    rng = np.random.default_rng(9)
    R = np.r_[rng.normal(size=(1700, 1)), 9 + rng.normal(size=(1300, 1))]
    ref = ResettingTDigestQuantile()
    ref.transform_update(R[:2100])
    before = pickle.dumps(ref)
    ref.transform(R[2100:])  # no update
    assert pickle.dumps(ref) == before
    rest = pickle.loads(before).transform_update(R[2100:])
    np.testing.assert_array_equal(rest, ref.transform_update(R[2100:]))
    np.testing.assert_array_equal(rest, ResettingTDigestQuantile().transform_update(R)[2100:])
