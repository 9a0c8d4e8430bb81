"""Reading telemetry records for ``sead watch``: JSON lines or CSV, from a file or stdin.

A file can also be followed as it grows (``follow=True``), across rotation and truncation.

:func:`open_source` returns a :class:`Source`, an iterator of :class:`Batch` es. A batch holds
up to ``batch_size`` records (dicts) with the line number and resume offset of each, the
malformed lines met on the way (:class:`Problem`: line number, raw text, error, never an
exception), notes about the input (rotation, truncation) and ``end``, the :class:`Position`
to resume from once the batch is handled: ``open_source(..., start=batch.end)`` reads on from
the next line, nothing skipped and nothing twice.

**Formats.** ``"jsonl"``: one JSON object per line (blank lines are skipped; anything else that is
not an object is a problem). Parsed with ``orjson`` when it is installed, else with the standard
``json`` module: both are far above the watcher's 50,000 records/s (``benchmarks/RESULTS.md``);
``NaN``/``Infinity`` literals are refused by both, while a number that overflows a double
(``1e400``) is a problem with orjson and ``inf`` with json. ``"csv"``: a header row then one record
per physical line (quoted cells may not contain newlines); a row with the wrong number of cells is a
problem. Cells are converted: empty -> ``None``, integers without leading zeros -> ``int``, decimals
with a point or an exponent -> ``float``, ``true``/``false`` (any case) -> ``bool``, anything else
stays a ``str`` (so an id like ``007`` stays ``"007"``); ``csv_types`` overrides a column.

**Follow** (``follow=True``, like ``tail -F``): at the end of the file the source waits
``poll_interval`` seconds and reads what was appended; a last line without its newline is
held back until the newline arrives. Rotation is detected at the end of the data: if the
path now names another file (rename and recreate: inode or device changed), the old file is
read to its end (its unterminated last line, if any, is taken as a line), then the new one
from its start; if the path is missing, the old file is followed until a new one appears. If
the file shrank below what was read (truncation, ``copytruncate``), reading restarts at
offset 0. Lines written to the old file after the switch, or between a copy and a truncate,
cannot be seen, nor can a truncation followed, before the next look, by more bytes than had
been read (``tail -F`` has the same limits). Without ``follow`` the source ends at the
end of the data, and a last line without a newline is parsed.

**Positions.** For a file, ``Position(offset, line, inode, device, head)``: the byte offset
after the last consumed line, that line's number (1-based, counted in this file, the CSV
header is line 1) and the file's identity: inode, device and ``head``, a CRC-32 of its first
bytes (up to 1 KiB), because a file system may give a new file the inode of a deleted one.
Resuming checks the identity: the same file is read on from ``offset`` (from 0 if it is now
shorter: truncated); if the path names another file, a
file with the checkpoint's inode is looked for in the same directory (``app.log`` renamed
to ``app.log.1``): it is read on from ``offset`` to its end, then the current file from its
start; if it is gone, the current file is read from its start and a note says so. For stdin
the position has only ``line``: resuming skips that many lines.
"""

from __future__ import annotations

import csv
import json
import os
import re
import select
import sys
import time
import zlib
from dataclasses import dataclass, field

__all__ = ["JSON_BACKEND", "Batch", "Position", "Problem", "Source", "open_source"]

try:  # optional speed-up, about 3-5x json's per-line speed
    import orjson as _orjson
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

#: The JSON parser ``json_backend="auto"`` uses: ``"orjson"`` if installed, else ``"json"``.
JSON_BACKEND = "orjson" if _orjson is not None else "json"

_CHUNK = 1 << 20
_HEAD_BYTES = 1024
_HEAD = re.compile(r"[0-9]+:[0-9a-f]{8}\Z")
_RAW_KEEP = 1000  # characters of an over-long line kept in its problem report


