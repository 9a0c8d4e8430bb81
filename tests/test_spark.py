"""sead.spark: keyed SEAD on Spark Structured Streaming, its state in Spark's state store.

The first tests need no Spark: :class:`sead.spark.BucketScorer` (the work on one bucket in one
micro-batch) against one process, its state bytes, ``ttl``, and moving a ``sead watch``
Monitor's state into buckets. The others run real streaming queries in ``local[2]`` on
127.0.0.1 over folders of JSON-lines files: a query over 1,000 keys with files arriving while
it runs gives every row the score of one SEAD per key in one process; a query whose process is
killed with ``kill -9`` and restarted from its checkpoint loses no row, repeats none, and gives
the scores of an uninterrupted run. Without Java or pyspark they skip saying how to install
them; with ``CI`` set they fail instead.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sead import SEAD
from sead.spark import STATE_FORMAT, BucketScorer, _dumps
from sead.telemetry import Monitor
from sead.telemetry.monitor import default_reference

from . import spark_env
from .spark_env import CARRY, FIELDS, KEY, TIME

ROOT = Path(__file__).resolve().parents[1]


def _scorer(**kw) -> BucketScorer:
    params = dict(
        key=KEY,
        time=TIME,
        fields=list(FIELDS),
        pool=spark_env.pool(),
        policy=spark_env.policy(),
        carry=list(CARRY),
        n_buckets=4,
        **spark_env.SEAD_PARAMS,
    )
    params.update(kw)
    return BucketScorer(**params)


def _buckets(keys, n: int) -> np.ndarray:
    # any fixed assignment of keys to buckets will do for the tests without Spark
    return np.array([int(k.split("-")[1]) % n for k in keys])


def _run_buckets(scorer: BucketScorer, df: pd.DataFrame, cuts, states=None, seed=0):
    """Feed ``df`` bucket by bucket in micro-batches cut at ``cuts`` (rows shuffled inside each
    micro-batch, as Spark delivers them); ``(output by id, states)``."""
    rng = np.random.default_rng(seed)
    states = {} if states is None else states
    b = _buckets(df[KEY], scorer.n_buckets)
    outs = []
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        batch = df.iloc[lo:hi]
        for bucket in range(scorer.n_buckets):
            rows = batch[b[lo:hi] == bucket]
            if not len(rows):
                continue
            rows = rows.iloc[rng.permutation(len(rows))]
            out, states[bucket], _ = scorer.process(bucket, rows, states.get(bucket))
            outs.append(out)
    out = pd.concat(outs, ignore_index=True).sort_values("id").reset_index(drop=True)
    return out, states


# ---- without Spark ----------------------------------------------------------------------------


def test_micro_batches_score_as_one_process():
    df = spark_env.records(60, 8, seed=3).sort_values([TIME, KEY]).reset_index(drop=True)
    ref, events = spark_env.reference(df)
    out, _ = _run_buckets(_scorer(), df, [0, 7, 100, 101, 300, len(df)])
    assert out["id"].tolist() == sorted(df["id"])
    np.testing.assert_array_equal(out["score"].to_numpy(), ref.to_numpy())
    got = {int(i): json.loads(e) for i, e in zip(out["id"], out["event"]) if isinstance(e, str)}
    assert got and got.keys() == events.keys()
    for i, e in got.items():
        want = json.loads(_dumps(events[i]))  # as sead watch writes it (NaN as null)
        assert e == want
    # the rows with a missing x were scored with it imputed, and say so
    nan_ids = set(df.loc[df["x"].isna(), "id"])
    flagged = set(out.loc[out["problem"].notna(), "id"])
    assert nan_ids and flagged == nan_ids
    assert out.loc[out["id"].isin(nan_ids), "problem"].str.contains("missing_field").all()


def test_state_bytes_are_versioned_and_checked():
    df = spark_env.records(8, 4)
    scorer = _scorer(n_buckets=1)
    _, state, _ = scorer.process(0, df, None)
    assert state.startswith(b"SEADSPARK\x00")
    with pytest.raises(ValueError, match="bucket 0 was handed to bucket 3"):
        scorer.process(3, df, state)
    with pytest.raises(ValueError, match="written with sead="):
        _scorer(n_buckets=1, warmup=5).process(0, df, state)
    with pytest.raises(ValueError, match="written with n_buckets"):
        _scorer(n_buckets=2).process(0, df, state)
    newer = bytearray(state)
    newer[len(b"SEADSPARK\x00")] = STATE_FORMAT + 1
    with pytest.raises(ValueError, match="newer than this sead reads"):
        scorer.process(0, df, bytes(newer))
    with pytest.raises(ValueError, match="not sead.spark state"):
        scorer.process(0, df, b"something else")
    damaged = bytearray(state)
    damaged[-5] ^= 0xFF
    with pytest.raises(ValueError):
        scorer.process(0, df, bytes(damaged))


def test_a_replayed_micro_batch_gives_the_same_output_and_state():
    df = spark_env.records(30, 4, seed=4).sort_values([TIME, KEY]).reset_index(drop=True)
    first, second = df.iloc[:60], df.iloc[60:]
    scorer = _scorer(n_buckets=1)
    _, s1, _ = scorer.process(0, first, None)
    out, s2, _ = scorer.process(0, second, s1)
    # the same micro-batch again from the same state (Spark's replay after a failure): the
    # same rows, scores, events and state bytes
    again, s2_again, _ = scorer.process(0, second.iloc[::-1], s1)
    assert s2 == s2_again
    np.testing.assert_array_equal(out["score"], again["score"])
    assert out["event"].tolist() == again["event"].tolist()


def test_ttl_forgets_idle_keys_and_sets_the_timer():
    scorer = _scorer(n_buckets=1, ttl=60.0)
    rows = pd.DataFrame(
        {
            KEY: ["svc-1", "svc-2"],
            TIME: [0.0, 100.0],
            "x": [1.0, 2.0],
            "y": [1.0, 2.0],
            "id": [0, 1],
        }
    )
    _, state, timer = scorer.process(0, rows, None)
    assert timer == 160.0  # the last key's last row + ttl
    mon = scorer.loads(state, 0)
    assert sorted(mon.model_.keys_) == ["svc-1", "svc-2"]
    state, timer = scorer.expire(0, state, 120.0)  # svc-1 idle for 120 s > ttl
    assert scorer.loads(state, 0).model_.keys_ == ["svc-2"] and timer == 160.0
    state, timer = scorer.expire(0, state, 161.0)
    assert state is None and timer is None  # nothing left: the bucket's state is removed
    # a key that comes back after its ttl starts afresh: scored as a new key's first row
    back = rows.iloc[[0]].assign(**{TIME: 500.0})
    out, _, _ = scorer.process(0, back, None)
    again, _, _ = scorer.process(0, back, scorer.process(0, rows, None)[1], watermark=500.0)
    assert again["score"].tolist() == out["score"].tolist()


def test_a_sead_watch_monitor_moves_into_buckets():
    df = spark_env.records(40, 8, seed=5).sort_values([TIME, KEY]).reset_index(drop=True)
    half = len(df) // 2
    recs = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in df.to_dict("records")
    ]
    mon = Monitor(
        key=KEY,
        time=TIME,
        fields=FIELDS,
        pool=spark_env.pool(),
        policy=spark_env.policy(),
        **spark_env.SEAD_PARAMS,
    )
    mon.process_many(recs[:half])
    moved = Monitor.from_bytes(mon.to_bytes())  # as read from a sead watch checkpoint
    scorer = _scorer(n_buckets=3)
    keys = moved.model_.keys_
    states = scorer.split(moved, dict(zip(keys, _buckets(keys, 3))))
    assert sorted(states) == [0, 1, 2]
    out, _ = _run_buckets(scorer, df.iloc[half:], [0, 33, len(df) - half], states)
    ref, _ = spark_env.reference(df)  # the same rows through one process without a move
    np.testing.assert_array_equal(out["score"].to_numpy(), ref.loc[out["id"]].to_numpy())
    with pytest.raises(ValueError, match="fields"):
        _scorer(fields=["y", "x"]).split(moved, dict(zip(keys, _buckets(keys, 4))))


def test_bad_settings_are_refused_before_spark():
    with pytest.raises(TypeError, match="fields must be a non-empty list"):
        _scorer(fields="x").check()
    with pytest.raises(ValueError, match="n_buckets"):
        _scorer(n_buckets=0).check()
    with pytest.raises(ValueError, match="ttl"):
        _scorer(ttl=-1).check()
    with pytest.raises(ValueError, match="max_keys= is not supported on Spark"):
        _scorer(max_keys=10).check()
    with pytest.raises(ValueError, match="already an output column"):
        _scorer(carry=["score"]).check()
    with pytest.raises(ValueError, match="warmup"):
        _scorer(warmup=-3).check()
    _scorer().check()


def test_without_pyspark_the_error_says_how_to_install(monkeypatch):
    from sead import spark

    monkeypatch.setitem(sys.modules, "pyspark", None)
    with pytest.raises(ImportError, match=r"pip install 'sead-stream\[spark\]'"):
        spark._spark()


def test_missing_java_fails_under_ci_and_skips_otherwise(monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _require_spark()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="openjdk-17-jre-headless"):
        _require_spark()


# ---- with Spark -------------------------------------------------------------------------------


def _require_spark() -> None:
    why = spark_env.missing()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{why} (CI is set: a missing Spark is an error, not a skip)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    _require_spark()
    session = spark_env.session(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


def _by_step(df: pd.DataFrame, n_keys: int, seed: int = 0) -> list[pd.DataFrame]:
    rng = np.random.default_rng(seed)
    parts = [df.iloc[i : i + n_keys] for i in range(0, len(df), n_keys)]
    return [p.iloc[rng.permutation(len(p))] for p in parts]  # no order inside a file


def _check_against_one_process(out: pd.DataFrame, df: pd.DataFrame) -> None:
    ref, events = spark_env.reference(df)
    assert out["id"].tolist() == sorted(df["id"].tolist())  # no row missing, none twice
    np.testing.assert_allclose(out["score"].to_numpy(), ref.to_numpy(), rtol=0, atol=1e-12)
    got = {int(i): json.loads(e) for i, e in zip(out["id"], out["event"]) if isinstance(e, str)}
    assert got and got.keys() == events.keys()
    for i in list(got)[:50]:
        want = events[i]
        assert (got[i]["event"], got[i]["key"], got[i]["ts"]) == (
            want["event"],
            want["key"],
            want["ts"],
        )
        assert abs(got[i]["score"] - want["score"]) <= 1e-12


@pytest.mark.slow
def test_stream_of_1000_keys_scores_as_one_sead_per_key(spark, tmp_path):
    n_keys, steps = 1000, 4
    df = spark_env.records(n_keys, steps)
    files = _by_step(df, n_keys)
    src = tmp_path / "in"
    for i in range(2):
        spark_env.write_file(src, i, files[i])
    query = spark_env.start(spark, src, tmp_path / "out", tmp_path / "checkpoint")
    query.processAllAvailable()
    for i in range(2, steps):  # new files arrive while the query runs
        spark_env.write_file(src, i, files[i])
        time.sleep(0.5)
    query.processAllAvailable()
    batches = [p for p in query.recentProgress if p["numInputRows"] > 0]
    query.stop()
    assert len(batches) == steps  # one file per micro-batch: state carried across them
    out = spark_env.read_sink(spark, tmp_path / "out")
    _check_against_one_process(out, df)
    # one SEAD per key, fed that key's rows in time order
    for k in [f"svc-{i:05d}" for i in range(0, n_keys, 97)]:
        rows = df[df[KEY] == k].sort_values(TIME)
        alone = SEAD(spark_env.pool(), reference=default_reference(), **spark_env.SEAD_PARAMS)
        want = alone.score_learn_many(rows[list(FIELDS)].to_numpy())
        got = out.set_index("id").loc[rows["id"], "score"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_apply_in_pandas_with_state_resumes_after_a_clean_stop(spark, tmp_path):
    n_keys, steps = 200, 4
    df = spark_env.records(n_keys, steps, seed=1)
    files = _by_step(df, n_keys, seed=1)
    src, out, ckpt = tmp_path / "in", tmp_path / "out", tmp_path / "checkpoint"
    api = "applyInPandasWithState"
    for i in range(2):
        spark_env.write_file(src, i, files[i])
    query = spark_env.start(spark, src, out, ckpt, api=api, files_per_batch=None)
    query.processAllAvailable()
    query.stop()
    for i in range(2, steps):
        spark_env.write_file(src, i, files[i])
    query = spark_env.start(spark, src, out, ckpt, api=api, files_per_batch=None)
    query.processAllAvailable()
    query.stop()
    _check_against_one_process(spark_env.read_sink(spark, out), df)


def _batch_ids(folder: Path) -> list[int]:
    if not folder.is_dir():
        return []
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())


def _driver(src: Path, out: Path, ckpt: Path, *extra: str, log: Path):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-m", "tests.spark_driver", str(src), str(out), str(ckpt), *extra],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=open(log, "w"),  # noqa: SIM115 (closed with the process)
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the JVM dies with it
    )


@pytest.mark.slow
def test_kill_9_and_restart_loses_nothing_and_repeats_nothing(spark, tmp_path):
    n_keys, steps = 400, 6
    df = spark_env.records(n_keys, steps, seed=2)
    src, out, ckpt = tmp_path / "in", tmp_path / "out", tmp_path / "checkpoint"
    for i, part in enumerate(_by_step(df, n_keys, seed=2)):
        spark_env.write_file(src, i, part)
    proc = _driver(src, out, ckpt, log=tmp_path / "first.log")
    killed_at = None
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            done, begun = _batch_ids(ckpt / "commits"), _batch_ids(ckpt / "offsets")
            if len(done) >= 2 and len(begun) > len(done):  # a micro-batch is under way
                killed_at = (len(done), len(begun))
                break
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and its Python workers
        proc.wait(timeout=60)
    assert killed_at is not None, (tmp_path / "first.log").read_text()[-3000:]
    assert proc.returncode == -signal.SIGKILL
    assert killed_at[0] < steps  # killed before the end
    again = _driver(src, out, ckpt, "--until-idle", log=tmp_path / "second.log")
    try:
        assert again.wait(timeout=300) == 0, (tmp_path / "second.log").read_text()[-3000:]
    finally:
        if again.poll() is None:
            os.killpg(again.pid, signal.SIGKILL)
            again.wait()
    assert len(_batch_ids(ckpt / "commits")) == steps
    restarted = spark_env.read_sink(spark, out)
    # the same query without the kill (all files in one micro-batch: how the rows are cut
    # into micro-batches changes no score, since each key's rows are taken in time order)
    query = spark_env.start(
        spark, src, tmp_path / "out2", tmp_path / "checkpoint2", files_per_batch=None
    )
    query.processAllAvailable()
    query.stop()
    uninterrupted = spark_env.read_sink(spark, tmp_path / "out2")
    assert restarted["id"].tolist() == uninterrupted["id"].tolist() == sorted(df["id"].tolist())
    np.testing.assert_array_equal(restarted["score"], uninterrupted["score"])
    assert restarted["event"].tolist() == uninterrupted["event"].tolist()
    _check_against_one_process(restarted, df)
