"""Alerting on keyed telemetry: :class:`Monitor` (one SEAD per stream) and :class:`AlertPolicy`.

A :class:`Monitor` takes records (dicts, a DataFrame, or an iterable of them) such as one LLM
agent step or one metric point: ``{"agent": "a-7", "ts": 1735689600.2, "latency_ms": 812.0,
"error": False}``. The ``key`` field names the stream, the ``time`` field its event time
(epoch seconds or ISO 8601), the other numeric fields (booleans count as 0/1) are scored by a
:class:`sead.KeyedSEAD` — one model per key. Optionally the records of each key are first
aggregated into fixed time buckets (``bucket="60s"``,
:class:`~sead.telemetry.buckets.BucketAggregator`).

The :class:`AlertPolicy` turns each key's stream of ensemble scores into alert events:

1. the score of a row **exceeds** when it is at least the key's threshold: by default the
   ``q``-quantile (``q = 0.7``) of the key's own last ``window`` scores, so that one ``q``
   means the same share of exceeding rows on every stream (or a fixed ``threshold``);
2. nothing exceeds before the key has ``warmup`` rows;
3. an **alert** fires on an exceeding row when ``confirm`` of the key's last ``of`` rows
   (that row included) exceeded (k-of-n confirmation), unless the key is cooling down;
4. a firing key **resolves** after ``resolve_after`` rows in a row below the threshold; then it
   cools down for ``cooldown`` rows, during which no new alert fires.

That is the default, *persistence* mode. In the *detection* mode (``AlertPolicy(mode="detect")``)
the scores first go through the NAB alert signal, :class:`sead.alerting.AlertSignal` (state per
key, beside its model): an alert fires on a row whose signal reaches the signal's threshold (one
row per event: the signal suppresses repeats), and resolves after ``resolve_after`` quiet rows.
Such an event also carries ``ensemble_score`` (SEAD's score of the row; ``score`` is then the
signal and ``threshold`` the signal's).

Every event is a dict (the shape :mod:`sead.telemetry.alertmanager` posts)::

    {"event": "alert" | "resolved", "ts": 1735689612.0, "key": "a-7", "rule": "sead",
     "score": 0.9991, "threshold": 0.9962,
     "detectors": [{"name": "ZScoreRule-1", "weight": 0.31, "quantile": 1.0,
                    "contribution": 0.31}, ...],
     "fields": [{"name": "latency_ms", "value": 4210.0, "robust_z": 14.2,
                 "attribution": 0.83}, ...],
     "record": {... the row as received ...}}

``detectors`` are the top detectors by weight × quantile (their share of the ensemble's
evidence for that row); ``fields`` the fields that drove it: each field's value, its robust
z-score against the key's last ``history`` values of that field (``(x - median) / (1.4826
MAD)``, the MAD floored at a tiny fraction of the median's magnitude), and its attribution —
its share of the row's summed absolute robust z-scores: which fields are unusual for this key,
ordered by how unusual. Both are computed for the row itself, from the state before it was
learned, so an event does not depend on how the records were batched.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
from numba import njit

from .._kernels.sorted import lower_bound
from .._params import InstanceOf, Interval, Options, validate_params
from .._stack import Compiled, bundler, grown, load_slots
from .._validation import FeatureSchema

__all__ = ["AlertPolicy", "Monitor", "NO_EVENT", "ALERT", "RESOLVED"]

NO_EVENT, ALERT, RESOLVED = 0, 1, 2
_EVENT_NAMES = {ALERT: "alert", RESOLVED: "resolved"}
_MAD_TO_SD = 1.4826
_MODES = ("persist", "detect")


@dataclass
class AlertPolicy:
    """When a key's ensemble scores become an alert (see the module docstring).

    The defaults were tuned on :func:`sead.datasets.agent_telemetry` (seeds 0-4, the default
    Monitor): a low per-row threshold (the top 30 % of the key's own scores) and a long
    confirmation (6 of the last 10 rows) catch the incidents, which last from 4 to 160 steps,
    while a single odd row never alerts; ``docs/telemetry.md`` gives the recall, precision and
    false-alert rate this buys. Raise ``q`` or ``confirm`` for fewer, later alerts.

    Parameters
    ----------
    q
        Quantile of the key's own recent scores used as its threshold, in (0, 1).
    window
        How many of the key's last scores the quantile is taken over (16 bytes each per key).
    threshold
        A fixed threshold instead of the quantile (None: the quantile).
    warmup
        Rows of a key before any of its rows can exceed (its model and its threshold settle).
    confirm, of
        An alert needs ``confirm`` exceeding rows among the key's last ``of`` rows.
    resolve_after
        Rows below the threshold in a row that resolve a firing key.
    cooldown
        Rows after a resolution during which the key cannot fire again.
    history
        Past values of each field kept per key for the robust z-scores (8 bytes each).
    top_detectors, top_fields
        How many detectors and fields an event lists.
    rule
        The rule name events carry (``rule`` label in Alertmanager).
    mode
        ``"persist"`` (the default): the quantile threshold with k-of-n confirmation above.
        ``"detect"``: the Monitor's :class:`~sead.alerting.AlertSignal` (its ``signal``)
        turns each key's scores into a signal that fires once per event; an alert fires on a
        *detection* (a row whose signal reaches the signal's ``threshold``, after ``warmup``
        rows), and the key resolves after ``resolve_after`` rows in a row whose signal, before
        its suppression of repeats, is below that threshold (a quiet period); ``cooldown``
        applies as above. ``q``, ``window``, ``threshold``, ``confirm`` and ``of`` are not used.
        On :func:`sead.datasets.agent_telemetry` the persistence mode alerts better
        (``docs/telemetry.md`` has both measured).
    """

    q: float = 0.7
    window: int = 250
    threshold: float | None = None
    warmup: int = 100
    confirm: int = 6
    of: int = 10
    resolve_after: int = 2
    cooldown: int = 0
    history: int = 32
    top_detectors: int = 3
    top_fields: int = 3
    rule: str = "sead"
    mode: str = "persist"

    _parameter_constraints = {
        "q": [Interval("real", 0, 1, closed="neither")],
        "window": [Interval("int", 10, None)],
        "threshold": [Interval("real", 0, 1), None],
        "warmup": [Interval("int", 0, None)],
        "confirm": [Interval("int", 1, 64)],
        "of": [Interval("int", 1, 64)],
        "resolve_after": [Interval("int", 1, None)],
        "cooldown": [Interval("int", 0, None)],
        "history": [Interval("int", 4, None)],
        "top_detectors": [Interval("int", 0, None)],
        "top_fields": [Interval("int", 0, None)],
        "rule": [InstanceOf(str, "a non-empty string")],
        "mode": [Options(*_MODES)],
    }

    def get_params(self) -> dict:
        """The settings: ``{name: value}``."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def check(self) -> None:
        """Validate the settings (a ValueError naming the first bad one)."""
        validate_params(self)
        if self.confirm > self.of:
            raise ValueError(f"confirm must be <= of, got confirm={self.confirm}, of={self.of}")
        if not self.rule:
            raise ValueError(f"rule must be a non-empty string, got {self.rule!r}")


# ------------------------------------------------------------------------------------------
# the compiled policy: per slot, the score window, the confirmation bits, the alert state and
# each field's recent values; rows are taken in order


@njit(cache=True)
def _window_insert(ring, srt, count, pos, x):
    """Add ``x`` to a sliding window kept as a ring and the same values sorted; returns the new
    ``(count, pos)``."""
    W = ring.shape[0]
    if count < W:
        i = count
        while i > 0 and srt[i - 1] > x:
            srt[i] = srt[i - 1]
            i -= 1
        srt[i] = x
        count += 1
    else:
        i = lower_bound(srt, W, ring[pos])  # the oldest value's place
        while i + 1 < W and srt[i + 1] < x:
            srt[i] = srt[i + 1]
            i += 1
        while i > 0 and srt[i - 1] > x:
            srt[i] = srt[i - 1]
            i -= 1
        srt[i] = x
    ring[pos] = x
    return count, (pos + 1) % W


@njit(cache=True, inline="always")
def _quantile(srt, count, q):
    """The ``q``-quantile of the sorted ``srt[:count]`` (linear interpolation; inf when empty)."""
    if count == 0:
        return np.inf
    h = (count - 1) * q
    lo = int(math.floor(h))
    hi = min(lo + 1, count - 1)
    return srt[lo] + (h - lo) * (srt[hi] - srt[lo])


@njit(cache=True)
def _robust_z(hist, n, x, out):
    """Robust z-score of each value of ``x`` (d,) against the first ``n`` values of each row of
    ``hist`` (d, H): ``(x - median) / (1.4826 MAD)``; 0 without history or for a missing (NaN)
    value."""
    d = x.shape[0]
    tmp = np.empty(n)
    for j in range(d):
        if n == 0 or math.isnan(x[j]):  # no history, or a missing value: no evidence
            out[j] = 0.0
            continue
        for i in range(n):
            tmp[i] = hist[j, i]
        med = np.median(tmp)
        for i in range(n):
            tmp[i] = abs(tmp[i] - med)
        mad = np.median(tmp) * _MAD_TO_SD
        floor = 1e-9 * max(1.0, abs(med))
        z = (x[j] - med) / max(mad, floor)
        out[j] = z if math.isfinite(z) else (1e300 if z > 0 else -1e300)


PolicyArrays = namedtuple(
    "PolicyArrays",
    [
        "ring",
        "srt",
        "count",
        "pos",
        "bits",
        "firing",
        "normal",
        "cool",
        "rows",
        "hist",
        "hn",
        "hpos",
    ],
)
PolicyArrays.__doc__ = """The policy's per-slot arrays, as :class:`PolicyState` holds them
(leading axis: the slot):
``ring``, ``srt`` float64 (window,) the recent scores in arrival and in sorted order,
``count``, ``pos`` int64 their fill and the ring's next position; ``bits`` int64 the last
``of`` exceedances, ``firing`` bool, ``normal`` int64 rows below the threshold while firing,
``cool`` int64 cool-down rows left, ``rows`` int64 rows seen; ``hist`` float64 (d, history)
each field's recent values, ``hn``, ``hpos`` int64 their fill and next position."""

_policy_arrays = bundler(PolicyArrays)

PolicyConfig = namedtuple(
    "PolicyConfig", ["q", "fixed", "warmup", "confirm", "of", "resolve_after", "cooldown"]
)
PolicyConfig.__doc__ = """The policy's settings as the kernel takes them: ``q`` and ``fixed`` float
(``fixed`` < 0: the threshold is the ``q`` quantile of the window), the others int."""


@njit(cache=True)
def _policy_rows(S, R, X, slots, st, cfg, events, thresholds, zs):
    """Run the policy over the rows in order (see :class:`AlertPolicy`); writes ``events[t]``
    (0, ALERT, RESOLVED), ``thresholds[t]`` and, for rows with an event, ``zs[t]`` (the robust
    z-score of each field before the row is learned). ``S`` is what exceeds (fires), ``R`` what
    keeps a firing key from resolving (``R[t] >= threshold``): the same array in the persistence
    mode, the signal before its suppression in the detection mode. ``st`` is the
    :data:`PolicyArrays`, ``cfg`` the :data:`PolicyConfig`."""
    ring, srt, count, pos, bits, firing, normal, cool, rows, hist, hn, hpos = st
    q, fixed, warmup, confirm, of, resolve_after, cooldown = cfg
    n, d = X.shape
    H = hist.shape[2]
    mask = (1 << of) - 1
    for t in range(n):
        s = slots[t]
        thr = fixed if fixed >= 0.0 else _quantile(srt[s], count[s], q)
        thresholds[t] = thr
        x = S[t]
        exceed = rows[s] >= warmup and x >= thr
        b = ((bits[s] << 1) | (1 if exceed else 0)) & mask
        bits[s] = b
        ev = 0
        if not firing[s]:
            if cool[s] > 0:
                cool[s] -= 1
            elif exceed:  # an alert fires on an exceeding row (its score >= its threshold)
                c = 0
                v = b
                while v:
                    c += v & 1
                    v >>= 1
                if c >= confirm:
                    firing[s] = True
                    normal[s] = 0
                    ev = 1
        elif R[t] >= thr:
            normal[s] = 0
        else:
            normal[s] += 1
            if normal[s] >= resolve_after:
                firing[s] = False
                cool[s] = cooldown
                bits[s] = 0
                ev = 2
        events[t] = ev
        if ev:
            _robust_z(hist[s], hn[s], X[t], zs[t])
        count[s], pos[s] = _window_insert(ring[s], srt[s], count[s], pos[s], x)
        for j in range(d):
            v = X[t, j]
            if math.isnan(v):  # a missing value: the field's last one (the model's imputation)
                v = hist[s, j, (hpos[s] - 1) % H] if hn[s] > 0 else 0.0
            hist[s, j, hpos[s]] = v
        hpos[s] = (hpos[s] + 1) % H
        hn[s] = min(hn[s] + 1, H)
        rows[s] += 1


_policy_call = Compiled(_policy_rows)


class PolicyState:
    """The policy's per-slot arrays (kept beside a :class:`sead.KeyedSEAD`'s models)."""

    def __init__(self, policy: AlertPolicy, n_features: int):
        self.policy = policy
        self.d = int(n_features)
        self._shapes = {
            "ring": ((policy.window,), np.float64),
            "srt": ((policy.window,), np.float64),
            "count": ((), np.int64),
            "pos": ((), np.int64),
            "bits": ((), np.int64),
            "firing": ((), np.bool_),
            "normal": ((), np.int64),
            "cool": ((), np.int64),
            "rows": ((), np.int64),
            "hist": ((self.d, policy.history), np.float64),
            "hn": ((), np.int64),
            "hpos": ((), np.int64),
        }
        self.arrays: dict[str, np.ndarray] = {
            k: np.zeros((0, *shape), dtype=dt) for k, (shape, dt) in self._shapes.items()
        }

    @property
    def capacity(self) -> int:
        return self.arrays["count"].shape[0]

    def reserve(self, capacity: int) -> None:
        if capacity <= self.capacity:
            return
        self.arrays.update({k: grown(a, capacity) for k, a in self.arrays.items()})

    def reset(self, slots) -> None:
        for a in self.arrays.values():
            a[slots] = 0

    def slot_state(self, slots) -> dict:
        return {f"policy.{k}": a[slots].copy() for k, a in self.arrays.items()}

    def load_slot_state(self, slots, arrays: dict) -> None:
        given = {k: arrays[f"policy.{k}"] for k in self.arrays}
        load_slots(self.arrays, given, slots, "policy state")

    def nbytes_per_slot(self) -> int:
        return int(
            sum(
                a[0].nbytes if a.shape[0] else np.zeros(a.shape[1:], a.dtype).nbytes
                for a in self.arrays.values()
            )
        )

    def run(self, S, X, slots, R=None, detect_threshold=None):
        """Events, thresholds and robust z-scores of the rows (updates the state).

        ``R``: what keeps a firing key from resolving (``None``: ``S``). ``detect_threshold``:
        the detection mode (a fixed threshold, one detection fires)."""
        p = self.policy
        n = S.shape[0]
        S = np.ascontiguousarray(S, dtype=np.float64)
        R = S if R is None else np.ascontiguousarray(R, dtype=np.float64)
        detect = detect_threshold is not None
        events = np.zeros(n, dtype=np.int64)
        thresholds = np.empty(n)
        zs = np.zeros((n, self.d))
        a = self.arrays
        cfg = PolicyConfig(
            q=float(p.q),
            fixed=float(detect_threshold)
            if detect
            else (-1.0 if p.threshold is None else float(p.threshold)),
            warmup=int(p.warmup),
            confirm=1 if detect else int(p.confirm),
            of=1 if detect else int(p.of),
            resolve_after=int(p.resolve_after),
            cooldown=int(p.cooldown),
        )
        st = _policy_arrays(a)
        _policy_call(S, R, X, slots, st, cfg, events, thresholds, zs)
        return events, thresholds, zs


# ------------------------------------------------------------------------------------------
# records in


@njit(cache=True)
def _time_order(codes, ts, last):
    """``bad[t]``: row ``t``'s time is earlier than an earlier accepted time of its key (codes
    index ``last``, each key's latest accepted time, updated in place)."""
    bad = np.zeros(codes.shape[0], dtype=np.bool_)
    for t in range(codes.shape[0]):
        c = codes[t]
        if ts[t] < last[c]:
            bad[t] = True
        else:
            last[c] = ts[t]
    return bad


@dataclass
class Problem:
    """A record that was not scored, or was scored with a missing value imputed.

    Attributes
    ----------
    where
        Where the record was: its position in the input, or the line number the caller gave
        (``None`` when unknown).
    kind
        What was wrong, as a short code.
    message
        What was wrong, in words.
    record
        The record as received.
    scored
        ``True`` when the record was still scored (a missing value was imputed).
    """

    where: int | None
    kind: str
    message: str
    record: object = None
    scored: bool = False  # True: the record was still scored (a missing value was imputed)

    def __str__(self) -> str:
        at = "" if self.where is None else f"record {self.where}: "
        return f"{at}{self.message}"


def _is_number(v) -> bool:
    return isinstance(v, (numbers.Real, np.bool_)) and not isinstance(v, str)


def default_pool(seed: int | None = 0) -> list:
    """The detectors a :class:`Monitor` gives each key when ``pool`` is None: two robust
    z-score rules (a slow EWMA and the median of the last 32 values) for spikes and shifts in one
    field, Half-Space Trees for joint anomalies and LODA for density — :func:`sead.pools.telemetry`
    without its isolation forest and with a shorter median window. On
    :func:`sead.datasets.agent_telemetry` (seeds 0-4) it alerts as well as the full pool (recall
    0.93 against 0.92 with the default policy) at about 60 % of its cost per record and under
    half its memory: about 43 KB per key with 20 fields and the :func:`default_reference`
    (78 KB with :func:`sead.pools.telemetry`)."""
    from ..detectors import LODA, HalfSpaceTrees, ZScoreRule

    s = (lambda k: None) if seed is None else (lambda k: int(seed) + k)
    return [
        ZScoreRule(alpha=0.01),
        ZScoreRule(method="median", window=32),
        HalfSpaceTrees(n_trees=10, height=5, window=100, warmup=32, seed=s(0)),
        LODA(n_bins=10, n_random_cuts=20, seed=s(1)),
    ]


def default_reference():
    """The quantile reference a :class:`Monitor` gives each detector when ``reference`` is not
    set: a t-digest with ``compression=20, buffer_size=32`` (about 1.1 KB per detector instead of
    the ~21 KB of SEAD's default, so that a key with 20 fields stays under 64 KB)."""
    from ..normalization import TDigestQuantile

    return TDigestQuantile(compression=20, buffer_size=32)


_NUM_TYPES = frozenset({float, int, bool, type(None)})


class _AlertSignalConstraint:
    """An :class:`sead.alerting.AlertSignal` (imported when checked: alerting imports late)."""

    def is_satisfied_by(self, v) -> bool:
        from ..alerting import AlertSignal

        return isinstance(v, AlertSignal)

    def __str__(self) -> str:
        return "an AlertSignal"


class Monitor:
    """Alerts on keyed telemetry: one SEAD per stream, an :class:`AlertPolicy` per stream.

    Parameters
    ----------
    key
        The record field that names the stream (an agent, a host, a metric series).
    time
        The record field with the event time (epoch seconds or an ISO 8601 string).
    fields
        The numeric fields to score; ``None``: every numeric (or boolean) field of the first
        record other than ``key`` and ``time`` (of the first bucket row with ``bucket``).
    pool
        The detectors of each key's model; ``None``: :func:`default_pool`.
    policy
        The :class:`AlertPolicy` (``None``: the defaults).
    bucket
        Aggregate each key's records into time buckets of this width (``"60s"``, ``"5m"`` …)
        before scoring, with ``aggregations`` (see
        :class:`~sead.telemetry.buckets.BucketAggregator`); ``None`` scores every record.
    aggregations
        Per-field aggregations of the buckets (``None``: mean and p95 of numeric fields, rate
        of boolean fields, and the count).
    max_keys, ttl
        Bound the number of keys (see :class:`sead.KeyedSEAD`; ``ttl`` in seconds of event time).
    signal
        The :class:`sead.alerting.AlertSignal` of the policy's ``mode="detect"`` (``None``: its
        defaults, the ones chosen on NAB); its state is kept per key beside the key's model
        (a key that is evicted or expires starts afresh, checkpoints hold it). Only that mode
        uses it: giving one with ``mode="persist"`` is a ValueError.
    **sead_params
        Further settings of each key's SEAD (``warmup``, ``eta``, ``reference`` …).

    Attributes
    ----------
    stats_
        Counters: records, scored, skipped (by kind), alerts, resolved, keys.
    problems_
        The :class:`Problem` s of the records not scored since the last :meth:`pop_problems`.
    """

    _parameter_constraints = {
        "key": [InstanceOf(str, "a field name (a str)")],
        "time": [InstanceOf(str, "a field name (a str)")],
        "fields": [InstanceOf((list, tuple), "a list of field names"), None],
        "pool": [InstanceOf((list, tuple), "a list of sead detectors"), None],
        "policy": [InstanceOf(AlertPolicy, "an AlertPolicy"), None],
        "bucket": [InstanceOf((str, int, float), "a bucket width such as '60s' or '5m'"), None],
        "aggregations": [InstanceOf(dict, "a dict of field to aggregations"), None],
        "max_keys": [Interval("int", 1, None), None],
        "ttl": [Interval("real", 0, None, closed="neither"), None],
        "signal": [_AlertSignalConstraint(), None],
    }

    def __init__(
        self,
        key="agent",
        time="ts",
        fields=None,
        pool=None,
        policy=None,
        bucket=None,
        aggregations=None,
        max_keys=None,
        ttl=None,
        signal=None,
        **sead_params,
    ):
        self.key = key
        self.time = time
        self.fields = fields
        self.pool = pool
        self.policy = policy
        self.bucket = bucket
        self.aggregations = aggregations
        self.max_keys = max_keys
        self.ttl = ttl
        self.signal = signal
        self.sead_params = sead_params
        self.stats_ = {"records": 0, "scored": 0, "skipped": {}, "alerts": 0, "resolved": 0}
        self.problems_: list[Problem] = []

    # ---- setup ------------------------------------------------------------------------------
    def _check_params(self) -> None:
        """Validate the constructor's arguments (at the first record: ``__init__`` only stores)."""
        validate_params(self, {k: getattr(self, k) for k in self._parameter_constraints})

    def _start(self, first: dict) -> None:
        names = self.fields
        if names is None:
            names = sorted(
                k for k, v in first.items() if k not in (self.key, self.time) and _is_number(v)
            )
            if not names:
                raise ValueError(
                    f"the first record has no numeric field besides {self.key!r} and "
                    f"{self.time!r}: {sorted(first)}; pass fields="
                )
        self._start_with(tuple(names))

    def _start_with(self, fields: tuple) -> None:
        from .. import KeyedSEAD

        policy = self.policy if self.policy is not None else AlertPolicy()
        policy.check()
        self.fields_ = fields
        params = dict(self.sead_params)
        params.setdefault("reference", default_reference())
        pool = self.pool if self.pool is not None else default_pool(params.get("seed", 0))
        self.model_ = KeyedSEAD(pool, max_keys=self.max_keys, ttl=self.ttl, **params)
        self.policy_ = policy
        self.state_ = PolicyState(policy, len(self.fields_))
        self.signal_ = self._make_signal(policy)
        self._last_ts: dict = {}

    def _make_signal(self, policy: AlertPolicy):
        """The policy's alert signal with fresh state (``None`` in the persistence mode)."""
        from ..alerting import AlertSignal

        if policy.mode != "detect":
            if self.signal is not None:
                raise ValueError(
                    "signal= is used by AlertPolicy(mode='detect') only; the policy has "
                    f"mode={policy.mode!r}"
                )
            return None
        sig = AlertSignal() if self.signal is None else self.signal.clone()
        sig.allocate(0, n_features=len(self.fields_))
        return sig

    def _ensure_model(self) -> None:
        """Start the keyed model (its features are the fields, in order) and attach the policy
        state to its slots."""
        from ..pools import names

        m = self.model_
        if not m._fitted:
            m._start(FeatureSchema(len(self.fields_)))
            m._attach(self.state_)
            if self.signal_ is not None:
                m._attach(self.signal_)
            self._detector_names = names(m._prototype()._pool())

    # ---- records ------------------------------------------------------------------------------
    def _bucketed(self, records, where=None):
        """The bucket rows the records close. Records the aggregator cannot use (no dict, a bad
        key or time, a value of the wrong type for its aggregation) are problems with their
        position and are not aggregated; so are late events (reported by the aggregator)."""
        from .buckets import BucketAggregator

        if "_buckets" not in self.__dict__:
            self._buckets = BucketAggregator(
                key=self.key, time=self.time, bucket=self.bucket, aggregations=self.aggregations
            )
        agg = self._buckets
        agg._ready()
        good, pos = [], {}
        for i, r in enumerate(records):
            w = where[i] if where is not None else None
            k, t, prob = agg._key_time(r)
            if prob is not None:
                kind = (
                    "not_a_record"
                    if not isinstance(r, dict)
                    else ("bad_key" if prob[0] == "bad key" else "bad_time")
                )
                self._problem(w, kind, prob[1], r)
                continue
            if agg._fields is None:
                agg._infer_fields(r)
            msg = None
            for f in agg._fields:
                v = r.get(f.name)
                if v is None:
                    self._missing(w, f.name, r, "left out of its bucket's aggregates")
                    continue
                ok, _ = agg._valid(f.kind, v)
                if not ok:
                    what = {"num": "a finite number", "bool": "a boolean (or 0/1)"}.get(
                        f.kind, "a value"
                    )
                    msg = f"field {f.name!r}: value {v!r} is not {what} (aggregations {f.aggs})"
                    break
            if msg is not None:
                self._problem(w, "bad_field", msg, r)
                continue
            pos[id(r)] = w
            good.append(r)
        rows = agg.add_many(good)
        for p in agg.pop_problems():
            rec = p.get("record")
            kind = "late" if p.get("reason") == "late" else "bucket"
            self._problem(pos.get(id(rec)), kind, str(p.get("detail", p.get("reason"))), rec)
        return rows

    def _problem(self, where, kind, message, record=None):
        self.problems_.append(Problem(where, kind, message, record))
        self.stats_["skipped"][kind] = self.stats_["skipped"].get(kind, 0) + 1

    def pop_problems(self) -> list[Problem]:
        """The problems recorded since the last call (and forget them)."""
        out, self.problems_ = self.problems_, []
        return out

    def _extract(self, records, where, report_missing=True):
        """``(rows, keys, ts, X)`` of the records that can be scored; the others are problems.

        Column by column: each field's values are gathered once and converted in one numpy
        call when they are all plain numbers (the usual case); only a column holding anything
        else is checked value by value."""
        from .buckets import parse_time

        kf, tf, fields = self.key, self.time, self.fields_
        n = len(records)
        bad = {}  # record index -> (kind, message)
        missing = []  # (index, field)
        if all(type(r) is dict for r in records):
            recs = records
        else:
            recs = []
            for i, rec in enumerate(records):
                if isinstance(rec, dict):
                    recs.append(rec)
                else:
                    bad[i] = ("not_a_record", f"expected a JSON object, got {type(rec).__name__}")
                    recs.append({})
        # keys
        keys = [r.get(kf) for r in recs]
        kt = set(map(type, keys))
        if not (kt == {str} or kt == {int}):
            for i, k in enumerate(keys):
                if i in bad:
                    continue
                if k is None or isinstance(k, (bool, float)) or not isinstance(k, (str, int)):
                    bad[i] = (
                        "bad_key",
                        f"key field {kf!r} is {'missing' if k is None else repr(k)}",
                    )
        # times
        tcol = [r.get(tf) for r in recs]
        tt = set(map(type, tcol))
        if tt and tt <= {float, int}:
            ts = np.array(tcol, dtype=np.float64)
            if not np.isfinite(ts).all():
                for i in np.flatnonzero(~np.isfinite(ts)).tolist():
                    bad.setdefault(i, ("bad_time", f"{tf} must be finite, got {tcol[i]!r}"))
        else:
            ts = np.zeros(n)
            for i, v in enumerate(tcol):
                if i in bad:
                    continue
                try:
                    ts[i] = parse_time(v, tf)
                except (ValueError, TypeError) as e:
                    bad[i] = ("bad_time", str(e))
        # fields
        X = np.empty((n, len(fields)))
        for j, f in enumerate(fields):
            col = [r.get(f) for r in recs]
            types = set(map(type, col))
            if types <= _NUM_TYPES:
                x = np.array(col, dtype=np.float64)  # None -> NaN
                if type(None) in types:
                    missing.extend((i, f) for i in np.flatnonzero(np.isnan(x)).tolist())
                inf = np.isinf(x)
                if inf.any():
                    for i in np.flatnonzero(inf).tolist():
                        bad.setdefault(
                            i, ("bad_field", f"field {f!r}: value {col[i]!r} is not finite")
                        )
            else:
                x = np.empty(n)
                for i, v in enumerate(col):
                    if v is None:
                        x[i] = math.nan
                        missing.append((i, f))
                    elif _is_number(v):
                        fv = float(v)
                        if math.isinf(fv):
                            bad.setdefault(
                                i, ("bad_field", f"field {f!r}: value {v!r} is not finite")
                            )
                        elif math.isnan(fv):
                            missing.append((i, f))
                        x[i] = fv
                    else:
                        bad.setdefault(
                            i, ("bad_field", f"field {f!r}: value {v!r} is not a number")
                        )
                        x[i] = math.nan
            X[:, j] = x
        if bad:
            for i in sorted(bad):
                kind, msg = bad[i]
                self._problem(where[i] if where is not None else None, kind, msg, records[i])
        if missing and report_missing:
            for i, f in sorted(missing):
                if i not in bad:
                    self._missing(where[i] if where is not None else None, f, records[i])
        if not bad:
            return list(range(n)), keys, ts, X
        keep = [i for i in range(n) if i not in bad]
        idx = np.array(keep, dtype=np.int64)
        return keep, [keys[i] for i in keep], ts[idx], X[idx]

    def _missing(self, where, f, record, action="filled from the key's previous value"):
        self.problems_.append(
            Problem(
                where, "missing_field", f"field {f!r} is missing ({action})", record, scored=True
            )
        )
        self.stats_["imputed"] = self.stats_.get("imputed", 0) + 1

    def _in_time_order(self, keep, keys, ts, where, records):
        """Drop rows whose time goes back for their key (problems), in place of order."""
        if not keys:
            return keep, keys, ts, None
        import pandas as pd

        codes, uniq = pd.factorize(pd.Index(keys, dtype=object), sort=False)
        last = np.array([self._last_ts.get(k, -np.inf) for k in uniq])
        bad = _time_order(codes.astype(np.int64), ts, last)
        for k, v in zip(uniq, last.tolist()):
            if v != -np.inf:
                self._last_ts[k] = v
        if bad.any():
            for i in np.flatnonzero(bad).tolist():
                r = keep[i]
                self._problem(
                    where[r] if where is not None else r,
                    "time_backwards",
                    f"time {ts[i]!r} of key {keys[i]!r} is before its previous record's",
                    records[r],
                )
        return keep, keys, ts, bad

    # ---- processing -----------------------------------------------------------------------------
    def process(self, record, where=None) -> list[dict]:
        """Score one record; returns the events it caused (usually none)."""
        return self.process_many([record], None if where is None else [where])

    def process_many(self, records, where=None) -> list[dict]:
        """Score records in order; returns the events they caused, in order.

        ``records``: dicts, a DataFrame, or any iterable of dicts. ``where``: an optional
        position per record (line numbers) for the problems. Records that cannot be scored (no
        key, a bad time, a time going back for its key, a non-numeric or infinite value; with
        ``bucket``: an event for a bucket of its key that is already closed) are skipped and
        recorded in :attr:`problems_`; a missing value (absent, ``None`` or NaN) is filled from
        the key's previous value of that field (the model's ``missing="impute"`` policy; with
        ``bucket`` it is left out of its bucket's aggregates) and recorded too, as a
        ``missing_field`` problem with ``scored=True``.
        """
        if "policy_" not in self.__dict__ and "_buckets" not in self.__dict__:
            self._check_params()
        if hasattr(records, "to_dict") and hasattr(records, "columns"):
            records = records.to_dict("records")
        elif not isinstance(records, list):
            records = list(records)
        self.stats_["records"] += len(records)
        if where is not None and len(where) != len(records):
            raise ValueError(f"where has {len(where)} entries for {len(records)} records")
        if self.bucket is not None:
            return self._score_rows(self._bucketed(records, where), None, report_missing=False)
        return self._score_rows(records, where)

    def _score_rows(self, records, where, report_missing=True):
        if not records:
            return []
        if "model_" not in self.__dict__:
            first = next((r for r in records if isinstance(r, dict)), None)
            if first is None:
                for i, r in enumerate(records):
                    self._problem(
                        where[i] if where else i,
                        "not_a_record",
                        f"expected a JSON object, got {type(r).__name__}",
                        r,
                    )
                return []
            self._start(first)
        keep, keys, ts, X = self._extract(records, where, report_missing)
        keep, keys, ts, bad = self._in_time_order(keep, keys, ts, where, records)
        if bad is not None and bad.any():
            ok = ~bad
            keep = [r for r, g in zip(keep, ok) if g]
            keys = [k for k, g in zip(keys, ok) if g]
            ts, X = ts[ok], X[ok]
        if not keep:
            return []
        self._ensure_model()
        events = []

        def on_part(rows, S, slots, Z, P):
            Xp = X[rows]
            A, R = self._signal(S, Z, P, Xp, slots)
            detect = None if self.signal_ is None else float(self.signal_.threshold)
            ev, thr, zs = self.state_.run(A, Xp, slots, R, detect)
            for t in np.flatnonzero(ev).tolist():
                events.append(
                    self._event(
                        int(ev[t]),
                        rows.start + t,
                        A[t],
                        None if detect is None else S[t],
                        thr[t],
                        Z[t],
                        P[t],
                        zs[t],
                        keys,
                        ts,
                        X,
                        keep,
                        records,
                    )
                )

        self.model_._score_learn_matrix(
            X,
            self.model_.schema_,
            np.array(keys, dtype=object),
            ts if self.ttl is not None else None,
            on_part,
        )
        self.stats_["scored"] += len(keep)
        self.stats_["alerts"] += sum(e["event"] == "alert" for e in events)
        self.stats_["resolved"] += sum(e["event"] == "resolved" for e in events)
        return events

    def _signal(self, S, Z, P, X, slots):
        """What the policy thresholds per row, and what keeps a firing key from resolving.

        In the persistence mode both are the ensemble score ``S``. In the detection mode, the
        :class:`~sead.alerting.AlertSignal` of each row (its state per key slot, beside the
        models; ``X`` the rows for its range check) and that signal before its suppression of
        repeats. ``Z``, ``P``: each row's detector quantiles and weights (for a transform that
        would use them)."""
        if self.signal_ is None:
            return S, S
        raw = np.empty(S.shape[0])
        A = self.signal_.run(np.clip(S, 0.0, 1.0), slots, True, X, raw=raw)
        return A, raw

    def flush(self) -> list[dict]:
        """End of input: close every open bucket and score it (no-op without ``bucket``)."""
        if self.bucket is None or "_buckets" not in self.__dict__:
            return []
        rows = self._buckets.flush()
        return self._score_rows(rows, None, report_missing=False) if rows else []

    def _event(self, code, t, score, ens, thr, z, w, zs, keys, ts, X, keep, records) -> dict:
        p = self.policy_
        contrib = np.nan_to_num(w * z, nan=0.0)
        total = float(contrib.sum()) or 1.0
        top = np.argsort(-contrib, kind="stable")[: p.top_detectors]
        detectors = [
            {
                "name": self._detector_names[k],
                "weight": round(float(w[k]), 6),
                "quantile": round(float(z[k]), 6),
                "contribution": round(float(contrib[k]) / total, 6),
            }
            for k in top.tolist()
        ]
        absz = np.abs(zs)
        zsum = float(absz.sum()) or 1.0
        order = np.argsort(-absz, kind="stable")[: p.top_fields]
        fields = [
            {
                "name": self.fields_[j],
                "value": float(X[t, j]),
                "robust_z": round(float(zs[j]), 4),
                "attribution": round(float(absz[j]) / zsum, 6),
            }
            for j in order.tolist()
        ]
        rec = records[keep[t]]
        out = {
            "event": _EVENT_NAMES[code],
            "ts": float(ts[t]),
            "key": keys[t],
            "rule": p.rule,
            "score": round(float(score), 6),
            "threshold": round(float(thr), 6) if math.isfinite(thr) else None,
        }
        if ens is not None:  # the detection mode: score is the signal, this SEAD's score
            out["ensemble_score"] = round(float(ens), 6)
        out.update(detectors=detectors, fields=fields, record=rec)
        return out

    # ---- state --------------------------------------------------------------------------------
    def get_params(self) -> dict:
        """The constructor's arguments as given, ``sead_params`` spread out: ``{name: value}``."""
        return {
            "key": self.key,
            "time": self.time,
            "fields": self.fields,
            "pool": self.pool,
            "policy": self.policy,
            "bucket": self.bucket,
            "aggregations": self.aggregations,
            "max_keys": self.max_keys,
            "ttl": self.ttl,
            "signal": self.signal,
            **self.sead_params,
        }

    def to_bytes(self) -> bytes:
        """The whole monitor as versioned bytes (its settings, every key's model and policy
        state, the open buckets, the counters): a checkpoint. See :mod:`sead._state`."""
        from .. import _state

        params = {k: v for k, v in self.get_params().items() if k not in ("policy", "signal")}
        policy = self.policy if self.policy is not None else AlertPolicy()
        # the signal's parameters: once started, the ones in use (so that a change of the
        # defaults cannot change a resumed run)
        sig = self.__dict__.get("signal_") or self.signal
        signal = None if sig is None else sig.get_params()
        extra = {
            "policy": {k: getattr(policy, k) for k in AlertPolicy.__dataclass_fields__},
            "signal": signal,
            "stats": self.stats_,
            "started": "model_" in self.__dict__,
        }
        arrays = {}
        if "model_" in self.__dict__:
            extra["fields"] = list(self.fields_)
            extra["last_ts"] = [[k, v] for k, v in self._last_ts.items()]
            if "_buckets" in self.__dict__:
                extra["buckets"] = self._buckets.state_dict()
            m = self.model_
            arrays["model"] = np.frombuffer(m.to_bytes(), dtype=np.uint8)
            if m._fitted:
                arrays.update(self.state_.slot_state(m._index_slots))
                if self.signal_ is not None:
                    sig = self.signal_.slot_state(m._index_slots)
                    arrays.update({f"signal.{k}": v for k, v in sig.items()})
        return _state.dumps("model", type(self), params, arrays, extra)

    @classmethod
    def from_bytes(cls, blob) -> Monitor:
        """A monitor from :meth:`to_bytes` (a ValueError on a newer format, another class, a
        truncated or changed blob)."""
        from .. import KeyedSEAD, _state

        header, arrays = _state.loads(blob, "model", cls)
        params = _state.decode_top(header["params"])
        fixed = {
            k: params.pop(k)
            for k in ("key", "time", "fields", "pool", "bucket", "aggregations", "max_keys", "ttl")
        }
        from ..alerting import AlertSignal

        sig = header.get("signal")
        mon = cls(
            **fixed,
            policy=AlertPolicy(**header["policy"]),
            signal=None if sig is None else AlertSignal(**sig),
            **params,
        )
        mon.stats_ = header["stats"]
        if not header["started"]:
            return mon
        mon._start_with(tuple(header["fields"]))
        mon._last_ts = {k: v for k, v in header["last_ts"]}
        if "buckets" in header:
            from .buckets import BucketAggregator

            mon._buckets = BucketAggregator.from_state_dict(header["buckets"])
        mon.model_ = KeyedSEAD.from_bytes(arrays["model"].tobytes())
        if mon.model_._fitted:
            mon.model_._attach(mon.state_)
            if mon.signal_ is not None:
                mon.model_._attach(mon.signal_)
                mon.signal_.load_slot_state(
                    mon.model_._index_slots,
                    {k[7:]: v for k, v in arrays.items() if k.startswith("signal.")},
                )
            from ..pools import names

            mon._detector_names = names(mon.model_._prototype()._pool())
            mon.state_.load_slot_state(mon.model_._index_slots, arrays)
        return mon
