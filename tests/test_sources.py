"""Tests for sead.telemetry.sources: JSON lines / CSV from files, stdin and growing files."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import zlib

import pytest

from sead.telemetry import sources
from sead.telemetry.sources import JSON_BACKEND, Batch, Position, Problem, open_source

POLL = 0.02


def _line(i, agent="a"):
    return json.dumps({"agent": agent, "ts": float(i), "latency_ms": 100 + i}) + "\n"


def _append(path, text):
    with open(path, "ab") as fh:
        fh.write(text.encode() if isinstance(text, str) else text)
        fh.flush()


def _read_all(path, **kw):
    with open_source(path, **kw) as src:
        return list(src)


def _records(batches):
    return [r for b in batches for r in b.records]


def _problems(batches):
    return [p for b in batches for p in b.problems]


class Follower:
    """Iterates a following source in a thread and hands its batches over through a queue."""

    def __init__(self, path, **kw):
        self.stop = threading.Event()
        self.q = queue.Queue()
        self.error = None
        kw.setdefault("poll_interval", POLL)
        self.src = open_source(path, follow=True, stop=self.stop, **kw)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        try:
            for b in self.src:
                self.q.put(b)
        except BaseException as e:  # surfaced by the test
            self.error = e
        finally:
            self.q.put(None)

    def take(self, n_records, timeout=10.0):
        """Batches until ``n_records`` records have arrived."""
        out, got = [], 0
        deadline = time.monotonic() + timeout
        while got < n_records:
            left = deadline - time.monotonic()
            assert left > 0, f"timed out with {got} of {n_records} records"
            b = self.q.get(timeout=left)
            assert b is not None, f"source ended early: {self.error!r}"
            out.append(b)
            got += len(b)
        return out

    def quiet(self, wait=0.15):
        """Batches that arrive within ``wait`` seconds (expected to be none or only notes)."""
        time.sleep(wait)
        out = []
        while not self.q.empty():
            b = self.q.get()
            if b is not None:
                out.append(b)
        return out

    def close(self):
        self.stop.set()
        self.t.join(timeout=10)
        assert not self.t.is_alive(), "the source did not honour stop"
        rest = []
        while not self.q.empty():
            b = self.q.get()
            if b is not None:
                rest.append(b)
        if self.error:
            raise self.error
        return rest


# ------------------------------------------------------------------- plain files


def test_plain_file_batches_lines_and_offsets(tmp_path):
    path = tmp_path / "a.jsonl"
    text = "".join(_line(i) for i in range(25))
    path.write_text(text)
    batches = _read_all(path, batch_size=10)
    assert [len(b) for b in batches] == [10, 10, 5]
    recs = _records(batches)
    assert [r["ts"] for r in recs] == [float(i) for i in range(25)]
    data = text.encode()
    ends = [i + 1 for i, c in enumerate(data) if c == ord("\n")]
    assert [o for b in batches for o in b.offsets] == ends
    assert [n for b in batches for n in b.lines] == list(range(1, 26))
    head = f"1024:{zlib.crc32(data[:1024]):08x}"
    assert batches[-1].end == Position(
        len(data), 25, os.stat(path).st_ino, os.stat(path).st_dev, head
    )
    assert batches[0].end == batches[0].position(9)
    assert all(isinstance(b, Batch) and b.source == str(path) and not b.problems for b in batches)


def test_no_trailing_newline_crlf_and_blank_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"x": 1}\r\n\r\n\n  \n{"x": 2}\n{"x": 3}')
    (b,) = _read_all(path)
    assert b.records == [{"x": 1}, {"x": 2}, {"x": 3}]
    assert b.lines == [1, 5, 6] and b.offsets[-1] == os.path.getsize(path)
    assert b.problems == [] and b.end.line == 6


def test_empty_file(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"")
    assert _read_all(path) == []
    path.write_bytes(b"\n\n")
    with open_source(path) as src:
        assert list(src) == []
        head = "2:%08x" % zlib.crc32(b"\n\n")
        assert src.position == Position(2, 2, os.stat(path).st_ino, os.stat(path).st_dev, head)


@pytest.mark.parametrize("backend", ["json", "orjson"])
def test_malformed_lines_are_reported_not_raised(tmp_path, backend):
    if backend == "orjson" and sources._orjson is None:
        if os.environ.get("CI"):
            pytest.fail("orjson is not installed (pip install orjson)")
        pytest.skip("orjson is not installed: pip install orjson")
    path = tmp_path / "a.jsonl"
    lines = [
        _line(0),
        "{bad json\n",
        "[1, 2]\n",
        "42\n",
        '"text"\n',
        '{"x": NaN}\n',
        '{"a": 1} trailing\n',
        _line(1),
    ]
    path.write_bytes("".join(lines).encode() + b"\xff\xfe{}\n" + _line(2).encode())
    batches = _read_all(path, json_backend=backend)
    assert [r["ts"] for r in _records(batches)] == [0.0, 1.0, 2.0]
    probs = _problems(batches)
    assert [p.line for p in probs] == [2, 3, 4, 5, 6, 7, 9]
    assert probs[0].raw == "{bad json" and probs[0].error.startswith("bad JSON")
    assert probs[1].error == "not a JSON object: got list"
    assert probs[2].error == "not a JSON object: got int"
    assert probs[3].error == "not a JSON object: got str"
    assert probs[6].raw == "\\xff\\xfe{}"
    # each problem knows where it ends, for a dead-letter file and for counting
    data = path.read_bytes()
    ends = [i + 1 for i, c in enumerate(data) if c == ord("\n")]
    assert [p.position.offset for p in probs] == [ends[n - 1] for n in (2, 3, 4, 5, 6, 7, 9)]
    d = probs[0].to_dict()
    assert d == {
        "source": str(path),
        "line": 2,
        "offset": ends[1],
        "error": probs[0].error,
        "raw": "{bad json",
    }
    json.dumps(d)


def test_backends_agree(tmp_path):
    if sources._orjson is None:
        if os.environ.get("CI"):
            pytest.fail("orjson is not installed (pip install orjson)")
        pytest.skip("orjson is not installed: pip install orjson")
    path = tmp_path / "a.jsonl"
    path.write_text(
        "".join(_line(i, agent=f"ä{i % 3}") for i in range(50)) + ' {"k": [1, {"n": null}]}\n'
    )
    a = _read_all(path, json_backend="json")
    b = _read_all(path, json_backend="orjson")
    assert _records(a) == _records(b) and [x.end for x in a] == [x.end for x in b]


def test_over_long_lines_are_skipped_without_holding_them(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_CHUNK", 64)  # the long line spans many reads
    path = tmp_path / "a.jsonl"
    long = '{"pad": "' + "x" * 5000 + '"}\n'
    path.write_text(_line(0) + long + _line(1) + '{"p": "' + "y" * 300 + '"}\n' + _line(2))
    batches = _read_all(path, max_line_bytes=256)
    assert [r["ts"] for r in _records(batches)] == [0.0, 1.0, 2.0]
    probs = _problems(batches)
    assert [p.line for p in probs] == [2, 4]
    assert all(p.error == "line longer than max_line_bytes=256" for p in probs)
    assert probs[0].raw.startswith('{"pad": "xxx') and len(probs[0].raw) == 1000
    data = path.read_bytes()
    ends = [i + 1 for i, c in enumerate(data) if c == ord("\n")]
    assert [p.position.offset for p in probs] == [ends[1], ends[3]]
    assert [o for b in batches for o in b.offsets] == [ends[0], ends[2], ends[4]]


def test_missing_file_without_follow(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        _read_all(tmp_path / "nope.jsonl")


# ------------------------------------------------------------------- CSV


def test_csv_conversion_quotes_and_bad_rows(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(
        b"\xef\xbb\xbfagent,ts,latency_ms,error,note,id\r\n"
        b"a1,1.5,120,true,,007\r\n"
        b'a2,2e3,-3,FALSE,"hello, world",12\n'
        b"a3,3.0,7\n"
        b'a4,4.0,7,false,"unclosed,1\n'
        b"\n"
        b"a5,.5,0,False,x y,-0\n"
    )
    batches = _read_all(path, fmt="csv")
    recs = _records(batches)
    assert recs[0] == {
        "agent": "a1",
        "ts": 1.5,
        "latency_ms": 120,
        "error": True,
        "note": None,
        "id": "007",
    }
    assert recs[1] == {
        "agent": "a2",
        "ts": 2000.0,
        "latency_ms": -3,
        "error": False,
        "note": "hello, world",
        "id": 12,
    }
    assert recs[2] == {
        "agent": "a5",
        "ts": 0.5,
        "latency_ms": 0,
        "error": False,
        "note": "x y",
        "id": 0,
    }
    assert [n for b in batches for n in b.lines] == [2, 3, 7]
    probs = _problems(batches)
    assert [(p.line, p.error) for p in probs][0] == (4, "expected 6 cells, got 3")
    assert probs[1].line == 5 and probs[1].error.startswith("bad CSV row")


def test_csv_types_delimiter_and_conversion_errors(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("agent;ts;error\n007;1;yes\n008;2;maybe\n009;;0\n")
    batches = _read_all(
        path, fmt="csv", delimiter=";", csv_types={"agent": str, "ts": float, "error": bool}
    )
    assert _records(batches) == [
        {"agent": "007", "ts": 1.0, "error": True},
        {"agent": "009", "ts": None, "error": False},
    ]
    (p,) = _problems(batches)
    assert p.line == 3 and p.error.startswith("column 'error': cannot convert 'maybe'")


def test_csv_bad_header_makes_rows_problems(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("a,b,a\n1,2,3\n")
    probs = _problems(_read_all(path, fmt="csv"))
    assert probs[0].line == 1 and "duplicate column names ['a']" in probs[0].error
    assert probs[1].line == 2 and probs[1].error.startswith("no usable CSV header")


def test_csv_resume_keeps_the_header(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("agent,ts\n" + "".join(f"a,{i}\n" for i in range(10)))
    first = _read_all(path, fmt="csv", batch_size=4)
    again = _read_all(path, fmt="csv", batch_size=4, start=first[0].end)
    assert _records(again) == _records(first)[4:]
    assert again[0].lines[0] == 6


# ------------------------------------------------------------------- resume


def test_resume_from_every_position_reads_the_rest_exactly(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(_line(i) if i % 7 else "garbage\n" for i in range(1, 40)) + "\n")
    full = _read_all(path, batch_size=5)
    recs = _records(full)
    k = 0
    for b in full:
        for i in range(len(b)):
            k += 1
            rest = _read_all(path, start=b.position(i))
            assert _records(rest) == recs[k:]
        rest = _read_all(path, start=b.end.to_dict())  # the JSON form works too
        assert _records(rest) == recs[k:]
    # problems are seen exactly once when checkpointing at batch ends
    seen = []
    start = None
    while True:
        with open_source(path, start=start, batch_size=5) as src:
            b = next(src, None)
        if b is None:
            break
        seen.extend(p.line for p in b.problems)
        start = b.end
    assert seen == [p.line for p in _problems(full)] == [7, 14, 21, 28, 35]


def test_resume_after_appends(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(_line(i) for i in range(10)))
    with open_source(path) as src:
        first = list(src)
        pos = src.position
    _append(path, "".join(_line(i) for i in range(10, 15)))
    more = _read_all(path, start=pos)
    assert [r["ts"] for r in _records(first + more)] == [float(i) for i in range(15)]
    assert more[0].lines == [11, 12, 13, 14, 15]


def test_resume_on_a_truncated_file_restarts(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("".join(_line(i) for i in range(10)))
    pos = _read_all(path)[-1].end
    path.write_text(_line(100))
    (b,) = _read_all(path, start=pos)
    assert [r["ts"] for r in b.records] == [100.0] and "truncated" in b.notes[0]
    # rewritten longer: the first bytes tell
    path.write_text("".join(_line(i) for i in range(30)))
    pos = _read_all(path)[-1].end
    path.write_text("".join(_line(i + 1) for i in range(40)))
    (b,) = _read_all(path, start=pos)
    assert len(b) == 40 and "first bytes differ" in b.notes[0]
    # truncated to a shorter prefix
    path.write_text("".join(_line(i) for i in range(10)))
    pos = _read_all(path)[-1].end
    path.write_text("".join(_line(i) for i in range(9)))
    assert _read_all(path, start=pos)[0].notes[0].endswith("truncated, reading it from its start")


def test_resume_after_rotation_finishes_the_old_file(tmp_path):
    path = tmp_path / "app.jsonl"
    path.write_text("".join(_line(i) for i in range(6)))
    first = _read_all(path, batch_size=4)[0]  # 4 of the 6 lines handled
    _append(path, _line(6))
    os.rename(path, tmp_path / "app.jsonl.1")
    path.write_text(_line(100) + _line(101))
    rest = _read_all(path, start=first.end)
    assert [r["ts"] for r in _records(rest)] == [4.0, 5.0, 6.0, 100.0, 101.0]
    assert "finishing" in rest[0].notes[0] and rest[0].source == str(path)
    assert rest[-1].lines == [1, 2] and rest[-1].end.inode == os.stat(path).st_ino


def test_resume_after_rotation_with_the_old_file_gone(tmp_path):
    path = tmp_path / "app.jsonl"
    path.write_text("".join(_line(i) for i in range(6)))
    pos = _read_all(path)[-1].end
    os.unlink(path)
    path.write_text(_line(100))
    (b,) = _read_all(path, start=pos)
    assert [r["ts"] for r in b.records] == [100.0]
    # the file system may have given the new file the old inode: either way, from the start
    assert any(w in b.notes[0] for w in ("not found", "first bytes differ", "truncated"))


def test_position_round_trip_and_checks():
    p = Position(10, 2, 5, 7, "10:0a0b0c0d")
    assert Position.from_dict(json.loads(json.dumps(p.to_dict()))) == p
    with pytest.raises(ValueError, match="position field 'head' must be like"):
        Position.from_dict({"line": 1, "head": "zz"})
    assert Position.from_dict({"line": 3}) == Position(None, 3)
    with pytest.raises(
        ValueError, match="position field 'offset' must be a non-negative integer, got -1"
    ):
        Position.from_dict({"offset": -1, "line": 0})
    with pytest.raises(ValueError, match="at least 'line'"):
        Position.from_dict({"offset": 1})


# ------------------------------------------------------------------- follow


def test_follow_picks_up_appends_and_holds_partial_lines(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(_line(0))
    f = Follower(path)
    try:
        assert [r["ts"] for r in _records(f.take(1))] == [0.0]
        half = _line(1)
        _append(path, half[:10])
        assert _records(f.quiet()) == []  # a partial line waits for its newline
        _append(path, half[10:] + _line(2))
        got = f.take(2)
        assert [r["ts"] for r in _records(got)] == [1.0, 2.0]
        assert _problems(got) == []
        assert got[-1].end.offset == os.path.getsize(path) and got[-1].end.line == 3
    finally:
        f.close()


def test_follow_with_a_writer_thread(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("")
    n = 300

    def writer():
        with open(path, "ab", buffering=0) as fh:
            for i in range(n):
                line = _line(i).encode()
                if i % 10 == 3:  # a line split over two writes
                    fh.write(line[:7])
                    time.sleep(0.003)
                    fh.write(line[7:])
                else:
                    fh.write(line)
                if i % 25 == 0:
                    time.sleep(0.01)

    f = Follower(path, batch_size=64)
    t = threading.Thread(target=writer)
    t.start()
    try:
        got = f.take(n)
        t.join()
    finally:
        rest = f.close()
    assert [r["ts"] for r in _records(got + rest)] == [float(i) for i in range(n)]
    assert _problems(got + rest) == []
    assert all(len(b) <= 64 for b in got)


def test_follow_waits_for_the_file_to_appear(tmp_path):
    path = tmp_path / "late.jsonl"
    f = Follower(path)
    try:
        time.sleep(0.1)
        path.write_text(_line(0))
        assert [r["ts"] for r in _records(f.take(1))] == [0.0]
    finally:
        f.close()


def test_follow_survives_rename_and_recreate(tmp_path):
    path = tmp_path / "app.jsonl"
    path.write_text(_line(0) + _line(1))
    f = Follower(path)
    try:
        assert len(_records(f.take(2))) == 2
        old_ino = os.stat(path).st_ino
        _append(path, _line(2) + _line(3)[:12])  # the old file ends with a partial line
        os.rename(path, tmp_path / "app.jsonl.1")
        _append(tmp_path / "app.jsonl.1", _line(3)[12:-1])  # finished, but without a newline
        time.sleep(0.1)  # path missing: the old file is still followed
        path.write_text(_line(10) + _line(11))
        got = f.take(4)
        recs = _records(got)
        assert [r["ts"] for r in recs] == [2.0, 3.0, 10.0, 11.0]
        assert any("rotated" in n for b in got for n in b.notes)
        new = [b for b in got if b.end.inode != old_ino]
        assert new[-1].lines[-1] == 2 and new[-1].end.inode == os.stat(path).st_ino
        _append(path, _line(12))
        assert [r["ts"] for r in _records(f.take(1))] == [12.0]
    finally:
        f.close()
    assert f.src.stats["rotations"] == 1


def test_follow_survives_truncation(tmp_path):
    path = tmp_path / "app.jsonl"
    path.write_text("".join(_line(i) for i in range(20)))
    f = Follower(path)
    try:
        assert len(_records(f.take(20))) == 20
        with open(path, "r+b") as fh:  # copytruncate
            fh.truncate(0)
        _append(path, _line(100))
        got = f.take(1)
        assert [r["ts"] for r in _records(got)] == [100.0]
        assert any("truncated" in n for b in got for n in b.notes)
        assert got[-1].lines == [1]
    finally:
        f.close()
    assert f.src.stats["truncations"] == 1


def test_stop_ends_a_follow_promptly(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(_line(0))
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 3

    t0 = time.monotonic()
    batches = _read_all(path, follow=True, stop=stop, poll_interval=0.05)
    assert time.monotonic() - t0 < 5
    assert [r["ts"] for r in _records(batches)] == [0.0]


# ------------------------------------------------------------------- stdin


_CHILD = (
    "import json, sys\nfrom sead.telemetry.sources import open_source\nstart = "
    "json.loads(sys.argv[1]) if len(sys.argv) > 1 else None\nfor b in open_source('-', "
    "start=start, batch_size=3):\n    print(json.dumps({'recs': b.records, 'lines': b.lines, "
    "'offsets': b.offsets,\n                      'problems': [p.to_dict() for p in b.problems], "
    "'end': b.end.to_dict()}))\n"
)


def _child_batches(data: str, *args: str) -> list[dict]:
    """The batches (as dicts) that ``_CHILD`` reads from ``data`` on its stdin."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *args],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [json.loads(x) for x in out.splitlines()]


