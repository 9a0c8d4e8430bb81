"""Faults: a failed or interrupted call leaves the model as it was; hostile parameters and inputs
get clear errors. (Hostile *values* per detector: tests/test_glitch_rows.py.)"""

from __future__ import annotations

import math
import os
import pickle
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from sead import SEAD, KeyedSEAD, SEADPlusPlus, combine_scores, pools
from sead.checks import stream
from sead.detectors import HalfSpaceTrees, ZScoreRule
from tests._toy import RunningMeanDistance


class Raises(RunningMeanDistance):
    """A Python detector (like an adapter whose model throws) that raises ``exc`` on a row with
    a value above 50, after the rows before it were learned."""

    def __init__(self, offset: float = 0.0, power: float = 1.0, exc: str = "runtime"):
        super().__init__(offset, power)
        self.exc = exc

    def _score_learn_rows(self, X):
        out = []
        for row in X:
            if (np.abs(row) > 50).any():
                raise KeyboardInterrupt if self.exc == "interrupt" else RuntimeError("model failed")
            out.append(super()._score_learn_rows(row[None])[0])
        return np.array(out)


def _pool(exc="runtime"):
    return [
        HalfSpaceTrees(n_trees=4, height=5, window=30, warmup=20, seed=1),
        Raises(exc=exc),
        ZScoreRule(),
    ]


@pytest.mark.parametrize(
    "exc, error", [("runtime", RuntimeError), ("interrupt", KeyboardInterrupt)]
)
@pytest.mark.parametrize("make", [SEAD, SEADPlusPlus], ids=["SEAD", "SEAD++"])
def test_a_detector_that_raises_mid_batch_leaves_the_model_unchanged(make, exc, error):
    X = stream(400, d=3)
    m = make(_pool(exc), warmup=20)
    m.learn_many(X[:200])
    before = pickle.dumps(m)
    bad = X[200:300].copy()
    bad[60] = 100.0  # the Python detector fails on row 60, after learning rows 0-59
    with pytest.raises(error):
        m.score_learn_many(bad)
    assert pickle.dumps(m) == before
    # and a retry learns the rows once: the same as a model that never saw the failure
    ok = bad.copy()
    ok[60] = 0.0
    twin = pickle.loads(before)
    np.testing.assert_array_equal(m.score_learn_many(ok), twin.score_learn_many(ok))


class Infinite(RunningMeanDistance):
    """A Python detector that scores the last row of a batch of several rows inf."""

    def _score_learn_rows(self, X):
        out = super()._score_learn_rows(X)
        if len(out) > 1:
            out[-1] = np.inf
        return out


def test_a_non_finite_score_from_a_python_detector_fails_before_anything_learns():
    m = SEAD([HalfSpaceTrees(n_trees=3, height=4, warmup=10, seed=0), Infinite()], warmup=5)
    m.learn_one(stream(50, d=3)[0])
    before = pickle.dumps(m)
    with pytest.raises(
        FloatingPointError, match=r"detector 1 \(Infinite\) returned a non-finite score inf"
    ):
        m.score_learn_many(stream(50, d=3))
    assert pickle.dumps(m) == before


