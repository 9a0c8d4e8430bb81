"""Tests for the NAB scorer (sead.bench.nab) and the NAB corpus loader (sead.datasets.nab).

The tests marked by the ``corpus`` fixture need the NAB v1.1 corpus under
``<data dir>/nab/corpus/`` (``$SEAD_DATA`` or ``../shared/datasets`` next to the checkout). Without
it they skip, saying where to put it; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sead.bench import nab
from sead.bench.nab import (
    PROFILES,
    Profile,
    SeriesLabels,
    optimize_threshold,
    probation_length,
    row_weights,
    score_corpus,
    threshold_curve,
    write_nab_results,
)
from sead.datasets import DatasetChecksumError, DatasetNotFoundError, manifest
from sead.datasets.nab import (
    CORPUS_DIR,
    NAB_URL,
    PROFILE_NAMES,
    PUBLISHED_DETECTORS,
    NABSeries,
    corpus_files,
    load_nab_corpus,
)

# The published NAB v1.1 scoreboard (README of numenta/NAB), rounded as printed there.
SCOREBOARD = {
    "numenta": {"standard": 70.10, "reward_low_FP_rate": 63.12, "reward_low_FN_rate": 74.32},
    "randomCutForest": {
        "standard": 51.72,
        "reward_low_FP_rate": 38.36,
        "reward_low_FN_rate": 59.75,
    },
    "windowedGaussian": {
        "standard": 39.65,
        "reward_low_FP_rate": 20.87,
        "reward_low_FN_rate": 47.41,
    },
    "null": {"standard": 0.00, "reward_low_FP_rate": 0.00, "reward_low_FN_rate": 0.00},
}
CASES = [(d, p) for d in SCOREBOARD for p in PROFILE_NAMES]
# NAB's own sweeper (nab/sweeper.py at ea702d7) on numenta's published scores at the published
# thresholds: (tp, tn, fp, fn) scored-row counts.
NAB_COUNTS = {
    "standard": (240, 299_194, 153, 33_255),
    "reward_low_FP_rate": (223, 299_219, 128, 33_272),
    "reward_low_FN_rate": (240, 299_194, 153, 33_255),
}
SIG = lambda y: 2.0 / (1.0 + math.exp(5.0 * y)) - 1.0 if y <= 3 else -1.0  # noqa: E731
MAX_TP = SIG(-1.0)


def _mirror(corpus, dst: Path, skip: str | None = None) -> Path:
    """A data dir whose nab/corpus links to the real files (all but ``skip``)."""
    for rel in corpus_files():
        if rel == skip:
            continue
        src = corpus.path.parent.parent / rel
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.symlink(src, target)
        except OSError:
            shutil.copyfile(src, target)
    return dst


# ------------------------------------------------------------------------------ loader


def test_loader_contents(corpus):
    assert len(corpus) == 58 and corpus.n_windows == 116 and corpus.n_rows == 365_558
    assert {s.category for s in corpus.series.values()} == {
        "artificialNoAnomaly", "artificialWithAnomaly", "realAWSCloudwatch", "realAdExchange",
        "realKnownCause", "realTraffic", "realTweets",
    }  # fmt: skip
    for name, s in corpus.items():
        assert s.name == name == f"{s.category}/{s.file}"
        assert s.timestamps.dtype == np.dtype("datetime64[ns]") and s.values.dtype == np.float64
        assert s.timestamps.shape == s.values.shape == (s.n_rows,)
        assert not s.values.flags.writeable and not s.timestamps.flags.writeable
        assert s.window_rows.shape == (len(s.windows), 2)
        for (start, end), (a, b) in zip(s.windows, s.window_rows):
            assert s.timestamps[a] == start and s.timestamps[b] == end
        assert s.labels().sum() == sum(b - a + 1 for a, b in s.window_rows)
    taxi = corpus["realKnownCause/nyc_taxi.csv"]
    assert taxi.n_rows == 10_320 and taxi.values[0] == 10844.0
    assert taxi.timestamps[0] == np.datetime64("2014-07-01T00:00:00")
    # published scores: every detector, aligned with the rows, read-only
    assert set(corpus.published_scores) == set(PUBLISHED_DETECTORS)
    for by_series in corpus.published_scores.values():
        assert list(by_series) == list(corpus)
        for name, a in by_series.items():
            assert (
                a.shape == (corpus[name].n_rows,) and not a.flags.writeable and np.isfinite(a).all()
            )
    assert (np.concatenate(list(corpus.published_scores["null"].values())) == 0.5).all()
    # profiles as in NAB's config, and as the scorer's built-in ones
    for name, prof in PROFILES.items():
        cm = corpus.profiles[name]
        assert (cm["tpWeight"], cm["fpWeight"], cm["fnWeight"]) == (
            prof.tp_weight,
            prof.fp_weight,
            prof.fn_weight,
        )
    for det in SCOREBOARD:
        assert set(corpus.thresholds[det]) == set(corpus.final_results[det]) == set(PROFILE_NAMES)
    with pytest.raises(KeyError, match="not a NAB series"):
        corpus["nyc_taxi.csv"]


def test_loader_detector_subset_and_cache(corpus):
    c = load_nab_corpus(detectors=["null"])
    assert list(c.published_scores) == ["null"]
    # parsed arrays are shared with the first load (cached), the JSON parts are fresh copies
    assert c["realKnownCause/nyc_taxi.csv"].values is corpus["realKnownCause/nyc_taxi.csv"].values
    c.thresholds["numenta"]["standard"]["threshold"] = -1.0
    assert load_nab_corpus(detectors=()).thresholds["numenta"]["standard"]["threshold"] > 0
    with pytest.raises(ValueError, match="unknown published detector"):
        load_nab_corpus(detectors=["numenta", "htmjava"])


def test_manifest_entries_match_corpus_sha256sums(corpus):
    sums = {}
    for line in (corpus.path / "SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, rel = line.split()
            sums[rel] = digest
    files = corpus_files()
    assert len(files) == 66
    man = manifest()
    for rel in files:
        short = rel[len(CORPUS_DIR) + 1 :]
        assert man[rel].sha256 == sums[short], rel
        assert (corpus.path / short).stat().st_size == man[rel].size
        assert man[rel].url.startswith(NAB_URL)
    # every series of the windows file has its csv in the manifest
    assert {f"data/{name}" for name in corpus} == {
        r[len(CORPUS_DIR) + 1 :] for r in files if "/data/" in r
    }


def test_missing_corpus_says_where_it_looked_and_where_to_get_it(tmp_path):
    with pytest.raises(DatasetNotFoundError) as exc:
        load_nab_corpus(tmp_path)
    assert isinstance(exc.value, FileNotFoundError)
    msg = str(exc.value)
    assert str(tmp_path / "nab" / "corpus") in msg
    assert NAB_URL in msg and "SEAD_DATA" in msg and "data_dir" in msg


def test_missing_corpus_from_sead_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAD_DATA", str(tmp_path))
    with pytest.raises(DatasetNotFoundError, match=r"\$SEAD_DATA"):
        load_nab_corpus()


def test_partial_corpus_names_missing_files(corpus, tmp_path):
    d = _mirror(corpus, tmp_path, skip=f"{CORPUS_DIR}/results/null.npz")
    with pytest.raises(DatasetNotFoundError, match=r"1 of 66 files missing \(results/null.npz\)"):
        load_nab_corpus(d)


def test_corrupt_corpus_file_raises(corpus, tmp_path):
    rel = f"{CORPUS_DIR}/config/profiles.json"
    d = _mirror(corpus, tmp_path, skip=rel)
    text = (corpus.path / "config" / "profiles.json").read_text().replace("0.11", "0.12", 1)
    (d / rel).write_text(text)
    with pytest.raises(DatasetChecksumError, match="profiles.json"):
        load_nab_corpus(d)


def test_series_from_arrays_rules():
    ts = np.arange("2024-01-01T00:00", "2024-01-01T00:10", dtype="datetime64[m]")
    s = NABSeries.from_arrays("c/x.csv", ts, np.arange(10.0), [(ts[1], ts[2]), (ts[5], ts[5])])
    assert s.window_rows.tolist() == [[1, 2], [5, 5]]
    with pytest.raises(ValueError, match="matches no row"):
        NABSeries.from_arrays(
            "c/x.csv", ts, np.zeros(10), [(ts[1], ts[2] + np.timedelta64(30, "s"))]
        )
    dup = ts.copy()
    dup[4] = dup[3]
    with pytest.raises(ValueError, match="matches 2 rows"):
        NABSeries.from_arrays("c/x.csv", dup, np.zeros(10), [(ts[3], ts[6])])
    with pytest.raises(ValueError, match="before it starts"):
        NABSeries.from_arrays("c/x.csv", ts, np.zeros(10), [(ts[3], ts[2])])
    with pytest.raises(ValueError, match="overlaps"):
        NABSeries.from_arrays("c/x.csv", ts, np.zeros(10), [(ts[1], ts[4]), (ts[4], ts[6])])
    with pytest.raises(ValueError, match="9 values"):
        NABSeries.from_arrays("c/x.csv", ts, np.zeros(9))
    with pytest.raises(ValueError, match="row 2"):
        NABSeries.from_arrays("c/x.csv", ts, [0, 0, np.nan, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ValueError, match="<category>/<name>.csv"):
        NABSeries.from_arrays("x.csv", ts, np.zeros(10))


# ------------------------------------------------------------------------------ the scoreboard


@pytest.mark.parametrize(("detector", "profile"), CASES)
def test_reproduces_published_scoreboard(corpus, detector, profile):
    threshold = corpus.thresholds[detector][profile]["threshold"]
    r = score_corpus(corpus.published_scores[detector], threshold, profile, corpus=corpus)
    assert r.score == pytest.approx(corpus.final_results[detector][profile], abs=0.01)
    assert r.score == pytest.approx(SCOREBOARD[detector][profile], abs=0.0051)
    assert r.null_score == -116 * PROFILES[profile].fn_weight and r.perfect_score == 116.0
    assert r.n_windows == 116 and r.detected_windows + r.missed_windows == 116
    assert r.tp + r.fp + r.fn + r.tn == 332_842  # rows after the probationary periods
    assert set(r.per_series) == set(corpus)
    assert sum(s.raw_score for s in r.per_series.values()) == pytest.approx(r.raw_score, abs=1e-9)
    if detector == "numenta":
        assert (r.tp, r.tn, r.fp, r.fn) == NAB_COUNTS[profile]
    if detector != "windowedGaussian":  # NAB's thresholds.json holds a stale raw score for it
        assert r.raw_score == pytest.approx(corpus.thresholds[detector][profile]["score"], abs=1e-6)


@pytest.mark.parametrize(("detector", "profile"), CASES)
def test_optimizer_at_least_published(corpus, detector, profile):
    scores = corpus.published_scores[detector]
    best = optimize_threshold(scores, profile, corpus=corpus)
    assert best.raw_score >= corpus.thresholds[detector][profile]["score"] - 1e-9
    assert best.score >= corpus.final_results[detector][profile] - 1e-9
    again = score_corpus(scores, best.threshold, profile, corpus=corpus)
    assert again.raw_score == best.raw_score == best.result.raw_score
    thresholds, raws = threshold_curve(scores, profile, corpus=corpus)
    assert best.raw_score == pytest.approx(raws.max(), abs=1e-7)
    if detector == "null":
        assert best.threshold == math.inf and best.score == 0.0
    if detector == "numenta" and profile == "standard":
        # NAB's own optimiser (nab/optimizer.py) finds the same threshold and score
        assert best.threshold == pytest.approx(0.543099145074, abs=1e-12)
        assert best.raw_score == pytest.approx(46.634450197137596, abs=1e-9)


def test_threshold_curve_agrees_with_score_corpus(corpus):
    scores = corpus.published_scores["randomCutForest"]
    thresholds, raws = threshold_curve(scores, "reward_low_FN_rate", corpus=corpus)
    assert thresholds[0] == math.inf and np.all(np.diff(thresholds[1:]) < 0)
    assert raws[0] == -232.0
    for j in np.linspace(0, thresholds.size - 1, 9).astype(int):
        r = score_corpus(scores, thresholds[j], "reward_low_FN_rate", corpus=corpus)
        assert raws[j] == pytest.approx(r.raw_score, abs=1e-7)


def test_default_corpus_is_nab(corpus):
    scores = corpus.published_scores["numenta"]
    a = score_corpus(scores, 0.5, "standard")
    b = score_corpus(scores, 0.5, "standard", corpus=corpus)
    assert a.raw_score == b.raw_score and a.tp == b.tp


def test_write_nab_results_full_corpus(corpus, tmp_path):
    scores = corpus.published_scores["numenta"]
    paths = write_nab_results(scores, tmp_path, "numenta", corpus=corpus)
    assert len(paths) == 58
    taxi = tmp_path / "numenta" / "realKnownCause" / "numenta_nyc_taxi.csv"
    assert taxi in paths
    assert taxi.read_text().splitlines()[:2] == [
        "timestamp,value,anomaly_score,label",
        "2014-07-01 00:00:00,10844.0,0.0301029996659,0",
    ]
    back = {}
    for name, s in corpus.items():
        df = pd.read_csv(tmp_path / "numenta" / s.category / f"numenta_{s.file}")
        assert list(df.columns) == ["timestamp", "value", "anomaly_score", "label"]
        np.testing.assert_array_equal(pd.to_datetime(df["timestamp"]).to_numpy(), s.timestamps)
        np.testing.assert_array_equal(df["value"].to_numpy(float), s.values)
        np.testing.assert_array_equal(df["label"].to_numpy(), s.labels())
        back[name] = df["anomaly_score"].to_numpy()
        np.testing.assert_array_equal(back[name], scores[name])
    t = corpus.thresholds["numenta"]["standard"]["threshold"]
    assert (
        score_corpus(back, t, corpus=corpus).raw_score
        == score_corpus(scores, t, corpus=corpus).raw_score
    )


# ------------------------------------------------------------------------------ the rules, by hand


def _one(n, windows, scores, threshold=0.5, profile="standard", **kw):
    corpus = {"t/a.csv": SeriesLabels(n, windows)}
    return score_corpus(
        {"t/a.csv": np.asarray(scores, float)}, threshold, profile, corpus=corpus, **kw
    )


def _spikes(n, rows):
    s = np.zeros(n)
    s[list(rows)] = 1.0
    return s


def test_probation_length():
    assert probation_length(0) == 0
    assert probation_length(20) == 3
    assert probation_length(4032) == 604
    assert probation_length(5000) == 750 and probation_length(100_000) == 750
    assert probation_length(100, probation_percent=0.0) == 0
    assert probation_length(10_000, probation_percent=0.1501) == 751  # rows i >= 750.5 are scored


def test_probation_rows_are_not_scored():
    # n = 40: rows 0..5 are probationary
    r = _one(40, [(20, 25)], _spikes(40, [0, 3, 5]))
    assert (r.fp, r.raw_score, r.per_series["t/a.csv"].probation) == (0, -1.0, 6)
    r = _one(40, [(20, 25)], _spikes(40, [6]))
    assert r.fp == 1 and r.raw_score == pytest.approx(-1.0 - 0.11)
    # a window inside the probation does not count (neither as miss nor as detection) ...
    r = _one(40, [(1, 4)], _spikes(40, [2]))
    assert (r.raw_score, r.null_score, r.missed_windows, r.detected_windows, r.tp) == (
        0.0,
        0.0,
        0,
        0,
        0,
    )
    # ... but it still counts for the perfect score (NAB counts every window there)
    assert r.perfect_score == 1.0 and r.score == 0.0
    # a window cut by the probation: only its scored rows count, credited by their place
    r = _one(40, [(2, 9)], _spikes(40, [3, 7]))
    w = SIG(-(9 - 7 + 1) / 8) / MAX_TP
    assert r.detected_windows == 1 and r.tp == 1 and r.raw_score == pytest.approx(w)


def test_only_the_earliest_detection_in_a_window_counts():
    n, win = 40, [(20, 29)]
    early = _one(n, win, _spikes(n, [22]))
    both = _one(n, win, _spikes(n, [22, 23, 27]))
    late = _one(n, win, _spikes(n, [27]))
    w22 = SIG(-(29 - 22 + 1) / 10) / MAX_TP
    w27 = SIG(-(29 - 27 + 1) / 10) / MAX_TP
    assert early.raw_score == pytest.approx(w22)
    assert both.raw_score == pytest.approx(w22) and both.tp == 3 and both.detected_windows == 1
    assert late.raw_score == pytest.approx(w27) and late.raw_score < early.raw_score
    first = _one(n, win, _spikes(n, [20]))
    assert first.raw_score == 1.0 and first.score == 100.0


def test_detection_is_score_at_or_above_threshold():
    s = np.zeros(40)
    s[20] = 0.5
    assert _one(40, [(20, 29)], s, threshold=0.5).detected_windows == 1
    assert _one(40, [(20, 29)], s, threshold=np.nextafter(0.5, 1)).detected_windows == 0
    assert _one(40, [(20, 29)], s, threshold=math.inf).detected_windows == 0


def test_false_positive_weights():
    n = 60  # probation: rows 0..8
    # no preceding window: -A_FP, wherever it is
    assert _one(n, [], _spikes(n, [9])).raw_score == pytest.approx(-0.11)
    assert _one(n, [(40, 49)], _spikes(n, [30, 40])).raw_score == pytest.approx(-0.11 + 1.0)
    # after a window of W = 10 rows ending at 19: A_FP * sigma((i - 19) / 9)
    for i, expect in [(20, SIG(1 / 9)), (28, SIG(1.0)), (46, SIG(27 / 9)), (47, -1.0)]:
        r = _one(n, [(10, 19)], _spikes(n, [i]))
        assert r.per_series["t/a.csv"].fp_score == pytest.approx(0.11 * expect), i
        assert r.raw_score == pytest.approx(-1.0 + 0.11 * expect)
    # the FP weight scales: reward_low_FP_rate doubles it
    r = _one(n, [(10, 19)], _spikes(n, [28]), profile="reward_low_FP_rate")
    assert r.raw_score == pytest.approx(-1.0 + 0.22 * SIG(1.0))
    # a single-row window: FPs after it cost -A_FP (documented policy; NAB divides by zero)
    assert _one(n, [(15, 15)], _spikes(n, [16])).raw_score == pytest.approx(-1.0 - 0.11)


def test_false_negative_weight():
    n = 60
    s = _spikes(n, [12])
    std = _one(n, [(10, 19), (30, 39)], s)
    low_fn = _one(n, [(10, 19), (30, 39)], s, profile="reward_low_FN_rate")
    w12 = SIG(-(19 - 12 + 1) / 10) / MAX_TP
    assert std.raw_score == pytest.approx(w12 - 1.0) and std.missed_windows == 1
    assert low_fn.raw_score == pytest.approx(w12 - 2.0)
    assert low_fn.null_score == -4.0 and low_fn.perfect_score == 2.0
    assert low_fn.score == pytest.approx(100 * (w12 - 2.0 + 4.0) / 6.0)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_perfect_is_100_and_null_is_0(profile):
    corpus = {
        "a/x.csv": SeriesLabels(100, [(30, 39), (60, 79)]),
        "b/y.csv": SeriesLabels(50, [(20, 24)]),
    }
    perfect = {"a/x.csv": _spikes(100, [30, 60]), "b/y.csv": _spikes(50, [20])}
    null = {"a/x.csv": np.full(100, 0.5), "b/y.csv": np.full(50, 0.5)}
    assert score_corpus(perfect, 0.9, profile, corpus=corpus).score == 100.0
    r = score_corpus(null, 0.9, profile, corpus=corpus)
    assert r.score == 0.0 and r.raw_score == r.null_score == -3 * PROFILES[profile].fn_weight
    assert (r.tp, r.fp) == (0, 0) and r.fn == 35 - 0 and r.tn == (100 - 15 - 30) + (50 - 7 - 5)
    best = optimize_threshold(perfect, profile, corpus=corpus)
    assert (best.threshold, best.score) == (1.0, 100.0)
    assert optimize_threshold(null, profile, corpus=corpus).score == 0.0


def test_counts_and_breakdown():
    corpus = {"a/x.csv": SeriesLabels(100, [(30, 39)]), "b/y.csv": SeriesLabels(100, [])}
    scores = {"a/x.csv": _spikes(100, [20, 31, 32, 50]), "b/y.csv": _spikes(100, [90])}
    r = score_corpus(scores, 0.5, corpus=corpus)
    a, b = r.per_series["a/x.csv"], r.per_series["b/y.csv"]
    assert (a.tp, a.fp, a.fn, a.tn) == (2, 2, 8, 85 - 2 - 8 - 2)
    assert (b.tp, b.fp, b.fn, b.tn, b.n_windows) == (0, 1, 0, 84, 0)
    assert (r.tp, r.fp, r.fn, r.tn) == (2, 3, 8, 157)
    assert r.raw_score == pytest.approx(a.raw_score + b.raw_score)
    assert a.raw_score == pytest.approx(a.tp_score + a.fp_score + a.fn_score)
    assert b.raw_score == pytest.approx(-0.11)
    assert r.detected_windows == 1 and r.missed_windows == 0 and r.n_windows == 1


def test_no_windows_normalised_score_is_nan():
    r = _one(50, [], _spikes(50, [20]))
    assert math.isnan(r.score) and r.raw_score == pytest.approx(-0.11)
    assert r.null_score == r.perfect_score == 0.0


def test_profiles_as_objects_and_dicts():
    s = _spikes(60, [12, 50])
    by_name = _one(60, [(10, 19)], s, profile="reward_low_FP_rate")
    by_obj = _one(60, [(10, 19)], s, profile=Profile("x", 1.0, 0.22, 1.0))
    by_cm = _one(
        60, [(10, 19)], s, profile={"CostMatrix": {"tpWeight": 1, "fpWeight": 0.22, "fnWeight": 1}}
    )
    assert by_name.raw_score == by_obj.raw_score == by_cm.raw_score
    assert by_obj.profile.name == "x"


def test_row_weights():
    w = row_weights(40, [(20, 29)], "standard")
    assert np.isnan(w[:6]).all() and (w[6:20] == -0.11).all()
    assert w[20] == 1.0 and np.all(np.diff(w[20:30]) < 0) and w[29] > 0
    assert w[30] == pytest.approx(0.11 * SIG(1 / 9)) and w[39] == pytest.approx(0.11 * SIG(10 / 9))


# ------------------------------------------------------------------------------ properties


def _reference(n, windows, s, threshold, prof, p=0.15):
    """A direct, row-by-row reading of the rules (the paper's and NAB's whitepaper's)."""
    prob = min(math.floor(p * n), p * 5000)
    tp, fp, fn = prof.tp_weight, prof.fp_weight, prof.fn_weight
    total, prev = 0.0, None
    credit = {}
    for i in range(n):
        k = next((j for j, (a, b) in enumerate(windows) if a <= i <= b), None)
        if k is not None:
            a, b = windows[k]
            if i >= prob:
                credit.setdefault(k, -fn)
                if s[i] >= threshold and credit[k] == -fn:
                    credit[k] = tp * SIG(-(b - i + 1) / (b - a + 1)) / MAX_TP
            if i == b:
                prev = k
        elif i >= prob and s[i] >= threshold:
            if prev is None:
                total += -fp
            else:
                a, b = windows[prev]
                total += fp * (SIG((i - b) / (b - a)) if b > a else -1.0)
    return total + sum(credit.values())


@st.composite
def _series(draw):
    n = draw(st.integers(1, 60))
    cuts = sorted(draw(st.lists(st.integers(0, n - 1), max_size=6, unique=True)))
    windows = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    levels = draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]), min_size=n, max_size=n))
    return n, windows, np.array(levels)


