"""``sead-bench``: the paper's 15-task comparison, SEAD's open choices as variants, and plots.

Run ``sead-bench`` (or ``python -m sead.bench``) for the quick suite, ``sead-bench --tasks all``
for the full benchmark; see ``docs/benchmark.md``. From Python::

    from sead.bench import BenchConfig, dataset_task, run_benchmark
    run_benchmark([dataset_task("cardio")], BenchConfig(pool="default", seeds=[0]), "out/")

Modules: :mod:`~sead.bench.runner` (one task × seed unit, the process pool),
:mod:`~sead.bench.metrics` (APS, ROC AUC, ranks), :mod:`~sead.bench.variants` (named forms of
SEAD), :mod:`~sead.bench.report` (results.json, results.md), :mod:`~sead.bench.plots` (PNGs),
:mod:`~sead.bench.cli` (the command).
"""

from .cli import main, run_benchmark
from .runner import BenchConfig, BenchTask, combine_cached, dataset_task, run, run_unit
from .variants import PLUS_VARIANTS, SEAD_VARIANT, VARIANTS

__all__ = [
    "BenchConfig",
    "BenchTask",
    "PLUS_VARIANTS",
    "SEAD_VARIANT",
    "VARIANTS",
    "combine_cached",
    "dataset_task",
    "main",
    "run",
    "run_benchmark",
    "run_unit",
]
