"""Parameter checks shared by the detectors: errors name the argument, the range and the value.

Detectors call these from ``_init_state`` (scikit-learn's contract: ``__init__`` only stores).
"""

from __future__ import annotations

import math
import numbers

__all__ = ["check_int", "check_real"]


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
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low or (
        high is not None and value > high
    ):
        rng = f">= {low}" if high is None else f"in [{low}, {high}]"
        extra = " or None" if allow_none else ""
        raise ValueError(f"{name} must be an integer {rng}{extra}, got {value!r}")
    return int(value)


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
    ok = not isinstance(value, bool) and isinstance(value, numbers.Real) and math.isfinite(float(value))
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (high is None or v <= high)
    if not ok:
        lb = "(" if low_open else "["
        hb = f"{high}]" if high is not None else "inf)"
        raise ValueError(f"{name} must be a finite number in {lb}{low}, {hb}, got {value!r}")
    return float(value)
