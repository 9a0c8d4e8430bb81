"""Base detectors: compiled streaming anomaly detectors, rules, and adapters.

Every class here follows the detector protocol of :mod:`sead.base` and passes
:func:`sead.checks.check_detector`.
"""

__all__: list[str] = []
