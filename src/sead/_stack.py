"""Stacked detector state: many detector instances advanced by one compiled call.

A :class:`Stack` holds the learned state of ``m`` *members* — detectors of one class, each with
its own parameters (the four Half-Space Trees of a pool, say) — for ``n`` *slots* — independent
streams (the keys of :class:`sead.KeyedSEAD`; a plain detector or :class:`sead.SEAD` has one).
Every state field is one numpy array with a leading slot axis, ``(capacity, width)``; member
``j``'s part of a slot is the columns ``off[f, j]:off[f, j + 1]`` of field ``f``, so members of
different sizes share the arrays without padding. A new slot starts as a copy of the stack's
*template* (the fresh state of every member), so creating many slots is one array copy.

One call of the family's kernel advances every instance a batch touches::

    kernel(X, slots, modes, out, cfg, st)

============  ===============================  ============================================
argument      shape, dtype                     meaning
============  ===============================  ============================================
``X``         (n, d) float64, C-contiguous     the rows, in stream order
``slots``     (n,) int64                       the slot (stream) of each row
``modes``     (capacity, m) int8               what member ``j`` of slot ``s`` does with its
                                               rows: ``SKIP`` (-1), ``SCORE`` (0, pure),
                                               ``LEARN`` (1), ``SCORE_LEARN`` (2, prequential)
``out``       (n, m) float64                   ``out[r, j]``: member ``j``'s score of row ``r``
                                               (written for ``SCORE`` and ``SCORE_LEARN``)
``cfg``       the family's config namedtuple   per-member parameters, ``(m,)`` arrays, and
                                               ``off`` (n_fields, m + 1) int64
``st``        the family's state namedtuple    one ``(capacity, width)`` array per field
============  ===============================  ============================================

Rows are processed in order for each instance; instances are independent, so the kernels walk
member by member and, within a member, hand each run of consecutive rows of one slot to the
family's single-instance code (one run per member for a single stream: the same compiled loop
as before stacking). :func:`slot_runs` finds those runs.

Detectors with no compiled family (adapters around River / PySAD / scikit-learn models, a
user's own Python detector) go into an :class:`ObjectStack`, which keeps one Python object per
member and slot and calls its hooks; it has the same interface, at Python speed.
"""

from __future__ import annotations

from operator import itemgetter

import numba
import numpy as np
from numba import njit

__all__ = [
    "SKIP",
    "SCORE",
    "LEARN",
    "SCORE_LEARN",
    "Stack",
    "ObjectStack",
    "slot_runs",
    "modes_for",
    "member_ints",
    "writable_state",
    "Compiled",
    "grown",
    "load_slots",
    "bundler",
]

SKIP, SCORE, LEARN, SCORE_LEARN = -1, 0, 1, 2


@njit(cache=True)
def slot_runs(slots):
    """Starts of the runs of equal consecutive values of ``slots`` (int64 (n,)), plus ``n``.

    >>> slot_runs(np.array([3, 3, 0, 0, 0, 3], dtype=np.int64))
    array([0, 2, 5, 6])
    """
    n = slots.shape[0]
    starts = np.empty(n + 1, dtype=np.int64)
    k = 0
    for r in range(n):
        if r == 0 or slots[r] != slots[r - 1]:
            starts[k] = r
            k += 1
    starts[k] = n
    return starts[: k + 1]


_F8 = np.dtype(np.float64)


class Compiled:
    """A numba function called through its compiled entry point once it has been called once.

    The dispatcher resolves the argument types on every call, most of the cost of calling a
    kernel on one row. For internal calls whose arguments always have the same types (arrays
    the library allocates itself, with fixed dtypes and dimensions), the entry point compiled for
    those types can be called directly. Never use it for arrays that come from the user.
    """

    __slots__ = ("fn", "entry")

    def __init__(self, fn):
        self.fn = fn
        self.entry = None

    def __call__(self, *args):
        if self.entry is not None:
            return self.entry(*args)
        result = self.fn(*args)
        self.entry = self.fn.overloads[tuple(numba.typeof(a) for a in args)].entry_point
        return result


def grown(a: np.ndarray, capacity: int, fill=0) -> np.ndarray:
    """``a`` with its leading (slot) axis grown to ``capacity``: the old slots copied, the new
    ones ``fill``."""
    b = np.full((capacity, *a.shape[1:]), fill, dtype=a.dtype)
    b[: a.shape[0]] = a
    return b


