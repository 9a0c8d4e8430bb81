"""``sead-bench --suite nab`` (sead.bench.nab_suite): the run on a three-series subset, what it
writes, and that its numbers are NAB's; the fast detection scorer against the reference scorer;
the model and option parsing; the usage errors.

The tests using the ``corpus`` fixture need the NAB v1.1 corpus (``$SEAD_DATA/nab/corpus`` or
``../shared/datasets/nab/corpus`` next to the checkout); without it they skip saying where to put
it, and with ``CI`` set they fail instead.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from sead.alerting import AlertSignal
from sead.bench import cli
from sead.bench import nab_suite as ns
from sead.bench.nab import SeriesLabels, score_corpus


def _exit(argv, capsys):
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


# ------------------------------------------------------------------------------ the run


@pytest.fixture(scope="module")
def ci_run(corpus, tmp_path_factory):
    """The CI run: three series, the default pool, three models, the cross-check (a few
    seconds)."""
    out = tmp_path_factory.mktemp("nab")
    argv = [
        "--suite",
        "nab",
        "--series",
        "ci",
        "--model",
        "sead,sead+alert,det:ZScoreRule-1",
        "--cross-check",
        "--cross-check-splits",
        "2",
        "--out",
        str(out),
    ]
    code = cli.main(argv)
    return code, out, json.loads((out / "results_nab.json").read_text())


def test_ci_run_writes_everything(ci_run):
    code, out, res = ci_run
    assert code == 0
    assert res["suite"] == "nab" and res["corpus"] == {
        "series": 3,
        "rows": 6697,
        "windows": 8,
        "full": False,
    }
    assert [m["name"] for m in res["models"]] == ["sead", "sead-alert", "ZScoreRule-1"]
    assert [m["kind"] for m in res["models"]] == ["ranking", "alert", "ranking"]
    for m in res["models"]:
        for p in ns.PROFILE_NAMES:
            v = m["profiles"][p]
            assert np.isfinite(v["score"]) and 0 <= v["detected_windows"] <= v["n_windows"] == 8
    # the published per-row scores, re-scored on the subset
    assert set(res["published"]["scores"]) == {
        "numenta",
        "randomCutForest",
        "windowedGaussian",
        "null",
    }
    assert res["published"]["scores"]["null"]["standard"] == 0.0
    # NAB's layout, thresholds, plots, the markdown table
    for m in res["models"]:
        for name in ns.CI_SERIES:
            cat, file = name.split("/")
            assert (out / "nab-results" / m["name"] / cat / f"{m['name']}_{file}").is_file()
    th = json.loads((out / "nab-results" / "thresholds.json").read_text())
    assert set(th) == {m["name"] for m in res["models"]}
    assert (out / "nab-speed-7578.png").is_file() and (out / "nab-art-daily-jumpsup.png").is_file()
    md = (out / "results_nab.md").read_text()
    assert "| **sead-alert** (this run) |" in md and "Numenta HTM" in md and "## Cross-check" in md
    # variants and the cross-check
    assert {v["variant"] for v in res["variants"]} == set(ns.ALERT_VARIANTS)
    cc = res["cross_check"]
    assert cc["n_series"] == 3 and len(cc["selection_half"]) == 1
    assert set(cc["profiles"]) == set(ns.PROFILE_NAMES)


def test_written_scores_reproduce_the_table(ci_run, corpus):
    """NAB's scorer on the files written, at the thresholds reported, gives the reported scores."""
    _, out, res = ci_run
    sub = {n: corpus[n] for n in ns.CI_SERIES}
    for m in res["models"]:
        scores = {}
        for name in ns.CI_SERIES:
            cat, file = name.split("/")
            df = pd.read_csv(out / "nab-results" / m["name"] / cat / f"{m['name']}_{file}")
            assert list(df.columns) == ["timestamp", "value", "anomaly_score", "label"]
            assert df["label"].sum() == corpus[name].labels().sum()
            scores[name] = df["anomaly_score"].to_numpy()
        profiles = (
            ns.PROFILE_NAMES if m["kind"] == "ranking" else ("standard",)
        )  # the file: standard's signal
        for p in profiles:
            v = m["profiles"][p]
            r = score_corpus(scores, v["threshold"], p, corpus=sub)
            assert r.score == pytest.approx(v["score"], abs=1e-9)
            assert (r.detected_windows, r.fp) == (v["detected_windows"], v["fp_rows"])


def test_alert_threshold_sweep_includes_the_default(ci_run):
    _, _, res = ci_run
    alert = next(m for m in res["models"] if m["kind"] == "alert")
    assert alert["alert_params"]["threshold"] == AlertSignal().threshold
    for p in ns.PROFILE_NAMES:  # the best of the sweep is at least the default threshold's score
        assert alert["profiles"][p]["score"] >= alert["at_default_threshold"][p]["score"] - 1e-9


