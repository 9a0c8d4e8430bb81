"""Loaders for the 15 benchmark tasks and the stream protocol.

Every ``load_*`` function returns ``(X, y)``: ``X`` a C-contiguous ``float64``
array of shape ``(n, d)`` and ``y`` an ``int64`` array of 0 (normal) / 1
(anomaly), in the file's row order. :func:`load_task` turns a task into the
stream the benchmark protocol wants (``docs/benchmark.md``):

* ODDS tasks are cut into contiguous chunks of 50 rows and the chunks are
  shuffled with a seeded generator (:func:`shuffle_chunks`), because the ODDS
  files keep their anomalies in blocks;
* electricity and the NAB series are real time-ordered streams and keep their
  order whatever the seed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._files import data_path, find_data_dir

__all__ = [
    "BENCHMARK_TASKS",
    "NAB_WINDOW",
    "TASKS",
    "TaskInfo",
    "available_tasks",
    "load_annthyroid",
    "load_cardio",
    "load_cover",
    "load_electricity",
    "load_http",
    "load_mammography",
    "load_nab_cpu_asg",
    "load_nab_machine_temp",
    "load_nab_nyc_taxi",
    "load_pendigits",
    "load_river_shuttle",
    "load_satellite",
    "load_satimage2",
    "load_shuttle",
    "load_smtp",
    "load_task",
    "load_thyroid",
    "shuffle_chunks",
]

PathLike = str | os.PathLike[str] | None

#: Shingle length for the NAB series: row i holds values[i-9 .. i], oldest first.
NAB_WINDOW = 10
#: Share of anomalies (class UP) in the electricity stream.
ELECTRICITY_ANOMALY_RATE = 0.02
_NAB_LABELS = "nab/combined_windows.json"


def _finish(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    X = np.ascontiguousarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    y = np.ascontiguousarray(y, dtype=np.int64).reshape(-1)
    if X.ndim != 2 or X.shape[0] != y.shape[0]:
        raise ValueError(f"inconsistent shapes X {X.shape}, y {y.shape}")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0/1")
    return X, y


# --------------------------------------------------------------------------- ODDS


def _load_odds(name: str, data_dir: PathLike) -> tuple[np.ndarray, np.ndarray]:
    path = data_path(f"odds/{name}.npz", data_dir)
    with np.load(path, allow_pickle=False) as d:
        X, y = d["X"], d["y"]
    return _finish(X, y)


def load_shuttle(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS shuttle (49,097 x 9, 7.15 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory; default ``$SEAD_DATA``, else ``../shared/datasets`` next to the repository
        (see :func:`sead.datasets.candidate_dirs`).

    Returns
    -------
    X : ndarray of float64, shape (49097, 9)
    y : ndarray of int64, shape (49097,)
        1 for anomalies.

    Raises
    ------
    DatasetNotFoundError
        If ``odds/shuttle.npz`` is not found.
    DatasetChecksumError
        If the file's SHA-256 is not the manifest's.
    """
    return _load_odds("shuttle", data_dir)


