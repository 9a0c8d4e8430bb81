"""Tests for sead-bench: ranking maths, metrics, the cached-matrix combiner, the CLI plan,
and a tiny end-to-end run on an in-memory task with a small pool of toy detectors."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from sead import combine_scores
from sead.base import Detector
from sead.bench import cli
from sead.bench import variants as V
from sead.bench.metrics import evaluate, fast_evaluate, rank_summary, rank_table
from sead.bench.runner import BenchConfig, BenchTask, combine_cached, run_unit

# ------------------------------------------------------------------------------------------
# toy detectors and an in-memory task


class _MeanDistance(Detector):
    """Distance to the running mean (toy detector for the tests)."""

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def _init_state(self, schema):
        n_features = schema.n_features
        self.mean_ = np.zeros(n_features)
        self.n_ = 0

    def _score_rows(self, X):
        if self.n_ == 0:
            return np.zeros(X.shape[0])
        return self.scale * np.sqrt(((X - self.mean_) ** 2).sum(axis=1))

    def _learn_rows(self, X):
        for row in X:
            self.n_ += 1
            self.mean_ += (row - self.mean_) / self.n_


class _Coordinate(Detector):
    """The absolute value of one feature, rounded (ties on purpose); learns nothing."""

    def __init__(self, j: int = 0):
        self.j = j

    def _init_state(self, schema):
        self.seen_ = 0

    def _score_rows(self, X):
        return np.round(np.abs(X[:, self.j]), 1)

    def _learn_rows(self, X):
        self.seen_ += X.shape[0]


class _Late(_MeanDistance):
    """Scores 0 (placeholders) for its first ``n_warmup`` points, which ensembles leave out."""

    def __init__(self, n_warmup: int = 150):
        self.n_warmup = n_warmup

    def _init_state(self, schema):
        super()._init_state(schema)
        self.scale = 1.0

    def _warmup_points(self):
        return self.n_warmup

    def _score_rows(self, X):
        return super()._score_rows(X) if self.n_ >= self.n_warmup else np.zeros(X.shape[0])


def _toy_pool(seed: int = 0) -> list:
    return [_MeanDistance(1.0), _MeanDistance(2.0), _Coordinate(0), _Coordinate(2), _Late(150)]


def _toy_load(seed: int, n: int = 900):
    rng = np.random.default_rng(123)
    X = rng.normal(size=(n, 3))
    y = np.zeros(n, dtype=np.int64)
    idx = rng.choice(np.arange(100, n), size=n // 30, replace=False)
    X[idx, 0] += 4.0
    y[idx] = 1
    order = np.random.default_rng(seed).permutation(n // 50)  # chunks of 50, shuffled per seed
    rows = (order[:, None] * 50 + np.arange(50)).ravel()
    return X[rows], y[rows]


TOY_TASKS = [BenchTask("toy-a", _toy_load), BenchTask("toy-b", functools.partial(_toy_load, n=700))]
TOY_NAMES = ["_MeanDistance-1", "_MeanDistance-2", "_Coordinate-1", "_Coordinate-2", "_Late-1"]


# ------------------------------------------------------------------------------------------
# ranking maths


def test_rank_table_ties_get_average_rank():
    aps = {
        "t1": {"a": [0.9, 0.7], "b": [0.8], "c": [0.8], "d": [0.1]},  # a mean 0.8: three-way tie
        "t2": {"a": [0.2], "b": [0.5], "c": [0.4], "d": [0.4]},
        "t3": {"a": [0.3], "b": [0.3], "c": [0.3], "d": [0.3]},
    }
    table = rank_table(aps, ["a", "b", "c", "d"])
    assert table["t1"] == {"a": 2.0, "b": 2.0, "c": 2.0, "d": 4.0}
    assert table["t2"] == {"a": 4.0, "b": 1.0, "c": 2.5, "d": 2.5}
    assert table["t3"] == {"a": 2.5, "b": 2.5, "c": 2.5, "d": 2.5}
    for ranks in table.values():  # ranks always sum to 1 + 2 + ... + n
        assert sum(ranks.values()) == pytest.approx(10.0)
    s = rank_summary(table, ["a", "b", "c", "d"])
    assert s["a"]["ranks"] == [2.0, 4.0, 2.5]
    assert s["a"]["mean"] == pytest.approx(8.5 / 3)
    assert s["a"]["var"] == pytest.approx(np.var([2.0, 4.0, 2.5]))  # population variance
    assert s["a"]["var_sample"] == pytest.approx(np.var([2.0, 4.0, 2.5], ddof=1))
    assert s["d"]["mean"] == pytest.approx(3.0) and s["d"]["n_tasks"] == 3


def test_rank_table_skips_tasks_with_missing_scores():
    aps = {"t1": {"a": [0.5], "b": [math.nan]}, "t2": {"a": [0.1], "b": [0.2]}}
    assert rank_table(aps, ["a", "b"]) == {"t2": {"a": 2.0, "b": 1.0}}


def test_fast_evaluate_matches_sklearn():
    rng = np.random.default_rng(0)
    for trial in range(60):
        n = int(rng.integers(5, 2000))
        y = (rng.random(n) < 0.1).astype(int)
        y[0], y[1] = 0, 1
        s = rng.random(n)
        if trial % 2:
            s = np.round(s * int(rng.integers(1, 8)))  # heavy ties
        aps, auc = fast_evaluate(y, s)
        assert aps == pytest.approx(average_precision_score(y, s), abs=1e-12)
        assert auc == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    assert all(math.isnan(v) for v in fast_evaluate([1, 1], [0.1, 0.2]))
    assert all(math.isnan(v) for v in evaluate([0, 0], [0.1, 0.2]))


# ------------------------------------------------------------------------------------------
# the cached-matrix combiner


@pytest.mark.parametrize(
    "name",
    [
        "paper",
        "default",
        "window-250",
        "frozen",
        "gated",
        "consensus",
        "lam-1e-2",
        "warmup-0",
        "frozen-1000",
    ],
)
def test_combine_cached_equals_combine_scores(name):
    rng = np.random.default_rng(2)
    R = rng.gamma(2.0, size=(1500, 4))
    R[:, 3] = np.round(R[:, 3])
    p = V.sead_params(name)
    ref = combine_scores(
        R,
        eta=p["eta"],
        lam=p["lam"],
        warmup=p["warmup"],
        reference=p["reference"],
        window=p["window"],
        loss=p["loss"],
        output=p["output"],
    )
    cache: dict = {}
    for _ in range(2):  # the second call reads the cache
        S, Z, P = combine_cached(R, p, cache)
        np.testing.assert_array_equal(Z, ref.normalized)
        np.testing.assert_allclose(S, ref.scores, rtol=0, atol=1e-15)
        np.testing.assert_allclose(P, ref.weights, rtol=0, atol=1e-15)


def test_variant_names_resolve():
    sead_v, plus_v = V.select(None)
    assert "paper" in sead_v and plus_v == []
    assert V.select(["all"]) == (list(V.VARIANTS), list(V.PLUS_VARIANTS))
    assert V.select(["none"]) == ([], [])
    assert V.select(["paper,gated", "pp-m3"]) == (["paper", "gated"], ["pp-m3"])
    with pytest.raises(KeyError, match="unknown variant 'nope'"):
        V.select(["nope"])
    p = V.sead_params("paper")  # the literal reading stays selectable by name
    assert (p["reference"], p["loss"], p["eta"], p["lam"], p["warmup"]) == (
        "exact",
        "score",
        1.0,
        1e-6,
        100,
    )
    assert V.plus_params("pp-m3")["n_sampled"] == 3


# ------------------------------------------------------------------------------------------
# one unit, and the whole run


def test_run_unit_methods_and_check():
    cfg = BenchConfig(pool=_toy_pool, seeds=[0], variants=["paper", "default"])
    u = run_unit(TOY_TASKS[0], 0, cfg, keep_weights=True)
    assert u["detector_names"] == TOY_NAMES
    assert set(u["methods"]) == set(TOY_NAMES) | {"SEAD", "SEAD++", "mean", "max"}
    assert u["check_max_abs_diff"] < 1e-12  # the cached matrix reproduces the real SEAD run
    assert u["variants"]["default"]["aps"] == pytest.approx(u["methods"]["SEAD"]["aps"], abs=1e-12)
    assert u["random"]["n_random"] == 5 and 0 <= u["random"]["aps"] <= 1
    assert u["weights"]["w"].shape[1] == 5
    assert np.allclose(u["weights"]["w"].sum(axis=1), 1.0)
    for e in u["methods"].values():
        assert e["seconds"] > 0 and e["rows_per_s"] > 0


def test_methods_filter_skips_sead_plus_plus():
    cfg = BenchConfig(pool=_toy_pool, seeds=[0], methods=["base", "SEAD"])
    u = run_unit(TOY_TASKS[1], 0, cfg)
    assert set(u["methods"]) == set(TOY_NAMES) | {"SEAD"}


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    cfg = BenchConfig(
        pool=_toy_pool,
        seeds=[0, 1],
        variants=["paper", "window-250", "gated"],
        plus_variants=["pp-m3"],
        save_scores=True,
    )
    results = cli.run_benchmark(TOY_TASKS, cfg, out, command="sead-bench (test)", progress=False)
    return out, results


def test_results_json_schema(toy_run):
    out, _ = toy_run
    r = json.loads((out / "results.json").read_text())
    assert set(r["tasks"]) == {"toy-a", "toy-b"}
    methods = TOY_NAMES + ["SEAD", "SEAD++", "mean", "max"]
    for task in r["tasks"].values():
        assert set(task) == set(methods)
        for entry in task.values():
            assert set(entry) >= {"aps", "auc", "seconds", "rows_per_s"}
            assert all(len(v) == 2 for v in entry.values())  # one per seed
    assert set(r["ranks"]) == set(TOY_NAMES + ["SEAD"])
    assert set(r["ranks_all"]) == set(methods)
    for v in r["ranks"].values():
        assert set(v) >= {"mean", "var"} and 1 <= v["mean"] <= len(TOY_NAMES) + 1
    for key in (
        "config",
        "command",
        "date",
        "machine",
        "versions",
        "variants",
        "plus_variants",
        "random_detectors",
        "sead_vs_plus",
        "seeds",
    ):
        assert key in r
    assert r["seeds"] == [0, 1]
    assert set(r["variants"]) == {"paper", "window-250", "gated"}
    assert r["variants"]["paper"]["params"]["reference"] == "exact"
    assert r["random_detectors"]["n_random"] == 5
    assert r["checks"]["combine_vs_real_sead_max_abs_diff"] < 1e-12
    # ranks recomputed from the per-seed APS in the file
    means = {m: np.mean(r["tasks"]["toy-a"][m]["aps"]) for m in TOY_NAMES + ["SEAD"]}
    best = max(means, key=means.get)
    assert r["rank_tables"]["main"]["toy-a"][best] == 1.0


def test_saved_scores_reproduce_results(toy_run):
    out, _ = toy_run
    r = json.loads((out / "results.json").read_text())
    files = sorted((out / "scores").glob("*.npz"))
    assert [f.name for f in files] == [
        "toy-a-seed0.npz",
        "toy-a-seed1.npz",
        "toy-b-seed0.npz",
        "toy-b-seed1.npz",
    ]
    for f in files:
        task, seed = f.stem.rsplit("-seed", 1)
        with np.load(f) as d:
            y = d["y"]
            assert set(d.files) == {"y", *r["tasks"][task]}
            assert y.shape[0] == r["task_info"][task]["n_scored"]
            for m, entry in r["tasks"][task].items():
                assert d[m].shape == y.shape
                assert entry["aps"][int(seed)] == average_precision_score(y, d[m])
                assert entry["auc"][int(seed)] == roc_auc_score(y, d[m])


def test_markdown_and_plots(toy_run):
    out, _ = toy_run
    md = (out / "results.md").read_text()
    for text in (
        "Average precision",
        "average rank",
        "Random-detector experiment",
        "SEAD++ vs SEAD",
        "INSECTS",
        "`paper` (paper)",
        "pp-m3",
        "sead-bench (test)",
    ):
        assert text in md
    for name in ("aps.png", "ranks.png", "weights-toy-a.png", "weights-toy-b.png"):
        assert (out / name).stat().st_size > 5000
        assert f"]({name})" in md


def test_jobs_give_the_same_numbers(toy_run, tmp_path):
    _, r1 = toy_run
    cfg = BenchConfig(
        pool=_toy_pool,
        seeds=[0, 1],
        variants=["paper", "window-250", "gated"],
        plus_variants=["pp-m3"],
        jobs=2,
    )
    r2 = cli.run_benchmark(TOY_TASKS, cfg, tmp_path, progress=False, plots=False)
    for t in r1["tasks"]:
        for m in r1["tasks"][t]:
            assert r1["tasks"][t][m]["aps"] == r2["tasks"][t][m]["aps"]
    assert r1["ranks"] == r2["ranks"]


# ------------------------------------------------------------------------------------------
# the command line


def test_no_data_for_named_tasks_is_an_error_naming_urls_and_checksums(tmp_path):
    from sead.datasets import BENCHMARK_TASKS, TASKS, manifest

    empty = tmp_path / "empty"
    empty.mkdir()
    args = cli.build_parser().parse_args(["--data", str(empty), "--tasks", "all"])
    with pytest.raises(cli.BenchError) as err:
        cli.plan(args)
    files = {f for name in BENCHMARK_TASKS for f in TASKS[name].files}
    for entry in (manifest()[f] for f in files):
        assert (
            entry.url in str(err.value)
            and entry.sha256 in str(err.value)
            and entry.path in str(err.value)
        )


def test_no_data_without_named_tasks_falls_back(tmp_path, monkeypatch, capsys):
    from sead.datasets import manifest

    empty = tmp_path / "empty"
    empty.mkdir()
    p = cli.plan(cli.build_parser().parse_args(["--data", str(empty)]))
    assert p.fell_back and p.tasks == [cli.FALLBACK_TASK] and p.seeds == [0]
    calls = []

    def fake_run(tasks, config, out_dir, **kw):
        calls.append(([t.name for t in tasks], list(config.seeds), Path(out_dir)))
        raise SystemExit(0)

    monkeypatch.setattr(cli, "run_benchmark", fake_run)
    with pytest.raises(SystemExit):
        cli.main(["--data", str(empty), "--out", str(tmp_path / "o"), "--pool", "default"])
    err = capsys.readouterr().err
    assert manifest()["odds/cardio.npz"].url in err and manifest()["odds/cardio.npz"].sha256 in err
    assert "running 'river-shuttle'" in err
    assert calls == [(["river-shuttle"], [0], tmp_path / "o")]


def test_plan_defaults_and_errors(tmp_path):
    parse = cli.build_parser().parse_args
    p = cli.plan(parse(["--data", str(tmp_path), "--quick"]))
    assert p.quick and p.seeds == [0]
    p = cli.plan(parse(["--data", str(tmp_path), "--tasks", "river-shuttle", "--seeds", "3,7"]))
    assert p.tasks == ["river-shuttle"] and p.seeds == [3, 7] and not p.fell_back
    p = cli.plan(parse(["--data", str(tmp_path), "--tasks", "river-shuttle", "--variant", "all"]))
    assert p.variants == list(V.VARIANTS) and p.plus_variants == list(V.PLUS_VARIANTS)
    with pytest.raises(cli.UsageError, match="unknown task"):
        cli.plan(parse(["--tasks", "nope"]))
    with pytest.raises(cli.UsageError, match="unknown pool"):
        cli.plan(parse(["--tasks", "river-shuttle", "--pool", "nope"]))
    with pytest.raises(cli.UsageError, match="unknown variant"):
        cli.plan(parse(["--tasks", "river-shuttle", "--variant", "nope"]))
    with pytest.raises(cli.UsageError, match="--seeds"):
        cli.plan(parse(["--tasks", "river-shuttle", "--seeds", "x"]))


def test_unknown_method_is_named(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(
            [
                "--data",
                str(tmp_path),
                "--tasks",
                "river-shuttle",
                "--pool",
                "default",
                "--methods",
                "SEAD,nope",
            ]
        )
    assert e.value.code == 2 and "unknown method" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# the unit in steps: chunked runs and progress


def test_chunked_runs_give_the_same_numbers():
    """SEAD and SEAD++ run over chunks of rows (for the progress bar) match one call."""
    cfg = dict(
        pool=_toy_pool,
        seeds=[0],
        variants=["paper", "default"],
        plus_variants=["pp-m3"],
        random_counts=(5, 8),
        pp_curve=(1, 3),
    )
    one = run_unit(TOY_TASKS[0], 0, BenchConfig(**cfg), keep_weights=True)
    many = run_unit(TOY_TASKS[0], 0, BenchConfig(**cfg, chunk_rows=128), keep_weights=True)
    for key in ("methods", "plus_variants"):
        for m in one[key]:
            assert (one[key][m]["aps"], one[key][m]["auc"]) == (
                many[key][m]["aps"],
                many[key][m]["auc"],
            )
    assert one["variants"] == many["variants"] and one["random_curve"] == many["random_curve"]
    assert [p["aps"] for p in one["pp_curve"]] == [p["aps"] for p in many["pp_curve"]]
    np.testing.assert_array_equal(one["weights"]["w"], many["weights"]["w"])
    assert many["check_max_abs_diff"] < 1e-12


def test_progress_advances_inside_a_unit():
    """The callback hears of each chunk of rows as it is done, and the calls add up to unit_work."""
    from sead.bench.runner import unit_work

    cfg = BenchConfig(pool=_toy_pool, seeds=[0], variants=["paper"], chunk_rows=100, pp_curve=(2,))
    calls = []
    u = run_unit(TOY_TASKS[0], 0, cfg, progress=calls.append)
    # one pass each: SEAD, SEAD++, the SEAD++ curve's point, the random experiment, the variants
    assert sum(calls) == unit_work(cfg, u["n_rows"]) == 5 * u["n_rows"]
    assert len(calls) >= 9 + 9  # the SEAD and SEAD++ passes report per chunk of 100 rows
    assert calls[0] == 100


def test_run_reports_the_kernel_warm_up_and_a_moving_bar(capsys, monkeypatch):
    from sead.bench import runner

    monkeypatch.setattr(runner, "_WARM", set())  # as in a fresh process
    seen = []
    advance = runner._Bar.advance

    def spy(self, i, rows):
        seen.append((rows, self.n_done, self.bar.n if self.bar is not None else None))
        advance(self, i, rows)

    monkeypatch.setattr(runner._Bar, "advance", spy)
    cfg = BenchConfig(
        pool=_toy_pool, seeds=[0], variants=[], methods=["base", "SEAD"], chunk_rows=100
    )
    runner.run([TOY_TASKS[1]], cfg, progress=True, sizes={"toy-b": 700})
    err = capsys.readouterr().err
    assert "compiled (numba) kernels" in err and "kernels ready in" in err
    assert "bench-row" in err and "1/1 units" in err and "1.40k/1.40k" in err
    inside = [r for r, done, _ in seen if done == 0 and r > 0]
    assert inside[:7] == [100] * 7  # the bar moves per chunk of 100 rows while the one unit runs
    assert sum(r for r, _, _ in seen) >= 1400