@settings(max_examples=150, deadline=None)
@given(
    series=st.lists(_series(), min_size=1, max_size=3),
    threshold=st.sampled_from([0.0, 0.25, 0.3, 0.5, 1.0, 2.0]),
    profile=st.sampled_from(list(PROFILES.values())),
)
def test_score_matches_row_by_row_reference(series, threshold, profile):
    corpus = {f"c/s{i}.csv": SeriesLabels(n, w) for i, (n, w, _) in enumerate(series)}
    scores = {f"c/s{i}.csv": s for i, (_, _, s) in enumerate(series)}
    r = score_corpus(scores, threshold, profile, corpus=corpus)
    expect = sum(_reference(n, w, s, threshold, profile) for n, w, s in series)
    assert r.raw_score == pytest.approx(expect, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    series=st.lists(_series(), min_size=1, max_size=3),
    profile=st.sampled_from(list(PROFILES.values())),
)
def test_optimizer_matches_brute_force(series, profile):
    corpus = {f"c/s{i}.csv": SeriesLabels(n, w) for i, (n, w, _) in enumerate(series)}
    scores = {f"c/s{i}.csv": s for i, (_, _, s) in enumerate(series)}
    candidates = sorted({math.inf} | {float(v) for s in scores.values() for v in s}, reverse=True)
    raws = [score_corpus(scores, t, profile, corpus=corpus).raw_score for t in candidates]
    best = optimize_threshold(scores, profile, corpus=corpus)
    assert best.raw_score == pytest.approx(max(raws), abs=1e-9)
    # the largest threshold reaching the best score (NAB's tie rule)
    top = max(raws)
    assert best.threshold == next(
        t for t, v in zip(candidates, raws) if v >= top - 1e-12 * max(1.0, abs(top))
    )
    th, curve = threshold_curve(scores, profile, corpus=corpus)
    for t, v in zip(th, curve):
        assert v == pytest.approx(raws[candidates.index(t)], abs=1e-9)


