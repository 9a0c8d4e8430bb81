"""Alertmanager out: post the Monitor's alert events to a Prometheus Alertmanager.

:class:`AlertmanagerSink` takes alert events, turns each into an alert of Alertmanager's
``POST /api/v2/alerts`` API, and posts them from a background thread, so that scoring never
waits for the network.

**Events (input).** Dicts made by the Monitor, in this fixed shape::

    {"event": "alert" | "resolved",      # required
     "ts": 1700000000.0,                 # required, float epoch seconds (finite)
     "key": "checkout/http.server.duration{method=GET}",   # required, the stream id
     "rule": "sead",                     # optional, default "sead"
     "score": 0.997, "threshold": 0.99,  # optional finite numbers
     "detectors": [{"name": "HalfSpaceTrees", "weight": 0.4, "quantile": 0.998}, ...],
     "fields": [{"name": "p95", "value": 812.0, "robust_z": 9.4, "attribution": 0.81}, ...],
     "record": {...}}                    # optional; not sent (its values are in "fields")

``detectors`` and ``fields`` are optional lists; each item needs a ``name``, and its numbers,
when present, must be numbers. A malformed event raises :class:`ValueError` (or
:class:`TypeError`) from :meth:`AlertmanagerSink.send` naming the event and the field, and then
none of the events of that call is queued.

**Alerts (output).** One JSON alert per event, as Alertmanager's API expects::

    {"labels": {"alertname": "SeadAnomaly", "key": <key>, "rule": <rule>,
                "sead_fingerprint": <16 hex digits>, **extra_labels},
     "annotations": {"summary": <one line>, "description": <explanation>,
                     "score": "0.997", "threshold": "0.99"},
     "startsAt": "2023-11-14T22:13:20.000Z",
     "endsAt": "...",              # resolved events only
     "generatorURL": "..."}        # when generator_url is given

``sead_fingerprint`` is the first 16 hex digits of the SHA-256 of ``key + "\\0" + rule``
(:func:`fingerprint`): the same key and rule always give the same label set, so Alertmanager
keeps one alert per stream and rule, and a ``resolved`` event closes it. ``startsAt`` is the
``ts`` of the first ``alert`` event of the episode (later ``alert`` events of the same
fingerprint keep it); a ``resolved`` event gets ``endsAt`` = its ``ts`` (never before
``startsAt``) and the episode's ``startsAt`` (its own ``ts`` when the sink did not see the
episode start). Firing alerts carry no ``endsAt``: Alertmanager resolves them itself after its
``resolve_timeout`` (5 minutes by default) unless they are posted again, so the sink re-posts
every firing alert each ``resend_interval`` seconds, as Prometheus does.

**Delivery.** :meth:`~AlertmanagerSink.send` only validates and appends to a bounded in-memory
queue; a daemon thread posts batches of up to ``batch_size`` alerts with :mod:`urllib`. A connection
error, a time-out, HTTP 5xx, 408 or 429 is retried, the same batch at the head of the queue, with
exponential backoff (``backoff_initial`` doubling up to ``backoff_max`` seconds, times a random
factor in [0.5, 1]) and without limit while the sink lives; ``retried`` counts the failed attempts.
Any other HTTP error (400: Alertmanager rejected an alert; 404: a wrong URL) cannot succeed on
retry: the batch is counted in ``failed`` and logged as an error with the response. Acknowledged
alerts are counted in ``sent`` (re-posts of firing alerts in ``resent``). Delivery is at least once:
an alert whose post succeeded just as the process stopped may be posted again after
:meth:`~AlertmanagerSink.restore`, which Alertmanager merges into the same alert (same labels, same
``startsAt``).

When Alertmanager is down for a long time: scoring goes on; alerts wait in the queue, at most
``max_queue`` of them (default 10,000). When it is full, each new alert first displaces the
oldest queued alert that a newer queued alert of the same fingerprint supersedes (Alertmanager
keeps only the latest state of a label set anyway; those are counted in ``superseded``), and
only when every queued alert is the latest of its fingerprint the oldest one is dropped. Every
displaced alert is counted in ``dropped`` and logged as a warning, so nothing is dropped
silently: what is kept is the newest state of as many (key, rule) pairs as fit. While a
post is retried, firing alerts are not re-sent (one is enough once it is back).

Checkpoints: :meth:`~AlertmanagerSink.pending` returns the alerts not yet acknowledged and
:meth:`~AlertmanagerSink.active` the firing alerts being kept alive (both JSON-serialisable
lists, oldest first); after a restart, :meth:`~AlertmanagerSink.restore` re-queues them, before
any new :meth:`~AlertmanagerSink.send`. :meth:`~AlertmanagerSink.close` (or leaving a ``with``
block) waits up to its timeout for the queue to drain and stops the thread; what is left stays
in :meth:`~AlertmanagerSink.pending`. Every method is thread-safe.

Examples
--------
>>> ev = {"event": "alert", "ts": 1700000000.0, "key": "checkout/latency{route=/pay}",
...       "score": 0.9971, "threshold": 0.99,
...       "detectors": [{"name": "HalfSpaceTrees", "weight": 0.42, "quantile": 0.998}],
...       "fields": [{"name": "p95", "value": 812.0, "robust_z": 9.41, "attribution": 0.8}]}
>>> alert = alert_from_event(ev)
>>> alert["labels"]
{'alertname': 'SeadAnomaly', 'key': 'checkout/latency{route=/pay}', 'rule': 'sead',
 'sead_fingerprint': 'ce20183786efb456'}
>>> alert["startsAt"]
'2023-11-14T22:13:20.000Z'
>>> print(alert["annotations"]["summary"])
anomaly on checkout/latency{route=/pay}: score 0.9971 >= threshold 0.99 (rule sead)
>>> print(alert["annotations"]["description"])
score 0.9971 >= threshold 0.99 at 2023-11-14T22:13:20.000Z
top detectors: HalfSpaceTrees (weight 0.42, quantile 0.998)
top fields: p95 = 812 (robust z 9.41, attribution 0.8)
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import logging
import math
import numbers
import random
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterable, Mapping

__all__ = ["AlertmanagerSink", "alert_from_event", "fingerprint", "FINGERPRINT_LABEL"]

log = logging.getLogger(__name__)

FINGERPRINT_LABEL = "sead_fingerprint"
_RESERVED = ("alertname", "key", "rule", FINGERPRINT_LABEL)
_LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_API_PATH = "/api/v2/alerts"
_RETRY_STATUS = {408, 429}
_INIT_LOCK = threading.Lock()


def fingerprint(key: str, rule: str = "sead") -> str:
    """The stable label value that identifies a (key, rule) pair: 16 hex digits of SHA-256.

    Parameters
    ----------
    key
        The stream id of the events.
    rule
        The rule that raised them.

    Returns
    -------
    str
        The first 16 hex digits of the SHA-256 of ``key + "\\0" + rule``.

    Examples
    --------
    >>> fingerprint("checkout/latency{route=/pay}")
    'ce20183786efb456'
    """
    return hashlib.sha256(f"{key}\0{rule}".encode()).hexdigest()[:16]


def _rfc3339(ts: float) -> str:
    t = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _num(x) -> str:
    return format(float(x), ".4g")


def _is_number(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_event(ev, i: int) -> dict:
    """A validated, normalised copy of event ``i`` (raises naming the field)."""
    where = f"event {i}"
    if not isinstance(ev, Mapping):
        raise TypeError(f"{where} must be a dict, got {type(ev).__name__}")
    kind = ev.get("event")
    if kind not in ("alert", "resolved"):
        raise ValueError(f"{where}: 'event' must be 'alert' or 'resolved', got {kind!r}")
    ts = ev.get("ts")
    if not _is_number(ts) or not math.isfinite(ts):
        raise ValueError(f"{where}: 'ts' must be finite epoch seconds, got {ts!r}")
    try:
        _rfc3339(ts)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError(f"{where}: 'ts' {ts!r} is not a representable time ({exc})") from None
    key = ev.get("key")
    if not isinstance(key, str) or not key:
        raise ValueError(f"{where}: 'key' must be a non-empty string, got {key!r}")
    rule = ev.get("rule", "sead")
    if rule is None:
        rule = "sead"
    if not isinstance(rule, str) or not rule:
        raise ValueError(f"{where}: 'rule' must be a non-empty string, got {rule!r}")
    out = {"event": kind, "ts": float(ts), "key": key, "rule": rule}
    for name in ("score", "threshold"):
        v = ev.get(name)
        if v is not None and (not _is_number(v) or not math.isfinite(v)):
            raise ValueError(f"{where}: {name!r} must be a finite number, got {v!r}")
        out[name] = None if v is None else float(v)
    for group, nums in (
        ("detectors", ("weight", "quantile")),
        ("fields", ("value", "robust_z", "attribution")),
    ):
        items = ev.get(group) or []
        if not isinstance(items, (list, tuple)):
            raise ValueError(f"{where}: {group!r} must be a list, got {type(items).__name__}")
        clean = []
        for j, item in enumerate(items):
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                raise ValueError(
                    f"{where}: {group}[{j}] must be a dict with a 'name' string, got {item!r}"
                )
            c = {"name": item["name"]}
            for n in nums:
                v = item.get(n)
                if v is not None and not _is_number(v):
                    raise ValueError(f"{where}: {group}[{j}][{n!r}] must be a number, got {v!r}")
                c[n] = None if v is None else float(v)
            clean.append(c)
        out[group] = clean
    return out


def _describe(items, nums, label, top):
    parts = []
    for it in items[:top]:
        extra = ", ".join(f"{lab} {_num(it[n])}" for n, lab in nums if it.get(n) is not None)
        head = it["name"]
        if label == "fields" and it.get("value") is not None:
            head = f"{head} = {_num(it['value'])}"
        parts.append(f"{head} ({extra})" if extra else head)
    return "; ".join(parts)


def alert_from_event(
    event: Mapping,
    *,
    alertname: str = "SeadAnomaly",
    labels: Mapping[str, str] | None = None,
    generator_url: str | None = None,
    top: int = 3,
    starts_at: str | None = None,
) -> dict:
    """The Alertmanager alert (a JSON-ready dict) for one event; see the module docstring.

    Detectors are listed by weight x quantile and fields by absolute attribution, largest
    first, at most ``top`` of each.

    Parameters
    ----------
    event
        An event in the Monitor's shape.
    alertname, labels, generator_url, top
        As for :class:`AlertmanagerSink`.
    starts_at
        The episode's ``startsAt`` (RFC 3339) when known; else the event's ``ts``.

    Returns
    -------
    dict
        The alert, in the shape of the module docstring.
    """
    return _alert(_check_event(event, 0), alertname, labels, generator_url, top, starts_at)


def _alert(ev, alertname, labels, generator_url, top, starts_at):
    key, rule, ts = ev["key"], ev["rule"], ev["ts"]
    fp = fingerprint(key, rule)
    lab = dict(labels or {})
    lab.update({"alertname": alertname, "key": key, "rule": rule, FINGERPRINT_LABEL: fp})
    when = _rfc3339(ts)
    score, thr = ev["score"], ev["threshold"]
    if ev["event"] == "alert":
        cmp = ">="
        head = f"anomaly on {key}"
    else:
        cmp = "<"
        head = f"resolved: {key}"
    if score is not None and thr is not None:
        sc = f"score {_num(score)} {cmp} threshold {_num(thr)}"
    elif score is not None:
        sc = f"score {_num(score)}"
    else:
        sc = ""
    summary = f"{head}: {sc} (rule {rule})" if sc else f"{head} (rule {rule})"
    dets = sorted(
        ev["detectors"],
        key=lambda d: -((d["weight"] if d["weight"] is not None else 1.0) * (d["quantile"] or 0.0)),
    )
    fields = sorted(ev["fields"], key=lambda f: -abs(f["attribution"] or 0.0))
    lines = [f"{sc} at {when}" if sc else f"{ev['event']} at {when}"]
    if dets:
        lines.append(
            "top detectors: "
            + _describe(dets, (("weight", "weight"), ("quantile", "quantile")), "detectors", top)
        )
    if fields:
        lines.append(
            "top fields: "
            + _describe(
                fields, (("robust_z", "robust z"), ("attribution", "attribution")), "fields", top
            )
        )
    ann = {"summary": summary, "description": "\n".join(lines)}
    if score is not None:
        ann["score"] = _num(score)
    if thr is not None:
        ann["threshold"] = _num(thr)
    alert = {"labels": lab, "annotations": ann}
    if ev["event"] == "alert":
        alert["startsAt"] = starts_at or when
    else:
        start = starts_at if starts_at is not None and starts_at <= when else when
        alert["startsAt"] = start
        alert["endsAt"] = when
    if generator_url is not None:
        q = urllib.parse.quote
        alert["generatorURL"] = generator_url.format(
            key=q(key, safe=""), rule=q(rule, safe=""), fingerprint=fp
        )
    return alert


class _Item:
    __slots__ = ("fp", "alert", "resend")

    def __init__(self, fp, alert, resend=False):
        self.fp = fp
        self.alert = alert
        self.resend = resend


class AlertmanagerSink:
    """Post alert events to Alertmanager's ``/api/v2/alerts`` from a background thread.

    Parameters
    ----------
    url
        Alertmanager's base URL (``http://127.0.0.1:9093``) or the full
        ``.../api/v2/alerts`` URL.
    alertname
        The ``alertname`` label.
    labels
        Extra static labels (for example ``{"severity": "warning"}``); names must match
        ``[A-Za-z_][A-Za-z0-9_]*`` and must not be ``alertname``, ``key``, ``rule`` or
        ``sead_fingerprint``.
    generator_url
        The ``generatorURL`` of every alert, or ``None`` to omit it. ``{key}``, ``{rule}``
        and ``{fingerprint}`` in it are replaced (URL-quoted), e.g.
        ``"http://grafana/d/sead?var-key={key}"``.
    top
        How many detectors and fields the description lists.
    max_queue
        Most alerts kept waiting for delivery (see the module docstring for what is kept).
    batch_size
        Most alerts in one POST.
    timeout
        Seconds one POST may take.
    backoff_initial, backoff_max
        First and largest delay, in seconds, between attempts of a failing POST.
    resend_interval
        Seconds between re-posts of the firing alerts (keeps them from expiring in
        Alertmanager); ``None`` never re-posts.
    headers
        Extra HTTP headers (for example an ``Authorization`` header).
    use_env_proxy
        Whether ``http_proxy``/``https_proxy`` from the environment apply (default: no,
        Alertmanager is usually reached directly).
    """

    def __init__(
        self,
        url: str,
        *,
        alertname: str = "SeadAnomaly",
        labels: Mapping[str, str] | None = None,
        generator_url: str | None = None,
        top: int = 3,
        max_queue: int = 10_000,
        batch_size: int = 64,
        timeout: float = 10.0,
        backoff_initial: float = 0.5,
        backoff_max: float = 30.0,
        resend_interval: float | None = 60.0,
        headers: Mapping[str, str] | None = None,
        use_env_proxy: bool = False,
    ):
        self.url = url
        self.alertname = alertname
        self.labels = labels
        self.generator_url = generator_url
        self.top = top
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.timeout = timeout
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.resend_interval = resend_interval
        self.headers = headers
        self.use_env_proxy = use_env_proxy

    # ------------------------------------------------------------------ setup
    def _check_params(self):
        u = urllib.parse.urlsplit(self.url) if isinstance(self.url, str) else None
        if u is None or u.scheme not in ("http", "https") or not u.netloc:
            raise ValueError(f"url must be an http(s) URL of Alertmanager, got {self.url!r}")
        if not isinstance(self.alertname, str) or not self.alertname:
            raise ValueError(f"alertname must be a non-empty string, got {self.alertname!r}")
        for name, value in (self.labels or {}).items():
            if not isinstance(name, str) or not _LABEL_NAME.match(name) or name in _RESERVED:
                raise ValueError(
                    f"labels: {name!r} is not a usable label name ([A-Za-z_][A-Za-z0-9_]*, "
                    f"not one of {', '.join(_RESERVED)})"
                )
            if not isinstance(value, str):
                raise ValueError(f"labels[{name!r}] must be a string, got {value!r}")
        for name in ("top", "max_queue", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("timeout", "backoff_initial", "backoff_max"):
            v = getattr(self, name)
            if not _is_number(v) or not (0 < v < math.inf):
                raise ValueError(f"{name} must be a positive number of seconds, got {v!r}")
        r = self.resend_interval
        if r is not None and (not _is_number(r) or not (0 < r < math.inf)):
            raise ValueError(f"resend_interval must be positive seconds or None, got {r!r}")
        if self.generator_url is not None:
            try:
                self.generator_url.format(key="k", rule="r", fingerprint="f")
            except (KeyError, IndexError, ValueError, AttributeError) as exc:
                raise ValueError(
                    f"generator_url must be a string with only {{key}}, {{rule}} and "
                    f"{{fingerprint}} placeholders, got {self.generator_url!r} ({exc!r})"
                ) from None

    def _ensure_init(self):
        if getattr(self, "_cond", None) is not None:
            return
        with _INIT_LOCK:
            if getattr(self, "_cond", None) is not None:
                return
            self._check_params()
            url = self.url.rstrip("/")
            self._endpoint = url if url.endswith(_API_PATH) else url + _API_PATH
            handlers = [] if self.use_env_proxy else [urllib.request.ProxyHandler({})]
            self._opener = urllib.request.build_opener(*handlers)
            self._queue: deque[_Item] = deque()
            self._qcount: dict[str, int] = {}
            self._extra = 0  # queued items superseded by a newer one of the same fingerprint
            self._inflight: list[_Item] = []
            self._active: dict[str, dict] = {}
            self._counts = dict(sent=0, failed=0, retried=0, dropped=0, superseded=0, resent=0)
            self._last_error = None
            self._closed = False
            self._stop = False
            self._thread = None
            self._rng = random.Random()
            self._next_resend = None
            self._cond = threading.Condition()

    def _start_thread(self):
        if self._thread is None and not self._closed:
            self._thread = threading.Thread(
                target=self._run, name="sead-alertmanager-sink", daemon=True
            )
            self._thread.start()

    # ------------------------------------------------------------------ queue
    def _enqueue(self, item: _Item, front: bool = False):
        if len(self._queue) >= self.max_queue:
            self._drop_one()
        if front:
            self._queue.appendleft(item)
        else:
            self._queue.append(item)
        n = self._qcount.get(item.fp, 0)
        if n:
            self._extra += 1
        self._qcount[item.fp] = n + 1

    def _forget(self, item: _Item):
        n = self._qcount[item.fp] - 1
        if n:
            self._qcount[item.fp] = n
            self._extra -= 1
        else:
            del self._qcount[item.fp]

    def _drop_one(self):
        victim = None
        if self._extra:
            seen_later = set()
            # the oldest item that a newer queued item of its fingerprint supersedes
            for idx in range(len(self._queue) - 1, -1, -1):
                it = self._queue[idx]
                if it.fp in seen_later:
                    victim = idx
                seen_later.add(it.fp)
        if victim is None:
            item = self._queue.popleft()
        else:
            item = self._queue[victim]
            del self._queue[victim]
            self._counts["superseded"] += 1
        self._forget(item)
        self._counts["dropped"] += 1
        n = self._counts["dropped"]
        if n == 1 or n % 1000 == 0:
            log.warning(
                "Alertmanager sink queue full (%d alerts): dropped %s alert for %s "
                "(%d dropped so far, %d superseded by newer states)",
                self.max_queue,
                "a superseded" if victim is not None else "the oldest",
                item.alert["labels"].get("key"),
                n,
                self._counts["superseded"],
            )

    # ------------------------------------------------------------------ public API
    def send(self, events: Iterable[Mapping]) -> None:
        """Queue the alerts of ``events`` for delivery and return at once.

        All events are checked first; a malformed one raises and none is queued.
        """
        self._ensure_init()
        if isinstance(events, Mapping):
            events = [events]
        checked = [_check_event(ev, i) for i, ev in enumerate(events)]
        with self._cond:
            if self._closed:
                raise RuntimeError("the AlertmanagerSink is closed")
            for ev in checked:
                fp = fingerprint(ev["key"], ev["rule"])
                prev = self._active.get(fp)
                start = prev["startsAt"] if prev is not None else None
                alert = _alert(ev, self.alertname, self.labels, self.generator_url, self.top, start)
                if ev["event"] == "alert":
                    self._active[fp] = alert
                else:
                    self._active.pop(fp, None)
                self._enqueue(_Item(fp, alert))
            self._start_thread()
            self._cond.notify_all()

    def pending(self) -> list[dict]:
        """Copies of the alerts not yet acknowledged by Alertmanager, oldest first."""
        self._ensure_init()
        with self._cond:
            items = list(self._inflight) + list(self._queue)
            return [copy.deepcopy(it.alert) for it in items if not it.resend]

    def active(self) -> list[dict]:
        """Copies of the firing alerts that are re-posted every ``resend_interval``."""
        self._ensure_init()
        with self._cond:
            return [copy.deepcopy(a) for a in self._active.values()]

    def restore(self, pending: Iterable[Mapping] = (), active: Iterable[Mapping] = ()) -> None:
        """Re-queue :meth:`pending` and re-arm :meth:`active` output of an earlier sink.

        Call it before any :meth:`send`: restored alerts go ahead of anything queued.
        Alerts are checked to be this sink's kind (labels with ``sead_fingerprint``).
        """
        self._ensure_init()
        pend = [self._check_alert(a, "pending", i) for i, a in enumerate(pending)]
        act = [self._check_alert(a, "active", i) for i, a in enumerate(active)]
        with self._cond:
            if self._closed:
                raise RuntimeError("the AlertmanagerSink is closed")
            for a in act:
                self._active.setdefault(a["labels"][FINGERPRINT_LABEL], a)
            for a in reversed(pend):
                self._enqueue(_Item(a["labels"][FINGERPRINT_LABEL], a), front=True)
            for a in pend:  # the episode state as it was after these alerts
                fp = a["labels"][FINGERPRINT_LABEL]
                if "endsAt" in a:
                    self._active.pop(fp, None)
                else:
                    self._active[fp] = a
            if pend:
                self._start_thread()
            self._cond.notify_all()

    @staticmethod
    def _check_alert(a, what, i):
        if (
            not isinstance(a, Mapping)
            or not isinstance(a.get("labels"), Mapping)
            or not isinstance(a["labels"].get(FINGERPRINT_LABEL), str)
            or not isinstance(a.get("startsAt"), str)
        ):
            raise ValueError(
                f"{what}[{i}] is not an alert of an AlertmanagerSink (labels with "
                f"{FINGERPRINT_LABEL!r} and a startsAt): {a!r}"
            )
        return json.loads(json.dumps(a))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert is acknowledged or failed; False on time-out."""
        self._ensure_init()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._queue or self._inflight:
                if self._thread is None or not self._thread.is_alive():
                    return False
                wait = None if deadline is None else deadline - time.monotonic()
                if wait is not None and wait <= 0:
                    return False
                self._cond.wait(wait)
            return True

    def close(self, timeout: float = 5.0) -> bool:
        """Flush for up to ``timeout`` seconds, then stop the thread; True if all delivered.

        What was not delivered stays in :meth:`pending`. Closing twice is harmless.
        """
        self._ensure_init()
        deadline = time.monotonic() + timeout
        done = self.flush(timeout)
        with self._cond:
            self._closed = True
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()) + 0.05)
        return done

    def stats(self) -> dict:
        """Counters: ``sent``, ``failed``, ``retried``, ``dropped`` (of which ``superseded``),
        ``resent``, ``queued`` (not yet acknowledged) and ``last_error``."""
        self._ensure_init()
        with self._cond:
            out = dict(self._counts)
            items = list(self._inflight) + list(self._queue)
            out["queued"] = sum(not it.resend for it in items)
            out["last_error"] = self._last_error
            return out

    def __enter__(self):
        self._ensure_init()
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ worker
    def _queue_resends(self, now):
        if self.resend_interval is None:
            return
        if self._next_resend is None:
            self._next_resend = now + self.resend_interval
            return
        if now < self._next_resend:
            return
        self._next_resend = now + self.resend_interval
        busy = {it.fp for it in self._inflight}
        for fp, alert in self._active.items():
            if fp not in self._qcount and fp not in busy and len(self._queue) < self.max_queue:
                self._enqueue(_Item(fp, alert, resend=True))

    def _run(self):
        try:
            self._loop()
        except BaseException as exc:  # a bug: say so instead of dying silently
            log.exception("Alertmanager sink thread stopped by an error")
            with self._cond:
                self._last_error = f"sink thread stopped: {exc!r}"
                self._requeue_inflight()
            raise

    def _loop(self):
        attempt = 0
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        self._requeue_inflight()
                        return
                    now = time.monotonic()
                    if not self._inflight:
                        self._queue_resends(now)
                        if self._queue:
                            n = min(self.batch_size, len(self._queue))
                            self._inflight = [self._queue.popleft() for _ in range(n)]
                            for it in self._inflight:
                                self._forget(it)
                            attempt = 0
                    if self._inflight:
                        break
                    wait = None
                    if self.resend_interval is not None and self._active:
                        if self._next_resend is None:
                            self._next_resend = now + self.resend_interval
                        wait = max(0.0, self._next_resend - now)
                    self._cond.wait(wait)
                batch = list(self._inflight)
            outcome, detail = self._post(batch)
            with self._cond:
                if outcome == "ok":
                    for it in batch:
                        self._counts["resent" if it.resend else "sent"] += 1
                    self._inflight = []
                    self._cond.notify_all()
                    continue
                self._last_error = detail
                if outcome == "fatal":
                    self._counts["failed"] += len(batch)
                    self._inflight = []
                    log.error(
                        "Alertmanager rejected %d alerts, not retrying: %s", len(batch), detail
                    )
                    self._cond.notify_all()
                    continue
                self._counts["retried"] += 1
                if attempt == 0:
                    log.warning("Alertmanager post failed, retrying: %s", detail)
                delay = min(self.backoff_max, self.backoff_initial * 2.0**attempt)
                delay *= self._rng.uniform(0.5, 1.0)
                attempt += 1
                end = time.monotonic() + delay
                while not self._stop:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)

    def _requeue_inflight(self):
        for it in reversed(self._inflight):
            if not it.resend:
                self._queue.appendleft(it)
                n = self._qcount.get(it.fp, 0)
                if n:
                    self._extra += 1
                self._qcount[it.fp] = n + 1
        self._inflight = []
        self._cond.notify_all()

    def _post(self, batch):
        body = json.dumps([it.alert for it in batch]).encode()
        headers = {"Content-Type": "application/json"}
        headers.update(self.headers or {})
        req = urllib.request.Request(self._endpoint, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                resp.read()
            return "ok", None
        except urllib.error.HTTPError as exc:
            try:
                text = exc.read(2000).decode("utf-8", "replace").strip()
            except Exception:  # noqa: BLE001 - the body is only for the message
                text = ""
            detail = f"HTTP {exc.code} from {self._endpoint}: {text or exc.reason}"
            if exc.code >= 500 or exc.code in _RETRY_STATUS:
                return "retry", detail
            return "fatal", detail
        except (OSError, ValueError) as exc:  # URLError, refused, reset, time-out, bad status
            reason = getattr(exc, "reason", exc)
            return "retry", f"cannot post to {self._endpoint}: {reason!r}"
        except Exception as exc:  # noqa: BLE001 - http.client errors that are not OSError
            return "retry", f"cannot post to {self._endpoint}: {exc!r}"
