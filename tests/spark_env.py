"""What the Spark tests share: the check for Java and pyspark, a local Spark session on
127.0.0.1, the keyed records they stream, the query they run and its single-process reference.

Nothing here imports pyspark at import time (pytest imports this module for its doctests
whether or not pyspark is installed).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

KEY, TIME, FIELDS, CARRY = "agent", "ts", ("x", "y"), ("id",)
SCHEMA = "agent STRING, ts DOUBLE, x DOUBLE, y DOUBLE, id LONG"
N_BUCKETS = 16
_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
INSTALL = (
    "pip install -e '.[spark]' (pyspark, pyarrow) and Java 17 (Debian: apt-get install "
    "openjdk-17-jre-headless)"
)


def missing() -> str | None:
    """What the Spark tests lack (Java, pyspark, pyarrow), in words, or None."""
    lack = []
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and Path(java_home, "bin", "java").exists()):
        lack.append("Java (java on PATH or JAVA_HOME)")
    for mod in ("pyspark", "pyarrow"):
        try:
            __import__(mod)
        except ImportError:
            lack.append(mod)
    if not lack:
        return None
    return f"the Spark tests need {' and '.join(lack)}: {INSTALL}"


def environment(tmp: Path) -> dict:
    """The environment variables a local Spark needs here: the workers run this Python, Spark
    binds to 127.0.0.1 only, and numba's kernel cache is writable."""
    env = {
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOCAL_HOSTNAME": "localhost",
    }
    if not os.environ.get("NUMBA_CACHE_DIR"):
        # numba caches beside the sources when it can write there (an editable install); if
        # it cannot, give the workers a directory of their own
        src = Path(__import__("sead").__file__).parent
        if not os.access(src, os.W_OK):
            env["NUMBA_CACHE_DIR"] = str(tmp / "numba-cache")
    return env


def session(tmp: Path, app: str = "sead-spark-test"):
    """A ``local[2]`` SparkSession on 127.0.0.1 with the RocksDB state store, two shuffle
    partitions and no web UI; its scratch files under ``tmp``."""
    import warnings

    os.environ.update(environment(tmp))
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.streaming.stateStore.providerClass", _ROCKSDB)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(tmp / "warehouse"))
        .config("spark.local.dir", str(tmp / "local"))
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={tmp}")
        .config("spark.sql.streaming.noDataMicroBatches.enabled", "false")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


# ---- the records ----------------------------------------------------------------------------


def records(n_keys: int, steps: int, seed: int = 0) -> pd.DataFrame:
    """``steps`` rows for each of ``n_keys`` keys: two fields at each key's own level, a spike
    in every 50th key at the last step, a missing ``x`` in every 97th key at step 2; ``ts``
    in seconds (distinct per key and step), ``id`` the row's number."""
    rng = np.random.default_rng(seed)
    keys = np.array([f"svc-{k:05d}" for k in range(n_keys)], dtype=object)
    level = rng.lognormal(4, 1, size=(n_keys, 2))
    parts = []
    for s in range(steps):
        X = level * rng.lognormal(0, 0.1, size=(n_keys, 2))
        if s == steps - 1:
            X[::50] *= 6.0
        x = X[:, 0].copy()
        if s == 2:
            x[::97] = np.nan
        parts.append(
            pd.DataFrame(
                {
                    KEY: keys,
                    TIME: 1_700_000_000.0 + 10.0 * s + rng.uniform(0, 5, n_keys),
                    "x": x,
                    "y": X[:, 1],
                }
            )
        )
    df = pd.concat(parts, ignore_index=True)
    df["id"] = np.arange(len(df), dtype=np.int64)
    return df


def write_file(folder: Path, i: int, part: pd.DataFrame) -> Path:
    """Write ``part`` as JSON lines, atomically (a file source must never see half a file)."""
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}-{i:04d}.tmp"
    with open(tmp, "w") as fh:
        for rec in part.to_dict("records"):
            rec = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in rec.items()}
            fh.write(json.dumps(rec) + "\n")
    path = folder / f"part-{i:04d}.json"
    os.replace(tmp, path)
    return path


# ---- the query and its reference --------------------------------------------------------------


def pool():
    """A cheap detector pool (two z-score rules and a small LODA: about 8.5 KB per key)."""
    from sead.detectors import LODA, ZScoreRule

    return [
        ZScoreRule(alpha=0.05),
        ZScoreRule(method="median", window=8),
        LODA(n_bins=8, n_random_cuts=10, seed=1),
    ]


def policy():
    """A policy that alerts within a few rows per key (so that events are compared too)."""
    from sead.telemetry import AlertPolicy

    return AlertPolicy(q=0.5, window=10, warmup=2, confirm=1, of=1, history=4)


SEAD_PARAMS = {"warmup": 2}


def score(df, api: str = "auto", n_buckets: int = N_BUCKETS):
    """The streaming scores of ``df`` (the settings every Spark test uses)."""
    from sead.spark import score_stream

    return score_stream(
        df,
        key=KEY,
        time=TIME,
        fields=list(FIELDS),
        pool=pool(),
        policy=policy(),
        n_buckets=n_buckets,
        carry=list(CARRY),
        api=api,
        **SEAD_PARAMS,
    )


def start(spark, src: Path, out: Path, ckpt: Path, api: str = "auto", files_per_batch=1):
    """Start the query over the files of folder ``src`` (``files_per_batch`` files per
    micro-batch, None: all there are) into a parquet file sink ``out``."""
    reader = spark.readStream.schema(SCHEMA)
    if files_per_batch is not None:
        reader = reader.option("maxFilesPerTrigger", files_per_batch)
    return (
        score(reader.json(str(src)), api=api)
        .writeStream.format("parquet")
        .option("path", str(out))
        .option("checkpointLocation", str(ckpt))
        .outputMode("append")
        .start()
    )


def reference(df: pd.DataFrame):
    """``(scores, events)`` of the same rows in one process: one :class:`sead.telemetry.Monitor`
    over the rows in the order of time, ``scores`` indexed by ``id``, ``events`` ``{id: event}``
    (as JSON-decoded dicts)."""
    from sead import KeyedSEAD
    from sead.telemetry import Monitor
    from sead.telemetry.monitor import default_reference

    rows = df.sort_values([TIME, KEY], kind="stable")
    model = KeyedSEAD(pool(), reference=default_reference(), **SEAD_PARAMS)
    scores = model.score_learn_many(rows[KEY].to_numpy(object), rows[list(FIELDS)].to_numpy())
    mon = Monitor(key=KEY, time=TIME, fields=FIELDS, pool=pool(), policy=policy(), **SEAD_PARAMS)
    recs = [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
        for r in rows[[KEY, TIME, *FIELDS, *CARRY]].to_dict("records")
    ]
    events = {e["record"]["id"]: e for e in mon.process_many(recs)}
    return pd.Series(scores, index=rows["id"].to_numpy()).sort_index(), events


def read_sink(spark, path: Path) -> pd.DataFrame:
    """The rows a file sink committed (Spark reads its ``_spark_metadata`` log, so files of a
    micro-batch that never committed are not read), by ``id``."""
    out = spark.read.parquet(str(path)).toPandas()
    return out.sort_values("id", kind="stable").reset_index(drop=True)
