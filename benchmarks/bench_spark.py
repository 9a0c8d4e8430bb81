"""Keyed sead on Spark Structured Streaming in ``local[2]``, beside one process (issue 15).

    python benchmarks/bench_spark.py [--keys 1000 20000] [--rows-per-key 5] [--batches 3]
                                     [--fields 4] [--buckets 64] [--out benchmarks/results/spark.md]

For each key count: a folder of JSON-lines files, each file one micro-batch holding
``--rows-per-key`` rows of every key (rows of one time step, shuffled); a query of
:func:`sead.spark.score_stream` (the default ``sead watch`` pool and policy,
``transformWithStateInPandas`` with the RocksDB state store, ``--buckets`` buckets, two
shuffle partitions) into a parquet file sink with its checkpoint. One warm-up file first (the
JVM, the Python workers, the kernels, the first state); then ``--batches`` files dropped one at
a time, each when the query is idle: its **end-to-end latency** is the time from the file's
appearance in the folder to the end of ``processAllAvailable()`` (its rows committed in the
sink), and rows/s is its rows over that time. Beside it, in the same run and process, the same
rows (in the same micro-batches) through one :class:`sead.telemetry.Monitor` (the same work:
scores and alert policy; the scores Spark gives, tested in ``tests/test_spark.py``) and
through a bare :class:`sead.KeyedSEAD` (scores only).

The machine is shared (2 cores): read the ratios measured side by side, and the load average
printed with them.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

_ROCKSDB = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"


def records(n_keys: int, rows_per_key: int, n_fields: int, step: int, rng) -> pd.DataFrame:
    """One micro-batch: ``rows_per_key`` rows of each key at time step ``step``, shuffled."""
    keys = np.array([f"host-{k:06d}" for k in range(n_keys)], dtype=object)
    level = np.random.default_rng(1).lognormal(3, 1, size=(n_keys, n_fields))
    n = n_keys * rows_per_key
    idx = np.tile(np.arange(n_keys), rows_per_key)
    sub = np.repeat(np.arange(rows_per_key), n_keys)
    X = level[idx] * rng.lognormal(0, 0.1, size=(n, n_fields))
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(n_fields)])
    df.insert(0, "ts", 1.7e9 + 60.0 * step + sub * (60.0 / rows_per_key) + rng.uniform(0, 1, n))
    df.insert(0, "host", keys[idx])
    return df.iloc[rng.permutation(n)].reset_index(drop=True)


def write(folder: Path, i: int, df: pd.DataFrame) -> None:
    tmp = folder.parent / f".part-{i:04d}.tmp"
    df.to_json(tmp, orient="records", lines=True)
    os.replace(tmp, folder / f"part-{i:04d}.json")


def session(scratch: Path, partitions: int):
    os.environ.update(
        PYSPARK_PYTHON=sys.executable,
        PYSPARK_DRIVER_PYTHON=sys.executable,
        SPARK_LOCAL_IP="127.0.0.1",
    )
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-spark")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.sql.streaming.stateStore.providerClass", _ROCKSDB)
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config("spark.local.dir", str(scratch / "local"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def run_spark(spark, root: Path, batches: list[pd.DataFrame], fields, buckets: int, api: str):
    """Latency (s) of each batch after the first (the warm-up)."""
    from sead.spark import score_stream

    src = root / "in"
    src.mkdir(parents=True)
    schema = "host STRING, ts DOUBLE, " + ", ".join(f"{f} DOUBLE" for f in fields)
    df = spark.readStream.schema(schema).option("maxFilesPerTrigger", 1).json(str(src))
    out = score_stream(df, key="host", time="ts", fields=list(fields), n_buckets=buckets, api=api)
    write(src, 0, batches[0])
    query = (
        out.writeStream.format("parquet")
        .option("path", str(root / "out"))
        .option("checkpointLocation", str(root / "checkpoint"))
        .start()
    )
    query.processAllAvailable()
    latencies = []
    for i, b in enumerate(batches[1:], start=1):
        tmp = root / f".part-{i:04d}.tmp"
        b.to_json(tmp, orient="records", lines=True)
        t0 = time.perf_counter()
        os.replace(tmp, src / f"part-{i:04d}.json")
        query.processAllAvailable()
        latencies.append(time.perf_counter() - t0)
        if os.environ.get("BENCH_SPARK_DEBUG"):
            print(query.lastProgress["durationMs"], file=sys.stderr)
    query.stop()
    n_out = spark.read.parquet(str(root / "out")).count()
    expected = sum(len(b) for b in batches)
    if n_out != expected:
        raise RuntimeError(f"the sink holds {n_out} rows, expected {expected}")
    return latencies


def run_local(batches: list[pd.DataFrame], fields) -> tuple[list, list]:
    """Seconds per measured batch through one Monitor, and through one bare KeyedSEAD."""
    from sead import KeyedSEAD
    from sead.telemetry import Monitor
    from sead.telemetry.monitor import default_pool, default_reference

    mon = Monitor(key="host", time="ts", fields=tuple(fields))
    keyed = KeyedSEAD(default_pool(0), reference=default_reference())
    t_mon, t_keyed = [], []
    for i, b in enumerate(batches):
        rows = b.sort_values(["ts", "host"], kind="stable")
        t0 = time.perf_counter()
        mon.process_many(rows.to_dict("records"))
        t1 = time.perf_counter()
        keyed.score_learn_many(rows["host"].to_numpy(object), rows[list(fields)].to_numpy())
        t2 = time.perf_counter()
        if i:
            t_mon.append(t1 - t0)
            t_keyed.append(t2 - t1)
    return t_mon, t_keyed


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--keys", type=int, nargs="+", default=[1000, 20000])
    ap.add_argument("--rows-per-key", type=int, default=5)
    ap.add_argument("--batches", type=int, default=3, help="measured batches after the warm-up")
    ap.add_argument("--fields", type=int, default=4)
    ap.add_argument("--buckets", type=int, default=64)
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument(
        "--api",
        default="auto",
        choices=["auto", "transformWithStateInPandas", "applyInPandasWithState"],
    )
    ap.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = ap.parse_args(argv)

    import pyspark

    fields = [f"f{j}" for j in range(args.fields)]
    scratch = Path(tempfile.mkdtemp(prefix="bench-spark-"))
    lines = [
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, "
        f"pyspark {pyspark.__version__}, pandas {pd.__version__}, local[2], "
        f"{args.partitions} shuffle partitions, {args.buckets} buckets, {args.fields} fields, "
        f"{args.rows_per_key} rows per key per micro-batch, median of {args.batches} "
        "micro-batches after a warm-up; load average before: "
        f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}",
        "",
        "| keys | rows per micro-batch | Spark rows/s | Spark end-to-end latency | "
        "one Monitor rows/s | one KeyedSEAD rows/s | Spark / Monitor |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    spark = session(scratch, args.partitions)
    try:
        for n_keys in args.keys:
            rng = np.random.default_rng(n_keys)
            batches = [
                records(n_keys, args.rows_per_key, args.fields, s, rng)
                for s in range(args.batches + 1)
            ]
            n = len(batches[1])
            lat = run_spark(spark, scratch / f"k{n_keys}", batches, fields, args.buckets, args.api)
            t_mon, t_keyed = run_local(batches, fields)
            med = statistics.median(lat)
            r_spark, r_mon = n / med, n / statistics.median(t_mon)
            r_keyed = n / statistics.median(t_keyed)
            row = (
                f"| {n_keys:,} | {n:,} | {r_spark:,.0f} | {med:.2f} s | {r_mon:,.0f} | "
                f"{r_keyed:,.0f} | {r_spark / r_mon:.2f}x |"
            )
            lines.append(row)
            print(row, flush=True)
    finally:
        spark.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    lines.append("")
    lines.append(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
