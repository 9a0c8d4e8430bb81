"""Crash-safe file writes for checkpoints: the target is always the old or the new content.

:func:`atomic_write_bytes` writes to a temporary file in the target's directory, flushes and
fsyncs it, renames it over the target (``os.replace``, atomic on POSIX) and fsyncs the
directory so that the rename itself survives a power loss. A failure at any point (an
exception, SIGKILL, a full disk) leaves the target as it was; an exception also removes the
temporary file, a kill leaves it behind as ``.<name>.<random>.tmp`` (:func:`remove_stale_temps`
clears those).

:class:`AtomicDir` keeps several files that must change together (a model's state bytes, the
alert policy's state and the input offsets they belong to): each :meth:`AtomicDir.commit`
writes a new generation directory, then switches the pointer file ``CURRENT`` to it with one
atomic write, so a reader sees every file of one generation or every file of the previous one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile

__all__ = [
    "AtomicDir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    "remove_stale_temps",
]

_TMP_SUFFIX = ".tmp"


def _fsync_dir(directory):
    """fsync a directory so that a rename or a new entry in it is durable.

    A no-op where the platform cannot open a directory (Windows).
    """
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # e.g. Windows cannot open a directory
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data, *, fsync=True, mode=None):
    """Replace the file ``path`` by ``data`` atomically: never a half-written target.

    Parameters
    ----------
    path
        str or os.PathLike: the target file; its directory must exist.
    data
        bytes-like: the new content.
    fsync
        Flush the file and the directory to disk (durable across a power loss). ``False`` still
        gives atomicity against a crash of the process, not of the machine.
    mode
        Permission bits of the new file; ``None`` keeps those of an existing target, else ``0o644``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "state.bin"
    >>> atomic_write_bytes(target, b"v1")
    >>> atomic_write_bytes(target, b"v2")
    >>> target.read_bytes()
    b'v2'
    """
    path = os.fspath(path)
    data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    directory, name = os.path.split(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write {path!r}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot write {path!r}: it is a directory")
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=_TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if fsync:
        _fsync_dir(directory)


def atomic_write_text(path, text, *, encoding="utf-8", fsync=True, mode=None):
    """:func:`atomic_write_bytes` of ``text`` encoded with ``encoding`` (no newline translation)."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    atomic_write_bytes(path, text.encode(encoding), fsync=fsync, mode=mode)


def atomic_write_json(path, obj, *, fsync=True, mode=None):
    """:func:`atomic_write_text` of ``obj`` as JSON (strict: NaN and infinity are refused)."""
    atomic_write_text(
        path, json.dumps(obj, allow_nan=False, separators=(",", ":")) + "\n", fsync=fsync, mode=mode
    )


def remove_stale_temps(directory, name=None):
    """Delete temporary files left in ``directory`` by writes that were killed; returns their paths.

    Only files named like this module's temporaries (``.<name>.<random>.tmp``, for the target
    ``name`` if given) are removed. Call it at start-up, not while another process may be
    writing to the same target.
    """
    directory = os.fspath(directory)
    target = re.escape(name) if name is not None else r".+"
    pat = re.compile(r"^\." + target + r"\.[A-Za-z0-9_]+" + re.escape(_TMP_SUFFIX) + "$")
    removed = []
    for entry in os.scandir(directory):
        if entry.is_file(follow_symlinks=False) and pat.match(entry.name):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                removed.append(entry.path)
    return sorted(removed)


_GEN = re.compile(r"^gen-(\d{12})$")