def bundler(State):
    """A function building the namedtuple ``State`` (two or more fields) from a dict holding
    an array for each of its fields: the state bundle a kernel takes, made on each call from the
    dict a class keeps (0.2 us)."""
    get = itemgetter(*State._fields)
    return lambda arrays: State._make(get(arrays))


def load_slots(targets: dict, arrays: dict, slots, what: str) -> None:
    """Write ``arrays[name]`` into ``targets[name][slots]`` for every state array of
    ``targets`` — a checkpoint's slot state going back into a model.

    Every array's dtype and shape after the slot axis is checked before anything is written, so
    a bad one changes nothing: a ValueError names it (``"{what} 'name': expected float64 (*,
    3), got ..."``); an absent name is a KeyError.
    """
    values = {}
    for name, a in targets.items():
        v = np.asarray(arrays[name])
        if v.dtype != a.dtype or v.shape[1:] != a.shape[1:]:
            dims = ", ".join(map(str, a.shape[1:]))
            raise ValueError(
                f"{what} {name!r}: expected {a.dtype} (*, {dims}), got {v.dtype} {v.shape}"
            )
        values[name] = v
    for name, v in values.items():
        targets[name][slots] = v


def writable_state(state: dict) -> dict:
    """``state`` (an object's ``__dict__`` being unpickled) with every read-only numpy array —
    directly, or in a tuple, namedtuple, list or dict value — replaced by a writable copy.

    joblib's ``load(..., mmap_mode="r")`` and other zero-copy loaders give read-only arrays;
    the compiled kernels update state in place, so a loaded model would not learn.
    """

    def fix(v):
        if isinstance(v, np.ndarray):
            return v if v.flags.writeable else v.copy()
        if isinstance(v, tuple) and any(isinstance(a, np.ndarray) for a in v):
            items = [fix(a) for a in v]
            return type(v)(*items) if hasattr(v, "_fields") else tuple(items)
        if isinstance(v, list) and any(isinstance(a, np.ndarray) for a in v):
            return [fix(a) for a in v]
        if isinstance(v, dict) and any(isinstance(a, np.ndarray) for a in v.values()):
            return {k: fix(a) for k, a in v.items()}
        return v

    return {k: fix(v) for k, v in state.items()}


def modes_for(mode: int, capacity: int, m: int) -> np.ndarray:
    """A ``(capacity, m)`` int8 modes array with every entry ``mode``."""
    return np.full((capacity, m), mode, dtype=np.int8)


def member_ints(members, name: str) -> np.ndarray:
    """The parameter ``name`` of every member as an int64 ``(m,)`` array (for ``make_config``)."""
    return np.array([int(getattr(m, name)) for m in members], dtype=np.int64)


