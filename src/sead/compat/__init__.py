"""sead and the other stream / outlier-detection libraries, in both directions (as River's
``river/compat``).

=========================  ================================================================
into sead (adapters)       a foreign model as a sead detector, for a :class:`sead.SEAD` pool
=========================  ================================================================
:class:`RiverDetector`     any River anomaly detector, anomaly filter or pipeline ending in one
:class:`PySADDetector`     any PySAD model (optional dependency)
:class:`SklearnWindowDetector`  any scikit-learn outlier detector, refit on a sliding window
=========================  ================================================================

=========================  ================================================================
out of sead                a sead model in another library's contract
=========================  ================================================================
River                      every sead model *is* a River ``AnomalyDetector`` (no adapter)
:class:`SEADDetector`      SEAD as a scikit-learn outlier detector
=========================  ================================================================

Each adapter works on its own copy of the wrapped model (the user's object is never trained or
changed), keeps sead's contract (pure scoring, ``score_learn_many`` equal to the one-by-one loop,
pickling, bad input rejected before any state is touched), and inherits the wrapped model's score
range, cost and memory. Adapters run the wrapped model's own Python code row by row; they are for
bringing a model into an ensemble, not for speed (sead's compiled detectors are).
"""

from .pysad import PySADDetector
from .river import RiverDetector
from .sklearn import SEADDetector, SklearnWindowDetector

__all__ = ["RiverDetector", "PySADDetector", "SklearnWindowDetector", "SEADDetector"]
