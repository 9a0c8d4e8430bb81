"""Tests for sead.detectors.loda.LODA: a known answer against a pure-Python reference, agreement
with PySAD's LODA, parameter errors, out-of-range values, and accuracy parity with PySAD on a
slice of shuttle. The protocol checks run in test_common.py."""

from __future__ import annotations

import json
import math
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from sead.detectors.loda import LODA

from ._pysad import aps_per_seed, prequential
from ._stacked import assert_stacked_equal_standalone, assert_threads_score_as_alone

# ---- a slow reference of the same algorithm -----------------------------------------------------


def reference_scores(det: LODA, X: np.ndarray) -> np.ndarray:
    """Prequential LODA scores in plain Python (lists, one log per histogram, decay applied to
    every count at every step), with the projections ``det`` drew."""
    det = det.clone()
    det.learn_one(X[0])  # draws the projections; we only read them
    idx, wts = det.proj_idx_.tolist(), det.proj_w_.tolist()
    K, B = len(idx), det.n_bins
    lam = 2.0**-det.decay
    hist = [[0.0] * B for _ in range(K)]
    low, width = [0.0] * K, [0.0] * K
    over = [[0.0, 0.0] for _ in range(K)]  # weight of far values held left and right
    n = 0.0
    seen = 0
    out = []

    def bin_of(k, v):
        return math.floor((v - low[k]) * (1.0 / width[k]))

    def hold(k, side):
        """Hold one far value; returns 0 (held) or the weight to add once it is common."""
        o = over[k][side] + 1.0
        if o < 0.05 * (n + 1.0):
            over[k][side] = o
            return 0.0
        over[k][side] = 0.0
        return o

    def extend(k, v):
        while True:
            b = bin_of(k, v)
            if 0 <= b < B:
                return b
            padded = [0.0] * (2 * B)
            if b < 0:
                padded[B:] = hist[k]
                low[k] -= B * width[k]
            else:
                padded[:B] = hist[k]
            hist[k] = [padded[2 * j] + padded[2 * j + 1] for j in range(B)]
            width[k] *= 2.0

    for x in X.tolist():
        p = [sum(w * x[j] for j, w in zip(idx[k], wts[k])) for k in range(K)]
        # score
        s = 0.0
        for k in range(K):
            if width[k] == 0.0:  # a single value seen: a new one scores log(n / (held + 1))
                if seen and p[k] != low[k]:
                    r = n / (over[k][0 if p[k] < low[k] else 1] + 1.0)
                    if r > 1.0:
                        s += math.log(r)
                continue
            b = bin_of(k, p[k])
            c = hist[k][b] if 0 <= b < B else 0.0
            s -= math.log((c + 1.0) / ((n + B) * width[k]))
        out.append(s / K)
        # learn
        for k in range(K):
            if seen == 0:
                low[k] = p[k]
                hist[k][0] += 1.0
            elif width[k] == 0.0:
                if p[k] == low[k]:
                    hist[k][0] += 1.0
                    continue
                add = hold(k, 0 if p[k] < low[k] else 1)
                if add == 0.0:
                    continue
                old = low[k]
                width[k] = abs(p[k] - old) / (B - 0.5)
                low[k] = min(p[k], old)
                c = hist[k][0]
                hist[k][0] = 0.0
                b = extend(k, old)  # (extend replaces hist[k]: index after the call)
                hist[k][b] = c
                b = extend(k, p[k])
                hist[k][b] += add
            else:
                add = 1.0
                b = bin_of(k, p[k])
                if b < -7 * B or b >= 8 * B:  # far: more than 3 doublings away
                    add = hold(k, 0 if b < 0 else 1)
                    if add == 0.0:
                        continue
                b = extend(k, p[k])
                hist[k][b] += add
        n += 1.0
        seen += 1
        # age everything by one step
        hist = [[c * lam for c in h] for h in hist]
        over = [[c * lam for c in o] for o in over]
        n *= lam
    return np.array(out)


