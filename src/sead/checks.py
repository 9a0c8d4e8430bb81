"""The check suite every sead detector (and ensemble) must pass.

Like ``river.checks`` and scikit-learn's ``check_estimator``: run
``check_detector(MyDetector())`` while writing a detector; ``tests/test_common.py`` runs each
check of :func:`yield_checks` as its own test case on every detector class sead ships (and on
the ensembles), once per parameter set of the class's ``_unit_test_params`` and at its
defaults. Each check is a plain function taking a fresh (unfitted) detector; it raises
``AssertionError`` with a message.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np

__all__ = ["check_detector", "yield_checks", "stream"]


def stream(n: int = 600, d: int = 4, seed: int = 0) -> np.ndarray:
    """A small seeded stream: Gaussian rows, a slow drift, a few planted outliers, some ties.

    Parameters
    ----------
    n
        Number of rows.
    d
        Number of features.
    seed
        Seed of :func:`numpy.random.default_rng`: the same arguments give the same stream.

    Returns
    -------
    ndarray of float64, shape (n, d)
        The rows; ``n // 50`` of them (at least one) are shifted by 6 in every feature, and
        every 7th row has the value 0.25 in feature 0.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    X += np.linspace(0, 1, n)[:, None]
    X[rng.choice(n, max(1, n // 50), replace=False)] += 6.0
    X[::7, 0] = 0.25  # repeated values
    return X


def _fresh(detector):
    return detector.clone()


def _close(a, b, msg):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{msg}: shapes {a.shape} != {b.shape}"
    assert np.allclose(a, b, rtol=0, atol=1e-12), f"{msg}: max |diff| = {np.abs(a - b).max():.3g}"


def _same(a, b, msg):
    """Exactly equal: the same computation on the same numbers, only presented differently."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    assert a.shape == b.shape, f"{msg}: shapes {a.shape} != {b.shape}"
    assert np.array_equal(a, b), f"{msg}: max |diff| = {np.abs(a - b).max():.3g}"


def check_scores_finite(detector):
    """Scores of a fresh and a trained detector are finite floats."""
    X = stream()
    det = _fresh(detector)
    s0 = det.score_one(X[0])
    assert isinstance(s0, float) and np.isfinite(s0), f"score_one before learning gave {s0!r}"
    s = det.score_learn_many(X)
    assert np.isfinite(s).all(), "score_learn_many produced a non-finite score"
    far = det.score_one(X[0] * 1e6 + 1e9)
    assert np.isfinite(far), f"a point far outside the training range scored {far!r}"


def check_batch_equals_one_by_one(detector):
    """``score_learn_many`` equals the ``score_one``/``learn_one`` loop (arrays, dicts, frames)."""
    import pandas as pd

    X = stream(400)
    batch = _fresh(detector).score_learn_many(X)
    det = _fresh(detector)
    loop = []
    for x in X:
        loop.append(det.score_one(x))
        det.learn_one(x)
    _close(batch, loop, "array: batch vs one-by-one")

    names = [f"f{j}" for j in range(X.shape[1])]
    det = _fresh(detector)
    dloop = []
    for x in X:
        xd = dict(zip(names, x.tolist()))
        dloop.append(det.score_one(xd))
        det.learn_one(xd)
    _close(dloop, loop, "dict input vs array input")

    df = pd.DataFrame(X, columns=names, index=np.arange(100, 100 + len(X)))
    out = _fresh(detector).score_learn_many(df)
    assert isinstance(out, pd.Series) and out.index.equals(df.index), (
        "DataFrame in -> Series on the same index out"
    )
    _close(out.to_numpy(), loop, "DataFrame batch vs one-by-one")

    # learn_many + score_many agree with learn_one + score_one
    a, b = _fresh(detector), _fresh(detector)
    a.learn_many(X[:300])
    for x in X[:300]:
        b.learn_one(x)
    _close(
        a.score_many(X[300:]),
        [b.score_one(x) for x in X[300:]],
        "learn_many/score_many vs one-by-one",
    )


def check_scoring_is_pure(detector):
    """Scoring (one or many) changes no state: future scores are unaffected."""
    X = stream()
    a, b = _fresh(detector), _fresh(detector)
    a.learn_many(X[:300])
    b.learn_many(X[:300])
    for x in X[300:350]:
        a.score_one(x)
    a.score_many(X[350:450])
    _close(
        a.score_learn_many(X[300:]), b.score_learn_many(X[300:]), "scores after extra scoring calls"
    )


def check_pickle_roundtrip(detector):
    """A pickled then unpickled trained detector scores the future identically."""
    X = stream()
    det = _fresh(detector)
    det.learn_many(X[:300])
    twin = pickle.loads(pickle.dumps(det))
    deep = copy.deepcopy(det)
    ref = det.score_learn_many(X[300:])
    _close(twin.score_learn_many(X[300:]), ref, "after pickle round-trip")
    _close(deep.score_learn_many(X[300:]), ref, "after deepcopy")


def check_same_seed_same_scores(detector):
    """Two clones with the same parameters give the same scores; a clone is independent."""
    X = stream()
    a, b = _fresh(detector), _fresh(detector)
    _close(a.score_learn_many(X), b.score_learn_many(X), "two clones, same seed")
    params = detector._get_params()
    if "seed" in params and params["seed"] is not None:
        c = detector.clone({"seed": int(params["seed"]) + 1})
        d = detector.clone({"seed": int(params["seed"]) + 1})
        _close(c.score_learn_many(X), d.score_learn_many(X), "two clones, another seed")


def check_bounded_memory(detector):
    """State size stops growing: bytes after 4,000 more points <= 1.5x bytes after 4,000."""
    X = stream(12_000, seed=3)
    det = _fresh(detector)
    det.learn_many(X[:2000])
    size_a = len(pickle.dumps(det))
    det.learn_many(X[2000:6000])
    size_b = len(pickle.dumps(det))
    det.learn_many(X[6000:])
    size_c = len(pickle.dumps(det))
    growth_1, growth_2 = size_b - size_a, size_c - size_b
    assert size_c <= 1.5 * size_b + 4096 or growth_2 <= 0.5 * growth_1, (
        f"state keeps growing: {size_a} -> {size_b} -> {size_c} bytes after 2k/6k/12k points"
    )


def _strict(detector):
    """A fresh clone with the strict missing-value and extra-key policies (when it has them)."""
    params = detector._get_params()
    strict = {k: "raise" for k in ("missing", "extra") if k in params}
    return detector.clone(strict) if strict else _fresh(detector)


def check_bad_input(detector):
    """With the strict policies, NaN, inf, strings, wrong width, empty input and missing keys
    raise a clear ValueError, and leave the detector unchanged; with any policy, inf, strings,
    wrong width and empty input do."""
    X = stream(200)
    det = _strict(detector)
    det.learn_many(X[:100])
    before = pickle.dumps(det)
    d = X.shape[1]
    bad_rows = {
        "nan": [np.nan] + [0.0] * (d - 1),
        "inf": [0.0] * (d - 1) + [np.inf],
        "-inf": [-np.inf] + [0.0] * (d - 1),
        "string": ["abc"] + [0.0] * (d - 1),
        "wide": [0.0] * (d + 1),
        "empty": [],
    }
    for what, row in bad_rows.items():
        for call in (det.learn_one, det.score_one):
            try:
                call(row)
            except (ValueError, TypeError) as e:
                assert str(e), f"{what}: empty error message"
            else:
                raise AssertionError(f"{call.__name__}({what} row) did not raise")
        batch = (
            np.array([X[0].tolist(), row], dtype=object)
            if what != "wide" and what != "empty"
            else None
        )
        if batch is not None:
            for call in (det.learn_many, det.score_learn_many):
                try:
                    call(batch)
                except ValueError as e:
                    assert "row 1" in str(e), f"{what}: error does not name the row: {e}"
                else:
                    raise AssertionError(f"{call.__name__} with a {what} value did not raise")
    for call in (det.learn_many, det.score_many, det.score_learn_many):
        try:
            call(np.empty((0, d)))
        except ValueError:
            pass
        else:
            raise AssertionError(f"{call.__name__}(empty batch) did not raise")
    assert pickle.dumps(det) == before, "a rejected input changed the detector's state"

    named = _strict(detector)
    names = [f"f{j}" for j in range(d)]
    named.learn_one(dict(zip(names, X[0].tolist())))
    partial = dict(zip(names[1:], X[1, 1:].tolist()))
    try:
        named.score_one(partial)
    except ValueError as e:
        assert names[0] in str(e), f"missing-key error does not name the key: {e}"
    else:
        raise AssertionError("a dict with a missing key did not raise")


def check_missing_values(detector):
    """The missing-value policy: ``"impute"`` scores and learns a row with NaN as the row with
    the feature's last value; ``"skip"`` scores it the same way and learns nothing; either way the
    batch equals the one-by-one loop, and an infinite value is still refused."""
    params = detector._get_params()
    if "missing" not in params:
        return
    X = stream(300)
    X[150, 1] = np.nan
    filled = X.copy()
    filled[150, 1] = X[149, 1]
    for policy in ("impute", "skip"):
        det = detector.clone({"missing": policy})
        batch = det.score_learn_many(X)
        assert np.isfinite(batch).all(), f"missing={policy!r}: a non-finite score"
        loop = detector.clone({"missing": policy})
        seq = []
        for x in X:
            seq.append(loop.score_one(x))
            loop.learn_one(x)
        _close(batch, seq, f"missing={policy!r}: batch vs one-by-one")
        ref = detector.clone({"missing": "raise"})
        if policy == "impute":
            expected = ref.score_learn_many(filled)
        else:
            expected = np.empty(len(X))
            expected[:150] = ref.score_learn_many(filled[:150])
            expected[150] = ref.score_one(filled[150])
            expected[151:] = ref.score_learn_many(filled[151:])
        _close(batch, expected, f"missing={policy!r}: against the filled stream")
        bad = X[:5].copy()
        bad[2, 0] = np.inf
        before = pickle.dumps(det)
        try:
            det.learn_many(bad)
        except ValueError as e:
            assert "row 2" in str(e), f"error does not name the row: {e}"
        else:
            raise AssertionError(f"missing={policy!r}: an infinite value was accepted")
        assert pickle.dumps(det) == before, "a rejected batch changed the detector"


def check_key_order_does_not_matter(detector):
    """Dict keys are matched by name, never by position: a stream of dicts whose key order
    changes from point to point scores exactly as the same dicts in one order, as the rows in
    sorted-name order (sead's canonical feature order) and as a DataFrame with its columns in
    yet another order; with the default and with the strict policies."""
    import pandas as pd

    X = stream(300, d=5, seed=6)
    names = ["lat", "cpu", "mem", "err", "disk"]  # not in sorted order
    order = np.argsort(names)
    for make in (_fresh, _strict):
        rng = np.random.default_rng(0)
        a, b = make(detector), make(detector)
        sa, sb = [], []
        for x in X:
            xa = dict(zip(names, x.tolist()))
            keys = list(xa)
            rng.shuffle(keys)
            xb = {k: xa[k] for k in keys}
            sa.append(a.score_one(xa))
            sb.append(b.score_one(xb))
            a.learn_one(xa)
            b.learn_one(xb)
        _same(sb, sa, "dicts with shuffled keys vs dicts in one order")
        rows = make(detector).score_learn_many(X[:, order])
        _same(rows, sa, "rows in sorted-name order vs dicts")
        df = pd.DataFrame(X, columns=names)[["disk", "mem", "lat", "err", "cpu"]]
        _same(make(detector).score_learn_many(df).to_numpy(), sa, "DataFrame vs dicts")


def check_scores_rank_outliers(detector):
    """Prequential ROC AUC on planted, far-away outliers is at least 0.5 (River's sanity bar)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    X = rng.normal(size=(1500, 3))
    y = np.zeros(len(X), dtype=int)
    idx = rng.choice(np.arange(300, len(X)), 30, replace=False)
    X[idx] += rng.choice([-8.0, 8.0], size=(30, 3))
    y[idx] = 1
    s = _fresh(detector).score_learn_many(X)
    auc = roc_auc_score(y[200:], s[200:])
    assert auc >= 0.5, f"ROC AUC {auc:.3f} < 0.5 on planted outliers"


_CHECKS = [
    check_scores_finite,
    check_batch_equals_one_by_one,
    check_scoring_is_pure,
    check_pickle_roundtrip,
    check_same_seed_same_scores,
    check_bounded_memory,
    check_bad_input,
    check_missing_values,
    check_key_order_does_not_matter,
    check_scores_rank_outliers,
]


def yield_checks(detector):
    """Yield the checks that apply to ``detector``.

    Parameters
    ----------
    detector
        A detector; its ``_unit_test_skips()``, when it has one, names the checks to skip.

    Yields
    ------
    callable
        Each check, ``check(detector)``, in a fixed order.
    """
    skips = set(detector._unit_test_skips()) if hasattr(detector, "_unit_test_skips") else set()
    for check in _CHECKS:
        if check.__name__ not in skips:
            yield check


def check_detector(detector) -> None:
    """Run every applicable check of :func:`yield_checks` on ``detector``.

    Parameters
    ----------
    detector
        An unfitted detector (a :class:`sead.base.Detector`); the checks clone it.

    Raises
    ------
    AssertionError
        At the first failing check, with what it found.
    """
    for check in yield_checks(detector):
        check(detector)
