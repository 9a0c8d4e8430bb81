"""The state of SEAD for many streams at once: a pool of stacked detectors, the references and the
weights, all with a leading slot axis; one slot per stream.

:class:`sead.SEAD` and :class:`sead.SEADPlusPlus` run an :class:`Engine` with one slot;
:class:`sead.KeyedSEAD` runs one with a slot per key. A batch of rows, each tagged with its slot,
costs one compiled call per detector family (:class:`Pool`), one for the references and one for
the weights, whatever the number of slots; so a stream's scores are the same whether it is run
alone or interleaved with others.

The order of the work for a prequential batch (``score_learn``):

1. the pool scores and learns the rows (Python detectors first: they are the ones that can fail;
   their state is restored if they do, before any compiled detector has learned anything);
2. placeholder scores (a detector's own warm-up) become NaN, and each detector's count of
   learned points advances;
3. the references normalise and take in the raw scores;
4. the weights kernel forms the output and takes the multiplicative step.

SEAD++ (``plus``) cuts each slot's rows into segments at the points where its sample is redrawn
and runs the segments of all slots phase by phase, so that each draw sees the weights of the
rows before it, exactly as one model per stream would.
"""

from __future__ import annotations

import copy
import math
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from numba import njit

from ._kernels.random import counter_uniform, mix64
from ._stack import LEARN, SCORE, SCORE_LEARN, SKIP, Compiled, ObjectStack, Stack, writable_state
from .normalization import make_reference
from .weights import OUTPUT_CODES, mwu_rows, weighted_rows

__all__ = ["Pool", "Engine", "PlusConfig", "deferred_interrupt"]


class _Interrupts:
    """Ctrl-C held while a model is between two consistent states (see :func:`deferred_interrupt`).

    The first time a model runs in the main thread while Python's default SIGINT handler is
    installed, this installs a handler that behaves exactly like the default one — it raises
    :class:`KeyboardInterrupt` — except inside a critical section, where it only records the
    signal; the section raises it when it ends. A program that installs its own handler keeps
    it (and then gets no deferral). Entering and leaving a section costs two integer updates.
    """

    depth = 0
    pending = False
    installed = None  # None: not tried yet; True / False: whether our handler is in place

    @classmethod
    def handler(cls, signum, frame):
        if cls.depth > 0:
            cls.pending = True
            return
        raise KeyboardInterrupt

    @classmethod
    def ensure(cls) -> bool:
        if cls.installed is None or (
            cls.installed and signal.getsignal(signal.SIGINT) is not cls.handler
        ):
            cls.installed = False
            if (
                threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler
            ):
                signal.signal(signal.SIGINT, cls.handler)
                cls.installed = True
        return cls.installed


@contextmanager
def deferred_interrupt():
    """Hold a Ctrl-C (SIGINT) that arrives inside the block until the block is done.

    The compiled kernels hold the GIL, so Python sees a Ctrl-C only between two kernel calls;
    raised there it would leave some detectors updated and others not. Inside this block it is
    recorded and raised as :class:`KeyboardInterrupt` once the model is consistent again (in
    the main thread, while no other SIGINT handler than Python's default was installed).
    """
    if not _Interrupts.installed and not _Interrupts.ensure():
        yield
        return
    _Interrupts.depth += 1
    try:
        yield
    finally:
        _Interrupts.depth -= 1
        if _Interrupts.depth == 0 and _Interrupts.pending:
            _Interrupts.pending = False
            raise KeyboardInterrupt


# ------------------------------------------------------------------------------------------
# the detectors


