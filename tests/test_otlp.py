"""sead.telemetry.otlp: OTLP/JSON metrics lines (as the Collector's file exporter writes them)
to flat records, on files produced with the OpenTelemetry SDK and, for the unhappy paths only,
hand-written lines."""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np
import pytest

if os.environ.get("CI"):  # CI must have the OpenTelemetry packages: fail, do not skip
    import opentelemetry.exporter.otlp.proto.common  # noqa: F401
    import opentelemetry.sdk  # noqa: F401
else:
    pytest.importorskip(
        "opentelemetry.sdk", reason="install with: pip install 'sead[telemetry]' (or '.[test]')"
    )
    pytest.importorskip(
        "opentelemetry.exporter.otlp.proto.common",
        reason="install with: pip install opentelemetry-exporter-otlp-proto-common",
    )

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from sead.telemetry.otlp import (  # noqa: E402
    OTLPMetricsReader,
    Problem,
    bucket_quantile,
    quantile_field_name,
)

from ._otlp_data import (  # noqa: E402
    SDKServices,
    attrs,
    histogram_metric,
    request_line,
    sum_metric,
)

GET = {"method": "GET", "route": "/pay"}
POST = {"method": "POST", "route": "/pay"}
S = 1_000_000_000  # nanoseconds per second
T0 = 1_700_000_000 * S


def by_key(records):
    out = {}
    for r in records:
        out.setdefault(r["key"], []).append(r)
    return out


def write_lines(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return path


# ------------------------------------------------------------------ SDK-made files


def test_cumulative_counter_is_differenced_first_point_primes(tmp_path):
    svc = SDKServices()
    c = svc.meter().create_counter("http.requests")
    lines = []
    t_before = time.time()
    c.add(3, GET)
    c.add(1, POST)
    lines.append(svc.collect_line())
    c.add(5, GET)
    lines.append(svc.collect_line())
    lines.append(svc.collect_line())  # nothing new: increase 0
    c.add(2, GET)
    c.add(7, POST)
    lines.append(svc.collect_line())
    t_after = time.time()
    path = write_lines(tmp_path / "metrics.jsonl", lines)

    reader = OTLPMetricsReader()
    with open(path) as f:
        records = list(reader.parse_lines(f))
    keys = by_key(records)
    assert set(keys) == {
        "checkout/http.requests{method=GET,route=/pay}",
        "checkout/http.requests{method=POST,route=/pay}",
    }
    assert [r["value"] for r in keys["checkout/http.requests{method=GET,route=/pay}"]] == [
        5.0,
        0.0,
        2.0,
    ]
    assert [r["value"] for r in keys["checkout/http.requests{method=POST,route=/pay}"]] == [
        0.0,
        0.0,
        7.0,
    ]
    for r in records:
        assert set(r) == {"key", "ts", "value"}
        assert isinstance(r["ts"], float) and isinstance(r["value"], float)
        assert t_before - 1 <= r["ts"] <= t_after + 1
    ts = [r["ts"] for r in keys["checkout/http.requests{method=GET,route=/pay}"]]
    assert ts == sorted(ts) and len(set(ts)) == 3
    assert reader.counts_["primed"] == 2 and reader.counts_["resets"] == 0
    assert reader.counts_["problems"] == {}
    assert reader.last_problems_ == []


def test_ts_is_the_points_time_in_seconds():
    svc = SDKServices()
    g = svc.meter().create_gauge("cpu.utilization")
    g.set(0.25, {"cpu": 0})
    req = svc.collect_request()
    t_ns = req.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0].time_unix_nano
    (rec,) = OTLPMetricsReader().parse_line(svc.collect_line(), 1)
    assert rec == {
        "key": "checkout/cpu.utilization{cpu=0}",
        "ts": pytest.approx(t_ns / 1e9, abs=5),
        "value": 0.25,
    }


def test_gauge_values_pass_through():
    svc = SDKServices()
    g = svc.meter().create_gauge("queue.depth")
    reader = OTLPMetricsReader()
    got = []
    for i, v in enumerate([4, 9, 2]):
        g.set(v)
        got += reader.parse_line(svc.collect_line(), i + 1)
    assert [(r["key"], r["value"]) for r in got] == [
        ("checkout/queue.depth", float(v)) for v in (4, 9, 2)
    ]


