"""Tests for sead._atomic: atomic file replacement and multi-file checkpoint generations."""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from sead import _atomic
from sead._atomic import (
    AtomicDir,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    remove_stale_temps,
)


def _temps(d):
    return [p for p in os.listdir(d) if p.endswith(".tmp")]


def test_write_and_overwrite(tmp_path):
    target = tmp_path / "x.bin"
    atomic_write_bytes(target, b"one")
    assert target.read_bytes() == b"one"
    atomic_write_bytes(target, bytearray(b"two!"))
    assert target.read_bytes() == b"two!"
    atomic_write_bytes(target, memoryview(b"three"), fsync=False)
    assert target.read_bytes() == b"three"
    atomic_write_bytes(target, b"")
    assert target.read_bytes() == b""
    assert _temps(tmp_path) == []


def test_text_and_json(tmp_path):
    atomic_write_text(tmp_path / "t.txt", "héllo\r\n")
    assert (tmp_path / "t.txt").read_bytes() == "héllo\r\n".encode()
    atomic_write_json(tmp_path / "s.json", {"offset": 3, "inode": 12})
    assert (tmp_path / "s.json").read_text() == '{"offset":3,"inode":12}\n'
    with pytest.raises(ValueError, match="not JSON compliant"):
        atomic_write_json(tmp_path / "s.json", {"x": float("nan")})
    assert (tmp_path / "s.json").read_text() == '{"offset":3,"inode":12}\n'
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        atomic_write_text(tmp_path / "t.txt", b"x")


def test_mode_kept_or_given(tmp_path):
    target = tmp_path / "m"
    atomic_write_bytes(target, b"a")
    assert os.stat(target).st_mode & 0o777 == 0o644
    os.chmod(target, 0o600)
    atomic_write_bytes(target, b"b")
    assert os.stat(target).st_mode & 0o777 == 0o600
    atomic_write_bytes(target, b"c", mode=0o640)
    assert os.stat(target).st_mode & 0o777 == 0o640


def test_bad_targets(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "x", b"a")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic_write_bytes(tmp_path, b"a")


