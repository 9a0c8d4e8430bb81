"""The accuracy sections of sead-bench's reports, on a toy pool and tiny in-memory tasks:
oracle, SEAD vs mean, SEAD vs the best fixed detector, the random-detector curve, the SEAD++
accuracy-speed curve, the seed groups, the throughput table, and the one-task / one-seed
wording. Every number is recomputed here from the per-seed values in results.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from sead.bench import cli
from sead.bench.metrics import rank_summary, rank_table
from sead.bench.plots import method_styles
from sead.bench.report import default_confirm_seeds
from sead.bench.runner import BenchConfig

from .test_bench import TOY_NAMES, TOY_TASKS, _toy_pool


def _mean(v):
    v = [x for x in v if x is not None and math.isfinite(x)]
    return float(np.mean(v))


@pytest.fixture(scope="module")
def run5(tmp_path_factory):
    """One toy task, 5 seeds, every accuracy section (random curve 5 and 10, SEAD++ curve)."""
    out = tmp_path_factory.mktemp("bench5")
    cfg = BenchConfig(
        pool=_toy_pool,
        seeds=[0, 1, 2, 3, 4],
        variants=["paper", "default", "eta-0"],
        random_counts=(5, 10),
        pp_curve=(1, 2, 5),
    )
    results = cli.run_benchmark(
        [TOY_TASKS[1]], cfg, out, command="sead-bench (test)", progress=False
    )
    return out, json.loads((out / "results.json").read_text()), results


@pytest.fixture(scope="module")
def run2(tmp_path_factory):
    """Two toy tasks, two seeds, default random counts (13, 26, 52)."""
    out = tmp_path_factory.mktemp("bench2")
    cfg = BenchConfig(pool=_toy_pool, seeds=[0, 1], variants=["paper", "default"])
    cli.run_benchmark(TOY_TASKS, cfg, out, progress=False)
    return out, json.loads((out / "results.json").read_text())


def test_oracle_mean_and_best_fixed(run2):
    _, r = run2
    tasks = r["tasks"]
    fractions = []
    for t, per in tasks.items():
        means = {m: _mean(per[m]["aps"]) for m in TOY_NAMES}
        best = max(means, key=means.get)
        o = r["oracle"]["per_task"][t]
        assert o["detector"] == best and o["aps"] == pytest.approx(means[best])
        sead = _mean(per["SEAD"]["aps"])
        assert o["sead_fraction"] == pytest.approx(sead / means[best])
        fractions.append(sead / means[best])
        m = r["sead_vs_mean"]["per_task"][t]
        assert m["margin"] == pytest.approx(sead - _mean(per["mean"]["aps"]))
    assert r["oracle"]["mean_fraction"] == pytest.approx(np.mean(fractions))
    vm = r["sead_vs_mean"]
    assert vm["wins"] + vm["losses"] + vm["ties"] == len(tasks)
    overall = {m: np.mean([_mean(tasks[t][m]["aps"]) for t in tasks]) for m in TOY_NAMES}
    fixed = max(overall, key=overall.get)
    vf = r["sead_vs_best_fixed"]
    assert vf["detector"] == fixed
    assert vf["mean_margin"] == pytest.approx(np.mean([vf["per_task"][t]["margin"] for t in tasks]))
    assert vf["other_mean_aps"] == pytest.approx(overall[fixed])


def test_random_curve_default_counts(run2):
    out, r = run2
    rc = r["random_curve"]
    assert rc["counts"] == [0, 13, 26, 52] and [p["n_random"] for p in rc["points"]] == [
        0,
        13,
        26,
        52,
    ]
    assert rc["points"][0]["rel_change_of_mean_aps"] == 0.0
    for p in rc["points"][1:]:
        mean_aps = np.mean([_mean(rc["tasks"][t][str(p["n_random"])]["aps"]) for t in r["tasks"]])
        assert p["mean_aps"] == pytest.approx(mean_aps)
        assert p["rel_change_of_mean_aps"] == pytest.approx(
            mean_aps / rc["points"][0]["mean_aps"] - 1
        )
        assert 0 < p["final_weight_random"] < 1
    md = (out / "results.md").read_text()
    assert "## Random-detector curve" in md and "](random-curve.png)" in md
    assert (out / "random-curve.png").stat().st_size > 5000


def test_random_curve_reproduces_the_experiment_at_its_count(run5):
    _, r, _ = run5
    rc = r["random_curve"]
    assert rc["counts"] == [0, 5, 10] and rc["n_random_experiment"] == 5  # the pool has 5 detectors
    for t, p in r["random_detectors"]["tasks"].items():
        assert rc["tasks"][t]["5"]["aps"] == p["aps"]
        assert rc["tasks"][t]["0"]["aps"] == r["tasks"][t]["SEAD"]["aps"]


def test_pp_curve(run5):
    out, r, _ = run5
    pc = r["pp_curve"]
    assert pc["pool_size"] == 5 and pc["n_sampled"] == [1, 2, 5]
    t = "toy-b"
    by_m = {p["n_sampled"]: p for p in pc["points"]}
    # n_sampled = 2 is SEAD++'s default on 5 detectors: the point is the SEAD++ method's run
    assert by_m[2]["tasks"][t]["aps"] == r["tasks"][t]["SEAD++"]["aps"]
    for p in pc["points"]:
        aps = _mean(p["tasks"][t]["aps"])
        sead = _mean(r["tasks"][t]["SEAD"]["aps"])
        assert p["aps_rel_change"] == pytest.approx(aps / sead - 1)
        secs = sum(p["tasks"][t]["seconds"])
        assert p["speedup_total_time"] == pytest.approx(
            sum(r["tasks"][t]["SEAD"]["seconds"]) / secs
        )
    md = (out / "results.md").read_text()
    assert "## SEAD++ accuracy-speed curve" in md and "| 5 of 5 |" in md and "](pp-curve.png)" in md


def test_seed_groups(run5):
    out, r, _ = run5
    sg = r["seed_groups"]
    assert sg["selection"]["seeds"] == [0, 1, 2] and sg["confirmation"]["seeds"] == [3, 4]
    per = r["tasks"]["toy-b"]
    for group, idx in (("selection", [0, 1, 2]), ("confirmation", [3, 4])):
        aps = {"toy-b": {m: [per[m]["aps"][i] for i in idx] for m in TOY_NAMES + ["SEAD"]}}
        rank = rank_summary(rank_table(aps, TOY_NAMES + ["SEAD"]), TOY_NAMES + ["SEAD"])["SEAD"][
            "mean"
        ]
        assert sg[group]["sead"]["rank"] == rank
        v = r["variants"]["paper"]["tasks"]["toy-b"]["aps"]
        assert sg[group]["variants"]["paper"]["mean_aps"] == pytest.approx(
            np.mean([v[i] for i in idx])
        )
    assert sg["agreement"]["best_on_selection"] in r["variants"]
    md = (out / "results.md").read_text()
    assert "## Seed groups: selection seeds [0, 1, 2], confirmation seeds [3, 4]" in md
    assert default_confirm_seeds([0, 1, 2, 3]) == [2, 3] and default_confirm_seeds(range(10)) == [
        6,
        7,
        8,
        9,
    ]


def test_seed_groups_by_option_and_off(run2, tmp_path):
    _, r = run2
    assert r["seed_groups"] is None  # two seeds: no split unless asked
    cfg = BenchConfig(
        pool=_toy_pool, seeds=[0, 1], variants=["paper"], confirm_seeds=[1], random_counts=()
    )
    res = cli.run_benchmark([TOY_TASKS[1]], cfg, tmp_path, progress=False, plots=False)
    assert res["seed_groups"]["selection"]["seeds"] == [0] and res["seed_groups"]["confirmation"][
        "seeds"
    ] == [1]
    assert res["random_curve"] is None


def test_one_task_one_seed_say_not_defined(tmp_path):
    cfg = BenchConfig(pool=_toy_pool, seeds=[0], variants=["paper"], random_counts=())
    res = cli.run_benchmark([TOY_TASKS[1]], cfg, tmp_path, progress=False)
    md = (tmp_path / "results.md").read_text()
    assert "± 0.000" not in md and "± n/a" in md and "n/a (one seed)" in md
    rank_var_row = next(line for line in md.splitlines() if line.startswith("| rank var |"))
    assert "0.00" not in rank_var_row and "n/a (one task)" in rank_var_row
    assert "| SEAD | " in md and "n/a (one task) |" in md
    assert res["spreads"] == {
        "rank_variance_defined": False,
        "seed_std_defined": False,
        "n_tasks_ranked": 1,
        "n_seeds": 1,
    }
    assert (tmp_path / "ranks.png").stat().st_size > 5000  # points, not empty boxes
    summary = cli._summary(res)
    assert "n/a (one task)" in summary and " 0.00 " not in summary.splitlines()[1]


def test_throughput_table(run2):
    out, r = run2
    for m in TOY_NAMES + ["SEAD", "SEAD++", "mean", "max"]:
        rows = sum(
            r["task_info"][t]["n_rows"] * len(r["tasks"][t][m]["seconds"]) for t in r["tasks"]
        )
        secs = sum(s for t in r["tasks"] for s in r["tasks"][t][m]["seconds"])
        assert r["throughput"][m]["rows_per_s"] == pytest.approx(rows / secs)
    md = (out / "results.md").read_text()
    assert "Measured throughput per method" in md and "not the progress bar's rate" in md


def test_every_method_has_its_own_style():
    from sead import pools

    base = list(pools.named(pools.paper(0)))
    methods = base + ["SEAD", "SEAD++", "mean", "max"]
    st = method_styles(methods, base)
    pairs = {(str(s["color"]), s["marker"]) for s in st.values()}
    colors = {str(s["color"]) for s in st.values()}
    assert len(pairs) == len(colors) == len(methods)
    assert st["SEAD++"]["color"] != st["IForestASD-3"]["color"]


def test_results_json_holds_parameter_objects_as_their_repr():
    # a variant whose reference is an instance (td-50-100) once made results.json fail at the end
    import json

    from sead.bench.report import _clean
    from sead.normalization import TDigestQuantile

    out = json.loads(json.dumps(_clean({"reference": TDigestQuantile(compression=50), "n": None})))
    assert out == {"reference": "TDigestQuantile(compression=50, buffer_size=500)", "n": None}
