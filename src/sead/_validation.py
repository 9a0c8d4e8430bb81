"""Input checking shared by every model: one row or a batch in, a float64 array out.

Every public entry point (``score_one``, ``learn_one``, ``score_learn_many`` …) converts its
input here, once, before any state is touched, so a bad value can never leave a model
half-updated. Errors are :class:`ValueError` (or :class:`TypeError` for an unusable container)
and name the row, the feature and the offending value.

Accepted inputs:

* one row: a 1-D array, a sequence of numbers, or a dict of feature name -> number;
* a batch: a 2-D array, a sequence of rows, a sequence of dicts, or a pandas DataFrame
  (columns of any dtype whose cells are numbers, ``object`` included).

The feature names (dicts and DataFrames) or the width (arrays) are fixed by the first point a
model *learns*; later input must match them (positional input after named input is taken in the
order of the names). Scoring never fixes them. Feature names are sorted (River's convention: the
order of a dict's keys means nothing, so the same stream with shuffled keys gives the same model),
for DataFrames too, so a DataFrame and its rows as dicts give the same scores.

Two policies say what happens to imperfect input (see :mod:`sead.base` for what the models then
do with a missing value):

* ``missing`` — a value that is NaN or None, or a feature absent from a dict or DataFrame:
  ``"raise"`` refuses it; otherwise it comes out as NaN for the model's missing-value policy.
* ``extra`` — a key or column that is not one of the fixed features: ``"raise"`` refuses it,
  ``"ignore"`` drops it.

Infinite values, strings and other non-numbers are always refused; booleans count as 0 and 1.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping

import numpy as np

__all__ = ["FeatureSchema", "as_row", "as_matrix", "is_dataframe", "MISSING", "EXTRA"]

#: the missing-value policies and the extra-key policies
MISSING = ("raise", "impute", "skip")
EXTRA = ("raise", "ignore")


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
        self.names: tuple | None = None if names is None else tuple(names)
        self._index: dict = {} if names is None else {n: i for i, n in enumerate(names)}

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


def _where(row) -> str:
    return "" if row is None else f"row {row}, "


def _bad_value(row, feature, value, why) -> ValueError:
    return ValueError(f"{_where(row)}feature {feature!r}: value {_describe(value)} {why}")


_MISSING_HINT = "; pass missing='impute' or missing='skip' to the model to accept missing values"
_EXTRA_HINT = "; pass extra='ignore' to the model to drop keys that are not features"


def _missing_error(row, feature, value) -> ValueError:
    what = (
        "None is missing" if value is None else f"{_describe(value)} is not finite: a missing value"
    )
    return ValueError(f"{_where(row)}feature {feature!r}: value {what}{_MISSING_HINT}")


class _Absent:
    def __repr__(self):
        return "<absent>"


_ABSENT = _Absent()


def _number(value, row, feature, missing: str) -> float:
    """A cell as a float: NaN for a missing value (unless ``missing == "raise"``)."""
    if (
        value is None
        or (isinstance(value, float) and math.isnan(value))
        or (isinstance(value, np.floating) and np.isnan(value))
    ):
        if missing == "raise":
            raise _missing_error(row, feature, value)
        return math.nan
    if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.bool_)):
        raise _bad_value(row, feature, value, "is not a number")
    v = float(value)
    if not math.isfinite(v):
        raise _bad_value(row, feature, value, "is not finite (±inf is rejected)")
    return v


def _sorted_names(x) -> tuple:
    """Keys in a canonical order: sorted, or by (type name, repr) for mixed key types."""
    try:
        return tuple(sorted(x))
    except TypeError:
        return tuple(sorted(x, key=lambda k: (type(k).__name__, repr(k))))


def _dict_to_values(
    x: Mapping, schema: FeatureSchema | None, row, missing, extra
) -> tuple[np.ndarray, tuple]:
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
            values[i] = _number(x[name], row, name, missing)
        return values, names
    values = np.empty(schema.n_features)
    for i, name in enumerate(schema.names):
        v = x.get(name, _ABSENT) if isinstance(x, dict) else (x[name] if name in x else _ABSENT)
        if v is _ABSENT:
            if missing == "raise":
                where = "" if row is None else f"row {row}: "
                raise ValueError(
                    f"{where}feature {name!r} is missing; expected the features "
                    f"{list(schema.names)} fixed at the first point{_MISSING_HINT}"
                ) from None
            values[i] = math.nan
        else:
            values[i] = _number(v, row, name, missing)
    if extra == "raise" and len(x) != schema.n_features:
        extras = [k for k in x if k not in schema._index]
        if extras:
            where = "" if row is None else f"row {row}: "
            raise ValueError(
                f"{where}unexpected feature(s) {extras}; expected exactly "
                f"{list(schema.names)}{_EXTRA_HINT}"
            )
    return values, schema.names


def _locate_bad(A: np.ndarray, names, single, missing):
    """Find the first non-numeric or non-finite cell of a 2-D object/float array."""
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            _number(A[i, j], None if single else i, names[j] if names is not None else j, missing)


def _first_bad_float(out, names, single, missing, source):
    """Raise for the first infinite (or, with ``missing="raise"``, NaN) cell of ``out``."""
    bad = np.isinf(out) if missing != "raise" else ~np.isfinite(out)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        _number(
            source[i, j],
            None if single else int(i),
            names[j] if names is not None else int(j),
            missing,
        )


def _numeric_2d(A, names, missing="raise", single=False) -> np.ndarray:
    """Convert an array-like to a float64 C-contiguous 2-D array (NaN = missing), or raise."""
    if hasattr(A, "tocsr") and hasattr(A, "nnz"):  # a scipy.sparse matrix or array
        raise TypeError(
            f"sparse input ({type(A).__name__} of shape {A.shape}) is not supported: pass a dense "
            "array (X.toarray()) — streaming detectors read every feature of every row"
        )
    arr = np.asarray(A)
    if arr.dtype.kind in "USV" and not isinstance(A, np.ndarray):
        arr = np.array(A, dtype=object)  # keep each cell's own type, so errors point at it
    if arr.ndim != 2:
        raise ValueError(f"expected a 2-D batch of rows, got an array of shape {arr.shape}")
    if arr.dtype.kind in "biuf":
        out = np.ascontiguousarray(arr, dtype=np.float64)
        _first_bad_float(out, names, single, missing, out)
        return out
    if arr.dtype.kind == "O":
        flat = arr.ravel()
        for idx, v in enumerate(flat):  # strings such as "1.5" would convert silently: refuse them
            if not isinstance(v, (float, int, np.floating, np.integer, np.bool_)):
                i, j = divmod(idx, arr.shape[1])
                _number(v, None if single else i, names[j] if names is not None else j, missing)
        out = np.array([np.nan if v is None else v for v in flat], dtype=np.float64).reshape(
            arr.shape
        )
        _first_bad_float(out, names, single, missing, arr)
        return out
    # datetimes, complex …
    _locate_bad(arr.astype(object), names, single, missing)
    raise TypeError(f"expected numbers, got an array of dtype {arr.dtype}")  # pragma: no cover


def _check_width(n: int, schema: FeatureSchema | None):
    if schema is not None and n != schema.n_features:
        raise ValueError(
            f"expected {schema.n_features} features (fixed at the first point), got {n}"
        )


def as_row(x, schema: FeatureSchema | None, *, missing: str = "raise", extra: str = "raise"):
    """Validate one point and return it as a ``(1, d)`` float64 array with its schema.

    The returned schema is ``schema`` itself when one was given, else the one ``x`` implies.
    With ``missing`` other than ``"raise"``, missing values come out as NaN.

    Examples
    --------
    >>> X, s = as_row({"a": 1, "b": 2.5}, None)
    >>> X, s.names
    (array([[1. , 2.5]]), ('a', 'b'))
    >>> as_row({"b": 3.0, "a": 1.0}, s)[0]
    array([[1., 3.]])
    >>> as_row({"b": 3.0, "a": 1.0}, None)[1].names      # a dict's key order means nothing
    ('a', 'b')
    >>> as_row({"a": None, "c": 7}, s, missing="impute", extra="ignore")[0]
    array([[nan, nan]])
    >>> as_row([1.0, float("nan")], None)
    Traceback (most recent call last):
    ...
    ValueError: feature 1: value nan is not finite: a missing value; pass missing='impute' or
    missing='skip' to the model to accept missing values
    """
    fast = _fast_row(x, schema, extra)
    if fast is not None:
        return fast, schema or FeatureSchema(fast.shape[1])
    if isinstance(x, Mapping):
        values, names = _dict_to_values(x, schema, None, missing, extra)
        return values.reshape(1, -1), schema or FeatureSchema(len(names), names)
    if is_dataframe(x) or isinstance(x, (str, bytes)) or np.ndim(x) != 1:
        shape = f" of shape {np.shape(x)}" if hasattr(x, "shape") else ""
        raise TypeError(
            "expected one point: a dict, a 1-D array or a sequence of numbers; got "
            f"{type(x).__name__}{shape}"
        )
    if len(x) == 0:
        raise ValueError("empty input: a point needs at least one feature")
    X = _numeric_2d(
        [list(x)] if not isinstance(x, np.ndarray) else x.reshape(1, -1), None, missing, single=True
    )
    _check_width(X.shape[1], schema)
    return X, schema or FeatureSchema(X.shape[1])


def _fast_row(x, schema, extra):
    """The common cases of one point — a float64 1-D array, or a dict of ints and floats with
    the fixed features — without the cell-by-cell checks; None when the point needs them (a
    missing, infinite or non-numeric value, extra keys …), which then give the error."""
    if type(x) is np.ndarray:
        if (
            x.ndim != 1
            or x.dtype != np.float64
            or x.size == 0
            or (schema is not None and x.size != schema.n_features)
        ):
            return None
        X = np.ascontiguousarray(x).reshape(1, -1)
    elif type(x) is dict and schema is not None and schema.names is not None:
        if len(x) != schema.n_features and extra == "raise":
            return None
        try:
            values = [x[name] for name in schema.names]
        except KeyError:
            return None
        for v in values:
            if type(v) is float:
                if not math.isfinite(v):
                    return None
            elif type(v) is not int:
                return None
        return np.array(values, dtype=np.float64).reshape(1, -1)
    else:
        return None
    return X if np.isfinite(X).all() else None


def _frame_to_matrix(X, schema, missing, extra):
    cols = tuple(X.columns)
    if len(set(cols)) != len(cols):
        dup = sorted({c for c in cols if cols.count(c) > 1}, key=repr)
        raise ValueError(
            f"the DataFrame has duplicate column names {dup}: each feature needs one column"
        )
    if len(X) == 0:
        raise ValueError("empty input: the DataFrame has no rows")
    if schema is not None and schema.names is not None:
        missing_cols = [c for c in schema.names if c not in set(cols)]
        extra_cols = [c for c in cols if c not in schema._index]
        if (missing_cols and missing == "raise") or (extra_cols and extra == "raise"):
            hint = (_MISSING_HINT if missing_cols and missing == "raise" else "") + (
                _EXTRA_HINT if extra_cols and extra == "raise" else ""
            )
            raise ValueError(
                f"DataFrame columns do not match the features fixed at the first point "
                f"{list(schema.names)}: missing {missing_cols}, unexpected {extra_cols}{hint}"
            )
        names = schema.names
        X = X.reindex(columns=list(names))
    elif schema is None:  # named features are kept in sorted order, as for dicts
        names = _sorted_names(dict.fromkeys(cols))
        X = X[list(names)]
    else:
        _check_width(len(cols), schema)
        names = None
    labels = list(X.columns)
    blocks = []
    for c in labels:
        col = X[c]
        if col.dtype.kind in "biuf":
            blocks.append(col.to_numpy(dtype=np.float64, na_value=np.nan))
        else:  # object, nullable, categorical …: check every cell, so errors point at it
            cells = col.to_numpy(dtype=object)
            vals = np.empty(len(cells))
            for i, v in enumerate(cells):
                if (
                    v is not None
                    and not isinstance(v, (numbers.Real, np.floating, np.integer))
                    and _is_na(v)
                ):
                    v = None
                vals[i] = _number(v, i, c, missing)
            blocks.append(vals)
    A = np.ascontiguousarray(np.column_stack(blocks)) if blocks else np.empty((len(X), 0))
    _first_bad_float(A, labels, False, missing, A)
    return A, schema or FeatureSchema(len(cols), names)


def _is_na(v) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def as_matrix(X, schema: FeatureSchema | None, *, missing: str = "raise", extra: str = "raise"):
    """Validate a batch and return it as an ``(n, d)`` float64 C-contiguous array with its schema.

    With ``missing`` other than ``"raise"``, missing values come out as NaN.

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
        return _frame_to_matrix(X, schema, missing, extra)
    if isinstance(X, (str, bytes, Mapping)):
        raise TypeError(
            f"expected a batch of rows (2-D array, DataFrame or list), got {type(X).__name__}"
        )
    if isinstance(X, numbers.Number) or (isinstance(X, np.ndarray) and X.ndim == 0):
        raise TypeError(
            "expected a batch of rows (2-D array, DataFrame or list), got the number "
            f"{_describe(X)}"
        )
    if not isinstance(X, np.ndarray) and not (hasattr(X, "tocsr") and hasattr(X, "nnz")):
        try:
            X = list(X)
        except TypeError:
            raise TypeError(
                f"expected a batch of rows (2-D array, DataFrame or list), got {type(X).__name__}"
            ) from None
        if not X:
            raise ValueError("empty input: the batch has no rows")
        if isinstance(X[0], Mapping):
            rows = []
            s = schema
            for i, x in enumerate(X):
                if not isinstance(x, Mapping):
                    raise TypeError(
                        f"row {i}: expected a dict like the rows before, got {type(x).__name__}"
                    )
                values, names = _dict_to_values(x, s, i, missing, extra)
                s = s or FeatureSchema(len(names), names)
                rows.append(values)
            return np.ascontiguousarray(np.vstack(rows)), s
        widths = {np.ndim(r) == 1 and len(r) for r in X}
        if len(widths) != 1:
            raise ValueError("rows of different lengths in the batch")
    A = _numeric_2d(X, schema.names if schema is not None else None, missing)
    if A.shape[0] == 0:
        raise ValueError("empty input: the batch has no rows")
    if A.shape[1] == 0:
        raise ValueError("empty input: the rows have no features")
    _check_width(A.shape[1], schema)
    return A, schema or FeatureSchema(A.shape[1])
