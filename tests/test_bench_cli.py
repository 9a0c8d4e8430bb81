"""sead-bench's command line: every bad argument is a clear error before anything runs.

Usage errors exit with status 2 (argparse's), errors of the environment (data missing for
named tasks, an output directory that cannot be written) with status 1. Nothing here runs a
benchmark: ``run_benchmark`` is replaced by a function that fails the test if it is reached.
"""

from __future__ import annotations

import pytest

from sead.bench import cli


@pytest.fixture
def no_run(monkeypatch):
    """Fail the test if the benchmark would start."""

    def fail(*a, **k):
        raise AssertionError("the benchmark started although the arguments are bad")

    monkeypatch.setattr(cli, "run_benchmark", fail)


def _exit(argv, capsys) -> tuple[int, str]:
    """Run ``main(argv)``; return its exit status and stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


BASE = ["--tasks", "river-shuttle", "--pool", "default"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--seeds", "1,-2"], "--seeds values must be >= 0, got -2"),
        (["--seeds", "0,0"], "--seeds lists 0 more than once"),
        (["--seeds", "0"], "--seeds must be >= 1"),
        (["--seeds", ","], "--seeds is an empty list"),
        (["--seeds", "1,x"], "--seeds list must hold integers"),
        (["--jobs", "0"], "--jobs must be >= 1"),
        (["--methods", ","], "--methods is an empty list"),
        (["--random-counts", "13,0"], "--random-counts values must be >= 1"),
        (["--random-counts", "13,13"], "--random-counts lists 13 more than once"),
        (["--pp-curve", "2,99"], "--pp-curve 99 is more than the pool's 13 detectors"),
        (["--seeds", "3", "--confirm-seeds", "7"], "--confirm-seeds 7 is not one of the seeds run"),
        (["--seeds", "2", "--confirm-seeds", "0,1"], "at least one seed for the selection group"),
    ],
)
def test_bad_numbers_are_usage_errors(argv, message, capsys, no_run, tmp_path):
    code, err = _exit(BASE + ["--out", str(tmp_path / "o")] + argv, capsys)
    assert code == 2
    assert message in err and "usage: sead-bench" in err
    assert "Traceback" not in err


def test_empty_and_unknown_task_lists(capsys, no_run, tmp_path):
    code, err = _exit(["--tasks", ",", "--out", str(tmp_path)], capsys)
    assert code == 2 and "--tasks is an empty list" in err
    code, err = _exit(["--tasks", "cardio,nope", "--out", str(tmp_path)], capsys)
    assert code == 2 and "unknown task 'nope'" in err
    for valid in (
        "all",
        "quick",
        "cardio",
        "nab-nyc-taxi",
        "river-shuttle",
    ):  # the valid names are listed
        assert valid in err


def test_missing_data_for_named_tasks_fails_naming_them(capsys, no_run, tmp_path):
    code, err = _exit(
        [
            "--data",
            str(tmp_path / "nonexistent"),
            "--tasks",
            "cardio,thyroid",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 1
    assert "cardio, thyroid" in err and "odds/cardio.npz" in err and "odds/thyroid.npz" in err
    assert "no such directory" in err and "river-shuttle" not in err.split("get the files")[-1]
    assert not (tmp_path / "o").exists()  # nothing ran, nothing was written


def test_missing_data_without_named_tasks_falls_back_and_says_so(capsys, monkeypatch, tmp_path):
    ran = []
    monkeypatch.setattr(
        cli,
        "run_benchmark",
        lambda tasks, *a, **k: (
            ran.append([t.name for t in tasks]) or {"config": {"elapsed_seconds": 0.0}}
        ),
    )
    monkeypatch.setattr(cli, "_summary", lambda results: "")
    code, err = _exit(
        [
            "--data",
            str(tmp_path / "nonexistent"),
            "--pool",
            "default",
            "--out",
            str(tmp_path / "o"),
        ],
        capsys,
    )
    assert code == 0 and ran == [["river-shuttle"]]
    assert "none of the quick suite's tasks has its data; running 'river-shuttle'" in err


@pytest.mark.parametrize("make_out", ["file", "under_a_file"])
def test_unwritable_out_is_an_error_before_running(make_out, capsys, no_run, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    out = blocker if make_out == "file" else blocker / "sub"
    code, err = _exit(BASE + ["--out", str(out)], capsys)
    assert code == 1 and f"--out {out}" in err
    assert "Traceback" not in err


def test_version(capsys):
    from sead import __version__

    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and f"sead {__version__}" in capsys.readouterr().out


def test_experiment_options_resolve(tmp_path):
    parse = cli.build_parser().parse_args
    p = cli.plan(parse(BASE + ["--seeds", "5"]))
    assert p.random_counts == [13, 26, 52] and p.pp_curve is None and p.confirm_seeds is None
    p = cli.plan(
        parse(
            BASE + ["--random-counts", "none", "--pp-curve", "--seeds", "4", "--confirm-seeds", "3"]
        )
    )
    assert p.random_counts == [] and p.pp_curve == "default" and p.confirm_seeds == [3]
    assert cli.default_pp_curve(13) == [2, 4, 6, 9, 13]
    assert cli._resolve_pp_curve("default", 19) == [3, 6, 9, 13, 19]
    assert cli._resolve_pp_curve("3,1", 5) == [3, 1]


def test_the_plan_reaches_the_config(monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_run(tasks, config, out_dir, **kw):
        seen.update(config=config, extra=kw["extra_config"])
        raise SystemExit(0)

    monkeypatch.setattr(cli, "run_benchmark", fake_run)
    with pytest.raises(SystemExit):
        cli.main(
            BASE
            + [
                "--seeds",
                "0,2,4,6",
                "--random-counts",
                "5",
                "--pp-curve",
                "1,13",
                "--confirm-seeds",
                "6",
                "--out",
                str(tmp_path / "o"),
            ]
        )
    c = seen["config"]
    assert (list(c.seeds), list(c.random_counts), list(c.pp_curve), list(c.confirm_seeds)) == (
        [0, 2, 4, 6],
        [5],
        [1, 13],
        [6],
    )
    assert "progress bar counts rows of benchmark work" in capsys.readouterr().err