class _HalfWriter:
    """A file that writes half of what it is given, then fails as a full disk would."""

    def __init__(self, fh):
        self.fh = fh

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def fileno(self):
        return self.fh.fileno()

    def flush(self):
        self.fh.flush()

    def write(self, data):
        self.fh.write(bytes(data[: len(data) // 2]))
        self.fh.flush()
        raise OSError(errno.ENOSPC, "No space left on device")


def test_failure_mid_write_keeps_old_content(tmp_path, monkeypatch):
    target = tmp_path / "state"
    atomic_write_bytes(target, b"old complete content")
    real_fdopen = os.fdopen
    monkeypatch.setattr(_atomic.os, "fdopen", lambda fd, mode: _HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(OSError, match="No space left"):
        atomic_write_bytes(target, b"new content that never lands")
    assert target.read_bytes() == b"old complete content"
    assert _temps(tmp_path) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failure_at_fsync_or_rename_keeps_old_content(tmp_path, monkeypatch, step):
    target = tmp_path / "state"
    atomic_write_bytes(target, b"old")

    def boom(*a, **k):
        raise OSError(errno.EIO, f"{step} failed")

    monkeypatch.setattr(_atomic.os, step, boom)
    with pytest.raises(OSError, match=f"{step} failed"):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert _temps(tmp_path) == []


def test_keyboard_interrupt_mid_write_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "state"
    atomic_write_bytes(target, b"old")

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(_atomic.os, "chmod", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"new")
    monkeypatch.undo()
    assert target.read_bytes() == b"old" and _temps(tmp_path) == []


_WRITER = textwrap.dedent(
    """
    import sys
    from sead._atomic import atomic_write_bytes
    path, size, i = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    while True:
        i += 1
        c = b"ab"[i % 2:i % 2 + 1]
        atomic_write_bytes(path, b"%08d:" % i + c * size)
    """
)


def _valid(content, size):
    head, _, body = content.partition(b":")
    return (
        len(head) == 8
        and head.isdigit()
        and len(body) == size
        and body in (b"a" * size, b"b" * size)
    )


def _kill_loop(tmp_path, script, args, check, tag, rounds=25):
    """Run ``script`` ``rounds`` times, SIGKILL it at a random moment while it is rewriting
    (once ``tag()`` shows its own writes), then ``check()`` what it left."""
    rng = random.Random(0)
    path = tmp_path / "script.py"
    path.write_text(script)
    for r in range(1, rounds + 1):
        # each run numbers its writes from r * 10**6, so a content tells which run wrote it
        proc = subprocess.Popen([sys.executable, str(path), *args, str(r * 10**6)])
        deadline = time.monotonic() + 60
        while int(tag()) < r * 10**6 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        assert proc.poll() is None, "the writer died by itself"
        time.sleep(rng.random() * 0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        check()


@pytest.mark.slow
def test_sigkill_during_rewrites_never_leaves_a_torn_file(tmp_path):
    target = tmp_path / "ckpt.bin"
    size = 1 << 20
    atomic_write_bytes(target, b"%08d:" % 0 + b"a" * size)
    seen = set()

    def check():
        content = target.read_bytes()
        assert _valid(content, size), content[:40]
        seen.add(content[:8])

    _kill_loop(tmp_path, _WRITER, [str(target), str(size)], check, lambda: target.read_bytes()[:8])
    assert len(seen) == 25
    removed = remove_stale_temps(tmp_path, "ckpt.bin")
    assert all(os.path.basename(p).startswith(".ckpt.bin.") for p in removed)
    assert _temps(tmp_path) == [] and target.exists() and (tmp_path / "script.py").exists()


def test_remove_stale_temps_only_touches_temporaries(tmp_path):
    for name in [".a.bin.x1y2.tmp", ".b.json.zz.tmp", "a.bin", "keep.tmp", ".a.bin"]:
        (tmp_path / name).write_bytes(b"")
    assert [os.path.basename(p) for p in remove_stale_temps(tmp_path, "a.bin")] == [
        ".a.bin.x1y2.tmp"
    ]
    assert [os.path.basename(p) for p in remove_stale_temps(tmp_path)] == [".b.json.zz.tmp"]
    assert sorted(os.listdir(tmp_path)) == [".a.bin", "a.bin", "keep.tmp"]


def test_atomic_dir_generations(tmp_path):
    d = AtomicDir(tmp_path / "ckpt", keep=2)
    assert d.current() is None and d.read() is None and d.read_file("x", b"none") == b"none"
    assert d.commit({"model": b"m1", "offsets.json": b"1"}) == 1
    assert d.commit({"model": b"m2", "offsets.json": b"2"}) == 2
    assert d.commit({"model": b"m3"}) == 3
    assert d.read() == {"model": b"m3"}
    assert d.read_file("offsets.json") is None
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "CURRENT",
        "gen-000000000002",
        "gen-000000000003",
    ]
    # a commit killed before its switch leaves a newer generation that readers ignore
    os.makedirs(tmp_path / "ckpt" / "gen-000000000004")
    (tmp_path / "ckpt" / "gen-000000000004" / "model").write_bytes(b"torn")
    os.makedirs(tmp_path / "ckpt" / ".gen-abc.tmp")
    assert AtomicDir(tmp_path / "ckpt").read() == {"model": b"m3"}
    assert d.commit({"model": b"m4"}) == 4
    assert sorted(os.listdir(tmp_path / "ckpt")) == [
        "CURRENT",
        "gen-000000000003",
        "gen-000000000004",
    ]
    assert d.read() == {"model": b"m4"}


def test_atomic_dir_bad_input(tmp_path):
    with pytest.raises(ValueError, match="keep must be an integer >= 1, got 0"):
        AtomicDir(tmp_path, keep=0)
    d = AtomicDir(tmp_path, fsync=False)
    with pytest.raises(ValueError, match="non-empty dict"):
        d.commit({})
    with pytest.raises(ValueError, match=r"plain file name, got '\.\./x'"):
        d.commit({"../x": b""})
    with pytest.raises(TypeError, match="file 'a': content must be bytes, got str"):
        d.commit({"a": "text"})
    assert d.current() is None
    (tmp_path / "CURRENT").write_text("gen-000000000009\n")
    with pytest.raises(
        ValueError, match="CURRENT names 'gen-000000000009', which is not a generation"
    ):
        d.read()


_DIR_WRITER = textwrap.dedent(
    """
    import sys
    from sead._atomic import AtomicDir
    d = AtomicDir(sys.argv[1], keep=2)
    i = int(sys.argv[2])
    while True:
        i += 1
        tag = b"%08d" % i
        d.commit(
            {
                "model.bin": tag + b"m" * 200_000,
                "offsets.json": tag,
                "policy.json": tag + b"p" * 1000,
            }
        )
    """
)


@pytest.mark.slow
def test_sigkill_during_commits_keeps_files_consistent(tmp_path):
    ckpt = tmp_path / "ckpt"
    AtomicDir(ckpt).commit(
        {"model.bin": b"00000000", "offsets.json": b"00000000", "policy.json": b"00000000"}
    )
    tags = set()

    def check():
        files = AtomicDir(ckpt).read()
        assert sorted(files) == ["model.bin", "offsets.json", "policy.json"]
        tag = files["offsets.json"]
        assert files["model.bin"][:8] == tag and files["policy.json"][:8] == tag
        assert len(files["model.bin"]) in (8, 200_008)
        tags.add(tag)

    def tag():
        try:  # the writer may delete the generation we are reading (keep=2): retry then
            return AtomicDir(ckpt).read_file("offsets.json") or b"0"
        except (OSError, ValueError):
            return b"0"

    _kill_loop(tmp_path, _DIR_WRITER, [str(ckpt)], check, tag, 15)
    assert len(tags) == 15
