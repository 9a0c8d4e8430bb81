"""The ``sead`` command.

``--version``, ``python -m sead``, help text, ``sead demo``, ``sead watch`` errors.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from sead import cli


def sead(*args, **kw):
    return subprocess.run(
        [sys.executable, "-m", "sead", *args], capture_output=True, text=True, timeout=120, **kw
    )


def test_version_and_python_dash_m():
    r = sead("--version")
    assert r.returncode == 0 and re.fullmatch(r"sead \S+\n", r.stdout)


@pytest.mark.parametrize("args", [["--help"], ["watch", "--help"], ["demo", "--help"]])
def test_help_is_plain_text_not_rst(args, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(args)
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage: sead" in out
    for rst in ("``", ":class:", ":func:", ":mod:", ":meth:"):
        assert rst not in out
    assert not re.search(r"^\s*\.\. \w+::", out, re.M)  # no RST directives


def test_watch_help_lists_the_options(capsys):
    with pytest.raises(SystemExit):
        cli.main(["watch", "--help"])
    out = capsys.readouterr().out
    for opt in (
        "--follow",
        "--format",
        "--key",
        "--time",
        "--fields",
        "--bucket",
        "--alerts",
        "--dead-letter",
        "--alertmanager",
        "--checkpoint",
        "--checkpoint-every",
        "--checkpoint-interval",
        "--resume",
        "--demo",
        "--q",
        "--confirm",
    ):
        assert opt in out


def test_demo_still_runs(capsys):
    assert cli.main(["demo", "--n", "1000"]) == 0
    out = capsys.readouterr().out
    assert "SEAD++" in out and "rows/s" in out


def test_bad_commands_exit_2():
    assert sead().returncode == 2
    r = sead("demo", "--n", "10")
    assert r.returncode == 2 and "--n must be at least 1000" in r.stderr
    r = sead("watch")
    assert r.returncode == 2 and "--demo" in r.stderr
    r = sead("watch", "--demo", "x.jsonl")
    assert r.returncode == 2
