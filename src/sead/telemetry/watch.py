"""``sead watch``: score telemetry as it arrives, write alert events, checkpoint and resume exactly.

:func:`run` is the command (``sead watch --help`` lists the options); :class:`Watcher` the
loop behind it, usable from Python. The pieces it joins:

* **input** — :func:`sead.telemetry.sources.open_source`: JSON lines or CSV from a file, from
  stdin (``-``), or ``--follow`` a growing file like ``tail -F`` (rotation and truncation are
  survived); ``--format otlp`` reads the OpenTelemetry Collector's ``file`` exporter output
  (one ``ExportMetricsServiceRequest`` per line) through
  :class:`sead.telemetry.otlp.OTLPMetricsReader`; ``--demo`` reads
  :func:`sead.datasets.agent_telemetry` (no input needed);
* **scoring** — a :class:`sead.telemetry.Monitor` (one SEAD per ``--key``, optional
  ``--bucket`` aggregation) and its :class:`~sead.telemetry.AlertPolicy`;
* **output** — every event (``alert`` and ``resolved``) as one JSON line on stdout or in
  ``--alerts FILE``; with ``--alertmanager URL`` also posted by a non-blocking
  :class:`sead.telemetry.alertmanager.AlertmanagerSink`;
* **bad input** — a malformed line, a record without a usable key or time, a non-numeric or
  infinite field value, a time going backwards for its key (with ``--bucket``: an event for
  a bucket already closed), an OTLP metric of a type the reader does not know: each is
  counted, reported on stderr as ``PATH:LINE: KIND: message`` and, with ``--dead-letter
  FILE``, written there as one JSON line ``{"source", "line", "kind", "error", "action",
  "raw" or "record"}``; the record is not scored (``"action": "dropped"``). A *missing* field
  (absent or ``null``) is reported the same way but the record is scored with the key's
  last value of that field (``"action": "imputed"``; with ``--bucket`` the value is left out
  of its bucket's aggregates, ``"action": "not aggregated"``). Nothing of this stops the
  watcher or changes another record's score. Stderr shows the first ``--max-reports``
  problems (default 1,000) one per line, then only counts them; the dead-letter file gets
  all of them, and the summary at exit gives the counts by kind.
* **checkpoints** — ``--checkpoint DIR`` commits, as one :class:`sead._atomic.AtomicDir`
  generation (temporary directory, fsync, rename): ``monitor.bin`` (every key's model and
  policy state, open buckets: :meth:`Monitor.to_bytes`) and ``state.json`` (the input
  :class:`~sead.telemetry.sources.Position`, the byte offsets of the ``--alerts`` and
  ``--dead-letter`` files, the sink's unacknowledged and firing alerts, the OTLP reader's
  differencing state, the counters and the options). It is written every
  ``--checkpoint-every`` records or ``--checkpoint-interval`` seconds (whichever comes first,
  checked after each batch), at the end of the input, and on SIGTERM / SIGINT.

**Exactly once.** Records are handled in the source's batches and checkpoints are taken only
between two batches, so a checkpoint describes a state in which every record before its
position, and none after, has been scored and written. ``--resume`` loads it, truncates the
``--alerts`` and ``--dead-letter`` files to the checkpoint's offsets (what was written after
it belongs to records that are read again), re-queues the alerts Alertmanager had not
acknowledged and reads on from the position: no record is skipped or scored twice, and the
alerts file ends exactly as after an uninterrupted run, even after a SIGKILL. Events written
to **stdout** after the last checkpoint are written again after a resume (at least once: a
pipe cannot be truncated). Alertmanager delivery is at least once as well: an alert posted
after the checkpoint is posted again, which Alertmanager merges into the same alert (same
labels and ``startsAt``).

**Signals.** SIGTERM or SIGINT (Ctrl-C): the current batch is finished, a checkpoint is
written, the sink is given ``--alertmanager-flush`` seconds to deliver (what it could not
deliver is in the checkpoint), and the command exits with 0 (SIGTERM) or 130 (SIGINT, the
shell's convention). A second signal stops at once (exit 130, no checkpoint: the previous one
stands).

**End of input.** Without ``--follow`` the open buckets (``--bucket``) are closed and scored
at the end of the file, as they would be at the end of the stream; resuming later on a file
that grew then counts events of those buckets as late. With ``--follow`` the watcher runs
until stopped; buckets close when their key's next event arrives.

**Status.** When stderr is a terminal (or with ``--progress``) one line on stderr is kept up
to date: records, records/s, keys, alerts, firing keys and problems.

**Alert quality** of the defaults on the generator: :func:`alert_quality`, and over seeds
:func:`alert_quality_over_seeds` (used by ``docs/telemetry.md`` and
``benchmarks/bench_watch.py``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import stat
import sys
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from .sources import Batch, Position

__all__ = [
    "Watcher",
    "WatchOptions",
    "add_arguments",
    "alert_quality",
    "alert_quality_over_seeds",
    "nominal_alert_rate",
    "run",
    "main",
    "CHECKPOINT_FORMAT",
    "OTLP_FIELDS",
]

CHECKPOINT_FORMAT = "sead.watch/1"
#: The fields a ``--format otlp`` record is scored on: a gauge or sum's ``value``, a
#: histogram's ``count``, ``sum`` and quantile (``p95`` by default); the ones a metric does not
#: have are 0 (so every stream has the same features).
OTLP_FIELDS = ("value", "count", "sum")

try:  # optional speed-up for writing events
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None


def _dumps(obj) -> bytes:
    if _orjson is not None:
        return _orjson.dumps(obj, option=_orjson.OPT_SERIALIZE_NUMPY)
    return json.dumps(obj, separators=(",", ":"), default=_json_default).encode()


def _json_default(o):
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


# ------------------------------------------------------------------------------------------
# options


@dataclass
class WatchOptions:
    """Everything ``sead watch`` is told (the parsed command line, with defaults).

    Each field is the command-line option of the same name (``_`` for ``-``); ``sead watch
    --help`` says the same in short.

    Attributes
    ----------
    input
        A JSON lines, CSV or OTLP file, or ``"-"`` for stdin (``None`` with ``demo``).
    format
        ``"jsonl"``, ``"csv"`` or ``"otlp"`` (OTLP metrics JSON lines, as the OpenTelemetry
        Collector's file exporter writes them).
    follow
        Keep reading as the file grows, surviving rotation (like ``tail -F``).
    key
        The field naming the stream (``None``: ``"agent"``, or ``"key"`` for OTLP; see
        :meth:`resolved_key`).
    time
        The field with the event time, epoch seconds or ISO 8601 (``None``: ``"ts"``).
    fields
        The numeric fields to score (``None``: every numeric or boolean field of the first
        record; with ``bucket``, the fields to aggregate).
    bucket
        Aggregate each key's records into time buckets of this width (``"60s"``, ``"5m"``) and
        score the buckets; ``None`` scores every record.
    policy
        :class:`~sead.telemetry.AlertPolicy` settings given on the command line (``q``,
        ``window``, ``threshold``, ``warmup``, ``confirm``, ``of``, ``resolve_after``,
        ``cooldown``, ``rule``, ``mode``); the others keep the policy's defaults.
    max_keys
        Keep at most this many keys, forgetting the least recently seen (``None``: no limit).
    ttl
        Forget a key idle for this many seconds of event time (``None``: never).
    seed
        Seed of the detectors.
    alerts
        Write the events to this file (JSON lines) instead of stdout.
    dead_letter
        Write every bad line or record to this file (JSON lines).
    alertmanager
        Also post the alerts to the Prometheus Alertmanager at this URL.
    alertmanager_labels
        Static labels on every posted alert.
    alertmanager_flush
        Seconds to wait at exit for Alertmanager to take the queued alerts.
    checkpoint
        Write checkpoints to this directory.
    checkpoint_every
        Records between checkpoints.
    checkpoint_interval
        Seconds between checkpoints.
    resume
        Continue from the checkpoint in ``checkpoint`` (a fresh start when it has none).
    fsync
        Fsync checkpoints and outputs (without it they are still safe against a crash of the
        process, not of the machine).
    batch_size
        Records per batch; checkpoints are taken between batches.
    poll_interval
        Seconds between looks at a followed file without new data.
    progress
        The status line on stderr (``None``: when stderr is a terminal).
    max_reports
        Problems printed on stderr before they are only counted.
    demo
        Watch the built-in synthetic LLM-agent telemetry instead of ``input``.
    demo_agents, demo_seed, demo_steps
        Agents, seed and steps per agent of the demo stream
        (:func:`sead.datasets.agent_telemetry`).
    quiet
        No notes, problem lines or summary on stderr.
    """

    input: str | None = None
    format: str = "jsonl"
    follow: bool = False
    key: str | None = None
    time: str | None = None
    fields: tuple | None = None
    bucket: str | None = None
    policy: dict = field(default_factory=dict)
    max_keys: int | None = None
    ttl: float | None = None
    seed: int = 0
    alerts: str | None = None
    dead_letter: str | None = None
    alertmanager: str | None = None
    alertmanager_labels: dict = field(default_factory=dict)
    alertmanager_flush: float = 10.0
    checkpoint: str | None = None
    checkpoint_every: int = 100_000
    checkpoint_interval: float = 60.0
    resume: bool = False
    fsync: bool = True
    batch_size: int = 1000
    poll_interval: float = 0.2
    progress: bool | None = None
    max_reports: int = 1000
    demo: bool = False
    demo_agents: int = 20
    demo_seed: int = 0
    demo_steps: int = 600
    quiet: bool = False

    # what a checkpoint must agree with to be resumed
    _MODEL_KEYS = (
        "format",
        "key",
        "time",
        "fields",
        "bucket",
        "policy",
        "max_keys",
        "ttl",
        "seed",
        "demo",
        "demo_agents",
        "demo_seed",
        "demo_steps",
    )

    def model_config(self) -> dict:
        """The options a checkpoint must agree with to be resumed, as a JSON-ready dict.

        The input file is given by its absolute path (``None`` for stdin or the demo).
        """
        out = {}
        for k in self._MODEL_KEYS:
            v = getattr(self, k)
            out[k] = list(v) if isinstance(v, tuple) else v
        out["input"] = None if self.input in (None, "-") else os.path.abspath(self.input)
        return out

    def resolved_key(self) -> str:
        """The key field: ``key``, else ``"key"`` for OTLP input and ``"agent"`` otherwise."""
        if self.key is not None:
            return self.key
        return "key" if self.format == "otlp" else "agent"

    def resolved_time(self) -> str:
        """The time field: ``time``, else ``"ts"``."""
        return self.time if self.time is not None else "ts"


_POLICY_OPTIONS = {  # option -> (AlertPolicy field, type)
    "q": ("q", float),
    "window": ("window", int),
    "threshold": ("threshold", float),
    "warmup": ("warmup", int),
    "confirm": ("confirm", int),
    "of": ("of", int),
    "resolve_after": ("resolve_after", int),
    "cooldown": ("cooldown", int),
    "rule": ("rule", str),
    "mode": ("mode", str),
}


def _fields_arg(text):
    names = tuple(f.strip() for f in text.split(","))
    if not names or any(not f for f in names):
        raise argparse.ArgumentTypeError(
            f"--fields must be comma-separated field names, got {text!r}"
        )
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"--fields names a field twice: {text!r}")
    return names


def _label_arg(text):
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"--alertmanager-label must be NAME=VALUE, got {text!r}")
    return name, value


def _positive(kind):
    def conv(text):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected a positive {kind.__name__}, got {text!r}"
            ) from None
        if not (v > 0) or (kind is float and not math.isfinite(v)):
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v

    conv.__name__ = kind.__name__
    return conv


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``sead watch`` to a parser (see :func:`run`).

    Parameters
    ----------
    p
        The parser (or subparser) of the command.
    """
    g = p.add_argument_group("input")
    g.add_argument("input", nargs="?", help="a JSON lines / CSV / OTLP file, or '-' for stdin")
    g.add_argument(
        "--format",
        choices=("jsonl", "csv", "otlp"),
        default="jsonl",
        help="jsonl (default): one JSON object per line; csv: a header row, then records; "
        "otlp: OTLP metrics JSON lines as the OpenTelemetry Collector's file exporter writes them",
    )
    g.add_argument(
        "--follow",
        "-F",
        action="store_true",
        help="keep reading as the file grows, surviving rotation (like tail -F)",
    )
    g.add_argument(
        "--demo",
        action="store_true",
        help="watch the built-in synthetic LLM-agent telemetry (no input needed)",
    )
    g.add_argument(
        "--demo-agents", type=_positive(int), default=20, metavar="N", help="agents in --demo (20)"
    )
    g.add_argument("--demo-seed", type=int, default=0, metavar="S", help="seed of --demo (0)")
    g.add_argument(
        "--demo-steps",
        type=_positive(int),
        default=600,
        metavar="N",
        help="steps per agent in --demo (600)",
    )
    g.add_argument(
        "--batch-size",
        type=_positive(int),
        default=1000,
        metavar="N",
        help="records per batch (checkpoints are taken between batches; 1000)",
    )
    g.add_argument(
        "--poll-interval",
        type=_positive(float),
        default=0.2,
        metavar="S",
        help="seconds between looks at a followed file without new data (0.2)",
    )

    g = p.add_argument_group("records")
    g.add_argument(
        "--key", metavar="FIELD", help="the field naming the stream (agent; key for otlp)"
    )
    g.add_argument(
        "--time",
        metavar="FIELD",
        help="the field with the event time, epoch seconds or ISO 8601 (ts)",
    )
    g.add_argument(
        "--fields",
        type=_fields_arg,
        metavar="A,B,...",
        help="the numeric fields to score (default: every numeric or boolean field of the first "
        "record; with --bucket: the fields to aggregate)",
    )
    g.add_argument(
        "--bucket",
        metavar="WIDTH",
        help="aggregate each key's records into time buckets (60s, 5m, 1h) and score the buckets",
    )
    g.add_argument(
        "--max-keys",
        type=_positive(int),
        metavar="N",
        help="keep at most N keys (least recently seen forgotten)",
    )
    g.add_argument(
        "--ttl",
        type=_positive(float),
        metavar="S",
        help="forget a key idle for S seconds of event time",
    )
    g.add_argument("--seed", type=int, default=0, help="seed of the detectors (0)")

    g = p.add_argument_group("alert policy (sead.telemetry.AlertPolicy)")
    g.add_argument(
        "--q",
        type=float,
        metavar="Q",
        help="quantile of the key's own recent scores used as its threshold",
    )
    g.add_argument("--window", type=int, metavar="N", help="scores the quantile is taken over")
    g.add_argument(
        "--threshold",
        type=float,
        metavar="X",
        help="a fixed score threshold instead of the quantile",
    )
    g.add_argument("--warmup", type=int, metavar="N", help="rows of a key before it can alert")
    g.add_argument(
        "--confirm", type=int, metavar="K", help="exceeding rows needed among the last --of rows"
    )
    g.add_argument("--of", type=int, metavar="N", help="rows the --confirm rule looks at")
    g.add_argument(
        "--resolve-after",
        type=int,
        metavar="N",
        help="rows below the threshold that resolve an alert",
    )
    g.add_argument(
        "--cooldown", type=int, metavar="N", help="rows after a resolution without a new alert"
    )
    g.add_argument("--rule", metavar="NAME", help="the rule name events carry (sead)")
    g.add_argument(
        "--mode",
        choices=("persist", "detect"),
        help="persist: quantile threshold and k-of-n confirmation (the default); detect: an "
        "alert on each detection of the NAB alert signal (sead.alerting.AlertSignal)",
    )

    g = p.add_argument_group("output")
    g.add_argument(
        "--alerts", metavar="FILE", help="write events to FILE (JSON lines) instead of stdout"
    )
    g.add_argument(
        "--dead-letter", metavar="FILE", help="write every bad line or record to FILE (JSON lines)"
    )
    g.add_argument(
        "--alertmanager", metavar="URL", help="also post alerts to this Prometheus Alertmanager"
    )
    g.add_argument(
        "--alertmanager-label",
        type=_label_arg,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a static label on every posted alert (repeatable)",
    )
    g.add_argument(
        "--alertmanager-flush",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds to wait at exit for Alertmanager to take the queued alerts (10)",
    )
    g.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="the status line on stderr (default: when stderr is a terminal)",
    )
    g.add_argument(
        "--max-reports",
        type=int,
        default=1000,
        metavar="N",
        help="problems printed on stderr before only counting them (1000)",
    )
    g.add_argument(
        "--quiet", "-q", action="store_true", help="no notes, problem lines or summary on stderr"
    )

    g = p.add_argument_group("checkpoints")
    g.add_argument("--checkpoint", metavar="DIR", help="write checkpoints to DIR")
    g.add_argument(
        "--checkpoint-every",
        type=_positive(int),
        default=100_000,
        metavar="N",
        help="records between checkpoints (100000)",
    )
    g.add_argument(
        "--checkpoint-interval",
        type=_positive(float),
        default=60.0,
        metavar="S",
        help="seconds between checkpoints (60)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --checkpoint DIR (a fresh start when it has none)",
    )
    g.add_argument(
        "--no-fsync",
        dest="fsync",
        action="store_false",
        help="do not fsync checkpoints and outputs (still safe against a crash of the process)",
    )


