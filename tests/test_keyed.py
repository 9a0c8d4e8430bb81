"""KeyedSEAD: one SEAD per key, advanced together, equal to one model per key run alone."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sead import SEAD, KeyedSEAD, SEADPlusPlus
from sead.detectors import HalfSpaceTrees, ZScoreRule
from tests._toy import RunningMeanDistance


def pool():
    return [
        HalfSpaceTrees(n_trees=4, height=4, window=20, warmup=10, seed=1),
        HalfSpaceTrees(n_trees=3, height=5, window=30, warmup=15, seed=2),
        ZScoreRule(),
        ZScoreRule(method="median", window=16),
    ]


SETTINGS = {
    "SEAD": dict(warmup=15),
    "SEAD++": dict(warmup=15, plus=True, n_sampled=2, resample_every=9),
    "SEAD++-learn-all": dict(
        warmup=0, plus=True, n_sampled=1, resample_every=4, learn_unsampled=True
    ),
}


def keyed_rows(seed, n, n_keys):
    """A generator seeded ``seed``, ``n`` rows of three standard normal features drawn from it,
    then their keys in ``range(n_keys)``."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return rng, X, rng.integers(0, n_keys, n)


def alone(kind, X):
    kw = dict(SETTINGS[kind])
    if kw.pop("plus", False):
        return SEADPlusPlus(pool(), **kw).score_learn_many(X)
    return SEAD(pool(), **kw).score_learn_many(X)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(list(SETTINGS)),
    n_keys=st.integers(1, 50),
    n=st.integers(1, 400),
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 399), max_size=6),
    as_dicts=st.booleans(),
)
def test_random_interleavings_equal_one_model_per_key(kind, n_keys, n, seed, cuts, as_dicts):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[rng.random(n) < 0.03] += 6.0
    keys = rng.integers(0, n_keys, n)
    keys = np.where(keys % 2 == 0, keys, keys * 1000 + 7).astype(object)  # ints and strs mixed in
    keys[::3] = [f"k{k}" for k in keys[::3]]
    model = KeyedSEAD(pool(), **SETTINGS[kind])
    edges = [0, *sorted({c for c in cuts if c < n}), n]
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        if as_dicts:
            batch = [{"x": r[0], "y": r[1], "z": r[2]} for r in X[a:b]]
        else:
            batch = X[a:b]
        out.append(model.score_learn_many(keys[a:b], batch))
    scores = np.concatenate(out)
    for key in dict.fromkeys(keys.tolist()):
        rows = np.array([k == key and type(k) is type(key) for k in keys])
        np.testing.assert_allclose(scores[rows], alone(kind, X[rows]), rtol=0, atol=1e-12)
    assert sorted(map(str, model.keys_)) == sorted(map(str, dict.fromkeys(keys.tolist())))


@pytest.mark.parametrize("kind", list(SETTINGS))
def test_one_event_at_a_time_equals_the_batch(kind):
    _, X, keys = keyed_rows(3, 300, 5)
    batch = KeyedSEAD(pool(), **SETTINGS[kind]).score_learn_many(keys, X)
    loop = KeyedSEAD(pool(), **SETTINGS[kind])
    seq = []
    for k, x in zip(keys.tolist(), X):
        seq.append(loop.score_one(k, x))
        loop.learn_one(k, x)
    np.testing.assert_array_equal(seq, batch)


@pytest.mark.parametrize("policy", ["impute", "skip"])
def test_missing_values_are_filled_from_the_same_key(policy):
    rng = np.random.default_rng(13)
    X = rng.normal(size=(600, 3))
    X[rng.random(X.shape) < 0.03] = np.nan
    keys = rng.integers(0, 4, 600)
    s = KeyedSEAD(pool(), warmup=10, missing=policy).score_learn_many(keys, X)
    for k in range(4):
        alone_k = SEAD(pool(), warmup=10, missing=policy).score_learn_many(X[keys == k])
        np.testing.assert_array_equal(s[keys == k], alone_k)


def test_score_many_is_pure_and_scores_unknown_keys_as_fresh_models():
    _, X, keys = keyed_rows(4, 200, 3)
    m = KeyedSEAD(pool(), warmup=10)
    m.learn_many(keys, X)
    before = m.to_bytes()
    s = m.score_many([0, 1, "new"], X[:3])
    assert m.to_bytes() == before
    assert s[2] == SEAD(pool(), warmup=10).score_one(X[2])
    assert m.n_keys_ == 3 and "new" not in m.keys_