@dataclass(frozen=True)
class Position:
    """Where to resume: after line ``line`` (byte ``offset``) of the file ``(device, inode)``.

    :meth:`to_dict` and :meth:`from_dict` give a JSON-serialisable form for checkpoints.

    Attributes
    ----------
    offset
        Byte offset just after the last line read (``None`` for stdin).
    line
        Number of the last line read (1-based; 0 before the first).
    inode, device
        The file's identity, to notice a rotation (``None`` for stdin).
    head
        ``"<n>:<crc32 hex>"`` of the file's first bytes, to notice a file replaced in place
        (``None`` when unknown).
    """

    offset: int | None
    line: int
    inode: int | None = None
    device: int | None = None
    head: str | None = None

    def to_dict(self):
        """``{"offset", "line", "inode", "device", "head"}`` (ints, a str, or None)."""
        return {
            "offset": self.offset,
            "line": self.line,
            "inode": self.inode,
            "device": self.device,
            "head": self.head,
        }

    @classmethod
    def from_dict(cls, d):
        """Inverse of :meth:`to_dict`; a clear error for anything else."""
        if not isinstance(d, dict) or "line" not in d:
            raise ValueError(f"a position must be a dict with at least 'line', got {d!r}")
        vals = {}
        for k in ("offset", "line", "inode", "device"):
            v = d.get(k)
            if v is None and k != "line":
                vals[k] = None
            elif isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"position field {k!r} must be a non-negative integer, got {v!r}")
            else:
                vals[k] = v
        head = d.get("head")
        if head is not None and not (isinstance(head, str) and _HEAD.match(head)):
            raise ValueError(
                f"position field 'head' must be like '1024:0a1b2c3d' or None, got {head!r}"
            )
        return cls(**vals, head=head)


@dataclass(frozen=True)
class Problem:
    """A line that is not a record: its number, raw text, the reason, and the position after it.

    Attributes
    ----------
    line
        The line number (1-based, in its file).
    raw
        The line's text (the first 1,000 bytes of an over-long line).
    error
        Why it is not a record.
    position
        The :class:`Position` just after the line.
    source
        The path read (``"-"`` for stdin).
    """

    line: int
    raw: str
    error: str
    position: Position
    source: str = ""

    def to_dict(self):
        """JSON-serialisable form, e.g. for a dead-letter file."""
        return {
            "source": self.source,
            "line": self.line,
            "offset": self.position.offset,
            "error": self.error,
            "raw": self.raw,
        }


@dataclass
class Batch:
    """Up to ``batch_size`` records of one file, in order, with where each one ends.

    Attributes
    ----------
    records
        list of dict.
    lines
        list of int: line number of each record (1-based, in its file).
    offsets
        list of int or None: byte offset just after each record's line (``None`` for stdin).
    problems
        list of Problem: malformed lines among these (in order).
    notes
        list of str: what happened to the input before these lines (rotation, truncation, resume).
    end
        Resume position once the whole batch (records and problems) is handled.
    source
        The path read (``"-"`` for stdin).
    """

    records: list
    lines: list
    offsets: list | None
    problems: list
    notes: list
    end: Position
    source: str = ""

    def __len__(self):
        return len(self.records)

    def position(self, i):
        """Resume position just after record ``i`` (problems after it are then read again)."""
        off = None if self.offsets is None else self.offsets[i]
        return Position(off, self.lines[i], self.end.inode, self.end.device, self.end.head)


# --------------------------------------------------------------------------- line parsers

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_FLOAT = re.compile(r"[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?\Z")
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})


def _convert_cell(s):
    if not s:
        return None
    c = s[0]
    if c.isdigit() or c in "-+.":
        if _INT.match(s):
            return int(s)
        if _FLOAT.match(s):
            return float(s)
        return s
    if s in _TRUE or s.lower() == "true":
        return True
    if s in _FALSE or s.lower() == "false":
        return False
    return s


def _to_bool(s):
    low = s.strip().lower()
    if low in ("true", "1", "yes", "y", "t"):
        return True
    if low in ("false", "0", "no", "n", "f"):
        return False
    raise ValueError(f"not a boolean: {s!r}")


def _make_json_parser(backend):
    if backend == "orjson":
        return _orjson.loads, (_orjson.JSONDecodeError,)

    def _reject(name):
        raise ValueError(f"{name} is not valid JSON")

    dec = json.JSONDecoder(parse_constant=_reject)
    raw_decode = dec.raw_decode

    def parse(raw):
        s = raw.decode("utf-8")
        try:
            obj, end = raw_decode(s)
        except json.JSONDecodeError:
            return dec.decode(s)  # leading whitespace, or the error with its message
        if end != len(s) and s[end:].strip():
            return dec.decode(s)  # raises "Extra data"
        return obj

    return parse, (ValueError,)


# --------------------------------------------------------------------------- the source


