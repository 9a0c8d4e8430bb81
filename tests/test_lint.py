"""The code stays as it is written: ruff (pycodestyle, pyflakes, import order, numpy's rules,
bugbear; line length 100), ruff's formatter and mypy on the public API pass, as configured in
pyproject.toml.

Both tools are in the ``test`` extra; with ``CI`` set a missing tool fails the run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _tool(name: str) -> list[str]:
    exe = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(
                f"{name} is not installed (it is in the test extra: pip install -e '.[test]')"
            )
        pytest.skip(f"{name} is not installed: pip install -e '.[test]'")
    return [exe]


def _passes(*command: str, timeout: int = 300) -> None:
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_ruff():
    _passes(*_tool("ruff"), "check", "--no-cache", ".")


def test_ruff_format():
    """The Python files are as ``ruff format`` writes them (the code blocks of the docs are
    not checked: they are laid out for reading)."""
    _passes(*_tool("ruff"), "format", "--check", "--no-cache", "--exclude", "*.md", ".")


def test_mypy_on_the_public_api():
    _passes(*_tool("mypy"), "--no-incremental", timeout=600)
