"""Base detectors: compiled streaming anomaly detectors, rules, and adapters.

Every class here follows the detector protocol of :mod:`sead.base` and passes
:func:`sead.checks.check_detector`.
"""

from .adapters import PySADDetector, RiverDetector, SklearnWindowDetector
from .hst import HalfSpaceTrees
from .iforest_asd import IForestASD
from .loda import LODA
from .random import RandomDetector
from .rrcf import RRCF
from .rshash import RSHash
from .rules import ThresholdRule, ZScoreRule
from .xstream import XStream

__all__ = [
    "HalfSpaceTrees",
    "IForestASD",
    "XStream",
    "LODA",
    "RSHash",
    "RRCF",
    "ThresholdRule",
    "ZScoreRule",
    "RandomDetector",
    "RiverDetector",
    "PySADDetector",
    "SklearnWindowDetector",
]