def test_summary_printed(corpus, tmp_path, capsys):
    code, out, err = _exit(
        [
            "--suite",
            "nab",
            "--series",
            "realTraffic/speed_7578.csv",
            "--pool",
            "small",
            "--model",
            "sead+alert",
            "--plot-series",
            "none",
            "--no-nab-files",
            "--seeds",
            "0,1",
            "--out",
            str(tmp_path),
        ],
        capsys,
    )
    assert code == 0, err
    assert (
        "sead.small-alert" in out and "mean over seeds" in out and "at the default threshold" in out
    )
    assert not (tmp_path / "nab-results").exists() and not list(tmp_path.glob("*.png"))
    res = json.loads((tmp_path / "results_nab.json").read_text())
    m = res["models"][0]
    assert [r["seed"] for r in m["per_seed"]] == [0, 1] and len(m["over_seeds"]["standard"]) == 2


# ------------------------------------------------------------------------------ the fast scorer


def _random_masks(n, seed, k=8):
    rng = np.random.default_rng(seed)
    for share in np.geomspace(0.3, 0.001, k):
        yield rng.random(n) < share


def test_detection_scorer_equals_the_reference_scorer_on_the_corpus(corpus):
    names = list(ns.CI_SERIES) + ["realKnownCause/nyc_taxi.csv"]
    sub = {n: corpus[n] for n in names}
    sc = ns.DetectionScorer(corpus, names)
    for mask in _random_masks(int(sc.offsets[-1]), 0):
        sig = {
            n: mask[sc.offsets[i] : sc.offsets[i + 1]].astype(float) for i, n in enumerate(names)
        }
        for p in ns.PROFILE_NAMES:
            r = score_corpus(sig, 0.5, p, corpus=sub)
            raw = sc.raw(mask, p)
            assert raw == pytest.approx([r.per_series[n].raw_score for n in names], abs=1e-9)
            assert sc.normalised(raw, p) == pytest.approx(r.score, abs=1e-9)


def test_detection_scorer_corner_cases():
    # a window inside the probation (not counted), a one-row window, a series without windows
    corpus = {
        "c/a.csv": SeriesLabels(40, [(1, 3), (10, 10), (20, 25)]),
        "c/b.csv": SeriesLabels(30, []),
        "c/c.csv": SeriesLabels(25, [(24, 24)]),
    }
    names = list(corpus)
    sc = ns.DetectionScorer(corpus, names)
    for mask in _random_masks(int(sc.offsets[-1]), 1, k=12):
        sig = {
            n: mask[sc.offsets[i] : sc.offsets[i + 1]].astype(float) for i, n in enumerate(names)
        }
        for p in ns.PROFILE_NAMES:
            r = score_corpus(sig, 0.5, p, corpus=corpus)
            assert sc.raw(mask, p) == pytest.approx(
                [r.per_series[n].raw_score for n in names], abs=1e-12
            )


def test_cross_check_chooses_on_one_half_and_scores_the_other():
    corpus = {f"c/s{i}.csv": SeriesLabels(100, [(50, 59)]) for i in range(6)}
    names = list(corpus)
    sc = ns.DetectionScorer(corpus, names)
    n = int(sc.offsets[-1])
    hit = np.zeros(n, dtype=bool)
    hit[sc.offsets[:-1] + 50] = True  # every window at its first row
    none = np.zeros(n, dtype=bool)
    cands = {
        "good": {0.9: {p: sc.raw(hit, p) for p in ns.PROFILE_NAMES}},
        "bad": {0.9: {p: sc.raw(none, p) for p in ns.PROFILE_NAMES}},
    }
    cc = ns.cross_check(cands, sc, seed=3, splits=4, default=("bad", 0.9))
    st = cc["profiles"]["standard"]
    assert len(cc["selection_half"]) == 3
    assert st["chosen_on_selection"]["variant"] == "good"
    assert st["chosen_on_selection"]["score_held_out"] == pytest.approx(100.0)
    assert st["chosen_on_held_out"]["score_held_out"] == pytest.approx(100.0)
    assert st["default"]["score_held_out"] == pytest.approx(0.0)
    assert st["over_splits"]["held_out_best_minus_chosen"] == [0.0, 0.0]
    # the split is the seeded permutation, as documented
    perm = np.random.default_rng(3).permutation(6)
    assert cc["selection_half"] == [names[i] for i in sorted(perm[:3])]


# ------------------------------------------------------------------------------ parsing


def test_parse_model():
    m = ns.parse_model("sead")
    assert (m.base, m.pool, m.alert, m.label) == ("sead", "default", None, "sead")
    assert ns.parse_model("sead:wide+alert").label == "sead.wide-alert"
    assert ns.parse_model("sead+alert:no-range").label == "sead-alert.no-range"
    assert ns.parse_model("det:ZScoreRule-1+alert", "small").label == "ZScoreRule-1-alert"
    for bad, msg in [
        ("sead:nope", "unknown pool 'nope'"),
        ("det:Nope-1", "has no detector 'Nope-1'"),
        ("sead+alert:nope", "unknown alert variant 'nope'"),
        ("sead+x", "after '+' comes 'alert'"),
        ("forest", "a model is 'sead'"),
    ]:
        with pytest.raises(ValueError, match=re.escape(msg)):
            ns.parse_model(bad)


