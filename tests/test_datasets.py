"""Tests for sead.datasets: lookup, checksums, the 15 task loaders and the stream protocol.

Tests taking the ``data_dir`` fixture (``tests/conftest.py``) need the shared benchmark data
(``$SEAD_DATA`` or ``../shared/datasets``); they are skipped when it is absent, and fail when
the ``CI`` environment variable is set.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sead.datasets as sd
from sead.datasets import _files
from sead.datasets.nab import corpus_files

N_CORPUS = len(corpus_files())  # manifest entries of the NAB corpus (sead.datasets.nab)

REPO_ROOT = Path(__file__).resolve().parents[1]
CHECK_SCRIPT = REPO_ROOT / "datasets" / "check.py"

# benchmark.md's table: rows, dims, anomaly % (as printed, with its rounding tolerance)
ODDS_TABLE = {
    "shuttle": (49_097, 9, 7.15, 0.006),
    "smtp": (95_156, 3, 0.03, 0.006),
    "http": (567_498, 3, 0.39, 0.006),
    "cover": (286_048, 10, 0.96, 0.006),
    "mammography": (11_183, 6, 2.32, 0.006),
    "satellite": (6_435, 36, 31.6, 0.06),
    "satimage-2": (5_803, 36, 1.22, 0.006),
    "cardio": (1_831, 21, 9.61, 0.006),
    "thyroid": (3_772, 6, 2.47, 0.006),
    "annthyroid": (7_200, 6, 7.42, 0.006),
    "pendigits": (6_870, 16, 2.27, 0.006),
}
# NAB: raw file rows from benchmark.md; the stream has rows - 9 shingles of 10 values
NAB_TABLE = {
    "nab-cpu-asg": ("cpu_utilization_asg_misconfiguration", 18_050),
    "nab-nyc-taxi": ("nyc_taxi", 10_320),
    "nab-machine-temp": ("machine_temperature_system_failure", 22_695),
}
ELECTRICITY_ROWS = 45_312


@lru_cache(maxsize=1)
def _shared_dir() -> Path | None:
    return sd.find_data_dir()


@lru_cache(maxsize=None)
def _raw(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each task loaded once per test session (tests must not modify the arrays)."""
    X, y = sd.TASKS[name].loader(data_dir=_shared_dir())
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


@pytest.fixture
def fresh_cache():
    _files.clear_checksum_cache()
    yield
    _files.clear_checksum_cache()


# --------------------------------------------------------------------------- registry


def test_registry_names_and_kinds():
    expected = [
        "shuttle", "smtp", "http", "cover", "mammography", "satellite", "satimage-2", "cardio",
        "thyroid", "annthyroid", "pendigits", "electricity", "nab-cpu-asg", "nab-nyc-taxi",
        "nab-machine-temp",
    ]  # fmt: skip
    assert list(sd.BENCHMARK_TASKS) == expected
    assert set(sd.TASKS) == set(expected) | {"river-shuttle"}
    assert not sd.TASKS["river-shuttle"].in_benchmark
    man = sd.manifest()
    for name, info in sd.TASKS.items():
        assert info.name == name
        assert callable(info.loader)
        assert info.description
        assert all(f in man for f in info.files)
        assert info.time_ordered == (name == "electricity" or name.startswith("nab-"))
        assert info.stream_kind == ("time-ordered" if info.time_ordered else "shuffled-chunks")
    used = {f for info in sd.TASKS.values() for f in info.files}
    # every manifest entry is used: by a task, or by the NAB corpus loader
    assert used | set(corpus_files()) == set(man)
    assert not used & set(corpus_files())


def test_unknown_task():
    with pytest.raises(KeyError, match="unknown task"):
        sd.load_task("no-such-task")


def test_manifest_entries_complete():
    man = sd.manifest()
    assert len(man) == 16 + N_CORPUS
    for rel, e in man.items():
        assert e.path == rel and "\\" not in rel
        assert len(e.sha256) == 64 and int(e.sha256, 16) >= 0
        assert e.size > 0
        assert e.url.startswith("https://github.com/")
        assert e.citation and e.license
    assert (
        "ADBench" in man["odds/shuttle.npz"].url and "32_shuttle.npz" in man["odds/shuttle.npz"].url
    )
    assert "ea702d7" in man["nab/combined_windows.json"].url


