"""Synthetic LLM-agent telemetry with labelled incidents: :func:`agent_telemetry`.

One record per agent step, as an agent service would log it::

    {"agent": "agent-003", "ts": 1735689612.481, "latency_ms": 2841.7, "input_tokens": 1630,
     "output_tokens": 212, "tool_calls": 1, "error": false, "cost_usd": 0.00562}

**Normal behaviour.** Every agent has its own baseline, drawn from the seed: step interval
(uniform in ``interval_s``, each gap jittered by a gamma factor with a coefficient of
variation of 0.5), prompt size (median input tokens lognormal around 1,500), verbosity
(median output tokens lognormal around 250), speed (fixed overhead 150-500 ms, 5-30 ms per
output token, 0.02-0.08 ms per input token, 80-400 ms per tool call), tool-call rate
(Poisson, mean 0.3-2.5 per step), error rate (0.3 %-2 %) and price tier (three
input/output prices per million tokens: 0.15/0.60, 1/4 and 3/15 USD). Per step, tokens are
lognormal around the agent's medians (sigma 0.35 for input, 0.5 for output), latency is
derived from the tokens and tool calls (so the fields are correlated) times a lognormal
noise (sigma 0.25, a heavy right tail) and a slow shared load wave
(``exp(s * sin(2 pi t / load_period_s))``, agent sensitivity ``s`` in 0.05-0.15); a failed
step returns early (output tokens cut to 1/20). ``cost_usd`` is
``(input_tokens * price_in + output_tokens * price_out) / 1e6``.

**Incidents.** Each is a contiguous run of steps of one agent, labelled by its time range
``[start_ts, end_ts]`` (both ends inclusive: the times of its first and last step). None
starts in the first ``warmup_fraction`` of an agent's steps, two incidents of an agent are at
least 20 steps apart, and a share ``clean_fraction`` of the agents has none. Kinds are
dealt in shuffled rounds so that every kind occurs about equally often. Magnitudes (drawn
uniformly per incident, then raised to the power ``intensity``; ``magnitude`` column):

==================  ===========  ==================================================================
kind                steps        effect during the labelled range
==================  ===========  ==================================================================
``latency_spike``   4-12         latency x 3-5
``runaway_tokens``  6-20         output tokens x 4-8 (latency and cost follow through the tokens)
``error_burst``     8-20         ``round(n * p)`` of its ``n`` steps fail, ``p`` = 0.4-0.7
                                 (``intensity`` scales ``p``, capped at 0.95)
``tool_call_storm`` 6-15         tool-call rate x 4-8 plus 2 per step; each extra call adds 150
                                 input tokens (latency and cost follow)
``slow_drift``      80-160       latency multiplier ramps linearly from 1 to 2.5-3.5, then
                                 drops back
``level_shift``     15 (onset)   latency x 1.8-2.5 from the onset to the end of the stream: the
                                 change stays as the new normal, so only its first 15 steps are
                                 labelled as the incident
==================  ===========  ==================================================================

All draws are vectorised with numpy (1,000 agents x 300 steps in well under a second) and
deterministic given ``seed``; an agent's normal behaviour uses its own random streams, so
changing the incident parameters changes only the incidents.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "INCIDENT_KINDS",
    "RECORD_FIELDS",
    "AgentTelemetry",
    "agent_telemetry",
    "label_times",
    "write_jsonl",
]

#: The incident kinds, in the order of the table in the module docstring.
INCIDENT_KINDS = (
    "latency_spike",
    "runaway_tokens",
    "error_burst",
    "tool_call_storm",
    "slow_drift",
    "level_shift",
)

#: The fields of a record as logged (``to_jsonl`` writes these, in this order).
RECORD_FIELDS = (
    "agent",
    "ts",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "tool_calls",
    "error",
    "cost_usd",
)

# kind: (min steps, max steps, low magnitude, high magnitude)
_SPEC = {
    "latency_spike": (4, 12, 3.0, 5.0),
    "runaway_tokens": (6, 20, 4.0, 8.0),
    "error_burst": (8, 20, 0.4, 0.7),
    "tool_call_storm": (6, 15, 4.0, 8.0),
    "slow_drift": (80, 160, 2.5, 3.5),
    "level_shift": (15, 15, 1.8, 2.5),
}
_MIN_GAP = 20  # steps between two incidents of one agent
_PRICES = np.array([[0.15, 0.60], [1.0, 4.0], [3.0, 15.0]])  # USD per 1M tokens (in, out)
_TOOL_TOKENS = 150  # input tokens a storm's extra tool call feeds back into the context
_DEFAULT_START = 1_735_689_600.0  # 2025-01-01T00:00:00Z


@dataclass(frozen=True)
class AgentTelemetry:
    """The generated stream: ``records`` in time order and the ``incidents`` that label it.

    Attributes
    ----------
    records
        One row per agent step, sorted by ``ts`` (ties by agent), agents interleaved. Columns: the
        :data:`RECORD_FIELDS` (``agent`` str, ``ts`` float epoch seconds rounded to the millisecond,
        ``latency_ms`` float, ``input_tokens``/``output_tokens``/``tool_calls`` int64, ``error``
        bool, ``cost_usd`` float), then ``label`` (int8, 1 inside an incident) and ``incident``
        (int64 row of ``incidents``, -1 outside any).
    incidents
        One row per incident, sorted by ``start_ts``: ``agent``, ``kind``, ``start_ts``, ``end_ts``
        (inclusive), ``n_records`` (steps labelled), ``magnitude`` (see the module docstring).
    """

    records: pd.DataFrame
    incidents: pd.DataFrame

    def to_jsonl(self, path, *, iso_time=False, labels=False):
        """Write the records as JSON lines; see :func:`write_jsonl`. Returns the line count."""
        return write_jsonl(self.records, path, iso_time=iso_time, labels=labels)

    def label(self, agent, ts, *, width=0.0):
        """Incident row per ``(agent, ts)`` (-1 outside any); see :func:`label_times`."""
        return label_times(agent, ts, self.incidents, width=width)


def _check_positive_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _check_fraction(name, value, low=0.0, high=1.0, high_open=False):
    ok = isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool)
    ok = (
        ok
        and math.isfinite(float(value))
        and low <= float(value)
        and (float(value) < high if high_open else float(value) <= high)
    )
    if not ok:
        hb = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in [{low}, {high}{hb}, got {value!r}")
    return float(value)


def _parse_start(start):
    if isinstance(start, str):
        ts = pd.Timestamp(start)
        if ts.tzinfo is None:
            ts = ts.tz_localize("UTC")
        return ts.timestamp()
    if isinstance(start, bool) or not isinstance(start, (int, float, np.integer, np.floating)):
        raise ValueError(f"start must be epoch seconds or an ISO 8601 string, got {start!r}")
    if not math.isfinite(float(start)):
        raise ValueError(f"start must be finite, got {start!r}")
    return float(start)


def agent_telemetry(
    n_agents=20,
    seed=0,
    *,
    steps=600,
    interval_s=(3.0, 8.0),
    start=_DEFAULT_START,
    clean_fraction=0.25,
    incidents_per_agent=2.0,
    warmup_fraction=0.2,
    intensity=1.0,
    load_period_s=3600.0,
    kinds=INCIDENT_KINDS,
):
    """Seeded telemetry of ``n_agents`` LLM agents with labelled incidents.

    Parameters
    ----------
    n_agents
        Number of agents (ids ``agent-000``, ``agent-001``, ...).
    seed
        Seed of every draw: the same arguments give the same stream.
    steps
        Steps (records) per agent. With the default intervals an agent's stream lasts about ``steps
        * 5.5`` seconds (600 steps: 30-80 minutes).
    interval_s
        (float, float): range of the agents' mean seconds between steps.
    start
        float or str: time of the first steps, epoch seconds or ISO 8601 (naive means UTC); each
        agent starts up to one of its intervals later.
    clean_fraction
        Share of agents without incidents (rounded to the nearest count).
    incidents_per_agent
        Mean number of incidents of an agent that has some (>= 1; the count is ``1 +
        Poisson(incidents_per_agent - 1)``, fewer if they do not fit).
    warmup_fraction
        Leading share of each agent's steps without incidents, in [0, 1).
    intensity
        Exponent on the magnitudes (> 0; 1 = the table of the module docstring, 0.5 = half the
        log-magnitude, so harder to detect).
    load_period_s
        Period of the shared slow load wave on latency.
    kinds
        sequence of str: incident kinds to draw from (a subset of :data:`INCIDENT_KINDS`).

    Returns
    -------
    AgentTelemetry
        ``records`` and ``incidents`` DataFrames.

    Examples
    --------
    >>> data = agent_telemetry(n_agents=4, steps=200, seed=0)
    >>> data.records.shape
    (800, 10)
    >>> data.records.iloc[0, :8].to_dict()
    {'agent': 'agent-002', 'ts': 1735689600.375, 'latency_ms': 4981.3, 'input_tokens': 1881,
     'output_tokens': 263, 'tool_calls': 1, 'error': False, 'cost_usd': 0.009588}
    >>> data.incidents[["agent", "kind", "n_records"]].values.tolist()
    [['agent-002', 'tool_call_storm', 6], ['agent-003', 'latency_spike', 8],
     ['agent-001', 'level_shift', 15], ['agent-001', 'runaway_tokens', 10],
     ['agent-002', 'error_burst', 13]]
    >>> int(data.records["label"].sum())
    52
    """
    n_agents = _check_positive_int("n_agents", n_agents)
    steps = _check_positive_int("steps", steps)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    try:
        lo_gap, hi_gap = (float(v) for v in interval_s)
    except (TypeError, ValueError):
        raise ValueError(
            f"interval_s must be a pair (low, high) of seconds, got {interval_s!r}"
        ) from None
    if not (math.isfinite(lo_gap) and math.isfinite(hi_gap) and 0 < lo_gap <= hi_gap):
        raise ValueError(f"interval_s must satisfy 0 < low <= high (finite), got {interval_s!r}")
    t0 = _parse_start(start)
    clean_fraction = _check_fraction("clean_fraction", clean_fraction)
    warmup_fraction = _check_fraction("warmup_fraction", warmup_fraction, high_open=True)
    ipa = incidents_per_agent
    if (
        isinstance(ipa, bool)
        or not isinstance(ipa, (int, float))
        or not (math.isfinite(ipa) and ipa >= 1)
    ):
        raise ValueError(f"incidents_per_agent must be a finite number >= 1, got {ipa!r}")
    if (
        isinstance(intensity, bool)
        or not isinstance(intensity, (int, float))
        or not (math.isfinite(intensity) and intensity > 0)
    ):
        raise ValueError(f"intensity must be a finite number > 0, got {intensity!r}")
    if (
        isinstance(load_period_s, bool)
        or not isinstance(load_period_s, (int, float))
        or not (math.isfinite(load_period_s) and load_period_s > 0)
    ):
        raise ValueError(f"load_period_s must be a finite number > 0, got {load_period_s!r}")
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    bad = [k for k in kinds if k not in _SPEC]
    if bad or not kinds:
        raise ValueError(
            f"kinds must be a non-empty subset of {list(INCIDENT_KINDS)}, got {list(kinds)!r}"
        )

    A, S = n_agents, steps
    ss_params, ss_noise, ss_inc = np.random.SeedSequence(int(seed)).spawn(3)
    rp, rn, ri = (np.random.default_rng(s) for s in (ss_params, ss_noise, ss_inc))

    # --- per-agent baselines
    mean_gap = rp.uniform(lo_gap, hi_gap, A)
    offset0 = rp.uniform(0.0, mean_gap)
    in_med = np.exp(rp.normal(math.log(1500.0), 0.5, A))
    out_med = np.exp(rp.normal(math.log(250.0), 0.5, A))
    overhead = rp.uniform(150.0, 500.0, A)
    ms_out = np.exp(rp.uniform(math.log(5.0), math.log(30.0), A))
    ms_in = rp.uniform(0.02, 0.08, A)
    ms_tool = rp.uniform(80.0, 400.0, A)
    tool_lam = rp.uniform(0.3, 2.5, A)
    p_err = rp.uniform(0.003, 0.02, A)
    tier = rp.integers(0, len(_PRICES), A)
    load_sens = rp.uniform(0.05, 0.15, A)
    load_phase = rp.uniform(0.0, 2 * math.pi)

    # --- per-step noise (independent of the incidents)
    gaps = mean_gap[:, None] * rn.gamma(4.0, 0.25, (A, S))
    ts = t0 + offset0[:, None] + np.cumsum(gaps, axis=1) - gaps[:, :1]
    z_in = rn.normal(0.0, 0.35, (A, S))
    z_out = rn.normal(0.0, 0.5, (A, S))
    z_lat = rn.normal(0.0, 0.25, (A, S))
    u_err = rn.random((A, S))
    tools = rn.poisson(np.broadcast_to(tool_lam[:, None], (A, S))).astype(np.int64)

    # --- incidents
    lat_mult = np.ones((A, S))
    out_mult = np.ones((A, S))
    p_step = np.broadcast_to(p_err[:, None], (A, S)).copy()
    extra_tools = np.zeros((A, S), dtype=np.int64)
    incident_of = np.full((A, S), -1, dtype=np.int64)
    inc_rows = _draw_incidents(ri, A, S, clean_fraction, float(ipa), warmup_fraction, kinds)
    inc_mag = []
    for i, (a, kind, s0, n) in enumerate(inc_rows):
        lo_n, hi_n, lo_m, hi_m = _SPEC[kind]
        m = ri.uniform(lo_m, hi_m)
        sl = slice(s0, s0 + n)
        if kind == "error_burst":
            m = min(0.95, m * intensity)
            fail = s0 + ri.choice(n, size=max(1, int(round(n * m))), replace=False)
            p_step[a, fail] = 1.0
        else:
            m = m**intensity
            if kind == "latency_spike":
                lat_mult[a, sl] *= m
            elif kind == "runaway_tokens":
                out_mult[a, sl] *= m
            elif kind == "tool_call_storm":
                extra_tools[a, sl] += ri.poisson(tool_lam[a] * (m - 1.0) + 2.0, n)
            elif kind == "slow_drift":
                lat_mult[a, sl] *= np.linspace(1.0, m, n)
            else:  # level_shift: persists to the end, only the onset is labelled
                lat_mult[a, s0:] *= m
        incident_of[a, sl] = i
        inc_mag.append(float(m))

    # --- derived fields
    tools = tools + extra_tools
    err = u_err < p_step
    in_tok = np.rint(in_med[:, None] * np.exp(z_in)).astype(np.int64) + _TOOL_TOKENS * extra_tools
    in_tok = np.maximum(in_tok, 1)
    out_tok = np.maximum(np.rint(out_med[:, None] * np.exp(z_out) * out_mult).astype(np.int64), 1)
    out_tok = np.where(err, np.maximum(out_tok // 20, 1), out_tok)
    load = np.exp(load_sens[:, None] * np.sin(2 * math.pi * (ts - t0) / load_period_s + load_phase))
    latency = (
        (
            overhead[:, None]
            + ms_in[:, None] * in_tok
            + ms_out[:, None] * out_tok
            + ms_tool[:, None] * tools
        )
        * np.exp(z_lat)
        * load
        * lat_mult
    )
    price = _PRICES[tier]
    cost = (in_tok * price[:, :1] + out_tok * price[:, 1:]) / 1e6

    # --- flatten in time order (ties by agent)
    width = max(3, len(str(A - 1)))
    names = np.array([f"agent-{k:0{width}d}" for k in range(A)], dtype=object)
    ts_r = np.round(ts, 3).ravel()
    agent_idx = np.repeat(np.arange(A), S)
    order = np.lexsort((agent_idx, ts_r))
    inc_flat = incident_of.ravel()[order]
    records = pd.DataFrame(
        {
            "agent": pd.array(names[agent_idx[order]], dtype="str"),
            "ts": ts_r[order],
            "latency_ms": np.round(latency, 1).ravel()[order],
            "input_tokens": in_tok.ravel()[order],
            "output_tokens": out_tok.ravel()[order],
            "tool_calls": tools.ravel()[order],
            "error": err.ravel()[order],
            "cost_usd": np.round(cost, 8).ravel()[order],
            "label": (inc_flat >= 0).astype(np.int8),
            "incident": inc_flat,
        }
    )

    # --- incidents table, sorted by start, ids renumbered to match
    ts_round = np.round(ts, 3)
    inc = pd.DataFrame(
        {
            "agent": pd.array([names[a] for a, _, _, _ in inc_rows], dtype="str"),
            "kind": pd.array([k for _, k, _, _ in inc_rows], dtype="str"),
            "start_ts": np.array([ts_round[a, s0] for a, _, s0, _ in inc_rows], dtype=float),
            "end_ts": np.array([ts_round[a, s0 + n - 1] for a, _, s0, n in inc_rows], dtype=float),
            "n_records": np.array([n for _, _, _, n in inc_rows], dtype=np.int64),
            "magnitude": np.round(np.array(inc_mag, dtype=float), 4),
        }
    )
    inc_order = np.lexsort(
        (inc["agent"].to_numpy(dtype=object).astype(str), inc["start_ts"].to_numpy())
    )
    renum = np.empty(len(inc_order), dtype=np.int64)
    renum[inc_order] = np.arange(len(inc_order))
    inc = inc.iloc[inc_order].reset_index(drop=True)
    if len(inc_order):
        flat = records["incident"].to_numpy()
        records["incident"] = np.where(flat >= 0, renum[np.maximum(flat, 0)], -1)
    return AgentTelemetry(records=records, incidents=inc)


def _draw_incidents(rng, A, S, clean_fraction, ipa, warmup_fraction, kinds):
    """List of (agent, kind, first step, n steps), non-overlapping per agent."""
    n_clean = int(round(clean_fraction * A))
    dirty = np.sort(rng.permutation(A)[n_clean:])
    counts = 1 + rng.poisson(ipa - 1.0, len(dirty)) if ipa > 1 else np.ones(len(dirty), dtype=int)
    total = int(counts.sum())
    rounds = -(-total // len(kinds)) if total else 0
    deck = [kinds[j] for _ in range(rounds) for j in rng.permutation(len(kinds))][:total]
    warm = int(math.ceil(warmup_fraction * S))
    avail = S - warm
    rows = []
    pos = 0
    for a, k in zip(dirty.tolist(), counts.tolist()):
        mine = deck[pos : pos + k]
        pos += k
        lengths = [int(rng.integers(_SPEC[c][0], _SPEC[c][1] + 1)) for c in mine]
        # drop incidents from the end until they fit after the warm-up
        while mine and sum(lengths) + _MIN_GAP * (len(mine) - 1) > avail:
            mine, lengths = mine[:-1], lengths[:-1]
        if not mine:
            continue
        perm = rng.permutation(len(mine))
        mine = [mine[j] for j in perm]
        lengths = [lengths[j] for j in perm]
        free = avail - sum(lengths) - _MIN_GAP * (len(mine) - 1)
        points = np.sort(rng.integers(0, free + 1, len(mine)))
        offset = warm
        for c, n, p in zip(mine, lengths, points.tolist()):
            rows.append((a, c, offset + p, n))
            offset += n + _MIN_GAP
    return rows


def label_times(agent, ts, incidents, *, width=0.0):
    """Incident row for each ``(agent, ts)``: the ``incidents`` row whose range it meets, else -1.

    A point at ``ts`` (or a bucket ``[ts, ts + width]``) meets an incident of its agent
    when ``ts <= end_ts`` and ``ts + width >= start_ts``; ``label = result >= 0``. Use
    ``width`` = the bucket length to label bucket rows whose ``ts`` is the bucket start.
    Incidents of one agent must not overlap (those of :func:`agent_telemetry` do not).

    Parameters
    ----------
    agent
        The agent of each row, 1-D.
    ts
        The time of each row (epoch seconds), 1-D, as long as ``agent``.
    incidents
        A DataFrame with the columns ``agent``, ``start_ts`` and ``end_ts`` (inclusive), such as
        :attr:`AgentTelemetry.incidents`.
    width
        The length of each row's time range (0: a point in time).

    Returns
    -------
    ndarray of int64, shape (n,)
        The position in ``incidents`` of the incident each row meets, or -1.

    Examples
    --------
    >>> inc = pd.DataFrame({"agent": ["a", "b"], "kind": ["latency_spike"] * 2,
    ...                     "start_ts": [10.0, 20.0], "end_ts": [15.0, 30.0]})
    >>> label_times(["a", "a", "b", "b"], [12.0, 16.0, 12.0, 19.5], inc).tolist()
    [0, -1, -1, -1]
    >>> label_times(["a", "a", "b", "b"], [12.0, 16.0, 12.0, 19.5], inc, width=1.0).tolist()
    [0, -1, -1, 1]
    """
    agent = np.asarray(agent, dtype=object)
    ts = np.asarray(ts, dtype=float)
    if agent.shape != ts.shape or ts.ndim != 1:
        raise ValueError(
            f"agent and ts must be 1-d of one length, got shapes {agent.shape} and {ts.shape}"
        )
    if not (
        isinstance(width, (int, float))
        and not isinstance(width, bool)
        and math.isfinite(width)
        and width >= 0
    ):
        raise ValueError(f"width must be a finite number >= 0, got {width!r}")
    missing = [c for c in ("agent", "start_ts", "end_ts") if c not in incidents.columns]
    if missing:
        raise ValueError(f"incidents lacks the columns {missing}")
    out = np.full(ts.shape, -1, dtype=np.int64)
    if len(incidents) == 0 or len(ts) == 0:
        return out
    ids = np.arange(len(incidents))
    inc_agent = incidents["agent"].to_numpy(dtype=object)
    starts_all = incidents["start_ts"].to_numpy(dtype=float)
    ends_all = incidents["end_ts"].to_numpy(dtype=float)
    for name in pd.unique(inc_agent):
        sel = inc_agent == name
        o = np.argsort(starts_all[sel], kind="stable")
        st, en, idx = starts_all[sel][o], ends_all[sel][o], ids[sel][o]
        rows = np.flatnonzero(agent == name)
        if not len(rows):
            continue
        t = ts[rows]
        j = np.searchsorted(st, t + width, side="right") - 1
        ok = (j >= 0) & (en[np.maximum(j, 0)] >= t)
        out[rows[ok]] = idx[j[ok]]
    return out


def _json_column(values, kind):
    if kind == "bool":
        return np.where(values, "true", "false").tolist()
    if kind == "int":
        return values.astype(str).tolist()
    if kind == "float":
        # numpy prints the shortest repr that round-trips, as json does (NaN is refused earlier)
        return values.astype(np.float64).astype(str).tolist()
    uniq = {}
    return [uniq[v] if v in uniq else uniq.setdefault(v, json.dumps(v)) for v in values]


def write_jsonl(records, path, *, iso_time=False, labels=False):
    """Write telemetry ``records`` as JSON lines, one object per line, as a service logs them.

    Parameters
    ----------
    records
        Records with the :data:`RECORD_FIELDS` (and optionally ``label``/``incident``).
    path
        Where to write: a path (str or path-like), or a text file object, written to and left
        open.
    iso_time
        Write ``ts`` as an ISO 8601 UTC string with milliseconds (``"2025-01-01T00:00:00.209Z"``)
        instead of float epoch seconds.
    labels
        Also write ``label`` and ``incident`` (the ground truth a real service would not log).

    Returns
    -------
    int
        Number of lines written.
    """
    fields = list(RECORD_FIELDS) + (["label", "incident"] if labels else [])
    missing = [f for f in fields if f not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns {missing}")
    cols = []
    for f in fields:
        v = records[f].to_numpy()
        if f == "ts" and iso_time:
            ms = np.rint(v.astype(float) * 1000).astype(np.int64).astype("datetime64[ms]")
            cols.append([f'"{s}Z"' for s in np.datetime_as_string(ms, unit="ms")])
        elif v.dtype == bool:
            cols.append(_json_column(v, "bool"))
        elif np.issubdtype(v.dtype, np.integer):
            cols.append(_json_column(v, "int"))
        elif np.issubdtype(v.dtype, np.floating):
            if not np.isfinite(v).all():
                raise ValueError(f"column {f!r} holds NaN or infinity, which JSON cannot represent")
            cols.append(_json_column(v.astype(np.float64), "float"))
        else:
            cols.append(_json_column(v, "str"))
    template = "{" + ",".join(f'"{f}":%s' for f in fields) + "}\n"
    lines = [template % row for row in zip(*cols)]
    if hasattr(path, "write"):
        path.writelines(lines)
    else:
        with open(os.fspath(path), "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(lines)
    return len(lines)
