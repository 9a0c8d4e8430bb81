"""Keyed SEAD on Apache Spark Structured Streaming, with its state in Spark's state store.

:func:`score_stream` takes a streaming DataFrame of keyed records (one row per agent step,
metric point ...) and returns a streaming DataFrame with, for every row, the score of the
row's key's own SEAD model and the alert event it caused, if any — the scores of a
:class:`sead.KeyedSEAD` and the events of a :class:`sead.telemetry.Monitor` (the same
:class:`~sead.telemetry.AlertPolicy`, fields and JSON as ``sead watch``) run over the same
rows in one process.

How: rows are grouped by a hash bucket of their key (``pmod(xxhash64(string(key)),
n_buckets)``), and each bucket is one :class:`~sead.telemetry.Monitor` (one KeyedSEAD and its
policy state) kept in Spark's checkpointed state store as a format version and versioned
bytes (:data:`STATE_SCHEMA`): a micro-batch advances all keys of a bucket in one compiled
call. Spark replays a failed or killed micro-batch from the state of the last committed one,
so with a replayable source and an idempotent sink a restart loses nothing and scores
nothing twice. ``transformWithStateInPandas`` (Spark >= 4, RocksDB state store) is used where
available, ``applyInPandasWithState`` (Spark >= 3.4) otherwise. ``docs/scale-out.md`` tells
how to run it on a cluster, what it guarantees and what it costs.

The per-bucket work is done by :class:`BucketScorer`, which needs no Spark (pandas in, pandas
out), so that it can be tested and reasoned about on its own. Needs ``pip install
'sead-stream[spark]'`` (pyspark, pyarrow) and Java 17 for :func:`score_stream`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct

import numpy as np
import pandas as pd

from . import _state
from .telemetry.monitor import AlertPolicy, Monitor

__all__ = [
    "STATE_FORMAT",
    "STATE_SCHEMA",
    "BucketScorer",
    "score_stream",
    "output_columns",
    "initial_state_of",
    "bucket_column",
]

#: the format of the bucket state this version writes (and the newest it reads)
STATE_FORMAT = 1
#: the schema of the state Spark keeps per bucket: fixed for good by a checkpoint
STATE_SCHEMA = "format INT, state BINARY"
#: the columns the output adds to the key, time and carried columns
RESULT_COLUMNS = ("score", "event", "problem")

_MAGIC = b"SEADSPARK\x00"
_HEAD = struct.Struct("<HI")
_APIS = ("auto", "transformWithStateInPandas", "applyInPandasWithState")
_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
_NO_SEAD_PARAMS = {
    "bucket": "aggregate with Spark's window() before score_stream",
    "aggregations": "aggregate with Spark's window() before score_stream",
    "max_keys": (
        "bound the keys with ttl= (event time); a per-process key count has no meaning "
        "across buckets"
    ),
}


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, (bytes, bytearray)):
        return o.hex()
    return str(o)


def _dumps(obj) -> str:
    """JSON text; a float that is not finite becomes null (JSON has no NaN)."""
    try:
        return json.dumps(obj, separators=(",", ":"), default=_json_default, allow_nan=False)
    except ValueError:
        return json.dumps(
            _finite(obj), separators=(",", ":"), default=_json_default, allow_nan=False
        )


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _native(values) -> list:
    """A column as a list of Python values, NaN and NaT as None."""
    s = pd.Series(values)
    out = s.astype(object).where(s.notna(), None).tolist()
    return out


class BucketScorer:
    """The work on one bucket of keys in one micro-batch: rows and state bytes in, scores,
    events and new state bytes out. Needs no Spark; :func:`score_stream` calls it from
    Spark's stateful operators.

    Parameters
    ----------
    key, time, fields
        The record's key column, event-time column (seconds) and the fields scored, as for
        :class:`sead.telemetry.Monitor`.
    pool, policy
        Each key's detectors and the :class:`~sead.telemetry.AlertPolicy`, as for
        :class:`~sead.telemetry.Monitor` (``None``: its defaults).
    ttl
        Seconds of event time after which an idle key is forgotten (see :meth:`process`), or
        None.
    n_buckets
        The number of buckets the keys are hashed into (kept in every bucket's state: a
        checkpoint written with another number is refused).
    carry
        Further columns passed through to the output (and shown in the events' ``record``).
    **sead_params
        Further settings of each key's SEAD (``warmup``, ``seed`` ...), as for
        :class:`~sead.telemetry.Monitor`.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> rows = pd.DataFrame({"agent": rng.choice(["a", "b"], 400), "ts": np.arange(400.0),
    ...                      "latency": rng.lognormal(5, 0.2, 400)})
    >>> scorer = BucketScorer(key="agent", time="ts", fields=["latency"], n_buckets=1, warmup=10)
    >>> out, state, timer = scorer.process(0, rows.iloc[:300], None)
    >>> out2, state, timer = scorer.process(0, rows.iloc[300:], state)
    >>> list(out.columns)
    ['agent', 'ts', 'score', 'event', 'problem']
    >>> from sead import KeyedSEAD
    >>> from sead.telemetry.monitor import default_pool, default_reference
    >>> alone = KeyedSEAD(default_pool(0), reference=default_reference(), warmup=10)
    >>> ref = alone.score_learn_many(rows["agent"].to_numpy(object), rows[["latency"]].to_numpy())
    >>> bool(np.array_equal(np.concatenate([out["score"], out2["score"]]), ref))
    True
    """

    def __init__(
        self,
        *,
        key,
        time,
        fields,
        pool=None,
        policy=None,
        ttl=None,
        n_buckets=64,
        carry=(),
        **sead_params,
    ):
        self.key = key
        self.time = time
        self.fields = fields
        self.pool = pool
        self.policy = policy
        self.ttl = ttl
        self.n_buckets = n_buckets
        self.carry = carry
        self.sead_params = sead_params

    # ---- settings -----------------------------------------------------------------------------
    def check(self) -> None:
        """Validate the settings (a ValueError or TypeError naming the first bad one); runs one
        record through a scratch Monitor so that every SEAD setting is checked here rather than
        in a Spark task."""
        for name in ("key", "time"):
            v = getattr(self, name)
            if not isinstance(v, str) or not v:
                raise TypeError(f"{name} must be a column name (a non-empty str), got {v!r}")
        if (
            isinstance(self.fields, str)
            or not isinstance(self.fields, (list, tuple))
            or not self.fields
        ):
            raise TypeError(f"fields must be a non-empty list of column names, got {self.fields!r}")
        for f in self.fields:
            if not isinstance(f, str) or not f:
                raise TypeError(f"fields: {f!r} is not a column name")
        if len(set(self.fields)) != len(self.fields):
            raise ValueError(f"fields has duplicates: {list(self.fields)}")
        for f in self.fields:
            if f in (self.key, self.time):
                raise ValueError(f"fields: {f!r} is the key or the time column")
        if isinstance(self.carry, str) or not isinstance(self.carry, (list, tuple)):
            raise TypeError(f"carry must be a list of column names, got {self.carry!r}")
        for c in self.carry:
            if not isinstance(c, str) or not c:
                raise TypeError(f"carry: {c!r} is not a column name")
            if c in (self.key, self.time) or c in RESULT_COLUMNS:
                raise ValueError(
                    f"carry: {c!r} is already an output column ({self.key!r}, {self.time!r}, "
                    f"{', '.join(RESULT_COLUMNS)})"
                )
        if len(set(self.carry)) != len(self.carry):
            raise ValueError(f"carry has duplicates: {list(self.carry)}")
        for c in [self.key, self.time, *self.fields, *self.carry]:
            if c.startswith("sead__"):
                raise ValueError(
                    f"column {c!r}: names starting with 'sead__' are sead.spark's own; rename it"
                )
        if self.key in RESULT_COLUMNS or self.time in RESULT_COLUMNS:
            raise ValueError(
                "the key and time columns cannot be named "
                f"{' or '.join(RESULT_COLUMNS)}: rename them"
            )
        if (
            isinstance(self.n_buckets, bool)
            or not isinstance(self.n_buckets, (int, np.integer))
            or not 1 <= self.n_buckets <= 2**31 - 1
        ):
            raise ValueError(
                f"n_buckets must be an integer in [1, 2**31 - 1], got {self.n_buckets!r}"
            )
        if self.ttl is not None and (
            isinstance(self.ttl, bool)
            or not isinstance(self.ttl, (int, float))
            or not math.isfinite(self.ttl)
            or self.ttl <= 0
        ):
            raise ValueError(f"ttl must be a positive number of seconds or None, got {self.ttl!r}")
        if self.policy is not None and not isinstance(self.policy, AlertPolicy):
            raise TypeError(
                "policy must be a sead.telemetry.AlertPolicy or None, got "
                f"{type(self.policy).__name__}"
            )
        for k, why in _NO_SEAD_PARAMS.items():
            if k in self.sead_params:
                raise ValueError(f"{k}= is not supported on Spark: {why}")
        mon = self._new_monitor()
        mon.process_many([{self.key: "check", self.time: 0.0, **{f: 0.0 for f in self.fields}}])

    def config(self) -> dict:
        """What a bucket's state must agree with to be resumed (JSON-able)."""
        policy = self.policy if self.policy is not None else AlertPolicy()
        return {
            "key": self.key,
            "time": self.time,
            "fields": list(self.fields),
            "n_buckets": int(self.n_buckets),
            "pool": None if self.pool is None else _state.encode_params(list(self.pool)),
            "policy": dataclasses.asdict(policy),
            "sead": _state.encode_params(dict(sorted(self.sead_params.items()))),
        }

    def _new_monitor(self) -> Monitor:
        return Monitor(
            key=self.key,
            time=self.time,
            fields=tuple(self.fields),
            pool=self.pool,
            policy=self.policy,
            **self.sead_params,
        )

    # ---- state bytes --------------------------------------------------------------------------
    def dumps(self, mon: Monitor, bucket: int) -> bytes:
        """A bucket's state bytes: a small JSON header (format, bucket, settings) and the
        bucket's :meth:`Monitor.to_bytes <sead.telemetry.Monitor.to_bytes>`."""
        head = json.dumps(
            {"format": STATE_FORMAT, "bucket": int(bucket), "config": self.config()},
            separators=(",", ":"),
        ).encode()
        return _MAGIC + _HEAD.pack(STATE_FORMAT, len(head)) + head + mon.to_bytes()

    def loads(self, blob, bucket: int) -> Monitor:
        """The bucket's Monitor from :meth:`dumps` (a ValueError that says what is wrong: not
        this format, a newer one, another bucket, other settings, damaged bytes)."""
        blob = bytes(blob)
        return Monitor.from_bytes(blob[self._header(blob, bucket) :])

    def _header(self, blob: bytes, bucket: int) -> int:
        """Check the header of a bucket's state bytes; the offset of the Monitor's bytes."""
        if not blob.startswith(_MAGIC):
            raise ValueError("the bucket state is not sead.spark state (no SEADSPARK header)")
        if len(blob) < len(_MAGIC) + _HEAD.size:
            raise ValueError(f"the bucket state is truncated ({len(blob)} bytes)")
        version, n = _HEAD.unpack_from(blob, len(_MAGIC))
        if version > STATE_FORMAT:
            raise ValueError(
                f"the bucket state is format {version}, newer than this sead reads "
                f"(up to {STATE_FORMAT}); upgrade sead"
            )
        start = len(_MAGIC) + _HEAD.size
        try:
            head = json.loads(blob[start : start + n].decode())
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the bucket state's header is damaged") from None
        if head.get("bucket") != int(bucket):
            raise ValueError(
                f"the state of bucket {head.get('bucket')!r} was handed to bucket {bucket}"
            )
        mine, theirs = self.config(), head.get("config", {})
        for k in mine:
            if mine[k] != theirs.get(k):
                raise ValueError(
                    f"the checkpoint's state was written with {k}={_short(theirs.get(k))}, "
                    f"this query has {k}={_short(mine[k])}: restart with the settings of the "
                    "query that wrote it, or use a new checkpoint location"
                )
        return start + n

    # ---- one micro-batch ----------------------------------------------------------------------
    def process(self, bucket: int, rows: pd.DataFrame, state, watermark: float | None = None):
        """Score ``rows`` (every row of one bucket in one micro-batch) against the bucket's
        state; returns ``(output, new_state, timer)``.

        ``rows`` has the key, time, fields and carried columns (a time in seconds, any order;
        rows are taken in the order of time, then key, fields and carried values, so that the
        result does not depend on the order Spark delivers them). ``state`` is the bucket's
        state bytes (None: a new bucket). ``watermark`` (seconds, or None) is the event time up
        to which the stream is complete: with ``ttl``, each key whose last row is more than
        ``ttl`` older than the watermark is forgotten first (a key that comes back starts
        afresh). ``output`` has one row per input row: the key, the time, the carried columns,
        ``score`` (NaN for a row that could not be scored), ``event`` (the JSON of the alert or
        resolved event of ``sead watch``, or None) and ``problem`` (why the row was not scored,
        or which field was imputed, or None). ``new_state`` is None when the bucket holds no
        key any more; ``timer`` the event time (seconds) at which its last key expires (None
        without ``ttl``).
        """
        mon = self._new_monitor() if state is None else self.loads(state, bucket)
        if self.ttl is not None and watermark is not None:
            _forget_idle(mon, watermark - float(self.ttl))
        rows = rows.reset_index(drop=True)
        order = rows.sort_values(
            [self.time, self.key, *self.fields, *self._sortable_carry(rows)],
            kind="stable",
            na_position="last",
        ).index
        rows = rows.loc[order]
        keys = _keys(rows[self.key])
        times = rows[self.time].to_numpy(dtype=np.float64, na_value=np.nan).tolist()
        cols = {self.key: keys, self.time: times}
        for f in self.fields:  # a missing value is None in the record, as in a JSON line
            cols[f] = _native(rows[f].to_numpy(dtype=np.float64, na_value=np.nan))
        for c in self.carry:
            cols[c] = _native(rows[c])
        names = list(cols)
        records = [dict(zip(names, r)) for r in zip(*cols.values())]
        scores, events, problems = _score(mon, records)
        out = {self.key: keys, self.time: rows[self.time].to_numpy()}
        for c in self.carry:
            out[c] = cols[c]
        out["score"] = scores
        out["event"] = events
        out["problem"] = problems
        return (pd.DataFrame(out, index=order), *self._finish(mon, bucket))

    def _sortable_carry(self, rows) -> list:
        return [
            c
            for c in self.carry
            if pd.api.types.is_numeric_dtype(rows[c])
            or pd.api.types.is_string_dtype(rows[c])
            or pd.api.types.is_datetime64_any_dtype(rows[c])
        ]

    def expire(self, bucket: int, state, watermark: float):
        """A timer fired: forget the keys idle at ``watermark``; ``(new_state, timer)`` as for
        :meth:`process`."""
        mon = self.loads(state, bucket)
        if self.ttl is not None:
            _forget_idle(mon, watermark - float(self.ttl))
        return self._finish(mon, bucket)

    def _finish(self, mon, bucket):
        held = mon.model_.keys_ if "model_" in mon.__dict__ else []
        if not held:
            return None, None
        timer = None
        if self.ttl is not None:
            timer = max(_last_times(mon).values()) + float(self.ttl)
        return self.dumps(mon, bucket), timer

    # ---- moving a sead watch checkpoint in ----------------------------------------------------
    def split(self, source: Monitor, buckets: dict) -> dict:
        """``{bucket: state bytes}`` holding the keys of ``source`` (a Monitor, e.g. from a
        ``sead watch`` checkpoint) by bucket; ``buckets`` maps each key to its bucket. A
        ValueError when ``source`` was made with other settings."""
        if "model_" not in source.__dict__ or not source.model_._fitted:
            return {}
        if source.bucket is not None:
            raise ValueError(
                "the Monitor aggregates time buckets (sead watch --bucket): Spark cannot take its "
                "state; aggregate with Spark's window() and start afresh"
            )
        if tuple(source.fields_) != tuple(self.fields):
            raise ValueError(
                f"the Monitor scores the fields {list(source.fields_)}, this query "
                f"{list(self.fields)} (same names, same order)"
            )
        mine = self._new_monitor()
        mine._start_with(tuple(self.fields))
        theirs = {
            k: v
            for k, v in source.get_params().items()
            if k not in ("key", "time", "fields", "max_keys", "ttl")
        }
        for k, v in mine.get_params().items():
            if k in theirs and _config_value(theirs[k]) != _config_value(v):
                raise ValueError(
                    f"the Monitor was made with {k}={_short(_config_value(theirs[k]))}, this "
                    f"query has {k}={_short(_config_value(v))}"
                )
        keys = source.model_.keys_
        by_bucket: dict = {}
        for k in keys:
            if k not in buckets:
                raise ValueError(f"no bucket given for key {k!r}")
            by_bucket.setdefault(int(buckets[k]), []).append(k)
        out = {}
        model = source.model_
        saved = (model.ttl, model.max_keys)
        model.ttl = model.max_keys = (
            None  # a bucket's KeyedSEAD has neither: load_key compares parameters
        )
        try:
            for b, ks in sorted(by_bucket.items()):
                m = _monitor_with_keys(self, source, ks)
                out[b] = self.dumps(m, b)
        finally:
            model.ttl, model.max_keys = saved
        return out


def _short(v) -> str:
    s = json.dumps(v, default=str)
    return s if len(s) <= 200 else s[:200] + "..."


def _config_value(v):
    if isinstance(v, AlertPolicy):
        return dataclasses.asdict(v)
    if v is None:
        return None
    return _state.encode_params(v)


def _keys(col) -> list:
    """Keys as Python str / int (None for a missing one), whatever pandas made of them."""
    vals = _native(col)
    out = []
    for v in vals:
        if (
            isinstance(v, float) and v.is_integer()
        ):  # an integer column with nulls arrives as floats
            v = int(v)
        out.append(v)
    return out


# ------------------------------------------------------------------------------------------
# the Monitor calls this module needs beyond its documented API, in one place. Monitor has no
# `forget(key)`, no per-key state and no way to return the ensemble scores of the records it
# processes: these helpers do it with its internals (see the report of docs/scale-out.md).


def _last_times(mon: Monitor) -> dict:
    """Each key's last accepted event time (the Monitor's time-order state)."""
    return mon.__dict__.get("_last_ts", {})


def _forget_idle(mon: Monitor, before: float) -> None:
    """Forget every key whose last row is older than ``before`` (model, policy state and
    time-order state)."""
    last = _last_times(mon)
    idle = [k for k, t in last.items() if t < before]
    if not idle:
        return
    held = set(mon.model_.keys_) if "model_" in mon.__dict__ and mon.model_._fitted else set()
    for k in idle:
        if k in held:
            mon.model_.forget(k)
        del last[k]


def _score(mon: Monitor, records: list):
    """Run ``records`` through ``mon``; ``(scores, events, problems)``, one entry per record
    (NaN / None where there is none)."""
    n = len(records)
    parts: list = []
    original = mon._signal

    def capture(S, Z, P, X, slots):
        parts.append(np.array(S, dtype=np.float64))
        return original(S, Z, P, X, slots)

    mon._signal = capture  # type: ignore[method-assign]
    try:
        events = mon.process_many(records, where=list(range(n)))
    finally:
        del mon._signal
    problems_of: dict = {}
    unscored = set()
    for p in mon.pop_problems():
        problems_of.setdefault(p.where, []).append(f"{p.kind}: {p.message}")
        if not p.scored:
            unscored.add(p.where)
    scored = [i for i in range(n) if i not in unscored]
    S = np.concatenate(parts) if parts else np.zeros(0)
    if S.shape[0] != len(scored):
        raise RuntimeError(
            f"sead.spark: the Monitor scored {S.shape[0]} records, expected {len(scored)}"
        )
    scores = np.full(n, np.nan)
    scores[scored] = S
    at = {id(r): i for i, r in enumerate(records)}
    event_col: list = [None] * n
    for e in events:
        event_col[at[id(e["record"])]] = _dumps(e)
    problem_col = [None if i not in problems_of else "; ".join(problems_of[i]) for i in range(n)]
    return scores, event_col, problem_col


def _monitor_with_keys(scorer: BucketScorer, source: Monitor, keys: list) -> Monitor:
    """A fresh Monitor of ``scorer``'s settings holding ``keys``' state from ``source``."""
    m = scorer._new_monitor()
    m._start_with(tuple(scorer.fields))
    m._ensure_model()
    src = source.model_
    for k in keys:
        m.model_.load_key(k, src.state_of(k))
    m.state_.load_slot_state(m.model_.slots_of(keys), source.state_.slot_state(src.slots_of(keys)))
    last = _last_times(source)
    m._last_ts = {k: last[k] for k in keys if k in last}
    return m


# ------------------------------------------------------------------------------------------
# Spark


def _spark():
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise ImportError(
            "sead.spark needs pyspark: pip install 'sead-stream[spark]' (and Java 17)"
        ) from None
    import pyspark.sql.functions as F
    import pyspark.sql.types as T

    return F, T


def bucket_column(key_col, n_buckets: int):
    """The bucket of a key column: ``pmod(xxhash64(cast(key as string)), n_buckets)``.

    Parameters
    ----------
    key_col
        A Spark column of keys (strings or integers; integer keys hash as their decimal text,
        so that any integer type gives the same buckets).
    n_buckets
        The number of buckets.

    Returns
    -------
    Column
        An int column in ``[0, n_buckets)``.
    """
    F, _ = _spark()
    return F.pmod(F.xxhash64(key_col.cast("string")), F.lit(int(n_buckets))).cast("int")


def _column_types(df, scorer: BucketScorer):
    """Check the columns' types (a clear error naming the column); ``(key type, time kind)``."""
    _, T = _spark()
    types = {f.name: f.dataType for f in df.schema.fields}
    for c in [scorer.key, scorer.time, *scorer.fields, *scorer.carry]:
        if c not in types:
            raise ValueError(f"column {c!r} is not in the DataFrame (its columns: {sorted(types)})")
    kt = types[scorer.key]
    if not isinstance(kt, (T.StringType, T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
        raise TypeError(
            f"key column {scorer.key!r} is {kt.simpleString()}: it must be a string or an integer"
        )
    tt = types[scorer.time]
    numeric = (
        T.ByteType,
        T.ShortType,
        T.IntegerType,
        T.LongType,
        T.FloatType,
        T.DoubleType,
        T.DecimalType,
    )
    if isinstance(tt, (T.TimestampType, T.TimestampNTZType)):
        tkind = "timestamp"
    elif isinstance(tt, numeric):
        tkind = "seconds"
    else:
        raise TypeError(
            f"time column {scorer.time!r} is {tt.simpleString()}: it must be a timestamp or a "
            "number of seconds"
        )
    for f in scorer.fields:
        ft = types[f]
        if not isinstance(ft, (*numeric, T.BooleanType)):
            raise TypeError(
                f"field {f!r} is {ft.simpleString()}: fields must be numbers or booleans"
            )
    return kt, tkind, types


def output_columns(df, *, key, time, carry=()) -> str:
    """The DDL schema of :func:`score_stream`'s output for input ``df``.

    Parameters
    ----------
    df
        The input DataFrame.
    key, time, carry
        The key, time and carried columns, as given to :func:`score_stream`.

    Returns
    -------
    str
        The key, time and carried columns with their types, then ``score DOUBLE, event
        STRING, problem STRING``.
    """
    types = {f.name: f.dataType for f in df.schema.fields}
    cols = [key, time, *carry]
    parts = [f"`{c}` {types[c].simpleString()}" for c in cols]
    return ", ".join(parts + ["score DOUBLE", "event STRING", "problem STRING"])


def _resolve_api(api, spark, initial):
    from pyspark.sql import GroupedData

    if api not in _APIS:
        raise ValueError(f"api must be one of {list(_APIS)}, got {api!r}")
    has_tws = hasattr(GroupedData, "transformWithStateInPandas")
    has_apiws = hasattr(GroupedData, "applyInPandasWithState")
    provider = spark.conf.get("spark.sql.streaming.stateStore.providerClass", None) or ""
    rocks = provider.endswith("RocksDBStateStoreProvider")
    if api == "auto":
        if has_tws and (rocks or initial is not None):
            api = "transformWithStateInPandas"
        elif has_apiws:
            api = "applyInPandasWithState"
        else:
            raise RuntimeError(
                "sead.spark needs Spark >= 3.4 (applyInPandasWithState) or >= 4.0 "
                "(transformWithStateInPandas)"
            )
    if api == "transformWithStateInPandas":
        if not has_tws:
            raise RuntimeError(
                "this pyspark has no transformWithStateInPandas (Spark >= 4.0): pass "
                "api='applyInPandasWithState'"
            )
        if not rocks:
            raise ValueError(
                "transformWithStateInPandas needs the RocksDB state store: set "
                f"spark.sql.streaming.stateStore.providerClass={_ROCKSDB} (before the query's "
                "first start), or pass api='applyInPandasWithState'"
            )
    elif not has_apiws:
        raise RuntimeError("this pyspark has no applyInPandasWithState (Spark >= 3.4)")
    if initial is not None and api != "transformWithStateInPandas":
        raise ValueError(
            "initial_state needs transformWithStateInPandas (Spark >= 4.0 with the RocksDB "
            "state store)"
        )
    return api


def score_stream(
    df,
    *,
    key: str,
    time: str,
    fields,
    pool=None,
    policy=None,
    ttl: float | None = None,
    lateness: float = 60.0,
    n_buckets: int = 64,
    carry=(),
    api: str = "auto",
    initial_state=None,
    **sead_params,
):
    """Score a streaming DataFrame with one SEAD per key; alert events as ``sead watch``.

    Parameters
    ----------
    df
        A (streaming) Spark DataFrame of records.
    key
        The column naming each row's stream (string or integer).
    time
        The event-time column: a timestamp, or a number of seconds (epoch seconds). Each key's
        rows are scored in the order of this time (ties: by the fields and carried columns);
        a row whose time is before its key's previous row in an earlier micro-batch is not
        scored (``problem`` says so), as in ``sead watch``.
    fields
        The numeric (or boolean) columns scored, in order; a null is filled from the key's
        previous value (and reported in ``problem``).
    pool, policy
        Each key's detectors and the :class:`sead.telemetry.AlertPolicy`, exactly as for
        :class:`sead.telemetry.Monitor` (``None``: its defaults, which are ``sead watch``'s).
    ttl
        Forget a key when the stream's watermark passes its last event time by more than
        ``ttl`` seconds (None: keys are kept for ever). Uses Spark's event-time watermark
        (``lateness``) and timers: rows older than the watermark are dropped by Spark, as in
        any event-time operator (``numRowsDroppedByWatermark`` in the query's progress).
    lateness
        With ``ttl``: the watermark delay in seconds (how late a row may arrive behind the
        newest event time of the earlier micro-batches and still be scored). Without ``ttl``
        no watermark is set and no row is dropped.
    n_buckets
        Keys are hashed into this many groups; each is one state entry (a KeyedSEAD of its
        keys). Fixed for good by the checkpoint (a restart with another number is refused).
    carry
        Further input columns copied to the output (a record id, a Kafka offset ...).
    api
        ``"auto"`` (``transformWithStateInPandas`` where Spark has it and the session uses the
        RocksDB state store, else ``applyInPandasWithState``), or one of the two names.
    initial_state
        Start from a single-process state: a ``sead watch`` checkpoint directory, a
        :class:`~sead.telemetry.Monitor` or its bytes (needs ``transformWithStateInPandas``;
        used only at the query's first start, see ``docs/scale-out.md``).
    **sead_params
        Further settings of each key's SEAD (``warmup``, ``seed`` ...), exactly as for
        :class:`sead.telemetry.Monitor`.

    Returns
    -------
    DataFrame
        One row per input row: the key, the time, the carried columns, ``score`` (double,
        null when the row could not be scored), ``event`` (the JSON line ``sead watch`` writes
        for an alert or resolved event this row caused, else null) and ``problem`` (why the row
        was not scored, or which field was imputed, else null). Append output mode.
    """
    F, T = _spark()
    scorer = BucketScorer(
        key=key,
        time=time,
        fields=list(fields) if not isinstance(fields, str) else fields,
        pool=pool,
        policy=policy,
        ttl=ttl,
        n_buckets=n_buckets,
        carry=list(carry) if not isinstance(carry, str) else carry,
        **sead_params,
    )
    scorer.check()
    if (
        isinstance(lateness, bool)
        or not isinstance(lateness, (int, float))
        or not math.isfinite(lateness)
        or lateness < 0
    ):
        raise ValueError(f"lateness must be a number of seconds >= 0, got {lateness!r}")
    _, tkind, types = _column_types(df, scorer)
    spark = df.sparkSession
    api = _resolve_api(api, spark, initial_state)

    # the internal frame: bucket, time in seconds (and as a timestamp for the watermark), the
    # fields as doubles, the original columns passed through
    tcol = F.col(f"`{time}`")
    secs = (
        (F.unix_micros(tcol.cast("timestamp")) / F.lit(1e6))
        if tkind == "timestamp"
        else tcol.cast("double")
    )
    cols = [
        bucket_column(F.col(f"`{key}`"), n_buckets).alias("sead__bucket"),
        F.col(f"`{key}`").alias(key),
        secs.alias("sead__t"),
        tcol.alias("sead__time"),
    ]
    cols += [F.col(f"`{f}`").cast("double").alias(f) for f in scorer.fields]
    cols += [F.col(f"`{c}`").alias(c) for c in scorer.carry]
    inner = df.select(*cols)
    if ttl is not None:
        inner = inner.withColumn("sead__wm", F.timestamp_seconds(F.col("sead__t")))
        inner = inner.withWatermark("sead__wm", f"{int(round(lateness * 1000))} milliseconds")
    out_schema = output_columns(df, key=key, time=time, carry=scorer.carry)
    runner = _Runner(scorer, time)
    grouped = inner.groupBy("sead__bucket")
    if api == "transformWithStateInPandas":
        init = None
        if initial_state is not None:
            init = initial_state_of(spark, initial_state, scorer, types[key]).groupBy(
                "sead__bucket"
            )
        return grouped.transformWithStateInPandas(
            _processor(runner),
            outputStructType=out_schema,
            outputMode="Append",
            timeMode="EventTime" if ttl is not None else "None",
            initialState=init,
        )
    from pyspark.sql.streaming.state import GroupStateTimeout

    return grouped.applyInPandasWithState(
        runner.apply_in_pandas_with_state,
        outputStructType=out_schema,
        stateStructType=STATE_SCHEMA,
        outputMode="Append",
        timeoutConf=GroupStateTimeout.EventTimeTimeout
        if ttl is not None
        else GroupStateTimeout.NoTimeout,
    )


class _Runner:
    """Adapts :class:`BucketScorer` to Spark's pandas frames and state (pickled to the workers)."""

    def __init__(self, scorer: BucketScorer, time: str):
        self.scorer = scorer
        self.time = time

    def run(self, bucket, frames, state, watermark):
        """``(output, new_state, timer)`` of one bucket's frames (``output`` None: no rows)."""
        frames = [f for f in frames if len(f)]
        if not frames:
            return None, state, None
        pdf = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        pdf = pdf.reset_index(drop=True)
        # by position: Spark renames some column names (those starting with "__") on the way
        s = self.scorer
        names = ["sead__bucket", s.key, s.time, "sead__time", *s.fields, *s.carry]
        pdf = pdf.iloc[:, : len(names)]
        pdf.columns = names
        # the scorer sees the time in seconds under the time column's name; the original
        # value (a timestamp, an integer ...) goes to the output
        original = pdf["sead__time"]
        rows = pdf.drop(columns=["sead__bucket", "sead__time"])
        out, new, timer = self.scorer.process(bucket, rows, state, watermark)
        out[self.time] = original.loc[out.index].to_numpy()
        # named as the output schema (Spark pads its batches with frames of those names, so a
        # frame with other column labels would come out as nulls)
        return out.reset_index(drop=True), new, timer

    # ---- applyInPandasWithState -----------------------------------------------------------------
    def apply_in_pandas_with_state(self, key, frames, state):
        bucket = int(key[0])
        s = self.scorer
        if state.hasTimedOut:
            blob = _state_blob(state.get)
            new, timer = s.expire(bucket, blob, state.getCurrentWatermarkMs() / 1000.0)
            _set_apiws(state, new, timer)
            return
        blob = _state_blob(state.get) if state.exists else None
        watermark = None
        if s.ttl is not None:
            wm = state.getCurrentWatermarkMs()
            watermark = wm / 1000.0 if wm > 0 else None
        out, new, timer = self.run(bucket, frames, blob, watermark)
        if out is None:
            return
        _set_apiws(state, new, timer)
        yield out


def _state_blob(row):
    fmt, blob = row[0], row[1]
    if fmt is None or blob is None:
        raise ValueError("the bucket state has no format or bytes (not written by sead.spark)")
    if int(fmt) > STATE_FORMAT:
        raise ValueError(
            f"the bucket state is format {fmt}, newer than this sead reads (up to {STATE_FORMAT})"
        )
    return bytes(blob)


def _timer_ms(timer: float) -> int:
    # the first millisecond at which the watermark is past ``timer`` seconds
    return int(math.floor(timer * 1000.0)) + 1


def _set_apiws(state, new, timer):
    if new is None:
        state.remove()
        return
    state.update((STATE_FORMAT, new))
    if timer is not None:
        state.setTimeoutTimestamp(max(_timer_ms(timer), state.getCurrentWatermarkMs() + 1))


def _processor(runner: _Runner):
    from pyspark.sql.streaming import StatefulProcessor

    class SEADBucketProcessor(StatefulProcessor):
        """transformWithStateInPandas: one value state per bucket, one event-time timer (ttl)."""

        def init(self, handle):
            self.handle = handle
            self.value = handle.getValueState("sead", STATE_SCHEMA)

        def _timer(self, timer, watermark_ms):
            if runner.scorer.ttl is None:  # no time mode: no timers
                return
            for t in list(self.handle.listTimers()):
                self.handle.deleteTimer(t)
            if timer is not None:
                self.handle.registerTimer(max(_timer_ms(timer), watermark_ms + 1))

        def _save(self, new, timer, watermark_ms):
            if new is None:
                self.value.clear()
            else:
                self.value.update((STATE_FORMAT, new))
            self._timer(timer, watermark_ms)

        def handleInputRows(self, key, rows, timerValues):
            bucket = int(key[0])
            blob = _state_blob(self.value.get()) if self.value.exists() else None
            wm = timerValues.getCurrentWatermarkInMs()
            watermark = wm / 1000.0 if runner.scorer.ttl is not None and wm > 0 else None
            out, new, timer = runner.run(bucket, rows, blob, watermark)
            if out is None:
                return
            self._save(new, timer, wm)
            yield out

        def handleExpiredTimer(self, key, timerValues, expiredTimerInfo):
            if self.value.exists():
                wm = timerValues.getCurrentWatermarkInMs()
                new, timer = runner.scorer.expire(
                    int(key[0]), _state_blob(self.value.get()), wm / 1000.0
                )
                self._save(new, timer, wm)
            return iter([])

        def handleInitialState(self, key, initialState, timerValues):
            row = initialState.iloc[0]
            blob = _state_blob((row["format"], row["state"]))
            bucket = int(key[0])
            mon = runner.scorer.loads(blob, bucket)  # checks it belongs here, with these settings
            new, timer = runner.scorer._finish(mon, bucket)
            self._save(new, timer, timerValues.getCurrentWatermarkInMs())

        def close(self):
            pass

    return SEADBucketProcessor()


def initial_state_of(spark, source, scorer: BucketScorer, key_type=None):
    """The initial bucket states holding the keys of a single-process state.

    Parameters
    ----------
    spark
        The SparkSession.
    source
        A ``sead watch`` checkpoint directory, a :class:`~sead.telemetry.Monitor` or its
        bytes.
    scorer
        The :class:`BucketScorer` of the query (its settings must match the source's).
    key_type
        The Spark type of the stream's key column (checked against the source's keys), or
        None.

    Returns
    -------
    DataFrame
        ``sead__bucket, format, state``: one row per bucket that holds keys. The keys are
        hashed into buckets by Spark itself (:func:`bucket_column`), as the stream's rows are.
    """
    F, T = _spark()
    mon = _load_source(source)
    keys = mon.model_.keys_ if "model_" in mon.__dict__ and mon.model_._fitted else []
    if key_type is not None and keys:
        want_str = isinstance(key_type, T.StringType)
        bad = [k for k in keys if isinstance(k, str) != want_str]
        if bad:
            raise ValueError(
                f"the Monitor's key {bad[0]!r} is a {type(bad[0]).__name__}, the stream's key "
                f"column is {key_type.simpleString()}: the same keys must have the same type"
            )
    buckets = {}
    if keys:
        kdf = spark.createDataFrame([(str(k),) for k in keys], "k STRING")
        got = kdf.select("k", bucket_column(F.col("k"), scorer.n_buckets).alias("b")).collect()
        text = {str(k): k for k in keys}
        buckets = {text[r["k"]]: r["b"] for r in got}
    states = scorer.split(mon, buckets)
    rows = [(int(b), STATE_FORMAT, bytearray(blob)) for b, blob in sorted(states.items())]
    return spark.createDataFrame(rows, "sead__bucket INT, format INT, state BINARY")


def _load_source(source) -> Monitor:
    import os

    if isinstance(source, Monitor):
        return source
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Monitor.from_bytes(bytes(source))
    if isinstance(source, (str, os.PathLike)):
        from ._atomic import AtomicDir
        from .telemetry.watch import CHECKPOINT_FORMAT

        if not os.path.isdir(source):
            raise ValueError(
                f"initial_state: {os.fspath(source)!r} is not a directory (a sead watch "
                "--checkpoint)"
            )
        files = AtomicDir(source).read()
        if files is None:
            raise ValueError(f"initial_state: {os.fspath(source)!r} holds no sead watch checkpoint")
        st = json.loads(files["state.json"])
        if st.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(
                f"initial_state: {os.fspath(source)!r} is format {st.get('format')!r}, expected "
                f"{CHECKPOINT_FORMAT!r}"
            )
        if not st.get("monitor"):
            return Monitor()
        return Monitor.from_bytes(files["monitor.bin"])
    raise TypeError(
        f"initial_state must be a sead watch checkpoint directory, a Monitor or its bytes, got "
        f"{type(source).__name__}"
    )
