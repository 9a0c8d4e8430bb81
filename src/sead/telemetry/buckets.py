"""Per-key aggregation of raw events into fixed time buckets, before scoring.

:class:`BucketAggregator` turns events (dicts such as ``{"agent": "a", "ts": 1735689600.2,
"latency_ms": 812.0, "error": False}``) into one row per key and bucket::

    {"agent": "a", "ts": 1735689600.0, "count": 14, "error_rate": 0.0714,
     "latency_ms_mean": 903.1, "latency_ms_p95": 2210.4}

**Buckets.** ``[origin + i * width, origin + (i + 1) * width)`` with ``width`` from
``bucket`` (``"60s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"250ms"`` or a number of seconds)
and ``origin`` 0 (the epoch: ``"1h"`` buckets start on the hour, UTC). A row's time column is
the bucket's start (``label="start"``, the default) or end (``label="end"``). Empty buckets
give no row.

**Closing.** A key's bucket closes, and its row is returned, when an event of that key arrives
at or after the bucket's end. An idle key's open bucket stays open (its row is not returned)
until the key's next event or a :meth:`~BucketAggregator.flush`: ``flush()`` closes every
open bucket (end of input), ``flush(now)`` those that end at or before ``now``; with
``idle_timeout`` set, every :meth:`~BucketAggregator.add_many` also closes the buckets that
ended at least ``idle_timeout`` seconds before the newest event time seen (the watermark),
so a key that went quiet still reports. Events are taken in arrival order; they need not be
sorted across keys.

**Late events.** An event for a bucket of its key that is already closed (earlier than the
open bucket, or at most the last closed one) is never merged into another bucket: it is
counted (``counts_["late"]``) and kept, with its reason, for :meth:`~BucketAggregator.pop_problems`.
So are events without a usable key or time (``counts_["rejected"]``).

**Aggregations.** ``aggregations={"latency_ms": ["mean", "p95"], "error": ["rate"], ...}``;
supported: ``count`` (valid values), ``mean``, ``sum``, ``min``, ``max``, ``first``, ``last``,
``rate`` (share of true values of a boolean field), and percentiles ``p50``, ``p95``,
``p99`` or any ``p<q>`` with ``0 <= q <= 100``, exact within a bucket (linear interpolation
between order statistics, numpy's default). Output columns are ``<field>_<aggregation>``,
plus ``count`` (events in the bucket) always. ``None`` (the default) infers the fields from
the first accepted event: ``mean`` and ``p95`` of each numeric field, ``rate`` of each
boolean field, other fields ignored. Values: numeric aggregations take finite ints and
floats (booleans count as 0/1); ``rate`` takes booleans and 0/1; ``first``/``last``/``count``
alone take any value but ``None``. A missing or invalid value is left out of its field's
aggregates and counted in ``counts_["invalid_values"][field]`` (``on_invalid="skip"``), or
raises before the batch changes anything (``on_invalid="raise"``); a field with no valid
value in a bucket gets ``None`` (``count`` gets 0), never NaN.

State for checkpoints: :meth:`~BucketAggregator.state_dict` is JSON-serialisable and
:meth:`~BucketAggregator.from_state_dict` restores it exactly.
"""

from __future__ import annotations

import math
import numbers
import re
from datetime import datetime, timezone

__all__ = ["BucketAggregator", "parse_duration", "parse_time"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s|min|m|h|d)?\s*\Z")
_PCT = re.compile(r"p([0-9]+(?:\.[0-9]+)?)\Z")
_SIMPLE_AGGS = ("count", "mean", "sum", "min", "max", "first", "last", "rate")
_STATE_VERSION = 1


