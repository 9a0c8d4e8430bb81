"""After a level shift (a new normal) SEAD must alert on anomalies again (issue 14).

The issue's stream: 60,000 rows of 8 Gaussian features, +5 sd in every feature from row 20,000,
7-sd spikes in feature 0 every 211 rows. The alert threshold is the 99th percentile of the
ensemble's scores of the normal rows 10,000-20,000; from 2,000 rows after the shift the share of
spikes above it must be within 0.1 of the same share in a run without the shift, and the
weights must be back on the detectors that rank the spikes well after the shift. A
full-history reference fails this (every score of the transition stays in it, so later spikes
rank below them: recall 0); the resetting t-digest (``reference="tdigest-reset"``) meets it.
The whole stream runs in a few seconds, so the test uses it as the issue states it.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from sead import SEAD

N, SHIFT, AFTER = 60_000, 20_000, 2_000


def _stream(shift: bool):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(N, 8))
    if shift:
        X[SHIFT:] += 5.0
    spikes = np.arange(1_000, N, 211)
    X[spikes, 0] += 7.0
    return X, spikes


def _run(shift: bool, **kw):
    X, spikes = _stream(shift)
    model = SEAD(**kw)
    res = model.score_learn_many(X, return_details=True)
    s = res.scores
    normal = np.setdiff1d(np.arange(SHIFT // 2, SHIFT), spikes)
    thr = np.quantile(s[normal], 0.99)
    post = spikes[spikes > SHIFT + AFTER]
    y = np.zeros(N, dtype=bool)
    y[spikes] = True
    rows = np.arange(SHIFT + AFTER, N)
    auc = np.array(
        [roc_auc_score(y[rows], np.nan_to_num(res.raw[rows, k])) for k in range(res.raw.shape[1])]
    )
    return float(np.mean(s[post] > thr)), model, auc


@pytest.fixture(scope="module")
def runs():
    kw = {"reference": "tdigest-reset"}
    return _run(True, **kw), _run(False, **kw)


def test_recall_after_the_shift_is_back_to_the_no_shift_run(runs):
    (recall, model, _), (recall_no_shift, _, _) = runs
    assert recall_no_shift > 0.2  # the spikes are detectable at all
    assert recall >= recall_no_shift - 0.1, (recall, recall_no_shift)
    assert model.engine_.ref.n_resets_.sum() >= 1  # the reference restarted


def test_weights_are_back_on_the_detectors_that_rank_well_after_the_shift(runs):
    (_, model, auc), (_, model_no_shift, _) = runs
    good = auc >= 0.85  # the detectors that rank the post-shift spikes well
    assert 0 < good.sum() < good.size
    assert model.weights_[good].sum() > 0.9, (model.weights_.round(3), auc.round(3))
    # as much as without the shift, within 0.05
    assert model.weights_[good].sum() > model_no_shift.weights_[good].sum() - 0.05


def test_without_the_shift_nothing_restarts_and_the_scores_are_the_tdigests():
    X, _ = _stream(False)
    m = SEAD(reference="tdigest-reset")
    b = m.score_learn_many(X)
    assert (m.engine_.ref.n_resets_ == 0).all()
    np.testing.assert_array_equal(SEAD(reference="tdigest").score_learn_many(X), b)
