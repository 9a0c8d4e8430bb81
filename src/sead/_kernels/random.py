"""SplitMix64 (Steele, Lea & Flood 2014): a tiny, fast, statistically sound 64-bit generator.

Two ways to use it:

* a **stateful** generator whose state is one ``uint64`` held in a one-element array (so that a
  pickled or copied detector continues exactly like the original): :func:`next_u64`,
  :func:`uniform`, :func:`randint`;
* **counter-based** draws, a pure function of a key and a counter: :func:`mix64` of
  ``key + (t + 1) · GOLDEN`` is the ``t``-th output of the generator started at ``key``
  (:func:`counter_u64`, :func:`counter_uniform`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "GOLDEN",
    "mix64",
    "next_u64",
    "uniform",
    "randint",
    "u64_to_unit",
    "u64_to_open_unit",
    "counter_u64",
    "counter_uniform",
]

#: The golden-ratio increment of SplitMix64.
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MUL1 = np.uint64(0xBF58476D1CE4E5B9)
_MUL2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV_2_53 = 1.0 / 9007199254740992.0


@njit(cache=True, inline="always")
def mix64(z):
    """SplitMix64's output function: a bijective avalanche of a ``uint64``."""
    z = (z ^ (z >> _S30)) * _MUL1
    z = (z ^ (z >> _S27)) * _MUL2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def u64_to_unit(z):
    """The top 53 bits of ``z`` as a float in [0, 1)."""
    return np.float64(z >> _S11) * _INV_2_53


@njit(cache=True, inline="always")
def u64_to_open_unit(z):
    """The top 53 bits of ``z`` as a float in (0, 1): the middle of their ``2^-53`` interval, so
    never 0 (for a logarithm)."""
    return (np.float64(z >> _S11) + 0.5) * _INV_2_53


@njit(cache=True, inline="always")
def next_u64(rng):
    """Next output of the generator whose state is ``rng[0]`` (a ``uint64`` array); advances it."""
    rng[0] += GOLDEN
    return mix64(rng[0])


@njit(cache=True, inline="always")
def uniform(rng):
    """A float in [0, 1) with 53 random bits from the generator ``rng``."""
    return u64_to_unit(next_u64(rng))


@njit(cache=True, inline="always")
def randint(rng, n):
    """An int in [0, n) from the generator ``rng``."""
    return min(np.int64(uniform(rng) * n), n - 1)


@njit(cache=True, inline="always")
def counter_u64(key, t):
    """The ``t``-th output (``t = 0, 1, …``) of the generator started at state ``key``."""
    return mix64(key + (t + _ONE) * GOLDEN)


@njit(cache=True, inline="always")
def counter_uniform(key, t):
    """:func:`counter_u64` as a float in [0, 1)."""
    return u64_to_unit(counter_u64(key, t))