def test_observable_gauge_float_values():
    svc = SDKServices()
    values = iter([0.5, 0.75])

    def cb(options):
        from opentelemetry.metrics import Observation

        yield Observation(next(values), {"host": "a"})

    svc.meter().create_observable_gauge("temperature", callbacks=[cb])
    reader = OTLPMetricsReader()
    recs = reader.parse_line(svc.collect_line(), 1) + reader.parse_line(svc.collect_line(), 2)
    assert [r["value"] for r in recs] == [0.5, 0.75]
    assert {r["key"] for r in recs} == {"checkout/temperature{host=a}"}


def test_up_down_counter_passes_the_level_through():
    svc = SDKServices()
    u = svc.meter().create_up_down_counter("inflight")
    reader = OTLPMetricsReader()
    got = []
    for i, change in enumerate([5, -2, -4, 0]):
        u.add(change, GET)
        got += reader.parse_line(svc.collect_line(), i + 1)
    assert [r["value"] for r in got] == [5.0, 3.0, -1.0, -1.0]
    assert reader.streams_ == {}  # levels need no state


def test_delta_counter_and_up_down_counter_pass_through():
    svc = SDKServices(delta=True)
    c = svc.meter().create_counter("requests")
    u = svc.meter().create_up_down_counter("inflight")
    reader = OTLPMetricsReader()
    got = []
    for i, (n, d) in enumerate([(3, 2), (4, -1), (1, -1)]):
        c.add(n)
        u.add(d)
        got += reader.parse_line(svc.collect_line(), i + 1)
    keys = by_key(got)
    assert [r["value"] for r in keys["checkout/requests"]] == [3.0, 4.0, 1.0]
    assert [r["value"] for r in keys["checkout/inflight"]] == [2.0, -1.0, -1.0]
    assert reader.counts_["primed"] == 0


def test_cumulative_histogram_count_sum_and_p95_of_the_interval():
    svc = SDKServices()
    h = svc.meter().create_histogram(
        "http.server.duration", unit="ms", explicit_bucket_boundaries_advisory=[10.0, 20.0, 50.0]
    )
    reader = OTLPMetricsReader()
    h.record(5.0, GET)
    h.record(100.0, GET)  # before the first collection: only primes
    assert reader.parse_line(svc.collect_line(), 1) == []
    for v in (12.0, 15.0, 18.0, 30.0):
        h.record(v, GET)
    (rec,) = reader.parse_line(svc.collect_line(), 2)
    assert rec["key"] == "checkout/http.server.duration{method=GET,route=/pay}"
    assert rec["count"] == 4.0 and rec["sum"] == pytest.approx(75.0)
    # rank 0.95 * 4 = 3.8: 3 points in (10, 20], the 4th in (20, 50] -> 20 + 30 * 0.8
    assert rec["p95"] == pytest.approx(44.0)
    assert set(rec) == {"key", "ts", "count", "sum", "p95"}
    # an interval without observations: count 0, sum 0, no quantile
    (rec,) = reader.parse_line(svc.collect_line(), 3)
    assert rec["count"] == 0.0 and rec["sum"] == 0.0 and "p95" not in rec


def test_histogram_quantile_is_configurable_and_in_the_true_quantiles_bucket():
    rng = np.random.default_rng(0)
    bounds = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
    svc = SDKServices()
    h = svc.meter().create_histogram("latency", explicit_bucket_boundaries_advisory=bounds)
    readers = {q: OTLPMetricsReader(quantile=q) for q in (0.5, 0.9, 0.99)}
    h.record(1000.0)  # primes the stream; not in the interval that follows
    line = svc.collect_line()
    for r in readers.values():
        r.parse_line(line, 1)
    values = rng.lognormal(2.0, 0.8, size=2000)
    for v in values:
        h.record(float(v))
    line = svc.collect_line()
    for q, reader in readers.items():
        (rec,) = reader.parse_line(line, 2)
        name = quantile_field_name(q)
        assert set(rec) == {"key", "ts", "count", "sum", name}
        true = float(np.quantile(values, q))
        edges = [0.0] + bounds
        i = int(np.searchsorted(bounds, true))  # bucket of the true quantile
        assert edges[i] <= rec[name] <= edges[i + 1]
        assert rec["count"] == 2000.0 and rec["sum"] == pytest.approx(values.sum())