class Pool:
    """The detectors of an ensemble, grouped by family into stacks (one slot per stream).

    Inside the engine the detectors are in *pool order*: the groups one after the other
    (Python detectors first, see the module docstring), each group's columns contiguous.
    ``order[i]`` is the caller's index of the detector in pool position ``i``;
    :meth:`to_caller` / :meth:`to_pool` move the last axis of an array between the two orders.
    ``run(X, slots, modes, R)`` fills ``R`` (n, K, pool order) with every detector's score of
    every row (NaN where a detector skipped the row).
    """

    def __init__(self, detectors, schema, capacity: int = 1):
        self.K = len(detectors)
        groups: dict = {}
        python = []
        for k, det in enumerate(detectors):
            cls = getattr(det, "_stack_class", None)
            if cls is None:
                python.append(k)
            else:
                groups.setdefault(cls, []).append(k)
        members = ([(ObjectStack, python)] if python else []) + list(groups.items())
        self.groups = []  # (stack, first column, end column) in pool order
        order = []
        for cls, cols in members:
            a = len(order)
            order += cols
            self.groups.append((cls([detectors[k] for k in cols], schema, capacity), a, len(order)))
        self.order = np.array(order, dtype=np.int64)
        self.position = np.argsort(self.order)  # caller index -> pool position
        self.warmup_points = np.array(
            [int(detectors[k]._warmup_points()) for k in order], dtype=np.int64
        )
        self._modes_cache: dict = {}

    def to_caller(self, a):
        """``a`` with its last axis (pool order) in the caller's order of the detectors."""
        out = np.empty_like(a)
        out[..., self.order] = a
        return out

    def to_pool(self, a):
        """``a`` with its last axis (the caller's order) in pool order."""
        return np.asarray(a)[..., self.order]

    @property
    def has_python(self) -> bool:
        return any(isinstance(stack, ObjectStack) for stack, _, _ in self.groups)

    def reserve(self, capacity: int) -> None:
        for stack, _, _ in self.groups:
            stack.reserve(capacity)
        self._modes_cache.clear()
        self.__dict__.pop("_one_row_calls", None)

    def reset(self, slots) -> None:
        for stack, _, _ in self.groups:
            stack.reset(slots)

    def copy_slots(self, src, dst) -> None:
        for stack, _, _ in self.groups:
            stack.copy_slots(src, dst)

    def nbytes_per_slot(self) -> int:
        return sum(stack.nbytes_per_slot() for stack, _, _ in self.groups)

    def stack_of(self, k: int):
        """``(stack, member index)`` of the caller's detector ``k``."""
        pos = int(self.position[k])
        for stack, a, b in self.groups:
            if a <= pos < b:
                return stack, pos - a
        raise IndexError(k)  # pragma: no cover

    def _group_modes(self, modes, g, a, b, capacity):
        """The (capacity, m) modes of group ``g``: a cached constant for one mode everywhere."""
        if isinstance(modes, (int, np.integer)):
            key = (int(modes), g, capacity)
            cached = self._modes_cache.get(key)
            if cached is None:
                cached = self._modes_cache[key] = np.full((capacity, b - a), modes, dtype=np.int8)
            return cached
        return np.ascontiguousarray(modes[:, a:b])

    def snapshot(self, slots) -> list:
        """A copy of the Python detectors of ``slots`` (to restore after a failure)."""
        return [  # (the schema object is shared by every detector: the copies share it too)
            (stack, s, copy.deepcopy(stack.objects[s], {id(stack.schema): stack.schema}))
            for stack, _, _ in self.groups
            if isinstance(stack, ObjectStack)
            for s in {int(v) for v in np.unique(slots)}
        ]

    @staticmethod
    def restore(snapshot) -> None:
        for stack, s, objects in snapshot:
            stack.objects[s] = objects

    def run(self, X, slots, modes, R) -> None:
        """Run every group; ``modes`` is one mode for all, or a (capacity, K) int8 array (pool
        order). Skipped entries of ``R`` are NaN only where ``modes`` skips."""
        n = X.shape[0]
        one_mode = type(modes) is int
        if one_mode and n == 1:  # one event: the groups' calls with their arguments ready
            calls = self._one_row_calls.get(modes) if "_one_row_calls" in self.__dict__ else None
            if calls is None:
                calls = self._prepare_one_row(modes)
            for run, md, a, b, python in calls:
                out = R[:, a:b]  # a (1, m) slice of a C array is itself C-contiguous
                run(X, slots, md, out)
                if python:
                    _check_finite(out, slots, md, self.groups[0][0], a, self.order)
            return
        capacity = self.groups[0][0].capacity
        for g, (stack, a, b) in enumerate(self.groups):
            md = self._group_modes(modes, g, a, b, capacity)
            direct = len(self.groups) == 1  # then R[:, a:b] is R itself
            out = R if direct else np.empty((n, b - a))
            if not one_mode:
                out[...] = np.nan
            stack.run(X, slots, md, out)
            if not direct:
                R[:, a:b] = out
            if isinstance(stack, ObjectStack):
                _check_finite(out, slots, md, stack, a, self.order)

    def _prepare_one_row(self, mode):
        if "_one_row_calls" not in self.__dict__:
            self._one_row_calls = {}
        capacity = self.groups[0][0].capacity
        calls = [
            (
                stack.run,
                self._group_modes(mode, g, a, b, capacity),
                a,
                b,
                isinstance(stack, ObjectStack),
            )
            for g, (stack, a, b) in enumerate(self.groups)
        ]
        self._one_row_calls[mode] = calls
        return calls

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_one_row_calls", None)  # bound methods and cached arrays: rebuilt on use
        state["_modes_cache"] = {}
        return state


