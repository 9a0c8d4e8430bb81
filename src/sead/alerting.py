"""An alert signal made from an ensemble's anomaly score: early first crossings, no repeats.

:class:`sead.SEAD`'s score ranks points: a spike scores high for several rows in a row, the
first row of an anomaly is often not the highest, and the scores of a long stream reach higher
than those of a short one. That is what a ranking metric wants, not an alert: an alert should
fire once, at the first row of the anomaly, with a threshold that means the same on every
stream. :class:`AlertSignal` turns the ensemble's score ``S_t`` (in [0, 1]) of each row of a
stream into such a signal ``A_t`` (in [0, 1], higher = more alarming); a *detection* is a row
with ``A_t >= threshold``. Per row, in order:

1. **Surprise, corrected for the stream's age.** With the tail output, ``1 - S_t`` is the
   weighted geometric mean of the detectors' conformal p-values, which cannot go below
   ``1 / (n + 1)`` after ``n`` rows: the same anomaly reaches a higher score on a long stream.
   So ``A_t = 1 - min(1, (1 - S_t) * n_t ** size_correction)``, ``n_t`` the row's number in
   its stream (1 for the first); ``size_correction=0`` gives ``A_t = S_t``.
2. **Range break** (with the raw rows ``X``, and ``range_window`` set). A row one of whose
   features lies outside the range ``[lo, hi]`` of that feature's last ``range_window`` values,
   once ``range_warmup`` rows have been seen, gets ``A_t = 1`` — when the ensemble also finds
   it at least a little unusual: ``S_t >= range_min_score``, and ``S_t >= range_margin_score``
   when the value is only marginally outside (by at most ``range_margin * (hi - lo)``). A value
   never seen before is what an operator asks about first, and the ensemble's shingle
   detectors see it only diluted; a value just past the edge of a noisy range is weaker
   evidence, hence the stricter score. The range is kept per
   feature in ``range_blocks`` blocks of ``range_window // range_blocks`` rows (the window
   covers the last ``range_window`` to ``range_window * (1 + 1 / range_blocks)`` rows), so the
   state is O(``range_blocks`` x features) and a row costs O(features). NaN features are
   neither checked nor learned.
3. **Suppression of repeats.** For ``suppress`` rows after a detection the signal is held
   below the threshold (``A_t * threshold / 2``), so one anomaly is one detection, and the
   next one can fire once the hold is over.

The state of many streams is stacked by *slot*, as :mod:`sead.normalization` stacks its
references: every state array has a leading slot axis, and :meth:`AlertSignal.run` advances
the rows of many slots, in any interleaving, in one compiled call (row by row, each against
its slot's state). :meth:`AlertSignal.transform_update` is the single-stream convenience
(slot 0). With ``update=False`` nothing changes (every row is measured against the current
state).

The defaults were chosen on the Numenta Anomaly Benchmark (``sead-bench --suite nab``;
``docs/algorithm.md`` says what each parameter buys there, ``docs/benchmark.md`` has the
scores and the half-corpus cross-check): they are parameters chosen on NAB, not derived.

The telemetry path uses it in the detection mode of its alert policy
(``sead.telemetry.AlertPolicy(mode="detect")``, ``sead watch --mode detect``), the state kept per
key slot beside the keyed models; on :func:`sead.datasets.agent_telemetry` the default
persistence mode alerts better (``docs/telemetry.md`` has both measured).

Examples
--------
A stream whose ensemble score is noise below 0.9 with a burst of high scores at rows 600-609,
and a value that leaves its range at row 800:

>>> import numpy as np
>>> from sead.alerting import AlertSignal
>>> rng = np.random.default_rng(0)
>>> S = rng.uniform(0.0, 0.9, size=1000)
>>> S[600:610] = 0.9995
>>> X = rng.normal(size=(1000, 1))
>>> X[800] = 9.0
>>> S[800] = 0.9
>>> sig = AlertSignal(threshold=0.97, size_correction=0.0)
>>> A = sig.transform_update(S, X)
>>> np.flatnonzero(A >= 0.97).tolist()       # one detection per event, the first row
[600, 800]
>>> bool(A[601:610].max() < 0.97)            # the rest of the burst is held back
True
"""