def options_from_args(args) -> WatchOptions:
    policy = {}
    for opt, (name, _) in _POLICY_OPTIONS.items():
        v = getattr(args, opt, None)
        if v is not None:
            policy[name] = v
    return WatchOptions(
        input=args.input,
        format=args.format,
        follow=args.follow,
        key=args.key,
        time=args.time,
        fields=args.fields,
        bucket=args.bucket,
        policy=policy,
        max_keys=args.max_keys,
        ttl=args.ttl,
        seed=args.seed,
        alerts=args.alerts,
        dead_letter=args.dead_letter,
        alertmanager=args.alertmanager,
        alertmanager_labels=dict(args.alertmanager_label),
        alertmanager_flush=args.alertmanager_flush,
        checkpoint=args.checkpoint,
        checkpoint_every=args.checkpoint_every,
        checkpoint_interval=args.checkpoint_interval,
        resume=args.resume,
        fsync=args.fsync,
        batch_size=args.batch_size,
        poll_interval=args.poll_interval,
        progress=args.progress,
        max_reports=args.max_reports,
        demo=args.demo,
        demo_agents=args.demo_agents,
        demo_seed=args.demo_seed,
        demo_steps=args.demo_steps,
        quiet=args.quiet,
    )


class UsageError(ValueError):
    """A bad combination of options or an unusable checkpoint (exit status 2)."""


