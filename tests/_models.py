"""The models the common tests run on: every detector class sead ships, and the ensembles.

``DETECTOR_CLASSES`` is what :mod:`sead.detectors` exports (its ``__all__``) plus every public
:class:`sead.base.Detector` subclass of its modules (their ``__all__``), so a new detector is
picked up without touching a test. ``MODEL_CLASSES`` adds :class:`sead.SEAD` and
:class:`sead.SEADPlusPlus`. A module of :mod:`sead.detectors` that fails to import is listed in
``BROKEN_MODULES`` (a test reports it) instead of breaking collection.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import sead.detectors
from sead import SEAD, SEADPlusPlus
from sead.base import Detector


def _detector_classes() -> tuple[list[type], list[str]]:
    """Every detector class sead ships, and the modules of sead.detectors that fail to import."""
    found = {getattr(sead.detectors, name) for name in sead.detectors.__all__}
    broken = []
    for info in pkgutil.iter_modules(sead.detectors.__path__):
        if info.name.startswith("_"):
            continue
        try:
            module = importlib.import_module(f"sead.detectors.{info.name}")
        except Exception as e:  # reported by test_every_detector_module_imports
            broken.append(f"sead.detectors.{info.name}: {type(e).__name__}: {e}")
            continue
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, Detector):
                found.add(obj)
    classes = [c for c in found if inspect.isclass(c) and issubclass(c, Detector)]
    return sorted(classes, key=lambda c: (c.__module__, c.__name__)), broken


DETECTOR_CLASSES, BROKEN_MODULES = _detector_classes()
MODEL_CLASSES = [SEAD, SEADPlusPlus, *DETECTOR_CLASSES]


def param_sets(cls) -> list[dict]:
    """The parameter sets of ``cls._unit_test_params()``, as a list."""
    return list(cls._unit_test_params())