def test_weights_forget_and_keys():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(400, 3))
    keys = np.array(["a", "b"])[rng.integers(0, 2, 400)]
    m = KeyedSEAD(pool(), warmup=10)
    m.learn_many(keys, X)
    ref = SEAD(pool(), warmup=10)
    ref.learn_many(X[keys == "a"])
    np.testing.assert_array_equal(m.weights_of("a"), ref.weights_)
    m.forget("a")
    assert m.keys_ == ["b"]
    with pytest.raises(KeyError, match="'a' is not held"):
        m.weights_of("a")
    with pytest.raises(KeyError):
        m.forget("a")
    # a forgotten key starts afresh
    s = m.score_learn_many(["a"] * 50, X[:50])
    np.testing.assert_array_equal(s, SEAD(pool(), warmup=10).score_learn_many(X[:50]))


def test_max_keys_evicts_the_least_recently_seen():
    rng = np.random.default_rng(6)
    m = KeyedSEAD(pool(), warmup=5, max_keys=3)
    m.learn_many(["a", "b", "c"], rng.normal(size=(3, 3)))
    m.learn_many(["a"], rng.normal(size=(1, 3)))  # b is now the least recently seen
    m.learn_many(["d"], rng.normal(size=(1, 3)))
    assert m.keys_ == ["a", "c", "d"]
    # a batch with more distinct keys than max_keys is processed in parts
    m.learn_many([f"k{i}" for i in range(7)], rng.normal(size=(7, 3)))
    assert m.n_keys_ == 3 and m.keys_ == ["k4", "k5", "k6"]


def test_key_churn_keeps_memory_bounded():
    """1,000,000 distinct keys through max_keys=1000: the state stays that of ~1000 keys."""
    m = KeyedSEAD([ZScoreRule()], warmup=0, max_keys=1000)
    rng = np.random.default_rng(7)
    sizes = []
    for start in range(0, 1_000_000, 10_000):
        keys = np.arange(start, start + 10_000)
        m.learn_many(keys, rng.normal(size=(10_000, 2)))
        sizes.append(m.engine_.capacity)
    assert m.n_keys_ == 1000
    assert max(sizes) <= 1000 + 10_000 + 16  # the keys held plus one batch of new ones, never more
    assert sizes[-1] == sizes[len(sizes) // 2]  # no growth once the churn is steady
    assert len(pickle.dumps(m)) < 5 * len(pickle.dumps(_after_first(m)))


def _after_first(m):
    small = KeyedSEAD([ZScoreRule()], warmup=0, max_keys=1000)
    small.learn_many(np.arange(11_000), np.zeros((11_000, 2)))
    return small


def test_ttl_evicts_idle_keys_by_event_time():
    rng = np.random.default_rng(8)
    m = KeyedSEAD(pool(), warmup=5, ttl=60.0)
    m.learn_many(["a", "b"], rng.normal(size=(2, 3)), times=[0.0, 10.0])
    m.learn_many(["b"], rng.normal(size=(1, 3)), times=[65.0])
    assert m.keys_ == ["b"]  # a was last seen at 0, more than 60 s before 65
    m.learn_one("c", rng.normal(size=3), time=200.0)
    assert m.keys_ == ["c"]
    with pytest.raises(ValueError, match="ttl is set: pass times="):
        m.learn_many(["a"], rng.normal(size=(1, 3)))


@pytest.mark.parametrize(
    "keys, match",
    [
        (["a"], "keys has 1 entries but X has 2 rows"),
        ([None, "a"], "row 0: key None is missing"),
        ([float("nan"), 1], "row 0: key nan is missing"),
        ("ab", "keys must be a 1-D sequence"),
    ],
)
def test_bad_keys_raise_and_change_nothing(keys, match):
    m = KeyedSEAD(pool(), warmup=5)
    m.learn_many([1, 2], np.zeros((2, 3)))
    before = m.to_bytes()
    with pytest.raises((ValueError, TypeError), match=match):
        m.score_learn_many(keys, np.ones((2, 3)))
    assert m.to_bytes() == before


def test_bad_rows_raise_and_change_nothing():
    m = KeyedSEAD(pool(), warmup=5, missing="raise")
    m.learn_many([1, 2], np.zeros((2, 3)))
    before = m.to_bytes()
    bad = np.ones((3, 3))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="row 2, feature 1: value nan"):
        m.score_learn_many([1, 3, 4], bad)
    assert m.to_bytes() == before and m.keys_ == [1, 2]


class Fragile(RunningMeanDistance):
    """Raises on a value above 50, like a wrapped model that throws."""

    def _score_learn_rows(self, X):
        if (np.abs(X) > 50).any():
            raise RuntimeError("boom")
        return super()._score_learn_rows(X)


