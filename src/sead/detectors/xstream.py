"""xStream: density estimation in half-space chains over StreamHash projections.

The state of an :class:`XStream` lives in a :class:`XStreamStack` (see :mod:`sead._stack`):
one compiled call, :func:`xstream_kernel`, advances one detector, the XStreams of a
:class:`sead.SEAD` pool, or those of every key of :class:`sead.KeyedSEAD`. The kernels:

* ``_streamhash_matrix`` builds the sparse random projection of Manzoor et al. (each entry a
  MurmurHash3 of the feature's decimal index, so it needs no random state and matches PySAD's);
* ``_chain_keys`` bins one projected point in every half-space chain and hashes the bin vector of
  every level into a table slot and a tag;
* ``_xstream_pass`` is the streaming loop of one instance (score, learn, or score-then-learn)
  over a batch, with the window swap and the first-window bin-width estimate inside the compiled
  code; ``xstream_kernel`` runs it for every member and slot of a stack;
* the bin counts of a window live in a fixed-size open-addressing table (``_lookup``,
  ``_insert``) whose slots are stamped with the window they belong to, so starting a new window
  costs nothing and memory never grows.
"""

from __future__ import annotations

import math
import numbers
from collections import namedtuple

import numpy as np
from numba import njit

from .._kernels.hashing import murmur3_32
from .._kernels.random import mix64
from .._params import SEED, Interval, take_renamed, validate_params
from .._stack import Stack, member_ints, slot_runs
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["XStream"]

# state_ layout: number of points learned, reference table, current table, next stamp,
# stamp of table 0, stamp of table 1
_N_SEEN, _REF, _CUR, _NEXT_STAMP = 0, 1, 2, 3
_STAMP_LIMIT = 2**31 - 2

_M33 = np.uint64(33)
_BIN_LIMIT = 9.0e18
_MIN_WIDTH = 1e-300  # smallest bin width: 1 / width stays finite
_RANGE_CAP = 4.0  # the extremes may stretch a first window's range to this many times the rest's


# ------------------------------------------------------------------------------------------
# StreamHash projection


@njit(cache=True)
def _streamhash_columns(keys, offsets, n_components, density):
    """StreamHash projection matrix ``(n_components, n_keys)``; column ``j`` from the bytes
    ``keys[offsets[j]:offsets[j + 1]]`` of feature ``j``'s name.

    Entry ``(i, j)`` is MurmurHash3 of the name with seed ``i``, scaled to [0, 1]: below
    ``density / 2`` gives ``-c``, below ``density`` gives ``+c``, else 0, with
    ``c = sqrt(1 / density) / sqrt(n_components)``.
    """
    n = offsets.shape[0] - 1
    R = np.zeros((n_components, n))
    c = math.sqrt(1.0 / density) / math.sqrt(n_components)
    for j in range(n):
        key = keys[offsets[j] : offsets[j + 1]]
        for i in range(n_components):
            u = murmur3_32(key, i) / 4294967295.0
            if u <= density / 2.0:
                R[i, j] = -c
            elif u <= density:
                R[i, j] = c
    return R


def _streamhash_matrix(n_components: int, names, density: float = 1.0 / 3.0) -> np.ndarray:
    """StreamHash projection of the features ``names`` (an int ``d`` means ``0 .. d-1``).

    A feature is hashed by the UTF-8 bytes of ``str(name)`` — the decimal index ``0 .. d-1`` in
    :class:`XStream`, as in the authors' code and PySAD — so a feature's column does not depend
    on the other features.
    """
    if isinstance(names, numbers.Integral):
        names = range(int(names))
    encoded = [str(name).encode("utf-8") for name in names]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(e) for e in encoded])
    keys = (
        np.frombuffer(b"".join(encoded), dtype=np.uint8)
        if offsets[-1]
        else np.zeros(0, dtype=np.uint8)
    )
    return _streamhash_columns(keys, offsets, int(n_components), float(density))


# ------------------------------------------------------------------------------------------
# hashing and the window tables


@njit(cache=True, inline="always")
def _bin_of(p):
    """floor(p) as an int64, clamped to +-9e18 (a value far outside every window's range)."""
    if p >= _BIN_LIMIT:
        return np.int64(9000000000000000000)
    if p <= -_BIN_LIMIT:
        return np.int64(-9000000000000000000)
    if p != p:  # only inf - inf; cannot happen for finite input
        return np.int64(0)
    return np.int64(math.floor(p))