@pytest.mark.skipif(
    threading.current_thread() is not threading.main_thread(), reason="signals need the main thread"
)
def test_ctrl_c_during_a_compiled_batch_is_held_until_the_model_is_consistent():
    """A SIGINT that arrives while the compiled kernels run is raised once the batch is done:
    the model then equals one that processed the whole batch (never a half-updated one)."""
    X = stream(60_000, d=6, seed=4)
    m = SEAD(pools.small(), warmup=50)
    m.learn_many(X[:1000])
    twin = pickle.loads(pickle.dumps(m))
    timer = threading.Timer(0.05, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            m.score_learn_many(X[1000:])
            time.sleep(5)  # (if the batch ended before the signal, it arrives here)
    finally:
        timer.cancel()
    twin.score_learn_many(X[1000:])
    assert pickle.dumps(m) == pickle.dumps(twin) or m.n_seen_ == 1000  # whole batch, or none of it
    assert m.n_seen_ in (1000, 60_000)


def test_keyed_model_with_a_failing_detector_keeps_its_keys():
    m = KeyedSEAD(_pool(), warmup=5)
    X = stream(300, d=3)
    keys = np.arange(300) % 4
    m.learn_many(keys[:200], X[:200])
    before = pickle.dumps(m)
    bad = X[200:].copy()
    bad[50] = 100.0
    with pytest.raises(RuntimeError, match="model failed"):
        m.learn_many(np.where(np.arange(100) > 40, 9, keys[200:]), bad)  # new key 9 mid-batch
    assert pickle.dumps(m) == before and 9 not in m.keys_


# ---- the weights kernel with extreme settings ---------------------------------------------


@pytest.mark.parametrize("eta", [1e3, 1e6, 1e300])
def test_lam_zero_with_a_huge_eta_keeps_the_weights_a_distribution(eta):
    m = SEAD(pools.small(), eta=eta, lam=0.0, warmup=10)
    s = m.score_learn_many(stream(1500, d=3))
    assert np.isfinite(s).all()
    w = m.weights_
    assert np.isfinite(w).all() and (w >= 0).all() and math.isclose(w.sum(), 1.0)
    res = combine_scores(np.random.default_rng(0).random((500, 4)), eta=eta, lam=0.0)
    assert np.isfinite(res.weights).all() and np.allclose(res.weights.sum(axis=1), 1.0)


# ---- batch == one-by-one, bit for bit ------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: SEAD(pools.small(), warmup=30),
        lambda: SEADPlusPlus(pools.small(), warmup=30, resample_every=17),
    ],
    ids=["SEAD", "SEAD++"],
)
def test_batch_equals_one_by_one_bit_for_bit(make):
    X = stream(3000, d=4, seed=2)
    batch = make().score_learn_many(X)
    m = make()
    loop = []
    for x in X:
        loop.append(m.score_one(x))
        m.learn_one(x)
    np.testing.assert_array_equal(np.array(loop), batch)


# ---- parameters and inputs that used to slip through or give foreign errors ----------------


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: SEAD(pools.small(), eta=True), "eta must be a finite number >= 0, got True"),
        (
            lambda: SEAD(pools.small(), seed="abc"),
            "seed must be an integer >= 0 or None, got 'abc'",
        ),
        (lambda: SEAD(pools.small(), seed=-1), "seed must be an integer >= 0 or None, got -1"),
        (lambda: HalfSpaceTrees(seed=-3), "seed must be an integer >= 0 or None, got -3"),
        (
            lambda: SEAD(pools.small(), window=2.5, reference="window"),
            "window must be an integer >= 1 or None, got 2.5",
        ),
        (
            lambda: SEAD(pools.small(), window="5", reference="window"),
            "window must be an integer >= 1 or None, got '5'",
        ),
        (
            lambda: SEAD(pools.small(), missing="drop"),
            r"missing must be one of \['raise', 'impute', 'skip'\]",
        ),
    ],
)
def test_bad_parameters_name_the_parameter(make, match):
    m = make()
    with pytest.raises(ValueError, match=match):
        m.learn_one([0.0, 1.0, 2.0])
    assert not m._fitted


def test_numpy_scalars_are_accepted_as_parameters():
    m = SEAD(pools.small(), eta=np.float32(0.1), warmup=np.int64(10))
    m.learn_many(stream(50, d=3))
    assert m.n_seen_ == 50


def test_exact_quantile_window_is_validated():
    from sead.normalization import ExactQuantile

    for bad in (2.5, "5", 0):
        with pytest.raises(ValueError, match="window"):
            SEAD(pools.small(), reference=ExactQuantile(window=bad)).learn_one([0.0, 1.0])