def test_delta_histogram_uses_min_and_max_and_first_point_counts():
    svc = SDKServices(delta=True)
    h = svc.meter().create_histogram("size", explicit_bucket_boundaries_advisory=[10.0, 20.0])
    for v in (1.0, 2.0, 3.0):
        h.record(v)
    (rec,) = OTLPMetricsReader().parse_line(svc.collect_line(), 1)
    # all in (-inf, 10], narrowed to [min, max] = [1, 3]: 1 + 2 * 2.85 / 3
    assert rec["count"] == 3.0 and rec["sum"] == 6.0
    assert rec["p95"] == pytest.approx(1.0 + 2.0 * 2.85 / 3.0)


def test_several_services_and_attribute_sets_in_one_line():
    svc = SDKServices(services=("checkout", "cart", "search"))
    for name in ("checkout", "cart", "search"):
        c = svc.meter(name).create_counter("http.requests")
        c.add(1, GET)
        c.add(1, POST)
        c.add(1, {"method": "GET", "route": "/pay", "status": 500})
    reader = OTLPMetricsReader()
    reader.parse_line(svc.collect_line(), 1)
    for name in ("checkout", "cart", "search"):
        svc.meter(name).create_counter("http.requests").add(2, GET)
    recs = reader.parse_line(svc.collect_line(), 2)
    got = {r["key"]: r["value"] for r in recs}
    assert len(got) == len(recs) == 9
    for name in ("checkout", "cart", "search"):
        assert got[f"{name}/http.requests{{method=GET,route=/pay}}"] == 2.0
        assert got[f"{name}/http.requests{{method=POST,route=/pay}}"] == 0.0
        assert got[f"{name}/http.requests{{method=GET,route=/pay,status=500}}"] == 0.0


def test_collector_style_integer_enums_and_proto_field_names_give_the_same_records():
    def run(**kw):
        svc = SDKServices()
        m = svc.meter()
        c = m.create_counter("c")
        h = m.create_histogram("h", explicit_bucket_boundaries_advisory=[1.0, 2.0])
        reader = OTLPMetricsReader()
        out = []
        for i in range(3):
            c.add(i + 1, GET)
            h.record(0.5 * (i + 1), GET)
            out += reader.parse_line(svc.collect_line(**kw), i + 1)
        return [{k: v for k, v in r.items() if k != "ts"} for r in out]

    plain = run()
    assert len(plain) == 4
    assert run(integer_enums=True) == plain
    assert run(proto_names=True) == plain


def test_exponential_histogram_from_the_sdk_is_reported_and_the_rest_kept():
    svc = SDKServices(exponential=("latency.exp",))
    m = svc.meter()
    m.create_histogram("latency.exp").record(3.0)
    m.create_gauge("queue.depth").set(4)
    seen = []
    reader = OTLPMetricsReader(on_problem=seen.append)
    recs = reader.parse_line(svc.collect_line(), 17)
    assert recs == [{"key": "checkout/queue.depth", "ts": recs[0]["ts"], "value": 4.0}]
    assert [str(p) for p in seen] == [
        "line 17: unsupported OTLP metric type 'exponential_histogram' (metric latency.exp)"
    ]
    assert seen == reader.last_problems_
    (p,) = seen
    assert p.kind == "unsupported_type" and p.metric == "latency.exp" and p.points == 1
    assert p.dropped
    assert reader.counts_["problems"] == {"unsupported_type": 1}


def test_checkpoint_resumes_exactly():
    svc = SDKServices(services=("a", "b"))
    meters = {s: svc.meter(s) for s in ("a", "b")}
    inst = {
        s: (
            m.create_counter("n"),
            m.create_histogram("h", explicit_bucket_boundaries_advisory=[1.0, 5.0]),
        )
        for s, m in meters.items()
    }
    rng = np.random.default_rng(1)
    lines = []
    for _ in range(12):
        for c, h in inst.values():
            c.add(int(rng.integers(0, 5)), GET)
            for v in rng.exponential(2.0, size=int(rng.integers(0, 4))):
                h.record(float(v), POST)
        lines.append(svc.collect_line())
    whole = OTLPMetricsReader(quantile=0.9)
    expected = list(whole.parse_lines(lines))
    first = OTLPMetricsReader(quantile=0.9)
    got = list(first.parse_lines(lines[:5]))
    state = json.loads(json.dumps(first.state_dict()))  # through JSON, as in a checkpoint
    resumed = OTLPMetricsReader.from_state_dict(state)
    assert resumed.quantile == 0.9
    got += list(resumed.parse_lines(lines[5:], start=6))
    assert got == expected
    assert resumed.counts_ == whole.counts_
    assert resumed.state_dict() == whole.state_dict()