@pytest.mark.parametrize("decay", [0.0, 0.05])
def test_known_answer_against_python_reference(decay):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 5))
    X[150:155] *= 20.0  # far values: the histograms must widen
    X[10] = X[9]  # a repeated point
    X[200, 1] = 1e4  # one glitch: held beside the histograms
    X[250:290] += 1e3  # a new regime: held at first, then the histograms widen to it
    det = LODA(n_bins=6, n_random_cuts=12, decay=decay, seed=3)
    ours = det.clone().score_learn_many(X)
    ref = reference_scores(det, X)
    np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-9)


def test_first_points_and_single_value_phase():
    det = LODA(n_bins=4, n_random_cuts=5, decay=0.0, seed=0)
    X = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, 2.0], [3.0, -1.0]])
    s = det.score_learn_many(X)
    # no projection has two distinct values before the 4th point: the repeated point scores 0;
    # the 4th, a new value on every projection after 3 identical points, scores log 3
    assert s.tolist()[:3] == [0.0, 0.0, 0.0]
    assert s[3] == pytest.approx(math.log(3.0), rel=1e-12)
    assert (det.width_ > 0).all()
    # the three equal points and the new one are all counted
    assert np.allclose(det.hist_.sum(axis=1), 4.0)


def test_matches_pysad_given_the_same_projections(pysad_models):
    rng = np.random.default_rng(1)
    X = rng.standard_t(3, size=(800, 7))
    det = LODA(decay=0.0, seed=4)
    ours = det.score_learn_many(X)
    ref = pysad_models.LODA()
    ref._init_model(X.shape[1])
    P = np.zeros((det.n_random_cuts, X.shape[1]))
    for k in range(det.n_random_cuts):
        P[k, det.proj_idx_[k]] = det.proj_w_[k]
    ref.projections_ = P
    theirs = prequential(ref, X)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(det.hist_, ref.histograms_)


def test_projections_are_sparse_and_seeded():
    det = LODA(n_random_cuts=30, seed=7)
    det.learn_one(np.arange(16.0))
    assert det.proj_idx_.shape == (30, 4)  # int(sqrt(16)) non-zeros per projection
    for row in det.proj_idx_:
        assert len(set(row.tolist())) == 4
    twin = LODA(n_random_cuts=30, seed=7)
    twin.learn_one(np.zeros(16))
    np.testing.assert_array_equal(det.proj_w_, twin.proj_w_)
    other = LODA(n_random_cuts=30, seed=8)
    other.learn_one(np.zeros(16))
    assert not np.array_equal(det.proj_w_, other.proj_w_)