def parse_duration(value, name="bucket"):
    """Seconds in a duration such as ``"60s"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"250ms"`` or ``90``.

    Parameters
    ----------
    value
        A positive number of seconds, or a string: a number and a unit among ``ms``, ``s``,
        ``m`` (or ``min``), ``h``, ``d`` (a bare number string is seconds).
    name
        The option's name, for the error message.

    Returns
    -------
    float
        The duration in seconds.

    Raises
    ------
    ValueError
        If ``value`` is not a positive, finite duration.

    Examples
    --------
    >>> parse_duration("5m"), parse_duration(90), parse_duration("250ms")
    (300.0, 90.0, 0.25)
    >>> parse_duration("6x")
    Traceback (most recent call last):
    ...
    ValueError: bucket must be a positive duration like '60s', '5m', '1h', '1d', '250ms' or a
    number of seconds, got '6x'
    """
    sec = None
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            sec = float(m.group(1)) * _UNITS[m.group(2) or "s"]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        sec = float(value)
    if sec is None or not (math.isfinite(sec) and sec > 0):
        raise ValueError(
            f"{name} must be a positive duration like '60s', '5m', '1h', '1d', '250ms' or a number "
            f"of seconds, got {value!r}"
        )
    return sec


def parse_time(value, name="ts"):
    """Epoch seconds from a number or an ISO 8601 string (naive means UTC).

    Parameters
    ----------
    value
        Epoch seconds (a real number other than a bool, or a string of one) or an ISO 8601
        string.
    name
        The field's name, for the error message.

    Returns
    -------
    float
        Epoch seconds.

    Raises
    ------
    ValueError
        If ``value`` is neither, or not finite.

    Examples
    --------
    >>> parse_time(1735689600.5), parse_time("2025-01-01T00:01:00Z")
    (1735689600.5, 1735689660.0)
    >>> parse_time(True)
    Traceback (most recent call last):
    ...
    ValueError: ts must be epoch seconds or an ISO 8601 string, got True
    """
    t = type(value)
    if t is float or t is int:
        v = float(value)
    elif isinstance(value, str):
        try:
            d = datetime.fromisoformat(value.strip())
        except ValueError:
            try:
                v = float(value)
            except ValueError:
                raise ValueError(
                    f"{name} must be epoch seconds or an ISO 8601 string, got {value!r}"
                ) from None
        else:
            if d.tzinfo is None:
                d = d.replace(tzinfo=timezone.utc)
            v = d.timestamp()
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = float(value)  # numpy scalars
    else:
        raise ValueError(f"{name} must be epoch seconds or an ISO 8601 string, got {value!r}")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


def _quantile(sorted_vals, q):
    """Linear interpolation between order statistics (numpy's default ``method="linear"``)."""
    n = len(sorted_vals)
    h = (n - 1) * q
    lo = int(h)
    if lo >= n - 1:
        return sorted_vals[-1]
    a, b = sorted_vals[lo], sorted_vals[lo + 1]
    t = h - lo
    return a + (b - a) * t if t < 0.5 else b - (b - a) * (1.0 - t)


class _Field:
    __slots__ = ("name", "aggs", "kind", "pcts", "needs_sort")

    def __init__(self, name, aggs):
        self.name = name
        self.aggs = list(aggs)
        self.pcts = {}
        for a in self.aggs:
            m = _PCT.match(a)
            if m:
                self.pcts[a] = float(m.group(1)) / 100.0
        self.needs_sort = bool(self.pcts)
        if "rate" in self.aggs:
            self.kind = "bool"
        elif set(self.aggs) <= {"first", "last", "count"}:
            self.kind = "any"
        else:
            self.kind = "num"


def _check_aggs(field, aggs):
    if isinstance(aggs, str):
        aggs = [aggs]
    if not isinstance(aggs, (list, tuple)) or not aggs:
        raise ValueError(
            f"aggregations[{field!r}] must be a non-empty list of aggregation names, got {aggs!r}"
        )
    out = []
    for a in aggs:
        ok = isinstance(a, str) and (a in _SIMPLE_AGGS or (_PCT.match(a) and float(a[1:]) <= 100))
        if not ok:
            raise ValueError(
                f"aggregation {a!r} for field {field!r} is not supported: use one of "
                f"{', '.join(_SIMPLE_AGGS)} or a percentile p0..p100 such as p95"
            )
        if a not in out:
            out.append(a)
    return out