# ------------------------------------------------------------------ hand-written unhappy paths


def test_counter_reset_by_decrease_yields_the_new_value():
    line = request_line(
        [
            sum_metric(
                "n",
                [(T0, T0 + S, 10), (T0, T0 + 2 * S, 15), (T0, T0 + 3 * S, 3), (T0, T0 + 4 * S, 4)],
            )
        ]
    )
    # the points of one stream may also come in separate lines
    reader = OTLPMetricsReader()
    recs = reader.parse_line(line, 1)
    assert [r["value"] for r in recs] == [5.0, 3.0, 1.0]
    assert [r["ts"] for r in recs] == [T0 / S + 2, T0 / S + 3, T0 / S + 4]
    assert reader.counts_["resets"] == 1 and reader.counts_["primed"] == 1


def test_counter_reset_by_new_start_time_yields_the_new_value():
    pts = [
        (T0, T0 + S, 10.5),
        (T0, T0 + 2 * S, 15.5),
        (T0 + 3 * S, T0 + 4 * S, 20.0),
        (T0 + 3 * S, T0 + 5 * S, 21.0),
    ]
    reader = OTLPMetricsReader()
    recs = []
    for i, p in enumerate(pts):
        recs += reader.parse_line(request_line([sum_metric("n", [p])]), i + 1)
    assert [r["value"] for r in recs] == [5.0, 20.0, 1.0]
    assert reader.counts_["resets"] == 1
    assert reader.last_problems_ == []


def test_unknown_start_time_resets_only_on_decrease():
    pts = [(0, T0 + S, 10), (0, T0 + 2 * S, 12), (0, T0 + 3 * S, 2)]
    recs = OTLPMetricsReader().parse_line(request_line([sum_metric("n", pts)]), 1)
    assert [r["value"] for r in recs] == [2.0, 2.0]


def test_histogram_reset_yields_the_new_point_itself():
    bounds = [1.0, 2.0]
    pts = [
        (T0, T0 + S, [1, 1, 0], 2.0),
        (T0, T0 + 2 * S, [2, 3, 0], 6.0),
        (T0, T0 + 3 * S, [0, 1, 0], 1.5),  # count went down: a reset
    ]
    reader = OTLPMetricsReader(quantile=0.5)
    recs = reader.parse_line(request_line([histogram_metric("h", pts, bounds)]), 1)
    assert [(r["count"], r["sum"]) for r in recs] == [(3.0, 4.0), (1.0, 1.5)]
    # interval buckets [1, 2, 0]: rank 1.5 -> (1, 2] at (1.5 - 1) / 2
    assert recs[0]["p50"] == pytest.approx(1.25)
    assert recs[1]["p50"] == pytest.approx(1.5)
    assert reader.counts_["resets"] == 1


def test_histogram_without_sum_has_no_sum_field():
    m = histogram_metric("h", [(T0, T0 + S, [1, 0], None)], [5.0], temporality=1)
    del m["histogram"]["dataPoints"][0]["sum"]
    (rec,) = OTLPMetricsReader().parse_line(request_line([m]), 1)
    assert set(rec) == {"key", "ts", "count", "p95"} and rec["p95"] == pytest.approx(4.75)


def test_out_of_order_and_duplicate_points_of_a_cumulative_stream_are_dropped_and_reported():
    reader = OTLPMetricsReader()
    a = request_line([sum_metric("n", [(T0, T0 + 2 * S, 10)])])
    b = request_line([sum_metric("n", [(T0, T0 + 3 * S, 12)])])
    old = request_line([sum_metric("n", [(T0, T0 + 1 * S, 11)])])
    assert reader.parse_line(a, 1) == []
    assert [r["value"] for r in reader.parse_line(b, 2)] == [2.0]
    assert reader.parse_line(b, 3) == []  # the same line again (an at-least-once retry)
    (p,) = reader.last_problems_
    assert p.kind == "out_of_order" and p.dropped and "checkout/n" in str(p)
    assert reader.parse_line(old, 4) == []
    assert reader.last_problems_[0].kind == "out_of_order"
    c = request_line([sum_metric("n", [(T0, T0 + 4 * S, 20)])])
    assert [r["value"] for r in reader.parse_line(c, 5)] == [8.0]