def test_parse_alert_params_and_series(corpus):
    assert ns.parse_alert_params("suppress=5, range_window=None,size_correction=0.5") == {
        "suppress": 5,
        "range_window": None,
        "size_correction": 0.5,
    }
    assert ns.parse_alert_params(None) == {}
    for bad, msg in [
        ("nope=1", "no parameter 'nope'"),
        ("suppress", "name=value"),
        ("suppress=x", "not a number"),
        ("suppress=-1", "suppress must be"),
    ]:
        with pytest.raises(ValueError, match=msg):
            ns.parse_alert_params(bad)
    assert ns.select_series(corpus, "ci") == [n for n in corpus if n in ns.CI_SERIES]
    assert len(ns.select_series(corpus, None)) == 58
    with pytest.raises(ValueError, match="unknown NAB series"):
        ns.select_series(corpus, "nyc_taxi.csv")
    with pytest.raises(ValueError, match="empty"):
        ns.select_series(corpus, " , ")


def test_features():
    v = np.array([1.0, 3.0, 6.0])
    assert ns.features(v, "shingle", 2).tolist() == [[1, 1], [1, 3], [3, 6]]
    assert ns.features(v, "shingle+diff", 2).tolist() == [[1, 1, 0, 0], [1, 3, 0, 2], [3, 6, 2, 3]]
    with pytest.raises(ValueError, match="features must be one of"):
        ns.features(v, "fourier", 2)


# ------------------------------------------------------------------------------ usage errors


@pytest.fixture
def no_nab_run(monkeypatch):
    def fail(*a, **k):
        raise AssertionError("the NAB run started although the arguments are bad")

    monkeypatch.setattr(cli, "run_nab_suite", fail)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--suite", "nab", "--tasks", "cardio"], "--tasks applies to the benchmark suite only"),
        (
            ["--suite", "nab", "--methods", "SEAD", "--quick"],
            "--methods, --quick apply to the benchmark suite only",
        ),
        (["--model", "sead"], "--model applies to --suite nab only"),
        (["--series", "ci"], "--series applies to --suite nab only"),
        (["--suite", "nab", "--model", "sead+foo"], "after '+' comes 'alert'"),
        (["--suite", "nab", "--model", ","], "--model is an empty list"),
        (["--suite", "nab", "--model", "sead,sead"], "lists 'sead' more than once"),
        (["--suite", "nab", "--model", "det:Nope"], "has no detector 'Nope'"),
        (["--suite", "nab", "--pool", "nope"], "unknown pool 'nope'"),
        (["--suite", "nab", "--alert-params", "suppress=-2"], "--alert-params: suppress must be"),
        (["--suite", "nab", "--shingle", "0"], "--shingle must be >= 1"),
        (["--suite", "nab", "--seeds", "0,0"], "--seeds lists 0 more than once"),
        (["--suite", "nab", "--cross-check", "-1"], "--cross-check seed must be >= 0"),
        (
            ["--suite", "nab", "--cross-check-splits", "3"],
            "--cross-check-splits needs --cross-check",
        ),
        (["--suite", "nab", "--features", "fourier"], "invalid choice: 'fourier'"),
    ],
)
def test_usage_errors(argv, message, capsys, no_nab_run, tmp_path):
    code, _, err = _exit(argv + ["--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err and "usage: sead-bench" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--series", "nyc_taxi.csv"], "unknown NAB series"),
        (["--plot-series", "x/y.csv"], "unknown NAB series"),
        (["--series", "artificialNoAnomaly/art_flatline.csv"], "hold no anomaly window"),
        (["--model", "sead", "--cross-check"], "--cross-check compares alert variants"),
    ],
)
def test_usage_errors_needing_the_corpus(argv, message, corpus, capsys, no_nab_run, tmp_path):
    code, _, err = _exit(["--suite", "nab"] + argv + ["--out", str(tmp_path / "o")], capsys)
    assert code == 2 and message in err


def test_missing_corpus_is_an_error_saying_where_to_get_it(capsys, no_nab_run, tmp_path):
    code, _, err = _exit(
        ["--suite", "nab", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")], capsys
    )
    assert code == 1 and "NAB corpus not found" in err and "github.com/numenta/NAB" in err
    assert not (tmp_path / "o").exists()


def test_unwritable_out_is_an_error(corpus, capsys, no_nab_run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    code, _, err = _exit(["--suite", "nab", "--out", str(blocker)], capsys)
    assert code == 1 and f"--out {blocker}" in err