# ---- parameters -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, word",
    [
        ({"n_bins": 0}, "n_bins"),
        ({"n_bins": 2.5}, "n_bins"),
        ({"n_bins": True}, "n_bins"),
        ({"n_random_cuts": 0}, "n_random_cuts"),
        ({"n_random_cuts": "10"}, "n_random_cuts"),
        ({"decay": -0.1}, "decay"),
        ({"decay": float("nan")}, "decay"),
        ({"decay": float("inf")}, "decay"),
        ({"decay": "0.1"}, "decay"),
        ({"decay": 2000.0}, "decay"),  # 2 ** decay overflows
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_raise_at_first_learn(params, word):
    det = LODA(**params)  # __init__ stores, does not validate
    assert det.get_params()[next(iter(params))] is params[next(iter(params))]
    with pytest.raises(ValueError, match=word):
        det.learn_one([0.0, 1.0])


# ---- out-of-range values and forgetting -------------------------------------------------------


@pytest.mark.parametrize("decay", [0.0, 1e-4, 0.01])
def test_a_change_after_a_constant_stream_scores_high(decay):
    """After 3,000 identical rows every histogram holds a single value and had no density: any
    other value scored 0, the same as the constant (a blind spot). It now scores log n on every
    projection it moves."""
    det = LODA(decay=decay, seed=0)
    const = np.array([1.0, 2.0, 3.0, 4.0])
    det.learn_many(np.tile(const, (3000, 1)))
    assert det.score_one(const) == 0.0
    n = det.stats_[1] / det.stats_[0]  # the decayed number of points
    for j in range(4):
        for delta in (100.0, -1e-6, 1e300):
            x = const.copy()
            x[j] += delta
            moved = (det.proj_idx_ == j).any(axis=1).mean()  # the projections that see x[j]
            assert det.score_one(x) == pytest.approx(moved * math.log(n), rel=1e-9)
            assert det.score_one(x) > 1.0
    # learning the new value gives its histograms a width; the constant is then their mode
    x = const + [100.0, 0.0, 0.0, 0.0]
    det.learn_one(x)
    assert det.score_one(x) > det.score_one(const)


def test_out_of_range_values_score_high_and_finite():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(500, 3))
    det = LODA(seed=0)
    det.learn_many(X)
    inside = det.score_many(X[:50])
    outside = det.score_many(X[:50] + 25.0)
    assert (outside > inside.max()).all()
    huge = det.score_many(np.array([[1e300, -1e300, 1e300]]))
    assert np.isfinite(huge).all()
    # learning a huge value: it is held beside the histograms, whose bins do not change
    widths = det.width_.copy()
    det.learn_one([1e300, -1e300, 1e300])
    np.testing.assert_array_equal(det.width_, widths)
    assert np.isfinite(det.low_).all()
    assert np.isfinite(det.score_many(X)).all()
    total = det.hist_.sum(axis=1) + det.overflow_.sum(axis=1)
    assert np.isclose(total / det.stats_[0], det.stats_[1] / det.stats_[0]).all()
    assert (det.overflow_.sum(axis=1) > 0).all()


