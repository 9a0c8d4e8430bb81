"""One SEAD per key — per agent, host or metric series — for thousands of keys at compiled speed.

:class:`KeyedSEAD` keeps a SEAD model for every key (stream id) it sees and advances them all in
one pass per batch: rows of many keys, in any interleaving, cost one compiled call per detector
family, one for the quantile references and one for the weights — no Python loop over keys or
rows. Each key's scores are exactly those of a :class:`sead.SEAD` (or :class:`sead.SEADPlusPlus`)
run over that key's rows alone, in order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np
import pandas as pd

from . import _state
from ._engine import Engine, deferred_interrupt
from ._missing import POLICY_CODES, fill_missing, learn_runs, record_last
from ._params import Boolean, Interval, init_params, validate_params
from ._validation import FeatureSchema, as_matrix, as_row, is_dataframe
from .ensemble import SEAD, SEADPlusPlus, _content

__all__ = ["KeyedSEAD"]


def _nothing():
    return None


# key types accepted as they are (exact types: bool, None, NaN and anything else go through
# the row-by-row checks of ``_keys_array``, which name the row at fault)
_KEY_TYPES = frozenset(
    (str, int, bytes, np.int8, np.int16, np.int32, np.int64)
    + (np.uint8, np.uint16, np.uint32, np.uint64)
)


_SEAD_PARAMS = (
    "eta",
    "lam",
    "prior",
    "warmup",
    "reference",
    "window",
    "loss",
    "output",
    "seed",
    "missing",
    "extra",
)
_PLUS_PARAMS = ("n_sampled", "resample_every", "learn_unsampled")


class KeyedSEAD:
    """One SEAD model per key, all advanced together.

    A key is any hashable stream id (a string or an integer: an agent, a host, a metric
    series). A key's model is created when its first row arrives, from the same settings (and
    seed) for every key, and learns only that key's rows; so ``score_learn_many(keys, X)``
    gives each row the score that one ``SEAD(...)`` per key, fed that key's rows in order,
    would give (``plus=True``: one ``SEADPlusPlus``). Rows of different keys may come in any
    order and any batch size; new keys may appear in any batch.

    Scores are those of :class:`sead.SEAD`: in [0, 1], higher = more anomalous.

    Memory is bounded per key (for every reference but ``"exact"`` with no window) and, with
    ``max_keys`` and ``ttl``, in the number of keys:

    * ``max_keys``: at most this many keys are kept; when new keys arrive beyond it, the least
      recently seen keys (by their last row) are forgotten — a forgotten key that comes back
      starts afresh. A batch with more distinct keys than ``max_keys`` is processed in
      consecutive parts.
    * ``ttl``: a key whose last row is more than ``ttl`` seconds older than the newest event
      time seen is forgotten after each batch; needs ``times`` (event times in seconds).

    :meth:`nbytes_per_key` gives the memory of one key; ``docs/keyed.md`` has the figures per
    pool.

    Parameters
    ----------
    detectors
        The pool each key runs, as for :class:`sead.SEAD` (``None``: :func:`sead.pools.default`).
    eta, lam, prior, warmup, reference, window, loss, output, seed, missing, extra
        As for :class:`sead.SEAD` (the same defaults). A missing value is filled from the last
        value of its feature in the same key's stream.
    plus
        Run SEAD++ per key (with ``n_sampled``, ``resample_every``, ``learn_unsampled`` as for
        :class:`sead.SEADPlusPlus`).
    n_sampled, resample_every, learn_unsampled
        As for :class:`sead.SEADPlusPlus` (the same defaults); used only with ``plus=True``.
    max_keys
        Most keys kept (least recently seen evicted), or None for no limit.
    ttl
        Seconds of event time after which an idle key is evicted, or None.

    Attributes
    ----------
    keys_
        The keys currently held, in the order they were first seen.
    n_keys_
        Their number.

    Examples
    --------
    >>> from sead import pools
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(600, 3))
    >>> keys = np.array(["api", "db", "cache"])[rng.integers(0, 3, 600)]
    >>> model = KeyedSEAD(pools.small(), warmup=20)
    >>> scores = model.score_learn_many(keys, X)
    >>> model.keys_
    ['cache', 'api', 'db']
    >>> alone = SEAD(pools.small(), warmup=20).score_learn_many(X[keys == "db"])
    >>> bool(np.array_equal(scores[keys == "db"], alone))
    True
    """

    def __init__(
        self,
        detectors: list | None = None,
        *,
        eta: float = 0.02,
        lam: float = 1e-6,
        prior=None,
        warmup: int = 100,
        reference="tdigest",
        window: int | None = None,
        loss: str = "gated",
        output: str = "tail",
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        plus: bool = False,
        n_sampled: int | None = None,
        resample_every: int = 250,
        learn_unsampled: bool = False,
        max_keys: int | None = None,
        ttl: float | None = None,
    ):
        self.detectors = detectors
        self.eta = eta
        self.lam = lam
        self.prior = prior
        self.warmup = warmup
        self.reference = reference
        self.window = window
        self.loss = loss
        self.output = output
        self.seed = seed
        self.missing = missing
        self.extra = extra
        self.plus = plus
        self.n_sampled = n_sampled
        self.resample_every = resample_every
        self.learn_unsampled = learn_unsampled
        self.max_keys = max_keys
        self.ttl = ttl

    # ---- parameters ---------------------------------------------------------------------------
    def get_params(self, deep: bool = False) -> dict:
        """The ``__init__`` arguments, as stored."""
        return init_params(self)

    def clone(self) -> KeyedSEAD:
        """A fresh model with the same parameters (no keys)."""
        return type(self)(**self.get_params())

    def __repr__(self) -> str:
        shown = {k: v for k, v in self.get_params().items() if k != "detectors"}
        n = "default pool" if self.detectors is None else f"{len(self.detectors)} detectors"
        return f"KeyedSEAD({n}, " + ", ".join(f"{k}={v!r}" for k, v in shown.items()) + ")"

    def _prototype(self) -> SEAD:
        """The per-key model these settings describe (validates them)."""
        validate_params(self)
        kw = {k: getattr(self, k) for k in _SEAD_PARAMS}
        if self.plus:
            return SEADPlusPlus(self.detectors, **kw, **{k: getattr(self, k) for k in _PLUS_PARAMS})
        return SEAD(self.detectors, **kw)

    # ---- state --------------------------------------------------------------------------------
    @property
    def _fitted(self) -> bool:
        return getattr(self, "engine_", None) is not None

    def _start(self, schema: FeatureSchema, capacity: int = 16) -> None:
        proto = self._prototype()
        dets = proto._pool()
        self.engine_ = Engine(dets, schema, capacity=capacity, **proto._engine_kwargs(len(dets)))
        self.engine_.reset(slice(0, capacity))  # a free slot always holds the fresh state
        self.schema_ = schema
        self._slot_key = [None] * capacity  # the key of each slot (None: free)
        self._index = pd.Index([], dtype=object)  # the keys held, in order of first sight
        self._index_slots = np.zeros(0, dtype=np.int64)  # their slots
        self._free: list[int] = list(range(capacity - 1, -1, -1))
        self._last_order = np.zeros(capacity, dtype=np.int64)  # order of each slot's last row
        self._last_time = np.full(capacity, -np.inf)  # event time of each slot's last row
        self._clock = 0  # rows seen
        self._now = -np.inf  # newest event time seen
        self._companions: list = []  # per-slot state kept beside the models (reserve / reset)

    @property
    def keys_(self) -> list:
        """The keys currently held, in the order they were first seen."""
        return [] if not self._fitted else self._index.tolist()

    @property
    def n_keys_(self) -> int:
        """The number of keys currently held."""
        return 0 if not self._fitted else len(self._index)

    def nbytes_per_key(self) -> int:
        """Bytes of learned state per key (detectors, references and weights)."""
        if not self._fitted:
            raise AttributeError(
                "nbytes_per_key: the model has not learned anything yet (the size depends on the "
                "width)"
            )
        return self.engine_.nbytes_per_slot()

    def _slots_of(self, keys, create: bool):
        """Slots of ``keys`` (an object array), registering new keys when ``create``.

        Returns ``(slots, new_keys, new_slots)``; unknown keys get slot -1 when not ``create``.
        """
        codes, uniq = pd.factorize(keys, sort=False)
        pos = self._index.get_indexer(uniq)
        slot_of_uniq = np.full(len(uniq), -1, dtype=np.int64)
        known = pos >= 0
        slot_of_uniq[known] = self._index_slots[pos[known]]
        new = np.flatnonzero(pos < 0)
        new_slots = np.zeros(0, dtype=np.int64)
        if create and new.size:
            new_slots = self._allocate(new.size)
            slot_of_uniq[new] = new_slots
        return slot_of_uniq[codes].astype(np.int64), uniq[new], new_slots

    def _allocate(self, k: int) -> np.ndarray:
        """``k`` free slots (fresh: a slot is reset when it is freed or created)."""
        while len(self._free) < k:
            old = self.engine_.capacity
            cap = max(old + k - len(self._free), old + old // 2, 16)
            self.engine_.reserve(cap)
            self.engine_.reset(slice(old, cap))
            for c in self.__dict__.get("_companions", ()):
                c.reserve(cap)
                c.reset(slice(old, cap))
            self._slot_key.extend([None] * (cap - old))
            self._free[:0] = list(range(cap - 1, old - 1, -1))
            self._last_order = np.concatenate(
                [self._last_order, np.zeros(cap - old, dtype=np.int64)]
            )
            self._last_time = np.concatenate([self._last_time, np.full(cap - old, -np.inf)])
        return np.array([self._free.pop() for _ in range(k)], dtype=np.int64)

    def _register(self, new_keys, new_slots) -> None:
        if len(new_keys):
            self._index = self._index.append(pd.Index(list(new_keys), dtype=object))
            self._index_slots = np.concatenate([self._index_slots, new_slots])
            for key, s in zip(new_keys, new_slots.tolist()):
                self._slot_key[s] = key

    def _release(self, slots) -> None:
        """Free ``slots``; they get the fresh state again (so a free slot never holds an old
        key's data, and allocating it changes nothing)."""
        if len(slots):
            self.engine_.reset(np.asarray(slots, dtype=np.int64))
            for c in self.__dict__.get("_companions", ()):
                c.reset(np.asarray(slots, dtype=np.int64))
        self._free.extend(int(s) for s in slots)
        self._last_order[slots] = 0
        self._last_time[slots] = -np.inf
        for s in slots:
            self._slot_key[int(s)] = None

    def _evict(self, positions) -> None:
        """Forget the keys at ``positions`` of the index."""
        if len(positions) == 0:
            return
        slots = self._index_slots[positions]
        self._release(slots)
        keep = np.ones(len(self._index), dtype=bool)
        keep[positions] = False
        self._index = self._index[keep]
        self._index_slots = self._index_slots[keep]

    def _attach(self, companion) -> None:
        """Keep ``companion``'s per-slot state beside the models: it is given room and fresh
        state whenever a slot is allocated or freed (``reserve(capacity)``, ``reset(slots)``)."""
        companion.reserve(self.engine_.capacity)
        self._companions.append(companion)

    def slots_of(self, keys) -> np.ndarray:
        """The slot of each of ``keys`` (-1 for a key not held): the index of a key's row in
        every per-key array of the model (for code that keeps state beside it)."""
        return self._slots_of(self._keys_array(keys, len(keys)), create=False)[0]

    def forget(self, key) -> None:
        """Drop ``key``'s model (a KeyError when it is not held)."""
        pos = self._index.get_indexer([key])[0] if self._fitted else -1
        if pos < 0:
            raise KeyError(f"key {key!r} is not held")
        self._evict(np.array([pos]))

    def weights_of(self, key) -> np.ndarray:
        """The current detector weights of ``key``'s model (a copy)."""
        return self.engine_.pool.to_caller(self.engine_.p[self._slot(key)])

    def _slot(self, key) -> int:
        pos = self._index.get_indexer([key])[0] if self._fitted else -1
        if pos < 0:
            raise KeyError(f"key {key!r} is not held")
        return int(self._index_slots[pos])

    # ---- input ----------------------------------------------------------------------------------
    def _keys_array(self, keys, n: int) -> np.ndarray:
        if isinstance(keys, (str, bytes)) or np.ndim(keys) != 1:
            raise TypeError(
                "keys must be a 1-D sequence of stream ids (one per row), got "
                f"{type(keys).__name__}"
            )
        arr = np.empty(len(keys), dtype=object)
        arr[:] = list(keys) if not isinstance(keys, np.ndarray) else keys.astype(object)
        if len(arr) != n:
            raise ValueError(f"keys has {len(arr)} entries but X has {n} rows")
        if set(map(type, arr)) <= _KEY_TYPES:  # the usual case, without a Python loop
            return arr
        for i, k in enumerate(arr):
            if k is None or (isinstance(k, float) and math.isnan(k)):
                raise ValueError(f"row {i}: key {k!r} is missing (every row needs a stream id)")
            if not isinstance(k, (str, numbers.Integral, bytes)) or isinstance(k, bool):
                raise TypeError(f"row {i}: key {k!r} must be a str or an int")
        return arr

    def _times_array(self, times, n: int):
        if times is None:
            if self.ttl is not None:
                raise ValueError("ttl is set: pass times= (the event time of each row, in seconds)")
            return None
        t = (
            np.asarray(times, dtype=np.float64)
            if not is_dataframe(times)
            else times.to_numpy(np.float64)
        )
        if t.shape != (n,):
            raise ValueError(f"times must have one entry per row ({n}), got shape {t.shape}")
        if not np.isfinite(t).all():
            i = int(np.flatnonzero(~np.isfinite(t))[0])
            raise ValueError(f"row {i}: time {t[i]!r} is not finite")
        return t

    # ---- batches --------------------------------------------------------------------------------
    def score_learn_many(self, keys, X, *, times=None):
        """Prequential pass over the rows of ``X`` (score each against its key's model, then
        learn it). ``keys`` holds the stream id of each row; ``times`` the event times (needed
        with ``ttl``). Returns the scores in input order (a Series for a DataFrame)."""
        A, schema = self._as_matrix(X)
        return self._wrap(self._score_learn_matrix(A, schema, keys, times), X)

    def _score_learn_matrix(self, A, schema, keys, times, on_part=None):
        """:meth:`score_learn_many` on a validated matrix. ``on_part(rows, S, slots, Z, P)`` is
        called for each part (see ``max_keys``) after its rows are scored and before any key is
        evicted, with the rows' slots, quantiles and weights (the caller's detector order)."""
        k = self._keys_array(keys, A.shape[0])
        t = self._times_array(times, A.shape[0])
        if not self._fitted:
            self._start(schema)
        S = np.empty(A.shape[0])
        with deferred_interrupt():
            for part in self._parts(k):
                S[part] = self._score_learn_part(
                    A[part], k[part], None if t is None else t[part], on_part, part
                )
        return S

    def _parts(self, k):
        """Row ranges each with at most ``max_keys`` distinct keys (one range without it)."""
        n = len(k)
        if self.max_keys is None:
            return [slice(0, n)]
        codes, _ = pd.factorize(k, sort=False)
        if codes.max(initial=-1) < self.max_keys:
            return [slice(0, n)]
        parts, start, seen = [], 0, set()
        for i, c in enumerate(codes.tolist()):
            if c not in seen and len(seen) == self.max_keys:
                parts.append(slice(start, i))
                start, seen = i, set()
            seen.add(c)
        parts.append(slice(start, n))
        return parts

    def _score_learn_part(self, A, k, t, on_part=None, rows=None):
        free = list(self._free)
        slots, new_keys, new_slots = self._slots_of(k, create=True)
        details = [] if on_part is not None else None
        try:
            A, L, commit = self._fill(A, slots, True)
            if L is None:
                S = self.engine_.score_learn(A, slots, details=details)
            else:
                S = np.empty(A.shape[0])
                for a, b, learn in learn_runs(L):
                    if learn:
                        part = [] if details is not None else None
                        S[a:b] = self.engine_.score_learn(A[a:b], slots[a:b], details=part)
                        if part is not None:
                            details += [(np.arange(a, b)[r], *rest) for r, *rest in part]
                    else:
                        S[a:b] = self.engine_.score(A[a:b], slots[a:b])
        except BaseException:
            self._free = free  # the call leaves the keys as they were (the engine restored itself)
            raise
        commit()
        if on_part is not None:
            on_part(rows, S, slots, *self._details_matrix(details, A.shape[0]))
        self._register(new_keys, new_slots)
        n = A.shape[0]
        self._last_order[slots] = self._clock + np.arange(n)
        self._clock += n
        if t is not None:
            np.maximum.at(self._last_time, slots, t)
            self._now = max(self._now, float(t.max()))
        self._expire()
        return S

    def _details_matrix(self, details, n):
        """``(Z, P)``: the quantiles and weights behind each row (NaN for rows not learned), in
        the caller's order of the detectors."""
        K = self.engine_.K
        Z = np.full((n, K), np.nan)
        P = np.full((n, K), np.nan)
        to_caller = self.engine_.pool.to_caller
        for rows, _, z, _, w in details:
            Z[rows] = to_caller(z)
            P[rows] = to_caller(w)
        return Z, P

    def _expire(self) -> None:
        """Evict beyond ``max_keys`` (least recently seen first) and past ``ttl``."""
        if self.ttl is not None and len(self._index):
            idle = self._last_time[self._index_slots] < self._now - float(self.ttl)
            self._evict(np.flatnonzero(idle))
        if self.max_keys is not None and len(self._index) > self.max_keys:
            extra = len(self._index) - self.max_keys
            order = np.argsort(self._last_order[self._index_slots], kind="stable")
            self._evict(np.sort(order[:extra]))

    # ---- missing values and extra keys --------------------------------------------------------
    def _as_matrix(self, X):
        return as_matrix(X, getattr(self, "schema_", None), missing=self.missing, extra=self.extra)

    def _as_row(self, x):
        return as_row(x, getattr(self, "schema_", None), missing=self.missing, extra=self.extra)

    def _fill(self, A, slots, update):
        """``(A, learnable, commit)`` as :meth:`sead.base.Detector._fill`, per key."""
        e = self.engine_
        if not np.isnan(A).any():
            return (
                A,
                None,
                (lambda: record_last(A, slots, e.missing_last, e.missing_seen))
                if update
                else _nothing,
            )
        A = A.copy()
        L = np.empty(A.shape[0], dtype=np.bool_)
        last, seen = (
            (e.missing_last.copy(), e.missing_seen.copy())
            if update
            else (e.missing_last, e.missing_seen)
        )
        fill_missing(A, slots, last, seen, POLICY_CODES[self.missing], update, L)

        def commit():
            e.missing_last[...] = last
            e.missing_seen[...] = seen

        return A, (None if L.all() else L), (commit if update else _nothing)

    def learn_many(self, keys, X, *, times=None) -> None:
        """Learn the rows of ``X`` (``keys`` and ``times`` as for :meth:`score_learn_many`)."""
        self.score_learn_many(keys, X, times=times)

    def score_many(self, keys, X):
        """Score every row against its key's current model; changes nothing. A key not held
        is scored as a fresh model would score it."""
        A, schema = self._as_matrix(X)
        k = self._keys_array(keys, A.shape[0])
        if not self._fitted:
            fresh = self._prototype()
            return self._wrap(fresh.score_many(A), X)
        slots, _, _ = self._slots_of(k, create=False)
        S = np.empty(A.shape[0])
        known = slots >= 0
        if known.any():
            S[known] = self.engine_.score(
                self._fill(A[known], slots[known], False)[0], slots[known]
            )
        if (~known).any():
            S[~known] = self._fresh_scores(np.nan_to_num(A[~known], nan=0.0))
        return self._wrap(S, X)

    def _fresh_scores(self, A):
        """Scores of rows by a key model that has learned nothing (a scratch slot)."""
        slot = self._allocate(1)
        try:
            return self.engine_.score(A, np.full(A.shape[0], slot[0], dtype=np.int64))
        finally:
            self._release(slot)

    def _wrap(self, S, X):
        if is_dataframe(X):
            return pd.Series(S, index=X.index, name="score")
        return S

    # ---- one event ------------------------------------------------------------------------------
    def score_one(self, key, x) -> float:
        """Score one point of stream ``key`` (pure); its raw scores are kept for a following
        ``learn_one(key, x)`` of the same point."""
        X0, schema = self._as_row(x)
        k = self._keys_array([key], 1)
        if not self._fitted:
            return float(self._prototype().score_one(x))
        slots, _, _ = self._slots_of(k, create=False)
        if slots[0] < 0:
            return float(
                self._fresh_scores(np.nan_to_num(X0, nan=0.0))[0]
            )  # a fresh model knows no value
        X, _, _ = self._fill(X0, slots, False)
        R = self.engine_.raw_scores(X, slots)
        if X is X0:
            self._last = (key, x, _content(x), X, R, self._clock)
        return float(self.engine_.output_of(R, slots)[0][0])

    def learn_one(self, key, x, *, time=None) -> None:
        """Learn one point of stream ``key`` (``time``: its event time, needed with ``ttl``)."""
        last = self.__dict__.pop("_last", None)
        t = self._times_array(None if time is None else [time], 1)
        if (
            last is not None
            and last[0] == key
            and last[1] is x
            and last[5] == self._clock
            and _content(x) == last[2]
        ):
            X, R = last[3], last[4]
            slots, _, _ = self._slots_of(self._keys_array([key], 1), create=False)
            if slots[0] >= 0:
                self.engine_.score_learn(X, slots, raw=R)
                record_last(X, slots, self.engine_.missing_last, self.engine_.missing_seen)
                self._last_order[slots] = self._clock
                self._clock += 1
                if t is not None:
                    np.maximum.at(self._last_time, slots, t)
                    self._now = max(self._now, float(t[0]))
                self._expire()
                return
        self.score_learn_many(
            [key],
            [x]
            if isinstance(x, Mapping)
            else np.asarray(x, dtype=object).reshape(1, -1)
            if not isinstance(x, np.ndarray)
            else x.reshape(1, -1),
            times=None if t is None else t,
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_last", None)
        return state

    # ---- state bytes -----------------------------------------------------------------------------
    def _header_extra(self) -> dict:
        sch = self.schema_
        return {
            "schema": {
                "n_features": sch.n_features,
                "names": None if sch.names is None else list(sch.names),
            }
        }

    def to_bytes(self) -> bytes:
        """Every key's state as versioned bytes (see :meth:`sead.base.Detector.to_bytes`)."""
        if not self._fitted:
            return _state.dumps("model", type(self), self.get_params(), {}, {"schema": None})
        slots = self._index_slots
        arrays = self.engine_.arrays(slots)
        arrays["keyed.last_order"] = self._last_order[slots]
        arrays["keyed.last_time"] = self._last_time[slots]
        extra = self._header_extra()
        extra.update(
            keys=_encode_keys(self._index.tolist()),
            clock=self._clock,
            now=None if self._now == -np.inf else self._now,
        )
        return _state.dumps("model", type(self), self.get_params(), arrays, extra)

    @classmethod
    def from_bytes(cls, blob) -> KeyedSEAD:
        """A model from :meth:`to_bytes` (ValueError on a newer format, another class, a
        truncated or changed blob)."""
        header, arrays = _state.loads(blob, "model", cls)
        model = cls(**_state.decode_top(header["params"]))
        if header.get("schema") is None:
            return model
        keys = _decode_keys(header["keys"])
        model._start(_schema(header["schema"]), capacity=max(16, len(keys)))
        slots = model._allocate(len(keys))
        model.engine_.load_arrays(slots, arrays)
        model._register(np.array(keys, dtype=object), slots)
        model._last_order[slots] = arrays["keyed.last_order"]
        model._last_time[slots] = arrays["keyed.last_time"]
        model._clock = int(header["clock"])
        model._now = -np.inf if header["now"] is None else float(header["now"])
        return model

    def state_of(self, key) -> bytes:
        """One key's state as versioned bytes, for an engine that stores each key apart."""
        s = np.array([self._slot(key)])
        arrays = self.engine_.arrays(s)
        arrays["keyed.last_order"] = self._last_order[s]
        arrays["keyed.last_time"] = self._last_time[s]
        extra = self._header_extra()
        extra.update(key=_encode_keys([key]))
        return _state.dumps("key", type(self), self.get_params(), arrays, extra)

    def load_key(self, key, blob) -> None:
        """Put a key's state from :meth:`state_of` (of a model with the same parameters and
        features) under ``key``, replacing its model if held."""
        header, arrays = _state.loads(blob, "key", type(self))
        if (
            _state.decode_top(header["params"]).keys() != self.get_params().keys()
            or header["params"] != _state.encode_params(self.get_params())["__dict__"]
        ):
            raise ValueError("the key's state was written by a KeyedSEAD with other parameters")
        schema = _schema(header["schema"])
        if not self._fitted:
            self._start(schema)
        elif schema != self.schema_:
            raise ValueError(
                f"the key's state has the features {schema}, this model {self.schema_}"
            )
        k = self._keys_array([key], 1)
        slots, new_keys, new_slots = self._slots_of(k, create=True)
        try:
            self.engine_.load_arrays(slots, arrays)
        except BaseException:
            self._release(new_slots)
            raise
        self._register(new_keys, new_slots)
        self._last_order[slots] = arrays["keyed.last_order"]
        self._last_time[slots] = arrays["keyed.last_time"]


def _schema(d) -> FeatureSchema:
    return FeatureSchema(d["n_features"], None if d["names"] is None else tuple(d["names"]))


def _encode_keys(keys) -> list:
    out: list = []
    for k in keys:
        if isinstance(k, bytes):
            out.append({"b": k.hex()})
        elif isinstance(k, str):
            out.append(k)
        else:
            out.append(int(k))
    return out


def _decode_keys(keys) -> list:
    return [bytes.fromhex(k["b"]) if isinstance(k, dict) else k for k in keys]


KeyedSEAD._parameter_constraints = {  # type: ignore[attr-defined]
    **SEADPlusPlus._parameter_constraints,
    "plus": [Boolean()],
    "max_keys": [Interval("int", 1, None), None],
    "ttl": [Interval("real", 0, None, closed="neither"), None],
}
