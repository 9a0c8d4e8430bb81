"""sead.telemetry.Monitor and AlertPolicy: events, bad records, batching, state bytes, buckets."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sead import KeyedSEAD
from sead.alerting import AlertSignal
from sead.telemetry import AlertPolicy, Monitor
from sead.telemetry.monitor import PolicyState, default_pool, default_reference

POLICY = AlertPolicy(warmup=50, q=0.95, window=200, confirm=2, of=3)
# the fields of an alert event, in order; the detection mode (whose score is the alert signal)
# adds the ensemble's own score, "ensemble_score", after "threshold"
ALERT_FIELDS = ["event", "ts", "key", "rule", "score", "threshold", "detectors", "fields", "record"]
DETECT_ALERT_FIELDS = ALERT_FIELDS[:6] + ["ensemble_score"] + ALERT_FIELDS[6:]


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
    assert list(e) == ALERT_FIELDS
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


# ---- the detection mode: the NAB alert signal (sead.alerting.AlertSignal) per key ----------

DETECT = AlertPolicy(mode="detect", warmup=50)


def test_detect_mode_fires_once_on_the_spike_with_its_explanation_and_resolves():
    recs = stream()
    m = Monitor(policy=DETECT, warmup=30)
    ev = m.process_many(recs)
    b = [e for e in ev if e["key"] == "b" and 1600 <= e["ts"] < 1630]
    alerts = [e for e in b if e["event"] == "alert"]
    assert len(alerts) == 1  # one event, one alert: the signal suppresses the repeats
    e = alerts[0]
    assert e["ts"] <= 1604  # on the spike's first or second row of b
    assert list(e) == DETECT_ALERT_FIELDS
    assert e["threshold"] == 0.96 and e["score"] >= e["threshold"]  # the signal's threshold
    assert 0.0 <= e["ensemble_score"] <= 1.0
    assert e["fields"][0]["name"] in ("latency_ms", "tokens") and e["fields"][0]["robust_z"] > 5
    assert e["detectors"] and e["record"]["agent"] == "b"
    # resolved after resolve_after rows of b whose unsuppressed signal is below the threshold
    res = next(x for x in ev if x["key"] == "b" and x["event"] == "resolved" and x["ts"] > e["ts"])
    assert res["score"] < res["threshold"]
    # every alert fires on a detection, and a key alternates alert / resolved
    for k in ("a", "b", "c"):
        kinds = [x["event"] for x in ev if x["key"] == k]
        assert kinds[::2] == ["alert"] * len(kinds[::2])
        assert kinds[1::2] == ["resolved"] * len(kinds[1::2])
    assert all(x["score"] >= 0.96 for x in ev if x["event"] == "alert")
    assert isinstance(m.signal_, AlertSignal) and m.signal_.n_features_ == 3


def test_detect_mode_events_do_not_depend_on_the_batching():
    recs = stream()
    one = Monitor(policy=DETECT, warmup=30).process_many(recs)
    m = Monitor(policy=DETECT, warmup=30)
    small = []
    for i in range(0, len(recs), 7):
        small += m.process_many(recs[i : i + 7])
    assert one == small and any(e["event"] == "alert" for e in one)


def test_detect_mode_state_bytes_resume_gives_the_same_events():
    recs = stream()
    sig = AlertSignal(suppress=20, range_window=400)
    whole = Monitor(policy=DETECT, signal=sig, warmup=30).process_many(recs)
    for cut in (100, 500, 610):
        m = Monitor(policy=DETECT, signal=sig, warmup=30)
        first = m.process_many(recs[:cut])
        m2 = Monitor.from_bytes(m.to_bytes())
        assert m2.signal_.get_params() == sig.get_params()
        assert m2.signal_ is not sig and m.signal_ is not sig  # the given signal is a template
        slots = m.model_._index_slots
        for k, v in m.signal_.slot_state(slots).items():
            assert np.array_equal(m2.signal_.slot_state(m2.model_._index_slots)[k], v)
        assert first + m2.process_many(recs[cut:]) == whole
    assert any(e["event"] == "alert" for e in whole)


def test_an_expired_key_starts_with_a_fresh_signal():
    m = Monitor(policy=DETECT, warmup=30, ttl=100.0)
    recs = stream(150, keys=("a",))
    m.process_many(recs)
    slot = int(m.model_.slots_of(["a"])[0])
    assert m.signal_.state_["counts"][slot, 0] == 150  # rows seen by a's signal
    m.process_many([{"agent": "b", "ts": 5000.0, "latency_ms": 1.0, "tokens": 2, "error": False}])
    assert m.model_.slots_of(["a"])[0] == -1  # a expired ...
    assert not m.signal_.state_["counts"][slot].any()  # ... and its slot holds the fresh state
    assert np.isinf(m.signal_.state_["cur_max"][slot]).all()
    # a coming back is a new stream for its signal too
    back = [dict(r, ts=r["ts"] + 6000.0) for r in stream(20, keys=("a",))]
    m.process_many(back)
    assert m.signal_.state_["counts"][int(m.model_.slots_of(["a"])[0]), 0] == 20


def test_an_evicted_key_starts_with_a_fresh_signal():
    m = Monitor(policy=DETECT, warmup=30, max_keys=2)
    m.process_many(stream(300, keys=("a", "b")))
    m.process_many(stream(30, keys=("c",)))  # c evicts the least recent key, a
    assert m.model_.slots_of(["a"])[0] == -1
    assert m.signal_.state_["counts"][int(m.model_.slots_of(["b"])[0]), 0] == 150
    back = [dict(r, ts=r["ts"] + 1000.0) for r in stream(10, keys=("a",))]
    m.process_many(back)
    assert m.signal_.state_["counts"][int(m.model_.slots_of(["a"])[0]), 0] == 10


def test_signal_settings_and_modes_are_checked():
    with pytest.raises(ValueError, match="mode"):
        AlertPolicy(mode="quantile").check()
    with pytest.raises(ValueError, match="mode='detect'"):
        Monitor(signal=AlertSignal()).process_many(stream(5))
    with pytest.raises(ValueError, match="AlertSignal"):
        Monitor(policy=DETECT, signal="nab").process_many(stream(5))
    with pytest.raises(ValueError, match="threshold"):
        Monitor(policy=DETECT, signal=AlertSignal(threshold=2.0)).process_many(stream(5))
    assert Monitor(signal=None).process_many(stream(5)) == []  # persist mode: no signal
    assert Monitor().get_params()["signal"] is None


def test_policy_detect_mode_fires_on_detections_and_resolves_after_quiet_rows():
    pol = AlertPolicy(mode="detect", warmup=2, resolve_after=2, cooldown=1)
    st = PolicyState(pol, 1)
    st.reserve(1)
    A = np.array([0.9, 0.9, 0.5, 0.95, 0.1, 0.1, 0.1, 0.1, 0.1, 0.97, 0.1, 0.1, 0.1, 0.99])
    R = np.array([0.9, 0.9, 0.5, 0.95, 0.95, 0.1, 0.1, 0.1, 0.1, 0.97, 0.1, 0.1, 0.1, 0.99])
    ev, thr, _ = st.run(A, np.zeros((len(A), 1)), np.zeros(len(A), dtype=np.int64), R, 0.96)
    # rows 0-1: warm-up; row 3 is below 0.96; row 9 fires; rows 10-11 quiet: resolved at 11;
    # row 12 cools down; row 13 fires again
    assert ev.tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0, 1]
    assert np.all(thr == 0.96)
    st = PolicyState(pol, 1)
    st.reserve(1)
    A2 = np.array([0.1, 0.1, 0.99, 0.1, 0.1, 0.1])
    R2 = np.array([0.1, 0.1, 0.99, 0.99, 0.1, 0.1])  # the raw signal keeps it firing a row more
    ev, _, _ = st.run(A2, np.zeros((6, 1)), np.zeros(6, dtype=np.int64), R2, 0.96)
    assert ev.tolist() == [0, 0, 1, 0, 0, 2]


def test_nominal_rate_of_the_detect_mode():
    from sead.telemetry.watch import nominal_alert_rate

    # no age correction, no hold, resolved by one quiet row: an alert is a uniform score >= 0.99
    # after one below, i.e. a rate of 0.01 * 0.99 per row
    sig = AlertSignal(threshold=0.99, suppress=0, size_correction=0.0, range_window=None)
    pol = AlertPolicy(mode="detect", warmup=0, resolve_after=1)
    rate = nominal_alert_rate(pol, signal=sig, n_keys=100, n_rows=3000)
    assert abs(rate - 0.0099) < 1e-3
    # the defaults (hold of 100 rows, age correction) are rarer than the persistence policy
    assert 0 < nominal_alert_rate(AlertPolicy(mode="detect")) < nominal_alert_rate(AlertPolicy())


def test_a_checkpoint_holds_the_signal_parameters_in_use():
    m = Monitor(policy=DETECT, warmup=30)
    m.process_many(stream(60))
    m2 = Monitor.from_bytes(m.to_bytes())
    assert m2.signal_.get_params() == AlertSignal().get_params()
    assert m2.policy_.mode == "detect" and m2.signal_.n_features_ == 3
    # not started yet: nothing to hold but the settings
    m3 = Monitor.from_bytes(Monitor(policy=DETECT).to_bytes())
    assert m3.signal is None and m3.policy.mode == "detect"


def test_an_alert_on_a_row_with_a_missing_field_explains_the_fields_it_has():
    # the missing field carries no evidence (robust z 0), and its history keeps the last value,
    # so later explanations of that key are not poisoned by the gap
    recs = stream(900)
    for r in recs:
        if r["agent"] == "b" and 600 <= recs.index(r) < 630:
            r["latency_ms"] = None
    events = Monitor(policy=POLICY, warmup=30).process_many(recs)
    alerts = [e for e in events if e["event"] == "alert" and e["key"] == "b"]
    assert alerts
    for e in alerts:
        assert all(abs(f["robust_z"]) < 1e300 for f in e["fields"])
        for f in e["fields"]:
            if math.isnan(f["value"]):
                assert f["name"] == "latency_ms" and f["robust_z"] == 0.0
    assert any(f["name"] == "tokens" and f["robust_z"] > 5 for e in alerts for f in e["fields"])
