"""Property tests of the combiner's maths against a literal transcription of the spec."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from sead import combine_scores
from sead.normalization import (
    ExactQuantile,
    FrozenQuantile,
    TDigestQuantile,
    make_reference,
    tail_surprise,
)


def midrank(ref, r):
    if not ref:
        return 0.5
    ref = np.asarray(ref)
    return (np.sum(ref < r) + 0.5 * np.sum(ref == r)) / len(ref)


def spec_reference_form(R, eta, lam, prior, warmup, window=None):
    """The spec's reference form, written as plainly as possible (sead-algorithm.md)."""
    T, K = R.shape
    pi = np.full(K, 1.0 / K) if prior is None else np.asarray(prior, float) / np.sum(prior)
    p = pi.copy()
    refs = [[] for _ in range(K)]
    S, Z, P = np.empty(T), np.empty((T, K)), np.empty((T, K))
    for t in range(T):
        z = np.array(
            [midrank(refs[k] if window is None else refs[k][-window:], R[t, k]) for k in range(K)]
        )
        Z[t], P[t] = z, p
        S[t] = p @ z
        if t >= warmup:
            q = p * np.exp(-eta * z)
            p = (1 - lam) * q / q.sum() + lam * pi
        for k in range(K):
            refs[k].append(R[t, k])
    return S, Z, P


# score matrices with many ties: small integer grids, sometimes scaled
tied = st.integers(1, 6).flatmap(
    lambda K: arrays(
        np.float64, st.tuples(st.integers(1, 60), st.just(K)), elements=st.integers(0, 4).map(float)
    )
)


@settings(max_examples=60, deadline=None)
@given(
    R=tied,
    eta=st.floats(0, 3),
    lam=st.sampled_from([0.0, 1e-6, 0.01, 0.3]),
    warmup=st.integers(0, 10),
)
def test_exact_matches_spec_reference_form(R, eta, lam, warmup):
    res = combine_scores(R, eta=eta, lam=lam, warmup=warmup, reference="exact")
    S, Z, P = spec_reference_form(R, eta, lam, None, warmup)
    np.testing.assert_array_equal(res.normalized, Z)  # counts are exact
    np.testing.assert_allclose(res.weights, P, rtol=0, atol=1e-12)
    np.testing.assert_allclose(res.scores, S, rtol=0, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(R=tied, window=st.integers(1, 12))
def test_window_matches_spec_reference_form(R, window):
    res = combine_scores(R, reference="window", window=window)
    S, Z, P = spec_reference_form(R, 1.0, 1e-6, None, 0, window=window)
    np.testing.assert_array_equal(res.normalized, Z)
    np.testing.assert_allclose(res.scores, S, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    R=arrays(
        np.float64, st.tuples(st.integers(1, 80), st.integers(1, 5)), elements=st.floats(-1e6, 1e6)
    ),
    eta=st.floats(0, 5),
    lam=st.floats(0, 0.5),
    prior=st.none() | st.lists(st.floats(0.01, 10), min_size=5, max_size=5),
    ref=st.sampled_from(["exact", "window", "tdigest", "frozen"]),
)
def test_weights_stay_a_distribution_above_the_floor(R, eta, lam, prior, ref):
    K = R.shape[1]
    prior = None if prior is None else prior[:K]
    res = combine_scores(R, eta=eta, lam=lam, prior=prior, reference=ref, window=7, warmup=3)
    pi = np.full(K, 1 / K) if prior is None else np.asarray(prior) / np.sum(prior)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert (res.weights >= lam * pi - 1e-15).all()
    assert ((0 <= res.normalized) & (res.normalized <= 1)).all()
    assert ((0 <= res.scores) & (res.scores <= 1 + 1e-12)).all()


def test_eta_zero_gives_prior_weighted_mean():
    rng = np.random.default_rng(0)
    R = rng.normal(size=(300, 4))
    prior = np.array([1.0, 2.0, 3.0, 4.0])
    res = combine_scores(R, eta=0.0, prior=prior)
    np.testing.assert_allclose(res.weights, np.tile(prior / prior.sum(), (300, 1)), atol=1e-12)
    np.testing.assert_allclose(res.scores, res.normalized @ (prior / prior.sum()), atol=1e-12)


def test_always_largest_detector_ends_with_smallest_weight():
    rng = np.random.default_rng(1)
    R = rng.random((1000, 5))
    R[:, 3] = np.arange(1000.0)  # each score tops the detector's own history: z = 1 always
    for ref in ["exact", "window", "tdigest", "frozen"]:
        res = combine_scores(R, reference=ref, warmup=10)
        assert np.argmin(res.weights[-1]) == 3, ref
        assert res.normalized[20:, 3].min() >= res.normalized[20:].max(axis=1).min()


def test_no_update_during_warmup():
    R = np.random.default_rng(2).random((50, 3))
    res = combine_scores(R, warmup=20)
    np.testing.assert_array_equal(res.weights[:21], np.full((21, 3), 1 / 3))
    assert not np.allclose(res.weights[22], 1 / 3)


@settings(max_examples=50, deadline=None)
@given(
    ref=arrays(np.float64, st.integers(1, 300), elements=st.floats(-100, 100)),
    a=st.floats(-200, 200),
    b=st.floats(-200, 200),
    kind=st.sampled_from(["exact", "window", "tdigest", "frozen"]),
)
def test_quantile_in_unit_interval_and_monotone(ref, a, b, kind):
    q = make_reference(kind, window=50, warmup=100)
    q.update(ref.reshape(-1, 1))
    za, zb = q.transform([[a], [b]]).ravel()
    assert 0 <= za <= 1 and 0 <= zb <= 1
    if a <= b:
        assert za <= zb + 1e-12
    else:
        assert zb <= za + 1e-12


@pytest.mark.parametrize("n", [10, 499, 500, 501, 5000])
def test_tdigest_is_exact_while_buffered_and_close_after(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n)
    td, ex = TDigestQuantile(buffer_size=500), ExactQuantile()
    ztd = td.transform_update(x.reshape(-1, 1)).ravel()
    zex = ex.transform_update(x.reshape(-1, 1)).ravel()
    np.testing.assert_array_equal(ztd[:500], zex[:500])
    assert np.abs(ztd - zex).max() < 0.01
    qs = np.quantile(x, [0.001, 0.01, 0.5, 0.99, 0.999])
    np.testing.assert_allclose(
        td.transform(qs.reshape(-1, 1)).ravel(), ex.transform(qs.reshape(-1, 1)).ravel(), atol=0.01
    )


def test_tdigest_memory_is_bounded():
    td = TDigestQuantile(compression=100)
    rng = np.random.default_rng(0)
    for _ in range(20):
        td.update(rng.exponential(size=(5000, 2)))
    assert td.n_centroids_.max() <= 2 * 100 + 10
    assert td.total_.sum() + td.n_buf_.sum() == 200_000


def test_exact_reference_survives_growth_and_pickle():
    import pickle

    rng = np.random.default_rng(3)
    x = rng.integers(0, 50, size=(20_000, 3)).astype(float)
    a = ExactQuantile()
    a.update(x[:7000])
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a.transform_update(x[7000:]), b.transform_update(x[7000:]))
    one = ExactQuantile()
    z1 = np.vstack([one.transform_update(x[i : i + 1]) for i in range(3000)])
    np.testing.assert_array_equal(z1, ExactQuantile().transform_update(x[:3000]))