def test_stdin_in_a_subprocess():
    data = "".join(_line(i) for i in range(7)) + "nope\n" + _line(7)
    batches = _child_batches(data)
    assert [r["ts"] for b in batches for r in b["recs"]] == [float(i) for i in range(8)]
    assert [n for b in batches for n in b["lines"]] == [1, 2, 3, 4, 5, 6, 7, 9]
    assert all(b["offsets"] is None for b in batches)
    probs = [p for b in batches for p in b["problems"]]
    assert probs == [
        {"source": "-", "line": 8, "offset": None, "error": probs[0]["error"], "raw": "nope"}
    ]
    assert batches[-1]["end"] == {
        "offset": None,
        "line": 9,
        "inode": None,
        "device": None,
        "head": None,
    }
    # resuming stdin skips the lines already handled
    batches = _child_batches(data, json.dumps({"line": 5}))
    assert [r["ts"] for b in batches for r in b["recs"]] == [5.0, 6.0, 7.0]
    assert batches[0]["lines"][0] == 6


def test_stdin_pipe_yields_records_as_they_arrive():
    r, w = os.pipe()
    stop = threading.Event()
    q = queue.Queue()
    src = open_source("-", stdin=os.fdopen(r, "rb"), stop=stop, poll_interval=POLL, batch_size=100)
    t = threading.Thread(target=lambda: [q.put(b) for b in src] + [q.put(None)], daemon=True)
    t.start()
    try:
        os.write(w, _line(0).encode() + _line(1).encode()[:5])
        b = q.get(timeout=10)  # not held back waiting for 100 records
        assert [x["ts"] for x in b.records] == [0.0]
        os.write(w, _line(1).encode()[5:])
        b = q.get(timeout=10)
        assert [x["ts"] for x in b.records] == [1.0] and b.lines == [2]
        stop.set()  # an idle pipe still honours stop
        assert q.get(timeout=10) is None
    finally:
        os.close(w)
        t.join(timeout=10)