def check_options(o: WatchOptions) -> None:
    from .buckets import parse_duration
    from .monitor import AlertPolicy

    if o.demo and o.input is not None:
        raise UsageError("--demo reads the built-in generator: give no input with it")
    if not o.demo and o.input is None:
        raise UsageError("give an input file, '-' for stdin, or --demo")
    if o.follow and o.input == "-":
        raise UsageError("--follow needs a file, not stdin (stdin is read to its end anyway)")
    if o.follow and o.demo:
        raise UsageError("--follow and --demo cannot go together")
    if o.resume and not o.checkpoint:
        raise UsageError("--resume needs --checkpoint DIR")
    if o.format == "otlp" and o.bucket is not None:
        raise UsageError(
            "--bucket with --format otlp: OTLP points are already aggregated per interval"
        )
    if o.format == "otlp" and o.demo:
        raise UsageError("--demo writes agent records, not OTLP: leave out --format otlp")
    if o.bucket is not None:
        try:
            parse_duration(o.bucket, "--bucket")
        except ValueError as e:
            raise UsageError(str(e)) from None
    if o.key is not None and o.key == o.time:
        raise UsageError(f"--key and --time name the same field {o.key!r}")
    try:
        AlertPolicy(**o.policy).check()
    except ValueError as e:
        raise UsageError(f"alert policy: {e}") from None
    if o.max_reports < 0:
        raise UsageError(f"--max-reports must be >= 0, got {o.max_reports}")
    if o.alertmanager is not None:
        from .alertmanager import AlertmanagerSink

        try:
            AlertmanagerSink(o.alertmanager, labels=o.alertmanager_labels)._check_params()
        except ValueError as e:
            raise UsageError(f"--alertmanager: {e}") from None
    if (
        o.alerts is not None
        and o.dead_letter is not None
        and os.path.abspath(o.alerts) == os.path.abspath(o.dead_letter)
    ):
        raise UsageError("--alerts and --dead-letter name the same file")


