"""Finding and verifying the benchmark data files.

The files themselves never live in the repository. Each one is described in
``manifest.json`` (relative path, SHA-256, size, source URL, citation) and is
looked up in a *data directory*:

1. the ``data_dir`` argument, when given;
2. else the directory named by the ``SEAD_DATA`` environment variable, when set
   and non-empty;
3. else ``<repository root>/../shared/datasets`` (the ``shared/datasets``
   folder next to the checkout) and ``<current directory>/../shared/datasets``,
   in that order.

Only the first rule that applies is used: an explicit ``data_dir`` or
``$SEAD_DATA`` never falls back to the default places, so pointing at a
directory means exactly that directory.

Every file is checked against its SHA-256 before it is read. The result is
remembered in-process per ``(path, size, mtime)``, so loading the same file
again does not rehash it, while a file that changes on disk is checked again.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

__all__ = [
    "DatasetChecksumError",
    "DatasetNotFoundError",
    "FileEntry",
    "candidate_dirs",
    "clear_checksum_cache",
    "data_path",
    "find_data_dir",
    "manifest",
    "sha256_file",
    "verify_file",
]

ENV_VAR = "SEAD_DATA"
_MANIFEST_PATH = Path(__file__).with_name("manifest.json")
# src/sead/datasets/_files.py -> parents: [0] datasets, [1] sead, [2] src, [3] repo root
_REPO_ROOT = Path(__file__).resolve().parents[3]
_DEFAULT_REL = Path("..") / "shared" / "datasets"


class DatasetNotFoundError(FileNotFoundError):
    """A benchmark data file is not in any of the places looked at."""


class DatasetChecksumError(ValueError):
    """A benchmark data file is present but its SHA-256 is not the expected one."""


@dataclass(frozen=True)
class FileEntry:
    """One file of the manifest.

    Attributes
    ----------
    path
        Path relative to the data directory, with ``/`` separators (e.g. ``"odds/shuttle.npz"``).
    sha256
        Expected SHA-256 of the file, lowercase hex.
    size
        Expected size in bytes.
    url
        Where the file can be downloaded from.
    upstream_name
        The file's name (or path) at ``url``'s origin; save it under ``path``.
    citation
        How to cite the data.
    license
        Terms of use.
    """

    path: str
    sha256: str
    size: int
    url: str
    upstream_name: str
    citation: str
    license: str


@lru_cache(maxsize=1)
def manifest() -> dict[str, FileEntry]:
    """Return the manifest as a mapping from relative path to :class:`FileEntry`.

    Returns
    -------
    dict of str to FileEntry
        One entry per data file, in manifest order.

    Examples
    --------
    >>> entry = manifest()["odds/shuttle.npz"]
    >>> len(entry.sha256)
    64
    """
    with open(_MANIFEST_PATH, encoding="utf-8") as fh:
        raw = json.load(fh)
    out: dict[str, FileEntry] = {}
    for item in raw["files"]:
        entry = FileEntry(
            path=item["path"],
            sha256=item["sha256"].lower(),
            size=int(item["size"]),
            url=item["url"],
            upstream_name=item.get("upstream_name", Path(item["path"]).name),
            citation=item.get("citation", ""),
            license=item.get("license", ""),
        )
        out[entry.path] = entry
    return out


def _entry(relpath: str) -> FileEntry:
    try:
        return manifest()[relpath]
    except KeyError:
        raise KeyError(f"{relpath!r} is not a file of the sead data manifest") from None


def candidate_dirs(data_dir: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the directories that would be searched, in order.

    Parameters
    ----------
    data_dir
        Explicit data directory. When given, it is the only candidate.

    Returns
    -------
    list of pathlib.Path
        ``[data_dir]``; else ``[$SEAD_DATA]``; else the ``shared/datasets``
        folder next to the repository root and the one next to the current
        directory (duplicates removed).
    """
    if data_dir is not None:
        return [Path(data_dir).expanduser()]
    env = os.environ.get(ENV_VAR, "")
    if env.strip():
        return [Path(env).expanduser()]
    out: list[Path] = []
    seen: set[str] = set()
    for base in (_REPO_ROOT, Path.cwd()):
        cand = (base / _DEFAULT_REL).resolve()
        key = os.path.normcase(str(cand))
        if key not in seen:
            seen.add(key)
            out.append(cand)
    return out


