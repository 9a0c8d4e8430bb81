"""Helpers shared by the adapters: type names, and which adapter fits a foreign model."""

from __future__ import annotations

import inspect
import numbers


def _type_name(obj) -> str:
    cls = obj if inspect.isclass(obj) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def _adapter_hint(model) -> str:
    """Which adapter fits an object that the one it was given to does not take."""
    if callable(getattr(model, "fit_partial", None)) and callable(
        getattr(model, "score_partial", None)
    ):
        return "; it looks like a PySAD model: wrap it in sead.detectors.PySADDetector"
    if callable(getattr(model, "learn_one", None)) and callable(getattr(model, "score_one", None)):
        return "; it looks like a River anomaly detector: wrap it in sead.detectors.RiverDetector"
    if callable(getattr(model, "fit", None)) and hasattr(model, "get_params"):
        return (
            "; it looks like a scikit-learn estimator: wrap it in "
            "sead.detectors.SklearnWindowDetector"
        )
    return ""


def _refuse_class(model, adapter: str, example: str):
    if inspect.isclass(model):
        raise TypeError(
            f"{adapter} expects a model instance, got the class {_type_name(model)}; "
            f"pass an instance, e.g. {adapter}({example})"
        )


# ------------------------------------------------------------------------------------------


def _describe(model) -> str:
    """``Class(arg=value, …)`` from the constructor arguments a model stores under their own
    name (numbers, strings, None); '…' stands for the others."""
    if inspect.isclass(model) or type(model).__repr__ is not object.__repr__:
        return repr(model)
    shown, hidden = [], False
    try:
        params = inspect.signature(type(model).__init__).parameters.values()
    except (TypeError, ValueError):
        params = []
    for p in params:
        if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        v = getattr(model, p.name, inspect.Parameter.empty)
        if v is None or isinstance(v, (bool, numbers.Number, str)):
            shown.append(f"{p.name}={v!r}")
        else:
            hidden = True
    return f"{type(model).__name__}({', '.join(shown + (['…'] if hidden else []))})"
