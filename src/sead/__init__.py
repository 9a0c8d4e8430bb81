"""sead — Streaming Ensemble of Anomaly Detectors.

Unsupervised anomaly detection on data streams: compiled streaming detectors and an online
ensemble (SEAD, Shah et al., ICML 2025) that weights them without labels.
"""

from .combiner import CombineResult, combine_scores
from .ensemble import SEAD, SEADPlusPlus
from .keyed import KeyedSEAD

__version__ = "0.1.0"

__all__ = ["SEAD", "SEADPlusPlus", "KeyedSEAD", "combine_scores", "CombineResult", "__version__"]
