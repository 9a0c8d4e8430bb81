"""SplitMix64 on Python integers, for the slow pure-Python references of the detector tests: the
same numbers as the kernels' :mod:`sead._kernels.random`, written independently of it."""

from __future__ import annotations

M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15  # the golden-ratio increment


def mix(z: int) -> int:
    """SplitMix64's output function of a 64-bit word."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


class SplitMix64:
    """The stateful generator: the state moves by ``GOLDEN``, each output is its :func:`mix`."""

    def __init__(self, state: int):
        self.s = int(state)

    def next(self) -> int:
        self.s = (self.s + GOLDEN) & M64
        return mix(self.s)

    def uniform(self) -> float:
        """A float in [0, 1) from the top 53 bits."""
        return (self.next() >> 11) * 2.0**-53

    def randint(self, n: int) -> int:
        """An integer in [0, n)."""
        return min(int(self.uniform() * n), n - 1)