def test_a_failing_detector_leaves_the_model_and_its_keys_unchanged():
    m = KeyedSEAD([Fragile(), HalfSpaceTrees(n_trees=3, height=4, warmup=5, seed=0)], warmup=5)
    rng = np.random.default_rng(9)
    m.learn_many([1, 2, 1], rng.normal(size=(3, 3)))
    m.learn_many([7, 8, 9], rng.normal(size=(3, 3)))  # room for new keys, then free it again
    for k in (7, 8, 9):
        m.forget(k)
    before = pickle.dumps(m)
    X = rng.normal(size=(4, 3))
    X[3] = 100.0
    with pytest.raises(RuntimeError, match="boom"):
        m.learn_many([1, 5, 2, 6], X)
    assert pickle.dumps(m) == before and m.keys_ == [1, 2]


def test_state_bytes_round_trip_in_a_new_process(tmp_path):
    _, X, keys = keyed_rows(10, 900, 7)
    m = KeyedSEAD(pool(), warmup=10, plus=True, n_sampled=2, resample_every=11)
    m.learn_many(keys[:600], X[:600])
    (tmp_path / "state.bin").write_bytes(m.to_bytes())
    np.save(tmp_path / "X.npy", X[600:])
    np.save(tmp_path / "keys.npy", keys[600:])
    code = textwrap.dedent(
        f"""
        import numpy as np
        from sead import KeyedSEAD
        m = KeyedSEAD.from_bytes(open({str(tmp_path / "state.bin")!r}, "rb").read())
        X = np.load({str(tmp_path / "X.npy")!r}); k = np.load({str(tmp_path / "keys.npy")!r})
        np.save({str(tmp_path / "out.npy")!r}, m.score_learn_many(k, X))
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
    np.testing.assert_array_equal(
        np.load(tmp_path / "out.npy"), m.score_learn_many(keys[600:], X[600:])
    )


def test_one_key_moves_on_its_own():
    rng, X, keys = keyed_rows(11, 500, 4)
    a = KeyedSEAD(pool(), warmup=10)
    a.learn_many(keys, X)
    b = KeyedSEAD(pool(), warmup=10)
    b.load_key("moved", a.state_of(2))
    Y = rng.normal(size=(100, 3))
    np.testing.assert_array_equal(
        b.score_learn_many(["moved"] * 100, Y), a.score_learn_many([2] * 100, Y)
    )
    other = KeyedSEAD(pool(), warmup=11)
    with pytest.raises(ValueError, match="other parameters"):
        other.load_key("x", a.state_of(1))
    with pytest.raises(ValueError, match="not a 'key' state"):
        b.load_key("x", a.to_bytes())


def _patched_version(blob: bytes, version: int) -> bytes:
    import hashlib
    import struct

    body = bytearray(blob[:-32])
    struct.pack_into("<H", body, 10, version)
    return bytes(body) + hashlib.sha256(bytes(body)).digest()


@pytest.mark.parametrize("cls", [KeyedSEAD, SEAD, HalfSpaceTrees])
def test_bad_state_bytes_say_what_is_wrong(cls):
    rng = np.random.default_rng(12)
    X = rng.normal(size=(300, 3))
    if cls is KeyedSEAD:
        m = KeyedSEAD(pool(), warmup=10)
        m.learn_many(rng.integers(0, 3, 300), X)
    else:
        m = cls(pool(), warmup=10) if cls is SEAD else cls(n_trees=3, height=4, seed=0)
        m.learn_many(X)
    blob = m.to_bytes()
    assert (
        np.array_equal(type(m).from_bytes(blob).to_bytes(), blob)
        or type(m).from_bytes(blob).to_bytes() == blob
    )
    with pytest.raises(ValueError, match="truncated"):
        cls.from_bytes(blob[:-7])
    with pytest.raises(ValueError, match="truncated"):
        cls.from_bytes(blob[:12])
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x04
    with pytest.raises(ValueError, match="corrupt: the checksum"):
        cls.from_bytes(bytes(flipped))
    with pytest.raises(ValueError, match="format 2, newer than this sead reads"):
        cls.from_bytes(_patched_version(blob, 2))
    other = SEADPlusPlus if cls is not SEADPlusPlus else SEAD
    with pytest.raises(ValueError, match=f"hold a {cls.__name__}, not a {other.__name__}"):
        other.from_bytes(blob)
    with pytest.raises(ValueError, match="not sead state"):
        cls.from_bytes(b"PK\x03\x04" + blob)