@pytest.mark.parametrize(
    "X, error, match",
    [
        (3.0, TypeError, "got the number 3.0"),
        (np.float64(3.0), TypeError, "got the number 3.0"),
        (
            pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]),
            ValueError,
            r"duplicate column names \['a'\]",
        ),
        (np.zeros((0, 3)), ValueError, "empty input"),
    ],
)
def test_unusable_batches_get_clear_errors(X, error, match):
    with pytest.raises(error, match=match):
        SEAD(pools.small()).score_many(X)


def test_sparse_batches_are_refused_by_name():
    sparse = pytest.importorskip("scipy.sparse")
    with pytest.raises(TypeError, match=r"sparse input \(csr_matrix of shape \(300, 4\)\)"):
        SEAD(pools.small()).learn_many(sparse.random(300, 4, format="csr", random_state=0))


def test_object_columns_of_valid_floats_are_accepted():
    X = stream(200, d=3)
    df = pd.DataFrame(X, columns=["a", "b", "c"])
    obj = df.astype({"b": object})
    np.testing.assert_array_equal(
        SEAD(pools.small()).score_learn_many(obj).to_numpy(),
        SEAD(pools.small()).score_learn_many(df).to_numpy(),
    )


def test_none_is_a_missing_value_not_an_infinite_one():
    m = SEAD(pools.small(), missing="raise")
    m.learn_one({"a": 1.0, "b": 2.0})
    with pytest.raises(ValueError, match="feature 'a': value None is missing"):
        m.score_one({"a": None, "b": 2.0})
    lenient = SEAD(pools.small())
    lenient.learn_one({"a": 1.0, "b": 2.0})
    assert math.isfinite(lenient.score_one({"a": None, "b": 2.0}))


def test_combine_scores_of_an_empty_matrix():
    with pytest.raises(ValueError, match=r"R must be a \(T, K\) matrix"):
        combine_scores(np.zeros((3, 0)))
    res = combine_scores(np.zeros((0, 3)))
    assert res.scores.shape == (0,) and res.weights.shape == (0, 3)


def test_readonly_memory_map_then_learn(tmp_path):
    joblib = pytest.importorskip("joblib")
    for model in (SEAD(pools.small(), warmup=20), HalfSpaceTrees(seed=0), ZScoreRule()):
        X = stream(300, d=3)
        model.learn_many(X[:200])
        joblib.dump(model, tmp_path / "m.joblib")
        loaded = joblib.load(tmp_path / "m.joblib", mmap_mode="r")
        np.testing.assert_array_equal(
            loaded.score_learn_many(X[200:]), model.score_learn_many(X[200:])
        )


def _bad_last(arrays: dict) -> dict:
    """``arrays`` with its last array one column too wide (the first ones still fit)."""
    name = list(arrays)[-1]
    a = arrays[name]
    return {**arrays, name: np.zeros((a.shape[0], a.shape[1] + 1), dtype=a.dtype)}


def _holders():
    """Each kind of slot state a checkpoint loads, trained on a few rows, with its error word."""
    from sead.alerting import AlertSignal
    from sead.normalization import TDigestQuantile

    X = stream(300, d=3, seed=0)
    det = HalfSpaceTrees(n_trees=3, height=4, window=20, warmup=10, seed=0)
    det.learn_many(X)
    ref = TDigestQuantile(buffer_size=20)
    ref.transform_update(X)
    sig = AlertSignal()
    sig.allocate(1)
    sig.run(np.linspace(0.1, 0.99, 300), np.zeros(300, dtype=np.int64), True, X)
    return [(det.stack_, "state field"), (ref, "reference state"), (sig, "alert state")]


@pytest.mark.parametrize("index", range(3))
def test_a_bad_checkpoint_array_changes_no_state(index):
    """load_slot_state checks every array before it writes one: the last array of the wrong
    width is refused by name, and the arrays before it, which fit, are not written either."""
    holder, what = _holders()[index]
    before = holder.slot_state([0])
    zeros = {k: np.zeros_like(v) for k, v in before.items()}
    with pytest.raises(ValueError, match=what):
        holder.load_slot_state([0], _bad_last(zeros))
    after = holder.slot_state([0])
    for k in before:
        np.testing.assert_array_equal(after[k], before[k], err_msg=k)
