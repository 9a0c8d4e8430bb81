"""OTLP metrics in: the OpenTelemetry Collector's ``file`` exporter output as flat records.

Each input line is one ``ExportMetricsServiceRequest`` in protobuf JSON form (what the
Collector's ``file`` exporter writes, one request per line). A line is decoded with
:func:`json.loads` and then parsed into the ``opentelemetry-proto`` classes by protobuf's JSON
parser (:func:`google.protobuf.json_format.ParseDict`, which is what ``json_format.Parse`` runs
after ``json.loads``; decoding first tells a malformed line from a well-formed line that is not
OTLP). Unknown fields are ignored, so a newer Collector's additions do not break the reader.
Both lowerCamelCase and snake_case field names, and enum names or numbers, are accepted.

:class:`OTLPMetricsReader` turns every data point into one record, a flat dict for the Monitor::

    {"key": "checkout/http.server.duration{method=GET,route=/pay}",
     "ts": 1700000000.25, "count": 12.0, "sum": 1.75, "p95": 0.31}

Stream id (``key``)
    ``<service>/<metric>{<k1>=<v1>,<k2>=<v2>,...}`` where ``<service>`` is the resource's
    ``service.name`` attribute, ``<metric>`` the metric name, and the braces hold the data
    point's attributes sorted by key (omitted entirely when the point has none:
    ``checkout/queue.depth``). Resource attributes other than ``service.name`` are not part of
    the id unless named in ``resource_key_attributes``; those go, sorted, in braces after the
    service: ``checkout{service.instance.id=pod-1}/requests{method=GET}``. Values are written
    as strings as they are; booleans as ``true``/``false``, integers in decimal, doubles with
    :func:`repr`, bytes in base64, arrays and key-value lists as compact JSON. In the service
    ``\\``, ``/`` and ``{`` are escaped with a backslash; in the metric name ``\\`` and ``{``;
    in attribute keys and values ``\\``, ``,``, ``=`` and ``}``, so distinct streams never get
    the same id. Ordinary names contain none of these and appear unchanged. A resource without
    ``service.name`` uses ``missing_service`` (default ``unknown_service``, the OpenTelemetry
    SDK's default) and a ``missing_service_name`` problem is reported (the points are kept).

Timestamp (``ts``)
    The point's ``time_unix_nano`` as float seconds since the epoch. A point without it
    (``0``) is an ``invalid_point`` problem and is dropped.

Fields (all floats)
    * Gauge: ``value``.
    * Sum, delta temporality: ``value`` passes through (the change in the interval).
    * Sum, cumulative and monotonic (a counter): ``value`` is the increase since the previous
      point of the same stream. The first point of a stream only primes the state and yields
      no record (its value is a total since an unknown start). A reset -- the value
      decreasing, or ``start_time_unix_nano`` changing (when both are non-zero) -- yields the
      new value itself: it is the increase since the counter restarted.
    * Sum, cumulative and not monotonic (an up-down counter): ``value`` passes through; it is
      a level, like a gauge, and differencing it would hide the level.
    * Histogram: ``count``, ``sum`` and one quantile, named ``p95`` for the default
      ``quantile=0.95`` (``p99`` for 0.99, ``p99.9`` for 0.999). Cumulative histograms are
      differenced per stream with the same first-point and reset rules as counters (a reset
      is also any bucket count decreasing or the bucket bounds changing); delta histograms
      pass through. ``sum`` is present only when the point (and, when differencing, the
      previous point) has a sum. The quantile is estimated from the bucket counts of the
      interval by linear interpolation inside the bucket that holds rank ``q * count``.
      Bucket ``i`` spans ``(bounds[i-1], bounds[i]]``; the first bucket's lower edge is the
      point's ``min`` when it describes the interval (delta points and the first point after a
      reset), else 0 when ``bounds[0] > 0`` (values assumed non-negative, as Prometheus does),
      else the estimate is ``bounds[0]``; the overflow bucket's upper edge is the interval's
      ``max`` when known, else the estimate is the highest finite bound. A known ``min``/``max``
      also narrows the bucket it falls in. The quantile is absent when the interval has no
      observations or the histogram has no bucket bounds and no min/max.
    * Exponential histograms, summaries, metrics of a type this parser does not know and
      metrics without data yield nothing and are reported.

Cumulative streams: a point not newer than the previous point of its stream (a duplicate or
an out-of-order point) is dropped and reported (``out_of_order``); a point flagged
``FLAG_NO_RECORDED_VALUE`` is skipped (counted in ``counts_["no_value"]``) and forgets the
stream's state, so its next point primes again. Non-finite values are dropped and reported.

Problems never raise: each is a :class:`Problem` passed to the ``on_problem`` callback and
kept in ``last_problems_`` until the next call of :meth:`OTLPMetricsReader.parse_line`.
``str(problem)`` is the line for stderr, e.g.
``line 17: unsupported OTLP metric type 'exponential_histogram' (metric x)``;
``problem.dropped`` tells whether data was lost (write the line to a dead-letter file) or the
line was used with a documented default (``missing_service_name``). The points of a line
that were fine are returned even when other parts of it were not.

The differencing state (one entry per cumulative stream; never evicted) and the counters go
into a JSON-serialisable checkpoint with :meth:`OTLPMetricsReader.state_dict` and come back
with :meth:`OTLPMetricsReader.from_state_dict`; the resumed reader gives exactly the records
the uninterrupted one would have.

Examples
--------
>>> reader = OTLPMetricsReader()
>>> line = ('{"resourceMetrics": [{"resource": {"attributes": [{"key": "service.name", '
...         '"value": {"stringValue": "checkout"}}]}, "scopeMetrics": [{"metrics": [{"name": '
...         '"queue.depth", "gauge": {"dataPoints": [{"timeUnixNano": "1700000000500000000", '
...         '"asInt": "7"}]}}]}]}]}')
>>> reader.parse_line(line, 1)
[{'key': 'checkout/queue.depth', 'ts': 1700000000.5, 'value': 7.0}]
>>> reader.parse_line("{not json", 2)
[]
>>> print(reader.last_problems_[0])
line 2: malformed JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

try:
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "sead.telemetry.otlp needs the packages opentelemetry-proto and protobuf: "
        "pip install 'sead[telemetry]'"
    ) from exc

__all__ = ["OTLPMetricsReader", "Problem", "quantile_field_name", "bucket_quantile"]

_STATE_FORMAT = "sead.telemetry.otlp/1"
_DELTA = 1
_CUMULATIVE = 2
_FLAG_NO_RECORDED_VALUE = 1
# Keys of a Metric message that are not its data (either JSON spelling).
_METRIC_META_KEYS = {"name", "description", "unit", "metadata"}
_KNOWN_UNSUPPORTED = {
    "exponentialHistogram": "exponential_histogram",
    "exponential_histogram": "exponential_histogram",
    "summary": "summary",
}


@dataclass(frozen=True)
class Problem:
    """One thing in the input that could not be used as it is.

    Attributes
    ----------
    line_no
        The line number given to :meth:`OTLPMetricsReader.parse_line`.
    kind
        ``malformed_json``, ``invalid_otlp``, ``unsupported_type``, ``empty_data``,
        ``invalid_point``, ``out_of_order`` or ``missing_service_name``.
    message
        Human-readable, naming the metric and the offending value.
    metric
        The metric name, when the problem belongs to one metric.
    points
        Number of data points dropped (0 when the whole line or nothing was dropped).
    dropped
        True when data was lost (the line belongs in a dead-letter file); False when the
        line was used with a documented default.
    """

    line_no: int
    kind: str
    message: str
    metric: str | None = None
    points: int = 0
    dropped: bool = True

    def __str__(self) -> str:
        return f"line {self.line_no}: {self.message}"

    def to_dict(self) -> dict:
        """A JSON-serialisable dict of the fields."""
        return asdict(self)


def quantile_field_name(quantile: float) -> str:
    """The record field name of a histogram quantile: ``p95`` for 0.95, ``p99.9`` for 0.999.

    Parameters
    ----------
    quantile
        The quantile, in (0, 1).

    Returns
    -------
    str
        ``"p"`` and the percentage, without trailing zeros.

    Examples
    --------
    >>> quantile_field_name(0.95), quantile_field_name(0.5), quantile_field_name(0.999)
    ('p95', 'p50', 'p99.9')
    """
    return "p" + format(round(quantile * 100, 6), "g")


def bucket_quantile(q, bounds, counts, lo=None, hi=None):
    """Estimate quantile ``q`` from explicit-bucket histogram counts (linear interpolation).

    Parameters
    ----------
    q
        Quantile in (0, 1).
    bounds
        Finite, strictly increasing bucket upper bounds (``explicit_bounds``).
    counts
        ``len(bounds) + 1`` non-negative counts; bucket ``i`` spans
        ``(bounds[i-1], bounds[i]]``, the last one ``(bounds[-1], +inf)``.
    lo, hi
        The smallest and largest observation, when known for these counts.

    Returns
    -------
    float or None
        ``None`` when the counts are all zero, or there are no bounds and no ``lo``/``hi``.

    Examples
    --------
    >>> bucket_quantile(0.5, [10.0, 20.0], [0, 4, 0])   # rank 2 of 4 in (10, 20]
    15.0
    >>> bucket_quantile(0.95, [10.0, 20.0], [0, 0, 3])  # overflow bucket, max unknown
    20.0
    >>> bucket_quantile(0.95, [10.0, 20.0], [0, 0, 3], hi=50.0)
    48.5
    """
    total = 0
    for c in counts:
        total += c
    if total <= 0:
        return None
    if not bounds:
        if lo is None or hi is None:
            return None
        return lo + (hi - lo) * q
    rank = q * total
    cum = 0
    last = len(counts) - 1
    for i in range(len(counts)):  # i is used after the loop
        c = counts[i]
        if c > 0 and cum + c >= rank:
            break
        cum += c
    else:  # rounding: rank beyond the total
        i = last
        while counts[i] <= 0:
            i -= 1
        c = counts[i]
        cum = total - c
    if i == 0:
        upper = bounds[0]
        if lo is not None:
            lower = min(lo, upper)
        elif upper > 0:
            lower = 0.0
        else:
            return float(upper)
    else:
        lower = bounds[i - 1]
        if lo is not None and lo > lower:
            lower = lo
    if i == last:
        if hi is None:
            return float(bounds[-1])
        upper = max(hi, lower)
    else:
        upper = bounds[i]
        if hi is not None and hi < upper:
            upper = max(hi, lower)
    frac = (rank - cum) / c
    if frac < 0.0:
        frac = 0.0
    elif frac > 1.0:
        frac = 1.0
    return float(lower + (upper - lower) * frac)


def _escape(text: str, chars: str) -> str:
    if "\\" in text or any(ch in text for ch in chars):
        text = text.replace("\\", "\\\\")
        for ch in chars:
            text = text.replace(ch, "\\" + ch)
    return text


def _any_to_python(v):
    case = v.WhichOneof("value")
    if case == "string_value":
        return v.string_value
    if case == "bool_value":
        return v.bool_value
    if case == "int_value":
        return v.int_value
    if case == "double_value":
        return v.double_value
    if case == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    if case == "array_value":
        return [_any_to_python(x) for x in v.array_value.values]
    if case == "kvlist_value":
        return {kv.key: _any_to_python(kv.value) for kv in v.kvlist_value.values}
    return None


def _any_to_str(v) -> str:
    case = v.WhichOneof("value")
    if case == "string_value":
        return v.string_value
    if case == "bool_value":
        return "true" if v.bool_value else "false"
    if case == "int_value":
        return str(v.int_value)
    if case == "double_value":
        return repr(v.double_value)
    if case is None:
        return ""
    return json.dumps(_any_to_python(v), separators=(",", ":"), sort_keys=True)


def _attrs_to_braces(attributes) -> str:
    if not attributes:
        return ""
    items = sorted((kv.key, _any_to_str(kv.value)) for kv in attributes)
    return "{" + ",".join(_escape(k, ",=}") + "=" + _escape(val, ",=}") for k, val in items) + "}"


def _raw_get(d, camel: str, snake: str):
    if not isinstance(d, dict):
        return None
    v = d.get(camel)
    if v is None:
        v = d.get(snake)
    return v


def _raw_metric(raw, ri: int, si: int, mi: int):
    """The raw JSON dict of metric ``mi`` of scope ``si`` of resource ``ri`` (or None)."""
    try:
        rms = _raw_get(raw, "resourceMetrics", "resource_metrics")
        sms = _raw_get(rms[ri], "scopeMetrics", "scope_metrics")
        return _raw_get(sms[si], "metrics", "metrics")[mi]
    except (IndexError, KeyError, TypeError):
        return None


def _value(point):
    """The numeric value of a NumberDataPoint (int stays int), or None when unset."""
    case = point.WhichOneof("value")
    if case == "as_double":
        return point.as_double
    if case == "as_int":
        return point.as_int
    return None


def _finite(x) -> bool:
    return isinstance(x, int) or math.isfinite(x)


class OTLPMetricsReader:
    """Flat records from OTLP/JSON metrics lines, with per-stream differencing state.

    Parameters
    ----------
    quantile
        The histogram quantile to estimate, in (0, 1); its field is
        :func:`quantile_field_name` of it (``p95`` by default).
    on_problem
        Called with each :class:`Problem` as it is found (for example to print it and write
        the line to a dead-letter file); ``None`` to only keep them in ``last_problems_``.
    resource_key_attributes
        Resource attributes besides ``service.name`` that are part of the stream id (for
        example ``("service.instance.id",)`` when several instances of a service report the
        same cumulative series: without it their totals interleave in one stream and look
        like resets).
    missing_service
        The service used for resources without a ``service.name`` attribute.

    Attributes
    ----------
    last_problems_
        list of Problem: the problems of the most recent :meth:`parse_line` call.
    counts_
        Running counters: ``lines``, ``records``, ``points``, ``primed`` (first points of cumulative
        streams), ``resets``, ``no_value``, and ``problems`` by kind.
    """

    def __init__(
        self,
        quantile: float = 0.95,
        on_problem: Callable[[Problem], None] | None = None,
        resource_key_attributes: Iterable[str] = (),
        missing_service: str = "unknown_service",
    ):
        self.quantile = quantile
        self.on_problem = on_problem
        self.resource_key_attributes = resource_key_attributes
        self.missing_service = missing_service

    # ------------------------------------------------------------------ setup and state
    def _check_params(self):
        q = self.quantile
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0.0 < q < 1.0:
            raise ValueError(f"quantile must be a number in (0, 1), got {q!r}")
        if not isinstance(self.missing_service, str) or not self.missing_service:
            raise ValueError(
                f"missing_service must be a non-empty string, got {self.missing_service!r}"
            )
        ra = self.resource_key_attributes
        if isinstance(ra, str) or not all(isinstance(a, str) for a in ra):
            raise ValueError(f"resource_key_attributes must be a sequence of strings, got {ra!r}")

    def _ensure_init(self):
        if getattr(self, "streams_", None) is None:
            self._check_params()
            self.streams_ = {}
            self.counts_ = {
                "lines": 0,
                "records": 0,
                "points": 0,
                "primed": 0,
                "resets": 0,
                "no_value": 0,
                "problems": {},
            }
            self.last_problems_ = []
        self._qfield = quantile_field_name(self.quantile)
        self._res_attrs = tuple(sorted(self.resource_key_attributes))

    def state_dict(self) -> dict:
        """The differencing state and counters as a JSON-serialisable dict (for a checkpoint).

        The parameters are saved too; ``on_problem`` is not.
        """
        self._ensure_init()
        return {
            "format": _STATE_FORMAT,
            "params": {
                "quantile": self.quantile,
                "resource_key_attributes": list(self._res_attrs),
                "missing_service": self.missing_service,
            },
            "streams": {k: dict(v) for k, v in self.streams_.items()},
            "counts": json.loads(json.dumps(self.counts_)),
        }

    @classmethod
    def from_state_dict(cls, state: dict, **params) -> OTLPMetricsReader:
        """A reader that resumes from :meth:`state_dict` output.

        Parameters not given (``on_problem`` always needs giving again) are the saved ones.
        A state that is not such a dict raises :class:`ValueError`.
        """
        if not isinstance(state, dict) or state.get("format") != _STATE_FORMAT:
            got = state.get("format") if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"state is not an OTLPMetricsReader state (format {_STATE_FORMAT!r}), got {got!r}"
            )
        saved = dict(state.get("params") or {})
        saved.update(params)
        reader = cls(**saved)
        reader._ensure_init()
        streams = state.get("streams")
        if not isinstance(streams, dict):
            raise ValueError(f"state['streams'] must be a dict, got {type(streams).__name__}")
        for key, st in streams.items():
            if not isinstance(st, dict) or st.get("kind") not in ("sum", "histogram"):
                raise ValueError(f"state['streams'][{key!r}] is not a stream state: {st!r}")
            st = dict(st)
            if st["kind"] == "histogram":
                st["bounds"] = list(st["bounds"])
                st["buckets"] = list(st["buckets"])
            reader.streams_[key] = st
        counts = state.get("counts")
        if isinstance(counts, dict):
            reader.counts_.update(json.loads(json.dumps(counts)))
        return reader

    # ------------------------------------------------------------------ parsing
    def _problem(self, line_no, kind, message, metric=None, points=0, dropped=True):
        p = Problem(line_no, kind, message, metric, points, dropped)
        self.last_problems_.append(p)
        probs = self.counts_["problems"]
        probs[kind] = probs.get(kind, 0) + 1
        if self.on_problem is not None:
            self.on_problem(p)

    def parse_lines(self, lines: Iterable[str | bytes], start: int = 1) -> Iterator[dict]:
        """Records of every line of ``lines`` (numbered from ``start``), in order."""
        for line_no, line in enumerate(lines, start):
            yield from self.parse_line(line, line_no)

    def parse_line(self, line: str | bytes, line_no: int = 0) -> list[dict]:
        """The records of one line; never raises on bad input (see :class:`Problem`).

        A blank line yields nothing and is not a problem.
        """
        self._ensure_init()
        self.last_problems_ = []
        counts = self.counts_
        counts["lines"] += 1
        if not line.strip():
            return []
        try:
            raw = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            self._problem(line_no, "malformed_json", f"malformed JSON: {exc}")
            return []
        if not isinstance(raw, dict):
            self._problem(
                line_no,
                "invalid_otlp",
                f"not an OTLP ExportMetricsServiceRequest: a JSON {type(raw).__name__}, "
                "expected an object",
            )
            return []
        try:
            req = json_format.ParseDict(
                raw, ExportMetricsServiceRequest(), ignore_unknown_fields=True
            )
        except (
            json_format.ParseError,
            ValueError,
            TypeError,
            OverflowError,
            RecursionError,
        ) as exc:
            self._problem(
                line_no, "invalid_otlp", f"not an OTLP ExportMetricsServiceRequest: {exc}"
            )
            return []
        out: list[dict] = []
        for ri, rm in enumerate(req.resource_metrics):
            service = None
            res_vals = {}
            for kv in rm.resource.attributes:
                if kv.key == "service.name":
                    service = _any_to_str(kv.value)
                elif kv.key in self._res_attrs:
                    res_vals[kv.key] = _any_to_str(kv.value)
            if not service:
                service = self.missing_service
                if len(rm.scope_metrics):
                    self._problem(
                        line_no,
                        "missing_service_name",
                        f"resource {ri} has no service.name attribute; "
                        f"using {self.missing_service!r}",
                        dropped=False,
                    )
            prefix = _escape(service, "/{")
            if res_vals:
                prefix += (
                    "{"
                    + ",".join(
                        _escape(k, ",=}") + "=" + _escape(v, ",=}")
                        for k, v in sorted(res_vals.items())
                    )
                    + "}"
                )
            prefix += "/"
            if not len(rm.scope_metrics):
                raw_rm = _raw_get(raw, "resourceMetrics", "resource_metrics")
                extra = []
                if isinstance(raw_rm, list) and ri < len(raw_rm) and isinstance(raw_rm[ri], dict):
                    extra = sorted(set(raw_rm[ri]) - {"resource", "schemaUrl", "schema_url"})
                if extra:
                    self._problem(
                        line_no,
                        "invalid_otlp",
                        f"resource {ri} has no scopeMetrics but fields this parser does not "
                        f"know: {', '.join(extra)}",
                    )
            for si, sm in enumerate(rm.scope_metrics):
                for mi, metric in enumerate(sm.metrics):
                    self._metric(metric, prefix, line_no, raw, ri, si, mi, out)
        counts["records"] += len(out)
        return out

    def _metric(self, metric, prefix, line_no, raw, ri, si, mi, out):
        name = metric.name
        case = metric.WhichOneof("data")
        if case == "gauge":
            self._gauge(metric, prefix, line_no, out)
        elif case == "sum":
            self._sum(metric, prefix, line_no, out)
        elif case == "histogram":
            self._histogram(metric, prefix, line_no, out)
        elif case is not None:
            n = len(getattr(metric, case).data_points)
            self.counts_["points"] += n
            self._problem(
                line_no,
                "unsupported_type",
                f"unsupported OTLP metric type {case!r} (metric {name})",
                name,
                n,
            )
        else:
            rawm = _raw_metric(raw, ri, si, mi)
            extra = sorted(set(rawm) - _METRIC_META_KEYS) if isinstance(rawm, dict) else []
            if extra:
                kind = _KNOWN_UNSUPPORTED.get(extra[0], extra[0])
                self._problem(
                    line_no,
                    "unsupported_type",
                    f"unsupported OTLP metric type {kind!r} (metric {name})",
                    name,
                )
            else:
                self._problem(
                    line_no, "empty_data", f"OTLP metric has no data (metric {name})", name
                )

    def _bad_point(self, line_no, name, why):
        self._problem(line_no, "invalid_point", f"{why} (metric {name})", name, 1)

    def _no_value(self, p, key=None) -> bool:
        """Whether point ``p`` is flagged as having no recorded value (counted; it ends the
        differencing stream ``key``, if given)."""
        if not p.flags & _FLAG_NO_RECORDED_VALUE:
            return False
        self.counts_["no_value"] += 1
        if key is not None:
            self.streams_.pop(key, None)
        return True

    def _number(self, p, kind, line_no, name):
        """``(value, time)`` of a gauge or sum point, or None (reported) when either is unusable."""
        v = _value(p)
        if v is None:
            why = f"{kind} point without a value"
        elif not _finite(v):
            why = f"{kind} point with non-finite value {v!r}"
        elif not p.time_unix_nano:
            why = f"{kind} point without timeUnixNano"
        else:
            return v, p.time_unix_nano
        self._bad_point(line_no, name, why)
        return None

    def _stream_points(self, data, kind, prefix, line_no, name):
        """The points of a sum or histogram with their stream keys, those without a recorded
        value left out; none (all reported) when the aggregation temporality is neither delta
        nor cumulative."""
        points = data.data_points
        self.counts_["points"] += len(points)
        temporality = data.aggregation_temporality
        if temporality not in (_DELTA, _CUMULATIVE):
            self._problem(
                line_no,
                "invalid_point",
                f"{kind} with aggregation temporality {temporality} (neither delta nor "
                f"cumulative) (metric {name})",
                name,
                len(points),
            )
            return
        base = prefix + _escape(name, "{")
        for p in points:
            key = base + _attrs_to_braces(p.attributes)
            if not self._no_value(p, key):
                yield p, key

    def _out_of_order(self, t, prev, key, line_no, name) -> bool:
        """Whether point time ``t`` is not after the stream's previous point (reported)."""
        if t > prev["time"]:
            return False
        self._problem(
            line_no,
            "out_of_order",
            f"point at {t} is not after the previous point at {prev['time']} of stream {key}",
            name,
            1,
        )
        return True

    def _gauge(self, metric, prefix, line_no, out):
        name = metric.name
        base = prefix + _escape(name, "{")
        points = metric.gauge.data_points
        self.counts_["points"] += len(points)
        for p in points:
            if self._no_value(p):
                continue
            vt = self._number(p, "gauge", line_no, name)
            if vt is None:
                continue
            v, t = vt
            out.append(
                {"key": base + _attrs_to_braces(p.attributes), "ts": t / 1e9, "value": float(v)}
            )

    def _sum(self, metric, prefix, line_no, out):
        name = metric.name
        s = metric.sum
        differenced = s.aggregation_temporality == _CUMULATIVE and s.is_monotonic
        streams = self.streams_
        for p, key in self._stream_points(s, "sum", prefix, line_no, name):
            vt = self._number(p, "sum", line_no, name)
            if vt is None:
                continue
            v, t = vt
            if not differenced:
                out.append({"key": key, "ts": t / 1e9, "value": float(v)})
                continue
            start = p.start_time_unix_nano
            prev = streams.get(key)
            if prev is None or prev["kind"] != "sum":
                streams[key] = {"kind": "sum", "start": start, "time": t, "value": v}
                self.counts_["primed"] += 1
                continue
            if self._out_of_order(t, prev, key, line_no, name):
                continue
            if (start and prev["start"] and start != prev["start"]) or v < prev["value"]:
                self.counts_["resets"] += 1
                inc = v
            else:
                inc = v - prev["value"]
            streams[key] = {"kind": "sum", "start": start, "time": t, "value": v}
            inc = float(inc)
            if not math.isfinite(inc):  # the difference of two huge doubles
                self._bad_point(
                    line_no, name, f"sum increase overflows ({v!r} after {prev['value']!r})"
                )
                continue
            out.append({"key": key, "ts": t / 1e9, "value": inc})

    def _histogram(self, metric, prefix, line_no, out):
        name = metric.name
        h = metric.histogram
        cumulative = h.aggregation_temporality == _CUMULATIVE
        q = self.quantile
        qfield = self._qfield
        streams = self.streams_
        for p, key in self._stream_points(h, "histogram", prefix, line_no, name):
            t = p.time_unix_nano
            if not t:
                self._bad_point(line_no, name, "histogram point without timeUnixNano")
                continue
            bounds = list(p.explicit_bounds)
            buckets = list(p.bucket_counts)
            count = p.count
            if buckets and len(buckets) != len(bounds) + 1:
                self._bad_point(
                    line_no,
                    name,
                    f"histogram point with {len(buckets)} bucket counts for {len(bounds)} "
                    f"bounds (expected {len(bounds) + 1})",
                )
                continue
            if not buckets and bounds:
                bounds = []
            bad_bounds = any(not math.isfinite(b) for b in bounds) or any(
                b >= c for b, c in zip(bounds, bounds[1:])
            )
            if bad_bounds:
                self._bad_point(
                    line_no,
                    name,
                    f"histogram bounds are not finite and strictly increasing: {bounds}",
                )
                continue
            hsum = p.sum if p.HasField("sum") else None
            lo = p.min if p.HasField("min") else None
            hi = p.max if p.HasField("max") else None
            if any(x is not None and not math.isfinite(x) for x in (hsum, lo, hi)):
                self._bad_point(
                    line_no, name, f"histogram point with non-finite sum/min/max {(hsum, lo, hi)}"
                )
                continue
            if cumulative:
                start = p.start_time_unix_nano
                prev = streams.get(key)
                new_state = {
                    "kind": "histogram",
                    "start": start,
                    "time": t,
                    "count": count,
                    "sum": hsum,
                    "bounds": bounds,
                    "buckets": buckets,
                }
                if prev is None or prev["kind"] != "histogram":
                    streams[key] = new_state
                    self.counts_["primed"] += 1
                    continue
                if self._out_of_order(t, prev, key, line_no, name):
                    continue
                pb = prev["buckets"]
                reset = (
                    (start and prev["start"] and start != prev["start"])
                    or count < prev["count"]
                    or bounds != prev["bounds"]
                    or len(buckets) != len(pb)
                    or any(b < a for a, b in zip(pb, buckets))
                )
                streams[key] = new_state
                if reset:
                    self.counts_["resets"] += 1
                    icount, isum, ibuckets = count, hsum, buckets
                else:
                    icount = count - prev["count"]
                    isum = None if hsum is None or prev["sum"] is None else hsum - prev["sum"]
                    ibuckets = [b - a for a, b in zip(pb, buckets)]
                    lo = hi = None  # min/max cover the whole cumulative period
            else:
                icount, isum, ibuckets = count, hsum, buckets
            rec = {"key": key, "ts": t / 1e9, "count": float(icount)}
            if isum is not None:
                rec["sum"] = float(isum)
            if icount > 0:
                est = (
                    bucket_quantile(q, bounds, ibuckets, lo, hi)
                    if ibuckets
                    else (None if lo is None or hi is None else lo + (hi - lo) * q)
                )
                if est is not None:
                    rec[qfield] = est
            if not all(math.isfinite(x) for x in list(rec.values())[2:]):
                self._bad_point(line_no, name, f"histogram interval overflows: {rec}")
                continue
            out.append(rec)