def test_manifest_matches_shared_sha256sums(data_dir):
    sums_file = data_dir / "SHA256SUMS"
    if not sums_file.is_file():
        pytest.skip(f"no SHA256SUMS in {data_dir}")
    sums = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, rel = line.split()
            sums[rel] = digest
    man = sd.manifest()
    # the NAB corpus has its own SHA256SUMS inside its folder
    corpus_sums = {}
    for line in (data_dir / "nab/corpus/SHA256SUMS").read_text().splitlines():
        if line.strip():
            digest, rel = line.split()
            corpus_sums[f"nab/corpus/{rel}"] = digest
    tasks = {rel: e.sha256 for rel, e in man.items() if not rel.startswith("nab/corpus/")}
    assert sums == tasks
    assert {
        rel: e.sha256 for rel, e in man.items() if rel.startswith("nab/corpus/")
    }.items() <= corpus_sums.items()
    for rel, e in man.items():
        assert (data_dir / rel).stat().st_size == e.size


# --------------------------------------------------------------------------- lookup and checksums


def test_checksums_verified(data_dir, fresh_cache, monkeypatch):
    calls = []
    real = _files.sha256_file
    monkeypatch.setattr(
        _files, "sha256_file", lambda p, *a, **k: calls.append(p) or real(p, *a, **k)
    )
    for rel in sd.manifest():
        assert sd.data_path(rel, data_dir) == data_dir / rel
    assert len(calls) == 16 + N_CORPUS
    # cached per (path, size, mtime): no rehash
    for rel in sd.manifest():
        sd.data_path(rel, data_dir)
    sd.load_thyroid(data_dir)
    assert len(calls) == 16 + N_CORPUS


def test_corrupted_copy_raises(data_dir, tmp_path, fresh_cache):
    rel = "odds/thyroid.npz"
    data = bytearray((data_dir / rel).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "odds").mkdir()
    (tmp_path / rel).write_bytes(bytes(data))
    expected = sd.manifest()[rel].sha256
    actual = sd.sha256_file(tmp_path / rel)
    with pytest.raises(sd.DatasetChecksumError) as exc:
        sd.load_thyroid(data_dir=tmp_path)
    msg = str(exc.value)
    assert rel in msg and expected in msg and actual in msg
    assert str(tmp_path) in msg
    with pytest.raises(sd.DatasetChecksumError):
        sd.load_task("thyroid", data_dir=tmp_path)


def test_file_changed_after_verification_is_rechecked(data_dir, tmp_path, fresh_cache):
    rel = "nab/combined_windows.json"
    (tmp_path / "nab").mkdir()
    target = tmp_path / rel
    shutil.copyfile(data_dir / rel, target)
    assert sd.data_path(rel, tmp_path) == target
    text = target.read_text().replace("2014", "2015", 1)  # same size, different bytes
    target.write_text(text)
    st = target.stat()
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    with pytest.raises(sd.DatasetChecksumError, match="combined_windows.json"):
        sd.data_path(rel, tmp_path)


def test_missing_file_message(tmp_path):
    rel = "odds/cardio.npz"
    entry = sd.manifest()[rel]
    with pytest.raises(sd.DatasetNotFoundError) as exc:
        sd.load_cardio(data_dir=tmp_path)
    assert isinstance(exc.value, FileNotFoundError)
    msg = str(exc.value)
    assert entry.url in msg
    assert entry.sha256 in msg
    assert rel in msg
    assert str(tmp_path / "odds" / "cardio.npz") in msg
    assert "SEAD_DATA" in msg


