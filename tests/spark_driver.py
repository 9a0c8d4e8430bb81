"""A streaming query in a process of its own, for the kill -9 test of ``tests/test_spark.py``.

``python -m tests.spark_driver IN OUT CHECKPOINT [--until-idle]`` (from the repository root)
scores the JSON-lines files of folder ``IN`` (one file per micro-batch) into a parquet file
sink ``OUT`` with its checkpoint in ``CHECKPOINT``. Without ``--until-idle`` it runs until it
is killed; with it, it stops once every file present has been processed and exits 0.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from tests import spark_env

    until_idle = "--until-idle" in argv
    src, out, ckpt = (Path(a) for a in argv if not a.startswith("--"))
    scratch = ckpt.parent / f"scratch-{ckpt.name}"
    scratch.mkdir(parents=True, exist_ok=True)
    spark = spark_env.session(scratch, app="sead-spark-driver")
    query = spark_env.start(spark, src, out, ckpt)
    print("started", flush=True)
    if until_idle:
        query.processAllAvailable()
        query.stop()
        spark.stop()
        return 0
    query.awaitTermination()
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