# ------------------------------------------------------------------------------------------
# inputs


class _DemoSource:
    """Batches of :func:`sead.datasets.agent_telemetry` records (the line is the record's
    1-based number; resuming skips that many)."""

    def __init__(self, o: WatchOptions, start=None, stop=None):
        from ..datasets.agent_telemetry import RECORD_FIELDS, agent_telemetry

        self.data = agent_telemetry(n_agents=o.demo_agents, seed=o.demo_seed, steps=o.demo_steps)
        self.records = self.data.records[list(RECORD_FIELDS)].to_dict("records")
        self.batch_size = o.batch_size
        self.first = 0 if start is None else int(start.line)
        self.stop = stop
        self.position = start
        self.name = f"demo(agents={o.demo_agents},seed={o.demo_seed})"

    def __iter__(self):
        n = len(self.records)
        for a in range(self.first, n, self.batch_size):
            if self.stop is not None and self.stop.is_set():
                return
            b = min(a + self.batch_size, n)
            end = Position(None, b)
            self.position = end
            yield Batch(self.records[a:b], list(range(a + 1, b + 1)), None, [], [], end, self.name)

    def close(self):
        pass


class _Output:
    """An append-only JSON-lines output (a file whose size is checkpointed, or stdout)."""

    def __init__(self, path, fsync, stream=None):
        self.path = path
        self.fsync = fsync
        self.fh = stream if path is None else None

    def open(self, offset=None, notes=None):
        if self.path is None:
            return
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o644)
        st = os.fstat(fd)
        size = st.st_size
        self.regular = stat.S_ISREG(st.st_mode)  # not /dev/null, a FIFO or a terminal
        if not self.regular:
            pass
        elif offset is None:
            os.ftruncate(fd, 0)
        elif size < offset:
            if notes is not None:
                notes.append(
                    f"{self.path} is shorter ({size} bytes) than the checkpoint's offset {offset}: "
                    "it was changed since; appending to it"
                )
        elif size > offset:
            os.ftruncate(fd, offset)
            if notes is not None:
                notes.append(
                    f"{self.path}: dropped the {size - offset} bytes written after the checkpoint "
                    "(their records are read again)"
                )
        os.lseek(fd, 0, os.SEEK_END)
        self.fh = os.fdopen(fd, "wb")

    def write_lines(self, chunks):
        if not chunks:
            return
        data = b"".join(chunks)
        fh = self.fh
        if self.path is None:
            buf = getattr(fh, "buffer", None)
            if buf is not None:
                buf.write(data)
            else:
                fh.write(data.decode())
        else:
            fh.write(data)

    def flush(self):
        if self.fh is None:
            return
        try:
            self.fh.flush()
        except (BrokenPipeError, ValueError):
            pass

    def sync(self):
        """Flush and (with fsync) make durable; returns the file's size (None for stdout)."""
        if self.path is None or not self.regular:
            self.flush()
            return None
        self.fh.flush()
        if self.fsync:
            os.fsync(self.fh.fileno())
        return self.fh.tell()

    def close(self):
        if self.path is not None and self.fh is not None:
            self.fh.close()
            self.fh = None


# ------------------------------------------------------------------------------------------
# the loop


