"""Declarative parameter validation: every public class states what each ``__init__`` argument
may be, and one function checks them all (scikit-learn's ``_parameter_constraints``).

A class sets ``_parameter_constraints = {"name": [constraint, ...], ...}`` with one entry per
``__init__`` parameter; a value is valid when it satisfies at least one of its constraints
(``None`` in the list allows ``None``). :func:`validate_params` runs at the first point learned
(``__init__`` only stores, scikit-learn's contract) and raises a ValueError naming the argument,
what it may be and the value it got::

    ValueError: seed must be an integer >= 0 or None, got -3

``tests/test_params.py`` checks that every parameter of every public class has constraints,
and that values of the wrong kind are refused with the parameter's name.
"""

from __future__ import annotations

import inspect
import math
import numbers
import warnings

import numpy as np

__all__ = [
    "Interval",
    "Options",
    "Boolean",
    "InstanceOf",
    "Callable",
    "validate_params",
    "check_values",
    "check_int",
    "check_real",
    "SEED",
    "take_renamed",
    "init_params",
    "params_repr",
]


class Interval:
    """An integer (``kind="int"``, bools excluded) or a finite real number (``kind="real"``,
    bools excluded, numpy scalars accepted) in an interval.

    Parameters
    ----------
    kind
        ``"int"`` or ``"real"``.
    low, high
        Bounds; ``None`` = unbounded.
    closed
        ``"both"``, ``"left"``, ``"right"`` or ``"neither"``: which bounds belong to it.

    Examples
    --------
    >>> Interval("int", 1, None).is_satisfied_by(3), str(Interval("int", 1, None))
    (True, 'an integer >= 1')
    >>> str(Interval("real", 0, 1, closed="right"))
    'a finite number in (0, 1]'
    """

    def __init__(self, kind: str, low=None, high=None, *, closed: str = "both"):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def is_satisfied_by(self, v) -> bool:
        if isinstance(v, (bool, np.bool_)):
            return False
        if self.kind == "int":
            if not isinstance(v, numbers.Integral):
                return False
        elif not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is not None and (v < self.low or (not left and v == self.low)):
            return False
        return not (self.high is not None and (v > self.high or (not right and v == self.high)))

    def __str__(self) -> str:
        what = "an integer" if self.kind == "int" else "a finite number"
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.low is None and self.high is None:
            return what
        if self.high is None:
            return f"{what} {'>=' if left else '>'} {self.low}"
        if self.low is None:
            return f"{what} {'<=' if right else '<'} {self.high}"
        return f"{what} in {'[' if left else '('}{self.low}, {self.high}{']' if right else ')'}"


class Options:
    """One of a fixed set of values (strings, usually)."""

    def __init__(self, *values):
        self.values = values

    def is_satisfied_by(self, v) -> bool:
        return isinstance(v, (str, int, float)) and not isinstance(v, bool) and v in self.values

    def __str__(self) -> str:
        return f"one of {list(self.values)}"


class Boolean:
    """``True`` or ``False`` (Python or numpy bools)."""

    def is_satisfied_by(self, v) -> bool:
        return isinstance(v, (bool, np.bool_))

    def __str__(self) -> str:
        return "True or False"


class InstanceOf:
    """An instance of one of ``types`` (described as ``description``)."""

    def __init__(self, types, description: str):
        self.types, self.description = types, description

    def is_satisfied_by(self, v) -> bool:
        return isinstance(v, self.types)

    def __str__(self) -> str:
        return self.description


class Callable:
    """Any callable."""

    def is_satisfied_by(self, v) -> bool:
        return callable(v)

    def __str__(self) -> str:
        return "a callable"


#: a random seed: a non-negative integer, or None for fresh entropy
SEED = [Interval("int", 0, None), None]


def _describe(constraints) -> str:
    parts = [str(c) for c in constraints if c is not None]
    allows_none = any(c is None for c in constraints)
    if allows_none and parts == ["True or False"]:
        return "None, True or False"
    text = " or ".join(parts) if parts else "None"
    return text + (" or None" if allows_none and parts else "")


def _satisfies(value, constraints) -> bool:
    return any((value is None) if c is None else c.is_satisfied_by(value) for c in constraints)