from __future__ import annotations

import math
from collections import namedtuple

import numpy as np
from numba import njit

from ._params import Interval, init_params, params_repr, validate_params
from ._stack import bundler, grown, load_slots, writable_state

__all__ = ["AlertSignal"]

# counts columns
_N_ROWS, _COOL, _N_RANGE, _FILL, _HEAD = 0, 1, 2, 3, 4
_N_COUNTS = 5

AlertState = namedtuple(
    "AlertState", ["counts", "block_max", "block_min", "cur_max", "cur_min", "win_max", "win_min"]
)
AlertState.__doc__ = """The signal's state for every slot (the arrays of ``AlertSignal.state_``).

``counts`` int64 (capacity, 5): rows seen, cool-down rows left, rows in the range, rows in the
current block, the next block to replace; for ``d`` features and ``B`` blocks, ``block_max``,
``block_min`` float64 (capacity, B·d) the blocks' extremes, ``cur_max``, ``cur_min`` (capacity,
d) the current block's, ``win_max``, ``win_min`` (capacity, d) the window's (over the blocks).
"""

_alert_state = bundler(AlertState)

AlertConfig = namedtuple(
    "AlertConfig",
    [
        "threshold",
        "suppress",
        "size_correction",
        "n_blocks",
        "block_len",
        "warmup",
        "margin",
        "min_score",
        "margin_score",
    ],
)
AlertConfig.__doc__ = """The parameters as the kernel takes them (``n_blocks``, ``block_len``,
``suppress`` and ``warmup`` int; the others float)."""


@njit(cache=True, inline="always")
def _range_excess(X, r, s, d, st) -> float:
    """The largest excess beyond its range of a feature of row ``r``, relative to the range's
    width (``inf`` beyond a range of width 0; -1 when no feature is outside)."""
    cur_max, cur_min, win_max, win_min = st.cur_max, st.cur_min, st.win_max, st.win_min
    best = -1.0
    for j in range(d):
        x = X[r, j]
        if math.isnan(x):
            continue
        hi = max(win_max[s, j], cur_max[s, j])
        lo = min(win_min[s, j], cur_min[s, j])
        if hi < lo:  # nothing learned for this feature yet
            continue
        excess = max(x - hi, lo - x)
        if excess > 0.0:
            width = hi - lo
            rel = excess / width if width > 0.0 else np.inf
            if rel > best:
                best = rel
    return best


@njit(cache=True, inline="always")
def _range_learn(X, r, s, d, B, L, st):
    """Row ``r`` enters slot ``s``'s range: the current block's extremes, and when the block is
    complete (``L`` rows) it replaces the oldest of the ``B`` blocks."""
    counts, block_max, block_min = st.counts, st.block_max, st.block_min
    cur_max, cur_min, win_max, win_min = st.cur_max, st.cur_min, st.win_max, st.win_min
    for j in range(d):
        x = X[r, j]
        if math.isnan(x):
            continue
        if x > cur_max[s, j]:
            cur_max[s, j] = x
        if x < cur_min[s, j]:
            cur_min[s, j] = x
    counts[s, _N_RANGE] += 1
    counts[s, _FILL] += 1
    if counts[s, _FILL] < L:
        return
    # the block is complete: it replaces the oldest one, and the window's extremes are rebuilt
    h = counts[s, _HEAD]
    for j in range(d):
        block_max[s, h * d + j] = cur_max[s, j]
        block_min[s, h * d + j] = cur_min[s, j]
        cur_max[s, j] = -np.inf
        cur_min[s, j] = np.inf
    counts[s, _HEAD] = (h + 1) % B
    counts[s, _FILL] = 0
    for j in range(d):
        hi = -np.inf
        lo = np.inf
        for b in range(B):
            hi = max(hi, block_max[s, b * d + j])
            lo = min(lo, block_min[s, b * d + j])
        win_max[s, j] = hi
        win_min[s, j] = lo


