"""Tests for sead.datasets.agent_telemetry: the seeded LLM-agent telemetry generator."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sead.datasets.agent_telemetry import (
    _PRICES,
    INCIDENT_KINDS,
    RECORD_FIELDS,
    agent_telemetry,
    label_times,
    write_jsonl,
)


@pytest.fixture(scope="module")
def default():
    return agent_telemetry()


def test_deterministic_given_seed():
    a = agent_telemetry(n_agents=7, steps=150, seed=3)
    b = agent_telemetry(n_agents=7, steps=150, seed=3)
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.incidents, b.incidents)
    c = agent_telemetry(n_agents=7, steps=150, seed=4)
    assert not np.array_equal(
        a.records["latency_ms"].to_numpy(), c.records["latency_ms"].to_numpy()
    )


def test_incident_parameters_do_not_change_normal_behaviour():
    a = agent_telemetry(n_agents=6, steps=200, seed=1)
    b = agent_telemetry(n_agents=6, steps=200, seed=1, intensity=0.5)
    pd.testing.assert_frame_equal(
        a.incidents[["agent", "kind", "start_ts", "end_ts"]],
        b.incidents[["agent", "kind", "start_ts", "end_ts"]],
    )
    clean = (a.records["label"] == 0) & (b.records["label"] == 0)
    # outside incidents (and level shifts, which persist) the two streams are the same
    shifted = a.incidents.loc[a.incidents["kind"] == "level_shift", "agent"]
    keep = clean & ~a.records["agent"].isin(shifted)
    cols = ["agent", "ts", "input_tokens", "output_tokens", "latency_ms", "cost_usd"]
    pd.testing.assert_frame_equal(a.records.loc[keep, cols], b.records.loc[keep, cols])


def test_columns_types_and_order(default):
    r = default.records
    assert list(r.columns) == [*RECORD_FIELDS, "label", "incident"]
    assert len(r) == 20 * 600
    assert r["ts"].is_monotonic_increasing
    assert r["error"].dtype == bool
    for c in ("input_tokens", "output_tokens", "tool_calls", "incident"):
        assert np.issubdtype(r[c].dtype, np.integer), c
    assert (r[["latency_ms", "input_tokens", "output_tokens", "cost_usd"]] > 0).all().all()
    assert (r["tool_calls"] >= 0).all()
    assert r["agent"].nunique() == 20 and r.groupby("agent").size().eq(600).all()
    # interleaved: the agent changes between most consecutive records
    assert (r["agent"].to_numpy()[1:] != r["agent"].to_numpy()[:-1]).mean() > 0.8


def test_irregular_times_of_a_few_seconds(default):
    gaps = default.records.groupby("agent")["ts"].diff().dropna()
    assert 3.0 < gaps.mean() < 8.0
    assert gaps.std() > 1.0 and (gaps > 0).all()


def test_agents_have_different_baselines_and_heavy_tails(default):
    r = default.records[default.records["label"] == 0]
    med = r.groupby("agent")["latency_ms"].median()
    assert med.max() / med.min() > 3
    verb = r.groupby("agent")["output_tokens"].median()
    assert verb.max() / verb.min() > 2
    lat = r["latency_ms"]
    assert lat.mean() > lat.median()  # right-skewed
    assert np.corrcoef(np.log(r["output_tokens"]), np.log(r["latency_ms"]))[0, 1] > 0.2


def test_cost_is_derived_from_tokens(default):
    r = default.records
    for _, a in r.groupby("agent"):
        fits = [
            np.allclose(
                a["cost_usd"],
                np.round((a["input_tokens"] * pin + a["output_tokens"] * pout) / 1e6, 8),
            )
            for pin, pout in _PRICES
        ]
        assert sum(fits) == 1


def test_incidents_structure(default):
    inc, r = default.incidents, default.records
    assert list(inc.columns) == ["agent", "kind", "start_ts", "end_ts", "n_records", "magnitude"]
    assert set(inc["kind"]) == set(INCIDENT_KINDS)
    counts = inc["kind"].value_counts()
    assert counts.max() - counts.min() <= 1  # dealt in rounds
    assert inc["start_ts"].is_monotonic_increasing
    n_clean = 20 - inc["agent"].nunique()
    assert n_clean == 5  # clean_fraction 0.25
    for agent, g in inc.groupby("agent"):
        a = r[r["agent"] == agent]
        t = a["ts"].to_numpy()
        warm_end = t[int(np.ceil(0.2 * len(t)))]
        assert (g["start_ts"] >= warm_end).all()
        g = g.sort_values("start_ts")
        assert (g["start_ts"].to_numpy()[1:] > g["end_ts"].to_numpy()[:-1]).all()
        for i, row in g.iterrows():
            inside = a[a["incident"] == i]
            assert len(inside) == row["n_records"]
            assert inside["ts"].min() == row["start_ts"] and inside["ts"].max() == row["end_ts"]
    assert (inc.loc[inc["kind"] == "level_shift", "n_records"] == 15).all()


def test_label_column_matches_label_times(default):
    r = default.records
    ids = default.label(r["agent"], r["ts"])
    np.testing.assert_array_equal(ids, r["incident"].to_numpy())
    np.testing.assert_array_equal(ids >= 0, r["label"].to_numpy() == 1)


def _local(a, row, before=30):
    """Records of one agent just before an incident and inside it."""
    inside = a[(a["ts"] >= row.start_ts) & (a["ts"] <= row.end_ts)]
    pre = a[(a["ts"] < row.start_ts) & (a["label"] == 0)].tail(before)
    return pre, inside


def test_every_kind_moves_its_fields(default):
    r, inc = default.records, default.incidents
    for row in inc.itertuples():
        a = r[r["agent"] == row.agent]
        pre, inside = _local(a, row)
        if row.kind == "slow_drift":  # the end of the ramp
            tail = inside["latency_ms"].tail(len(inside) // 4)
            assert tail.median() > 1.6 * pre["latency_ms"].median(), row
        elif row.kind in ("latency_spike", "level_shift"):
            assert inside["latency_ms"].median() > 1.4 * pre["latency_ms"].median(), row
        elif row.kind == "runaway_tokens":
            assert inside["output_tokens"].median() > 3 * pre["output_tokens"].median(), row
            assert inside["cost_usd"].median() > pre["cost_usd"].median(), row
        elif row.kind == "error_burst":
            assert inside["error"].mean() > 0.1 > pre["error"].mean(), row
            assert inside["error"].sum() >= round(row.n_records * row.magnitude), row
        elif row.kind == "tool_call_storm":
            assert inside["tool_calls"].mean() > 2 * pre["tool_calls"].mean() + 1, row
            assert inside["input_tokens"].median() > pre["input_tokens"].median(), row


def test_level_shift_stays_as_new_normal():
    d = agent_telemetry(n_agents=6, steps=400, seed=0, kinds=["level_shift"], incidents_per_agent=1)
    r = d.records
    for row in d.incidents.itertuples():
        a = r[r["agent"] == row.agent]
        before = a[a["ts"] < row.start_ts]["latency_ms"].tail(60).median()
        long_after = a[a["ts"] > row.end_ts]["latency_ms"].median()
        assert long_after > 1.4 * before
        assert (a[a["ts"] > row.end_ts]["label"] == 0).all()


def test_slow_drift_ramps():
    d = agent_telemetry(n_agents=4, steps=600, seed=2, kinds="slow_drift", incidents_per_agent=1)
    r = d.records
    for row in d.incidents.itertuples():
        inside = r[r["incident"] == row.Index]["latency_ms"].to_numpy()
        third = len(inside) // 3
        assert np.median(inside[-third:]) > 1.5 * np.median(inside[:third])


def test_clean_fraction_and_counts():
    d = agent_telemetry(n_agents=10, steps=300, seed=5, clean_fraction=1.0)
    assert len(d.incidents) == 0 and d.records["label"].sum() == 0
    assert (d.records["incident"] == -1).all()
    d = agent_telemetry(n_agents=10, steps=300, seed=5, clean_fraction=0.0, incidents_per_agent=1)
    assert d.incidents["agent"].nunique() == 10 and len(d.incidents) == 10
    # incidents that cannot fit after the warm-up are dropped, never overlapped
    d = agent_telemetry(n_agents=3, steps=120, seed=0, clean_fraction=0.0, incidents_per_agent=6)
    for _, g in d.incidents.groupby("agent"):
        g = g.sort_values("start_ts")
        assert (g["start_ts"].to_numpy()[1:] > g["end_ts"].to_numpy()[:-1]).all()


def test_start_as_iso_string():
    a = agent_telemetry(n_agents=2, steps=10, start="2025-01-01T00:00:00Z")
    b = agent_telemetry(n_agents=2, steps=10, start=1_735_689_600.0)
    c = agent_telemetry(n_agents=2, steps=10, start="2025-01-01 00:00:00")
    pd.testing.assert_frame_equal(a.records, b.records)
    pd.testing.assert_frame_equal(a.records, c.records)


def test_scales_to_a_thousand_agents():
    d = agent_telemetry(n_agents=1000, steps=300, seed=0)
    assert len(d.records) == 300_000
    assert d.records["agent"].iloc[0].startswith("agent-") and len(d.records["agent"].iloc[0]) == 9
    assert len(d.incidents) > 1000


def test_to_jsonl_round_trip(tmp_path, default):
    path = tmp_path / "agents.jsonl"
    n = default.to_jsonl(path)
    lines = path.read_text().splitlines()
    assert n == len(lines) == len(default.records)
    objs = [json.loads(line) for line in lines]
    assert list(objs[0]) == list(RECORD_FIELDS)
    back = pd.DataFrame(objs)
    for c in RECORD_FIELDS:
        np.testing.assert_array_equal(back[c].to_numpy(), default.records[c].to_numpy(), err_msg=c)
    assert isinstance(objs[0]["error"], bool) and isinstance(objs[0]["input_tokens"], int)


def test_to_jsonl_iso_and_labels():
    d = agent_telemetry(n_agents=3, steps=50, seed=0)
    buf = io.StringIO()
    write_jsonl(d.records, buf, iso_time=True, labels=True)
    objs = [json.loads(x) for x in buf.getvalue().splitlines()]
    assert objs[0]["ts"].endswith("Z") and "label" in objs[0] and "incident" in objs[0]
    ts = pd.to_datetime([o["ts"] for o in objs], utc=True)
    secs = (ts - pd.Timestamp(0, tz="UTC")).total_seconds().to_numpy()
    np.testing.assert_allclose(secs, d.records["ts"].to_numpy(), rtol=0, atol=5e-4)


def test_write_jsonl_rejects_missing_columns_and_nan(tmp_path):
    d = agent_telemetry(n_agents=2, steps=5)
    with pytest.raises(ValueError, match=r"lack the columns \['cost_usd'\]"):
        write_jsonl(d.records.drop(columns="cost_usd"), tmp_path / "x.jsonl")
    bad = d.records.copy()
    bad.loc[0, "latency_ms"] = np.nan
    with pytest.raises(ValueError, match="'latency_ms' holds NaN"):
        write_jsonl(bad, tmp_path / "x.jsonl")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_agents": 0}, "n_agents must be an integer >= 1, got 0"),
        ({"steps": 2.5}, "steps must be an integer >= 1, got 2.5"),
        ({"seed": -1}, "seed must be a non-negative integer, got -1"),
        ({"interval_s": (5, 2)}, r"interval_s must satisfy 0 < low <= high"),
        ({"interval_s": 3}, "interval_s must be a pair"),
        ({"clean_fraction": 1.5}, r"clean_fraction must be a number in \[0.0, 1.0\], got 1.5"),
        ({"warmup_fraction": 1.0}, r"warmup_fraction must be a number in \[0.0, 1.0\), got 1.0"),
        ({"incidents_per_agent": 0.5}, "incidents_per_agent must be a finite number >= 1, got 0.5"),
        ({"intensity": 0}, "intensity must be a finite number > 0, got 0"),
        ({"load_period_s": float("nan")}, "load_period_s must be a finite number > 0"),
        (
            {"kinds": ["latency_spike", "meteor"]},
            r"kinds must be a non-empty subset .* got \['latency_spike', 'meteor'\]",
        ),
        ({"kinds": []}, "kinds must be a non-empty subset"),
        ({"start": [1]}, r"start must be epoch seconds or an ISO 8601 string, got \[1\]"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        agent_telemetry(**kwargs)


def test_label_times_checks_inputs():
    inc = pd.DataFrame({"agent": ["a"], "start_ts": [1.0], "end_ts": [2.0]})
    with pytest.raises(ValueError, match="one length"):
        label_times(["a", "b"], [1.0], inc)
    with pytest.raises(ValueError, match="width must be a finite number >= 0, got -1"):
        label_times(["a"], [1.0], inc, width=-1)
    with pytest.raises(ValueError, match=r"lacks the columns \['end_ts'\]"):
        label_times(["a"], [1.0], inc.drop(columns="end_ts"))
    assert label_times([], [], inc).tolist() == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("ab"), st.floats(0, 100), st.floats(0, 10)),
        min_size=1,
        max_size=6,
    ),
    st.lists(st.tuples(st.sampled_from("abc"), st.floats(-5, 110)), min_size=1, max_size=20),
    st.sampled_from([0.0, 1.0, 7.5]),
)
def test_label_times_matches_brute_force(intervals, points, width):
    # keep the intervals of an agent disjoint, as the generator's are
    rows, last_end = [], {}
    for agent, s, length in sorted(intervals, key=lambda x: x[1]):
        if s <= last_end.get(agent, -np.inf):
            continue
        rows.append((agent, s, s + length))
        last_end[agent] = s + length
    inc = pd.DataFrame(rows, columns=["agent", "start_ts", "end_ts"]).sample(
        frac=1.0, random_state=0
    )
    inc = inc.reset_index(drop=True)
    got = label_times([p[0] for p in points], [p[1] for p in points], inc, width=width)
    for (agent, t), g in zip(points, got):
        hits = [
            i
            for i, r in inc.iterrows()
            if r.agent == agent and t <= r.end_ts and t + width >= r.start_ts
        ]
        if hits:
            assert g in hits
        else:
            assert g == -1