# ------------------------------------------------------------------------------ bad input


def _tiny():
    return {"t/a.csv": SeriesLabels(20, [(10, 13)])}


def test_bad_scores_raise_clear_errors():
    corpus = _tiny()
    with pytest.raises(ValueError, match=r"'t/a.csv' have 19 rows but the series has 20"):
        score_corpus({"t/a.csv": np.zeros(19)}, 0.5, corpus=corpus)
    s = np.zeros(20)
    s[7] = np.nan
    with pytest.raises(ValueError, match=r"non-finite value\(s\), the first at row 7"):
        score_corpus({"t/a.csv": s}, 0.5, corpus=corpus)
    with pytest.raises(ValueError, match=r"row 7 \(nan\)"):
        score_corpus({"t/a.csv": s}, 0.5, corpus=corpus)
    s[7] = np.inf
    with pytest.raises(ValueError, match="row 7"):
        optimize_threshold({"t/a.csv": s}, corpus=corpus)
    with pytest.raises(ValueError, match="1-D"):
        score_corpus({"t/a.csv": np.zeros((20, 1))}, 0.5, corpus=corpus)
    with pytest.raises(ValueError, match="not numbers"):
        score_corpus({"t/a.csv": ["a"] * 20}, 0.5, corpus=corpus)
    with pytest.raises(ValueError, match="mapping of series name"):
        score_corpus([np.zeros(20)], 0.5, corpus=corpus)


