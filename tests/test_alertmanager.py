"""sead.telemetry.alertmanager against a real Prometheus Alertmanager (tests/_alertmanager.py)."""

from __future__ import annotations

import json
import logging
import time

import pytest

from sead.telemetry.alertmanager import (
    FINGERPRINT_LABEL,
    AlertmanagerSink,
    alert_from_event,
    fingerprint,
)

# The fixtures alertmanager, alertmanager_factory and alertmanager_binary come from
# tests/_alertmanager.py through tests/conftest.py.
from ._alertmanager import Blackhole, Proxy, free_port

FAST = dict(backoff_initial=0.02, backoff_max=0.1, timeout=2.0)


def event(key="checkout/latency{route=/pay}", kind="alert", ts=None, rule=None, score=0.997):
    ev = {
        "event": kind,
        "ts": time.time() - 30 if ts is None else ts,
        "key": key,
        "score": score,
        "threshold": 0.99,
        "detectors": [
            {"name": "ZScoreRule", "weight": 0.2, "quantile": 0.9},
            {"name": "HalfSpaceTrees", "weight": 0.5, "quantile": 0.999},
        ],
        "fields": [
            {"name": "count", "value": 12.0, "robust_z": 0.4, "attribution": 0.05},
            {"name": "p95", "value": 812.5, "robust_z": 9.41, "attribution": 0.8},
        ],
        "record": {"key": key, "ts": 0.0, "p95": 812.5, "count": 12.0},
    }
    if rule is not None:
        ev["rule"] = rule
    return ev


def by_key(alerts):
    return {a["labels"]["key"]: a for a in alerts}


@pytest.fixture
def proxy():
    p = Proxy(None)
    yield p
    p.close()


# ------------------------------------------------------------------ real Alertmanager


def test_alerts_round_trip(alertmanager):
    t0 = 1_700_000_000.25
    evs = [
        event("checkout/latency{route=/pay}", ts=t0),
        event("cart/errors", ts=t0 + 1, rule="errors"),
        event("checkout/latency{route=/pay}", ts=t0 + 5),  # same key and rule: same alert
    ]
    with AlertmanagerSink(
        alertmanager.url,
        labels={"severity": "warning"},
        generator_url="http://sead.example/streams?key={key}&fp={fingerprint}",
        **FAST,
    ) as sink:
        sink.send(evs)
        assert sink.flush(10)
        assert sink.stats()["sent"] == 3 and sink.pending() == []
    got = by_key(alertmanager.alerts())
    assert set(got) == {"checkout/latency{route=/pay}", "cart/errors"}
    a = got["checkout/latency{route=/pay}"]
    fp = fingerprint("checkout/latency{route=/pay}", "sead")
    assert a["labels"] == {
        "alertname": "SeadAnomaly",
        "key": "checkout/latency{route=/pay}",
        "rule": "sead",
        FINGERPRINT_LABEL: fp,
        "severity": "warning",
    }
    assert a["startsAt"] == "2023-11-14T22:13:20.250Z"  # the first event of the episode
    assert a["status"]["state"] == "active"
    assert (
        a["generatorURL"]
        == f"http://sead.example/streams?key=checkout%2Flatency%7Broute%3D%2Fpay%7D&fp={fp}"
    )
    ann = a["annotations"]
    assert (
        ann["summary"]
        == "anomaly on checkout/latency{route=/pay}: score 0.997 >= threshold 0.99 (rule sead)"
    )
    assert ann["description"].splitlines() == [
        "score 0.997 >= threshold 0.99 at 2023-11-14T22:13:25.250Z",
        "top detectors: HalfSpaceTrees (weight 0.5, quantile 0.999); "
        "ZScoreRule (weight 0.2, quantile 0.9)",
        "top fields: p95 = 812.5 (robust z 9.41, attribution 0.8); "
        "count = 12 (robust z 0.4, attribution 0.05)",
    ]
    assert ann["score"] == "0.997" and ann["threshold"] == "0.99"
    assert got["cart/errors"]["labels"]["rule"] == "errors"
    assert got["cart/errors"]["labels"][FINGERPRINT_LABEL] == fingerprint("cart/errors", "errors")
    assert got["cart/errors"]["startsAt"] == "2023-11-14T22:13:21.250Z"


