"""Fixtures shared by the test modules: the benchmark data, the NAB corpus, and PySAD for the
parity tests.

Benchmark data is read only through :mod:`sead.datasets`, which finds each file (``$SEAD_DATA``,
else ``../shared/datasets`` beside the checkout) and checks its SHA-256 against the manifest
before reading it. A test that needs data it cannot find is skipped with a message saying where
to put the files; with the ``CI`` environment variable set it fails instead, so that a parity
test cannot pass in CI by not running. A file that is present but corrupt fails the test
everywhere (:class:`sead.datasets.DatasetChecksumError`).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

import sead.datasets as sd
from sead.datasets.nab import load_nab_corpus

# The fixtures of a real Prometheus Alertmanager, for the modules that deliver alerts to one
# (the ``as`` marks them as re-exported: pytest finds a conftest's fixtures by name).
from ._alertmanager import alertmanager as alertmanager
from ._alertmanager import alertmanager_binary as alertmanager_binary
from ._alertmanager import alertmanager_factory as alertmanager_factory

_WHERE = (
    "put the benchmark data files (see src/sead/datasets/manifest.json) in the directory named "
    "by $SEAD_DATA, or in ../shared/datasets beside the checkout"
)


def _missing(msg: str):
    """Skip the test saying what is missing; fail it when ``CI`` is set."""
    if os.environ.get("CI"):
        pytest.fail(f"{msg} (CI is set: missing test data is an error)")
    pytest.skip(msg)


@lru_cache(maxsize=None)
def _load(name: str, seed: int | None, chunk_size: int) -> tuple[np.ndarray, np.ndarray]:
    if seed is None:
        X, y = sd.TASKS[name].loader()
    else:
        X, y = sd.load_task(name, seed=seed, chunk_size=chunk_size)
    X.flags.writeable = False
    y.flags.writeable = False
    return X, y


def load_dataset(name: str, *, seed: int | None = None, chunk_size: int = 50, n: int | None = None):
    """``(X, y)`` of a benchmark task of :data:`sead.datasets.TASKS`, through its loader.

    ``seed=None`` gives the rows in file order; an integer gives the benchmark's stream
    (:func:`sead.datasets.load_task`: ODDS tasks as ``chunk_size``-row chunks in a seeded
    order, time-ordered tasks as they are). ``n`` keeps the first ``n`` rows. The arrays are
    fresh writable copies (each file is read and verified once per session). A missing file
    skips the calling test (fails it under ``CI``).
    """
    try:
        X, y = _load(name, seed, chunk_size)
    except sd.DatasetNotFoundError as e:
        _missing(f"benchmark data for {name!r} not found: {_WHERE}.\n{e}")
    sl = slice(None) if n is None else slice(0, n)
    return np.array(X[sl]), np.array(y[sl])


@pytest.fixture(scope="session")
def dataset():
    """A loader of benchmark tasks: ``dataset("shuttle")`` is ``(X, y)`` in file order;
    ``dataset("shuttle", seed=0, n=3000)`` the first 3,000 rows of the benchmark's stream (see
    :func:`load_dataset`). Checksum-verified; missing data skips (fails with ``CI`` set)."""
    return load_dataset


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The data directory holding every file of the manifest (for the tests of the loaders
    themselves). Missing files skip the test (fail it with ``CI`` set)."""
    d = sd.find_data_dir()
    if d is None:
        _missing(
            f"benchmark data not found: {_WHERE}; looked in: "
            f"{', '.join(map(str, sd.candidate_dirs()))}"
        )
    return d


@pytest.fixture(scope="session")
def pysad_models():
    """``pysad.models`` for the parity tests; a missing PySAD skips (fails with ``CI`` set)."""
    try:
        import pysad.models
    except ImportError:
        _missing("PySAD is not installed: pip install -e '.[test]' (or pip install pysad)")
    return pysad.models


@pytest.fixture(scope="module")
def corpus():
    """The NAB v1.1 corpus (:func:`sead.datasets.nab.load_nab_corpus`), for the NAB scorer and
    suite tests. A missing corpus skips the test saying where to put it (fails it with ``CI``
    set)."""
    try:
        return load_nab_corpus()
    except sd.DatasetNotFoundError as e:
        _missing(
            "NAB corpus not found: put NAB v1.1 (https://github.com/numenta/NAB) under "
            "$SEAD_DATA/nab/corpus/ or ../shared/datasets/nab/corpus/ next to the checkout.\n"
            + str(e)
        )