def test_unknown_and_missing_series_names():
    corpus = {**_tiny(), "t/b.csv": SeriesLabels(5)}
    with pytest.raises(ValueError, match=r"unknown series name\(s\) \['nyc_taxi.csv'\]"):
        score_corpus(
            {"t/a.csv": np.zeros(20), "t/b.csv": np.zeros(5), "nyc_taxi.csv": np.zeros(5)},
            0.5,
            corpus=corpus,
        )
    with pytest.raises(
        ValueError, match=r"no scores for 1 of the 2 corpus series \(e.g. \['t/b.csv'\]\)"
    ):
        optimize_threshold({"t/a.csv": np.zeros(20)}, corpus=corpus)


def test_unknown_profile_and_bad_parameters():
    scores = {"t/a.csv": np.zeros(20)}
    with pytest.raises(ValueError, match="unknown profile 'strict'; known profiles: standard"):
        score_corpus(scores, 0.5, "strict", corpus=_tiny())
    with pytest.raises(ValueError, match="unknown profile"):
        optimize_threshold(scores, "Standard", corpus=_tiny())
    with pytest.raises(ValueError, match="fp_weight must be a finite number >= 0, got -0.1"):
        Profile("bad", 1.0, -0.1, 1.0)
    with pytest.raises(ValueError, match="no 'fnWeight'"):
        score_corpus(scores, 0.5, {"tpWeight": 1, "fpWeight": 1}, corpus=_tiny())
    with pytest.raises(ValueError, match="threshold must be a real number"):
        score_corpus(scores, math.nan, corpus=_tiny())
    with pytest.raises(ValueError, match="threshold must be a real number"):
        score_corpus(scores, "0.5", corpus=_tiny())
    with pytest.raises(ValueError, match="probation_percent"):
        score_corpus(scores, 0.5, corpus=_tiny(), probation_percent=1.0)