def test_resolved_event_sets_ends_at_and_the_alert_expires(alertmanager):
    now = time.time()
    with AlertmanagerSink(alertmanager.url, **FAST) as sink:
        sink.send([event("a/x", ts=now - 60), event("b/y", ts=now - 60)])
        assert sink.flush(10)
        assert set(by_key(alertmanager.alerts())) == {"a/x", "b/y"}
        # a/x resolved a moment from now: still listed, with our endsAt; b/y resolved already
        sink.send(
            [
                event("a/x", "resolved", ts=now + 2.0, score=0.2),
                event("b/y", "resolved", ts=now - 1),
            ]
        )
        assert sink.flush(10)
        assert sink.active() == []
    got = by_key(alertmanager.alerts())
    assert set(got) == {"a/x"}
    a = got["a/x"]
    assert a["endsAt"] == alert_from_event(event("a/x", "resolved", ts=now + 2.0))["endsAt"]
    assert a["startsAt"] == alert_from_event(event("a/x", ts=now - 60))["startsAt"]
    assert a["annotations"]["summary"] == "resolved: a/x: score 0.2 < threshold 0.99 (rule sead)"
    assert alertmanager.wait_for(lambda al: not al, timeout=8) == []  # expired


def test_alertmanager_down_at_first_then_started_later(alertmanager_factory):
    am = alertmanager_factory(port=free_port())  # its port, nothing listening yet
    sink = AlertmanagerSink(am.url, **FAST)
    try:
        sink.send([event(f"svc/m{i}") for i in range(5)])
        deadline = time.monotonic() + 5
        while sink.stats()["retried"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        st = sink.stats()
        assert st["retried"] >= 2 and st["sent"] == 0 and st["queued"] == 5
        assert "cannot post" in st["last_error"]
        assert len(sink.pending()) == 5
        am.start()
        assert sink.flush(10)
        assert sink.stats()["sent"] == 5 and sink.stats()["failed"] == 0
    finally:
        sink.close(1)
    assert set(by_key(am.alerts())) == {f"svc/m{i}" for i in range(5)}


def test_5xx_is_retried_with_backoff_and_each_alert_is_delivered_once(alertmanager, proxy):
    proxy.upstream = alertmanager.url
    proxy.fail_next = 3
    with AlertmanagerSink(proxy.url, resend_interval=None, **FAST) as sink:
        sink.send([event(f"svc/m{i}") for i in range(4)])
        assert sink.flush(10)
        st = sink.stats()
    assert st["retried"] == 3 and st["sent"] == 4 and st["failed"] == 0
    assert "HTTP 503" in st["last_error"]
    assert proxy.posts == 4  # one batch: three refusals, then accepted
    assert sorted(a["labels"]["key"] for a in proxy.delivered) == [f"svc/m{i}" for i in range(4)]
    assert len(alertmanager.alerts()) == 4


def test_pending_and_restore_across_a_restart_lose_and_duplicate_nothing(alertmanager, proxy):
    proxy.upstream = alertmanager.url
    now = time.time()
    first = [event("s/a", ts=now - 50), event("s/b", ts=now - 50)]
    second = [
        event("s/c", ts=now - 40),
        event("s/a", "resolved", ts=now - 30),
        event("s/d", ts=now - 20),
    ]
    sink = AlertmanagerSink(proxy.url, resend_interval=None, **FAST)
    sink.send(first)
    assert sink.flush(10)
    proxy.mode = 503  # Alertmanager "down"
    sink.send(second)
    assert not sink.close(0.3)  # the process stops with alerts undelivered
    checkpoint = json.loads(json.dumps({"pending": sink.pending(), "active": sink.active()}))
    assert [a["labels"]["key"] for a in checkpoint["pending"]] == ["s/c", "s/a", "s/d"]
    assert sorted(a["labels"]["key"] for a in checkpoint["active"]) == ["s/b", "s/c", "s/d"]
    assert [a["labels"]["key"] for a in proxy.delivered] == ["s/a", "s/b"]
    resolved_a = checkpoint["pending"][1]
    assert resolved_a["startsAt"] == alert_from_event(first[0])["startsAt"]  # the episode start

    proxy.mode = "forward"  # back up; a new process restores the checkpoint
    restarted = AlertmanagerSink(proxy.url, resend_interval=None, **FAST)
    restarted.restore(checkpoint["pending"], checkpoint["active"])
    assert restarted.flush(10)
    assert restarted.stats()["sent"] == 3
    delivered = [a["labels"]["key"] for a in proxy.delivered]
    assert delivered == ["s/a", "s/b", "s/c", "s/a", "s/d"]  # each alert exactly once, in order
    assert proxy.delivered[2:] == checkpoint["pending"]
    assert set(by_key(alertmanager.alerts())) == {"s/b", "s/c", "s/d"}  # s/a resolved
    # the restored episode start is kept: a later alert for s/c keeps its startsAt
    restarted.send([event("s/c", ts=now - 5)])
    assert restarted.flush(10)
    restarted.close(1)
    assert (
        by_key(alertmanager.alerts())["s/c"]["startsAt"] == alert_from_event(second[0])["startsAt"]
    )


def test_firing_alerts_are_resent_until_resolved(alertmanager, proxy):
    proxy.upstream = alertmanager.url
    with AlertmanagerSink(proxy.url, resend_interval=0.15, **FAST) as sink:
        sink.send([event("s/a")])
        deadline = time.monotonic() + 5
        while sink.stats()["resent"] < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sink.stats()["resent"] >= 2 and sink.stats()["sent"] == 1
        assert sink.pending() == []  # re-posts are not pending alerts
        sink.send([event("s/a", "resolved", ts=time.time() - 1)])
        assert sink.flush(5)
        n = len(proxy.delivered)
        time.sleep(0.4)
        assert len(proxy.delivered) == n  # no re-post after the resolve
    assert [a["labels"]["key"] for a in proxy.delivered] == ["s/a"] * n
    assert "endsAt" in proxy.delivered[-1]
    assert alertmanager.alerts() == []


# ------------------------------------------------------------------ no Alertmanager needed


def test_send_returns_at_once_while_the_server_hangs():
    hole = Blackhole()
    sink = AlertmanagerSink(hole.url, timeout=5.0, backoff_initial=0.05, backoff_max=0.1)
    try:
        t = time.perf_counter()
        for i in range(200):
            sink.send([event(f"svc/m{i}")])
        elapsed = time.perf_counter() - t
        # a synchronous post would wait 5 s for the first answer
        assert elapsed < 1.0
        assert sink.stats()["queued"] == 200 and sink.stats()["sent"] == 0
        t = time.perf_counter()
        assert not sink.flush(0.2)
        assert time.perf_counter() - t < 1.0
    finally:
        t = time.perf_counter()
        assert not sink.close(0.2)
        assert time.perf_counter() - t < 1.0  # close honours its timeout too
        hole.close()
    assert len(sink.pending()) == 200  # the in-flight batch included


def test_4xx_is_not_retried_and_is_counted_and_logged(proxy, caplog):
    proxy.mode = 404
    with caplog.at_level(logging.ERROR, logger="sead.telemetry.alertmanager"):
        with AlertmanagerSink(proxy.url, **FAST) as sink:
            sink.send([event("s/a"), event("s/b")])
            assert sink.flush(5)
            st = sink.stats()
    assert st["failed"] == 2 and st["retried"] == 0 and st["sent"] == 0
    assert "HTTP 404" in st["last_error"] and proxy.posts == 1
    assert any("rejected 2 alerts" in r.getMessage() for r in caplog.records)


def test_full_queue_drops_superseded_states_first_then_the_oldest(caplog):
    port = free_port()  # nothing listens: every post is refused
    sink = AlertmanagerSink(
        f"http://127.0.0.1:{port}", max_queue=4, batch_size=1, backoff_initial=5.0
    )
    now = time.time()
    try:
        with caplog.at_level(logging.WARNING, logger="sead.telemetry.alertmanager"):
            sink.send([event("head", ts=now)])  # taken in flight by the worker
            deadline = time.monotonic() + 5
            while sink.stats()["retried"] < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            sink.send([event("a", ts=now), event("b", ts=now), event("a", "resolved", ts=now + 1)])
            sink.send([event("c", ts=now), event("d", ts=now), event("e", ts=now)])
            keys = [(p["labels"]["key"], "endsAt" in p) for p in sink.pending()]
            st = sink.stats()
    finally:
        sink.close(0.1)
    # 'a' firing was superseded by 'a' resolved; then the queue held only latest states,
    # so the oldest ('b') went
    assert keys == [("head", False), ("a", True), ("c", False), ("d", False), ("e", False)]
    assert st["dropped"] == 2 and st["superseded"] == 1
    assert any("queue full" in r.getMessage() for r in caplog.records)


def test_bad_events_raise_naming_the_field_and_queue_nothing():
    sink = AlertmanagerSink("http://127.0.0.1:9")
    good = event()
    bad = [
        ({**good, "event": "fire"}, "'event' must be 'alert' or 'resolved'"),
        ({**good, "ts": float("nan")}, "'ts' must be finite"),
        ({**good, "ts": "yesterday"}, "'ts' must be finite"),
        ({**good, "ts": 1e20}, "not a representable time"),
        ({**good, "key": ""}, "'key' must be a non-empty string"),
        ({**good, "rule": 3}, "'rule' must be a non-empty string"),
        ({**good, "score": float("inf")}, "'score' must be a finite number"),
        ({**good, "detectors": [{"weight": 1}]}, r"detectors\[0\] must be a dict with a 'name'"),
        (
            {**good, "fields": [{"name": "x", "value": "big"}]},
            r"fields\[0\]\['value'\] must be a number",
        ),
        ({**good, "fields": "x"}, "'fields' must be a list"),
    ]
    for ev, msg in bad:
        with pytest.raises(ValueError, match=msg):
            sink.send([good, ev])
        assert "event 1" in str(pytest.raises(ValueError, sink.send, [good, ev]).value)
    with pytest.raises(TypeError, match="event 0 must be a dict"):
        sink.send(["alert"])
    assert sink.stats()["queued"] == 0 and sink.pending() == []
    sink.close(0)
    with pytest.raises(RuntimeError, match="closed"):
        sink.send([good])


def test_bad_parameters_and_restore_input_raise():
    for kw, msg in [
        (dict(url="ftp://x"), "url must be an http"),
        (dict(labels={"bad-name": "x"}), "not a usable label name"),
        (dict(labels={"key": "x"}), "not a usable label name"),
        (dict(labels={"team": 1}), r"labels\['team'\] must be a string"),
        (dict(max_queue=0), "max_queue must be a positive integer"),
        (dict(timeout=0), "timeout must be a positive number"),
        (dict(resend_interval=-1), "resend_interval"),
        (dict(generator_url="http://x/{nope}"), "generator_url"),
    ]:
        kw = {"url": "http://127.0.0.1:9", **kw}
        with pytest.raises(ValueError, match=msg):
            AlertmanagerSink(kw.pop("url"), **kw).pending()
    sink = AlertmanagerSink("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="pending\\[0\\] is not an alert of an AlertmanagerSink"):
        sink.restore([{"labels": {"alertname": "x"}}])
    with pytest.raises(ValueError, match="active\\[0\\]"):
        sink.restore([], [42])
    sink.close(0)


def test_fingerprint_is_stable_and_distinct():
    a = alert_from_event(event("k", ts=1.0))
    b = alert_from_event(event("k", "resolved", ts=9.0, score=None))
    assert a["labels"] == b["labels"]
    assert fingerprint("k", "sead") != fingerprint("k", "other") != fingerprint("k2", "sead")
    assert b["annotations"]["summary"] == "resolved: k (rule sead)"
    assert b["startsAt"] == b["endsAt"]  # episode start unknown to a lone resolve
    assert (
        alert_from_event(event("k", "resolved", ts=9.0), starts_at=a["startsAt"])["startsAt"]
        == a["startsAt"]
    )
    # a resolve older than the episode start is clamped: endsAt is never before startsAt
    late = alert_from_event(event("k", "resolved", ts=0.5), starts_at=a["startsAt"])
    assert late["startsAt"] == late["endsAt"]
