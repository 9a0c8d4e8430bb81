"""Telemetry alerting: score keyed streams of events (one model per stream id) and emit alerts.

:class:`Monitor` and :class:`AlertPolicy` (:mod:`sead.telemetry.monitor`) score records and
turn scores into alert events; :mod:`sead.telemetry.watch` is the ``sead watch`` command around
them (sources, outputs, Alertmanager, checkpoints). The readers and sinks live in
:mod:`~sead.telemetry.sources`, :mod:`~sead.telemetry.buckets`, :mod:`~sead.telemetry.otlp`
(needs ``sead[telemetry]``) and :mod:`~sead.telemetry.alertmanager`.
"""

from .monitor import ALERT, NO_EVENT, RESOLVED, AlertPolicy, Monitor, Problem

__all__ = [
    "ALERT",
    "NO_EVENT",
    "RESOLVED",
    "AlertPolicy",
    "Monitor",
    "Problem",
    "alert_quality",
    "run_watch",
]


def alert_quality(data, events, **kw):
    """:func:`sead.telemetry.watch.alert_quality` (how alert events match labelled incidents)."""
    from .watch import alert_quality as _aq

    return _aq(data, events, **kw)


def run_watch(options, **kw):
    """:func:`sead.telemetry.watch.run` (the ``sead watch`` command from Python)."""
    from .watch import run

    return run(options, **kw)