def test_bad_windows_and_corpus():
    with pytest.raises(ValueError, match="not a row range within"):
        SeriesLabels(10, [(5, 10)])
    with pytest.raises(ValueError, match="not a row range within"):
        SeriesLabels(10, [(5, 4)])
    with pytest.raises(ValueError, match="overlaps"):
        SeriesLabels(10, [(2, 5), (5, 7)])
    with pytest.raises(ValueError, match="not an integer"):
        SeriesLabels(10, [(2.5, 5)])
    with pytest.raises(ValueError, match="n_rows"):
        SeriesLabels(-1)
    with pytest.raises(ValueError, match="must have n_rows and window_rows"):
        score_corpus({"t/a.csv": np.zeros(3)}, 0.5, corpus={"t/a.csv": np.zeros(3)})
    with pytest.raises(ValueError, match="no series"):
        score_corpus({}, 0.5, corpus={})


# ------------------------------------------------------------------------------ NAB files


def _small_nab_corpus():
    ts = np.arange("2015-03-01T10:00", "2015-03-01T10:30", dtype="datetime64[m]")
    a = NABSeries.from_arrays("catA/one.csv", ts, np.linspace(0, 1, 30), [(ts[10], ts[14])])
    b = NABSeries.from_arrays("catB/two.csv", ts[:20], np.arange(20.0), [])
    return {a.name: a, b.name: b}


