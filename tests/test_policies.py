"""The missing-value and extra-key policies on dicts, arrays and DataFrames, for SEAD and a
detector; the River recipes of River's own user guide run as written (docs/ecosystem.md)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sead import SEAD, pools
from sead.checks import stream
from sead.detectors import HalfSpaceTrees

NAMES = ["a", "b", "c"]


def _models(**kw):
    return [
        SEAD(pools.small(), warmup=20, **kw),
        HalfSpaceTrees(n_trees=5, height=5, warmup=20, seed=0, **kw),
    ]


@pytest.mark.parametrize("i", [0, 1], ids=["SEAD", "HalfSpaceTrees"])
def test_the_same_stream_with_missing_values_as_arrays_dicts_and_frames(i):
    X = stream(300, d=3)
    X[[40, 150, 151], [0, 2, 1]] = np.nan
    arrays = _models()[i].score_learn_many(X)
    dicts = _models()[i]
    dict_scores = []
    for row in X:
        x = {n: (None if math.isnan(v) else v) for n, v in zip(NAMES, row.tolist())}
        if x["a"] is None:
            del x["a"]  # an absent key is a missing value too
        dict_scores.append(dicts.score_one(x))
        dicts.learn_one(x)
    frame = _models()[i].score_learn_many(pd.DataFrame(X, columns=NAMES))
    np.testing.assert_array_equal(arrays, dict_scores)
    np.testing.assert_array_equal(arrays, frame.to_numpy())
    assert np.isfinite(arrays).all()


@pytest.mark.parametrize("i", [0, 1], ids=["SEAD", "HalfSpaceTrees"])
def test_skip_scores_a_row_with_a_missing_value_but_does_not_learn_it(i):
    X = stream(200, d=3)
    skip, full = _models(missing="skip")[i], _models()[i]
    skip.learn_many(X[:100])
    full.learn_many(X[:100])
    row = X[100].copy()
    row[1] = np.nan
    filled = row.copy()
    filled[1] = X[99, 1]
    assert skip.score_one(row) == full.score_one(filled)
    skip.learn_one(row)
    ref = _models()[i]
    ref.learn_many(X[:100])
    np.testing.assert_array_equal(skip.score_many(X[101:]), ref.score_many(X[101:]))


@pytest.mark.parametrize("i", [0, 1], ids=["SEAD", "HalfSpaceTrees"])
def test_extra_keys_and_columns_are_dropped_or_refused(i):
    X = stream(100, d=3)
    m = _models()[i]
    m.learn_many(pd.DataFrame(X, columns=NAMES))
    x = dict(zip(NAMES, X[5].tolist()))
    assert m.score_one({**x, "retries": 2}) == m.score_one(x)
    wide = pd.DataFrame(X, columns=NAMES).assign(host="h1")
    np.testing.assert_array_equal(
        m.score_many(wide).to_numpy(), m.score_many(pd.DataFrame(X, columns=NAMES)).to_numpy()
    )
    strict = _models(extra="raise")[i]
    strict.learn_one(x)
    with pytest.raises(
        ValueError, match=r"unexpected feature\(s\) \['retries'\].*pass extra='ignore'"
    ):
        strict.score_one({**x, "retries": 2})


def test_a_feature_never_seen_yet_keeps_the_row_out_of_learning():
    m = SEAD(pools.small(), warmup=5)
    m.learn_one({"a": 1.0, "b": None})  # b has no value to carry forward: not learned
    assert m.n_seen_ == 0
    m.learn_one({"a": 1.0, "b": 2.0})
    m.learn_one({"a": 1.5})  # b is filled from 2.0
    assert m.n_seen_ == 2