def test_malformed_lines_are_reported_and_the_reader_goes_on(tmp_path):
    good = request_line([sum_metric("n", [(T0, T0 + S, 1.5)], temporality=1)])
    lines = [
        good,
        '{"resourceMetrics": [',  # cut short
        "[1, 2]",  # JSON, not an object
        '{"resourceMetrics": 5}',  # an object, not OTLP
        '{"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "x", '
        '"gauge": {"dataPoints": [{"asInt": "abc"}]}}]}]}]}',
        "",  # blank: nothing, no problem
        "   ",
        good.replace("1.5", "2.5"),
    ]
    problems = []
    dead = []
    reader = OTLPMetricsReader(on_problem=problems.append)
    recs = []
    for n, line in enumerate(lines, 1):
        recs += reader.parse_line(line, n)
        if any(p.dropped for p in reader.last_problems_):
            dead.append(line)
    assert [r["value"] for r in recs] == [1.5, 2.5]
    assert [(p.line_no, p.kind) for p in problems] == [
        (2, "malformed_json"),
        (3, "invalid_otlp"),
        (4, "invalid_otlp"),
        (5, "invalid_otlp"),
    ]
    assert str(problems[0]).startswith("line 2: malformed JSON: ")
    assert (
        str(problems[1])
        == "line 3: not an OTLP ExportMetricsServiceRequest: a JSON list, expected an object"
    )
    assert "abc" in str(problems[3])
    assert dead == lines[1:5]
    assert reader.counts_["lines"] == 8


def test_bytes_lines_and_invalid_utf8():
    good = request_line([sum_metric("n", [(T0, T0 + S, 1.5)], temporality=1)])
    reader = OTLPMetricsReader()
    assert [r["value"] for r in reader.parse_line(good.encode(), 1)] == [1.5]
    assert reader.parse_line(b'{"a": "\xff\xfe"}', 2) == []
    assert reader.last_problems_[0].kind == "malformed_json"


def test_unknown_summary_and_empty_metric_types():
    lines = [
        request_line([{"name": "x", "fancyNewType": {"dataPoints": [{}]}}]),
        request_line(
            [
                {
                    "name": "rpc.latency",
                    "summary": {
                        "dataPoints": [{"timeUnixNano": str(T0), "count": "3", "sum": 1.0}, {}]
                    },
                }
            ]
        ),
        request_line([{"name": "nothing", "unit": "1"}]),
        request_line([{"name": "exp", "exponentialHistogram": {"dataPoints": [{}]}}]),
    ]
    reader = OTLPMetricsReader()
    got = []
    for n, line in enumerate(lines, 1):
        assert reader.parse_line(line, n) == []
        got += [str(p) for p in reader.last_problems_]
    assert got == [
        "line 1: unsupported OTLP metric type 'fancyNewType' (metric x)",
        "line 2: unsupported OTLP metric type 'summary' (metric rpc.latency)",
        "line 3: OTLP metric has no data (metric nothing)",
        "line 4: unsupported OTLP metric type 'exponential_histogram' (metric exp)",
    ]
    assert reader.counts_["problems"] == {"unsupported_type": 3, "empty_data": 1}


def test_old_format_without_scope_metrics_is_reported():
    line = json.dumps(
        {
            "resourceMetrics": [
                {
                    "resource": {"attributes": attrs(**{"service.name": "a"})},
                    "instrumentationLibraryMetrics": [{}],
                }
            ]
        }
    )
    reader = OTLPMetricsReader()
    assert reader.parse_line(line, 3) == []
    (p,) = reader.last_problems_
    assert p.kind == "invalid_otlp" and "instrumentationLibraryMetrics" in str(p)


def test_missing_service_name_uses_the_default_and_is_reported_not_dropped():
    line = request_line([sum_metric("n", [(T0, T0 + S, 2)], temporality=1)], service=None)
    reader = OTLPMetricsReader()
    (rec,) = reader.parse_line(line, 9)
    assert rec["key"] == "unknown_service/n"
    (p,) = reader.last_problems_
    assert p.kind == "missing_service_name" and not p.dropped
    assert str(p) == "line 9: resource 0 has no service.name attribute; using 'unknown_service'"
    (rec,) = OTLPMetricsReader(missing_service="legacy").parse_line(line, 1)
    assert rec["key"] == "legacy/n"