class AtomicDir:
    """A directory of files that are replaced together: readers see one whole generation.

    Layout: ``<path>/gen-000000000007/<files>`` and ``<path>/CURRENT`` (the name of the current
    generation, written with :func:`atomic_write_text`). :meth:`commit` writes a new
    generation (each file fsynced), fsyncs it, switches ``CURRENT``, then deletes all but the
    ``keep`` newest generations. Generations newer than ``CURRENT`` (left by a commit that was
    killed before its switch) are ignored by readers and deleted by the next commit.

    One writer at a time (the next commit deletes other writers' unfinished generations).
    A reader racing the writer may see a generation deleted under it (``FileNotFoundError``)
    only if ``keep`` commits happen during its read: retry then.

    Parameters
    ----------
    path
        str or os.PathLike: the checkpoint directory (created if missing).
    keep
        Generations to keep (>= 1); older ones are deleted after a commit.
    fsync
        Passed to the writes (``False`` for tests or scratch use).

    Examples
    --------
    >>> import tempfile
    >>> ckpt = AtomicDir(tempfile.mkdtemp())
    >>> ckpt.read() is None                         # nothing committed yet
    True
    >>> ckpt.commit({"model.bin": b"\\x00\\x01", "offsets.json": b'{"offset": 120}'})
    1
    >>> sorted(ckpt.read())
    ['model.bin', 'offsets.json']
    >>> ckpt.read_file("offsets.json")
    b'{"offset": 120}'
    """

    def __init__(self, path, *, keep=2, fsync=True):
        if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
            raise ValueError(f"keep must be an integer >= 1, got {keep!r}")
        self.path = os.fspath(path)
        self.keep = keep
        self.fsync = fsync
        os.makedirs(self.path, exist_ok=True)

    def _generations(self):
        out = []
        for entry in os.scandir(self.path):
            m = _GEN.match(entry.name)
            if m and entry.is_dir(follow_symlinks=False):
                out.append(int(m.group(1)))
        return sorted(out)

    def current(self):
        """Number of the current generation, or ``None`` before the first commit."""
        try:
            with open(os.path.join(self.path, "CURRENT"), encoding="utf-8") as fh:
                name = fh.read().strip()
        except FileNotFoundError:
            return None
        m = _GEN.match(name)
        if not m or not os.path.isdir(os.path.join(self.path, name)):
            raise ValueError(
                f"checkpoint {self.path!r}: CURRENT names {name!r}, which is not a generation here"
            )
        return int(m.group(1))

    def _gen_dir(self, gen):
        return os.path.join(self.path, f"gen-{gen:012d}")

    def commit(self, files):
        """Write ``files`` (``{name: bytes}``) as the new generation and switch to it.

        Returns the number of the new generation.
        """
        if not isinstance(files, dict) or not files:
            raise ValueError("files must be a non-empty dict {name: bytes}")
        for name, data in files.items():
            if (
                not isinstance(name, str)
                or not name
                or name in (".", "..")
                or "/" in name
                or os.sep in name
            ):
                raise ValueError(f"file name must be a plain file name, got {name!r}")
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"file {name!r}: content must be bytes, got {type(data).__name__}")
        cur = self.current() or 0
        for g in self._generations():  # left by a commit killed before its switch
            if g > cur:
                shutil.rmtree(self._gen_dir(g), ignore_errors=True)
        new = cur + 1
        tmpdir = tempfile.mkdtemp(dir=self.path, prefix=".gen-", suffix=_TMP_SUFFIX)
        try:
            for name, data in files.items():
                with open(os.path.join(tmpdir, name), "wb") as fh:
                    fh.write(data)
                    fh.flush()
                    if self.fsync:
                        os.fsync(fh.fileno())
            if self.fsync:
                _fsync_dir(tmpdir)
            os.rename(tmpdir, self._gen_dir(new))
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        if self.fsync:
            _fsync_dir(self.path)
        atomic_write_text(os.path.join(self.path, "CURRENT"), f"gen-{new:012d}\n", fsync=self.fsync)
        for g in self._generations():
            if g <= new - self.keep:
                shutil.rmtree(self._gen_dir(g), ignore_errors=True)
        for entry in os.scandir(self.path):
            if entry.name.startswith(".gen-") and entry.name.endswith(_TMP_SUFFIX):
                shutil.rmtree(entry.path, ignore_errors=True)
        return new

    def read(self):
        """``{name: bytes}`` of the current generation, or ``None`` before the first commit."""
        gen = self.current()
        if gen is None:
            return None
        d = self._gen_dir(gen)
        out = {}
        for entry in sorted(os.scandir(d), key=lambda e: e.name):
            with open(entry.path, "rb") as fh:
                out[entry.name] = fh.read()
        return out

    def read_file(self, name, default=None):
        """One file of the current generation.

        ``default`` if there is no generation yet or the current one lacks ``name``.
        """
        gen = self.current()
        if gen is None:
            return default
        try:
            with open(os.path.join(self._gen_dir(gen), name), "rb") as fh:
                return fh.read()
        except FileNotFoundError:
            return default
