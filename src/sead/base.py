"""The detector protocol every sead model follows.

A detector is a River anomaly detector (:class:`river.base.AnomalyDetector`) that also
works on whole batches at compiled speed. Its public methods are

=====================  ====================================================================
``learn_one(x)``        learn one point
``score_one(x)``        score one point; pure (changes no state)
``score_many(X)``       score every row of a batch against the current state; pure
``learn_many(X)``       learn the rows of a batch, in order
``score_learn_many(X)`` prequential: score row *t*, then learn it, for every *t*
=====================  ====================================================================

and ``score_learn_many(X)`` equals ``[score_one(x) then learn_one(x) for x in X]`` bit for bit
(both run the same compiled code, row by row). Scores are floats, higher = more anomalous; each
detector documents its range. Before the first point is learned, a score is what a freshly
initialised detector gives (computed on a throwaway copy, so scoring stays pure).

Notes
-----
**Writing a detector.** There are two kinds, and a detector is one or the other:

* **A compiled family** (every detector of :mod:`sead.detectors`): subclass
  :class:`StackedDetector` and point ``_stack_class`` at a :class:`sead._stack.Stack` subclass
  that declares the state fields, a member's fresh state and one numba kernel. The same kernel
  then advances one detector, the members of a :class:`sead.SEAD` pool and the pool of every
  key of :class:`sead.KeyedSEAD` — one compiled call per batch whatever the number of keys.
  ``docs/dev/architecture.md`` walks through one.
* **A Python detector** (the adapters, a quick experiment): subclass :class:`Detector` and
  implement three hooks that receive validated float64 C-contiguous 2-D arrays (never dicts,
  never NaN):

  - ``_init_state(schema)`` — validate the parameters and allocate the learned state
    (attributes ending in ``_``); called once, at the first point learned, with the input's
    :class:`~sead._validation.FeatureSchema` (``schema.n_features``, ``schema.names``);
  - ``_score_rows(X) -> ndarray`` — score each row against the current state, changing nothing;
  - ``_learn_rows(X)`` — learn the rows in order;

  and, for speed, ``_score_learn_rows(X) -> ndarray`` (prequential; the default loops the two
  hooks one row at a time). Such detectors work everywhere, at Python speed.

If a detector emits placeholder scores for its first points (0 while it learns feature ranges,
say), ``_warmup_points()`` says how many; ensembles leave them out of the normalisation and the
weights. Randomised detectors take a ``seed`` parameter and draw everything from it.
"""

from __future__ import annotations

import abc
import inspect
import warnings

import numpy as np
from river.base import AnomalyDetector

from ._engine import deferred_interrupt
from ._missing import POLICY_CODES, fill_missing, learn_runs
from ._params import Options, validate_params
from ._stack import LEARN, SCORE, SCORE_LEARN, Stack, writable_state
from ._validation import EXTRA, MISSING, FeatureSchema, as_matrix, as_row, is_dataframe

__all__ = ["Detector", "StackedDetector", "POLICY_CONSTRAINTS"]

#: what the input policies of every model may be (see :mod:`sead._missing`)
POLICY_CONSTRAINTS = {"missing": [Options(*MISSING)], "extra": [Options(*EXTRA)]}

#: how every public class documents those two parameters. The text is written out in each
#: docstring (so that editors and ``help()`` show it as it is in the source), or replaced by
#: a pointer "as in :class:`...`"; ``tests/test_docstrings.py`` checks that each copy is this.
POLICY_DOCS = {
    "missing": (
        'A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature\'s last '
        'value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.'
    ),
    "extra": (
        'A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.'
    ),
}


def _nothing():
    return None


_ONE_MODE = {mode: np.full((1, 1), mode, dtype=np.int8) for mode in (SCORE, LEARN, SCORE_LEARN)}
_ONE_ROW_SLOT = np.zeros(1, dtype=np.int64)  # read-only use: the slot of a single row


def _takes_schema(hook) -> bool:
    """Whether an ``_init_state`` hook takes the schema (its parameter is not ``n_features``)."""
    params = [p for p in inspect.signature(hook).parameters.values() if p.name != "self"]
    return not (params and params[0].name == "n_features")