def test_missing_service_name_from_the_sdk():
    svc = SDKServices(services=(None,))
    svc.meter(None).create_gauge("g").set(1)
    reader = OTLPMetricsReader()
    (rec,) = reader.parse_line(svc.collect_line(), 1)
    assert rec["key"] == "unknown_service/g"
    assert [p.kind for p in reader.last_problems_] == ["missing_service_name"]


def test_stream_id_format_types_escaping_and_resource_key_attributes():
    a = {"z": "last", "a": 1, "flag": True, "ratio": 0.5, "tags": ["x", "y"], "odd": "a,b=c}d\\"}
    m = sum_metric("weird{name", [(T0, T0 + S, 1, a)], temporality=1)
    line = request_line(
        [m], service="team/svc", resource_attrs={"service.instance.id": "pod-1", "host": "h"}
    )
    (rec,) = OTLPMetricsReader().parse_line(line, 1)
    assert rec["key"] == (
        "team\\/svc/weird\\{name"
        '{a=1,flag=true,odd=a\\,b\\=c\\}d\\\\,ratio=0.5,tags=["x"\\,"y"],z=last}'
    )
    (rec,) = OTLPMetricsReader(resource_key_attributes=["service.instance.id"]).parse_line(line, 1)
    assert rec["key"].startswith("team\\/svc{service.instance.id=pod-1}/weird\\{name{a=1,")


def test_invalid_points_are_dropped_and_named():
    good = {"timeUnixNano": str(T0), "asDouble": 1.0}
    lines = [
        request_line(
            [
                {
                    "name": "g",
                    "gauge": {"dataPoints": [good, {"timeUnixNano": str(T0), "asDouble": "NaN"}]},
                }
            ]
        ),
        request_line([{"name": "g", "gauge": {"dataPoints": [{"timeUnixNano": str(T0)}]}}]),
        request_line([{"name": "g", "gauge": {"dataPoints": [{"asDouble": 2.0}]}}]),
        request_line([sum_metric("s", [(T0, T0 + S, 1)], temporality=0)]),
        request_line([sum_metric("s", [(T0, T0 + S, "Infinity")])]),
        request_line(
            [histogram_metric("h", [(T0, T0 + S, [1, 2], 1.0)], [1.0, 2.0], temporality=1)]
        ),
        request_line(
            [histogram_metric("h", [(T0, T0 + S, [1, 2, 0], 1.0)], [2.0, 1.0], temporality=1)]
        ),
        request_line(
            [histogram_metric("h", [(T0, T0 + S, [1, 2, 0], 1.0)], [1.0, 2.0], temporality=0)]
        ),
    ]
    reader = OTLPMetricsReader()
    out = []
    for n, line in enumerate(lines, 1):
        recs = reader.parse_line(line, n)
        out.append(
            (
                len(recs),
                [(p.kind, p.metric, p.points) for p in reader.last_problems_],
                [str(p) for p in reader.last_problems_],
            )
        )
    assert out[0][:2] == (1, [("invalid_point", "g", 1)]) and "nan" in out[0][2][0].lower()
    assert out[1][:2] == (0, [("invalid_point", "g", 1)]) and "without a value" in out[1][2][0]
    assert out[2][:2] == (0, [("invalid_point", "g", 1)]) and "timeUnixNano" in out[2][2][0]
    assert out[3][:2] == (0, [("invalid_point", "s", 1)]) and "temporality 0" in out[3][2][0]
    assert out[4][:2] == (0, [("invalid_point", "s", 1)]) and "inf" in out[4][2][0]
    assert (
        out[5][:2] == (0, [("invalid_point", "h", 1)])
        and "2 bucket counts for 2 bounds" in out[5][2][0]
    )
    assert out[6][:2] == (0, [("invalid_point", "h", 1)]) and "strictly increasing" in out[6][2][0]
    assert out[7][:2] == (0, [("invalid_point", "h", 1)])
    for *_, msgs in out:
        assert all("(metric " in m for m in msgs)