def test_stdin_from_a_file_object_without_fileno():
    import io

    data = (_line(0) + _line(1) + _line(2)).encode()
    batches = _read_all("-", stdin=io.BytesIO(data), start={"line": 1})
    assert [r["ts"] for r in _records(batches)] == [1.0, 2.0]
    assert batches[0].notes and batches[-1].end == Position(None, 3)


# ------------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"fmt": "xml"}, ValueError, "fmt must be 'jsonl' or 'csv', got 'xml'"),
        ({"batch_size": 0}, ValueError, "batch_size must be an integer >= 1, got 0"),
        ({"max_line_bytes": 4}, ValueError, "max_line_bytes must be an integer >= 16, got 4"),
        (
            {"poll_interval": 0},
            ValueError,
            "poll_interval must be a positive number of seconds, got 0",
        ),
        ({"stop": 3}, TypeError, "stop must be a threading.Event, a callable or None, got 3"),
        ({"start": 5}, TypeError, "start must be a Position, its dict form or None, got 5"),
        ({"start": {"line": -2}}, ValueError, "position field 'line'"),
        (
            {"json_backend": "simd"},
            ValueError,
            "json_backend must be 'auto', 'orjson' or 'json', got 'simd'",
        ),
        ({"delimiter": "ab"}, ValueError, "delimiter must be one character"),
        ({"csv_types": {"a": 3}}, TypeError, r"csv_types\['a'\] must be a type or callable, got 3"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        open_source(tmp_path / "x.jsonl", **kwargs)


def test_bad_path_type_and_missing_orjson(monkeypatch):
    with pytest.raises(TypeError, match="path must be a str"):
        open_source(3)
    monkeypatch.setattr(sources, "_orjson", None)
    with pytest.raises(ImportError, match="pip install orjson"):
        open_source("x.jsonl", json_backend="orjson")


def test_json_backend_constant():
    assert JSON_BACKEND in ("orjson", "json")
    assert Problem(1, "x", "e", Position(None, 1)).to_dict()["offset"] is None