def test_missing_file_lists_every_default_place(tmp_path, monkeypatch):
    monkeypatch.delenv("SEAD_DATA", raising=False)
    work = tmp_path / "elsewhere" / "cwd"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    dirs = sd.candidate_dirs()
    assert dirs[0] == (REPO_ROOT / ".." / "shared" / "datasets").resolve()
    assert dirs[-1] == (tmp_path / "elsewhere" / "shared" / "datasets").resolve()
    # a file the manifest knows, looked for where none of the default places has it
    monkeypatch.setattr(_files, "_REPO_ROOT", tmp_path / "repo")
    with pytest.raises(sd.DatasetNotFoundError) as exc:
        sd.data_path("odds/shuttle.npz")
    msg = str(exc.value)
    for d in sd.candidate_dirs():
        assert str(d / "odds" / "shuttle.npz") in msg


def test_sead_data_env_is_honoured(data_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("SEAD_DATA", str(tmp_path))
    assert sd.candidate_dirs() == [tmp_path]
    with pytest.raises(sd.DatasetNotFoundError, match=r"\$SEAD_DATA"):
        sd.load_thyroid()
    (tmp_path / "odds").mkdir()
    shutil.copyfile(data_dir / "odds/thyroid.npz", tmp_path / "odds/thyroid.npz")
    X, y = sd.load_thyroid()
    X0, y0 = _raw("thyroid")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    # an explicit data_dir wins over $SEAD_DATA
    assert sd.candidate_dirs(data_dir) == [data_dir]
    assert sd.available_tasks() == ["thyroid"]


def test_available_tasks(data_dir, tmp_path):
    assert sd.available_tasks(data_dir) == list(sd.BENCHMARK_TASKS)
    assert sd.available_tasks(tmp_path) == []
    assert sd.available_tasks(tmp_path, include_fallback=True) == ["river-shuttle"]
    assert sd.find_data_dir(tmp_path) is None


def test_tests_without_data_skip_outside_ci_and_fail_in_ci(tmp_path, dataset):
    """The fixtures of tests/conftest.py (``data_dir``, ``dataset``) on an empty data directory:
    the tests skip, saying where to put the data; with ``CI`` set they fail."""
    X, y = dataset("thyroid")  # the fixture itself, with the data: the loader's arrays
    X0, y0 = _raw("thyroid")
    np.testing.assert_array_equal(X, X0)
    np.testing.assert_array_equal(y, y0)
    X[0, 0] += 1.0  # a copy: the next test gets the file's values
    assert dataset("thyroid")[0][0, 0] == X0[0, 0]
    Xs, ys = dataset("thyroid", seed=1, n=100)
    np.testing.assert_array_equal(Xs, sd.load_task("thyroid", seed=1)[0][:100])
    targets = [
        f"{REPO_ROOT / 'tests' / 'test_datasets.py'}::test_available_tasks",
        f"{REPO_ROOT / 'tests' / 'test_rules.py'}::test_accuracy_not_below_pysad_on_shuttle",
    ]
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SEAD_DATA"] = str(tmp_path)
    cmd = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *targets]
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "2 skipped" in out.stdout and "SEAD_DATA" in out.stdout, out.stdout[-3000:]
    assert "../shared/datasets beside the checkout" in out.stdout, out.stdout[-3000:]
    out = subprocess.run(
        cmd, cwd=REPO_ROOT, env={**env, "CI": "1"}, capture_output=True, text=True, timeout=300
    )
    # the data_dir fixture fails in its setup (an error), the dataset loader in the test (a failure)
    assert out.returncode == 1 and "1 failed, 1 error" in out.stdout, out.stdout[-3000:]
    assert out.stdout.count("CI is set: missing test data is an error") >= 2, out.stdout[-3000:]


# --------------------------------------------------------------------------- tasks


def _check_arrays(X, y):
    assert X.dtype == np.float64 and X.ndim == 2 and X.flags.c_contiguous
    assert y.dtype in (np.int8, np.int64) and y.ndim == 1 and y.shape[0] == X.shape[0]
    assert set(np.unique(y).tolist()) <= {0, 1}
    assert np.isfinite(X).all()


@pytest.mark.parametrize("name", list(ODDS_TABLE))
def test_odds_shapes_and_rates(data_dir, name):
    rows, dims, pct, tol = ODDS_TABLE[name]
    X, y = _raw(name)
    _check_arrays(X, y)
    assert X.shape == (rows, dims)
    assert abs(100 * y.mean() - pct) <= tol, (name, 100 * y.mean())