def _check_finite(out, slots, modes, stack, a, order):
    """A Python detector that returned a non-finite score for a row it scored fails the call."""
    scored = (modes[slots] == SCORE) | (modes[slots] == SCORE_LEARN)
    bad = scored & ~np.isfinite(out)
    if bad.any():
        t, j = np.argwhere(bad)[0]
        det = stack.members[j]
        raise FloatingPointError(
            f"detector {int(order[a + j])} ({type(det).__name__}) returned a non-finite score "
            f"{out[t, j]} at row {t}; the batch was not learned (fix or drop that detector)"
        )


# ------------------------------------------------------------------------------------------
# compiled helpers of the combiner


@njit(cache=True)
def _mask_placeholders(R, slots, n_learned, warm, learns):
    """NaN out placeholder scores (a detector's first ``warm[k]`` points) and, where the row is
    learned (``learns[s, k]``), count it.

    ``R`` (n, K) float64, ``slots`` (n,) int64, ``n_learned`` (capacity, K) int64,
    ``warm`` (K,) int64, ``learns`` (capacity, K) bool.
    """
    n, K = R.shape
    for t in range(n):
        s = slots[t]
        for k in range(K):
            if n_learned[s, k] < warm[k]:
                R[t, k] = np.nan
            if learns[s, k]:
                n_learned[s, k] += 1


@njit(cache=True)
def _occurrences(slots, capacity):
    """``occ[t]``: how many earlier rows of the batch belong to row ``t``'s slot."""
    seen = np.zeros(capacity, dtype=np.int64)
    occ = np.empty(slots.shape[0], dtype=np.int64)
    for t in range(slots.shape[0]):
        s = slots[t]
        occ[t] = seen[s]
        seen[s] += 1
    return occ


@njit(cache=True)
def _draw(p, m, key, draw_index, sample):
    """SEAD++'s draw: ``m`` detectors without replacement with probability proportional to the
    weights ``p`` (K,), by the Efraimidis–Spirakis keys ``u^(1/p_k)``; ``u`` are counter-based
    SplitMix64 draws of ``(key, draw_index)``, so a slot's draws depend only on its own history.
    Writes the chosen indices' flags into ``sample`` (K,) bool."""
    K = p.shape[0]
    keys = np.empty(K)
    for k in range(K):
        u = counter_uniform(key, np.uint64(draw_index * K + k))
        keys[k] = math.log(u) / p[k] if u > 0.0 else -np.inf
    order = np.argsort(-keys, kind="mergesort")
    sample[:] = False
    for i in range(m):
        sample[order[i]] = True


# ------------------------------------------------------------------------------------------


_mask_call = Compiled(_mask_placeholders)
_mwu_call = Compiled(mwu_rows)
_weighted_call = Compiled(weighted_rows)


@dataclass
class PlusConfig:
    """SEAD++'s sampling: ``m`` detectors per draw, a draw every ``resample_every`` points."""

    m: int
    resample_every: int
    learn_unsampled: bool
    seed_key: np.uint64