def _head(cur):
    """``"<n>:<crc32>"`` of the first ``n = min(consumed, 1 KiB)`` bytes of the cursor's file."""
    n = min(cur.offset, _HEAD_BYTES)
    if cur.head is None or cur.head[0] != n:
        data = os.pread(cur.fd, n, 0)
        cur.head = (n, f"{len(data)}:{zlib.crc32(data) & 0xFFFFFFFF:08x}")
    return cur.head[1]


def _head_matches(fd, head):
    if head is None:
        return True
    n = int(head.split(":")[0])
    data = os.pread(fd, n, 0)
    return len(data) == n and f"{n}:{zlib.crc32(data) & 0xFFFFFFFF:08x}" == head


class _Cursor:
    """One open input: its descriptor, identity and what has been consumed of it."""

    __slots__ = (
        "fd",
        "inode",
        "device",
        "offset",
        "line",
        "buf",
        "header",
        "header_error",
        "skipping",
        "skipped",
        "skip_head",
        "own",
        "name",
        "fileobj",
        "head",
    )

    def __init__(self, fd, inode, device, name, own=True, fileobj=None):
        self.fd = fd
        self.inode = inode
        self.device = device
        self.name = name
        self.offset = 0
        self.line = 0
        self.buf = b""
        self.header = None
        self.header_error = None
        self.skipping = False  # inside an over-long line, discarding to its newline
        self.skipped = 0  # bytes of it discarded so far (``offset`` stays at the line's start)
        self.skip_head = b""
        self.own = own
        self.fileobj = fileobj
        self.head = None  # (n, "n:crc") cache of the identity fingerprint

    def close(self):
        if self.own and self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
        self.fd = None