class Detector(AnomalyDetector):
    """Base class of sead's detectors and ensembles (see the module docstring)."""

    # ---- hooks for subclasses -------------------------------------------------------------
    @abc.abstractmethod
    def _init_state(self, schema: FeatureSchema) -> None:
        """Validate the parameters and allocate the learned state (see the module docstring)."""

    @abc.abstractmethod
    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        """Scores of the rows of ``X`` against the current state; changes nothing."""

    @abc.abstractmethod
    def _learn_rows(self, X: np.ndarray) -> None:
        """Learn the rows of ``X`` in order."""

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        """Prequential pass over ``X``; override with a fused kernel for speed."""
        out = np.empty(X.shape[0])
        for t in range(X.shape[0]):
            row = X[t : t + 1]
            out[t] = self._score_rows(row)[0]
            self._learn_rows(row)
        return out

    def _warmup_points(self) -> int:
        """How many initial points this detector scores with a placeholder while it sets
        itself up (e.g. 0 while it learns feature ranges). Ensembles leave those scores out of
        the normalisation and the weights. Override when the answer is not 0."""
        return 0

    def __setstate__(self, state):
        # read-only arrays (joblib's mmap_mode="r") become writable, so that learning continues
        self.__dict__.update(writable_state(state))

    # ---- plumbing ---------------------------------------------------------------------------
    @property
    def _fitted(self) -> bool:
        return getattr(self, "schema_", None) is not None

    def _prepare(self, schema: FeatureSchema) -> None:
        """Fix the schema and allocate the state at the first point learned (no-op after).

        Plumbing, not a hook: subclasses set themselves up in ``_init_state(schema)``.
        """
        if getattr(self, "schema_", None) is not None:
            return
        if hasattr(type(self), "_parameter_constraints"):
            validate_params(self)
        hook = type(self)._init_state
        if _takes_schema(hook):
            self._init_state(schema)
        else:
            warnings.warn(
                f"{type(self).__name__}._init_state(self, n_features) is deprecated: take the "
                "input's FeatureSchema instead (schema.n_features, schema.names)",
                DeprecationWarning,
                stacklevel=3,
            )
            self._init_state(schema.n_features)  # type: ignore[arg-type]
        self.schema_ = schema

    @property
    def n_features_in_(self) -> int:
        """Number of features, fixed at the first point learned."""
        if not self._fitted:
            raise AttributeError("n_features_in_: the model has not learned anything yet")
        return self.schema_.n_features

    @property
    def feature_names_in_(self) -> tuple | None:
        """Feature names (dict or DataFrame input), or None for positional input."""
        if not self._fitted:
            raise AttributeError("feature_names_in_: the model has not learned anything yet")
        return self.schema_.names

    def _fresh_scores(self, X: np.ndarray, schema: FeatureSchema) -> np.ndarray:
        """Scores of a detector that has learned nothing, without touching ``self``."""
        tmp = self.clone()
        tmp._prepare(schema)
        return np.asarray(tmp._score_rows(X), dtype=np.float64)

    def _wrap(self, scores: np.ndarray, X):
        if is_dataframe(X):
            import pandas as pd

            return pd.Series(scores, index=X.index, name="score")
        return scores

    # ---- input and the missing-value policy -------------------------------------------------
    def _policies(self) -> tuple[str, str]:
        """``(missing, extra)``: this model's missing-value and extra-key policies."""
        return getattr(self, "missing", "raise"), getattr(self, "extra", "raise")

    def _as_row(self, x):
        missing, extra = self._policies()
        return as_row(x, getattr(self, "schema_", None), missing=missing, extra=extra)

    def _as_matrix(self, X):
        missing, extra = self._policies()
        return as_matrix(X, getattr(self, "schema_", None), missing=missing, extra=extra)

    def _missing_state(self):
        """``(last, seen)`` (1, d) arrays of this stream's last value of each feature."""
        st = self.__dict__.get("missing_")
        if st is None:
            d = self.schema_.n_features
            st = self.missing_ = (np.zeros((1, d)), np.zeros((1, d), dtype=np.bool_))
        return st

    def _fill(self, A, update: bool, slots=None):
        """``(A, learnable, commit)``: ``A`` with its missing cells filled by the policy (a
        copy; ``A`` itself when nothing is missing), which rows may be learned (None: all),
        and a function that records the fill state — called once the learning succeeded, so
        that a failed call changes nothing."""
        if not np.isnan(A).any():
            if not update:
                return A, None, _nothing

            def record():  # the last row holds every feature's last value
                last, seen = self._missing_state()
                last[0] = A[-1]
                seen[0] = True

            return A, None, record
        if self._fitted:
            last, seen = self._missing_state()
        else:
            last, seen = np.zeros((1, A.shape[1])), np.zeros((1, A.shape[1]), dtype=np.bool_)
        A = A.copy()
        L = np.empty(A.shape[0], dtype=np.bool_)
        slots = np.zeros(A.shape[0], dtype=np.int64) if slots is None else slots
        new_last, new_seen = (last.copy(), seen.copy()) if update else (last, seen)
        fill_missing(A, slots, new_last, new_seen, POLICY_CODES[self._policies()[0]], update, L)

        def commit():
            last[...] = new_last
            seen[...] = new_seen

        return A, (None if L.all() else L), (commit if update else _nothing)

    # ---- public API -------------------------------------------------------------------------
    def learn_one(self, x) -> None:
        """Learn one point (a dict, a 1-D array or a sequence of numbers)."""
        X, schema = self._as_row(x)
        self._prepare(schema)
        X, L, commit = self._fill(X, True)
        with deferred_interrupt():
            if L is None:
                self._learn_rows(X)
            commit()

    def score_one(self, x) -> float:
        """Anomaly score of one point (higher = more anomalous); changes no state."""
        X, schema = self._as_row(x)
        X, _, _ = self._fill(X, False)
        if not self._fitted:
            return float(self._fresh_scores(X, schema)[0])
        return float(self._score_rows(X)[0])

    def learn_many(self, X) -> None:
        """Learn the rows of ``X`` (2-D array, sequence of rows or dicts, DataFrame) in order."""
        A, schema = self._as_matrix(X)
        self._prepare(schema)
        A, L, commit = self._fill(A, True)
        if L is not None:
            A = A[L]
        with deferred_interrupt():
            if A.shape[0]:
                self._learn_rows(A)
            commit()

    def score_many(self, X):
        """Score every row of ``X`` against the current state; changes no state.

        Returns a float64 array, or a pandas Series on ``X``'s index when ``X`` is a DataFrame.
        """
        A, schema = self._as_matrix(X)
        A, _, _ = self._fill(A, False)
        if not self._fitted:
            return self._wrap(self._fresh_scores(A, schema), X)
        return self._wrap(np.asarray(self._score_rows(A), dtype=np.float64), X)

    def score_learn_many(self, X):
        """Prequential pass: score each row, then learn it; same as the one-by-one loop.

        Returns a float64 array, or a pandas Series on ``X``'s index when ``X`` is a DataFrame.
        """
        A, schema = self._as_matrix(X)
        self._prepare(schema)
        A, L, commit = self._fill(A, True)
        with deferred_interrupt():
            out = self._score_learn_masked(A, L)
            commit()
        return self._wrap(out, X)

    def _score_learn_masked(self, A, L, **kw):
        """Prequential pass where the rows with ``L`` False are scored but not learned."""
        if L is None:
            return np.asarray(self._score_learn_rows(A, **kw), dtype=np.float64)
        out = np.empty(A.shape[0])
        for a, b, learn in learn_runs(L):
            part = self._score_learn_rows(A[a:b], **kw) if learn else self._score_rows(A[a:b])
            out[a:b] = part
        return out

    # ---- state bytes --------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        """The model as versioned bytes: format version, class, parameters, feature schema and
        learned arrays (no pickled code; see :mod:`sead._state`).

        :meth:`from_bytes` in any process gives a model whose future scores are bit-identical.
        Models wrapping foreign objects (the adapters) raise TypeError.
        """
        from . import _state

        schema = getattr(self, "schema_", None)
        arrays = self._state_arrays() if schema is not None else {}
        extra = {
            "schema": None
            if schema is None
            else {
                "n_features": schema.n_features,
                "names": None if schema.names is None else list(schema.names),
            }
        }
        return _state.dumps("model", type(self), self.get_params(), arrays, extra)

    @classmethod
    def from_bytes(cls, blob):
        """A model from :meth:`to_bytes`. A blob from a newer format, of another class,
        truncated or changed raises a ValueError that says which."""
        from . import _state

        header, arrays = _state.loads(blob, "model", cls)
        model_cls = _state._sead_class(header["class"])
        model = model_cls(**_state.decode_top(header["params"]))
        if header.get("schema") is not None:
            sch = header["schema"]
            model._prepare(
                FeatureSchema(
                    sch["n_features"], None if sch["names"] is None else tuple(sch["names"])
                )
            )
            model._load_state_arrays(arrays)
        return model

    def _state_arrays(self) -> dict:
        raise TypeError(
            f"{type(self).__name__} keeps its state as Python objects; it cannot be written as "
            "state bytes (use pickle, for trusted data only)"
        )

    def _load_state_arrays(self, arrays: dict) -> None:  # pragma: no cover - see _state_arrays
        self._state_arrays()

    # ---- River's check suite ------------------------------------------------------------------
    def _unit_test_skips(self) -> set[str]:
        """Checks (River's ``river.checks`` and :mod:`sead.checks`) that do not apply.

        A subclass that skips more returns ``super()._unit_test_skips() | {...}``, with the
        reason next to each name.
        """
        missing, extra = self._policies()
        skips = set()
        if missing == "raise" or extra == "raise":
            # the strict policies refuse a point whose keys come and go, with a ValueError naming
            # the key; these three River checks feed such points
            skips |= {
                "check_emerging_features",
                "check_disappearing_features",
                "check_radically_disappearing_features",
            }
        return skips

    # ---- scikit-learn style parameter access ------------------------------------------------
    def get_params(self, deep: bool = False) -> dict:
        """The ``__init__`` arguments, as stored (scikit-learn's contract).

        Parameters
        ----------
        deep
            Also the parameters of the arguments that have parameters themselves (a wrapped
            model, a reference object), as ``name__parameter`` keys, as scikit-learn does. A
            list (``detectors``) is not descended into.
        """
        params = {k: getattr(self, k) for k in self._get_params()}
        if deep:
            for k, v in list(params.items()):
                if hasattr(v, "get_params") and not isinstance(v, type):
                    try:
                        sub = v.get_params(deep=True)
                    except TypeError:  # a get_params without ``deep`` (River's _get_params style)
                        sub = v.get_params()
                    params.update({f"{k}__{name}": value for name, value in sub.items()})
        return params

    def set_params(self, **params):
        """Set ``__init__`` arguments and forget what was learned.

        The model becomes ``self.clone(params)``: a fresh, unfitted model with those arguments
        (River's ``clone`` semantics); scikit-learn's nested ``name__parameter`` keys are not
        accepted (set the inner object instead). An unknown name is a ValueError and changes
        nothing.
        """
        valid = self._get_params()
        for k in params:
            if k not in valid:
                raise ValueError(
                    f"invalid parameter {k!r} for {type(self).__name__}; valid: {sorted(valid)}"
                )
        fresh = self.clone(params)
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self


class StackedDetector(Detector):
    """A detector whose state lives in a :class:`sead._stack.Stack` of one member and one slot.

    Subclasses set ``_stack_class``; this class implements the hooks by running the family's
    kernel on slot 0. :class:`sead.SEAD` and :class:`sead.KeyedSEAD` put several such detectors
    (and many slots) into one stack instead.
    """

    _stack_class: type[Stack]

    def _init_state(self, schema: FeatureSchema) -> None:
        if isinstance(schema, (int, np.integer)):  # a width alone (positional input)
            schema = FeatureSchema(int(schema))
        self.stack_ = self._stack_class([self], schema, capacity=1)
        self.stack_.reset(slice(0, 1))

    def _run(self, X: np.ndarray, mode: int) -> np.ndarray:
        n = X.shape[0]
        out = np.empty((n, 1))
        self.stack_.run(
            X, _ONE_ROW_SLOT if n == 1 else np.zeros(n, dtype=np.int64), _ONE_MODE[mode], out
        )
        return out[:, 0]

    def _score_rows(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, SCORE)

    def _learn_rows(self, X: np.ndarray) -> None:
        self._run(X, LEARN)

    def _score_learn_rows(self, X: np.ndarray) -> np.ndarray:
        return self._run(X, SCORE_LEARN)

    def _state_arrays(self) -> dict:
        out = self.stack_.arrays(slice(0, 1), "")
        last, seen = self._missing_state()
        out.update({"missing.last": last, "missing.seen": seen})
        return out

    def _load_state_arrays(self, arrays: dict) -> None:
        self.stack_.load_arrays(slice(0, 1), arrays, "")
        last, seen = self._missing_state()
        last[...] = arrays["missing.last"]
        seen[...] = arrays["missing.seen"]

    def _view(self, field: str) -> np.ndarray:
        """This detector's part of a state field (a 1-D view into the stack)."""
        return self.stack_.member_view(field, 0, 0)

    def _shaped(self, field: str, *shape) -> np.ndarray:
        """:meth:`_view` of ``field`` reshaped to ``shape`` (a view): the learned attributes."""
        return self._view(field).reshape(shape)