def test_electricity(data_dir):
    X, y = _raw("electricity")
    _check_arrays(X, y)
    raw = pd.read_csv(data_dir / "usp/electricity.csv")
    assert len(raw) == ELECTRICITY_ROWS
    features = [c for c in raw.columns if c != "class"]
    assert X.shape[1] == len(features) == 8
    assert abs(100 * y.mean() - 2.0) <= 0.5
    down = raw["class"] == "DOWN"
    # every DOWN row kept, in order, as the normal class
    np.testing.assert_array_equal(X[y == 0], raw.loc[down, features].to_numpy(float))
    # kept UP rows are an ordered subset of the file's UP rows
    up_rows = raw.loc[~down, features].to_numpy(float)
    pos = [int(np.flatnonzero((up_rows == row).all(axis=1))[0]) for row in X[y == 1][:50]]
    assert pos == sorted(pos)
    # same subsample on every call (fixed seed 0)
    X2, y2 = sd.load_electricity(data_dir)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(X, X2)


@pytest.mark.parametrize("name", list(NAB_TABLE))
def test_nab(data_dir, name):
    stem, rows = NAB_TABLE[name]
    X, y = _raw(name)
    _check_arrays(X, y)
    w = sd.NAB_WINDOW
    assert X.shape == (rows - (w - 1), w)
    assert 0 < y.mean() < 0.5
    raw = pd.read_csv(data_dir / f"nab/{stem}.csv")
    assert len(raw) == rows
    values = raw["value"].to_numpy(float)
    np.testing.assert_array_equal(X[0], values[:w])
    np.testing.assert_array_equal(X[:, -1], values[w - 1 :])
    np.testing.assert_array_equal(X[1:, :-1], X[:-1, 1:])
    # labels: timestamp inside (inclusive) any window of the file
    windows = json.loads((data_dir / "nab/combined_windows.json").read_text())[
        f"realKnownCause/{stem}.csv"
    ]
    ts = pd.to_datetime(raw["timestamp"])
    expected = np.zeros(len(raw), dtype=int)
    for start, end in windows:
        expected |= ((ts >= pd.Timestamp(start)) & (ts <= pd.Timestamp(end))).to_numpy()
        # the window's own end points are labelled
        assert expected[(ts == pd.Timestamp(start)).to_numpy()].all()
    np.testing.assert_array_equal(y, expected[w - 1 :])


def test_river_shuttle_needs_no_data(tmp_path, monkeypatch):
    monkeypatch.setenv("SEAD_DATA", str(tmp_path))
    X, y = sd.load_river_shuttle()
    _check_arrays(X, y)
    assert X.shape == (49_097, 9)
    assert int(y.sum()) == 3_511
    Xs, ys = sd.load_task("river-shuttle", seed=1)
    assert Xs.shape == X.shape and int(ys.sum()) == 3_511
    if _shared_dir() is not None:
        X0, y0 = _raw("shuttle")
        np.testing.assert_array_equal(X, X0)
        np.testing.assert_array_equal(y, y0)


# --------------------------------------------------------------------------- protocol