@njit(cache=True, inline="always")
def _lookup(tab, t, idx, tag, stamp, mask):
    """Count stored under ``tag`` in table ``t`` (linear probing from ``idx``); 0 if absent."""
    while True:
        if tab[t, idx, 1] != stamp:
            return 0
        if tab[t, idx, 0] == tag:
            return tab[t, idx, 2]
        idx = (idx + 1) & mask


@njit(cache=True, inline="always")
def _insert(tab, t, idx, tag, stamp, mask):
    """Add one to the count of ``tag`` in table ``t``; a slot of an older window is free."""
    while True:
        if tab[t, idx, 1] != stamp:
            tab[t, idx, 0] = tag
            tab[t, idx, 1] = stamp
            tab[t, idx, 2] = 1
            return
        if tab[t, idx, 0] == tag:
            tab[t, idx, 2] += 1
            return
        idx = (idx + 1) & mask


@njit(cache=True)
def _renew_stamp(tab, state, t):
    """Give table ``t`` a fresh stamp, which empties it in O(1).

    Stamps are int32 (slots start at 0, which no table uses). At the wrap-around (once every
    ~2^31 windows), the other table's live slots are restamped 1 and every other slot 0, so that
    no old stamp can come back to life.
    """
    if state[_NEXT_STAMP] >= _STAMP_LIMIT:
        for u in range(2):
            live = state[4 + u]
            for i in range(tab.shape[1]):
                tab[u, i, 1] = 1 if (u != t and tab[u, i, 1] == live) else 0
            state[4 + u] = 1
        state[_NEXT_STAMP] = 2
    state[4 + t] = state[_NEXT_STAMP]
    state[_NEXT_STAMP] += 1


# ------------------------------------------------------------------------------------------
# the chains


@njit(cache=True, inline="always")
def _project(x, R, y):
    k, d = R.shape
    for i in range(k):
        acc = 0.0
        for j in range(d):
            acc += R[i, j] * x[j]
        y[i] = acc


@njit(cache=True)
def _chain_keys(y, c, fs, slot, sh, idm, sod, ssalt, lsalt, mask, pre, contrib, idxs, tags):
    """Slots and tags of every level of chain ``c`` for the projected point ``y``.

    Level ``l`` splits feature ``f = fs[c, l]``: the first split on ``f`` puts it in bin
    ``floor((y[f] + shift) / deltamax)``, each later split on ``f`` halves that feature's bin
    width (``p <- 2 p - shift / deltamax``). The key of level ``l`` is the vector of the current
    bins of the features split so far. Its hash ``h = sum_s bin_s * r_s`` (mod 2^64, ``r_s`` a
    random odd salt per slot) is updated in O(1) per level; ``mix64(h ^ salt[c, l])`` gives the
    table slot (low bits) and the 31-bit tag (high bits).
    """
    h = np.uint64(0)
    base = c * fs.shape[1]
    for lev in range(fs.shape[1]):
        s = slot[c, lev]
        if s == lev:
            p = (y[fs[c, lev]] + sh[c, lev]) * idm[c, lev]
        else:
            p = 2.0 * pre[s] - sod[c, lev]
            h -= contrib[s]
        pre[s] = p
        cb = np.uint64(_bin_of(p)) * ssalt[s]
        contrib[s] = cb
        h += cb
        key = mix64(h ^ lsalt[c, lev])
        idxs[base + lev] = np.int64(key & mask)
        tags[base + lev] = np.int32(key >> _M33)


@njit(cache=True)
def _chain_score(tab, t, stamp, mask, idxs, tags, base, n_levels, lut):
    """``min_l log2(1 + count_l) + l + 1`` over the levels of one chain, counts from table ``t``.

    (Stopping early once no deeper level can be lower, ``best <= l + 1``, is exact but measured
    slower: the unpredictable branch costs more than the lookups it saves.)
    """
    best = np.inf
    top = lut.shape[0] - 1
    for lev in range(n_levels):
        cnt = min(_lookup(tab, t, idxs[base + lev], tags[base + lev], stamp, mask), top)
        v = lut[cnt] + (lev + 1.0)
        if v < best:
            best = v
    return best


