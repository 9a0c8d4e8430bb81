"""Input checking shared by every model: one row or a batch in, a float64 array out.

Every public entry point (``score_one``, ``learn_one``, ``score_learn_many`` …) converts its
input here, once, before any state is touched, so a bad value can never leave a model
half-updated. Errors are :class:`ValueError` (or :class:`TypeError` for an unusable container)
and name the row, the feature and the offending value.

Accepted inputs:

* one row: a 1-D array, a sequence of numbers, or a dict of feature name -> number;
* a batch: a 2-D array, a sequence of rows, a sequence of dicts, or a pandas DataFrame.

The feature names (dicts and DataFrames) or the width (arrays) are fixed by the first point a
model *learns*; later input must match them (positional input after named input is taken in the
order of the names). Scoring never fixes them. Feature names are sorted (River's convention: the
order of a dict's keys means nothing, so the same stream with shuffled keys gives the same model),
for DataFrames too, so a DataFrame and its rows as dicts give the same scores.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["FeatureSchema", "as_row", "as_matrix", "is_dataframe"]


def is_dataframe(X) -> bool:
    """True for a pandas DataFrame (without importing pandas when it is not loaded)."""
    return type(X).__module__.startswith("pandas") and hasattr(X, "columns")


class FeatureSchema:
    """The width and, for named input, the feature names a model was first given.

    Parameters
    ----------
    n_features
        Number of features.
    names
        Feature names in the order they map to columns, or ``None`` for positional input.
    """

    __slots__ = ("n_features", "names", "_index")

    def __init__(self, n_features: int, names: tuple | None = None):
        self.n_features = int(n_features)
        self.names = None if names is None else tuple(names)
        self._index = None if names is None else {n: i for i, n in enumerate(self.names)}

    def __getstate__(self):
        return (self.n_features, self.names)

    def __setstate__(self, state):
        self.__init__(*state)

    def __eq__(self, other):
        return isinstance(other, FeatureSchema) and (self.n_features, self.names) == (
            other.n_features,
            other.names,
        )

    def __repr__(self):
        return f"FeatureSchema(n_features={self.n_features}, names={self.names!r})"


def _describe(value) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad_value(row, feature, value, why) -> ValueError:
    where = "" if row is None else f"row {row}, "
    return ValueError(f"{where}feature {feature!r}: value {_describe(value)} {why}")


def _check_number(value, row, feature) -> float:
    if isinstance(value, (str, bytes)) or not isinstance(value, numbers.Real):
        raise _bad_value(row, feature, value, "is not a number")
    v = float(value)
    if not np.isfinite(v):
        raise _bad_value(row, feature, value, "is not finite (NaN and ±inf are rejected)")
    return v


def _sorted_names(x: Mapping) -> tuple:
    """A dict's keys in a canonical order: sorted, or by (type name, repr) for mixed key types."""
    try:
        return tuple(sorted(x))
    except TypeError:
        return tuple(sorted(x, key=lambda k: (type(k).__name__, repr(k))))


def _dict_to_values(x: Mapping, schema: FeatureSchema | None, row) -> tuple[np.ndarray, tuple]:
    if schema is None or schema.names is None:
        if schema is not None and schema.names is None:
            raise TypeError(
                f"got a dict, but the model was first given positional input of "
                f"{schema.n_features} features; pass arrays or sequences"
            )
        names = _sorted_names(x)
        if not names:
            raise ValueError(f"{'' if row is None else f'row {row}: '}empty dict: no features")
        values = np.empty(len(names))
        for i, name in enumerate(names):
            values[i] = _check_number(x[name], row, name)
        return values, names
    values = np.empty(schema.n_features)
    for i, name in enumerate(schema.names):
        try:
            v = x[name]
        except KeyError:
            where = "" if row is None else f"row {row}: "
            raise ValueError(
                f"{where}feature {name!r} is missing; expected the features "
                f"{list(schema.names)} fixed at the first point"
            ) from None
        values[i] = _check_number(v, row, name)
    if len(x) != schema.n_features:
        extra = [k for k in x if k not in schema._index]
        where = "" if row is None else f"row {row}: "
        raise ValueError(
            f"{where}unexpected feature(s) {extra}; expected exactly {list(schema.names)}"
        )
    return values, schema.names


def _locate_bad(A: np.ndarray, names, single=False):
    """Find the first non-numeric or non-finite cell of a 2-D object/float array."""
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            _check_number(A[i, j], None if single else i, names[j] if names is not None else j)
    raise AssertionError("no bad value found")  # pragma: no cover


def _numeric_2d(A, names, single=False) -> np.ndarray:
    """Convert an array-like to a finite float64 C-contiguous 2-D array, or raise."""
    arr = np.asarray(A)
    if arr.dtype.kind in "USV" and not isinstance(A, np.ndarray):
        arr = np.array(A, dtype=object)  # keep each cell's own type, so errors point at it
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D batch of rows, got an array of shape {arr.shape}")
    if arr.dtype.kind in "biuf":
        out = np.ascontiguousarray(arr, dtype=np.float64)
        if not np.isfinite(out).all():
            i, j = np.argwhere(~np.isfinite(out))[0]
            raise _bad_value(None if single else int(i), names[j] if names is not None else int(j), out[i, j],
                             "is not finite (NaN and ±inf are rejected)")
        return out
    if arr.dtype.kind == "O":
        try:
            out = np.ascontiguousarray(arr, dtype=np.float64)
        except (TypeError, ValueError):
            _locate_bad(arr, names, single)
        # strings such as "1.5" convert silently: refuse them explicitly
        for i, j in zip(*np.nonzero(np.vectorize(lambda v: isinstance(v, (str, bytes)))(arr))):
            raise _bad_value(None if single else int(i), names[j] if names is not None else int(j), arr[i, j],
                             "is not a number")
        if not np.isfinite(out).all():
            i, j = np.argwhere(~np.isfinite(out))[0]
            raise _bad_value(None if single else int(i), names[j] if names is not None else int(j), arr[i, j],
                             "is not finite (NaN and ±inf are rejected)")
        return out
    # strings, datetimes, complex …
    _locate_bad(arr.astype(object), names, single)
    raise AssertionError("unreachable")  # pragma: no cover


