"""sead.telemetry.Monitor and AlertPolicy: events, bad records, batching, state bytes, buckets."""

from __future__ import annotations

import numpy as np
import pytest

from sead import KeyedSEAD
from sead.telemetry import AlertPolicy, Monitor
from sead.telemetry.monitor import PolicyState, default_pool, default_reference

POLICY = AlertPolicy(warmup=50, q=0.95, window=200, confirm=2, of=3)


def stream(n=900, keys=("a", "b", "c"), seed=0, spike_at=600):
    """Records of a few keys with one obvious multi-row spike on key 'b'."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        k = keys[i % len(keys)]
        lat = float(rng.normal(100, 5))
        tok = int(rng.integers(90, 110))
        if k == "b" and spike_at <= i < spike_at + 30:
            lat, tok = lat * 20, tok * 30
        out.append(
            {
                "agent": k,
                "ts": 1000.0 + i,
                "latency_ms": lat,
                "tokens": tok,
                "error": bool(rng.random() < 0.01),
            }
        )
    return out


def run(records, batch=None, **kw):
    m = Monitor(policy=POLICY, warmup=30, **kw)
    if batch is None:
        return m, m.process_many(records)
    ev = []
    for i in range(0, len(records), batch):
        ev += m.process_many(
            records[i : i + batch], where=list(range(i + 1, i + 1 + len(records[i : i + batch])))
        )
    return m, ev


def test_a_spike_fires_an_alert_with_its_explanation_and_resolves():
    m, ev = run(stream())
    alerts = [e for e in ev if e["event"] == "alert"]
    assert any(e["key"] == "b" and 1600 <= e["ts"] < 1630 for e in alerts)
    e = next(e for e in alerts if e["key"] == "b" and e["ts"] >= 1600)
    assert set(e) == {
        "event",
        "ts",
        "key",
        "rule",
        "score",
        "threshold",
        "detectors",
        "fields",
        "record",
    }
    assert e["score"] >= e["threshold"]
    assert any(f["name"] in ("latency_ms", "tokens") and f["robust_z"] > 5 for f in e["fields"])
    assert abs(sum(d["contribution"] for d in e["detectors"])) <= 1.0 + 1e-9
    assert e["record"]["agent"] == "b"
    assert any(x["event"] == "resolved" and x["key"] == "b" and x["ts"] > e["ts"] for x in ev)
    assert m.fields_ == ("error", "latency_ms", "tokens")
    assert m.stats_["scored"] == 900 and m.stats_["alerts"] == len(alerts)


def test_events_do_not_depend_on_the_batching():
    recs = stream()
    _, one = run(recs)
    _, small = run(recs, batch=7)
    assert one == small


def test_bad_records_are_problems_with_their_position_and_never_scored():
    recs = stream(300)
    bad = [
        "not a dict",
        {"ts": 5000.0, "latency_ms": 1.0, "tokens": 1, "error": False},  # no key
        {"agent": True, "ts": 5000.0, "latency_ms": 1.0, "tokens": 1, "error": False},
        {"agent": "a", "ts": "yesterday", "latency_ms": 1.0, "tokens": 1, "error": False},
        {"agent": "a", "ts": 5000.0, "latency_ms": "fast", "tokens": 1, "error": False},
        {"agent": "a", "ts": 5000.0, "latency_ms": float("inf"), "tokens": 1, "error": False},
        {
            "agent": "a",
            "ts": 10.0,
            "latency_ms": 100.0,
            "tokens": 100,
            "error": False,
        },  # back in time
    ]
    m = Monitor(policy=POLICY, warmup=30)
    m.process_many(recs, where=list(range(1, 301)))
    m.process_many(bad, where=list(range(301, 301 + len(bad))))
    probs = m.pop_problems()
    got = [(p.where, p.kind) for p in probs]
    assert got == [
        (301, "not_a_record"),
        (302, "bad_key"),
        (303, "bad_key"),
        (304, "bad_time"),
        (305, "bad_field"),
        (306, "bad_field"),
        (307, "time_backwards"),
    ]
    assert "'latency_ms'" in probs[4].message and "'fast'" in probs[4].message
    assert not any(p.scored for p in probs)
    assert m.stats_["scored"] == 300
    assert m.stats_["skipped"] == {
        "not_a_record": 1,
        "bad_key": 2,
        "bad_time": 1,
        "bad_field": 2,
        "time_backwards": 1,
    }
    assert m.pop_problems() == []


def test_a_missing_field_is_imputed_and_reported():
    recs = stream(200)
    m = Monitor(policy=POLICY, warmup=30)
    m.process_many(recs)
    m.process_many(
        [
            {"agent": "a", "ts": 5000.0, "tokens": 100, "error": False},
            {"agent": "a", "ts": 5001.0, "latency_ms": None, "tokens": 100, "error": False},
        ],
        where=[7, 8],
    )
    probs = m.pop_problems()
    assert [(p.where, p.kind, p.scored) for p in probs] == [
        (7, "missing_field", True),
        (8, "missing_field", True),
    ]
    assert "'latency_ms'" in probs[0].message
    assert m.stats_["scored"] == 202 and m.stats_["imputed"] == 2


def test_state_bytes_resume_gives_the_same_events():
    recs = stream()
    _, whole = run(recs)
    m = Monitor(policy=POLICY, warmup=30)
    first = m.process_many(recs[:500])
    m2 = Monitor.from_bytes(m.to_bytes())
    assert first + m2.process_many(recs[500:]) == whole


def test_bucketed_records_late_events_and_bad_values_have_line_numbers():
    recs = [
        {"agent": "a", "ts": float(t), "latency_ms": 100.0 + (t % 7), "error": False}
        for t in range(0, 6000, 5)
    ]
    m = Monitor(policy=AlertPolicy(warmup=5, window=20), warmup=5, bucket="60s")
    ev = m.process_many(recs, where=list(range(1, len(recs) + 1)))
    assert m.fields_ == ("count", "error_rate", "latency_ms_mean", "latency_ms_p95")
    assert m.stats_["scored"] == 6000 // 60 - 1  # the last bucket is still open
    m.process_many(
        [
            {"agent": "a", "ts": 10.0, "latency_ms": 1.0, "error": False},  # late
            {"agent": "a", "ts": 6001.0, "latency_ms": "x", "error": False},  # not a number
            {"agent": "a", "ts": 6002.0, "error": False},
        ],  # missing
        where=[2001, 2002, 2003],
    )
    probs = [(p.where, p.kind, p.scored) for p in m.pop_problems()]
    assert probs == [
        (2002, "bad_field", False),
        (2003, "missing_field", True),
        (2001, "late", False),
    ]
    ev += m.flush()
    assert m.stats_["scored"] == 6000 // 60 + 1
    assert all(e["record"]["ts"] % 60 == 0 for e in ev)


def test_twenty_fields_fit_in_64_kb_per_key_with_the_default_reference():
    X = np.random.default_rng(0).normal(size=(50, 20))
    m = KeyedSEAD(default_pool(), reference=default_reference())
    m.score_learn_many(["k"] * 50, X)
    assert m.nbytes_per_key() < 64 * 1024
    mon = Monitor()
    mon.process_many(
        [
            {"agent": "k", "ts": float(i), **{f"f{j}": float(X[i, j]) for j in range(20)}}
            for i in range(50)
        ]
    )
    assert mon.model_.nbytes_per_key() == m.nbytes_per_key()


def test_policy_confirmation_cooldown_and_fixed_threshold():
    pol = AlertPolicy(threshold=0.5, warmup=0, confirm=2, of=3, resolve_after=2, cooldown=3)
    st = PolicyState(pol, 1)
    st.reserve(1)
    S = np.array([0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.9, 0.9])
    ev, thr, _ = st.run(S, np.zeros((len(S), 1)), np.zeros(len(S), dtype=np.int64))
    assert ev.tolist() == [0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 0, 1, 0, 0]
    assert np.all(thr == 0.5)


@pytest.mark.parametrize("bad", [dict(q=1.0), dict(confirm=4, of=3), dict(window=5), dict(rule="")])
def test_bad_policy_settings_are_named(bad):
    with pytest.raises(ValueError, match=list(bad)[0]):
        AlertPolicy(**bad).check()