@njit(cache=True)
def _set_widths(deltamax, rand, fs, sh, idm, sod):
    """Per-level shift, inverse width and shift / width from the bin widths ``deltamax``."""
    n_chains, depth = fs.shape
    for c in range(n_chains):
        for lev in range(depth):
            f = fs[c, lev]
            sh[c, lev] = rand[c, f] * deltamax[f]
            idm[c, lev] = 1.0 / deltamax[f]
            sod[c, lev] = sh[c, lev] / deltamax[f]


@njit(cache=True)
def _first_window_widths(proj, deltamax):
    """Bin widths ``deltamax`` (k,) from the first window's projected points ``proj`` (W, k).

    A projected feature's width is half its range over the window, robustly: the ``t`` lowest
    and the ``t`` highest values (``t = _trim_count(W)``, at most a quarter of the values) may
    stretch the range to at most ``_RANGE_CAP`` times the range of the others, so that a glitch
    row or two (a value of 1e300 from a broken sensor, say) cannot fix absurd widths for good;
    values that are not finite (a projection that overflowed) are left out. On clean data the
    cap seldom binds (the extremes of a window are rarely 4 times as far apart as the rest), so
    the widths are those of the authors' code. Widths are scale-free: a feature that
    is constant over the window (apart from its ``t`` extremes) gets the typical width of the
    others (the median of their positive widths); when every feature is constant so, the
    largest magnitude of a value, or if they are all 0 the median positive half-range of the
    features with extremes, or 1 when every value is 0. Widths are at least
    ``_MIN_WIDTH`` so that their inverses are finite.
    """
    W, k = proj.shape
    halves = np.zeros(k)
    full = np.zeros(k)  # half of the whole (finite) range
    buf = np.empty(W)
    n_pos = 0
    scale = 0.0  # largest magnitude of a value of the bulk, for the all-constant case
    for j in range(k):
        nf = 0
        for i in range(W):
            v = proj[i, j]
            if np.isfinite(v):
                buf[nf] = v
                nf += 1
        if nf == 0:
            continue
        vals = np.sort(buf[:nf])
        t = min(_trim_count(W), nf // 4)  # the others are at least half of the values
        lo, hi = vals[t], vals[nf - 1 - t]
        scale = max(scale, abs(lo), abs(hi))
        bulk = hi / 2.0 - lo / 2.0  # half-ranges, computed so that they cannot overflow
        full[j] = vals[nf - 1] / 2.0 - vals[0] / 2.0
        if bulk > 0.0:
            halves[j] = min(full[j], _RANGE_CAP * bulk)
            n_pos += 1
    if n_pos > 0:
        fallback = np.median(halves[halves > 0.0])
    elif scale > 0.0:
        fallback = scale
    elif full.max() > 0.0:
        fallback = np.median(full[full > 0.0])
    else:
        fallback = 1.0
    for j in range(k):
        deltamax[j] = max(halves[j] if halves[j] > 0.0 else fallback, _MIN_WIDTH)


@njit(cache=True, inline="always")
def _trim_count(window):
    """Extreme values at each end of a first window of ``window`` points that may not set its
    range alone: 2 per 100 points, at least 2."""
    return max(2, (window + 25) // 50)


@njit(cache=True)
def _xstream_pass(
    X, mode, out, R, fs, slot, rand, deltamax, sh, idm, sod, ssalt, lsalt, tab, state, fwin, lut
):
    """Run the stream over the rows of ``X``.

    ``mode`` 0 scores every row against the current state (changes nothing), 1 learns every
    row, 2 scores row ``t`` then learns it, for every ``t``. Scores go to ``out`` (modes 0, 2).

    Learning counts the point in the current window's table. Until the first window is full the
    reference and current tables are the same (the point is scored against the counts of the
    window so far) and the bins use width 0.5. When the first window is full, the bin widths
    are set from it (:func:`_first_window_widths`), and the window is counted again with them as
    the reference; after that the windows swap every ``window`` points.
    """
    n = X.shape[0]
    k = R.shape[0]
    n_chains, depth = fs.shape
    window = fwin.shape[0]
    mask = np.uint64(tab.shape[1] - 1)
    imask = tab.shape[1] - 1
    y = np.empty(k)
    pre = np.empty(depth)
    contrib = np.empty(depth, dtype=np.uint64)
    idxs = np.empty(n_chains * depth, dtype=np.int64)
    tags = np.empty(n_chains * depth, dtype=np.int32)
    for t in range(n):
        x = X[t]
        _project(x, R, y)
        scoring = mode != 1 and state[_N_SEEN] > 0
        if scoring or mode != 0:
            for c in range(n_chains):
                _chain_keys(
                    y, c, fs, slot, sh, idm, sod, ssalt, lsalt, mask, pre, contrib, idxs, tags
                )
        if scoring:
            ref = state[_REF]
            stamp = state[4 + ref]
            total = 0.0
            for c in range(n_chains):
                total += _chain_score(tab, ref, stamp, imask, idxs, tags, c * depth, depth, lut)
            out[t] = -(total / n_chains)
        elif mode != 1:
            out[t] = 0.0
        if mode == 0:
            continue
        cur = state[_CUR]
        stamp = state[4 + cur]
        for i in range(n_chains * depth):
            _insert(tab, cur, idxs[i], tags[i], stamp, imask)
        seen = state[_N_SEEN]
        if seen < window:
            fwin[seen, :] = x
        seen += 1
        state[_N_SEEN] = seen
        if seen % window != 0:
            continue
        if seen == window:
            # bin widths from the first window, which is then counted again as the reference
            proj = np.empty((window, k))
            for i in range(window):
                _project(fwin[i], R, proj[i])
            _first_window_widths(proj, deltamax)
            _set_widths(deltamax, rand, fs, sh, idm, sod)
            other = 1 - cur
            _renew_stamp(tab, state, other)
            ostamp = state[4 + other]
            for i in range(window):
                for c in range(n_chains):
                    _chain_keys(
                        proj[i],
                        c,
                        fs,
                        slot,
                        sh,
                        idm,
                        sod,
                        ssalt,
                        lsalt,
                        mask,
                        pre,
                        contrib,
                        idxs,
                        tags,
                    )
                for q in range(n_chains * depth):
                    _insert(tab, other, idxs[q], tags[q], ostamp, imask)
            state[_REF] = other
            _renew_stamp(tab, state, cur)
        else:
            state[_REF] = cur
            state[_CUR] = 1 - cur
            _renew_stamp(tab, state, 1 - cur)


def _table_slots(window: int, n_chains: int, depth: int) -> int:
    """Slots per window table: a power of two >= 4/3 of the most keys a window can insert."""
    need = -(-4 * window * n_chains * depth // 3)
    return 1 << max(6, (need - 1).bit_length())


# ------------------------------------------------------------------------------------------
# stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1]

XStreamState = namedtuple(
    "XStreamState",
    [
        "proj",
        "fs",
        "slot",
        "rand",
        "ssalt",
        "lsalt",
        "dmax",
        "levels",
        "tab",
        "scal",
        "fwin",
        "lut",
    ],
)
XStreamState.__doc__ = """State of stacked XStreams; per member (``k`` components, ``C`` chains of
depth ``D``, window ``W``, ``S`` table slots, ``d`` features), flattened into each slot's row:

* ``proj`` float64 ``(k, d)`` the StreamHash projection;
* ``fs`` int64 ``(C, D)`` the projected feature each level splits;
* ``slot`` int64 ``(C, D)`` the first level of the chain that splits the same feature;
* ``rand`` float64 ``(C, k)`` the shift fractions (shift = fraction x bin width);
* ``ssalt`` uint64 ``(D,)`` odd salt of each slot of the bin-vector hash;
* ``lsalt`` uint64 ``(C, D)`` salt of each level's key;
* ``dmax`` float64 ``(k,)`` bin width of each projected feature (0.5 until the first window
  is full);
* ``levels`` float64 ``(3, C, D)`` per level: shift, inverse width, shift / width;
* ``tab`` int32 ``(2, S, 3)`` the two window tables: tag, window stamp, count per slot;
* ``scal`` int64 ``(6,)`` points learned, reference table, current table, next stamp, stamps of
  tables 0 and 1 (the legacy ``state_``);
* ``fwin`` float64 ``(W, d)`` the first window's points (they fix the bin widths);
* ``lut`` float64 ``(W + 1,)`` ``log2(1 + count)`` for every count a window can hold.
"""
XStreamConfig = namedtuple(
    "XStreamConfig", ["off", "n_components", "n_chains", "depth", "window", "table_slots"]
)
XStreamConfig.__doc__ = """Per-member parameters ``(m,)`` int64 (``table_slots``: ``S``, the slots
of each window table) and the field offsets ``off`` ``(12, m + 1)``."""
_PROJ, _FS, _SLOT, _RAND, _SSALT, _LSALT, _DMAX, _LEVELS, _TAB, _SCAL, _FWIN, _LUT = range(12)


@njit(cache=True, nogil=True)
def xstream_kernel(X, slots, modes, out, cfg, st):
    """The stacked XStream kernel (arguments as in :mod:`sead._stack`)."""
    d = X.shape[1]
    starts = slot_runs(slots)
    off = cfg.off
    for j in range(cfg.n_components.shape[0]):
        k = cfg.n_components[j]
        C = cfg.n_chains[j]
        D = cfg.depth[j]
        W = cfg.window[j]
        S = cfg.table_slots[j]
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            lv = st.levels[s, off[_LEVELS, j] : off[_LEVELS, j + 1]].reshape((3, C, D))
            _xstream_pass(
                X[a:b],
                mode,
                out[a:b, j],
                st.proj[s, off[_PROJ, j] : off[_PROJ, j + 1]].reshape((k, d)),
                st.fs[s, off[_FS, j] : off[_FS, j + 1]].reshape((C, D)),
                st.slot[s, off[_SLOT, j] : off[_SLOT, j + 1]].reshape((C, D)),
                st.rand[s, off[_RAND, j] : off[_RAND, j + 1]].reshape((C, k)),
                st.dmax[s, off[_DMAX, j] : off[_DMAX, j + 1]],
                lv[0],
                lv[1],
                lv[2],
                st.ssalt[s, off[_SSALT, j] : off[_SSALT, j + 1]],
                st.lsalt[s, off[_LSALT, j] : off[_LSALT, j + 1]].reshape((C, D)),
                st.tab[s, off[_TAB, j] : off[_TAB, j + 1]].reshape((2, S, 3)),
                st.scal[s, off[_SCAL, j] : off[_SCAL, j + 1]],
                st.fwin[s, off[_FWIN, j] : off[_FWIN, j + 1]].reshape((W, d)),
                st.lut[s, off[_LUT, j] : off[_LUT, j + 1]],
            )


class XStreamStack(Stack):
    """XStreams of any sizes, stacked (see :mod:`sead._stack`)."""

    State = XStreamState
    dtypes = {
        "proj": np.float64,
        "fs": np.int64,
        "slot": np.int64,
        "rand": np.float64,
        "ssalt": np.uint64,
        "lsalt": np.uint64,
        "dmax": np.float64,
        "levels": np.float64,
        "tab": np.int32,
        "scal": np.int64,
        "fwin": np.float64,
        "lut": np.float64,
    }
    kernel = staticmethod(xstream_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        """A member's fresh state; ``schema`` is a FeatureSchema (or, legacy, the number of
        features)."""
        validate_params(det)
        d = int(schema) if isinstance(schema, numbers.Integral) else schema.n_features
        k, C, D, W = (
            int(det.n_components),
            int(det.n_chains),
            int(det.depth),
            int(det.window),
        )
        rng = np.random.default_rng(det.seed)
        fs = rng.integers(0, k, size=(C, D))
        rand = rng.random((C, k))
        ssalt = rng.integers(0, 2**64, size=D, dtype=np.uint64) | np.uint64(1)
        lsalt = rng.integers(0, 2**64, size=(C, D), dtype=np.uint64)
        dmax = np.full(k, 0.5)
        levels = np.empty((3, C, D))
        _set_widths(dmax, rand, fs, levels[0], levels[1], levels[2])
        return {
            "proj": _streamhash_matrix(k, d),
            "fs": fs,
            # slot of a level = the first level of its chain that splits the same feature
            "slot": np.argmax(fs[:, :, None] == fs[:, None, :], axis=2).astype(np.int64),
            "rand": rand,
            "ssalt": ssalt,
            "lsalt": lsalt,
            "dmax": dmax,
            "levels": levels,
            "tab": np.zeros((2, _table_slots(W, C, D), 3), dtype=np.int32),
            "scal": np.array([0, 0, 0, 3, 1, 2], dtype=np.int64),
            "fwin": np.zeros((W, d)),
            "lut": np.log2(1.0 + np.arange(W + 1, dtype=np.float64)),
        }

    @staticmethod
    def make_config(members, schema, off):
        slots = [_table_slots(int(m.window), int(m.n_chains), int(m.depth)) for m in members]
        return XStreamConfig(
            off,
            member_ints(members, "n_components"),
            member_ints(members, "n_chains"),
            member_ints(members, "depth"),
            member_ints(members, "window"),
            np.array(slots, dtype=np.int64),
        )


# ------------------------------------------------------------------------------------------
# the detector


class XStream(StackedDetector):
    """xStream: density of a point in half-space chains over sparse random projections.

    Each point is projected to ``n_components`` dimensions with StreamHash (a sparse random
    projection whose entries are hashes of the feature's index, so nothing is learned). Each of
    ``n_chains`` half-space chains then bins the projected point
    ``depth`` times, every level splitting one random projected feature in half (a feature split
    again gets half its previous width); level ``l`` of a chain counts the points of a window in
    each bin. A point's score in a chain is ``min_l log2(1 + count_l) + l + 1`` — the
    log-density of its bin extrapolated to the full space, at the level where it is lowest —
    averaged over the chains and negated, so that **higher scores are more anomalous**. Counts
    come from the *reference* window, the last complete window of ``window`` points, while
    the *current* window is being counted; the two swap every ``window`` points.

    As in the authors' code and PySAD's ``xStream``, the bin widths (half the range of each
    projected feature) and the random shifts are fixed once, from the first window. Until the
    first window is full, points are binned with width 0.5 and scored against the counts of the
    first window so far; when it is full it is counted again with the estimated widths. Values
    outside the first window's range simply fall into bins beyond it (bins are unbounded
    integers, clamped at +-9e18), which are empty and so score as anomalous.

    The widths are scale-free: data scaled by any factor (features with a standard deviation of
    1e-12, say) is binned as the unscaled data. A projected feature that is constant over the
    first window gets the median width of the others (the authors' code and PySAD give it 1,
    and also every feature whose half-range is at most 1e-4, which blinds them on small-valued
    features). They are also robust to a few glitch rows in the first window: the ``t`` most
    extreme values at each end (``t = max(2, round(window / 50))``, at most a quarter of
    the window) may stretch a feature's range to at most 4 times the range of the other values,
    and values whose projection overflows are left out; so one row of 1e300 cannot fix absurd
    widths for good (the authors' code and PySAD would bin every later point of that feature
    into one bin). Any finite row, up to the float limit, is scored finite.

    Good at: high-dimensional data (the projection reduces any width to ``n_components``),
    density anomalies at several scales (the levels of a chain), drift (the window swap).
    Bad at: very short streams (the first window sets the bin widths; the first ``window``
    points are scored against a partial window), and features of wildly different scales (the
    projection mixes them: standardise first if one feature dominates).

    Score range: ``[-(depth + log2(1 + window)), -1]`` once the detector has learned a point;
    0 before. Cost per point: ``O(d · n_components)`` for the projection (dense; a third of
    the entries are non-zero) plus ``O(n_chains · depth)`` hash-table probes to score and as
    many to learn.

    Memory: the bin counts of each window live in a fixed open-addressing hash table of
    ``S = next_pow2(4/3 · window · n_chains · depth)`` slots of 12 bytes (a 31-bit tag of
    the hashed bin vector, a window stamp, a count), two tables in all, so memory does not
    depend on the length of the stream: ``24 · S`` bytes, 12.6 MB at the defaults
    (``S = 2^19``), plus ``8 · window · d`` bytes for the first window and
    ``8 · n_components · (d + n_chains)`` for the projection and shifts. Counts are exact up
    to tag collisions of 64-bit hashes (probability about ``2^-31`` per probe).

    Parameters
    ----------
    n_components
        Number of StreamHash projections ``k``.
    n_chains
        Number of half-space chains.
    depth
        Levels per chain.
    window
        Points per window (the reference and current windows swap after this many points).
        The paper uses 25 on short evolving streams; the default follows the authors' code.
    seed
        Seed of the split features, shifts and hash salts (``np.random.default_rng``).
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``window_size`` (now
        ``window``), ``num_components`` (now ``n_components``).

    References
    ----------
    Manzoor, E. A., Lamba, H., & Akoglu, L. (2018). xStream: Outlier Detection in
    Feature-Evolving Data Streams. KDD 2018, 1963–1972.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.xstream import XStream
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(600, 3))
    >>> det = XStream(n_components=20, n_chains=20, depth=10, window=100, seed=1)
    >>> scores = det.score_learn_many(X)
    >>> print(round(float(scores[300:].mean()), 3))
    -6.729
    >>> print(round(det.score_one([0.0, 0.0, 0.0]), 3), round(det.score_one([6.0, -6.0, 6.0]), 3))
    -7.264 -1.85
    """

    _parameter_constraints = {
        "n_components": [Interval("int", 1, None)],
        "n_chains": [Interval("int", 1, None)],
        "depth": [Interval("int", 1, None)],
        "window": [Interval("int", 1, None)],
        "seed": SEED,
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self,
        n_components: int = 100,
        n_chains: int = 100,
        depth: int = 15,
        window: int = 256,
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.n_components = n_components
        self.n_chains = n_chains
        self.depth = depth
        self.window = window
        self.seed = seed
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"window_size": "window", "num_components": "n_components"})

    @classmethod
    def _unit_test_params(cls):
        yield {"n_components": 8, "n_chains": 6, "depth": 6, "window": 32}
        # a tiny window, and few, deep chains
        yield {"n_components": 3, "n_chains": 2, "depth": 12, "window": 5}

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def projection_(self) -> np.ndarray:
        """The StreamHash projection, ``(n_components, d)``."""
        return self._shaped("proj", int(self.n_components), -1)

    @property
    def split_features_(self) -> np.ndarray:
        """The projected feature each level of each chain splits, ``(n_chains, depth)``."""
        return self._shaped("fs", int(self.n_chains), int(self.depth))

    @property
    def slots_(self) -> np.ndarray:
        """First level of its chain splitting the same feature, ``(n_chains, depth)``."""
        return self._shaped("slot", int(self.n_chains), int(self.depth))

    @property
    def shift_fraction_(self) -> np.ndarray:
        """Shift of each chain and projected feature as a fraction of its bin width,
        ``(n_chains, n_components)``."""
        return self._shaped("rand", int(self.n_chains), int(self.n_components))

    @property
    def slot_salt_(self) -> np.ndarray:
        """Odd salt of each slot of the bin-vector hash, ``(depth,)`` uint64."""
        return self._view("ssalt")

    @property
    def level_salt_(self) -> np.ndarray:
        """Salt of each level's key, ``(n_chains, depth)`` uint64."""
        return self._shaped("lsalt", int(self.n_chains), int(self.depth))

    @property
    def deltamax_(self) -> np.ndarray:
        """Bin width of each projected feature, ``(n_components,)`` (0.5 until the first
        window is full)."""
        return self._view("dmax")

    def _level(self, i: int) -> np.ndarray:
        return self._shaped("levels", 3, int(self.n_chains), int(self.depth))[i]

    @property
    def shift_(self) -> np.ndarray:
        """Shift of each level, ``(n_chains, depth)``."""
        return self._level(0)

    @property
    def inv_width_(self) -> np.ndarray:
        """Inverse bin width of each level, ``(n_chains, depth)``."""
        return self._level(1)

    @property
    def shift_over_width_(self) -> np.ndarray:
        """Shift / bin width of each level, ``(n_chains, depth)``."""
        return self._level(2)

    @property
    def tables_(self) -> np.ndarray:
        """The two window tables (tag, window stamp, count per slot), ``(2, S, 3)`` int32."""
        return self._shaped("tab", 2, -1, 3)

    @property
    def state_(self) -> np.ndarray:
        """Points learned, reference table, current table, next stamp, stamps of tables 0
        and 1, ``(6,)`` int64."""
        return self._view("scal")

    @property
    def first_window_(self) -> np.ndarray:
        """The first window's points (storage), ``(window, d)``."""
        return self._shaped("fwin", int(self.window), -1)

    @property
    def log_counts_(self) -> np.ndarray:
        """``log2(1 + count)`` for counts ``0 .. window``."""
        return self._view("lut")


XStream._stack_class = XStreamStack
