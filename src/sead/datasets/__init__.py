"""Benchmark data: loaders for the 15 tasks of ``sead-bench`` and the stream protocol.

The data files are not part of the package. They are looked up in the
``data_dir`` argument, else in ``$SEAD_DATA``, else in ``../shared/datasets``
next to the repository (and next to the current directory), and each is
checked against the SHA-256 in ``manifest.json`` before it is read. A missing
file raises :class:`DatasetNotFoundError` saying where it was looked for,
where to download it and where to put it; a corrupt one raises
:class:`DatasetChecksumError`.

Each ``load_<task>()`` returns ``(X, y)`` in file order (``X`` float64,
C-contiguous, ``(n, d)``; ``y`` int64 0/1). :func:`load_task` returns the
stream as the benchmark protocol wants it: ODDS tasks as seeded shuffles of
50-row contiguous chunks (:func:`shuffle_chunks`), electricity and NAB in time
order. :data:`TASKS` describes every task; :func:`load_river_shuttle` (task
``river-shuttle``) uses the copy of Shuttle bundled with River and works with
no data directory at all.

:func:`agent_telemetry` is different: a seeded generator of LLM-agent telemetry with labelled
incidents (:class:`AgentTelemetry`, :data:`INCIDENT_KINDS`), needing no file.
"""

from ._files import (
    DatasetChecksumError,
    DatasetNotFoundError,
    FileEntry,
    candidate_dirs,
    clear_checksum_cache,
    data_path,
    find_data_dir,
    manifest,
    sha256_file,
    verify_file,
)
from .agent_telemetry import INCIDENT_KINDS, AgentTelemetry, agent_telemetry
from .tasks import (
    BENCHMARK_TASKS,
    NAB_WINDOW,
    TASKS,
    TaskInfo,
    available_tasks,
    load_annthyroid,
    load_cardio,
    load_cover,
    load_electricity,
    load_http,
    load_mammography,
    load_nab_cpu_asg,
    load_nab_machine_temp,
    load_nab_nyc_taxi,
    load_pendigits,
    load_river_shuttle,
    load_satellite,
    load_satimage2,
    load_shuttle,
    load_smtp,
    load_task,
    load_thyroid,
    shuffle_chunks,
)

__all__ = [
    "AgentTelemetry",
    "BENCHMARK_TASKS",
    "DatasetChecksumError",
    "DatasetNotFoundError",
    "FileEntry",
    "INCIDENT_KINDS",
    "NAB_WINDOW",
    "TASKS",
    "TaskInfo",
    "agent_telemetry",
    "available_tasks",
    "candidate_dirs",
    "clear_checksum_cache",
    "data_path",
    "find_data_dir",
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
    "manifest",
    "sha256_file",
    "shuffle_chunks",
    "verify_file",
]