class Source:
    """Iterator of :class:`Batch` es from one input; :func:`open_source` makes one.

    Parameters
    ----------
    path, fmt, follow, start, poll_interval, stop
        As for :func:`open_source`.
    batch_size, max_line_bytes, csv_types, delimiter, json_backend, stdin
        As for :func:`open_source`.

    Attributes
    ----------
    position
        Resume position after the last batch yielded (``None`` before the first).
    stats
        Counters: ``lines``, ``records``, ``problems``, ``bytes``, ``rotations``, ``truncations``.
    """

    def __init__(
        self,
        path,
        fmt="jsonl",
        *,
        follow=False,
        start=None,
        poll_interval=0.2,
        stop=None,
        batch_size=1000,
        max_line_bytes=1 << 20,
        csv_types=None,
        delimiter=",",
        json_backend="auto",
        stdin=None,
    ):
        self.path = path
        self.fmt = fmt
        self.follow = follow
        self.start = start
        self.poll_interval = poll_interval
        self.stop = stop
        self.batch_size = batch_size
        self.max_line_bytes = max_line_bytes
        self.csv_types = csv_types
        self.delimiter = delimiter
        self.json_backend = json_backend
        self.stdin = stdin
        self._check()
        self.position = None
        self.stats = {
            "lines": 0,
            "records": 0,
            "problems": 0,
            "bytes": 0,
            "rotations": 0,
            "truncations": 0,
        }
        self._cursor = None
        self._closed = False
        self._gen = self._run()

    # ---- parameters
    def _check(self):
        p = self.path
        if not isinstance(p, (str, os.PathLike)):
            raise TypeError(f"path must be a str, os.PathLike or '-' for stdin, got {p!r}")
        self._stdin = isinstance(p, str) and p == "-"
        self._name = "-" if self._stdin else os.fspath(p)
        if self.fmt not in ("jsonl", "csv"):
            raise ValueError(f"fmt must be 'jsonl' or 'csv', got {self.fmt!r}")
        for name, low in (("batch_size", 1), ("max_line_bytes", 16)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        pi = self.poll_interval
        if isinstance(pi, bool) or not isinstance(pi, (int, float)) or not (0 < pi < float("inf")):
            raise ValueError(f"poll_interval must be a positive number of seconds, got {pi!r}")
        if self.stop is not None and not (callable(self.stop) or hasattr(self.stop, "is_set")):
            raise TypeError(
                f"stop must be a threading.Event, a callable or None, got {self.stop!r}"
            )
        if self.start is not None:
            if isinstance(self.start, dict):
                self.start = Position.from_dict(self.start)
            elif not isinstance(self.start, Position):
                raise TypeError(
                    f"start must be a Position, its dict form or None, got {self.start!r}"
                )
        if self.json_backend not in ("auto", "orjson", "json"):
            raise ValueError(
                f"json_backend must be 'auto', 'orjson' or 'json', got {self.json_backend!r}"
            )
        backend = JSON_BACKEND if self.json_backend == "auto" else self.json_backend
        if backend == "orjson" and _orjson is None:
            raise ImportError("json_backend='orjson' needs the orjson package: pip install orjson")
        self.backend_ = backend
        self._parse_json, self._json_errors = _make_json_parser(backend)
        if (
            not isinstance(self.delimiter, str)
            or len(self.delimiter) != 1
            or self.delimiter in '\r\n"'
        ):
            raise ValueError(
                "delimiter must be one character other than a quote or newline, got "
                f"{self.delimiter!r}"
            )
        types = {}
        for col, t in (self.csv_types or {}).items():
            if t is bool:
                types[col] = _to_bool
            elif callable(t):
                types[col] = t
            else:
                raise TypeError(f"csv_types[{col!r}] must be a type or callable, got {t!r}")
        self._types = types

    # ---- iteration
    def __iter__(self):
        return self

    def __next__(self):
        if self._closed:
            raise StopIteration
        return next(self._gen)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop reading and close the file (the generator's pending lines are dropped)."""
        self._closed = True
        try:
            self._gen.close()
        except ValueError:  # iterated in another thread right now: use ``stop`` for that
            return
        if self._cursor is not None:
            self._cursor.close()

    def _stopped(self):
        s = self.stop
        if s is None:
            return False
        return s.is_set() if hasattr(s, "is_set") else bool(s())

    def _sleep(self):
        s = self.stop
        if s is not None and hasattr(s, "wait"):
            s.wait(self.poll_interval)
        else:
            time.sleep(self.poll_interval)

    # ---- opening
    def _open_path(self, path):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        st = os.fstat(fd)
        return _Cursor(fd, st.st_ino, st.st_dev, path)

    def _wait_open(self):
        while True:
            try:
                return self._open_path(self._name)
            except FileNotFoundError:
                if not self.follow:
                    raise FileNotFoundError(f"no such file: {self._name!r}") from None
            if self._stopped():
                return None
            self._sleep()

    def _find_by_inode(self, start):
        d = os.path.dirname(os.path.abspath(self._name)) or "."
        try:
            entries = list(os.scandir(d))
        except OSError:
            return None
        for e in entries:
            try:
                st = e.stat(follow_symlinks=False)
            except OSError:
                continue
            if (
                st.st_ino == start.inode
                and st.st_dev == start.device
                and e.is_file(follow_symlinks=False)
            ):
                try:
                    cur = self._open_path(e.path)
                except OSError:
                    return None
                if _head_matches(cur.fd, start.head):
                    return cur
                cur.close()
                return None
        return None

    def _seek(self, cur, pos):
        os.lseek(cur.fd, pos.offset, os.SEEK_SET)
        cur.offset = pos.offset
        cur.line = pos.line
        if self.fmt == "csv" and pos.offset > 0:
            head = os.pread(cur.fd, self.max_line_bytes + 1, 0).split(b"\n", 1)[0]
            self._set_header(cur, head)

    # ---- the main loop
    def _run(self):
        try:
            yield from self._run_inner()
        finally:
            if self._cursor is not None:
                self._cursor.close()

    def _run_inner(self):
        notes = []
        if self._stdin:
            yield from self._run_stdin(notes)
            return
        start = self.start
        cur = self._wait_open()
        if cur is None:
            return
        self._cursor = cur
        if start is not None:
            same = start.inode is None or (start.inode == cur.inode and start.device == cur.device)
            if start.offset is None:
                notes.append(
                    "resume position has no byte offset (stdin?): reading the file from its start"
                )
            elif same and os.fstat(cur.fd).st_size < start.offset:
                notes.append(
                    f"{self._name}: shorter ({os.fstat(cur.fd).st_size} bytes) than the resume "
                    f"offset {start.offset}: truncated, reading it from its start"
                )
                self.stats["truncations"] += 1
            elif same and not _head_matches(cur.fd, start.head):
                notes.append(
                    f"{self._name}: its first bytes differ from the checkpoint's (truncated and "
                    "rewritten, or a new file given the old inode): reading it from its start"
                )
                self.stats["truncations"] += 1
            elif same:
                self._seek(cur, start)
            else:
                old = self._find_by_inode(start)
                if old is not None and os.fstat(old.fd).st_size >= start.offset:
                    notes.append(
                        f"{self._name} was rotated since the checkpoint: finishing {old.name} "
                        f"from offset {start.offset}, then {self._name} from its start"
                    )
                    self.stats["rotations"] += 1
                    self._seek(old, start)
                    self._cursor = old
                    yield from self._drain(old, notes, final=True)
                    old.close()
                    self._cursor = cur
                else:
                    if old is not None:
                        old.close()
                    notes.append(
                        f"{self._name} was rotated since the checkpoint and the old file was "
                        f"not found beside it: reading {self._name} from its start"
                    )
                    self.stats["rotations"] += 1
        while True:
            yield from self._drain(cur, notes, final=not self.follow)
            if not self.follow or self._stopped():
                return
            # at the end of the data: rotated or truncated?
            try:
                st = os.stat(self._name)
            except FileNotFoundError:
                st = None
            size = os.fstat(cur.fd).st_size
            consumed = cur.offset + len(cur.buf) + cur.skipped
            if size < consumed:
                notes.append(
                    f"{self._name} was truncated ({size} bytes < {consumed} read): "
                    "reading from its start"
                )
                self.stats["truncations"] += 1
                os.lseek(cur.fd, 0, os.SEEK_SET)
                cur.offset = cur.line = 0
                cur.buf = b""
                cur.header = cur.header_error = None
                cur.head = None
                cur.skipping = False
                cur.skipped = 0
                continue
            if st is not None and (st.st_ino, st.st_dev) != (cur.inode, cur.device):
                yield from self._drain(cur, notes, final=True)  # what was written before the switch
                try:
                    new = self._open_path(self._name)
                except FileNotFoundError:
                    new = None
                if new is not None:
                    notes.append(
                        f"{self._name} was rotated: finished the old file at line {cur.line}, "
                        "reading the new one from its start"
                    )
                    self.stats["rotations"] += 1
                    cur.close()
                    cur = self._cursor = new
                    continue
            self._sleep()
            if self._stopped():
                yield from self._drain(cur, notes, final=False)
                return

    def _drain(self, cur, notes, final):
        """Read ``cur`` to the end of its data, yielding full batches, then the rest.

        ``final``: the file will not grow (no follow, or rotated away): its last line without
        a newline is parsed.
        """
        pend = _Pending()
        while True:
            chunk = os.read(cur.fd, _CHUNK)
            if not chunk:
                break
            self.stats["bytes"] += len(chunk)
            self._feed(cur, chunk, pend)
            while len(pend.records) >= self.batch_size:
                yield self._cut(cur, pend, notes, self.batch_size)
                notes = self._reset_notes(notes)
            if self._stopped():
                break
        if final and (cur.buf or cur.skipping):
            self._feed(cur, b"\n", pend, phantom=True)
        while len(pend.records) >= self.batch_size:
            yield self._cut(cur, pend, notes, self.batch_size)
            notes = self._reset_notes(notes)
        if pend.records or pend.problems or notes:
            yield self._cut(cur, pend, notes, len(pend.records))
            notes = self._reset_notes(notes)
        elif (
            self.position is None
            or self.position.offset != cur.offset
            or self.position.line != cur.line
        ):
            # only blank lines since the last batch: move the resume position on silently
            self.position = self._pos(cur, cur.offset, cur.line)

    @staticmethod
    def _reset_notes(notes):
        notes.clear()
        return notes

    def _pos(self, cur, offset, line):
        if self._stdin:
            return Position(None, line)
        return Position(offset, line, cur.inode, cur.device, _head(cur))

    def _cut(self, cur, pend, notes, n):
        recs, lines, offs, probs = pend.records, pend.lines, pend.offsets, pend.problems
        if n == len(recs):
            end = self._pos(cur, cur.offset, cur.line)
            b_probs, pend.problems = probs, []
            b_recs, b_lines, b_offs = recs, lines, offs
            pend.records, pend.lines, pend.offsets = [], [], []
        else:
            last = lines[n - 1]
            end = self._pos(cur, offs[n - 1], last)
            if probs:
                b_probs = [p for p in probs if p.line < last]
                pend.problems = [p for p in probs if p.line > last]
            else:
                b_probs = []
            b_recs, b_lines, b_offs = recs[:n], lines[:n], offs[:n]
            pend.records, pend.lines, pend.offsets = recs[n:], lines[n:], offs[n:]
        self.position = end
        self.stats["records"] += len(b_recs)
        self.stats["problems"] += len(b_probs)
        return Batch(
            b_recs, b_lines, None if self._stdin else b_offs, b_probs, list(notes), end, self._name
        )

    # ---- splitting and parsing
    def _feed(self, cur, chunk, pend, phantom=False):
        """Split ``cur.buf + chunk`` into lines and parse the complete ones into ``pend``.

        ``cur.offset`` is always the offset after the last complete line. ``phantom``:
        ``chunk`` is a synthetic newline ending the file's last line (it adds no byte).
        """
        maxlen = self.max_line_bytes
        if cur.skipping:
            nl = chunk.find(b"\n")
            if len(cur.skip_head) < _RAW_KEEP:
                cur.skip_head += chunk[: (nl if nl >= 0 else len(chunk))][
                    : _RAW_KEEP - len(cur.skip_head)
                ]
            if nl < 0:
                cur.skipped += len(chunk)
                return
            cur.offset += cur.skipped + nl + (0 if phantom else 1)
            cur.line += 1
            self.stats["lines"] += 1
            self._problem(cur, pend, cur.skip_head, f"line longer than max_line_bytes={maxlen}")
            cur.skipping = False
            cur.skipped = 0
            chunk = chunk[nl + 1 :]
        data = cur.buf + chunk if cur.buf else chunk
        parts = data.split(b"\n")
        rest = parts.pop()
        if len(rest) > maxlen:  # an over-long line still open: drop its bytes, keep its head
            cur.skipping = True
            cur.skip_head = rest[:_RAW_KEEP]
            cur.skipped = len(rest)
            cur.buf = b""
        else:
            cur.buf = rest
        if parts:
            self.stats["lines"] += len(parts)
            if phantom:  # parts is [the last line]: it ends at offset + len, with no newline
                cur.offset -= 1
            if self.fmt == "jsonl":
                self._parse_jsonl(cur, parts, pend)
            else:
                self._parse_csv(cur, parts, pend)

    def _problem(self, cur, pend, raw, error):
        text = raw[: _RAW_KEEP * 4].decode("utf-8", errors="backslashreplace").rstrip("\r")
        pos = self._pos(cur, cur.offset, cur.line)
        pend.problems.append(Problem(cur.line, text, error, pos, self._name))

    def _parse_jsonl(self, cur, parts, pend):
        parse, errors = self._parse_json, self._json_errors
        recs, lines, offs = pend.records, pend.lines, pend.offsets
        off, line = cur.offset, cur.line
        maxlen = self.max_line_bytes
        for raw in parts:
            off += len(raw) + 1
            line += 1
            try:
                obj = parse(raw)
            except errors as e:
                if raw.strip():
                    cur.offset, cur.line = off, line
                    self._problem(cur, pend, raw, f"bad JSON: {e}")
                continue
            if type(obj) is dict:
                if len(raw) > maxlen:
                    cur.offset, cur.line = off, line
                    self._problem(
                        cur, pend, raw[:_RAW_KEEP], f"line longer than max_line_bytes={maxlen}"
                    )
                    continue
                recs.append(obj)
                lines.append(line)
                offs.append(off)
            else:
                cur.offset, cur.line = off, line
                self._problem(cur, pend, raw, f"not a JSON object: got {type(obj).__name__}")
        cur.offset, cur.line = off, line

    def _set_header(self, cur, raw):
        cur.header = None
        cur.header_error = None
        try:
            text = raw.decode("utf-8").rstrip("\r")
            if text.startswith("\ufeff"):
                text = text[1:]
            cells = next(csv.reader([text], delimiter=self.delimiter, strict=True))
        except (UnicodeDecodeError, csv.Error, StopIteration) as e:
            cur.header_error = f"bad CSV header: {e}"
            return
        names = [c.strip() for c in cells]
        dup = sorted({c for c in names if names.count(c) > 1})
        if not text.strip() or "" in names or dup:
            what = f"duplicate column names {dup}" if dup else "an empty column name"
            cur.header_error = f"bad CSV header: {what} in {names}"
            return
        cur.header = names

    def _parse_csv(self, cur, parts, pend):
        recs, lines, offs = pend.records, pend.lines, pend.offsets
        delim, types, conv = self.delimiter, self._types, _convert_cell
        off, line = cur.offset, cur.line
        maxlen = self.max_line_bytes
        for raw in parts:
            off += len(raw) + 1
            line += 1
            if cur.header is None and cur.header_error is None:
                if not raw.strip():
                    continue
                self._set_header(cur, raw)
                if cur.header_error:
                    cur.offset, cur.line = off, line
                    self._problem(cur, pend, raw, cur.header_error)
                continue
            if not raw.strip():
                continue
            cur.offset, cur.line = off, line
            if cur.header_error:
                self._problem(cur, pend, raw, "no usable CSV header (see the file's first line)")
                continue
            if len(raw) > maxlen:
                self._problem(
                    cur, pend, raw[:_RAW_KEEP], f"line longer than max_line_bytes={maxlen}"
                )
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                self._problem(cur, pend, raw, f"bad UTF-8: {e}")
                continue
            if text.endswith("\r"):
                text = text[:-1]
            if '"' in text:
                try:
                    cells = next(csv.reader([text], delimiter=delim, strict=True))
                except csv.Error as e:
                    self._problem(cur, pend, raw, f"bad CSV row: {e}")
                    continue
            else:
                cells = text.split(delim)
            header = cur.header
            if len(cells) != len(header):
                self._problem(cur, pend, raw, f"expected {len(header)} cells, got {len(cells)}")
                continue
            if types:
                rec = {}
                bad = None
                for h, c in zip(header, cells):
                    t = types.get(h)
                    if t is None:
                        rec[h] = conv(c)
                    elif c == "":
                        rec[h] = None
                    else:
                        try:
                            rec[h] = t(c)
                        except (TypeError, ValueError) as e:
                            bad = f"column {h!r}: cannot convert {c!r} ({e})"
                            break
                if bad:
                    self._problem(cur, pend, raw, bad)
                    continue
            else:
                rec = {h: conv(c) for h, c in zip(header, cells)}
            recs.append(rec)
            lines.append(line)
            offs.append(off)
        cur.offset, cur.line = off, line

    # ---- stdin
    def _run_stdin(self, notes):
        stream = self.stdin if self.stdin is not None else sys.stdin.buffer
        fd = None
        try:
            fd = stream.fileno()
        except (AttributeError, OSError, ValueError):
            fd = None
        cur = _Cursor(fd, None, None, "-", own=False, fileobj=stream)
        self._cursor = cur
        skip = self.start.line if self.start is not None else 0
        if skip:
            notes.append(f"resuming stdin after line {skip}: skipping {skip} lines")
        pend = _Pending()
        while True:
            chunk = self._read_stdin(cur)
            if chunk is None:  # stopped while waiting
                break
            if not chunk:
                if cur.buf or cur.skipping:
                    self._feed_stdin(cur, b"\n", pend, skip, phantom=True)
                break
            self.stats["bytes"] += len(chunk)
            skip = self._feed_stdin(cur, chunk, pend, skip)
            while len(pend.records) >= self.batch_size:
                yield self._cut(cur, pend, notes, self.batch_size)
                notes = self._reset_notes(notes)
            if pend.records or pend.problems:
                # a pipe delivers what it has: do not hold records back waiting for a full batch
                if not self._more_ready(cur):
                    yield self._cut(cur, pend, notes, len(pend.records))
                    notes = self._reset_notes(notes)
            if self._stopped():
                break
        while len(pend.records) >= self.batch_size:
            yield self._cut(cur, pend, notes, self.batch_size)
            notes = self._reset_notes(notes)
        if pend.records or pend.problems or notes:
            yield self._cut(cur, pend, notes, len(pend.records))

    def _feed_stdin(self, cur, chunk, pend, skip, phantom=False):
        if skip:
            data = cur.buf + chunk
            parts = data.split(b"\n", skip)
            n_done = len(parts) - 1
            if n_done < skip:  # not enough lines yet
                cur.buf = b"" if len(parts[-1]) > self.max_line_bytes else parts[-1]
                cur.line += n_done
                return skip - n_done
            cur.line += skip
            cur.buf = b""
            chunk = parts[-1]
            if phantom and not chunk:
                return 0
            skip = 0
        self._feed(cur, chunk, pend, phantom)
        return skip

    def _more_ready(self, cur):
        if cur.fd is None:
            return False
        try:
            r, _, _ = select.select([cur.fd], [], [], 0)
        except (OSError, ValueError):
            return False
        return bool(r)

    def _read_stdin(self, cur):
        """Next chunk of stdin (``b""`` at its end, ``None`` if stopped while waiting)."""
        if cur.fd is None:
            f = cur.fileobj
            return f.read1(_CHUNK) if hasattr(f, "read1") else f.read(_CHUNK)
        while True:
            try:
                r, _, _ = select.select([cur.fd], [], [], self.poll_interval)
            except (OSError, ValueError):
                r = [cur.fd]  # not selectable: read and block
            if r:
                return os.read(cur.fd, _CHUNK)
            if self._stopped():
                return None


@dataclass
class _Pending:
    records: list = field(default_factory=list)
    lines: list = field(default_factory=list)
    offsets: list = field(default_factory=list)
    problems: list = field(default_factory=list)


def open_source(
    path,
    fmt="jsonl",
    *,
    follow=False,
    start=None,
    poll_interval=0.2,
    stop=None,
    batch_size=1000,
    max_line_bytes=1 << 20,
    csv_types=None,
    delimiter=",",
    json_backend="auto",
    stdin=None,
):
    """Open telemetry input as an iterator of :class:`Batch` es (see the module docstring).

    Parameters
    ----------
    path
        A file (a str or path-like), or ``"-"`` for stdin.
    fmt
        ``"jsonl"`` (JSON lines: one object per line) or ``"csv"`` (CSV with a header row).
    follow
        Keep reading as the file grows and survive rotation, like ``tail -F`` (for stdin the source
        always reads to its end, so ``follow`` changes nothing). A missing file is waited for.
    start
        Resume position from a previous run: a :class:`Position` (``batch.end`` or
        ``source.position``), its :meth:`~Position.to_dict` form, or ``None`` to start at the
        beginning.
    poll_interval
        Seconds between looks at a file that has no new data (and between checks of ``stop`` while
        stdin is idle).
    stop
        A :class:`threading.Event` or a callable returning true: ends the iteration once set /
        true, after the lines already read are yielded (``None``: never).
    batch_size
        Most records per batch. Without ``follow`` batches are full but the last; when following, or
        on a pipe, a batch is yielded as soon as the data read so far is exhausted, so records are
        not held back.
    max_line_bytes
        Longer lines are reported as problems (their first 1,000 bytes kept) and skipped without
        being held in memory.
    csv_types
        ``{column: type or callable}`` overriding the CSV cell conversion (``bool`` accepts
        true/false/1/0/yes/no/t/f/y/n; an empty cell stays ``None``); a cell that fails to convert
        makes its row a problem.
    delimiter
        CSV delimiter.
    json_backend
        ``"orjson"``, ``"json"`` or ``"auto"`` (:data:`JSON_BACKEND`: orjson when installed).
    stdin
        The binary file object ``"-"`` reads (``None``: ``sys.stdin.buffer``).

    Returns
    -------
    Source
        Iterate it for batches; ``source.position`` is the resume position after the last
        batch; ``close()`` (or ``with``) releases the file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "agents.jsonl")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write('{"agent": "a", "ts": 1.0, "latency_ms": 120}\\n'
    ...                  'oops\\n'
    ...                  '{"agent": "b", "ts": 2.5, "latency_ms": 80}\\n')
    >>> with open_source(path) as src:
    ...     batches = list(src)
    >>> b = batches[0]
    >>> [r["agent"] for r in b.records], b.lines, b.offsets
    (['a', 'b'], [1, 3], [45, 94])
    >>> b.problems[0].line, b.problems[0].raw
    (2, 'oops')
    >>> b.end.offset, b.end.line
    (94, 3)
    """
    return Source(
        path,
        fmt,
        follow=follow,
        start=start,
        poll_interval=poll_interval,
        stop=stop,
        batch_size=batch_size,
        max_line_bytes=max_line_bytes,
        csv_types=csv_types,
        delimiter=delimiter,
        json_backend=json_backend,
        stdin=stdin,
    )