def _check_width(n: int, schema: FeatureSchema | None):
    if schema is not None and n != schema.n_features:
        raise ValueError(
            f"expected {schema.n_features} features (fixed at the first point), got {n}"
        )


def as_row(x, schema: FeatureSchema | None) -> tuple[np.ndarray, FeatureSchema]:
    """Validate one point and return it as a ``(1, d)`` float64 array with its schema.

    The returned schema is ``schema`` itself when one was given, else the one ``x`` implies.

    Examples
    --------
    >>> X, s = as_row({"a": 1, "b": 2.5}, None)
    >>> X, s.names
    (array([[1. , 2.5]]), ('a', 'b'))
    >>> as_row({"b": 3.0, "a": 1.0}, s)[0]
    array([[1., 3.]])
    >>> as_row({"b": 3.0, "a": 1.0}, None)[1].names      # a dict's key order means nothing
    ('a', 'b')
    >>> as_row([1.0, float("nan")], None)
    Traceback (most recent call last):
    ...
    ValueError: feature 1: value nan is not finite (NaN and ±inf are rejected)
    """
    if isinstance(x, Mapping):
        values, names = _dict_to_values(x, schema, None)
        return values.reshape(1, -1), schema or FeatureSchema(len(names), names)
    if is_dataframe(x) or isinstance(x, (str, bytes)) or np.ndim(x) != 1:
        raise TypeError(
            "expected one point: a dict, a 1-D array or a sequence of numbers; "
            f"got {type(x).__name__}" + (f" of shape {np.shape(x)}" if hasattr(x, "shape") else "")
        )
    if len(x) == 0:
        raise ValueError("empty input: a point needs at least one feature")
    X = _numeric_2d([list(x)] if not isinstance(x, np.ndarray) else x.reshape(1, -1), None, single=True)
    _check_width(X.shape[1], schema)
    return X, schema or FeatureSchema(X.shape[1])


def as_matrix(X, schema: FeatureSchema | None) -> tuple[np.ndarray, FeatureSchema]:
    """Validate a batch and return it as an ``(n, d)`` float64 C-contiguous array with its schema.

    Examples
    --------
    >>> A, s = as_matrix([[1, 2], [3, 4]], None)
    >>> A.shape, s.n_features
    ((2, 2), 2)
    >>> as_matrix([[1, 2], [3, "x"]], s)
    Traceback (most recent call last):
    ...
    ValueError: row 1, feature 1: value 'x' is not a number
    """
    if is_dataframe(X):
        cols = tuple(X.columns)
        if schema is not None and schema.names is not None:
            missing = [c for c in schema.names if c not in set(cols)]
            extra = [c for c in cols if c not in schema._index]
            if missing or extra:
                raise ValueError(
                    f"DataFrame columns do not match the features fixed at the first point "
                    f"{list(schema.names)}: missing {missing}, unexpected {extra}"
                )
            X = X[list(schema.names)]
            names = schema.names
        elif schema is None:  # named features are kept in sorted order, as for dicts
            names = _sorted_names(dict.fromkeys(cols))
            X = X[list(names)]
        else:
            _check_width(len(cols), schema)
            names = None
        if len(X) == 0:
            raise ValueError("empty input: the DataFrame has no rows")
        for c in X.columns:
            if X[c].dtype.kind not in "biuf":
                bad = X[c].map(lambda v: not isinstance(v, numbers.Real) or isinstance(v, str))
                i = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
                raise _bad_value(i, c, X[c].iloc[i], "is not a number")
        A = _numeric_2d(X.to_numpy(dtype=np.float64), list(X.columns))
        return A, schema or FeatureSchema(len(cols), names)
    if isinstance(X, (str, bytes, Mapping)):
        raise TypeError(f"expected a batch of rows (2-D array, DataFrame or list), got {type(X).__name__}")
    if not isinstance(X, np.ndarray):
        X = list(X)
        if not X:
            raise ValueError("empty input: the batch has no rows")
        if isinstance(X[0], Mapping):
            rows = []
            s = schema
            for i, x in enumerate(X):
                if not isinstance(x, Mapping):
                    raise TypeError(f"row {i}: expected a dict like the rows before, got {type(x).__name__}")
                values, names = _dict_to_values(x, s, i)
                s = s or FeatureSchema(len(names), names)
                rows.append(values)
            return np.ascontiguousarray(np.vstack(rows)), s
        widths = {np.ndim(r) == 1 and len(r) for r in X}
        if len(widths) != 1:
            raise ValueError("rows of different lengths in the batch")
    A = _numeric_2d(X, schema.names if schema is not None else None)
    if A.shape[0] == 0:
        raise ValueError("empty input: the batch has no rows")
    if A.shape[1] == 0:
        raise ValueError("empty input: the rows have no features")
    _check_width(A.shape[1], schema)
    return A, schema or FeatureSchema(A.shape[1])
