"""The scikit-learn face of sead: :class:`SEADDetector` (defined in :mod:`sead.compat.sklearn`;
this module keeps the import path ``sead.sklearn`` working)."""

from .compat.sklearn import SEADDetector

__all__ = ["SEADDetector"]