def test_write_nab_results_layout(tmp_path):
    corpus = _small_nab_corpus()
    scores = {"catA/one.csv": np.linspace(0, 1, 30), "catB/two.csv": np.full(20, 0.25)}
    paths = write_nab_results(scores, tmp_path / "results", "mine-1.0", corpus=corpus)
    assert paths == [
        tmp_path / "results" / "mine-1.0" / "catA" / "mine-1.0_one.csv",
        tmp_path / "results" / "mine-1.0" / "catB" / "mine-1.0_two.csv",
    ]
    lines = paths[0].read_text().splitlines()
    assert lines[0] == "timestamp,value,anomaly_score,label"
    assert lines[1] == "2015-03-01 10:00:00,0.0,0.0,0"
    assert lines[11].startswith("2015-03-01 10:10:00,") and lines[11].endswith(",1")
    df = pd.read_csv(paths[0])
    np.testing.assert_array_equal(
        df["anomaly_score"].to_numpy(), scores["catA/one.csv"]
    )  # exact round trip
    assert df["label"].tolist() == [0] * 10 + [1] * 5 + [0] * 15
    # overwrite is allowed
    assert write_nab_results(scores, tmp_path / "results", "mine-1.0", corpus=corpus) == paths


def test_write_nab_results_bad_input(tmp_path):
    corpus = _small_nab_corpus()
    scores = {"catA/one.csv": np.linspace(0, 1, 30), "catB/two.csv": np.full(20, 0.25)}
    for bad in ["my_detector", "", "a/b", "../x"]:
        with pytest.raises(ValueError, match="detector name"):
            write_nab_results(scores, tmp_path, bad, corpus=corpus)
    high = dict(scores, **{"catB/two.csv": np.full(20, 1.5)})
    with pytest.raises(
        ValueError, match=r"'catB/two.csv' must lie in \[0, 1\] for NAB; row 0 is 1.5"
    ):
        write_nab_results(high, tmp_path, "det", corpus=corpus)
    with pytest.raises(ValueError, match="19 rows"):
        write_nab_results(
            dict(scores, **{"catB/two.csv": np.zeros(19)}), tmp_path, "det", corpus=corpus
        )
    with pytest.raises(ValueError, match="no timestamps"):
        write_nab_results({"t/a.csv": np.zeros(20)}, tmp_path, "det", corpus=_tiny())
    assert not list(tmp_path.iterdir())  # nothing written on error


def test_module_exports():
    for name in nab.__all__:
        assert hasattr(nab, name), name