def _chunk_starts(order_idx: np.ndarray, chunk: int) -> list[int]:
    return [int(order_idx[i]) for i in range(0, len(order_idx), chunk)]


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=0, max_value=400),
    chunk=st.integers(min_value=1, max_value=60),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_shuffle_chunks_properties(n, chunk, seed):
    X = np.arange(2 * n, dtype=float).reshape(n, 2)
    y = np.arange(n)
    Xs, ys = sd.shuffle_chunks(X, y, chunk_size=chunk, seed=seed)
    assert Xs.shape == X.shape and ys.shape == y.shape and Xs.flags.c_contiguous
    # a permutation, rows travel with their labels
    assert sorted(ys.tolist()) == list(range(n))
    np.testing.assert_array_equal(Xs[:, 0], 2 * ys)
    # cut where the original chunk index changes: every piece is one whole chunk, contiguous
    if n:
        chunk_id = ys // chunk
        breaks = np.flatnonzero(np.diff(chunk_id) != 0) + 1
        pieces = np.split(ys, breaks)
        assert len(pieces) == -(-n // chunk)
        for piece in pieces:
            assert piece[0] % chunk == 0
            np.testing.assert_array_equal(piece, np.arange(piece[0], min(piece[0] + chunk, n)))
    # seeded
    Xs2, ys2 = sd.shuffle_chunks(X, y, chunk_size=chunk, seed=seed)
    np.testing.assert_array_equal(ys, ys2)


def test_shuffle_chunks_seed_and_partial_chunk():
    n, chunk = 1_234, 50
    y = np.arange(n)
    X = y[:, None].astype(float)
    _, a = sd.shuffle_chunks(X, y, chunk, 0)
    _, b = sd.shuffle_chunks(X, y, chunk, 1)
    assert not np.array_equal(a, b)
    order = np.random.default_rng(0).permutation(25)
    np.testing.assert_array_equal(_chunk_starts(a, chunk)[:3], (order * chunk)[:3])
    # the 34-row tail chunk is kept whole
    tail_at = int(np.flatnonzero(a == 1_200)[0])
    np.testing.assert_array_equal(a[tail_at : tail_at + 34], np.arange(1_200, n))
    with pytest.raises(ValueError):
        sd.shuffle_chunks(X, y, 0, 0)
    with pytest.raises(ValueError):
        sd.shuffle_chunks(X, y[:-1], 50, 0)


def test_load_task_odds_is_shuffled_chunks(data_dir):
    X, y = _raw("cardio")
    for seed in (0, 3):
        Xs, ys = sd.load_task("cardio", seed=seed, data_dir=data_dir)
        Xe, ye = sd.shuffle_chunks(X, y, 50, seed)
        np.testing.assert_array_equal(Xs, Xe)
        np.testing.assert_array_equal(ys, ye)
    Xa, _ = sd.load_task("cardio", seed=0, data_dir=data_dir)
    Xb, _ = sd.load_task("cardio", seed=1, data_dir=data_dir)
    assert not np.array_equal(Xa, Xb)
    Xc, _ = sd.load_task("cardio", seed=0, chunk_size=10, data_dir=data_dir)
    np.testing.assert_array_equal(Xc, sd.shuffle_chunks(X, y, 10, 0)[0])
    # cardio keeps its anomalies at the end of the file; the stream spreads them out
    _, ys = sd.load_task("cardio", seed=0, data_dir=data_dir)
    assert ys[: len(ys) // 2].sum() > 0


@pytest.mark.parametrize("name", ["electricity", "nab-cpu-asg", "nab-nyc-taxi", "nab-machine-temp"])
def test_time_ordered_tasks_ignore_seed(data_dir, name):
    X, y = _raw(name)
    for seed in (0, 7):
        Xs, ys = sd.load_task(name, seed=seed, chunk_size=3, data_dir=data_dir)
        np.testing.assert_array_equal(Xs, X)
        np.testing.assert_array_equal(ys, y)


# --------------------------------------------------------------------------- check script


def test_check_script_ok(data_dir):
    out = subprocess.run(
        [sys.executable, str(CHECK_SCRIPT), str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("ok ")]
    assert len(lines) == 16 + N_CORPUS


def test_check_script_missing_and_bad(data_dir, tmp_path):
    (tmp_path / "odds").mkdir()
    (tmp_path / "odds/cardio.npz").write_bytes(b"not the file")
    shutil.copyfile(data_dir / "odds/thyroid.npz", tmp_path / "odds/thyroid.npz")
    out = subprocess.run(
        [sys.executable, str(CHECK_SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 1
    status = {}
    for ln in out.stdout.splitlines():
        for word in ("ok", "missing", "bad checksum"):
            if ln.startswith(word + " "):
                status[ln[len(word) :].split()[0]] = word
    assert status["odds/thyroid.npz"] == "ok"
    assert status["odds/cardio.npz"] == "bad checksum"
    assert status["odds/http.npz"] == "missing"
    assert len(status) == 16 + N_CORPUS