def _planted_stream(n_before=2000, n_after=5000, d=4, seed=1):
    """Normal rows, then rows with 50 planted 6-sd anomalies (labels ``y``) after row
    ``n_before``, which is left for a glitch."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_before + 1 + n_after, d))
    y = np.zeros(len(X), dtype=int)
    idx = n_before + 1 + rng.choice(n_after, 50, replace=False)
    X[idx, rng.integers(0, d, idx.size)] += rng.choice([-6.0, 6.0], idx.size)
    y[idx] = 1
    return X, y


FMAX = float(np.finfo(float).max)


@pytest.mark.parametrize(
    "value, where",
    [(1e3, "one"), (1e12, "one"), (1e100, "all"), (-1e300, "one"), (FMAX, "all"), (-FMAX, "one")],
)
def test_one_glitch_row_does_not_blind_the_histograms(value, where):
    """One glitch row stretched every histogram it reached to cover it (1e3 in one feature: AUC
    0.999 -> ~0.9 for the next 100k rows; 1e100: 0.5, every normal point in one bin). A value
    far outside the range is now held beside the histogram: it scores high, the bins do not
    change, and the AUC on planted anomalies after it is that of a run without it."""
    from sklearn.metrics import roc_auc_score

    X, y = _planted_stream()
    G = X.copy()
    G[2000] = value if where == "all" else 0.0
    if where == "one":
        G[2000, 0] = value
    clean, glitch = LODA().score_learn_many(X), LODA().score_learn_many(G)
    after = slice(2001, None)
    assert roc_auc_score(y[after], glitch[after]) >= roc_auc_score(y[after], clean[after]) - 0.01
    assert glitch[2000] > glitch[100:2000].max()  # the glitch itself scores high
    det = LODA()
    det.learn_many(X[:2000])
    widths = det.width_.copy()
    det.learn_one(G[2000])
    far = det.overflow_.sum(axis=1) > 0
    assert far.mean() > 0.3  # most histograms held it (the rest saw at most an 8x wider range)
    np.testing.assert_array_equal(det.width_[far], widths[far])


def test_a_value_the_size_of_the_float_range_does_not_poison_the_state():
    X, _ = _planted_stream()
    probe = np.random.default_rng(9).normal(size=(500, 4))
    a, b = LODA(), LODA()
    a.learn_many(X[:2000])
    b.learn_many(X[:2000])
    b.learn_one(np.full(4, FMAX))
    b.learn_one(np.array([-FMAX, FMAX, -FMAX, 0.0]))
    assert b.score_one(np.full(4, FMAX)) > b.score_many(probe).max()
    # the two huge rows only add their weight to the total: scores barely move
    np.testing.assert_allclose(b.score_many(probe), a.score_many(probe), rtol=1e-3)


@pytest.mark.parametrize("decay", [0.0, 1e-4, 0.01])
def test_a_new_regime_far_away_is_still_learned(decay):
    """Far values that keep coming are not glitches: once they make 5% of the (decayed) weight the
    histograms widen to them, and the new regime stops looking anomalous."""
    rng = np.random.default_rng(2)
    det = LODA(decay=decay, seed=0)
    det.learn_many(rng.normal(size=(3000, 4)))
    widths = det.width_.copy()
    new = rng.normal(size=(3000, 4)) + 1e4
    det.learn_many(new[:5])
    np.testing.assert_array_equal(det.width_, widths)  # the first ones are held
    det.learn_many(new[5:])
    assert (det.width_ > 100 * widths).mean() > 0.5  # then the histograms widen to them
    assert (det.overflow_ < 0.05 * det.stats_[1]).all()
    unseen = det.score_many(rng.normal(size=(200, 4)) - 1e4)
    assert unseen.min() > det.score_many(rng.normal(size=(200, 4)) + 1e4).max()


def test_a_single_new_value_after_a_constant_stream_is_held():
    """After a long constant stream the first other value would have fixed the bin width (the
    constant in the first bin, that value in the last) for good; it is held like a far value
    until other values are common."""
    det = LODA(seed=0)
    const = np.array([1.0, 2.0, 3.0, 4.0])
    det.learn_many(np.tile(const, (3000, 1)))
    det.learn_one(const + 100.0)
    assert (det.width_ == 0.0).all()
    assert det.score_one(const + 100.0) > 3.0 and det.score_one(const) == 0.0
    noisy = const + 0.01 * np.random.default_rng(0).normal(size=(1000, 4))
    det.learn_many(noisy)
    assert (det.width_ > 0.0).all() and (det.width_ < 0.1).all()  # the noise's scale, not 100's
    assert det.score_one(const + 100.0) > det.score_many(noisy[-100:]).max()


_HUGE_VALUES_CHILD = textwrap.dedent(
    """
    import json
    import numpy as np
    from sead import SEAD
    from sead.detectors import LODA

    fmax = float(np.finfo(float).max)
    rng = np.random.default_rng(0)
    m = LODA()
    m.learn_many(rng.normal(size=(200, 4)))
    m.learn_one(np.full(4, 1.7e308))  # the reported hang
    rows = [np.full(4, v) for v in (fmax, -fmax, 1.2e308, -1.3e308)]
    rows += [np.array([fmax, -fmax, fmax, -fmax]), np.array([1e308, 1e308, -1e308, 0.0])]
    scores = [m.score_one(r) for r in rows]
    for r in rows:
        m.learn_one(r)
    scores += list(m.score_learn_many(np.vstack(rows)))
    scores += list(m.score_learn_many(rng.normal(size=(20, 4))))
    # the same kernel in a pool
    pool = SEAD([LODA(seed=1), LODA(n_bins=20, decay=1e-3, seed=2)], warmup=50)
    pool.learn_many(rng.normal(size=(200, 4)))
    pool.learn_one(np.full(4, 1.7e308))
    scores += list(pool.score_learn_many(np.vstack(rows)))
    print(json.dumps({"finite": bool(np.isfinite(scores).all())}))
    """
)


def test_values_near_the_float_limit_neither_hang_nor_give_non_finite_scores():
    """A finite value near the float limit made a projection's sum inf - inf = NaN, and the
    bin-doubling loop then never ended (holding the GIL: Ctrl-C could not stop it). Run in a
    child process with a time limit, so that a hang fails the test instead of the suite."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", _HUGE_VALUES_CHILD], capture_output=True, text=True, timeout=240
        )
    except subprocess.TimeoutExpired:
        pytest.fail("LODA did not return within 240 s on values near the float limit")
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1])["finite"]


