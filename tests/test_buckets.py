"""Tests for sead.telemetry.buckets: per-key time buckets, late events, checkpoints."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sead.datasets.agent_telemetry import agent_telemetry
from sead.telemetry.buckets import BucketAggregator, parse_duration, parse_time


def ev(agent, ts, **fields):
    return {"agent": agent, "ts": float(ts), **fields}


# ------------------------------------------------------------------ parsing


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("60s", 60.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1d", 86400.0),
        ("250ms", 0.25),
        ("1.5m", 90.0),
        ("90", 90.0),
        (" 2 min ", 120.0),
        (30, 30.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    "value", ["6x", "", "m", "-5s", "0s", 0, -1, float("inf"), float("nan"), True, None, "1e3s"]
)
def test_parse_duration_errors_name_the_value(value):
    with pytest.raises(
        ValueError, match=r"^bucket must be a positive duration .* got " + re.escape(repr(value))
    ):
        parse_duration(value)


def test_parse_time():
    assert parse_time(5) == 5.0 and parse_time(np.float64(2.5)) == 2.5
    assert parse_time("2025-01-01T00:00:00Z") == 1735689600.0
    assert parse_time("2025-01-01T01:00:00+01:00") == 1735689600.0
    assert parse_time("2025-01-01 00:00:00.250") == 1735689600.25  # naive = UTC
    assert parse_time("12.5") == 12.5
    for bad in ("yesterday", None, [1], True):
        with pytest.raises(ValueError, match="ts must be epoch seconds or an ISO 8601 string"):
            parse_time(bad)
    with pytest.raises(ValueError, match="ts must be finite, got nan"):
        parse_time(float("nan"))


# ------------------------------------------------------------------ closing


def test_bucket_closes_at_its_end_per_key():
    agg = BucketAggregator(bucket="10s", aggregations={"v": ["sum"]})
    assert agg.add_many([ev("a", 0, v=1), ev("b", 5, v=2), ev("a", 9.999, v=3)]) == []
    rows = agg.add_many(
        [ev("a", 10.0, v=4)]
    )  # exactly at the end: a's bucket closes, b's stays open
    assert rows == [{"agent": "a", "ts": 0.0, "count": 2, "v_sum": 4.0}]
    assert agg.n_open_ == 2
    rows = agg.add_many([ev("b", 35, v=1)])  # b skips empty buckets: no rows for them
    assert rows == [{"agent": "b", "ts": 0.0, "count": 1, "v_sum": 2.0}]
    assert agg.flush() == [
        {"agent": "a", "ts": 10.0, "count": 1, "v_sum": 4.0},
        {"agent": "b", "ts": 30.0, "count": 1, "v_sum": 1.0},
    ]
    assert agg.n_open_ == 0 and agg.flush() == []
    assert agg.counts_["rows"] == 4 and agg.counts_["events"] == 5


def test_label_end_origin_and_single_stream():
    agg = BucketAggregator(
        key=None, bucket="1m", aggregations={"v": ["max"]}, origin=30, label="end"
    )
    rows = agg.add_many([{"ts": 29.0, "v": 1}, {"ts": 31.0, "v": 5}, {"ts": 95.0, "v": 2}])
    assert rows == [{"ts": 30.0, "count": 1, "v_max": 1.0}, {"ts": 90.0, "count": 1, "v_max": 5.0}]
    assert agg.output_columns() == ["ts", "count", "v_max"]


def test_iso_times_in_events():
    agg = BucketAggregator(bucket="1h", aggregations={"v": ["count"]})
    agg.add_many(
        [
            {"agent": "a", "ts": "2025-01-01T00:10:00Z", "v": 1},
            {"agent": "a", "ts": "2025-01-01T00:50:00Z", "v": 1},
        ]
    )
    (row,) = agg.flush()
    assert row == {"agent": "a", "ts": 1735689600.0, "count": 2, "v_count": 2}


def test_flush_now_closes_only_ended_buckets():
    agg = BucketAggregator(bucket="60s", aggregations={"v": ["mean"]})
    agg.add_many([ev("a", 10, v=1), ev("b", 70, v=2)])
    assert agg.flush(now=59.9) == []
    assert [r["agent"] for r in agg.flush(now=60)] == ["a"]
    assert agg.flush(now="1970-01-01T00:02:00Z") == [
        {"agent": "b", "ts": 60.0, "count": 1, "v_mean": 2.0}
    ]
    # an event for a bucket closed by a flush is late
    assert agg.add_many([ev("a", 30, v=9)]) == [] and agg.counts_["late"] == 1


def test_idle_timeout_closes_quiet_keys():
    agg = BucketAggregator(bucket="60s", aggregations={"v": ["sum"]}, idle_timeout="30s")
    assert agg.add_many([ev("quiet", 5, v=1), ev("busy", 10, v=1)]) == []
    assert agg.add_many([ev("busy", 85, v=1)]) == [
        {"agent": "busy", "ts": 0.0, "count": 1, "v_sum": 1.0}
    ]
    rows = agg.add_many([ev("busy", 91, v=1)])  # watermark 91 >= 60 + 30: quiet's bucket closes
    assert rows == [{"agent": "quiet", "ts": 0.0, "count": 1, "v_sum": 1.0}]


# ------------------------------------------------------------------ late and rejected events


def test_late_events_are_counted_and_reported_never_merged():
    agg = BucketAggregator(bucket="10s", aggregations={"v": ["sum"]})
    agg.add_many([ev("a", 1, v=1), ev("a", 25, v=2)])  # closes [0, 10), opens [20, 30)
    late = [ev("a", 5, v=100), ev("a", 12, v=100)]  # a closed bucket, and a skipped one
    assert agg.add_many(late) == []
    assert agg.counts_["late"] == 2
    probs = agg.pop_problems()
    assert [p["reason"] for p in probs] == ["late", "late"] and [p["record"] for p in probs] == late
    assert "before the open bucket starting at 20.0" in probs[0]["detail"]
    assert agg.pop_problems() == []
    assert agg.flush() == [{"agent": "a", "ts": 20.0, "count": 1, "v_sum": 2.0}]
    assert agg.add_many([ev("a", 29, v=1)]) == [] and agg.counts_["late"] == 3
    assert "before the last closed bucket" in agg.pop_problems()[0]["detail"]
    assert agg.add_many([ev("a", 30, v=1)]) == [] and agg.n_open_ == 1


def test_rejected_events():
    agg = BucketAggregator(bucket="10s", aggregations={"v": ["sum"]})
    bad = [
        {"ts": 1.0, "v": 1},
        {"agent": ["x"], "ts": 1.0},
        {"agent": "a"},
        {"agent": "a", "ts": "noon"},
        {"agent": "a", "ts": float("nan")},
        "not a dict",
        {"agent": True, "ts": 1.0},
    ]
    assert agg.add_many(bad) == [] and agg.counts_["rejected"] == 7 and agg.counts_["events"] == 0
    reasons = [(p["reason"], p["detail"]) for p in agg.pop_problems()]
    assert reasons[0] == ("bad key", "key field 'agent': missing")
    assert reasons[1] == ("bad key", "key field 'agent': ['x'] is not a str or int")
    assert reasons[2] == ("bad time", "time field 'ts' is missing")
    assert reasons[3][0] == "bad time" and "'noon'" in reasons[3][1]
    assert reasons[4] == ("bad time", "time field 'ts' must be finite, got nan")
    assert reasons[5] == ("bad key", "an event must be a dict, got str")
    assert agg.n_open_ == 0


def test_problem_buffer_is_bounded():
    agg = BucketAggregator(bucket="10s", aggregations={"v": ["sum"]}, max_problems=3)
    agg.add_many([{"agent": "a"}] * 5)
    assert len(agg.pop_problems()) == 3 and agg.counts_["problems_dropped"] == 2


# ------------------------------------------------------------------ aggregations


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=60))
def test_aggregates_match_numpy(values):
    aggs = [
        "count",
        "mean",
        "sum",
        "min",
        "max",
        "first",
        "last",
        "p0",
        "p50",
        "p95",
        "p99",
        "p99.9",
        "p100",
    ]
    agg = BucketAggregator(bucket="1h", aggregations={"v": aggs})
    agg.add_many([ev("a", i, v=x) for i, x in enumerate(values)])
    (row,) = agg.flush()
    x = np.array(values)
    tol = dict(rel=1e-9, abs=1e-6)
    assert row["count"] == row["v_count"] == len(values)
    assert row["v_mean"] == pytest.approx(x.mean(), **tol) and row["v_sum"] == pytest.approx(
        x.sum(), **tol
    )
    assert row["v_min"] == x.min() and row["v_max"] == x.max()
    assert row["v_first"] == values[0] and row["v_last"] == values[-1]
    for q in (0, 50, 95, 99, 99.9, 100):
        assert row[f"v_p{q:g}"] == pytest.approx(np.percentile(x, q), **tol), q


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=50))
def test_rate_is_the_share_of_true(flags):
    agg = BucketAggregator(bucket="1h", aggregations={"error": ["rate", "count"]})
    agg.add_many([ev("a", i, error=f) for i, f in enumerate(flags)])
    (row,) = agg.flush()
    assert row["error_rate"] == pytest.approx(sum(flags) / len(flags)) and row[
        "error_count"
    ] == len(flags)


def test_default_aggregations_are_inferred_from_the_first_event():
    agg = BucketAggregator(bucket="60s")
    agg.add_many(
        [
            {"agent": "a", "ts": 1.0, "latency_ms": 10, "error": True, "model": "x", "cost": 0.5},
            {"agent": "a", "ts": 2.0, "latency_ms": 30, "error": False, "model": "y", "cost": 1.5},
        ]
    )
    assert agg.fields_ == {
        "cost": ["mean", "p95"],
        "error": ["rate"],
        "latency_ms": ["mean", "p95"],
    }
    (row,) = agg.flush()
    assert row == {
        "agent": "a",
        "ts": 0.0,
        "count": 2,
        "cost_mean": 1.0,
        "cost_p95": 1.45,
        "error_rate": 0.5,
        "latency_ms_mean": 20.0,
        "latency_ms_p95": 29.0,
    }
    assert agg.output_columns() == list(row)
    with pytest.raises(ValueError, match="inferred from the first event"):
        BucketAggregator().output_columns()


def test_invalid_values_are_skipped_and_counted():
    agg = BucketAggregator(
        bucket="60s",
        aggregations={"lat": ["mean", "p95", "count"], "error": ["rate"], "model": ["last"]},
    )
    agg.add_many(
        [
            ev("a", 1, lat=10.0, error=False, model="m1"),
            ev("a", 2, lat=None, error=2, model=None),
            ev("a", 3, lat="fast", error="no", model="m2"),
            ev("a", 4, lat=float("inf"), error=1, model=float("nan")),
            ev("a", 5, lat=np.float32(30.0), error=0.0),
            ev("b", 6, lat=float("nan"), error=None, model="m3"),
        ]
    )
    rows = agg.flush()
    assert rows[0] == {
        "agent": "a",
        "ts": 0.0,
        "count": 5,
        "lat_mean": 20.0,
        "lat_p95": 29.0,
        "lat_count": 2,
        "error_rate": 1 / 3,
        "model_last": "m2",
    }
    assert rows[1] == {
        "agent": "b",
        "ts": 0.0,
        "count": 1,
        "lat_mean": None,
        "lat_p95": None,
        "lat_count": 0,
        "error_rate": None,
        "model_last": "m3",
    }
    assert agg.counts_["invalid_values"] == {"lat": 4, "error": 3, "model": 3}


def test_on_invalid_raise_changes_nothing():
    agg = BucketAggregator(bucket="60s", aggregations={"lat": ["mean"]}, on_invalid="raise")
    agg.add_many([ev("a", 1, lat=1.0)])
    before = json.dumps(agg.state_dict())
    with pytest.raises(
        ValueError, match=r"event 1 \(key 'b'\): field 'lat' has the invalid value 'slow'"
    ):
        agg.add_many([ev("a", 70, lat=2.0), ev("b", 2, lat="slow")])
    assert json.dumps(agg.state_dict()) == before


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bucket": "6x"}, "bucket must be a positive duration .* got '6x'"),
        ({"aggregations": {"v": ["p101"]}}, "aggregation 'p101' for field 'v' is not supported"),
        (
            {"aggregations": {"v": ["median"]}},
            "aggregation 'median' for field 'v' is not supported",
        ),
        ({"aggregations": {"v": []}}, r"aggregations\['v'\] must be a non-empty list"),
        ({"aggregations": {"ts": ["mean"]}}, "field 'ts' is the key or time field"),
        ({"aggregations": []}, "aggregations must be a non-empty dict"),
        ({"key": "ts"}, "key and time must be different fields, both are 'ts'"),
        ({"key": ""}, "key must be a field name"),
        ({"time": 3}, "time must be a field name"),
        ({"label": "middle"}, "label must be 'start' or 'end', got 'middle'"),
        ({"idle_timeout": "-1s"}, "idle_timeout must be a positive duration"),
        ({"on_invalid": "drop"}, "on_invalid must be 'skip' or 'raise', got 'drop'"),
        ({"max_problems": -1}, "max_problems must be an integer >= 0, got -1"),
        ({"origin": float("nan")}, "origin must be finite epoch seconds, got nan"),
    ],
)
def test_bad_parameters_are_named(kwargs, match):
    agg = BucketAggregator(**kwargs)  # __init__ only stores
    with pytest.raises(ValueError, match=match):
        agg.add_many([ev("a", 1, v=1.0)])


# ------------------------------------------------------------------ checkpoints


def _stream(n_agents=30, steps=120, seed=0):
    return agent_telemetry(n_agents=n_agents, steps=steps, seed=seed).records.drop(
        columns=["label", "incident"]
    )


def test_state_dict_round_trip_gives_the_same_rows():
    recs = _stream().to_dict("records")
    aggs = {"latency_ms": ["mean", "p95"], "error": ["rate"], "tool_calls": ["sum"]}
    full = BucketAggregator(bucket="60s", aggregations=aggs)
    want = full.add_many(recs) + full.flush()
    for cut in (0, 1, 777, len(recs) // 2, len(recs)):
        a = BucketAggregator(bucket="60s", aggregations=aggs)
        got = a.add_many(recs[:cut])
        state = json.loads(json.dumps(a.state_dict(), allow_nan=False))  # strict JSON
        b = BucketAggregator.from_state_dict(state)
        got += b.add_many(recs[cut:]) + b.flush()
        assert got == want
        assert b.counts_ == full.counts_


def test_state_dict_with_inferred_fields_and_int_keys():
    a = BucketAggregator(bucket="10s")
    a.add_many([{"agent": 7, "ts": 1.0, "x": 2}, {"agent": 7, "ts": 2.0, "x": 4}])
    b = BucketAggregator.from_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.fields_ == {"x": ["mean", "p95"]}
    assert (
        b.flush() == a.flush() == [{"agent": 7, "ts": 0.0, "count": 2, "x_mean": 3.0, "x_p95": 3.9}]
    )


def test_from_state_dict_rejects_bad_state():
    with pytest.raises(ValueError, match="not a BucketAggregator state of version 1"):
        BucketAggregator.from_state_dict({"version": 99})
    with pytest.raises(ValueError, match="not a BucketAggregator state"):
        BucketAggregator.from_state_dict([1])
    good = BucketAggregator(bucket="10s", aggregations={"v": ["sum"]})
    good.add_many([ev("a", 1, v=1)])
    state = good.state_dict()
    del state["keys"]
    with pytest.raises(ValueError, match="malformed BucketAggregator state"):
        BucketAggregator.from_state_dict(state)
    state = good.state_dict()
    state["keys"][0][4] = []
    with pytest.raises(ValueError, match="key 'a' has 0 value lists for 1 fields"):
        BucketAggregator.from_state_dict(state)


# ------------------------------------------------------------------ against pandas


def test_matches_pandas_groupby_on_generated_telemetry():
    df = _stream(n_agents=20, steps=200, seed=3)
    agg = BucketAggregator(
        bucket="2m",
        aggregations={
            "latency_ms": ["mean", "p95", "max"],
            "error": ["rate"],
            "output_tokens": ["sum"],
        },
    )
    rows = agg.add_many(df.to_dict("records")) + agg.flush()
    assert agg.counts_["late"] == 0 and agg.counts_["rejected"] == 0
    got = pd.DataFrame(rows).sort_values(["agent", "ts"]).reset_index(drop=True)
    df["b"] = np.floor(df["ts"] / 120.0) * 120.0
    g = df.groupby(["agent", "b"])
    ref = (
        pd.DataFrame(
            {
                "count": g.size(),
                "latency_ms_mean": g["latency_ms"].mean(),
                "latency_ms_p95": g["latency_ms"].quantile(0.95),
                "latency_ms_max": g["latency_ms"].max(),
                "error_rate": g["error"].mean(),
                "output_tokens_sum": g["output_tokens"].sum(),
            }
        )
        .reset_index()
        .rename(columns={"b": "ts"})
    )
    assert len(got) == len(ref)
    assert (got["agent"] == ref["agent"]).all()
    for c in [
        "ts",
        "count",
        "latency_ms_mean",
        "latency_ms_p95",
        "latency_ms_max",
        "error_rate",
        "output_tokens_sum",
    ]:
        np.testing.assert_allclose(
            got[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-12, err_msg=c
        )
    assert all(isinstance(v, float) or v is None for v in got["latency_ms_mean"])
    assert not any(isinstance(v, float) and math.isnan(v) for r in rows for v in r.values())