def test_frozen_reference_stops_learning():
    q = FrozenQuantile(n_reference=3)
    q.update([[1.0], [2.0], [3.0], [100.0], [200.0]])
    assert q.transform([[150.0]])[0, 0] == 1.0
    assert q.transform([[2.0]])[0, 0] == 0.5


def test_nan_means_not_observed():
    R = np.array([[1.0, np.nan], [2.0, 5.0], [np.nan, 6.0]])
    res = combine_scores(R)
    assert np.isnan(res.normalized[0, 1]) and np.isnan(res.normalized[2, 0])
    assert res.normalized[1, 1] == 0.5  # first observed score of detector 1
    assert np.isfinite(res.scores).all()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eta": -1}, "eta"),
        ({"lam": 2}, "lam"),
        ({"warmup": -3}, "warmup"),
        ({"prior": [1, 2]}, "prior"),
        ({"prior": [1, -1, 1]}, "prior"),
        ({"reference": "bogus"}, "reference"),
        ({"loss": "bogus"}, "loss"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        combine_scores(np.zeros((5, 3)), **kwargs)


def test_infinite_raw_score_is_rejected():
    with pytest.raises(ValueError, match=r"R\[1, 0\]"):
        combine_scores(np.array([[0.0], [np.inf]]))


@settings(max_examples=30, deadline=None)
@given(R=tied, loss=st.sampled_from(["score", "gated", "consensus"]))
def test_losses_keep_the_distribution(R, loss):
    res = combine_scores(R, loss=loss, lam=1e-3)
    np.testing.assert_allclose(res.weights.sum(axis=1), 1.0, atol=1e-12)


# tied integer values 0..30 in 300-900 rows, and up to four places to cut them into calls
counts_data = arrays(
    np.float64,
    st.tuples(st.integers(300, 900), st.integers(1, 3)),
    elements=st.integers(0, 30).map(float),
)
cut_points = st.lists(st.integers(0, 900), max_size=4)


def _assert_split_equals_rows(make, data, cuts):
    """``make()`` fed ``data`` one row per call and cut at ``cuts``: the same transforms, and the
    same pure transform of a probe after. Returns the two (row-wise, split) normalisers."""
    rowwise = make()
    z_rows = np.vstack([rowwise.transform_update(data[i : i + 1]) for i in range(len(data))])
    edges = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    split = make()
    z_split = np.vstack(
        [split.transform_update(data[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    )
    np.testing.assert_array_equal(z_split, z_rows)
    probe = np.arange(-1.0, 32.0).reshape(-1, 1).repeat(data.shape[1], axis=1)
    np.testing.assert_array_equal(split.transform(probe), rowwise.transform(probe))
    return rowwise, split


@settings(max_examples=40, deadline=None)
@given(data=counts_data, cuts=cut_points)
def test_exact_batch_path_is_bit_identical_to_row_path(data, cuts):
    """Large calls sort (ExactQuantile._BATCH_ROWS); small ones insert: same numbers, any split."""
    data = data.copy()
    data[::17, 0] = np.nan  # unobserved entries (SEAD++)
    _assert_split_equals_rows(ExactQuantile, data, cuts)


@settings(max_examples=40, deadline=None)
@given(data=counts_data, cuts=cut_points, window=st.sampled_from([1, 7, 100, 400]))
def test_window_batch_path_is_bit_identical_to_row_path(data, cuts, window):
    data = data.copy()
    data[::13, -1] = np.nan
    rowwise, split = _assert_split_equals_rows(lambda: ExactQuantile(window), data, cuts)
    z_more_rows = np.vstack([rowwise.transform_update(data[i : i + 1]) for i in range(50)])
    np.testing.assert_array_equal(split.transform_update(data[:50]), z_more_rows)


@settings(max_examples=50, deadline=None)
@given(
    R=tied,
    ref=st.sampled_from(["exact", "window", "tdigest", "frozen"]),
    eta=st.floats(0, 2),
    loss=st.sampled_from(["score", "gated", "consensus"]),
)
def test_tail_output_in_unit_interval_and_above_quantile_ordering(R, ref, eta, loss):
    res = combine_scores(R, output="tail", reference=ref, window=5, warmup=3, eta=eta, loss=loss)
    assert ((0 <= res.scores) & (res.scores < 1)).all()
    # the weights do not depend on the output form
    q = combine_scores(R, output="quantile", reference=ref, window=5, warmup=3, eta=eta, loss=loss)
    np.testing.assert_array_equal(res.weights, q.weights)


@settings(max_examples=100, deadline=None)
@given(z1=st.floats(0, 1), z2=st.floats(0, 1), n=st.integers(0, 10**6))
def test_tail_surprise_is_monotone_positive_and_bounded(z1, z2, n):
    s1, s2 = tail_surprise(np.array([z1, z2]), np.array([n, n]))
    assert 0 <= s1 <= np.log(2 * (n + 1)) + 1e-12
    if z1 <= z2:
        assert s1 <= s2 + 1e-12


def test_tail_output_is_one_minus_geometric_mean_of_p_values():
    rng = np.random.default_rng(4)
    R = rng.normal(size=(300, 3))
    res = combine_scores(R, output="tail", eta=0.0)
    N = np.arange(300.0)[:, None].repeat(3, axis=1)
    pvals = (N * (1 - res.normalized) + 0.5) / (N + 1)
    np.testing.assert_allclose(res.scores, 1 - np.prod(pvals ** (1 / 3), axis=1), atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    data=arrays(
        np.float64,
        st.tuples(st.integers(100, 1500), st.integers(1, 3)),
        elements=st.integers(0, 40).map(float) | st.floats(-5, 5),
    ),
    cuts=st.lists(st.integers(0, 1500), max_size=4),
    buffer_size=st.sampled_from([1, 7, 50, 500]),
)
def test_tdigest_batch_path_is_bit_identical_to_row_path(data, cuts, buffer_size):
    data = data.copy()
    data[::11, 0] = np.nan
    rowwise = TDigestQuantile(compression=20, buffer_size=buffer_size)
    z_rows = np.vstack([rowwise.transform_update(data[i : i + 1]) for i in range(len(data))])
    edges = [0, *sorted(c for c in cuts if c < len(data)), len(data)]
    split = TDigestQuantile(compression=20, buffer_size=buffer_size)
    z_split = np.vstack(
        [split.transform_update(data[a:b]) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    )
    np.testing.assert_array_equal(z_split, z_rows)
    np.testing.assert_array_equal(split.means_, rowwise.means_)
    np.testing.assert_array_equal(
        split.buf_[:, buffer_size - split.n_buf_[0] :],
        rowwise.buf_[:, buffer_size - rowwise.n_buf_[0] :],
    )
