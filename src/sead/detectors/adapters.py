"""Adapters: River, PySAD and scikit-learn anomaly detectors as sead detectors.

They live in :mod:`sead.compat` (both directions in one place); this module keeps the import
path ``sead.detectors.adapters`` working.
"""

from ..compat.pysad import PySADDetector
from ..compat.river import RiverDetector
from ..compat.sklearn import SklearnWindowDetector

__all__ = ["RiverDetector", "PySADDetector", "SklearnWindowDetector"]