class BucketAggregator:
    """Aggregate keyed events into fixed time buckets (see the module docstring).

    Parameters
    ----------
    key
        Field naming the stream of an event (``None``: one stream, no key column).
    time
        Field holding the event time (epoch seconds or ISO 8601).
    bucket
        str or float: bucket width (:func:`parse_duration`).
    aggregations
        ``{field: [aggregation, ...]}``; ``None`` infers them from the first event.
    origin
        Epoch seconds where bucket 0 starts.
    label
        ``"start"`` or ``"end"``: which end of the bucket the output time column holds.
    idle_timeout
        Close buckets that ended this long before the watermark at each ``add_many`` (a
        duration as for :func:`parse_duration`; ``None``: only when a newer event of the key
        arrives or at :meth:`flush`).
    on_invalid
        What an invalid field value does, ``"skip"`` or ``"raise"`` (see the module docstring).
    max_problems
        Most late/rejected events kept for :meth:`pop_problems` (older ones are dropped, still
        counted in ``counts_["problems_dropped"]``).

    Attributes
    ----------
    bucket_s_
        Bucket width in seconds.
    fields_
        The resolved ``{field: [aggregations]}`` (``None`` until inferred).
    counts_
        ``events`` (accepted), ``rows``, ``late``, ``rejected``, ``invalid_values`` (``{field:
        n}``), ``problems_dropped``.
    watermark_
        float or None: newest event time accepted so far.

    Examples
    --------
    >>> agg = BucketAggregator(
    ...     bucket="60s", aggregations={"latency_ms": ["mean", "max"], "error": ["rate"]}
    ... )
    >>> events = [{"agent": "a", "ts": 0.0, "latency_ms": 100.0, "error": False},
    ...           {"agent": "a", "ts": 30.0, "latency_ms": 300.0, "error": True},
    ...           {"agent": "b", "ts": 45.0, "latency_ms": 50.0, "error": False},
    ...           {"agent": "a", "ts": 61.0, "latency_ms": 90.0, "error": False}]
    >>> agg.add_many(events)        # a's first bucket closes when its event at 61 s arrives
    [{'agent': 'a', 'ts': 0.0, 'count': 2, 'latency_ms_mean': 200.0, 'latency_ms_max': 300.0,
      'error_rate': 0.5}]
    >>> late = [{"agent": "a", "ts": 10.0, "latency_ms": 1.0, "error": False}]
    >>> agg.add_many(late)  # its bucket has closed: counted as late, not aggregated
    []
    >>> agg.counts_["late"], agg.pop_problems()[0]["reason"]
    (1, 'late')
    >>> [(r["agent"], r["ts"], r["count"]) for r in agg.flush()]     # end of input
    [('b', 0.0, 1), ('a', 60.0, 1)]
    """

    def __init__(
        self,
        key="agent",
        time="ts",
        bucket="60s",
        aggregations=None,
        *,
        origin=0.0,
        label="start",
        idle_timeout=None,
        on_invalid="skip",
        max_problems=10_000,
    ):
        self.key = key
        self.time = time
        self.bucket = bucket
        self.aggregations = aggregations
        self.origin = origin
        self.label = label
        self.idle_timeout = idle_timeout
        self.on_invalid = on_invalid
        self.max_problems = max_problems

    # ------------------------------------------------------------------ set-up
    def _init_state(self):
        if self.key is not None and not (isinstance(self.key, str) and self.key):
            raise ValueError(
                f"key must be a field name (a non-empty str) or None, got {self.key!r}"
            )
        if not (isinstance(self.time, str) and self.time):
            raise ValueError(f"time must be a field name (a non-empty str), got {self.time!r}")
        if self.key == self.time:
            raise ValueError(f"key and time must be different fields, both are {self.key!r}")
        self.bucket_s_ = parse_duration(self.bucket, "bucket")
        o = self.origin
        if isinstance(o, bool) or not isinstance(o, (int, float)) or not math.isfinite(o):
            raise ValueError(f"origin must be finite epoch seconds, got {o!r}")
        if self.label not in ("start", "end"):
            raise ValueError(f"label must be 'start' or 'end', got {self.label!r}")
        self._idle = (
            None if self.idle_timeout is None else parse_duration(self.idle_timeout, "idle_timeout")
        )
        if self.on_invalid not in ("skip", "raise"):
            raise ValueError(f"on_invalid must be 'skip' or 'raise', got {self.on_invalid!r}")
        mp = self.max_problems
        if isinstance(mp, bool) or not isinstance(mp, int) or mp < 0:
            raise ValueError(f"max_problems must be an integer >= 0, got {mp!r}")
        if self.aggregations is None:
            self._fields = None
        else:
            if not isinstance(self.aggregations, dict) or not self.aggregations:
                raise ValueError(
                    f"aggregations must be a non-empty dict {{field: [aggregations]}} or None, "
                    f"got {self.aggregations!r}"
                )
            fields = []
            for f, aggs in self.aggregations.items():
                if not isinstance(f, str) or not f:
                    raise ValueError(f"aggregations keys must be field names, got {f!r}")
                if f in (self.key, self.time):
                    raise ValueError(
                        f"field {f!r} is the key or time field and cannot be aggregated"
                    )
                fields.append(_Field(f, _check_aggs(f, aggs)))
            self._fields = fields
        self._origin = float(o)
        self._keys = {}  # key -> [open bucket index or None, last closed index or None, n, vals]
        self._problems = []
        self.counts_ = {
            "events": 0,
            "rows": 0,
            "late": 0,
            "rejected": 0,
            "invalid_values": {},
            "problems_dropped": 0,
        }
        self.watermark_ = None
        self._columns = None

    def _ready(self):
        if not hasattr(self, "_keys"):
            self._init_state()

    @property
    def fields_(self):
        """The resolved ``{field: [aggregation, ...]}`` (``None`` until inferred)."""
        self._ready()
        return None if self._fields is None else {f.name: list(f.aggs) for f in self._fields}

    def _infer_fields(self, record):
        fields = []
        for name in sorted(k for k in record if isinstance(k, str)):
            if name in (self.key, self.time):
                continue
            v = record[name]
            if type(v) is bool:
                fields.append(_Field(name, ["rate"]))
            elif isinstance(v, (int, float)) and math.isfinite(v):
                fields.append(_Field(name, ["mean", "p95"]))
        self._fields = fields
        self._columns = None

    def output_columns(self):
        """Names of the columns of every row, in order (after the fields are known)."""
        self._ready()
        if self._fields is None:
            raise ValueError(
                "the fields are inferred from the first event: add one first, or pass aggregations"
            )
        cols = ([self.key] if self.key is not None else []) + [self.time, "count"]
        return cols + [f"{f.name}_{a}" for f in self._fields for a in f.aggs]

    # ------------------------------------------------------------------ problems
    def _problem(self, reason, record, detail):
        if len(self._problems) >= self.max_problems:
            if self.max_problems == 0:
                self.counts_["problems_dropped"] += 1
                return
            self._problems.pop(0)
            self.counts_["problems_dropped"] += 1
        self._problems.append({"reason": reason, "detail": detail, "record": record})

    def pop_problems(self):
        """Late and rejected events since the last call: dicts ``{reason, detail, record}``
        (``reason`` is ``"late"``, ``"bad key"`` or ``"bad time"``)."""
        self._ready()
        out, self._problems = self._problems, []
        return out

    # ------------------------------------------------------------------ values
    @staticmethod
    def _valid(kind, v):
        t = type(v)
        if kind == "num":
            if t is float:
                return v - v == 0.0, v  # False for NaN and infinities
            if t is int or t is bool:
                return True, float(v)
            if isinstance(v, numbers.Real):  # numpy scalars
                v = float(v)
                return math.isfinite(v), v
            return False, v
        if kind == "bool":
            if t is bool:
                return True, 1.0 if v else 0.0
            if (t is int or t is float) and (v == 0 or v == 1):
                return True, float(v)
            return False, v
        if v is None or (t is float and v - v != 0.0):
            return False, v
        return True, v

    def _key_time(self, r):
        """(key, time) of an event, or a (reason, detail) problem."""
        if not isinstance(r, dict):
            return None, None, ("bad key", f"an event must be a dict, got {type(r).__name__}")
        if self.key is None:
            k = None
        else:
            k = r.get(self.key)
            tk = type(k)
            if not (tk is str or tk is int):
                what = "missing" if k is None else f"{k!r} is not a str or int"
                return None, None, ("bad key", f"key field {self.key!r}: {what}")
        t = r.get(self.time)
        if type(t) is float and t - t == 0.0:
            return k, t, None
        try:
            return k, parse_time(t, f"time field {self.time!r}"), None
        except ValueError as e:
            if t is None:
                return None, None, ("bad time", f"time field {self.time!r} is missing")
            return None, None, ("bad time", str(e))

    def _check_batch(self, records):
        """on_invalid='raise': find the first invalid value before anything changes."""
        fields = self._fields
        for i, r in enumerate(records):
            k, t, prob = self._key_time(r)
            if prob is not None:
                continue  # bad keys and times are problems, not errors
            if fields is None:
                self._infer_fields(r)
                fields = self._fields
            for f in fields:
                ok, _ = self._valid(f.kind, r.get(f.name))
                if not ok:
                    raise ValueError(
                        f"event {i} (key {k!r}): field {f.name!r} has the invalid value "
                        f"{r.get(f.name)!r} for {f.aggs}"
                    )

    # ------------------------------------------------------------------ core
    def add_one(self, record):
        """:meth:`add_many` of one event."""
        return self.add_many([record])

    def add_many(self, records):
        """Add events (in arrival order); returns the rows of the buckets they closed."""
        self._ready()
        if self.on_invalid == "raise":
            self._check_batch(records)
        out = []
        keys = self._keys
        width, origin = self.bucket_s_, self._origin
        floor = math.floor
        valid = self._valid
        counts = self.counts_
        wm = self.watermark_
        n_events = 0
        fields = self._fields
        specs = None if fields is None else [(f.name, f.kind) for f in fields]
        invalid = counts["invalid_values"]
        for r in records:
            k, t, prob = self._key_time(r)
            if prob is not None:
                counts["rejected"] += 1
                self._problem(prob[0], r, prob[1])
                continue
            b = floor((t - origin) / width)
            st = keys.get(k)
            if st is None:
                if specs is None:
                    self._infer_fields(r)
                    fields = self._fields
                    specs = [(f.name, f.kind) for f in fields]
                st = keys[k] = [b, None, 0, [[] for _ in specs]]
            else:
                ob = st[0]
                if ob is None:
                    if st[1] is not None and b <= st[1]:
                        self._late(r, k, t, b, st)
                        continue
                    st[0] = b
                elif b != ob:
                    if b < ob:
                        self._late(r, k, t, b, st)
                        continue
                    out.append(self._close(k, st))
                    st[0] = b
            st[2] += 1
            n_events += 1
            if wm is None or t > wm:
                wm = t
            vals = st[3]
            for i, (name, kind) in enumerate(specs):
                v = r.get(name)
                if kind == "num" and type(v) is float and v - v == 0.0:
                    vals[i].append(v)
                    continue
                ok, v = valid(kind, v)
                if ok:
                    vals[i].append(v)
                else:
                    invalid[name] = invalid.get(name, 0) + 1
        counts["events"] += n_events
        self.watermark_ = wm
        if self._idle is not None and wm is not None:
            out.extend(self.flush(wm - self._idle))
        return out

    def _late(self, r, k, t, b, st):
        self.counts_["late"] += 1
        ref = st[0] if st[0] is not None else st[1]
        start = self._origin + b * self.bucket_s_
        state = "open" if st[0] is not None else "last closed"
        self._problem(
            "late",
            r,
            f"key {k!r}: event at {t} belongs to the bucket starting at {start}, "
            f"before the {state} bucket starting at {self._origin + ref * self.bucket_s_}",
        )

    def _close(self, k, st):
        b, n, vals = st[0], st[2], st[3]
        start = self._origin + b * self.bucket_s_
        row = {} if self.key is None else {self.key: k}
        row[self.time] = start if self.label == "start" else start + self.bucket_s_
        row["count"] = n
        for f, v in zip(self._fields, vals):
            name = f.name
            if not v:
                for a in f.aggs:
                    row[f"{name}_{a}"] = 0 if a == "count" else None
                continue
            s = sorted(v) if f.needs_sort else None
            for a in f.aggs:
                if a == "mean" or a == "rate":
                    x = sum(v) / len(v)
                elif a == "count":
                    x = len(v)
                elif a == "sum":
                    x = sum(v)
                elif a == "min":
                    x = min(v)
                elif a == "max":
                    x = max(v)
                elif a == "last":
                    x = v[-1]
                elif a == "first":
                    x = v[0]
                else:
                    x = _quantile(s, f.pcts[a])
                row[f"{name}_{a}"] = x
        st[0] = None
        st[1] = b
        st[2] = 0
        st[3] = [[] for _ in vals]
        self.counts_["rows"] += 1
        return row

    def flush(self, now=None):
        """Close open buckets: all of them (``now=None``) or those ending at or before ``now``
        (epoch seconds or ISO 8601). Rows are sorted by bucket, then by first arrival of the key."""
        self._ready()
        limit = None
        if now is not None:
            limit = parse_time(now, "now")
        width, origin = self.bucket_s_, self._origin
        todo = []
        for k, st in self._keys.items():
            b = st[0]
            if b is None:
                continue
            if limit is None or origin + (b + 1) * width <= limit:
                todo.append((b, k, st))
        todo.sort(key=lambda x: x[0])
        return [self._close(k, st) for _, k, st in todo]

    @property
    def n_open_(self):
        """Number of keys with an open bucket."""
        self._ready()
        return sum(1 for st in self._keys.values() if st[0] is not None)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """JSON-serialisable state (parameters, fields, open buckets, counters); pending
        :meth:`pop_problems` entries are not included."""
        self._ready()
        return {
            "version": _STATE_VERSION,
            "params": {
                "key": self.key,
                "time": self.time,
                "bucket": self.bucket,
                "aggregations": self.aggregations,
                "origin": self.origin,
                "label": self.label,
                "idle_timeout": self.idle_timeout,
                "on_invalid": self.on_invalid,
                "max_problems": self.max_problems,
            },
            "fields": None
            if self._fields is None
            else [[f.name, list(f.aggs)] for f in self._fields],
            "keys": [
                [k, st[0], st[1], st[2], [list(v) for v in st[3]]] for k, st in self._keys.items()
            ],
            "counts": {**self.counts_, "invalid_values": dict(self.counts_["invalid_values"])},
            "watermark": self.watermark_,
        }

    @classmethod
    def from_state_dict(cls, state):
        """A new aggregator in the state saved by :meth:`state_dict`."""
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            got = state.get("version") if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"not a BucketAggregator state of version {_STATE_VERSION} (got version {got!r})"
            )
        try:
            params = dict(state["params"])
            agg = cls(**params)
            agg._init_state()
            fields = state["fields"]
            if fields is not None:
                agg._fields = [_Field(name, _check_aggs(name, aggs)) for name, aggs in fields]
            n_fields = 0 if agg._fields is None else len(agg._fields)
            for entry in state["keys"]:
                k, ob, lc, n, vals = entry
                if len(vals) != n_fields:
                    raise ValueError(f"key {k!r} has {len(vals)} value lists for {n_fields} fields")
                agg._keys[k] = [ob, lc, int(n), [list(v) for v in vals]]
            counts = state["counts"]
            agg.counts_ = {
                **agg.counts_,
                **counts,
                "invalid_values": dict(counts.get("invalid_values", {})),
            }
            agg.watermark_ = state["watermark"]
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed BucketAggregator state: {e!r}") from None
        return agg