class Stack:
    """Learned state of ``m`` members of one detector class for up to ``capacity`` slots.

    Subclasses (one per detector family, next to the detector) declare:

    * ``State`` — a module-level namedtuple class, one field per state array;
    * ``dtypes`` — ``{field: numpy dtype}`` for every field of ``State``;
    * ``init_member(det, schema) -> {field: array}`` — a member's fresh state (validating the
      detector's parameters, drawing its random numbers); any shape, flattened here;
    * ``make_config(members, schema, off)`` — the config namedtuple (per-member parameters);
    * ``kernel`` — the compiled kernel (a staticmethod; signature in the module docstring).

    Parameters
    ----------
    members
        The detectors (their parameters; they are not modified).
    schema
        The input's :class:`~sead._validation.FeatureSchema`.
    capacity
        Slots to allocate at first (grows with :meth:`reserve`).
    """

    State: type
    dtypes: dict
    kernel = None

    def __init__(self, members, schema, capacity: int = 1):
        self.schema = schema
        self.members = [d.clone() for d in members]  # their parameters (unfitted)
        inits = [self.init_member(d, schema) for d in members]
        names = self.State._fields
        widths = np.array(
            [[np.asarray(init[f]).size for init in inits] for f in names], dtype=np.int64
        )
        self.off = np.zeros((len(names), len(inits) + 1), dtype=np.int64)
        np.cumsum(widths, axis=1, out=self.off[:, 1:])
        self.template = self._flatten(inits)
        self.cfg = self.make_config(members, schema, self.off)
        self.m = len(inits)
        self.state = self.State(*[np.zeros((0, t.size), dtype=t.dtype) for t in self.template])
        self.reserve(capacity)

    def _flatten(self, inits):
        """The template: the members' fresh states, concatenated field by field."""
        return self.State(
            *[
                np.concatenate(
                    [np.asarray(init[f], dtype=self.dtypes[f]).ravel() for init in inits]
                )
                for f in self.State._fields
            ]
        )

    @property
    def template(self):
        """Every member's fresh state (what a new slot starts from); rebuilt from the parameters
        when a pickled stack of seeded members left it out."""
        t = self.__dict__.get("_template")
        if t is None:
            t = self._template = self._flatten(
                [self.init_member(d, self.schema) for d in self.members]
            )
        return t

    @template.setter
    def template(self, value):
        self._template = value

    # ---- subclass hooks -----------------------------------------------------------------
    @staticmethod
    def init_member(det, schema) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def make_config(members, schema, off):  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- slots --------------------------------------------------------------------------
    @property
    def capacity(self) -> int:
        return self.state[0].shape[0]

    def reserve(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots (existing slots keep their state; new ones
        are uninitialised until :meth:`reset`)."""
        if capacity <= self.capacity:
            return
        self.state = self.State(*(grown(a, capacity) for a in self.state))

    def reset(self, slots) -> None:
        """Give ``slots`` (an int array or a slice) the fresh state of every member."""
        for a, t in zip(self.state, self.template):
            a[slots] = t

    def copy_slots(self, src, dst) -> None:
        """Copy slots ``src`` onto slots ``dst`` (same length)."""
        for a in self.state:
            a[dst] = a[src]

    def slot_state(self, slots) -> dict:
        """``{field: array (len(slots), width)}``: a copy of the state of ``slots``."""
        return {f: a[slots].copy() for f, a in zip(self.State._fields, self.state)}

    def load_slot_state(self, slots, arrays: dict) -> None:
        """Write arrays from :meth:`slot_state` into ``slots`` (see :func:`load_slots`)."""
        load_slots(self.state._asdict(), arrays, slots, "state field")

    def nbytes_per_slot(self) -> int:
        """Bytes of learned state per slot (all members)."""
        return int(sum(t.nbytes for t in self.template))

    @property
    def _seeded(self) -> bool:
        """Whether the template follows from the parameters (no member draws a random seed)."""
        return all(getattr(d, "seed", 0) is not None for d in self.members)

    def arrays(self, slots, prefix: str) -> dict:
        """The state of ``slots`` as named arrays (for state bytes), with the template unless
        the parameters determine it."""
        out = {f"{prefix}{f}": a[slots] for f, a in zip(self.State._fields, self.state)}
        if not self._seeded:
            out.update(
                {f"{prefix}template.{f}": t for f, t in zip(self.State._fields, self.template)}
            )
        return out

    def load_arrays(self, slots, arrays: dict, prefix: str) -> None:
        """Inverse of :meth:`arrays` (shapes and dtypes checked)."""
        fields = self.State._fields
        self.load_slot_state(slots, {f: arrays[f"{prefix}{f}"] for f in fields})
        if f"{prefix}template.{fields[0]}" not in arrays:
            return
        template = [np.asarray(arrays[f"{prefix}template.{f}"]) for f in fields]
        for f, t, mine in zip(fields, template, self.template):
            if t.dtype != mine.dtype or t.shape != mine.shape:
                raise ValueError(
                    f"state field {prefix}template.{f}: expected {mine.dtype} {mine.shape}, got "
                    f"{t.dtype} {t.shape}"
                )
        self.template = self.State(*[t.copy() for t in template])

    # ---- running ------------------------------------------------------------------------
    def run(self, X, slots, modes, out) -> None:
        """Advance the instances: see the module docstring for the arguments."""
        args = (X, slots, modes, out, self.cfg, self.state)
        entry = self.__dict__.get("_entry")
        # the fast path checks the one argument that comes from outside (the rows): ``slots``,
        # ``modes`` and ``out`` are always made by the callers as int64, int8 and float64 C arrays
        if (
            entry is not None
            and type(X) is np.ndarray
            and X.dtype is _F8
            and X.ndim == 2
            and X.flags.c_contiguous
            and X.flags.writeable
        ):
            entry(*args)
            return
        kernel = type(self).kernel
        kernel(*args)
        # the compiled function for exactly these argument types: calling it directly skips
        # the dispatcher's type resolution, most of the cost of a one-row call
        self._entry = kernel.overloads[tuple(numba.typeof(a) for a in args)].entry_point

    def view(self, j: int, slot: int) -> Stack:
        """A one-member, one-slot stack whose state is a view of member ``j`` in ``slot``."""
        v = object.__new__(type(self))
        lo, hi = self.off[:, j], self.off[:, j + 1]
        v.schema = self.schema
        v.members = [self.members[j]]
        v.m = 1
        v.off = np.stack([np.zeros_like(lo), hi - lo], axis=1)
        v.template = self.State(*[t[lo[f] : hi[f]] for f, t in enumerate(self.template)])
        v.state = self.State(*[a[slot : slot + 1, lo[f] : hi[f]] for f, a in enumerate(self.state)])
        v.cfg = type(self.cfg)(
            *[
                v.off if name == "off" else value[j : j + 1]
                for name, value in zip(self.cfg._fields, self.cfg)
            ]
        )
        return v

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_entry", None)  # a compiled function's address: never pickled
        if self._seeded and state.get("members"):
            state["_template"] = None  # the parameters give it back (see ``template``)
        return state

    def __setstate__(self, state):
        self.__dict__.update(writable_state(state))

    def member_view(self, field: str, j: int = 0, slot: int = 0) -> np.ndarray:
        """Member ``j``'s part of ``field`` in ``slot`` (a 1-D view)."""
        f = self.State._fields.index(field)
        return getattr(self.state, field)[slot, self.off[f, j] : self.off[f, j + 1]]


class ObjectStack:
    """The :class:`Stack` interface over Python detector objects (one per member and slot).

    For detectors without a compiled family: adapters, a user's own subclass of
    :class:`sead.base.Detector` implementing the row hooks. Each slot holds clones of the
    members, prepared with the schema; ``run`` calls their hooks on each slot's rows, in order.
    """

    def __init__(self, members, schema, capacity: int = 1):
        self.schema = schema
        self.members = [d.clone() for d in members]
        self.m = len(self.members)
        self.objects: list = []
        self.reserve(capacity)

    @property
    def capacity(self) -> int:
        return len(self.objects)

    def _fresh(self) -> list:
        out = []
        for d in self.members:
            c = d.clone()
            c._prepare(self.schema)
            out.append(c)
        return out

    def reserve(self, capacity: int) -> None:
        while len(self.objects) < capacity:
            self.objects.append(None)

    def reset(self, slots) -> None:
        idx = range(self.capacity)[slots] if isinstance(slots, slice) else np.atleast_1d(slots)
        for s in idx:
            self.objects[int(s)] = self._fresh()

    def copy_slots(self, src, dst) -> None:
        import copy

        for a, b in zip(np.atleast_1d(src), np.atleast_1d(dst)):
            self.objects[int(b)] = copy.deepcopy(self.objects[int(a)])

    def nbytes_per_slot(self) -> int:
        import pickle

        return len(pickle.dumps(self._fresh()))

    def arrays(self, slots, prefix: str) -> dict:
        names = ", ".join(sorted({type(d).__name__ for d in self.members}))
        raise TypeError(
            f"{names} keep their state as Python objects, which cannot be written as state bytes "
            "(use pickle, for trusted data only)"
        )

    load_arrays = arrays

    def run(self, X, slots, modes, out) -> None:
        starts = slot_runs(slots)
        by_slot: dict = {}
        for a, b in zip(starts[:-1], starts[1:]):
            by_slot.setdefault(int(slots[a]), []).append(np.arange(a, b))
        for s, parts in by_slot.items():
            rows = parts[0] if len(parts) == 1 else np.concatenate(parts)
            Xs = X[rows]
            for j, det in enumerate(self.objects[s]):
                mode = modes[s, j]
                if mode == SCORE:
                    out[rows, j] = det._score_rows(Xs)
                elif mode == LEARN:
                    det._learn_rows(Xs)
                elif mode == SCORE_LEARN:
                    out[rows, j] = det._score_learn_rows(Xs)