@njit(cache=True)
def _alert_run(S, slots, X, use_x, update, out, raw, want_raw, cfg, st):
    """Row by row: the signal of row ``r`` from slot ``slots[r]``'s state (see the module
    docstring), then, with ``update``, the row enters that state. With ``want_raw``,
    ``raw[r]`` gets the signal before the suppression. ``cfg`` is an :data:`AlertConfig`,
    ``st`` the :data:`AlertState`."""
    threshold, suppress, size_correction = cfg.threshold, cfg.suppress, cfg.size_correction
    min_score, margin, margin_score = cfg.min_score, cfg.margin, cfg.margin_score
    counts = st.counts
    d = X.shape[1] if use_x else 0
    for r in range(S.shape[0]):
        s = slots[r]
        n_t = counts[s, _N_ROWS] + 1
        p = 1.0 - S[r]
        if size_correction > 0.0:
            p *= math.exp(size_correction * math.log(n_t))
        a = 1.0 - min(p, 1.0)
        if use_x and counts[s, _N_RANGE] >= cfg.warmup and S[r] >= min_score:
            rel = _range_excess(X, r, s, d, st)
            if rel > margin or (rel > 0.0 and S[r] >= margin_score):
                a = 1.0
        if want_raw:
            raw[r] = a
        if counts[s, _COOL] > 0:
            out[r] = 0.5 * threshold * a
            if update:
                counts[s, _COOL] -= 1
        else:
            out[r] = a
            if update and a >= threshold:
                counts[s, _COOL] = suppress
        if update:
            counts[s, _N_ROWS] = n_t
            if use_x:
                _range_learn(X, r, s, d, cfg.n_blocks, cfg.block_len, st)


_FLOAT_FIELDS = ("block_max", "block_min", "cur_max", "cur_min", "win_max", "win_min")


