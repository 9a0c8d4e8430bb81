"""The base class of the quantile references: stacked state, input checks, reference sizes.

A reference holds the past scores of ``K`` columns (detectors) for ``capacity`` slots (streams):
every state array has the leading axes ``(slot, column)``. One stream — ``transform(R)`` on an
``(n, K)`` matrix — is slot 0; :class:`sead.KeyedSEAD` passes the slot of every row to
:meth:`QuantileReference.run`, and each subclass's compiled driver hands each run of
consecutive rows of one slot to its single-slot kernels (the sorting batch paths for long runs,
the row paths otherwise; both give the same numbers).
"""

from __future__ import annotations

import numpy as np

from .._params import init_params, params_repr, validate_params
from .._stack import grown, load_slots, writable_state

__all__ = ["QuantileReference"]


class QuantileReference:
    """Base of the references (see the module docstring).

    Subclasses implement ``_spec(K)`` — ``{name: (per-slot shape, dtype)}`` of the state arrays
    — ``_check_params()``, ``_capacity()`` (the most scores a column keeps, ``None`` =
    unbounded), and ``_run_slots(R, slots, Z, N, update)`` (the compiled driver). The state is
    ``state_``, a dict of those arrays with a leading slot axis.
    """

    # ---- subclass hooks ---------------------------------------------------------------------
    def _spec(self, K: int) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    #: what each parameter may be (see :mod:`sead._params`)
    _parameter_constraints: dict = {}

    def _check_params(self) -> None:
        validate_params(self)

    def _run_slots(self, R, slots, Z, N, update) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _capacity(self):
        """The most scores a column's reference holds (None = unbounded)."""
        return None

    def _before_run(self, R, slots, update) -> None:
        """Make room for the scores of this call (growing references override this)."""

    # ---- parameters -------------------------------------------------------------------------
    def get_params(self) -> dict:
        """``{name: value}`` of the constructor's parameters."""
        return init_params(self)

    def clone(self):
        """A fresh reference with the same parameters."""
        return type(self)(**self.get_params())

    def __repr__(self):
        return params_repr(self)

    # ---- stacked state ----------------------------------------------------------------------
    @property
    def n_columns_(self) -> int:
        """Columns (detectors) the reference was allocated for."""
        return self.K_

    @property
    def slot_capacity_(self) -> int:
        """Slots (streams) the state has room for."""
        return next(iter(self.state_.values())).shape[0]

    def allocate(self, K: int, capacity: int = 1) -> None:
        """Allocate empty references for ``K`` columns and ``capacity`` slots."""
        self._check_params()
        self.K_ = int(K)
        self.state_ = {
            name: np.zeros((capacity, *shape), dtype=dtype)
            for name, (shape, dtype) in self._spec(self.K_).items()
        }

    def reserve(self, capacity: int) -> None:
        """Make room for at least ``capacity`` slots (new slots are empty)."""
        if capacity <= self.slot_capacity_:
            return
        self.state_.update({name: grown(a, capacity) for name, a in self.state_.items()})

    def reset(self, slots) -> None:
        """Empty the references of ``slots``."""
        for a in self.state_.values():
            a[slots] = 0

    def copy_slots(self, src, dst) -> None:
        """Copy the references of slots ``src`` into slots ``dst``."""
        for a in self.state_.values():
            a[dst] = a[src]

    def slot_state(self, slots) -> dict:
        """``{name: array}``: a copy of the state of ``slots``."""
        return {name: a[slots].copy() for name, a in self.state_.items()}

    def load_slot_state(self, slots, arrays: dict) -> None:
        """Write arrays from :meth:`slot_state` into ``slots`` (:func:`sead._stack.load_slots`)."""
        load_slots(self.state_, arrays, slots, "reference state")

    def nbytes_per_slot(self) -> int:
        """Bytes of state per slot."""
        return int(sum(a[0].nbytes for a in self.state_.values()))

    def __setstate__(self, state):
        self.__dict__.update(writable_state(state))

    # ---- running ----------------------------------------------------------------------------
    def run(self, R, slots, update: bool):
        """Normalise the rows of ``R`` (n, K), row ``t`` against slot ``slots[t]``'s reference;
        with ``update``, insert each observed score after normalising it.

        Returns ``(Z, N)``: the mid-rank quantiles (NaN where ``R`` is NaN) and the reference
        size behind each entry. Raw scores must be finite or NaN (checked by the caller).
        """
        n = R.shape[0]
        Z = np.empty_like(R)
        N = np.empty_like(R)
        if n:
            if update:
                self._before_run(R, slots, update)
            self._run_slots(R, slots, Z, N, update)
        return Z, N

    # ---- one stream (slot 0) ------------------------------------------------------------------
    def _check(self, R) -> np.ndarray:
        R = np.ascontiguousarray(R, dtype=np.float64)
        if R.ndim != 2:
            raise ValueError(f"expected an (n, K) matrix of raw scores, got shape {R.shape}")
        if np.isinf(R).any():
            i, k = np.argwhere(np.isinf(R))[0]
            raise ValueError(
                f"raw score R[{i}, {k}] = {R[i, k]} is infinite; scores must be finite"
            )
        if getattr(self, "K_", None) is None:
            self.allocate(R.shape[1], 1)
        elif R.shape[1] != self.K_:
            raise ValueError(
                f"expected {self.K_} score columns (fixed at the first call), got {R.shape[1]}"
            )
        return R

    def fresh_sizes(self, R) -> np.ndarray:
        """The reference sizes ``transform_update(R, return_sizes=True)`` reports on a *fresh*
        reference, without running it (they depend only on which entries are NaN)."""
        R = np.asarray(R, dtype=np.float64)
        obs = ~np.isnan(R)
        n = (np.cumsum(obs, axis=0) - obs).astype(np.float64)
        cap = self._capacity()
        return n if cap is None else np.minimum(n, cap)

    def _one_stream(self, R, update, return_sizes):
        R = self._check(R)
        Z, N = self.run(R, np.zeros(R.shape[0], dtype=np.int64), update)
        return (Z, N) if return_sizes else Z

    def transform(self, R, *, return_sizes: bool = False):
        """Normalise every row of ``R`` against the current reference; changes no state.

        With ``return_sizes=True`` also return, per entry, how many scores the reference held
        (used for tail p-values, see :func:`sead.combiner.tail_surprise`).
        """
        return self._one_stream(R, False, return_sizes)

    def transform_update(self, R, *, return_sizes: bool = False):
        """Prequential: normalise row *t*, then insert it into the reference, for every *t*."""
        return self._one_stream(R, True, return_sizes)

    def update(self, R) -> None:
        """Insert the rows of ``R`` into the reference."""
        self.transform_update(R)

    def _slot0(self, name):
        """Slot 0's part of a state array (what the single-stream attributes show)."""
        return self.state_[name][0]