class Watcher:
    """The ``sead watch`` loop: source -> Monitor -> events (file / stdout, Alertmanager).

    With checkpoints; :meth:`run` returns the exit status. See the module docstring.

    Parameters
    ----------
    options
        The :class:`WatchOptions` (checked by :func:`run`, not here).
    stdout
        Where the events go when ``options.alerts`` is not given (``None``: ``sys.stdout``).
    stderr
        Where notes, problems, the status line and the summary go (``None``: ``sys.stderr``).
    stdin
        A binary file read when the input is ``"-"`` (``None``: ``sys.stdin.buffer``).
    stop
        A :class:`threading.Event` that ends the loop once set (``None``: a new one; the
        signal handlers of :func:`run` set it).
    """

    def __init__(self, options: WatchOptions, *, stdout=None, stderr=None, stdin=None, stop=None):
        self.o = options
        self.stdout = stdout if stdout is not None else sys.stdout
        self.stderr = stderr if stderr is not None else sys.stderr
        self.stdin = stdin
        self.stop = stop if stop is not None else threading.Event()
        self.signal_name = None
        self.counters = {
            "records": 0,
            "problems": 0,
            "events": 0,
            "alerts": 0,
            "resolved": 0,
            "lines_bad": 0,
            "checkpoints": 0,
        }
        self.problem_kinds: dict = {}
        self.reported = 0
        self._status_len = 0
        self._last_status = 0.0
        self._t0 = time.monotonic()
        self.monitor = None
        self.reader = None
        self.sink = None
        self.firing: set = set()
        self.events = [] if options.demo else None  # --demo: kept to compare with the labels
        self.demo_data = None

    # ---- messages
    def _progress_on(self):
        if self.o.quiet:
            return False
        if self.o.progress is not None:
            return self.o.progress
        try:
            return self.stderr.isatty()
        except (AttributeError, ValueError):
            return False

    def _say(self, text):
        if self.o.quiet:
            return
        self._clear_status()
        print(text, file=self.stderr, flush=True)

    def _clear_status(self):
        if self._status_len:
            self.stderr.write("\r" + " " * self._status_len + "\r")
            self._status_len = 0

    def _status(self, force=False):
        if not self._progress:
            return
        now = time.monotonic()
        if not force and now - self._last_status < 0.5:
            return
        self._last_status = now
        c = self.counters
        rate = c["records"] / max(now - self._t0, 1e-9)
        keys = (
            self.monitor.model_.n_keys_
            if self.monitor is not None and "model_" in self.monitor.__dict__
            else 0
        )
        line = (
            f"sead watch: {c['records']:,} records ({rate:,.0f}/s), {keys:,} keys, {c['alerts']:,} "
            f"alerts, {len(self.firing):,} firing, {c['problems']:,} problems"
        )
        self.stderr.write("\r" + line.ljust(self._status_len))
        self.stderr.flush()
        self._status_len = len(line)

    # ---- problems
    def _report(self, source, line, kind, error, action="dropped", raw=None, record=None):
        self.counters["problems"] += 1
        self.problem_kinds[kind] = self.problem_kinds.get(kind, 0) + 1
        if self.reported < self.o.max_reports:
            self.reported += 1
            at = f"{source}:{line}" if line is not None else source
            self._say(f"{at}: {kind}: {error}" + ("" if action == "dropped" else f" ({action})"))
            if self.reported == self.o.max_reports:
                self._say(
                    f"sead watch: {self.o.max_reports} problems reported; further ones are only "
                    "counted"
                    + (f" and written to {self.o.dead_letter}" if self.o.dead_letter else "")
                )
        if self.dead is not None:
            entry = {"source": source, "line": line, "kind": kind, "error": error, "action": action}
            if raw is not None:
                entry["raw"] = raw
            if record is not None:
                entry["record"] = record
            self._dead_chunks.append(_dumps(entry) + b"\n")

    # ---- set-up
    def _make_monitor(self, first_records):
        from .monitor import AlertPolicy, Monitor

        o = self.o
        aggregations = None
        fields = o.fields
        if o.bucket is not None and o.fields is not None:
            first = next((r for r in first_records if isinstance(r, dict)), {})
            aggregations = {
                f: (["rate"] if type(first.get(f)) is bool else ["mean", "p95"]) for f in o.fields
            }
            fields = None
        if o.format == "otlp" and fields is None:
            fields = self._otlp_fields
        return Monitor(
            key=o.resolved_key(),
            time=o.resolved_time(),
            fields=fields,
            policy=AlertPolicy(**o.policy),
            bucket=o.bucket,
            aggregations=aggregations,
            max_keys=o.max_keys,
            ttl=o.ttl,
            seed=o.seed,
        )

    def _load_checkpoint(self, notes):
        from .._atomic import AtomicDir
        from .monitor import Monitor

        self.ckpt = AtomicDir(self.o.checkpoint, fsync=self.o.fsync) if self.o.checkpoint else None
        if self.ckpt is None:
            return None
        try:
            files = self.ckpt.read()
        except ValueError as e:
            raise UsageError(str(e)) from None
        if files is None:
            if self.o.resume:
                notes.append(
                    f"checkpoint {self.o.checkpoint}: none yet, starting from the beginning"
                )
            return None
        if not self.o.resume:
            raise UsageError(
                f"checkpoint directory {self.o.checkpoint} already holds a checkpoint: pass "
                "--resume to continue from it, or choose another (or an empty) directory"
            )
        try:
            state = json.loads(files["state.json"])
            if state.get("format") != CHECKPOINT_FORMAT:
                raise ValueError(f"format {state.get('format')!r}, expected {CHECKPOINT_FORMAT!r}")
            mon = Monitor.from_bytes(files["monitor.bin"]) if state["monitor"] else None
        except (KeyError, ValueError, TypeError) as e:
            raise UsageError(
                f"checkpoint {self.o.checkpoint} is not a usable sead watch checkpoint: {e}"
            ) from None
        mine = self.o.model_config()
        theirs = state["config"]
        for k in mine:
            if mine[k] != theirs.get(k):
                raise UsageError(
                    f"--resume: the checkpoint was written with {k}={theirs.get(k)!r}, this run "
                    f"has {k}={mine[k]!r}; resume with the options of the run that wrote it"
                )
        self.monitor = mon
        return state

    # ---- main
    def run(self) -> int:
        """Watch until the input ends or ``stop`` is set; returns the exit status.

        Resumes from the checkpoint first when ``options.resume`` asks for it, and writes a
        last checkpoint (when checkpointing) and the summary before returning.
        """
        o = self.o
        self._progress = self._progress_on()
        notes = []
        state = self._load_checkpoint(notes)
        self.alerts_out = _Output(o.alerts, o.fsync, self.stdout)
        self.dead = _Output(o.dead_letter, o.fsync) if o.dead_letter else None
        self._dead_chunks = []
        start = None
        if state is not None:
            start = Position.from_dict(state["position"]) if state["position"] is not None else None
            self.counters.update(state["counters"])
            self.problem_kinds = dict(state["problem_kinds"])
            self.firing = set(state.get("firing", []))
            self.alerts_out.open(state["alerts_offset"], notes)
            if self.dead is not None:
                self.dead.open(state["dead_letter_offset"], notes)
            notes.append(
                f"resuming from checkpoint {o.checkpoint} at line {start.line if start else 0} "
                f"({self.counters['records']:,} records done)"
            )
        else:
            self.alerts_out.open(None)
            if self.dead is not None:
                self.dead.open(None)
        if o.format == "otlp":
            from .otlp import OTLPMetricsReader, quantile_field_name

            if state is not None and state.get("otlp") is not None:
                self.reader = OTLPMetricsReader.from_state_dict(state["otlp"])
            else:
                self.reader = OTLPMetricsReader()
            self._otlp_fields = OTLP_FIELDS + (quantile_field_name(self.reader.quantile),)
        if o.alertmanager is not None:
            from .alertmanager import AlertmanagerSink

            self.sink = AlertmanagerSink(o.alertmanager, labels=o.alertmanager_labels or None)
            if state is not None and state.get("sink") is not None:
                self.sink.restore(state["sink"]["pending"], state["sink"]["active"])
        for n in notes:
            self._say(f"sead watch: {n}")
        self._position = start
        self._since = 0
        self._last_ckpt = time.monotonic()
        source = self._open_source(start)
        ended = False
        try:
            for batch in source:
                self._handle(batch)
                if self.stop.is_set():
                    break
                self._maybe_checkpoint()
            else:
                ended = True
            if ended and not self.stop.is_set() and self.monitor is not None:
                # end of the input: close the open buckets (see the module docstring)
                events = self.monitor.flush()
                self._emit(events)
                self._drain_monitor_problems(source_name=self._source_name)
                self._flush_outputs()
        finally:
            source.close()
        if self.sink is not None:
            self.sink.flush(max(0.0, o.alertmanager_flush))
        if self.ckpt is not None:
            self._checkpoint()
        if self.sink is not None:
            self.sink.close(timeout=0.5)
        self.alerts_out.sync() if o.alerts else self.alerts_out.flush()
        self.alerts_out.close()
        if self.dead is not None:
            self.dead.sync()
            self.dead.close()
        self._status(force=True)
        self._clear_status()
        self._summary()
        if self.signal_name == "SIGINT":
            return 130
        return 0

    def _open_source(self, start):
        o = self.o
        if o.demo:
            src = _DemoSource(o, start, self.stop)
            self.demo_data = src.data
            self._source_name = "demo"
            return src
        from .sources import open_source

        fmt = "csv" if o.format == "csv" else "jsonl"
        self._source_name = o.input
        max_line = (64 << 20) if o.format == "otlp" else (1 << 20)
        try:
            return open_source(
                o.input,
                fmt,
                follow=o.follow,
                start=start,
                poll_interval=o.poll_interval,
                stop=self.stop,
                batch_size=o.batch_size,
                max_line_bytes=max_line,
                stdin=self.stdin,
            )
        except FileNotFoundError as e:
            raise UsageError(str(e)) from None

    def _handle(self, batch: Batch):
        name = self._source_name
        for n in batch.notes:
            self._say(f"sead watch: {n}")
        for p in batch.problems:
            self.counters["lines_bad"] += 1
            self._report(name, p.line, "bad_line", p.error, raw=p.raw)
        records, where = batch.records, batch.lines
        self.counters["records"] += len(records)
        if self.reader is not None:
            records, where = self._otlp_records(records, where)
        if records:
            if self.monitor is None:
                self.monitor = self._make_monitor(records)
                from .._compile import announce

                with announce("sead watch"):  # the first batch compiles the kernels on a cold cache
                    events = self.monitor.process_many(records, where=where)
            else:
                events = self.monitor.process_many(records, where=where)
            self._drain_monitor_problems(name)
            self._emit(events)
        self._flush_outputs()
        self._position = batch.end
        self._since += len(batch.records)
        self._status()

    def _otlp_records(self, records, where):
        out, lines = [], []
        reader = self.reader
        fields = self._otlp_fields
        name = self._source_name
        for rec, line in zip(records, where):
            got = reader.parse_line(_dumps(rec), line)
            for p in reader.last_problems_:
                self._report(
                    name, line, f"otlp_{p.kind}", p.message, "dropped" if p.dropped else "kept"
                )
            for r in got:
                for f in fields:
                    if f not in r:
                        r[f] = 0.0
                out.append(r)
                lines.append(line)
        return out, lines

    def _drain_monitor_problems(self, source_name):
        if self.monitor is None:
            return
        for p in self.monitor.pop_problems():
            action = (
                "dropped"
                if not getattr(p, "scored", False)
                else ("imputed" if self.o.bucket is None else "not aggregated")
            )
            rec = p.record if isinstance(p.record, dict) else None
            raw = None if rec is not None else repr(p.record)
            self._report(source_name, p.where, p.kind, p.message, action, raw=raw, record=rec)

    def _emit(self, events):
        if not events:
            return
        chunks = []
        for e in events:
            chunks.append(_dumps(e) + b"\n")
            if e["event"] == "alert":
                self.counters["alerts"] += 1
                self.firing.add(e["key"])
            else:
                self.counters["resolved"] += 1
                self.firing.discard(e["key"])
        self.counters["events"] += len(events)
        self.alerts_out.write_lines(chunks)
        if self.events is not None:
            self.events.extend(events)
        if (
            self.sink is not None
        ):  # Alertmanager labels are strings: an integer key is sent as its text
            self.sink.send(
                [e if isinstance(e["key"], str) else {**e, "key": str(e["key"])} for e in events]
            )

    def _flush_outputs(self):
        self.alerts_out.flush()
        if self.dead is not None:
            self.dead.write_lines(self._dead_chunks)
            self._dead_chunks = []
            self.dead.flush()

    # ---- checkpoints
    def _maybe_checkpoint(self):
        if self.ckpt is None:
            return
        o = self.o
        if (
            self._since >= o.checkpoint_every
            or time.monotonic() - self._last_ckpt >= o.checkpoint_interval
        ):
            self._checkpoint()

    def _checkpoint(self):
        self._flush_outputs()
        alerts_offset = (
            self.alerts_out.sync() if self.o.alerts else (self.alerts_out.flush() or None)
        )
        dead_offset = self.dead.sync() if self.dead is not None else None
        mon = self.monitor
        state = {
            "format": CHECKPOINT_FORMAT,
            "config": self.o.model_config(),
            "position": None if self._position is None else self._position.to_dict(),
            "alerts_offset": alerts_offset,
            "dead_letter_offset": dead_offset,
            "sink": None
            if self.sink is None
            else {"pending": self.sink.pending(), "active": self.sink.active()},
            "otlp": None if self.reader is None else self.reader.state_dict(),
            "counters": self.counters,
            "problem_kinds": self.problem_kinds,
            "firing": sorted(map(str, self.firing)),
            "monitor": mon is not None,
            "written": time.time(),
        }
        files = {
            "state.json": json.dumps(state, separators=(",", ":")).encode(),
            "monitor.bin": mon.to_bytes() if mon is not None else b"",
        }
        self.counters["checkpoints"] += 1
        state["counters"] = self.counters
        files["state.json"] = json.dumps(state, separators=(",", ":")).encode()
        self.ckpt.commit(files)
        self._since = 0
        self._last_ckpt = time.monotonic()

    def _summary(self):
        c = self.counters
        dt = time.monotonic() - self._t0
        keys = (
            self.monitor.model_.n_keys_
            if self.monitor is not None and "model_" in self.monitor.__dict__
            else 0
        )
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(self.problem_kinds.items()))
        self._say(
            f"sead watch: {c['records']:,} records, {keys:,} keys, {c['alerts']:,} alerts, "
            f"{c['resolved']:,} resolved, {c['problems']:,} problems"
            + (f" ({kinds})" if kinds else "")
            + f"; {dt:.1f} s"
            + (f", stopped by {self.signal_name}" if self.signal_name else "")
        )
        if self.sink is not None:
            s = self.sink.stats()
            self._say(
                f"sead watch: Alertmanager: {s['sent']:,} sent, {s['queued']:,} not delivered"
                + (" (kept in the checkpoint)" if s["queued"] and self.ckpt is not None else "")
                + (f", last error: {s['last_error']}" if s["last_error"] else "")
            )


