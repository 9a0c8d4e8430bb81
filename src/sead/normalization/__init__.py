"""Online score normalisation: each detector's raw score -> its quantile among its past scores.

SEAD makes detectors with different score scales comparable by mapping a raw score ``r`` of
detector *k* to the mid-rank empirical CDF of ``r`` among *k*'s reference scores,

    z = (#{ref < r} + 0.5 · #{ref == r}) / |ref|,      and z = 0.5 when the reference is empty,

a value in [0, 1], monotone in ``r``. The references differ in what they remember:

====================  ===========================================  ===========================
class                 reference                                    memory per detector
====================  ===========================================  ===========================
``ExactQuantile()``   every past score (exact)                     8 bytes × scores seen
``ExactQuantile(N)``  the last ``N`` scores (exact sliding window)  16 bytes × N
``TDigestQuantile``   a merging t-digest (Dunning 2019), k1 scale   ~24 bytes × (2δ + buffer)
``FrozenQuantile``    the first ``n_reference`` scores, then fixed  8 bytes × n_reference
``ResettingTDigest``  a t-digest that restarts after a level shift  as ``TDigestQuantile``
====================  ===========================================  ===========================

All work on *K* detectors at once: ``R`` is an ``(n, K)`` matrix of raw scores, one column per
detector. A NaN entry means "not observed" (SEAD++ leaves unsampled detectors out): its output
is NaN and it is not inserted. The kernels are numba functions over the column's arrays; the
classes hold the numpy state and pickle.

Methods: ``transform(R)`` scores every row against the current reference (pure);
``transform_update(R)`` is prequential — row *t* is normalised, then inserted, for every *t*.
"""

from __future__ import annotations

from ._base import QuantileReference
from .exact import ExactQuantile
from .frozen import FrozenQuantile
from .resetting import ResettingTDigestQuantile
from .tdigest import TDigestQuantile

__all__ = [
    "REFERENCES",
    "QuantileReference",
    "ExactQuantile",
    "TDigestQuantile",
    "FrozenQuantile",
    "ResettingTDigestQuantile",
    "make_reference",
]


_KINDS = {
    "exact": ExactQuantile,
    "window": ExactQuantile,
    "tdigest": TDigestQuantile,
    "frozen": FrozenQuantile,
    "tdigest-reset": ResettingTDigestQuantile,
}


#: the reference names SEAD's ``reference=`` accepts
REFERENCES = tuple(_KINDS)


def make_reference(reference="exact", *, window=None, warmup=100) -> QuantileReference:
    """Build a reference from a name or return a :class:`QuantileReference`'s fresh clone.

    Parameters
    ----------
    reference
        ``"exact"``, ``"window"``, ``"tdigest"``, ``"frozen"``, ``"tdigest-reset"`` (a
        :class:`ResettingTDigestQuantile`), or a :class:`QuantileReference` instance.
    window
        The window length for ``"window"`` (default 1000); if given, it turns ``"exact"``
        into a sliding window.
    warmup
        ``"frozen"`` freezes after ``warmup`` scores.

    Returns
    -------
    QuantileReference
        A fresh reference (no state yet).
    """
    if isinstance(reference, QuantileReference):
        return reference.clone()
    if reference not in _KINDS:
        raise ValueError(
            f"reference must be one of {sorted(_KINDS)} or a QuantileReference, got {reference!r}"
        )
    if reference == "exact":
        return ExactQuantile(window)
    if reference == "window":
        return ExactQuantile(1000 if window is None else window)
    if reference == "frozen":
        return FrozenQuantile(max(int(warmup), 1))
    if reference == "tdigest-reset":
        return ResettingTDigestQuantile()
    return TDigestQuantile()


def __getattr__(name):
    # ``tail_surprise`` moved to :mod:`sead.combiner` (an output transform, not a reference);
    # the old import path keeps working.
    if name == "tail_surprise":
        from ..combiner import tail_surprise

        return tail_surprise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