class Engine:
    """SEAD's state for ``capacity`` slots (see the module docstring).

    Parameters are those of :class:`sead.SEAD`, already validated; ``plus`` is a
    :class:`PlusConfig` for SEAD++.
    """

    def __init__(
        self,
        detectors,
        schema,
        *,
        eta,
        lam,
        prior,
        warmup,
        reference,
        window,
        loss_code,
        output,
        plus=None,
        capacity=1,
    ):
        self.K = len(detectors)
        self.pool = Pool(detectors, schema, capacity)
        self.ref = make_reference(reference, window=window, warmup=warmup)
        self.ref.allocate(self.K, capacity)
        self.eta, self.lam, self.warmup = float(eta), float(lam), int(warmup)
        self.loss_code, self.output = loss_code, output
        self.prior = self.pool.to_pool(prior)  # every per-detector array is in pool order
        # SEAD learns every row with every detector: past this many rows no score is a placeholder
        self._max_warm = int(self.pool.warmup_points.max(initial=0))
        self.output_code = OUTPUT_CODES[output]
        self.plus = plus
        self.p = np.zeros((capacity, self.K))
        self.warmup_left = np.zeros(capacity, dtype=np.int64)
        self.n_seen = np.zeros(capacity, dtype=np.int64)
        self.n_learned = np.zeros((capacity, self.K), dtype=np.int64)
        d = schema.n_features
        self.missing_last = np.zeros((capacity, d))  # each slot's last value of each feature
        self.missing_seen = np.zeros((capacity, d), dtype=np.bool_)
        if plus is not None:
            self.sample = np.ones((capacity, self.K), dtype=np.bool_)
            self.block_pos = np.zeros(capacity, dtype=np.int64)
            self.n_draws = np.zeros(capacity, dtype=np.int64)

    def __getstate__(self):
        state = self.__dict__.copy()
        for cache in ("_learns_cache", "_no_learns_cache"):  # rebuilt on use
            state.pop(cache, None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(writable_state(state))

    # ---- slots --------------------------------------------------------------------------------
    _SLOT_ARRAYS = ("p", "warmup_left", "n_seen", "n_learned", "missing_last", "missing_seen")
    _PLUS_ARRAYS = ("sample", "block_pos", "n_draws")

    def _slot_array_names(self):
        return self._SLOT_ARRAYS + (self._PLUS_ARRAYS if self.plus is not None else ())

    @property
    def capacity(self) -> int:
        return self.p.shape[0]

    def reserve(self, capacity: int) -> None:
        if capacity <= self.capacity:
            return
        self.pool.reserve(capacity)
        self.ref.reserve(capacity)
        for name in self._slot_array_names():
            a = getattr(self, name)
            b = np.zeros((capacity, *a.shape[1:]), dtype=a.dtype)
            b[: a.shape[0]] = a
            setattr(self, name, b)

    def reset(self, slots) -> None:
        """Fresh state for ``slots`` (an int array or a slice)."""
        self.pool.reset(slots)
        self.ref.reset(slots)
        self.p[slots] = self.prior
        self.warmup_left[slots] = self.warmup
        self.n_seen[slots] = 0
        self.n_learned[slots] = 0
        self.missing_last[slots] = 0.0
        self.missing_seen[slots] = False
        if self.plus is not None:
            self.sample[slots] = True
            self.block_pos[slots] = 0
            self.n_draws[slots] = 0
            if self.warmup == 0:
                for s in np.arange(self.capacity)[slots]:
                    self._draw_slot(int(s))

    def copy_slots(self, src, dst) -> None:
        self.pool.copy_slots(src, dst)
        self.ref.copy_slots(src, dst)
        for name in self._slot_array_names():
            a = getattr(self, name)
            a[dst] = a[src]

    def nbytes_per_slot(self) -> int:
        own = sum(getattr(self, name)[0].nbytes for name in self._slot_array_names())
        return self.pool.nbytes_per_slot() + self.ref.nbytes_per_slot() + own

    # ---- state bytes ----------------------------------------------------------------------------
    def arrays(self, slots) -> dict:
        """The learned state of ``slots`` (and what new slots start from), as named arrays."""
        out = {}
        for g, (stack, _, _) in enumerate(self.pool.groups):
            out.update(stack.arrays(slots, f"pool.{g}."))
        out.update({f"ref.{k}": v for k, v in self.ref.slot_state(slots).items()})
        out.update({f"engine.{k}": getattr(self, k)[slots] for k in self._slot_array_names()})
        if self.plus is not None:
            out["engine.seed_key"] = np.array([self.plus.seed_key], dtype=np.uint64)
        return out

    def load_arrays(self, slots, arrays: dict) -> None:
        """Write :meth:`arrays` into ``slots`` (a ValueError when they do not fit this engine)."""
        try:
            for g, (stack, _, _) in enumerate(self.pool.groups):
                stack.load_arrays(slots, arrays, f"pool.{g}.")
            self.ref.load_slot_state(
                slots, {k[4:]: v for k, v in arrays.items() if k.startswith("ref.")}
            )
            for k in self._slot_array_names():
                v = np.asarray(arrays[f"engine.{k}"])
                a = getattr(self, k)
                if v.dtype != a.dtype or v.shape[1:] != a.shape[1:]:
                    raise ValueError(
                        f"engine.{k}: expected {a.dtype} (*, {a.shape[1:]}), "
                        f"got {v.dtype} {v.shape}"
                    )
                a[slots] = v
            if self.plus is not None:
                self.plus.seed_key = np.uint64(arrays["engine.seed_key"][0])
        except KeyError as e:
            raise ValueError(f"state bytes lack the array {e.args[0]!r} this model needs") from None

    # ---- SEAD++ sampling ------------------------------------------------------------------------
    def _draw_slot(self, s: int) -> None:
        if self.warmup_left[s] > 0:
            self.sample[s] = True
            return
        _draw(self.p[s], self.plus.m, self.plus.seed_key, int(self.n_draws[s]), self.sample[s])
        self.n_draws[s] += 1

    def _modes(self, mode: int):
        """The pool's modes: one for all (SEAD), or per slot and detector from the sample."""
        if self.plus is None:
            return mode
        warm = self.warmup_left > 0
        on = self.sample | warm[:, None]
        modes = np.where(on, mode, SKIP).astype(np.int8)
        if mode != SCORE and self.plus.learn_unsampled:
            modes[~on] = LEARN
        return modes

    # ---- scoring ------------------------------------------------------------------------------
    def raw_scores(self, X, slots):
        """Every (sampled) detector's score of the rows, placeholders NaN; pure."""
        R = np.empty((X.shape[0], self.K))
        self.pool.run(X, slots, self._modes(SCORE), R)
        if self.plus is not None or self.capacity > 1 or self.n_seen[0] < self._max_warm:
            _mask_call(R, slots, self.n_learned, self.pool.warmup_points, self._no_learns())
        return R

    def _no_learns(self):
        cached = self.__dict__.get("_no_learns_cache")
        if cached is None or cached.shape[0] != self.capacity:
            cached = self._no_learns_cache = np.zeros((self.capacity, self.K), dtype=np.bool_)
        return cached

    def output_of(self, R, slots):
        """Pure: the scores of rows whose raw scores are ``R``, at the current weights.

        Returns ``(S, Z, N)``.
        """
        Z, N = self.ref.run(R, slots, False)
        S = np.empty(R.shape[0])
        _weighted_call(Z, N, slots, self.p, self.output_code, S)
        return S, Z, N

    def score(self, X, slots):
        return self.output_of(self.raw_scores(X, slots), slots)[0]

    # the raw scores, quantiles and weights of the engine are in pool order (see :class:`Pool`)

    # ---- learning -----------------------------------------------------------------------------
    def _learns(self, modes):
        """Which (slot, detector) learn under ``modes`` (for the placeholder counts)."""
        if isinstance(modes, (int, np.integer)):
            key = (int(modes), self.capacity)
            cache = self.__dict__.setdefault("_learns_cache", {})
            if key not in cache:
                cache[key] = np.full(
                    (self.capacity, self.K), modes in (LEARN, SCORE_LEARN), dtype=np.bool_
                )
            return cache[key]
        return (modes == LEARN) | (modes == SCORE_LEARN)

    def _combine(self, R, slots, record=None):
        """References and weights over the raw scores ``R`` (placeholders already NaN)."""
        Z, N = self.ref.run(R, slots, True)
        S = np.empty(R.shape[0])
        P = np.empty((0, self.K)) if record is None else record
        _mwu_call(
            Z,
            N,
            slots,
            self.p,
            self.prior,
            self.eta,
            self.lam,
            self.warmup_left,
            self.loss_code,
            self.output_code,
            S,
            P,
        )
        if self.capacity == 1:
            self.n_seen[0] += R.shape[0]
        else:
            np.add.at(self.n_seen, slots, 1)
        return S, Z

    def _segment(self, X, slots, mode, raw=None, details=None, rows=None):
        """One pass of the pool (unless ``raw`` is given) and the combiner over rows that share
        their samples; ``rows`` are the rows' positions in the caller's batch (for details)."""
        modes = self._modes(mode)
        if raw is None:
            R = np.empty((X.shape[0], self.K))
            snapshot = self.pool.snapshot(slots) if self.pool.has_python else None
            try:
                self.pool.run(X, slots, modes, R)
            except BaseException:
                if snapshot is not None:
                    Pool.restore(snapshot)
                raise
        else:
            R = raw.copy()
            self.pool.run(X, slots, modes, np.empty((X.shape[0], self.K)))
        _mask_call(R, slots, self.n_learned, self.pool.warmup_points, self._learns(modes))
        record = None if details is None else np.empty((X.shape[0], self.K))
        S, Z = self._combine(R, slots, record)
        if details is not None:
            details.append((rows, S, Z, R, record))
        return S

    def score_learn(self, X, slots, *, raw=None, details=None):
        """Prequential pass over the rows (score each against its slot, then learn it).

        ``raw`` are the rows' raw scores when the caller already has them (``learn_one`` after
        ``score_one``): the detectors then only learn. ``details`` (a list) receives per segment
        ``(rows, S, Z, R, weights)``.
        """
        mode = LEARN if raw is not None else SCORE_LEARN
        if self.plus is None:
            with deferred_interrupt():
                return self._segment(
                    X, slots, mode, raw, details, None if details is None else slice(None)
                )
        return self._score_learn_plus(X, slots, mode, raw, details)

    def _score_learn_plus(self, X, slots, mode, raw, details):
        n = X.shape[0]
        plus = self.plus
        occ = _occurrences(slots, self.capacity)
        w = self.warmup_left[slots]
        first = np.where(w > 0, w, plus.resample_every - self.block_pos[slots])
        seg = np.where(occ < first, 0, 1 + (occ - first) // plus.resample_every)
        S = np.empty(n)
        order = np.argsort(seg, kind="stable")
        bounds = np.searchsorted(seg[order], np.arange(int(seg.max()) + 2))
        with deferred_interrupt():
            for p in range(len(bounds) - 1):
                rows = order[bounds[p] : bounds[p + 1]]
                if rows.size == 0:
                    continue
                rs = slots[rows]
                was_warm = self.warmup_left > 0
                S[rows] = self._segment(
                    X[rows], rs, mode, None if raw is None else raw[rows], details, rows
                )
                # slots whose segment ended: a new draw (at the warm-up's end, the first draw)
                touched, counts = np.unique(rs, return_counts=True)
                for s, c in zip(touched.tolist(), counts.tolist()):
                    if was_warm[s]:
                        if self.warmup_left[s] == 0:
                            self.block_pos[s] = 0
                            self._draw_slot(s)
                        continue
                    self.block_pos[s] += c
                    if self.block_pos[s] >= plus.resample_every:
                        self.block_pos[s] = 0
                        self._draw_slot(s)
        return S

    @staticmethod
    def seed_key(seed) -> np.uint64:
        """The SplitMix64 key of SEAD++'s draws from the model's seed (``None``: random)."""
        if seed is None:
            return np.uint64(np.random.default_rng().integers(0, 2**63))
        return np.uint64(mix64(np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)))


__all__ += ["Stack"]
