"""Test data for ``sead.telemetry.otlp``, generated at test time (nothing here is committed data).

* :class:`SDKServices` records real metrics with the OpenTelemetry SDK (one ``MeterProvider``
  with an ``InMemoryMetricReader`` per service), encodes each collection with the OTLP encoder
  of ``opentelemetry-exporter-otlp-proto-common`` and writes it as one protobuf-JSON line, as
  the Collector's ``file`` exporter does.
* :func:`request_line` builds hand-written lines, only for the unhappy paths.
"""

from __future__ import annotations

import json

from google.protobuf.json_format import MessageToJson
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader
from opentelemetry.sdk.metrics.view import ExponentialBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource

DELTA = {
    Counter: AggregationTemporality.DELTA,
    UpDownCounter: AggregationTemporality.DELTA,
    Histogram: AggregationTemporality.DELTA,
    ObservableCounter: AggregationTemporality.DELTA,
    ObservableUpDownCounter: AggregationTemporality.DELTA,
}


class SDKServices:
    """Several instrumented services; :meth:`collect_line` is one line of the file exporter.

    Parameters
    ----------
    services
        Service names (``service.name`` resource attribute); ``None`` in the list makes a
        resource without it.
    delta
        Export delta temporality instead of the SDK's default cumulative.
    exponential
        Instrument names aggregated as exponential histograms (unsupported by the reader).
    """

    def __init__(self, services=("checkout",), delta=False, exponential=()):
        self.readers = {}
        self.meters = {}
        self.providers = []
        for name in services:
            reader = InMemoryMetricReader(preferred_temporality=DELTA if delta else {})
            attrs = {} if name is None else {"service.name": name}
            views = [
                View(instrument_name=n, aggregation=ExponentialBucketHistogramAggregation())
                for n in exponential
            ]
            provider = MeterProvider(resource=Resource(attrs), metric_readers=[reader], views=views)
            self.providers.append(provider)
            self.readers[name] = reader
            self.meters[name] = provider.get_meter("sead-tests")

    def meter(self, service="checkout"):
        return self.meters[service]

    def collect_request(self) -> ExportMetricsServiceRequest:
        """One ExportMetricsServiceRequest holding a collection of every service."""
        req = ExportMetricsServiceRequest()
        for reader in self.readers.values():
            data = reader.get_metrics_data()
            if data is not None:
                req.resource_metrics.extend(encode_metrics(data).resource_metrics)
        return req

    def collect_line(self, *, integer_enums=False, proto_names=False) -> str:
        """The current collection as one protobuf-JSON line (no newline)."""
        line = MessageToJson(
            self.collect_request(),
            indent=None,
            use_integers_for_enums=integer_enums,
            preserving_proto_field_name=proto_names,
        )
        assert "\n" not in line
        return line

    def shutdown(self):
        for p in self.providers:
            p.shutdown()


def attrs(**kw):
    """OTLP JSON attributes from keyword arguments (strings, ints, floats, bools, lists)."""
    return [{"key": k, "value": any_value(v)} for k, v in kw.items()]


def any_value(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, int):
        return {"intValue": str(v)}
    if isinstance(v, float):
        return {"doubleValue": v}
    if isinstance(v, list):
        return {"arrayValue": {"values": [any_value(x) for x in v]}}
    return {"stringValue": v}


def request_line(metrics, service="checkout", resource_attrs=None) -> str:
    """A hand-written one-resource request line with the given raw metric dicts."""
    res = {} if service is None else {"service.name": service}
    res.update(resource_attrs or {})
    return json.dumps(
        {
            "resourceMetrics": [
                {
                    "resource": {"attributes": attrs(**res)},
                    "scopeMetrics": [{"scope": {"name": "hand"}, "metrics": metrics}],
                }
            ]
        }
    )


def sum_metric(name, points, monotonic=True, temporality=2):
    """A raw Sum metric; ``points`` are (start_ns, time_ns, value[, attributes dict])."""
    dps = []
    for p in points:
        start, t, v = p[:3]
        dp = {"startTimeUnixNano": str(start), "timeUnixNano": str(t)}
        dp["asInt" if isinstance(v, int) else "asDouble"] = str(v) if isinstance(v, int) else v
        if len(p) > 3:
            dp["attributes"] = attrs(**p[3])
        dps.append(dp)
    return {
        "name": name,
        "sum": {
            "dataPoints": dps,
            "aggregationTemporality": temporality,
            "isMonotonic": monotonic,
        },
    }


def histogram_metric(name, points, bounds, temporality=2):
    """A raw Histogram metric; ``points`` are (start_ns, time_ns, bucket_counts, sum)."""
    dps = []
    for start, t, buckets, s in points:
        dps.append(
            {
                "startTimeUnixNano": str(start),
                "timeUnixNano": str(t),
                "count": str(sum(buckets)),
                "sum": s,
                "bucketCounts": [str(b) for b in buckets],
                "explicitBounds": list(bounds),
            }
        )
    return {
        "name": name,
        "histogram": {"dataPoints": dps, "aggregationTemporality": temporality},
    }