def validate_params(obj, params: dict | None = None) -> None:
    """Check ``obj``'s ``__init__`` arguments against ``type(obj)._parameter_constraints``.

    ``params`` overrides the values read from ``obj`` (``obj.get_params()`` by default).
    Raises ValueError naming the first invalid argument; a parameter without constraints is a
    bug of the class (AssertionError).

    >>> class Toy:
    ...     _parameter_constraints = {"n": [Interval("int", 1, None)], "seed": SEED}
    >>> validate_params(Toy(), {"n": 3, "seed": None})
    >>> validate_params(Toy(), {"n": 3, "seed": -3})
    Traceback (most recent call last):
    ...
    ValueError: seed must be an integer >= 0 or None, got -3
    """
    constraints = type(obj)._parameter_constraints
    if params is None:
        params = obj.get_params()
    missing = [name for name in params if name not in constraints]
    if missing:
        raise AssertionError(
            f"{type(obj).__name__}._parameter_constraints has no entry for {missing}"
        )
    check_values(constraints, params)


def check_values(constraints: dict, values: dict) -> None:
    """Check ``values`` (``{name: value}``) against ``constraints`` (a function's arguments);
    a ValueError naming the first invalid one."""
    for name, value in values.items():
        if not _satisfies(value, constraints[name]):
            raise ValueError(f"{name} must be {_describe(constraints[name])}, got {value!r}")


def check_int(name, value, low, high=None, *, allow_none=False):
    """``value`` as an int in ``[low, high]`` (``high=None``: no upper bound), or ``None`` when
    ``allow_none``; otherwise a ValueError naming ``name`` and the value.

    Examples
    --------
    >>> check_int("n_trees", 25, 1)
    25
    >>> check_int("height", 40, 1, 30)
    Traceback (most recent call last):
    ...
    ValueError: height must be an integer in [1, 30], got 40
    """
    constraints = [Interval("int", low, high)] + ([None] if allow_none else [])
    if not _satisfies(value, constraints):
        raise ValueError(f"{name} must be {_describe(constraints)}, got {value!r}")
    return None if value is None else int(value)


def check_real(name, value, low, high=None, *, low_open=False):
    """``value`` as a finite float in ``[low, high]`` (``(low, high]`` with ``low_open``;
    ``high=None``: no upper bound); otherwise a ValueError naming ``name`` and the value.

    Examples
    --------
    >>> check_real("alpha", 0.5, 0.0, 1.0)
    0.5
    >>> check_real("contamination", 0.0, 0.0, 0.5, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: contamination must be a finite number in (0.0, 0.5], got 0.0
    """
    c = Interval("real", low, high, closed="right" if low_open else "both")
    if not c.is_satisfied_by(value):
        raise ValueError(f"{name} must be {c}, got {value!r}")
    return float(value)


def take_renamed(obj, given: dict, renames: dict) -> None:
    """Accept the parameters ``given`` under their former names, for one release.

    ``renames`` maps a former name to the one sead now uses for that idea (``window``,
    ``warmup``, ``n_components``, ``decay``, ``n_trees``); each former name in ``given`` sets
    the new attribute of ``obj`` and warns (``DeprecationWarning``); any other name is the
    ``TypeError`` Python gives for an unexpected keyword argument.

    >>> import warnings
    >>> class Toy:
    ...     def __init__(self, window=10, **kwargs):
    ...         self.window = window
    ...         take_renamed(self, kwargs, {"window_size": "window"})
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     Toy(window_size=5).window, str(w[0].message)[:40]
    (5, 'Toy(window_size=...) is deprecated: use ')
    >>> Toy(size=5)
    Traceback (most recent call last):
    ...
    TypeError: Toy.__init__() got an unexpected keyword argument 'size'
    """
    name = type(obj).__name__
    for old, value in given.items():
        if old not in renames:
            raise TypeError(f"{name}.__init__() got an unexpected keyword argument {old!r}")
        new = renames[old]
        warnings.warn(
            f"{name}({old}=...) is deprecated: use {new}=; {old} will be removed in the next "
            "release",
            DeprecationWarning,
            stacklevel=3,
        )
        setattr(obj, new, value)


def init_params(obj) -> dict:
    """``{name: value}`` of the parameters of ``type(obj).__init__``, read from the attributes
    of the same names (``__init__`` stores each one as it is given, scikit-learn's contract).

    ``*args`` and ``**kwargs`` are not parameters (a ``**kwargs`` only takes former names).

    >>> class Ref:
    ...     def __init__(self, size=3, *, name="a", **kwargs):
    ...         self.size, self.name = size, name
    >>> init_params(Ref(5))
    {'size': 5, 'name': 'a'}
    >>> params_repr(Ref(5))
    "Ref(size=5, name='a')"
    """
    sig = inspect.signature(type(obj).__init__)
    return {
        k: getattr(obj, k)
        for k, p in sig.parameters.items()
        if k != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def params_repr(obj) -> str:
    """``Class(name=value, ...)`` of :func:`init_params`."""
    args = ", ".join(f"{k}={v!r}" for k, v in init_params(obj).items())
    return f"{type(obj).__name__}({args})"
