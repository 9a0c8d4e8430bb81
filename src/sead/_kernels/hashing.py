"""MurmurHash3 (Appleby), x86 32-bit variant, of a byte array: used by StreamHash projections,
whose entries are hashes of a feature's name so that nothing needs to be stored or learned."""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["murmur3_32"]


@njit(cache=True)
def murmur3_32(key, seed):
    """MurmurHash3 x86_32 of the bytes ``key`` (uint8 array) with ``seed``; an int in [0, 2^32)."""
    mask = 0xFFFFFFFF
    h = seed & mask
    n = key.shape[0]
    nblocks = n // 4
    for b in range(nblocks):
        k = (
            np.int64(key[4 * b])
            | (np.int64(key[4 * b + 1]) << 8)
            | (np.int64(key[4 * b + 2]) << 16)
            | (np.int64(key[4 * b + 3]) << 24)
        )
        k = (k * 0xCC9E2D51) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * 0x1B873593) & mask
        h ^= k
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = n & 3
    if tail:
        k = 0
        base = nblocks * 4
        if tail >= 3:
            k ^= np.int64(key[base + 2]) << 16
        if tail >= 2:
            k ^= np.int64(key[base + 1]) << 8
        k ^= np.int64(key[base])
        k = (k * 0xCC9E2D51) & mask
        k = ((k << 15) | (k >> 17)) & mask
        k = (k * 0x1B873593) & mask
        h ^= k
    h ^= n
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h
