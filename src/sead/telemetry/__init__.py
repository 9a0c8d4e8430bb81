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
    """How alert events match labelled incidents: :func:`sead.telemetry.watch.alert_quality`.

    Imported on first use (``sead.telemetry.watch`` pulls in the command-line machinery).

    Parameters
    ----------
    data
        The labelled records, as for :func:`sead.telemetry.watch.alert_quality`.
    events
        The alert events.
    **kw
        Passed on: ``warmup``, ``grace``.

    Returns
    -------
    dict
        What :func:`sead.telemetry.watch.alert_quality` returns.
    """
    from .watch import alert_quality as _aq

    return _aq(data, events, **kw)


def run_watch(options, **kw):
    """The ``sead watch`` command from Python: :func:`sead.telemetry.watch.run`.

    Parameters
    ----------
    options
        A :class:`sead.telemetry.watch.WatchOptions`.
    **kw
        Passed on: ``stdin``, ``stdout``, ``stderr``.

    Returns
    -------
    int
        The exit status.
    """
    from .watch import run

    return run(options, **kw)
