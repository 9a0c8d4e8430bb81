"""The whole Numenta Anomaly Benchmark (NAB v1.1) corpus, checksum-verified.

NAB (Lavin & Ahmad 2015; https://github.com/numenta/NAB, MIT licence) is 58 univariate series
in 7 categories with 116 labelled anomaly windows, three scoring profiles, and the published
results of the detectors it ranks. :func:`load_nab_corpus` reads a copy of it laid out as in
NAB's repository, under ``<data dir>/nab/corpus/``::

    data/<category>/<name>.csv      58 series, columns timestamp,value
    labels/combined_windows.json    anomaly windows per series, [start, end] timestamps
    config/profiles.json            the three cost profiles
    config/thresholds.json          each published detector's optimised threshold per profile
    results/final_results.json      the published normalised scoreboard
    results/<detector>.npz          published per-row anomaly_score of numenta,
                                    randomCutForest, windowedGaussian and null: one array
                                    per series, keyed <category>/<name>.csv

The data directory is found as for every sead data set (``data_dir``, else ``$SEAD_DATA``,
else ``../shared/datasets`` next to the checkout; see :func:`sead.datasets.candidate_dirs`), and
every file is checked against its SHA-256 in sead's data manifest (entries ``nab/corpus/...``)
before it is read. A missing corpus raises :class:`~sead.datasets.DatasetNotFoundError` saying
where it looked and where to get the files; a corrupt file raises
:class:`~sead.datasets.DatasetChecksumError`.

The scorer that uses this is :mod:`sead.bench.nab`.

Series names are NAB's keys, ``"<category>/<name>.csv"`` (e.g.
``"realKnownCause/nyc_taxi.csv"``), in the order of ``combined_windows.json``. A window's
``[start, end]`` must each match exactly one row's timestamp (NAB's own rule); the window
covers the rows from the one at ``start`` to the one at ``end``, inclusive
(:attr:`NABSeries.window_rows`). Timestamps are kept in file order: a few NAB files repeat a
timestamp (daylight-saving changes) or step back once (``machine_temperature_system_failure``),
so do not assume they increase.

Loaded series and published scores are cached in-process per (directory, file size, mtime), so
loading again is cheap; their arrays are read-only. Each call still re-checks the checksums
through the manifest cache and returns fresh dicts for the JSON parts.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._files import (
    DatasetNotFoundError,
    _lookup_description,
    candidate_dirs,
    data_path,
    manifest,
)

__all__ = [
    "CORPUS_DIR",
    "NAB_URL",
    "PROFILE_NAMES",
    "PUBLISHED_DETECTORS",
    "NABCorpus",
    "NABSeries",
    "corpus_files",
    "load_nab_corpus",
]

PathLike = str | os.PathLike[str] | None

#: Where the corpus lives, relative to the data directory.
CORPUS_DIR = "nab/corpus"
#: Where to get the corpus.
NAB_URL = "https://github.com/numenta/NAB"
#: The NAB commit the checksums are those of.
NAB_COMMIT = "ea702d7"
#: Detectors whose published per-row scores ship as ``results/<detector>.npz``.
PUBLISHED_DETECTORS: tuple[str, ...] = ("numenta", "randomCutForest", "windowedGaussian", "null")
#: NAB v1.1's scoring profiles, in the order of ``config/profiles.json``.
PROFILE_NAMES: tuple[str, ...] = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

_WINDOWS = "labels/combined_windows.json"
_PROFILES = "config/profiles.json"
_THRESHOLDS = "config/thresholds.json"
_FINAL = "results/final_results.json"


def corpus_files() -> list[str]:
    """Manifest keys of the corpus files, in manifest order.

    Returns
    -------
    list of str
        Paths relative to the data directory, all starting with ``"nab/corpus/"``.

    Examples
    --------
    >>> files = corpus_files()
    >>> len(files), files[0]
    (66, 'nab/corpus/data/artificialNoAnomaly/art_daily_no_noise.csv')
    """
    prefix = CORPUS_DIR + "/"
    return [rel for rel in manifest() if rel.startswith(prefix)]


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False)
class NABSeries:
    """One NAB series: its rows and its anomaly windows.

    Attributes
    ----------
    name
        NAB's key, ``"<category>/<name>.csv"``.
    timestamps
        ndarray of datetime64[ns], shape (n,): row timestamps in file order (read-only).
    values
        ndarray of float64, shape (n,): row values (read-only).
    windows
        tuple of (numpy.datetime64, numpy.datetime64): the anomaly windows as ``(start, end)``
        timestamps, in time order.
    window_rows
        ndarray of int64, shape (k, 2): the same windows as inclusive row ranges ``[first, last]``
        (read-only).

    Examples
    --------
    >>> import numpy as np
    >>> ts = np.arange("2024-01-01T00:00", "2024-01-01T00:10", dtype="datetime64[m]")
    >>> s = NABSeries.from_arrays("demo/x.csv", ts, np.zeros(10), [(ts[3], ts[5])])
    >>> s.category, s.file, s.n_rows, s.window_rows.tolist()
    ('demo', 'x.csv', 10, [[3, 5]])
    >>> s.labels().tolist()
    [0, 0, 0, 1, 1, 1, 0, 0, 0, 0]
    """

    name: str
    timestamps: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    windows: tuple[tuple[np.datetime64, np.datetime64], ...] = field(repr=False)
    window_rows: np.ndarray = field(repr=False)

    @classmethod
    def from_arrays(
        cls,
        name: str,
        timestamps,
        values,
        windows: Sequence[tuple[object, object]] = (),
    ) -> NABSeries:
        """Build a series from arrays, mapping each window to rows by NAB's rule.

        Parameters
        ----------
        name
            Series key, ``"<category>/<name>.csv"``.
        timestamps
            array-like of datetime64 (or strings numpy can parse): row timestamps, shape (n,).
        values
            array-like of float, shape (n,): row values.
        windows
            sequence of (start, end): window bounds as timestamps; each must equal exactly one row's
            timestamp.

        Returns
        -------
        NABSeries

        Raises
        ------
        ValueError
            If the name is not ``"<category>/<name>.csv"``, the arrays differ in length, a
            value is not finite, a window bound matches no row or several, or the windows are
            reversed, unordered or overlapping.
        """
        _check_name(name)
        ts = np.asarray(timestamps, dtype="datetime64[ns]").reshape(-1)
        vals = np.asarray(values, dtype=np.float64).reshape(-1)
        if ts.shape != vals.shape:
            raise ValueError(f"series {name!r}: {ts.size} timestamps but {vals.size} values")
        if not np.isfinite(vals).all():
            bad = int(np.flatnonzero(~np.isfinite(vals))[0])
            raise ValueError(
                f"series {name!r}: value at row {bad} is {float(vals[bad])!r}, not a finite number"
            )
        bounds = tuple((np.datetime64(a, "ns"), np.datetime64(b, "ns")) for a, b in windows)
        rows = _window_rows(name, ts, bounds)
        return cls(
            name=name,
            timestamps=_readonly(np.array(ts)),
            values=_readonly(np.array(vals)),
            windows=bounds,
            window_rows=_readonly(rows),
        )

    @property
    def category(self) -> str:
        """The folder part of :attr:`name`, e.g. ``"realKnownCause"``."""
        return self.name.split("/", 1)[0]

    @property
    def file(self) -> str:
        """The file part of :attr:`name`, e.g. ``"nyc_taxi.csv"``."""
        return self.name.split("/", 1)[1]

    @property
    def n_rows(self) -> int:
        """Number of rows."""
        return int(self.values.shape[0])

    def __len__(self) -> int:
        return self.n_rows

    def labels(self) -> np.ndarray:
        """NAB's ``label`` column: 1 where the row's timestamp lies in a window (inclusive).

        Returns
        -------
        ndarray of int64, shape (n,)
        """
        out = np.zeros(self.n_rows, dtype=np.int64)
        for start, end in self.windows:
            out[(self.timestamps >= start) & (self.timestamps <= end)] = 1
        return out


def _check_name(name) -> None:
    if (
        not isinstance(name, str)
        or name.count("/") != 1
        or not name.endswith(".csv")
        or "\\" in name
    ):
        raise ValueError(f"series name must be '<category>/<name>.csv', got {name!r}")
    cat, file = name.split("/")
    if not cat or file == ".csv":
        raise ValueError(f"series name must be '<category>/<name>.csv', got {name!r}")


def _window_rows(name: str, ts: np.ndarray, bounds) -> np.ndarray:
    rows = np.empty((len(bounds), 2), dtype=np.int64)
    for k, pair in enumerate(bounds):
        for j, t in enumerate(pair):
            hits = np.flatnonzero(ts == t)
            if hits.size != 1:
                what = "no row" if hits.size == 0 else f"{hits.size} rows"
                raise ValueError(
                    f"series {name!r}: window {k} bound {str(t)!r} matches {what}; "
                    "window bounds must equal exactly one row's timestamp"
                )
            rows[k, j] = hits[0]
        if rows[k, 0] > rows[k, 1]:
            raise ValueError(
                f"series {name!r}: window {k} ends (row {rows[k, 1]}) before it starts (row "
                f"{rows[k, 0]})"
            )
        if k and rows[k, 0] <= rows[k - 1, 1]:
            raise ValueError(f"series {name!r}: window {k} overlaps or precedes window {k - 1}")
    return rows


@dataclass(frozen=True, eq=False)
class NABCorpus(Mapping):
    """The NAB corpus: a read-only mapping from series name to :class:`NABSeries`.

    Attributes
    ----------
    series
        dict of str to NABSeries: the 58 series, in the order of ``combined_windows.json``.
    profiles
        dict of str to dict of str to float: ``profiles[name]`` is NAB's cost matrix, ``{"tpWeight",
        "fnWeight", "fpWeight", "tnWeight"}`` (``config/profiles.json``).
    thresholds
        ``thresholds[detector][profile]`` is ``{"threshold": t, "score": raw}``: NAB's optimised
        threshold and the raw (unnormalised) corpus score it gives (``config/thresholds.json``).
    final_results
        ``final_results[detector][profile]`` is the published normalised score
        (``results/final_results.json``).
    published_scores
        dict of str to dict of str to ndarray: ``published_scores[detector][series name]`` is that
        detector's per-row ``anomaly_score`` (float64, read-only, aligned with the series' rows),
        for the detectors loaded (default :data:`PUBLISHED_DETECTORS`).
    path
        The ``nab/corpus`` directory the files were read from.
    """

    series: dict[str, NABSeries] = field(repr=False)
    profiles: dict[str, dict[str, float]] = field(repr=False)
    thresholds: dict[str, dict[str, dict[str, float]]] = field(repr=False)
    final_results: dict[str, dict[str, float]] = field(repr=False)
    published_scores: dict[str, dict[str, np.ndarray]] = field(repr=False)
    path: Path

    def __getitem__(self, name: str) -> NABSeries:
        try:
            return self.series[name]
        except KeyError:
            raise KeyError(
                f"{name!r} is not a NAB series; names look like 'realKnownCause/nyc_taxi.csv'"
            ) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.series)

    def __len__(self) -> int:
        return len(self.series)

    @property
    def n_windows(self) -> int:
        """Total number of anomaly windows."""
        return sum(len(s.windows) for s in self.series.values())

    @property
    def n_rows(self) -> int:
        """Total number of rows."""
        return sum(s.n_rows for s in self.series.values())


# ------------------------------------------------------------------------------ loading

_CACHE: dict[tuple, tuple[dict[str, NABSeries], dict[str, dict[str, np.ndarray]]]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 2


def _not_found(data_dir: PathLike, files: list[str]) -> DatasetNotFoundError:
    lines = []
    for d in candidate_dirs(data_dir):
        missing = [f for f in files if not d.joinpath(*f.split("/")).is_file()]
        root = d.joinpath(*CORPUS_DIR.split("/"))
        if len(missing) == len(files):
            lines.append(f"  - {root}: not there")
        else:
            shown = ", ".join(m[len(CORPUS_DIR) + 1 :] for m in missing[:3])
            more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
            lines.append(
                f"  - {root}: {len(missing)} of {len(files)} files missing ({shown}{more})"
            )
    looked = "\n".join(lines)
    return DatasetNotFoundError(
        f"NAB corpus not found. Looked for {CORPUS_DIR}/ ({len(files)} files) in "
        f"({_lookup_description(data_dir)}):\n{looked}\n"
        f"Get it from {NAB_URL} (NAB v1.1, commit {NAB_COMMIT}): copy its data/ folder, "
        f"{_WINDOWS}, {_PROFILES}, {_THRESHOLDS} and {_FINAL} to <data dir>/{CORPUS_DIR}/ under "
        "the same relative paths; results/<detector>.npz holds the anomaly_score column of NAB's "
        "results/<detector>/<category>/<detector>_<name>.csv files, one array per series keyed "
        "'<category>/<name>.csv' (see the manifest entries for the checksums). Then pass "
        "data_dir=<data dir> or set $SEAD_DATA=<data dir>."
    )


def _read_json(rel: str, d: Path):
    with open(data_path(f"{CORPUS_DIR}/{rel}", d), encoding="utf-8") as fh:
        return json.load(fh)


def _read_series(name: str, bounds, d: Path) -> NABSeries:
    import pandas as pd

    path = data_path(f"{CORPUS_DIR}/data/{name}", d)
    df = pd.read_csv(path)
    if list(df.columns) != ["timestamp", "value"]:
        raise ValueError(f"{path}: expected columns ['timestamp', 'value'], got {list(df.columns)}")
    ts = pd.to_datetime(df["timestamp"], format="ISO8601").to_numpy(dtype="datetime64[ns]")
    windows = [
        (pd.Timestamp(a).to_datetime64(), pd.Timestamp(b).to_datetime64()) for a, b in bounds
    ]
    return NABSeries.from_arrays(name, ts, df["value"].to_numpy(dtype=np.float64), windows)


def _read_scores(detector: str, series: dict[str, NABSeries], d: Path) -> dict[str, np.ndarray]:
    path = data_path(f"{CORPUS_DIR}/results/{detector}.npz", d)
    with np.load(path, allow_pickle=False) as z:
        keys = set(z.files)
        if keys != set(series):
            raise ValueError(
                f"{path}: keys differ from the corpus series (missing "
                f"{sorted(set(series) - keys)[:3]}, extra {sorted(keys - set(series))[:3]})"
            )
        out = {}
        for name, s in series.items():
            a = np.ascontiguousarray(z[name], dtype=np.float64)
            if a.shape != (s.n_rows,):
                raise ValueError(
                    f"{path}: {name!r} has shape {a.shape}, the series has {s.n_rows} rows"
                )
            out[name] = _readonly(a)
    return out


def load_nab_corpus(
    data_dir: PathLike = None,
    *,
    detectors: Sequence[str] = PUBLISHED_DETECTORS,
) -> NABCorpus:
    """Load the NAB v1.1 corpus, its profiles and the published results, checksum-verified.

    Parameters
    ----------
    data_dir
        Data directory holding ``nab/corpus/``; default ``$SEAD_DATA``, else ``../shared/datasets``
        next to the repository (see :func:`sead.datasets.candidate_dirs`).
    detectors
        sequence of str: which published per-row scores to load (any subset of
        :data:`PUBLISHED_DETECTORS`; ``()`` for none). The other files are always loaded. Default
        :data:`PUBLISHED_DETECTORS`.

    Returns
    -------
    NABCorpus
        58 series (365,558 rows, 116 windows), profiles, thresholds, scoreboard and the
        published scores.

    Raises
    ------
    DatasetNotFoundError
        If no candidate directory holds every corpus file; the message lists where it looked,
        what is missing and where to get it.
    DatasetChecksumError
        If a file's SHA-256 is not the manifest's.
    ValueError
        For an unknown detector name.
    """
    detectors = tuple(detectors)
    unknown = [x for x in detectors if x not in PUBLISHED_DETECTORS]
    if unknown:
        raise ValueError(
            f"unknown published detector(s) {unknown}; available: {list(PUBLISHED_DETECTORS)}"
        )
    files = corpus_files()
    d = None
    for cand in candidate_dirs(data_dir):
        if all(cand.joinpath(*f.split("/")).is_file() for f in files):
            d = cand
            break
    if d is None:
        raise _not_found(data_dir, files)
    # verify every file (cached per path, size, mtime) before anything is read
    stats = []
    for rel in files:
        p = data_path(rel, d)
        st = p.stat()
        stats.append((rel, st.st_size, st.st_mtime_ns))
    windows = _read_json(_WINDOWS, d)
    profiles = _read_json(_PROFILES, d)
    thresholds = _read_json(_THRESHOLDS, d)
    final_results = _read_json(_FINAL, d)

    key = (str(d.resolve()), tuple(stats))
    with _CACHE_LOCK:
        cached = _CACHE.get(key)
    if cached is None:
        data_files = {
            rel[len(CORPUS_DIR) + len("/data/") :]
            for rel in files
            if rel.startswith(f"{CORPUS_DIR}/data/")
        }
        if set(windows) != data_files:
            raise ValueError(
                f"{_WINDOWS}: its series differ from the data files (only in labels: "
                f"{sorted(set(windows) - data_files)[:3]}, only in data: "
                f"{sorted(data_files - set(windows))[:3]})"
            )
        series = {name: _read_series(name, bounds, d) for name, bounds in windows.items()}
        scores = {det: _read_scores(det, series, d) for det in PUBLISHED_DETECTORS}
        cached = (series, scores)
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = cached
    series, scores = cached
    return NABCorpus(
        series=dict(series),
        profiles={
            k: {kk: float(vv) for kk, vv in v["CostMatrix"].items()} for k, v in profiles.items()
        },
        thresholds=thresholds,
        final_results=final_results,
        published_scores={det: dict(scores[det]) for det in detectors},
        path=d.joinpath(*CORPUS_DIR.split("/")),
    )
