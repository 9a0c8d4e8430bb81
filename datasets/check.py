#!/usr/bin/env python3
"""Verify a benchmark data directory against sead's data manifest.

Usage::

    python datasets/check.py [DIR]

DIR defaults to ``$SEAD_DATA`` when set, else ``../shared/datasets`` next to the
repository root, else ``../shared/datasets`` next to the current directory (the
first of these that exists). Prints one line per manifest file::

    ok            odds/shuttle.npz
    missing       odds/smtp.npz  (get https://... and save it as <DIR>/odds/smtp.npz)
    bad checksum  odds/http.npz  (expected ..., got ...)

and exits with status 0 when every file is ok, 1 otherwise. Uses only the
standard library, so it runs without installing the package.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
MANIFEST = REPO_ROOT / "src" / "sead" / "datasets" / "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_dir() -> Path:
    env = os.environ.get("SEAD_DATA", "").strip()
    if env:
        return Path(env).expanduser()
    candidates = [
        REPO_ROOT / ".." / "shared" / "datasets",
        Path.cwd() / ".." / "shared" / "datasets",
    ]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return candidates[0].resolve()


def check(data_dir: Path, manifest_path: Path = MANIFEST) -> int:
    with open(manifest_path, encoding="utf-8") as fh:
        files = json.load(fh)["files"]
    print(f"checking {data_dir} against {manifest_path}")
    n_bad = 0
    for entry in files:
        rel = entry["path"]
        path = data_dir.joinpath(*rel.split("/"))
        if not path.is_file():
            n_bad += 1
            print(
                f"missing       {rel}  (get {entry['url']} and save it as {path}; sha256 "
                f"{entry['sha256']})"
            )
            continue
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            n_bad += 1
            print(f"bad checksum  {rel}  (expected {entry['sha256']}, got {actual})")
        else:
            print(f"ok            {rel}")
    total = len(files)
    print(f"{total - n_bad}/{total} files ok")
    return 0 if n_bad == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        help="data directory (default: $SEAD_DATA or ../shared/datasets)",
    )
    parser.add_argument(
        "--manifest", type=Path, default=MANIFEST, help="manifest.json to check against"
    )
    args = parser.parse_args(argv)
    data_dir = args.dir.expanduser() if args.dir is not None else default_dir()
    return check(data_dir, args.manifest)


if __name__ == "__main__":
    sys.exit(main())