def test_no_recorded_value_flag_skips_and_forgets_the_stream():
    m = sum_metric(
        "n",
        [
            (T0, T0 + S, 10),
            (T0, T0 + 2 * S, 12),
            (T0, T0 + 3 * S, 0),
            (T0, T0 + 4 * S, 50),
            (T0, T0 + 5 * S, 51),
        ],
    )
    m["sum"]["dataPoints"][2]["flags"] = 1
    reader = OTLPMetricsReader()
    recs = reader.parse_line(request_line([m]), 1)
    assert [r["value"] for r in recs] == [2.0, 1.0]  # 50 primes again after the gap
    assert reader.counts_["no_value"] == 1 and reader.last_problems_ == []


def test_bad_parameters_and_states_raise_clear_errors():
    for q in (0.0, 1.0, -0.5, "0.9", True):
        with pytest.raises(ValueError, match="quantile must be a number in \\(0, 1\\)"):
            OTLPMetricsReader(quantile=q).parse_line("", 1)
    with pytest.raises(ValueError, match="resource_key_attributes"):
        OTLPMetricsReader(resource_key_attributes="service.instance.id").state_dict()
    with pytest.raises(ValueError, match="not an OTLPMetricsReader state"):
        OTLPMetricsReader.from_state_dict({"streams": {}})
    with pytest.raises(ValueError, match="not an OTLPMetricsReader state"):
        OTLPMetricsReader.from_state_dict([])
    state = OTLPMetricsReader().state_dict()
    state["streams"] = {"k": {"kind": "nope"}}
    with pytest.raises(ValueError, match="stream state"):
        OTLPMetricsReader.from_state_dict(state)


def test_problem_is_json_serialisable():
    p = Problem(3, "unsupported_type", "unsupported OTLP metric type 'summary' (metric m)", "m", 2)
    assert json.loads(json.dumps(p.to_dict()))["points"] == 2
    assert str(p) == "line 3: unsupported OTLP metric type 'summary' (metric m)"


# ------------------------------------------------------------------ properties of the maths

bounds_st = st.lists(
    st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=8, unique=True
).map(sorted)


@settings(max_examples=200, deadline=None)
@given(bounds=bounds_st, data=st.data())
def test_bucket_quantile_lies_in_the_bucket_of_its_rank_and_is_monotone(bounds, data):
    counts = data.draw(
        st.lists(st.integers(0, 50), min_size=len(bounds) + 1, max_size=len(bounds) + 1)
    )
    qs = sorted(data.draw(st.lists(st.floats(0.001, 0.999), min_size=1, max_size=5)))
    total = sum(counts)
    ests = [bucket_quantile(q, bounds, counts) for q in qs]
    if total == 0:
        assert all(e is None for e in ests)
        return
    assert all(math.isfinite(e) for e in ests)
    assert ests == sorted(ests)
    for q, e in zip(qs, ests):
        rank = q * total
        cum = np.cumsum(counts)
        i = int(np.searchsorted(cum, rank - 1e-9 * total))  # first bucket reaching the rank
        lower = bounds[i - 1] if i > 0 else min(0.0, bounds[0])
        upper = bounds[i] if i < len(bounds) else bounds[-1]
        assert lower - 1e-9 <= e <= upper + 1e-9


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_bucket_quantile_stays_within_min_and_max(data):
    bounds = [1.0, 2.0, 4.0, 8.0]
    counts = data.draw(
        st.lists(st.integers(0, 20), min_size=5, max_size=5).filter(lambda c: sum(c) > 0)
    )
    nz = [i for i, c in enumerate(counts) if c]
    edges = [-1.0] + bounds + [16.0]
    lo = data.draw(st.floats(edges[nz[0]], bounds[nz[0]] if nz[0] < 4 else 16.0))
    hi = data.draw(st.floats(max(lo, edges[nz[-1]]), bounds[nz[-1]] if nz[-1] < 4 else 16.0))
    q = data.draw(st.floats(0.001, 0.999))
    e = bucket_quantile(q, bounds, counts, lo, hi)
    assert lo - 1e-12 <= e <= hi + 1e-12