# ------------------------------------------------------------------------------------------
# signals and the command


class _Signals:
    """SIGTERM / SIGINT set the watcher's stop event; a second one stops at once."""

    def __init__(self, watcher: Watcher):
        self.w = watcher
        self.old = {}

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.old[sig] = signal.signal(sig, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.w.stop.is_set():
            raise KeyboardInterrupt
        self.w.signal_name = signal.Signals(signum).name
        self.w.stop.set()

    def __exit__(self, *exc):
        for sig, h in self.old.items():
            signal.signal(sig, h)


def run(options: WatchOptions, *, stdout=None, stderr=None, stdin=None) -> int:
    """Run ``sead watch`` with ``options``, SIGINT and SIGTERM handled (see the module docstring).

    Parameters
    ----------
    options
        The :class:`WatchOptions`; checked first (bad options: a message on ``stderr``, status 2).
    stdout, stderr, stdin
        As for :class:`Watcher`.

    Returns
    -------
    int
        The exit status: 0 done (or stopped by SIGTERM), 130 stopped by SIGINT, 2 bad options or
        checkpoint.
    """
    err = stderr if stderr is not None else sys.stderr
    try:
        check_options(options)
    except UsageError as e:
        print(f"sead watch: error: {e}", file=err)
        return 2
    w = Watcher(options, stdout=stdout, stderr=stderr, stdin=stdin)
    try:
        with _Signals(w):
            status = w.run()
    except (
        UsageError,
        FileNotFoundError,
    ) as e:  # FileNotFoundError: the input, opened on the first read
        print(f"sead watch: error: {e}", file=err)
        return 2
    except KeyboardInterrupt:
        print("\nsead watch: interrupted again: stopped without a checkpoint", file=err)
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - so that the exit flush does not fail
        except OSError:
            pass
        return 141
    if options.demo and not options.quiet and status in (0, 130):
        print(
            format_quality(alert_quality(w.demo_data, w.events, warmup=_policy(options).warmup)),
            file=err,
        )
    return status


def main(args) -> int:
    """Entry point from :mod:`sead.cli`.

    Parameters
    ----------
    args
        The :class:`argparse.Namespace` of a parser set up by :func:`add_arguments`.

    Returns
    -------
    int
        The exit status of :func:`run`.
    """
    return run(options_from_args(args))


def _policy(o):
    from .monitor import AlertPolicy

    return AlertPolicy(**o.policy)


# ------------------------------------------------------------------------------------------
# alert quality on labelled telemetry


def alert_quality(data, events, *, grace=3, warmup=None):
    """How alert events match the labelled incidents of :func:`sead.datasets.agent_telemetry`.

    An incident (agent, ``start_ts``, ``end_ts``) is **detected** when an ``alert`` event of its
    agent has a ``ts`` from ``start_ts`` to the time of the agent's ``grace``-th step after
    ``end_ts`` (the grace: ``grace`` steps, 3 by default, so an alert confirmed just after a
    short incident still counts); its **delay** is the number of the agent's steps from the
    incident's first step to that alert (0 = on the first step). An alert event is **true**
    when it falls in such a window of its agent, else **false**.

    Parameters
    ----------
    data
        The labelled telemetry: an :class:`~sead.datasets.agent_telemetry.AgentTelemetry`
        (``records`` and ``incidents``).
    events
        The events (dicts with ``event``, ``key``, ``ts``), e.g. what ``sead watch`` wrote.
    grace
        Steps after an incident's end during which an alert still detects it.
    warmup
        Rows of each clean agent left out of ``clean_rows`` (the policy's warm-up; ``None``: 0).

    Returns
    -------
    dict
        ``incidents`` (a DataFrame: one row per incident with ``kind``, ``detected``,
        ``delay_steps``, ``delay_s``), ``per_kind`` (a DataFrame indexed by kind:
        ``incidents``, ``detected``, ``recall``, ``median_delay_steps``, ``median_delay_s``),
        ``recall``, ``alerts``, ``false_alerts``, ``precision`` and, for the agents without
        incidents, ``clean_rows`` (their rows after ``warmup``), ``clean_alerts`` and
        ``clean_rate`` (false alerts per such row).
    """
    import pandas as pd

    rec = data.records
    inc = data.incidents
    times = {a: g["ts"].to_numpy() for a, g in rec.groupby("agent", sort=False)}
    al = {}
    for e in events:
        if e.get("event") == "alert":
            al.setdefault(str(e["key"]), []).append(float(e["ts"]))
    for v in al.values():
        v.sort()
    matched = set()
    rows = []
    for r in inc.itertuples(index=False):
        ts = times.get(r.agent, np.zeros(0))
        s0 = int(np.searchsorted(ts, r.start_ts))
        e0 = int(np.searchsorted(ts, r.end_ts))
        end = ts[min(e0 + grace, len(ts) - 1)] if len(ts) else r.end_ts
        hits = [t for t in al.get(r.agent, []) if r.start_ts <= t <= end]
        for t in hits:
            matched.add((r.agent, t))
        if hits:
            rows.append(
                (
                    r.agent,
                    r.kind,
                    True,
                    int(np.searchsorted(ts, hits[0])) - s0,
                    hits[0] - r.start_ts,
                )
            )
        else:
            rows.append((r.agent, r.kind, False, np.nan, np.nan))
    df = pd.DataFrame(rows, columns=["agent", "kind", "detected", "delay_steps", "delay_s"])
    n_alerts = sum(len(v) for v in al.values())
    n_true = sum(1 for a, v in al.items() for t in v if (a, t) in matched)
    dirty = set(inc["agent"])
    clean = [a for a in times if a not in dirty]
    w = 0 if warmup is None else int(warmup)
    clean_rows = sum(max(0, len(times[a]) - w) for a in clean)
    clean_alerts = sum(len(al.get(a, [])) for a in clean)
    return {
        "incidents": df,
        "per_kind": _per_kind(df),
        "recall": float(df["detected"].mean()) if len(df) else float("nan"),
        "alerts": n_alerts,
        "false_alerts": n_alerts - n_true,
        "precision": n_true / n_alerts if n_alerts else float("nan"),
        "clean_rows": clean_rows,
        "clean_alerts": clean_alerts,
        "clean_rate": clean_alerts / clean_rows if clean_rows else float("nan"),
    }


def _per_kind(incidents):
    """The ``per_kind`` table of :func:`alert_quality` from its ``incidents`` table."""
    import pandas as pd

    from ..datasets.agent_telemetry import INCIDENT_KINDS

    g = incidents.groupby("kind", sort=False)
    per_kind = pd.DataFrame(
        {
            "incidents": g.size(),
            "detected": g["detected"].sum(),
            "recall": g["detected"].mean(),
            "median_delay_steps": g["delay_steps"].median(),
            "median_delay_s": g["delay_s"].median(),
        }
    )
    return per_kind.loc[[k for k in INCIDENT_KINDS if k in per_kind.index]]


def alert_quality_over_seeds(seeds, policy=None, *, signal=None) -> dict:
    """:func:`alert_quality` of a default Monitor on the generator's default stream, over seeds.

    For each seed ``s``, ``agent_telemetry(seed=s)`` goes through ``Monitor(policy=policy,
    signal=signal)`` in batches of 1,000 records, as ``sead watch`` feeds it; the incidents and
    alerts of all seeds are pooled. The precision of a kind is measured on the same streams with
    incidents of that kind only (``agent_telemetry(seed=s, kinds=(kind,))``): a false alert of
    the mixed stream belongs to no kind.

    Parameters
    ----------
    seeds
        The seeds of :func:`sead.datasets.agent_telemetry`.
    policy
        The :class:`~sead.telemetry.AlertPolicy` (``None``: the defaults).
    signal
        The Monitor's :class:`~sead.alerting.AlertSignal` for the detection mode (``None``: its
        defaults).

    Returns
    -------
    dict
        The keys of :func:`alert_quality`, over all seeds, with a ``precision`` column in
        ``per_kind`` (``NaN`` for a kind without alerts), and ``nominal``, the policy's
        :func:`nominal_alert_rate`.
    """
    import pandas as pd

    from ..datasets.agent_telemetry import INCIDENT_KINDS, RECORD_FIELDS, agent_telemetry
    from .monitor import AlertPolicy, Monitor

    pol = policy if policy is not None else AlertPolicy()

    def watch(d):
        recs = d.records[list(RECORD_FIELDS)].to_dict("records")
        m = Monitor(policy=pol, signal=signal)
        ev = []
        for i in range(0, len(recs), 1000):
            ev += m.process_many(recs[i : i + 1000])
        return alert_quality(d, ev, warmup=pol.warmup)

    qs = [watch(agent_telemetry(seed=s)) for s in seeds]
    inc = pd.concat([q["incidents"] for q in qs], ignore_index=True)
    prec = {}
    for kind in INCIDENT_KINDS:
        ks = [watch(agent_telemetry(seed=s, kinds=(kind,))) for s in seeds]
        n = sum(q["alerts"] for q in ks)
        prec[kind] = (n - sum(q["false_alerts"] for q in ks)) / n if n else float("nan")
    n_alerts = sum(q["alerts"] for q in qs)
    n_false = sum(q["false_alerts"] for q in qs)
    clean_rows = sum(q["clean_rows"] for q in qs)
    clean_alerts = sum(q["clean_alerts"] for q in qs)
    return {
        "incidents": inc,
        "per_kind": _per_kind(inc).assign(precision=pd.Series(prec)),
        "recall": float(inc["detected"].mean()) if len(inc) else float("nan"),
        "alerts": n_alerts,
        "false_alerts": n_false,
        "precision": (n_alerts - n_false) / n_alerts if n_alerts else float("nan"),
        "clean_rows": clean_rows,
        "clean_alerts": clean_alerts,
        "clean_rate": clean_alerts / clean_rows if clean_rows else float("nan"),
        "nominal": nominal_alert_rate(pol, signal=signal),
    }


def format_quality(q) -> str:
    """A short text table of :func:`alert_quality`'s result."""
    lines = ["", f"{'incident kind':<16} {'found':>7} {'recall':>7} {'median delay (steps)':>21}"]
    for kind, r in q["per_kind"].iterrows():
        d = "-" if math.isnan(r["median_delay_steps"]) else f"{r['median_delay_steps']:.1f}"
        lines.append(
            f"{kind:<16} {int(r['detected']):>3}/{int(r['incidents']):<3} {r['recall']:>7.2f} "
            f"{d:>21}"
        )
    lines.append(
        f"{'all':<16} {int(q['incidents']['detected'].sum()):>3}/{len(q['incidents']):<3} "
        f"{q['recall']:>7.2f}"
    )
    lines.append(
        f"alerts {q['alerts']}, of them false {q['false_alerts']} (precision "
        f"{q['precision']:.2f}); "
        f"on agents without incidents {q['clean_alerts']} false alerts in {q['clean_rows']:,} rows"
    )
    return "\n".join(lines)


def nominal_alert_rate(policy=None, *, signal=None, n_keys=200, n_rows=3000, seed=0) -> float:
    """The policy's nominal alert rate: alerts per row when every key's scores are i.i.d. uniform.

    That is what :class:`~sead.telemetry.AlertPolicy` gives on a stream in which no row is more
    surprising than another. Measured by running the policy itself on ``n_keys x n_rows``
    seeded uniform scores (so the threshold's estimation noise, the k-of-n confirmation, the
    resolution and the cooldown are all in it).

    Parameters
    ----------
    policy
        The :class:`~sead.telemetry.AlertPolicy` (``None``: the defaults).
    signal
        With ``policy.mode == "detect"``: the :class:`~sead.alerting.AlertSignal` the uniform
        scores go through first, without its range check (no raw values; ``None``: its
        defaults). Not used in the persistence mode.
    n_keys
        Number of simulated keys.
    n_rows
        Rows per key.
    seed
        Seed of the uniform scores.

    Returns
    -------
    float
        Alerts per row after the policy's warm-up.
    """
    from .monitor import AlertPolicy, PolicyState

    pol = policy if policy is not None else AlertPolicy()
    rng = np.random.default_rng(seed)
    S = rng.random(n_keys * n_rows)
    slots = np.tile(np.arange(n_keys, dtype=np.int64), n_rows)
    st = PolicyState(pol, 1)
    st.reserve(n_keys)
    if pol.mode == "detect":
        from ..alerting import AlertSignal

        sig = AlertSignal() if signal is None else signal.clone()
        sig.allocate(n_keys)
        raw = np.empty(len(S))
        A = sig.run(S, slots, True, raw=raw)
        ev, _, _ = st.run(A, np.zeros((len(S), 1)), slots, raw, float(sig.threshold))
    else:
        ev, _, _ = st.run(S, np.zeros((len(S), 1)), slots)
    return float((ev == 1).sum()) / (n_keys * max(n_rows - pol.warmup, 1))