def test_decay_forgets_old_data():
    rng = np.random.default_rng(2)
    old = rng.normal(size=(2000, 2))
    new = rng.normal(size=(2000, 2)) + [3.0, 3.0]
    probe = rng.normal(size=(200, 2))  # looks like the old regime
    keep, forget = LODA(decay=0.0, seed=1), LODA(decay=0.01, seed=1)
    for det in (keep, forget):
        det.learn_many(old)
        det.learn_many(new)
    # the forgetting model finds the old regime rarer than the one that remembers it
    assert forget.score_many(probe).mean() > keep.score_many(probe).mean() + 1.0
    # a decayed weight: total count ~ 1 / (1 - 2**-0.01) ~ 144.8 (scaled back by g)
    total = forget.hist_.sum(axis=1) / forget.stats_[0]
    assert np.allclose(total, 1.0 / (2.0**0.01 - 1.0), rtol=1e-3)


def test_bounded_state_size():
    det = LODA(decay=0.001, seed=0)
    rng = np.random.default_rng(0)
    det.learn_many(rng.normal(size=(1000, 10)))
    a = len(pickle.dumps(det))
    det.learn_many(rng.normal(size=(50_000, 10)))
    assert len(pickle.dumps(det)) == a


# ---- accuracy parity ----------------------------------------------------------------------------


def test_accuracy_parity_with_pysad_on_shuttle(dataset, pysad_models):
    """Mean APS over seeds 0-99 on the first 3,000 chunk-shuffled shuttle rows (warm start 100)
    is at least PySAD's (same seeds, default hyperparameters) minus 0.02. One seed's APS varies
    by ~0.07 with the random projections here (20-seed means still differ by up to ~0.04), so
    only an average over many seeds compares the algorithms rather than the projections' luck
    (over 100 seeds: 0.682 ours, 0.698 PySAD; ours was 0.697 before far values were held beside
    the histograms instead of stretching them: shuttle has rare values ~1000x its usual range)."""
    X, y = dataset("shuttle", seed=0, n=3000)
    ours, theirs = aps_per_seed(
        X,
        y,
        lambda seed: LODA(seed=seed),
        lambda seed: pysad_models.LODA(random_state=seed),
        range(100),
    )
    assert np.mean(ours) >= np.mean(theirs) - 0.02, (ours, theirs)


# ---- stacked state ------------------------------------------------------------------------------


def test_stacked_members_and_slots_equal_standalone_detectors():
    """Three LODAs of different sizes over five slots, rows of the slots interleaved at random and
    cut into batches of random sizes: each (slot, member) scores exactly as a standalone detector
    of that member run over that slot's rows in order, prequentially and then purely."""
    members = [
        LODA(seed=0),
        LODA(n_bins=5, n_random_cuts=30, decay=0.01, seed=1),
        LODA(n_bins=17, n_random_cuts=7, decay=0.0, seed=2),
    ]
    assert_stacked_equal_standalone(LODA, members, n=1500)


def test_independent_streams_in_threads_score_as_alone():
    """The kernel releases the GIL (nogil): detectors of independent streams can run in threads,
    and each scores exactly as it does alone."""
    assert_threads_score_as_alone(LODA)