@settings(max_examples=100, deadline=None)
@given(incs=st.lists(st.integers(0, 10**12), min_size=1, max_size=30), first=st.integers(0, 10**15))
def test_increases_of_a_counter_add_up_to_its_growth(incs, first):
    totals = np.cumsum([first] + incs).tolist()
    pts = [(T0, T0 + (i + 1) * S, int(v)) for i, v in enumerate(totals)]
    recs = OTLPMetricsReader().parse_line(request_line([sum_metric("n", pts)]), 1)
    assert [r["value"] for r in recs] == [float(i) for i in incs]
    assert sum(r["value"] for r in recs) == pytest.approx(totals[-1] - totals[0])


def test_deeply_nested_json_is_a_problem_not_a_crash():
    reader = OTLPMetricsReader()
    assert reader.parse_line("[" * 100_000, 1) == []
    assert reader.last_problems_[0].kind == "malformed_json"
    deep = '{"resourceMetrics": [{"resource": {"attributes": [{"key": "k", "value": ' * 1
    deep += '{"arrayValue": {"values": [' * 300 + "]}}" * 300 + "}]}}]}"
    assert reader.parse_line(deep, 2) == []
    assert reader.last_problems_[0].kind == "invalid_otlp"


_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=4)
    | st.sampled_from(
        ["NaN", "Infinity", "-1", "1700000000000000000", "1e400", "AGGREGATION_TEMPORALITY_DELTA"]
    )
)


def _point_st():
    """Mostly plausible points (so that some give records), with junk mixed in."""
    ns = st.integers(0, 2**63 - 1).map(str)
    num = st.integers(0, 2**64).map(str) | st.floats(-1e300, 1e300) | _leaf
    plausible = st.fixed_dictionaries(
        {"timeUnixNano": ns},
        optional={
            "startTimeUnixNano": ns,
            "count": st.integers(0, 2**64 - 1).map(str),
            "sum": st.floats(),
            "min": st.floats(),
            "max": st.floats(),
            "bucketCounts": st.lists(st.integers(0, 10).map(str), max_size=4),
            "explicitBounds": st.lists(st.floats(-10, 10), max_size=3),
            "flags": st.integers(0, 3),
            "attributes": st.just([{"key": "a", "value": {"intValue": "1"}}]),
        },
    )
    value = st.fixed_dictionaries({"asInt": st.integers(-(2**63), 2**63 - 1).map(str)}) | (
        st.fixed_dictionaries({"asDouble": st.floats()})
    )
    plausible = st.builds(lambda p, v: {**p, **v}, plausible, value)
    junk = st.dictionaries(
        st.sampled_from(["timeUnixNano", "asInt", "asDouble", "count", "bucketCounts"]),
        num | st.lists(num, max_size=3),
        max_size=4,
    )
    return plausible | junk


_data_st = st.fixed_dictionaries(
    {"dataPoints": st.lists(_point_st(), max_size=3)},
    optional={
        "aggregationTemporality": st.sampled_from([0, 1, 2, 7, "x"]),
        "isMonotonic": st.booleans(),
    },
)
_metric_st = st.builds(
    lambda name, kind, data: {"name": name, kind: data},
    st.text(max_size=3),
    st.sampled_from(["gauge", "sum", "sum", "histogram", "histogram", "summary", "weird"]),
    _data_st,
)


@settings(max_examples=150, deadline=None)
@given(metrics=st.lists(st.lists(_metric_st, max_size=3), min_size=1, max_size=3))
def test_parse_line_never_raises_on_otlp_shaped_junk(metrics):
    reader = OTLPMetricsReader()
    for n, ms in enumerate(metrics, 1):
        try:
            line = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": ms}]}]})
        except ValueError:
            continue
        for rec in reader.parse_line(line, n):
            assert all(math.isfinite(v) for k, v in rec.items() if k != "key")
    json.dumps(reader.state_dict())  # the state stays serialisable


def test_overflowing_differences_are_reported_not_returned_as_inf():
    big = 1.7e308
    hist = histogram_metric("h", [(T0, T0 + S, [1, 0], -big), (T0, T0 + 2 * S, [2, 0], big)], [1.0])
    line = request_line([sum_metric("s", [(0, T0 + S, -big), (0, T0 + 2 * S, big)]), hist])
    reader = OTLPMetricsReader()
    assert reader.parse_line(line, 1) == []
    assert [(p.kind, p.metric) for p in reader.last_problems_] == [
        ("invalid_point", "s"),
        ("invalid_point", "h"),
    ]
    assert "overflows" in str(reader.last_problems_[0])