class AlertSignal:
    """Alert signal from an ensemble score: age-corrected surprise, range breaks, no repeats.

    See the module docstring (:mod:`sead.alerting`) for the definition. Detections are the rows
    whose signal is ``>= threshold``.

    Parameters
    ----------
    threshold
        Detection threshold in (0, 1]: a row whose signal reaches it is a detection and starts
        the suppression. The default is the threshold NAB's optimiser picks for the standard
        profile (``docs/benchmark.md``).
    suppress
        Rows after a detection during which the signal is held below the threshold (0: none).
    size_correction
        Exponent ``c`` of the age correction ``(1 - S_t) * n_t ** c`` (0: the score as is).
    range_window
        Rows of history of the range check; ``None`` turns the range check off (then ``X`` is
        not needed and is ignored).
    range_blocks
        Blocks the range window is kept in (its resolution).
    range_warmup
        Rows (with ``X``) learned before the range check starts.
    range_min_score
        Ensemble score a range break needs to count (0: every break counts).
    range_margin
        Excess beyond the range, as a share of the range's width, up to which a break is
        *marginal* (0: none is).
    range_margin_score
        Ensemble score a marginal break needs to count (1: only a saturated score).

    Attributes
    ----------
    n_features_
        Width of ``X``, fixed at the first call with ``X`` (``None`` before).
    state_
        dict of str to ndarray: the stacked state, every array with a leading slot axis: ``counts``
        (int64, rows seen, suppression left, rows in the range, fill and head of the block ring) and
        the range extremes (float64: per block, the current block and the window).

    Examples
    --------
    Two streams interleaved in one call give what each gives alone:

    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> S = rng.uniform(size=400)
    >>> slots = np.tile([0, 1], 200)
    >>> both = AlertSignal()
    >>> both.allocate(2)
    >>> A = both.run(S, slots, update=True)
    >>> alone = AlertSignal().transform_update(S[slots == 1])
    >>> bool(np.array_equal(A[slots == 1], alone))
    True
    """

    _parameter_constraints = {
        "threshold": [Interval("real", 0, 1, closed="right")],
        "suppress": [Interval("int", 0, None)],
        "size_correction": [Interval("real", 0, 1)],
        "range_window": [Interval("int", 1, None), None],
        "range_blocks": [Interval("int", 1, 4096)],
        "range_warmup": [Interval("int", 0, None)],
        "range_min_score": [Interval("real", 0, 1)],
        "range_margin": [Interval("real", 0, None)],
        "range_margin_score": [Interval("real", 0, 1)],
    }

    def __init__(
        self,
        threshold: float = 0.96,
        suppress: int = 100,
        size_correction: float = 0.2,
        range_window: int | None = 4000,
        range_blocks: int = 8,
        range_warmup: int = 100,
        range_min_score: float = 0.78,
        range_margin: float = 0.02,
        range_margin_score: float = 0.86,
    ):
        self.threshold = threshold
        self.suppress = suppress
        self.size_correction = size_correction
        self.range_window = range_window
        self.range_blocks = range_blocks
        self.range_warmup = range_warmup
        self.range_min_score = range_min_score
        self.range_margin = range_margin
        self.range_margin_score = range_margin_score

    # ---- parameters ---------------------------------------------------------------------
    def get_params(self) -> dict:
        """The constructor's arguments: ``{name: value}``."""
        return init_params(self)

    def set_params(self, **params) -> AlertSignal:
        """Set parameters by name and return ``self``.

        The values are checked by the next :meth:`allocate`; the state already allocated is
        kept as it is (allocate again for the new parameters to take effect).

        Parameters
        ----------
        **params
            New values of constructor parameters.

        Returns
        -------
        AlertSignal
            ``self``.

        Raises
        ------
        ValueError
            If a name is not a parameter.
        """
        known = self.get_params()
        for k, v in params.items():
            if k not in known:
                raise ValueError(
                    f"AlertSignal has no parameter {k!r}; parameters: {', '.join(known)}"
                )
            setattr(self, k, v)
        return self

    def clone(self) -> AlertSignal:
        """A fresh signal with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        return params_repr(self)

    # ---- stacked state ------------------------------------------------------------------
    def _block_len(self) -> int:
        return (
            max(1, int(self.range_window) // int(self.range_blocks))
            if self.range_window is not None
            else 1
        )

    def _widths(self, d: int) -> dict:
        B = int(self.range_blocks)
        return {
            "block_max": B * d,
            "block_min": B * d,
            "cur_max": d,
            "cur_min": d,
            "win_max": d,
            "win_min": d,
        }

    @staticmethod
    def _fresh_value(name: str) -> float:
        """What a state array of a fresh slot holds: no rows counted, empty ranges."""
        if name == "counts":
            return 0
        return -np.inf if name.endswith("max") else np.inf

    @property
    def slot_capacity_(self) -> int:
        """Number of slots (streams) the state is allocated for."""
        return self.state_["counts"].shape[0]

    def allocate(self, capacity: int = 1, n_features: int | None = None) -> None:
        """Allocate fresh state for ``capacity`` slots (parameters checked here).

        Parameters
        ----------
        capacity
            Number of slots (streams).
        n_features
            Width of the ``X`` the range check will see; ``None``: fixed by the first call with
            ``X``. Giving it makes :meth:`nbytes_per_slot` final at once (what a caller that
            keeps the state beside other per-slot state wants).
        """
        validate_params(self)
        capacity = int(capacity)
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.n_features_ = None
        self.state_ = {"counts": np.zeros((capacity, _N_COUNTS), dtype=np.int64)}
        self._allocate_range(capacity, 0)
        if n_features is not None:
            if int(n_features) < 0:
                raise ValueError(f"n_features must be >= 0, got {n_features}")
            self._fix_features(int(n_features))

    def _allocate_range(self, capacity: int, d: int) -> None:
        for name, w in self._widths(d).items():
            self.state_[name] = np.full((capacity, w), self._fresh_value(name), dtype=np.float64)

    def _fix_features(self, d: int) -> None:
        """The first ``X`` fixes the width; the (so far empty) range arrays get it."""
        if self.n_features_ is None:
            self.n_features_ = int(d)
            self._allocate_range(self.slot_capacity_, int(d))
        elif d != self.n_features_:
            raise ValueError(
                f"X has {d} feature(s) but the signal's range state has {self.n_features_} "
                "(fixed at the first call with X)"
            )

    def _require(self) -> None:
        if getattr(self, "state_", None) is None:
            raise RuntimeError(
                "AlertSignal has no state: call allocate(capacity) first (or use transform_update)"
            )

    def reserve(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots (existing slots keep their state; new ones are
        fresh)."""
        self._require()
        if capacity <= self.slot_capacity_:
            return
        self.state_.update(
            {name: grown(a, capacity, self._fresh_value(name)) for name, a in self.state_.items()}
        )

    def reset(self, slots) -> None:
        """Give ``slots`` (an int array or a slice) the fresh state."""
        self._require()
        for name, a in self.state_.items():
            a[slots] = self._fresh_value(name)

    def copy_slots(self, src, dst) -> None:
        """Copy the state of slots ``src`` onto slots ``dst`` (same length)."""
        self._require()
        for a in self.state_.values():
            a[dst] = a[src]

    def slot_state(self, slots) -> dict:
        """``{name: array}``: a copy of the state of ``slots``."""
        self._require()
        return {name: a[slots].copy() for name, a in self.state_.items()}

    def load_slot_state(self, slots, arrays: dict) -> None:
        """Write arrays from :meth:`slot_state` into ``slots`` (names, shapes and dtypes checked;
        a signal that has not seen ``X`` yet takes the width of the arrays)."""
        self._require()
        missing = [k for k in self.state_ if k not in arrays]
        if missing:
            raise ValueError(
                f"alert state is missing {missing}; expected the arrays {list(self.state_)}"
            )
        w = np.asarray(arrays["cur_max"]).shape[-1] if np.ndim(arrays["cur_max"]) else 0
        if self.n_features_ is None and w:
            self._fix_features(w)
        load_slots(self.state_, arrays, slots, "alert state")

    def nbytes_per_slot(self) -> int:
        """Bytes of state per slot (with the range arrays at the width fixed so far)."""
        self._require()
        return int(
            sum(
                a[0].nbytes if a.shape[0] else a.dtype.itemsize * a.shape[1]
                for a in self.state_.values()
            )
        )

    def __setstate__(self, state):
        self.__dict__.update(writable_state(state))

    # ---- running ------------------------------------------------------------------------
    def _check_scores(self, S) -> np.ndarray:
        try:
            S = np.ascontiguousarray(S, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"S must be an array of ensemble scores in [0, 1], got {type(S).__name__}"
            ) from None
        if S.ndim != 1:
            raise ValueError(f"S must be 1-D (one ensemble score per row), got shape {S.shape}")
        bad = ~((S >= 0.0) & (S <= 1.0))  # NaN fails both comparisons
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"S must hold ensemble scores in [0, 1]; S[{i}] = {float(S[i])!r}")
        return S

    def _check_x(self, X, n: int):
        if X is None or self.range_window is None:
            return np.empty((n, 0), dtype=np.float64), False
        try:
            X = np.ascontiguousarray(X, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"X must be a numeric (n, d) array, got {type(X).__name__}") from None
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or X.shape[0] != n:
            raise ValueError(
                f"X must have shape (n, d) with n = {n} (one row per score), got {X.shape}"
            )
        if np.isinf(X).any():
            i, j = np.argwhere(np.isinf(X))[0]
            raise ValueError(
                f"X[{i}, {j}] = {X[i, j]}: values must be finite (NaN = missing, skipped)"
            )
        self._fix_features(X.shape[1])
        return X, True

    def run(self, S, slots, update: bool, X=None, raw=None) -> np.ndarray:
        """The signal of every row, row ``t`` against the state of slot ``slots[t]``.

        Parameters
        ----------
        S
            array-like of float, shape (n,): ensemble scores in [0, 1], rows in stream order.
        slots
            array-like of int, shape (n,): the slot (stream) of each row, in ``[0, capacity)``.
        update
            Advance the state (suppression, row counts, ranges) row by row; ``False`` leaves it
            unchanged (each row measured against the current state).
        X
            array-like of float, shape (n, d): the rows' raw values, for the range check (ignored
            when ``range_window`` is None). NaN entries are skipped; the width is fixed at the first
            call with ``X``.
        raw
            ndarray of float64, shape (n,), or None: when given, it receives each row's signal
            *before* the suppression of repeats (what the row alone says; a caller that asks
            "is the key still anomalous?" during a hold reads it here).

        Returns
        -------
        ndarray of float64, shape (n,)
            The signal, in [0, 1]; detections are the rows ``>= threshold``.

        Raises
        ------
        ValueError
            For a score outside [0, 1] or NaN, slots of the wrong shape or out of range, ``X``
            of the wrong shape, infinite or of another width than before.
        """
        self._require()
        S = self._check_scores(S)
        n = S.shape[0]
        slots = np.ascontiguousarray(slots, dtype=np.int64) if n else np.zeros(0, dtype=np.int64)
        if slots.shape != (n,):
            raise ValueError(f"slots must have shape ({n},) (one per score), got {slots.shape}")
        if n and (slots.min() < 0 or slots.max() >= self.slot_capacity_):
            bad = int(slots[(slots < 0) | (slots >= self.slot_capacity_)][0])
            raise ValueError(
                f"slot {bad} is outside [0, {self.slot_capacity_}) (allocate or reserve more slots)"
            )
        X, use_x = self._check_x(X, n)
        out = np.empty(n, dtype=np.float64)
        want_raw = raw is not None
        if want_raw:
            if not (
                isinstance(raw, np.ndarray)
                and raw.dtype == np.float64
                and raw.shape == (n,)
                and raw.flags.c_contiguous
                and raw.flags.writeable
            ):
                raise ValueError(
                    f"raw must be a writable contiguous float64 array of shape ({n},), got "
                    f"{getattr(raw, 'dtype', type(raw).__name__)} {np.shape(raw)}"
                )
        else:
            raw = np.empty(0, dtype=np.float64)
        if n == 0:
            return out
        cfg = AlertConfig(
            threshold=float(self.threshold),
            suppress=int(self.suppress),
            size_correction=float(self.size_correction),
            n_blocks=int(self.range_blocks),
            block_len=int(self._block_len()),
            warmup=int(self.range_warmup),
            margin=float(self.range_margin),
            min_score=float(self.range_min_score),
            margin_score=float(self.range_margin_score),
        )
        st = _alert_state(self.state_)
        _alert_run(S, slots, X, use_x, bool(update), out, raw, want_raw, cfg, st)
        return out

    # ---- one stream (slot 0) ------------------------------------------------------------
    def _one_stream(self, S, X, update):
        if getattr(self, "state_", None) is None:
            self.allocate(1)
        S = self._check_scores(S)
        return self.run(S, np.zeros(S.shape[0], dtype=np.int64), update, X)

    def transform_update(self, S, X=None) -> np.ndarray:
        """Single stream (slot 0): the signal of each row, then the row enters the state."""
        return self._one_stream(S, X, True)

    def transform(self, S, X=None) -> np.ndarray:
        """Single stream (slot 0): the signal of each row against the current state; pure."""
        return self._one_stream(S, X, False)

    def detections(self, signal) -> np.ndarray:
        """Rows of ``signal`` (an output of :meth:`run`) that are detections (``>= threshold``)."""
        return np.flatnonzero(np.asarray(signal) >= float(self.threshold))