def _lookup_description(data_dir: str | os.PathLike[str] | None) -> str:
    if data_dir is not None:
        return "the data_dir argument"
    if os.environ.get(ENV_VAR, "").strip():
        return f"${ENV_VAR}"
    return (
        f"the default places (${ENV_VAR} is not set): ../shared/datasets next to "
        "the repository root and next to the current directory"
    )


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """Return the SHA-256 of a file as lowercase hex.

    Parameters
    ----------
    path
        File to hash.
    chunk_size
        Read size. Default 1 MiB.

    Returns
    -------
    str
        64 hex digits.
    """
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_size)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


# (resolved path, size, mtime_ns) -> sha256 hex digest actually computed
_HASH_CACHE: dict[tuple[str, int, int], str] = {}
_HASH_LOCK = threading.Lock()


def _cached_sha256(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    with _HASH_LOCK:
        digest = _HASH_CACHE.get(key)
    if digest is None:
        digest = sha256_file(path)
        with _HASH_LOCK:
            _HASH_CACHE[key] = digest
    return digest


def clear_checksum_cache() -> None:
    """Forget which files were already verified in this process."""
    with _HASH_LOCK:
        _HASH_CACHE.clear()


def verify_file(path: str | os.PathLike[str], relpath: str) -> Path:
    """Check a file against its manifest entry.

    Parameters
    ----------
    path
        The file on disk.
    relpath
        Its manifest key, e.g. ``"odds/shuttle.npz"``.

    Returns
    -------
    pathlib.Path
        ``path``, once verified.

    Raises
    ------
    DatasetChecksumError
        If the SHA-256 differs from the manifest's.
    """
    entry = _entry(relpath)
    p = Path(path)
    actual = _cached_sha256(p)
    if actual != entry.sha256:
        size = p.stat().st_size
        raise DatasetChecksumError(
            f"checksum mismatch for data file {relpath!r} at {p}:\n"
            f"  expected sha256 {entry.sha256} ({entry.size} bytes)\n"
            f"  actual   sha256 {actual} ({size} bytes)\n"
            f"The file is corrupt or a different version. Replace it with the file from "
            f"{entry.url} (upstream name {entry.upstream_name!r})."
        )
    return p


def data_path(
    relpath: str,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    verify: bool = True,
) -> Path:
    """Locate a data file and (by default) verify its checksum.

    Parameters
    ----------
    relpath
        Manifest key of the file, e.g. ``"odds/shuttle.npz"``.
    data_dir
        Explicit data directory; see :func:`candidate_dirs` for the lookup.
    verify
        Check the SHA-256 against the manifest (cached per path, size, mtime).

    Returns
    -------
    pathlib.Path
        Path of the file on disk.

    Raises
    ------
    DatasetNotFoundError
        If no candidate directory has the file. The message lists every place
        looked, the source URL, the expected SHA-256 and where to put the file.
    DatasetChecksumError
        If ``verify`` and the file's SHA-256 differs from the manifest's.
    """
    entry = _entry(relpath)
    dirs = candidate_dirs(data_dir)
    tried: list[Path] = []
    for d in dirs:
        p = d.joinpath(*relpath.split("/"))
        tried.append(p)
        if p.is_file():
            return verify_file(p, relpath) if verify else p
    looked = "\n".join(f"  - {p}" for p in tried)
    raise DatasetNotFoundError(
        f"benchmark data file {relpath!r} not found. Looked in ({_lookup_description(data_dir)}):\n"
        f"{looked}\n"
        f"Download it from {entry.url} (upstream name {entry.upstream_name!r}) and save it as "
        f"<data dir>/{relpath}, with sha256 {entry.sha256} ({entry.size} bytes); "
        f"then pass data_dir=<data dir> or set ${ENV_VAR}=<data dir>."
    )


def find_data_dir(
    data_dir: str | os.PathLike[str] | None = None,
    files: Iterable[str] | None = None,
) -> Path | None:
    """Return the first candidate directory that holds all the given files.

    Only presence is checked here, not checksums (those are checked on load).

    Parameters
    ----------
    data_dir
        Explicit data directory; see :func:`candidate_dirs`.
    files
        iterable of str: manifest keys to require; default every file of the manifest.

    Returns
    -------
    pathlib.Path or None
        The directory, or ``None`` when no candidate has them all.
    """
    wanted = list(manifest() if files is None else files)
    for d in candidate_dirs(data_dir):
        if all(d.joinpath(*f.split("/")).is_file() for f in wanted):
            return d
    return None