def load_smtp(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS smtp (KDD Cup 99 subset; 95,156 x 3, 0.03 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (95156, 3)
    y : ndarray of int64, shape (95156,)
    """
    return _load_odds("smtp", data_dir)


def load_http(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS http (KDD Cup 99 subset; 567,498 x 3, 0.39 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (567498, 3)
    y : ndarray of int64, shape (567498,)
    """
    return _load_odds("http", data_dir)


def load_cover(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS cover (forest cover type; 286,048 x 10, 0.96 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (286048, 10)
    y : ndarray of int64, shape (286048,)
    """
    return _load_odds("cover", data_dir)


def load_mammography(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS mammography (11,183 x 6, 2.32 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (11183, 6)
    y : ndarray of int64, shape (11183,)
    """
    return _load_odds("mammography", data_dir)


def load_satellite(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS satellite (Statlog landsat; 6,435 x 36, 31.6 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (6435, 36)
    y : ndarray of int64, shape (6435,)
    """
    return _load_odds("satellite", data_dir)


def load_satimage2(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS satimage-2 (5,803 x 36, 1.22 % anomalies, all in the last tenth).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (5803, 36)
    y : ndarray of int64, shape (5803,)
    """
    return _load_odds("satimage-2", data_dir)


def load_cardio(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS cardio (cardiotocography; 1,831 x 21, 9.61 % anomalies, all at the end).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (1831, 21)
    y : ndarray of int64, shape (1831,)
    """
    return _load_odds("cardio", data_dir)


def load_thyroid(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS thyroid (3,772 x 6, 2.47 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (3772, 6)
    y : ndarray of int64, shape (3772,)
    """
    return _load_odds("thyroid", data_dir)


def load_annthyroid(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS annthyroid (7,200 x 6, 7.42 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (7200, 6)
    y : ndarray of int64, shape (7200,)
    """
    return _load_odds("annthyroid", data_dir)


def load_pendigits(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load ODDS pendigits (6,870 x 16, 2.27 % anomalies).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (6870, 16)
    y : ndarray of int64, shape (6870,)
    """
    return _load_odds("pendigits", data_dir)


# --------------------------------------------------------------------------- electricity


def load_electricity(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load Elec2 as a time-ordered stream with 2 % anomalies.

    Features are every column of ``usp/electricity.csv`` except ``class``, in
    file order (``date, day, period, nswprice, nswdemand, vicprice, vicdemand,
    transfer``), as float. Rows of class ``DOWN`` are all kept and labelled 0.
    Rows of class ``UP`` are subsampled so that they make about 2 % of the
    result: with ``rng = np.random.default_rng(0)``, one ``rng.random()`` draw
    per UP row in row order, a row is kept when its draw is below
    ``p = 0.02 / 0.98 * n_down / n_up``; kept UP rows are labelled 1. Row
    (time) order is kept.

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (n, 8)
        n is about 26,600 (all 26,075 DOWN rows plus about 532 UP rows).
    y : ndarray of int64, shape (n,)
    """
    import pandas as pd

    path = data_path("usp/electricity.csv", data_dir)
    df = pd.read_csv(path)
    if "class" not in df.columns:
        raise ValueError(f"{path}: no 'class' column (columns: {list(df.columns)})")
    cls = df["class"].astype(str).str.strip().str.upper().to_numpy()
    unknown = set(np.unique(cls)) - {"UP", "DOWN"}
    if unknown:
        raise ValueError(f"{path}: unexpected class values {sorted(unknown)}")
    features = [c for c in df.columns if c != "class"]
    X = df[features].to_numpy(dtype=np.float64)
    up = cls == "UP"
    n_up = int(up.sum())
    n_down = int(up.size - n_up)
    rate = ELECTRICITY_ANOMALY_RATE
    p = rate / (1.0 - rate) * n_down / n_up if n_up else 0.0
    rng = np.random.default_rng(0)
    keep_up = rng.random(n_up) < p
    keep = ~up
    keep[np.flatnonzero(up)[keep_up]] = True
    return _finish(X[keep], up[keep].astype(np.int64))


# --------------------------------------------------------------------------- NAB


def _nab_windows(key: str, data_dir: PathLike) -> list[tuple[np.datetime64, np.datetime64]]:
    import pandas as pd

    path = data_path(_NAB_LABELS, data_dir)
    with open(path, encoding="utf-8") as fh:
        windows = json.load(fh)
    if key not in windows:
        raise KeyError(f"{path}: no windows for {key!r}")
    out = []
    for start, end in windows[key]:
        out.append((pd.Timestamp(start).to_datetime64(), pd.Timestamp(end).to_datetime64()))
    return out


def _load_nab(stem: str, data_dir: PathLike) -> tuple[np.ndarray, np.ndarray]:
    import pandas as pd

    path = data_path(f"nab/{stem}.csv", data_dir)
    df = pd.read_csv(path)
    missing = {"timestamp", "value"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing columns {sorted(missing)}")
    ts = pd.to_datetime(df["timestamp"], format="ISO8601").to_numpy(dtype="datetime64[ns]")
    values = df["value"].to_numpy(dtype=np.float64)
    labels = np.zeros(values.size, dtype=np.int64)
    for start, end in _nab_windows(f"realKnownCause/{stem}.csv", data_dir):
        labels[(ts >= start) & (ts <= end)] = 1
    w = NAB_WINDOW
    if values.size < w:
        raise ValueError(f"{path}: fewer than {w} rows")
    X = np.lib.stride_tricks.sliding_window_view(values, w)  # row j = values[j .. j+w-1]
    return _finish(X, labels[w - 1 :])


def load_nab_cpu_asg(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load NAB ``realKnownCause/cpu_utilization_asg_misconfiguration.csv``.

    The ``value`` series is shingled into windows of the last 10 values: row
    ``i`` of the result holds ``values[i-9 .. i]`` (oldest first) of file row
    ``i``, and the first 9 file rows are dropped. A row is labelled 1 when its
    timestamp lies inside (inclusive) a window of ``combined_windows.json``
    for that file. Time order is kept.

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (18041, 10)
    y : ndarray of int64, shape (18041,)
    """
    return _load_nab("cpu_utilization_asg_misconfiguration", data_dir)


def load_nab_nyc_taxi(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load NAB ``realKnownCause/nyc_taxi.csv`` (shingled as in :func:`load_nab_cpu_asg`).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (10311, 10)
    y : ndarray of int64, shape (10311,)
    """
    return _load_nab("nyc_taxi", data_dir)


def load_nab_machine_temp(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load NAB ``realKnownCause/machine_temperature_system_failure.csv``.

    Shingled as in :func:`load_nab_cpu_asg`. It stands in for the paper's
    internal telemetry set.

    Parameters
    ----------
    data_dir
        Data directory (see :func:`load_shuttle`).

    Returns
    -------
    X : ndarray of float64, shape (22686, 10)
    y : ndarray of int64, shape (22686,)
    """
    return _load_nab("machine_temperature_system_failure", data_dir)


# --------------------------------------------------------------------------- River fallback


def load_river_shuttle(data_dir: PathLike = None) -> tuple[np.ndarray, np.ndarray]:
    """Load the Shuttle data set bundled with River (no download, no data directory).

    This is ODDS shuttle (49,097 x 9, 3,511 anomalies) as shipped inside the
    ``river`` package; use it when the benchmark data directory is not
    available.

    Parameters
    ----------
    data_dir
        Accepted so that every loader has the same signature. Ignored.

    Returns
    -------
    X : ndarray of float64, shape (49097, 9)
    y : ndarray of int64, shape (49097,)
    """
    del data_dir
    import pandas as pd
    from river.datasets import Shuttle

    df = pd.read_csv(Shuttle().path)
    y = df.pop("anomaly").to_numpy()
    return _finish(df.to_numpy(dtype=np.float64), y)


# --------------------------------------------------------------------------- protocol


def shuffle_chunks(
    X: np.ndarray,
    y: np.ndarray,
    chunk_size: int = 50,
    seed: int | np.random.Generator | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut rows into contiguous chunks and shuffle the order of the chunks.

    Rows ``[0, c)``, ``[c, 2c)``, ... form the chunks (the last, partial chunk
    is a chunk too); their order is ``np.random.default_rng(seed).permutation``
    of the chunk indices. Rows keep their order inside a chunk.

    Parameters
    ----------
    X
        array-like, shape (n, d).
    y
        array-like, shape (n,).
    chunk_size
        Rows per chunk.
    seed
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    X_stream : ndarray, shape (n, d)
        Rows of ``X`` in chunk-shuffled order (C-contiguous, same dtype).
    y_stream : ndarray, shape (n,)
        ``y`` in the same order.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.arange(7.0).reshape(7, 1)
    >>> y = np.array([0, 0, 0, 0, 0, 1, 1])
    >>> Xs, ys = shuffle_chunks(X, y, chunk_size=3, seed=0)
    >>> sorted(Xs.ravel().tolist()) == X.ravel().tolist()
    True
    >>> Xs.shape, ys.shape
    ((7, 1), (7,))
    """
    X = np.asarray(X)
    y = np.asarray(y)
    n = X.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"X has {n} rows but y has {y.shape[0]}")
    chunk_size = int(chunk_size)
    if chunk_size < 1:
        raise ValueError("chunk_size must be >= 1")
    n_chunks = -(-n // chunk_size)
    order = np.random.default_rng(seed).permutation(n_chunks)
    idx = (order[:, None] * chunk_size + np.arange(chunk_size)[None, :]).ravel()
    idx = idx[idx < n]
    return np.ascontiguousarray(X[idx]), np.ascontiguousarray(y[idx])


@dataclass(frozen=True)
class TaskInfo:
    """Description of one benchmark task.

    Attributes
    ----------
    name
        Task name as used in ``benchmark.md`` (e.g. ``"satimage-2"``).
    loader
        callable: ``loader(data_dir=None) -> (X, y)`` in file order.
    files
        tuple of str: manifest paths the loader reads (empty for ``river-shuttle``).
    time_ordered
        True for real streams (electricity, NAB) that keep their order; False for ODDS tasks,
        streamed as shuffled chunks of contiguous rows.
    description
        One line about the data.
    in_benchmark
        True for the 15 tasks of the benchmark.
    """

    name: str
    loader: Callable[..., tuple[np.ndarray, np.ndarray]] = field(repr=False)
    files: tuple[str, ...]
    time_ordered: bool
    description: str
    in_benchmark: bool = True

    @property
    def stream_kind(self) -> str:
        """``"time-ordered"`` or ``"shuffled-chunks"``."""
        return "time-ordered" if self.time_ordered else "shuffled-chunks"


def _odds(name, loader, description):
    return TaskInfo(name, loader, (f"odds/{name}.npz",), False, description)


def _nab(name, loader, stem, description):
    return TaskInfo(name, loader, (f"nab/{stem}.csv", _NAB_LABELS), True, description)


_ALL = [
    _odds("shuttle", load_shuttle, "ODDS shuttle: NASA shuttle sensor readings (Statlog)"),
    _odds("smtp", load_smtp, "ODDS smtp: KDD Cup 99 SMTP connections"),
    _odds("http", load_http, "ODDS http: KDD Cup 99 HTTP connections"),
    _odds("cover", load_cover, "ODDS cover: forest cover type, class 4 vs class 2"),
    _odds("mammography", load_mammography, "ODDS mammography: calcification features"),
    _odds(
        "satellite",
        load_satellite,
        "ODDS satellite: Statlog landsat, 3 smallest classes as anomalies",
    ),
    _odds(
        "satimage-2",
        load_satimage2,
        "ODDS satimage-2: Statlog landsat, class 2 down-sampled as anomalies",
    ),
    _odds("cardio", load_cardio, "ODDS cardio: cardiotocography, pathologic as anomalies"),
    _odds("thyroid", load_thyroid, "ODDS thyroid: hyperfunction as anomalies"),
    _odds("annthyroid", load_annthyroid, "ODDS annthyroid: non-normal thyroid as anomalies"),
    _odds(
        "pendigits",
        load_pendigits,
        "ODDS pendigits: pen-based handwritten digits, digit 4 down-sampled",
    ),
    TaskInfo(
        "electricity",
        load_electricity,
        ("usp/electricity.csv",),
        True,
        "Elec2 (USP repository): NSW electricity market, class UP subsampled to 2 % as anomalies",
    ),
    _nab(
        "nab-cpu-asg",
        load_nab_cpu_asg,
        "cpu_utilization_asg_misconfiguration",
        "NAB realKnownCause: AWS CPU utilisation, autoscaling group misconfiguration",
    ),
    _nab(
        "nab-nyc-taxi",
        load_nab_nyc_taxi,
        "nyc_taxi",
        "NAB realKnownCause: NYC taxi passengers per 30 min",
    ),
    _nab(
        "nab-machine-temp",
        load_nab_machine_temp,
        "machine_temperature_system_failure",
        "NAB realKnownCause: industrial machine temperature (stands in for internal telemetry)",
    ),
    TaskInfo(
        "river-shuttle",
        load_river_shuttle,
        (),
        False,
        "Shuttle as bundled with River; fallback when no benchmark data directory exists",
        in_benchmark=False,
    ),
]

#: All tasks by name: the 15 of the benchmark plus ``river-shuttle``.
TASKS: dict[str, TaskInfo] = {t.name: t for t in _ALL}
#: Names of the 15 benchmark tasks, in the order of ``benchmark.md``.
BENCHMARK_TASKS: tuple[str, ...] = tuple(t.name for t in _ALL if t.in_benchmark)


def _get_task(name: str) -> TaskInfo:
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


def load_task(
    name: str,
    *,
    seed: int | np.random.Generator | None = 0,
    chunk_size: int = 50,
    data_dir: PathLike = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return a task as the stream the benchmark protocol feeds to detectors.

    Parameters
    ----------
    name
        A key of :data:`TASKS`.
    seed
        Chunk-order seed for shuffled-chunk tasks; ignored for time-ordered tasks.
    chunk_size
        Rows per chunk for shuffled-chunk tasks; ignored for time-ordered tasks.
    data_dir
        Data directory (see :func:`sead.datasets.candidate_dirs`).

    Returns
    -------
    X : ndarray of float64, shape (n, d), C-contiguous
    y : ndarray of int64, shape (n,)

    Raises
    ------
    KeyError
        For an unknown task name.
    DatasetNotFoundError, DatasetChecksumError
        From the loader.
    """
    task = _get_task(name)
    X, y = task.loader(data_dir=data_dir)
    if task.time_ordered:
        return X, y
    return shuffle_chunks(X, y, chunk_size=chunk_size, seed=seed)


def available_tasks(data_dir: PathLike = None, *, include_fallback: bool = False) -> list[str]:
    """Names of benchmark tasks whose files are all present (checksums not checked).

    Parameters
    ----------
    data_dir
        Data directory (see :func:`sead.datasets.candidate_dirs`).
    include_fallback
        Also list ``river-shuttle`` (always available).

    Returns
    -------
    list of str
    """
    names = [n for n in BENCHMARK_TASKS if find_data_dir(data_dir, TASKS[n].files) is not None]
    if include_fallback:
        names.append("river-shuttle")
    return names
