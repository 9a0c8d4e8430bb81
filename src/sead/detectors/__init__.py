"""Base detectors: compiled streaming anomaly detectors, rules, and adapters.

Every class here follows the detector protocol of :mod:`sead.base` and passes
:func:`sead.checks.check_detector`.
"""

from .hst import HalfSpaceTrees
from .random import RandomDetector
from .rules import ThresholdRule, ZScoreRule

__all__ = ["HalfSpaceTrees", "RandomDetector", "ThresholdRule", "ZScoreRule"]
