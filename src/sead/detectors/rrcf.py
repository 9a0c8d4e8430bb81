"""Robust Random Cut Forest on streaming samples (Guha, Mishra, Roy & Schrijvers, ICML 2016)."""

from __future__ import annotations

import math
import numbers
from collections import namedtuple
from typing import ClassVar

import numpy as np
from numba import njit

from .._kernels.heap import heap_push, heap_replace_min
from .._kernels.random import GOLDEN, counter_u64, mix64, u64_to_open_unit, u64_to_unit
from .._params import SEED, Interval, take_renamed, validate_params
from .._stack import LEARN, SCORE, Stack, member_ints, slot_runs
from ..base import POLICY_CONSTRAINTS, StackedDetector

__all__ = ["RRCF"]

# Columns of the ``nodes_`` array (one row per internal node of a tree). A freed node keeps the
# next free node in its _PARENT column (the free list is linked through it).
_LEFT, _RIGHT, _PARENT, _DIM, _COUNT = 0, 1, 2, 3, 4
# Columns of the ``leaves_`` array (one row per leaf, i.e. per distinct point of a tree's
# sample; the point itself is in ``leaf_x_``): parent node, number of copies of the point in the
# sample. A freed leaf keeps the next free leaf in its _LPARENT column.
_LPARENT, _LCOUNT = 0, 1
# Columns of the ``meta_`` array (one row per tree): the root (coded as a child, see below) and
# the heads of the free lists of internal nodes and of leaves.
_ROOT, _FREE_NODE, _FREE_LEAF = 0, 1, 2
# A child ``c`` is an internal node when ``c >= 0`` and the leaf ``-c - 1`` when ``c < 0``.
# The end of a free list, and the parent of the root.
_NONE = -1
# The root of an empty tree (not a valid child code).
_EMPTY = 2**31 - 1
# If the sum of the spans of a bounding box overflows (values near the float limits), the spans
# are computed on values multiplied by this exact power of two instead.
_SPAN_SCALE = 2.0**-16

_TWO = np.uint64(2)


# ---- kernels ------------------------------------------------------------------------------------


@njit(cache=True, inline="always")
def _splitmix_next(state):
    """One step of SplitMix64: the next state and a uniform float in [0, 1) (53 bits)."""
    state = state + GOLDEN
    return state, u64_to_unit(mix64(state))


@njit(cache=True, inline="always")
def _walk_stream(seed, clock):
    """Start of the random stream of the cuts drawn for the point learned at ``clock`` (the
    tree's SplitMix64 sequence at position ``2 * clock``, mixed)."""
    return mix64(seed + np.uint64(clock) * _TWO * GOLDEN)


@njit(cache=True, inline="always")
def _sample_key(seed, clock, decay):
    """Reservoir key of the point learned at ``clock``: ``decay * clock + G`` with ``G`` a
    standard Gumbel draw ``-log(-log(u))`` from a uniform ``u`` (position ``2 * clock + 1`` of the
    tree's sequence). Only the order of the keys matters, so with ``decay == 0`` the key is ``u``
    itself (same order, no logarithms), and with an infinite ``decay`` it is ``clock`` (keep the
    newest points)."""
    if decay == math.inf:
        return float(clock)
    u = u64_to_open_unit(counter_u64(seed, np.uint64(clock) * _TWO))
    if decay == 0.0:
        return u
    return decay * clock - math.log(-math.log(u))


@njit(cache=True, inline="always")
def _spans_total(x, lo_box, hi_box, s):
    total = 0.0
    for j in range(x.shape[0]):
        lo = min(lo_box[j], x[j])
        hi = max(hi_box[j], x[j])
        total += hi * s - lo * s
    return total


@njit(cache=True, inline="always")
def _random_cut(x, lo_box, hi_box, u):
    """The random cut of the box ``[lo_box, hi_box]`` extended to contain ``x`` (the paper's
    InsertPoint cut): a dimension drawn in proportion to its extended span and a value uniform in
    it, from the uniform number ``u``.

    Returns ``(separates, dim, cut)``: whether the cut falls between ``x`` and the box, and then
    the dimension and the cut value, with ``x[dim] <= cut`` exactly when ``x`` is below the box in
    ``dim`` (the box lies strictly on the other side of the cut).
    """
    d = x.shape[0]
    s = 1.0
    total = _spans_total(x, lo_box, hi_box, s)
    if not math.isfinite(total):
        s = _SPAN_SCALE
        total = _spans_total(x, lo_box, hi_box, s)
    r = u * total
    acc = 0.0
    dim = -1
    o = 0.0
    last = -1
    for j in range(d):
        lo = min(lo_box[j], x[j])
        hi = max(hi_box[j], x[j])
        w = hi * s - lo * s
        if w > 0.0:
            last = j
            if r < acc + w:
                dim = j
                o = r - acc
                break
            acc += w
    if dim < 0:  # r rounded up to the total: the top of the last dimension with a span
        if last < 0:
            return False, 0, 0.0
        dim = last
        o = max(hi_box[dim], x[dim]) * s - min(lo_box[dim], x[dim]) * s
    xj, bl, bh = x[dim], lo_box[dim], hi_box[dim]
    if xj < bl:  # extension below the box: cuts in [x, low) separate
        if o < bl * s - xj * s:
            cut = xj + o / s
            if not cut < bl:
                cut = xj
            return True, dim, cut
    elif xj > bh:  # extension above the box: cuts in [high, x) separate
        if o >= bh * s - bl * s:
            cut = bl + o / s
            if cut < bh or not cut < xj:
                cut = bh
            return True, dim, cut
    return False, dim, 0.0


@njit(cache=True, inline="always")
def _separate_leaf(x, p):
    """A cut between two different points when rounding left ``_random_cut`` without one."""
    for j in range(x.shape[0]):
        if x[j] != p[j]:
            return j, min(x[j], p[j])
    return 0, x[0]  # unreachable: x != p


@njit(cache=True, inline="always")
def _take_leaf(t, x, parent, leaves, leaf_x, meta):
    """Pop a leaf off tree ``t``'s free list and make it hold one copy of ``x`` under ``parent``."""
    leaf = meta[t, _FREE_LEAF]
    meta[t, _FREE_LEAF] = leaves[t, leaf, _LPARENT]
    leaves[t, leaf, _LPARENT] = parent
    leaves[t, leaf, _LCOUNT] = 1
    for j in range(x.shape[0]):
        leaf_x[t, leaf, j] = x[j]
    return leaf


@njit(cache=True, inline="always")
def _set_parent(t, child, parent, nodes, leaves):
    """Point the child code ``child`` (a node or a leaf) at ``parent``."""
    if child >= 0:
        nodes[t, child, _PARENT] = parent
    else:
        leaves[t, -child - 1, _LPARENT] = parent


@njit(cache=True, inline="always")
def _replace_child(t, parent, old, new, nodes, meta):
    """Put the child code ``new`` where ``old`` hangs under ``parent`` (the root if none)."""
    if parent == _NONE:
        meta[t, _ROOT] = new
    elif nodes[t, parent, _LEFT] == old:
        nodes[t, parent, _LEFT] = new
    else:
        nodes[t, parent, _RIGHT] = new


@njit(cache=True, inline="always")
def _outside_box(t, node, x, box):
    """Whether ``x`` lies outside the bounding box of internal node ``node``."""
    for j in range(x.shape[0]):
        if x[j] < box[t, node, 0, j] or x[j] > box[t, node, 1, j]:
            return True
    return False


@njit(cache=True, inline="always")
def _extend_box(t, node, x, box):
    """Grow the bounding box of ``node`` to contain ``x``."""
    for j in range(x.shape[0]):
        if x[j] < box[t, node, 0, j]:
            box[t, node, 0, j] = x[j]
        elif x[j] > box[t, node, 1, j]:
            box[t, node, 1, j] = x[j]


@njit(cache=True, inline="always")
def _node_cut(t, node, x, u, box, lo, hi):
    """``_random_cut`` of ``node``'s box extended by ``x``.

    The extended box is copied into the scratch arrays ``lo`` and ``hi``.
    """
    for j in range(x.shape[0]):
        lo[j] = box[t, node, 0, j]
        hi[j] = box[t, node, 1, j]
    return _random_cut(x, lo, hi, u)


@njit(cache=True, inline="always")
def _same_point(t, leaf, x, leaf_x):
    """Whether ``x`` equals the point of ``leaf``."""
    for j in range(x.shape[0]):
        if x[j] != leaf_x[t, leaf, j]:
            return False
    return True


@njit(cache=True, inline="always")
def _leaf_cut(t, leaf, x, u, leaf_x, lo):
    """A cut between ``x`` and the (different) point of ``leaf``: the random cut of the leaf's
    box (its point, copied into the scratch ``lo``) extended by ``x``, or ``_separate_leaf`` when
    rounding left that cut without a separation. Returns ``(dim, cut)``."""
    for j in range(x.shape[0]):
        lo[j] = leaf_x[t, leaf, j]
    sep, dim, c = _random_cut(x, lo, lo, u)
    if not sep:
        dim, c = _separate_leaf(x, lo)
    return dim, c


@njit(cache=True, inline="always")
def _add_branch(t, x, node, parent, n, dim, c, nodes, cut, box, leaves, leaf_x, meta):
    """Cut ``x`` off ``node`` (count ``n``, child of ``parent``): a new branch takes ``node``'s
    place, with children ``node`` and a new leaf holding ``x``, split at ``(dim, c)``. Returns
    the new leaf."""
    branch = meta[t, _FREE_NODE]
    meta[t, _FREE_NODE] = nodes[t, branch, _PARENT]
    leaf = _take_leaf(t, x, branch, leaves, leaf_x, meta)
    if node >= 0:
        nodes[t, node, _PARENT] = branch
        for j in range(x.shape[0]):
            box[t, branch, 0, j] = min(box[t, node, 0, j], x[j])
            box[t, branch, 1, j] = max(box[t, node, 1, j], x[j])
    else:  # a leaf: its box is its point
        leaves[t, -node - 1, _LPARENT] = branch
        for j in range(x.shape[0]):
            box[t, branch, 0, j] = min(leaf_x[t, -node - 1, j], x[j])
            box[t, branch, 1, j] = max(leaf_x[t, -node - 1, j], x[j])
    nodes[t, branch, _PARENT] = parent
    nodes[t, branch, _DIM] = dim
    nodes[t, branch, _COUNT] = n + 1
    cut[t, branch] = c
    if x[dim] <= c:
        nodes[t, branch, _LEFT] = -leaf - 1
        nodes[t, branch, _RIGHT] = node
    else:
        nodes[t, branch, _LEFT] = node
        nodes[t, branch, _RIGHT] = -leaf - 1
    _replace_child(t, parent, node, branch, nodes, meta)
    return leaf


@njit(cache=True, inline="always")
def _tree_insert(t, x, state, insert, nodes, cut, box, leaves, leaf_x, meta, lo, hi):
    """Collusive displacement of ``x`` in tree ``t`` if it were inserted; inserts it if ``insert``.

    The walk is the paper's InsertPoint: from the root, while a random cut of the node's box
    extended by ``x`` does not separate ``x`` from the node, follow the node's own cut; where one
    does, ``x`` becomes a new leaf, sibling of that node under a new branch (``_add_branch``).
    A point equal to a leaf's point only adds a copy to that leaf. The uniform numbers come from
    the SplitMix64 stream that starts at ``state``; scoring a point and learning it use the same
    stream, so the pure walk of the score goes exactly where the insertion will put the point. A
    cut is drawn only where ``x`` is outside the node's box (elsewhere no cut can separate it).

    CoDisp of the new leaf (the paper's collusive displacement, as computed by ``rrcf``): the
    largest, over the nodes ``c`` on its path below the root, of ``n(sibling of c) / n(c)``,
    counted after the insertion, i.e. ``(n(parent) - n(c)) / (n(c) + 1)`` with the counts before
    it, and ``n(node)`` at the new branch (sibling ``node``, new leaf of count 1). Every ratio
    below a node of count ``n`` is at most ``n``, so the pure walk stops once the largest ratio
    so far reaches the count of the node it is at (the insertion walk goes on to its leaf, and
    finds the same value).

    ``lo`` and ``hi`` are scratch arrays of length ``d`` that receive the box being cut.

    Returns ``(codisp, leaf)``: ``leaf`` holds ``x`` after an insertion, -1 otherwise.
    """
    node = meta[t, _ROOT]
    if node == _EMPTY:  # the first point becomes the root leaf
        if not insert:
            return 0.0, -1
        leaf = _take_leaf(t, x, _NONE, leaves, leaf_x, meta)
        meta[t, _ROOT] = -leaf - 1
        return 0.0, leaf
    dim = 0
    c = 0.0
    parent = _NONE
    n_parent = 0
    best = 0.0
    while node >= 0:  # an internal node: follow its cut unless a new cut separates x
        n = nodes[t, node, _COUNT]
        if parent != _NONE:
            best = max(best, (n_parent - n) / (n + 1.0))
        if best >= n and not insert:
            return best, -1  # no ratio below this node can exceed n
        if _outside_box(t, node, x, box):
            state, u = _splitmix_next(state)
            sep, dim, c = _node_cut(t, node, x, u, box, lo, hi)
            if sep:
                break
            if insert:
                _extend_box(t, node, x, box)
        if insert:
            nodes[t, node, _COUNT] = n + 1
        parent = node
        n_parent = n
        if x[nodes[t, node, _DIM]] <= cut[t, node]:
            node = nodes[t, node, _LEFT]
        else:
            node = nodes[t, node, _RIGHT]
    else:  # a leaf: x is a copy of its point, or is cut off from it
        leaf = -node - 1
        n = leaves[t, leaf, _LCOUNT]
        if parent != _NONE:
            best = max(best, (n_parent - n) / (n + 1.0))
        if _same_point(t, leaf, x, leaf_x):
            if not insert:
                return best, -1
            leaves[t, leaf, _LCOUNT] = n + 1
            return best, leaf
        if insert:  # the cut is only needed to insert
            state, u = _splitmix_next(state)
            dim, c = _leaf_cut(t, leaf, x, u, leaf_x, lo)
    # x is cut off from ``node`` (count n): its sibling under the new branch
    best = max(best, float(n))
    if not insert:
        return best, -1
    return best, _add_branch(t, x, node, parent, n, dim, c, nodes, cut, box, leaves, leaf_x, meta)


@njit(cache=True, inline="always")
def _tree_forget(t, leaf, nodes, box, leaves, leaf_x, meta, x):
    """Remove one copy of the point of ``leaf`` from tree ``t`` (the paper's DeletePoint).

    A leaf with several copies loses one. Otherwise the leaf and its parent go (back to the free
    lists) and the sibling takes the parent's place; the counts above drop by one and the boxes
    that had the point on their boundary shrink to their children's. ``x`` is a scratch array
    of length ``d``.
    """
    d = box.shape[3]
    parent = leaves[t, leaf, _LPARENT]
    if leaves[t, leaf, _LCOUNT] > 1:
        leaves[t, leaf, _LCOUNT] -= 1
        while parent != _NONE:
            nodes[t, parent, _COUNT] -= 1
            parent = nodes[t, parent, _PARENT]
        return
    for j in range(d):
        x[j] = leaf_x[t, leaf, j]
    leaves[t, leaf, _LPARENT] = meta[t, _FREE_LEAF]
    leaves[t, leaf, _LCOUNT] = 0
    meta[t, _FREE_LEAF] = leaf
    if parent == _NONE:  # the only point
        meta[t, _ROOT] = _EMPTY
        return
    coded = -leaf - 1
    if nodes[t, parent, _LEFT] == coded:
        sibling = nodes[t, parent, _RIGHT]
    else:
        sibling = nodes[t, parent, _LEFT]
    grand = nodes[t, parent, _PARENT]
    _set_parent(t, sibling, grand, nodes, leaves)
    _replace_child(t, grand, parent, sibling, nodes, meta)
    nodes[t, parent, _PARENT] = meta[t, _FREE_NODE]
    nodes[t, parent, _COUNT] = 0
    meta[t, _FREE_NODE] = parent
    node = grand
    shrink = True
    while node != _NONE:
        nodes[t, node, _COUNT] -= 1
        if shrink:
            touches = False
            for j in range(d):
                if box[t, node, 0, j] == x[j] or box[t, node, 1, j] == x[j]:
                    touches = True
                    break
            if touches:
                a = nodes[t, node, _LEFT]
                b = nodes[t, node, _RIGHT]
                for j in range(d):
                    if a >= 0:
                        alo = box[t, a, 0, j]
                        ahi = box[t, a, 1, j]
                    else:  # a leaf: its box is its point
                        alo = ahi = leaf_x[t, -a - 1, j]
                    if b >= 0:
                        blo = box[t, b, 0, j]
                        bhi = box[t, b, 1, j]
                    else:
                        blo = bhi = leaf_x[t, -b - 1, j]
                    box[t, node, 0, j] = min(alo, blo)
                    box[t, node, 1, j] = max(ahi, bhi)
            else:  # the boxes above cannot have the point on their boundary either
                shrink = False
        node = nodes[t, node, _PARENT]


# ``_nrt=False``: the kernel allocates nothing (the caller passes the output and scratch arrays),
# so it runs without numba's reference counting, which would otherwise increment and decrement
# the count of every array argument of every inlined helper at every call — most of the time of
# a walk. The helpers above are all inlined into it. The stacked kernel below calls it once per
# run of rows of one instance, on views of that instance's state (``nogil``: it is also a
# separate compiled function that a thread running the stacked kernel calls without the GIL).
@njit(cache=True, nogil=True, _nrt=False)
def _forest(
    X,
    learn,
    decay,
    seeds,
    nodes,
    cut,
    box,
    leaves,
    leaf_x,
    meta,
    hkey,
    hleaf,
    clock,
    out,
    x,
    lo,
    hi,
):
    """Mean CoDisp over the trees of each row of ``X``; with ``learn``, row ``i`` is scored and
    then learned, for each ``i`` in turn (prequential), otherwise every row is scored against the
    current state (nothing changes).

    Learning a point in a tree is weighted reservoir sampling (Efraimidis & Spirakis): the point
    gets the key ``decay * clock + G`` (``G`` Gumbel, see ``_sample_key``); the tree keeps the
    ``tree_size`` points with the largest keys, in a min-heap. A point whose key is not among them
    is not inserted (but is scored); otherwise it is inserted first (so the insertion walk is the
    score's walk) and then the point with the smallest key is deleted. The trees are independent
    given the rows, so the loop runs tree by tree, each tree's state staying in cache.
    """
    T, m = hkey.shape
    n, d = X.shape
    for i in range(n):
        out[i] = 0.0
    clock0 = clock[0]
    for t in range(T):
        seed = seeds[t]
        for i in range(n):
            c = clock0 + i if learn else clock0
            state = _walk_stream(seed, c)
            enter = False
            key = 0.0
            if learn:
                key = _sample_key(seed, c, decay)
                enter = c < m or key > hkey[t, 0]
            for j in range(d):
                x[j] = X[i, j]
            score, leaf = _tree_insert(
                t, x, state, enter, nodes, cut, box, leaves, leaf_x, meta, lo, hi
            )
            out[i] += score
            if enter:
                if c < m:
                    heap_push(hkey, hleaf, t, c, key, leaf)
                else:
                    old = hleaf[t, 0]
                    heap_replace_min(hkey, hleaf, t, m, key, leaf)
                    _tree_forget(t, old, nodes, box, leaves, leaf_x, meta, lo)
    if learn:
        clock[0] = clock0 + n
    for i in range(n):
        out[i] /= T


# ---- stacked state: every field is (slots, width); member j's part is off[f, j]:off[f, j + 1] ----

RRCFState = namedtuple(
    "RRCFState",
    ["seeds", "nodes", "cut", "box", "leaves", "leaf_x", "meta", "skey", "sleaf", "scal"],
)
RRCFState.__doc__ = """State of a stacked RRCF; per member (``T`` trees of ``m`` points, ``d``
features), flattened into each slot's row:

* ``seeds`` uint64 ``(T,)`` each tree's key, from which its cuts and sample keys are hashed;
* ``nodes`` int32 ``(T, m, 5)`` internal nodes: left, right, parent, cut dimension, count;
* ``cut`` float64 ``(T, m)`` each internal node's cut value;
* ``box`` float64 ``(T, m, 2, d)`` each internal node's bounding box (lower, upper);
* ``leaves`` int32 ``(T, m + 1, 2)`` leaves: parent, copies of the point in the sample;
* ``leaf_x`` float64 ``(T, m + 1, d)`` each leaf's point;
* ``meta`` int32 ``(T, 3)`` root, heads of the free lists of nodes and of leaves;
* ``skey`` float64 ``(T, m)`` min-heap of the sample's reservoir keys;
* ``sleaf`` int32 ``(T, m)`` the leaf of each key;
* ``scal`` int64 ``(1,)`` points learned (the clock).
"""
RRCFConfig = namedtuple("RRCFConfig", ["off", "n_trees", "tree_size", "decay"])
RRCFConfig.__doc__ = """Per-member parameters ``(m,)``: ``n_trees`` and ``tree_size`` int64,
``decay`` float64 (``decay``, ``inf`` above 1e12); and the field offsets ``off``
``(10, m + 1)``."""
_SEEDS, _NODES, _CUT, _BOX, _LEAVES, _LEAF_X, _META, _SKEY, _SLEAF, _SCAL = range(10)


@njit(cache=True, nogil=True)
def rrcf_kernel(X, slots, modes, out, cfg, st):
    """The stacked RRCF kernel (arguments as in :mod:`sead._stack`): ``_forest`` on each run of
    rows of one instance, with views of that instance's state. ``LEARN`` scores into a scratch
    buffer (learning a point walks the same path as scoring it) and leaves ``out`` alone."""
    n, d = X.shape
    starts = slot_runs(slots)
    off = cfg.off
    buf = np.empty(n)
    x = np.empty(d)
    lo = np.empty(d)
    hi = np.empty(d)
    for j in range(cfg.n_trees.shape[0]):
        T = cfg.n_trees[j]
        m = cfg.tree_size[j]
        for q in range(starts.shape[0] - 1):
            a, b = starts[q], starts[q + 1]
            s = slots[a]
            mode = modes[s, j]
            if mode < 0:
                continue
            scores = buf[: b - a]
            _forest(
                X[a:b],
                mode != SCORE,
                cfg.decay[j],
                st.seeds[s, off[_SEEDS, j] : off[_SEEDS, j + 1]],
                st.nodes[s, off[_NODES, j] : off[_NODES, j + 1]].reshape((T, m, 5)),
                st.cut[s, off[_CUT, j] : off[_CUT, j + 1]].reshape((T, m)),
                st.box[s, off[_BOX, j] : off[_BOX, j + 1]].reshape((T, m, 2, d)),
                st.leaves[s, off[_LEAVES, j] : off[_LEAVES, j + 1]].reshape((T, m + 1, 2)),
                st.leaf_x[s, off[_LEAF_X, j] : off[_LEAF_X, j + 1]].reshape((T, m + 1, d)),
                st.meta[s, off[_META, j] : off[_META, j + 1]].reshape((T, 3)),
                st.skey[s, off[_SKEY, j] : off[_SKEY, j + 1]].reshape((T, m)),
                st.sleaf[s, off[_SLEAF, j] : off[_SLEAF, j + 1]].reshape((T, m)),
                st.scal[s, off[_SCAL, j] : off[_SCAL, j + 1]],
                scores,
                x,
                lo,
                hi,
            )
            if mode != LEARN:
                for r in range(b - a):
                    out[a + r, j] = scores[r]


def _decay(time_decay) -> float:
    """``decay`` as the kernel takes it: past 1e12 the Gumbel noise cannot reorder keys and
    ``decay * clock`` could overflow, so it acts as ``inf``."""
    return math.inf if time_decay > 1e12 else float(time_decay)


class _DecayConstraint:
    """A number >= 0 (not NaN, not a bool), or ``math.inf``."""

    def is_satisfied_by(self, v) -> bool:
        return isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) and v >= 0.0

    def __str__(self) -> str:
        return "a number >= 0 (or math.inf)"


class RRCFStack(Stack):
    """RRCF forests of any sizes and decays, stacked (see :mod:`sead._stack`)."""

    State = RRCFState
    dtypes: ClassVar[dict] = {
        "seeds": np.uint64,
        "nodes": np.int32,
        "cut": np.float64,
        "box": np.float64,
        "leaves": np.int32,
        "leaf_x": np.float64,
        "meta": np.int32,
        "skey": np.float64,
        "sleaf": np.int32,
        "scal": np.int64,
    }
    kernel = staticmethod(rrcf_kernel)

    @staticmethod
    def init_member(det, schema) -> dict:
        validate_params(det)
        T, m, d = int(det.n_trees), int(det.tree_size), schema.n_features
        # m + 1 leaves and m internal nodes: a tree briefly holds m + 1 points, between the
        # insertion of a new point and the deletion of the one it pushes out of the sample.
        nodes = np.zeros((T, m, 5), dtype=np.int32)
        nodes[:, :, _PARENT] = np.arange(1, m + 1)  # free list 0 -> 1 -> ... -> m-1
        nodes[:, m - 1, _PARENT] = _NONE
        leaves = np.zeros((T, m + 1, 2), dtype=np.int32)
        leaves[:, :, _LPARENT] = np.arange(1, m + 2)
        leaves[:, m, _LPARENT] = _NONE
        meta = np.zeros((T, 3), dtype=np.int32)
        meta[:, _ROOT] = _EMPTY
        return {
            "seeds": np.random.default_rng(det.seed).integers(0, 2**64, size=T, dtype=np.uint64),
            "nodes": nodes,
            "cut": np.zeros(T * m),
            "box": np.zeros(T * m * 2 * d),
            "leaves": leaves,
            "leaf_x": np.zeros(T * (m + 1) * d),
            "meta": meta,
            "skey": np.zeros(T * m),
            "sleaf": np.zeros(T * m, dtype=np.int32),
            "scal": np.zeros(1, dtype=np.int64),
        }

    @staticmethod
    def make_config(members, schema, off):
        return RRCFConfig(
            off,
            member_ints(members, "n_trees"),
            member_ints(members, "tree_size"),
            np.array([_decay(m.decay) for m in members], dtype=np.float64),
        )


# ---- the detector -------------------------------------------------------------------------------


class RRCF(StackedDetector):
    """Robust Random Cut Forest (RRCF), with compiled trees on streaming samples.

    RRCF [^1] keeps ``n_trees`` robust random cut trees, each on a sample of ``tree_size`` points
    of the stream. A robust random cut tree splits a set of points by a random cut — a dimension
    drawn in proportion to its span (max - min) and a value uniform in that span — recursively,
    until each leaf holds one distinct point. Each tree is kept exactly as if it had been built on
    its current sample: a new point is inserted by the paper's InsertPoint (walking down, it
    becomes a leaf at the first node where a random cut of the node's box extended to the point
    separates it), and a point that leaves the sample is deleted (its leaf and parent go, the
    sibling moves up, boxes shrink). Repeated points share a leaf with a count, as in the ``rrcf``
    package [^2].

    The score of a point is its collusive displacement (CoDisp) averaged over the trees: the
    largest ratio, over the subtrees ``c`` on its path, of the size of ``c``'s sibling to the size
    of ``c`` — how many points would move up if ``c`` (the point and the points that "collude"
    with it) were removed. A point is scored as if it were inserted into the current trees, by a
    pure walk that draws the same random cuts as the insertion that learning it then makes (in
    the trees whose sample it enters); so score-then-learn gives the ``rrcf`` package's streaming
    score (insert, then CoDisp of the new leaf), and ``score_one`` changes nothing.

    Samples (the paper's Section 2; PySAD's ``decay``): each tree keeps its own weighted
    reservoir sample [^3]. The ``t``-th point learned gets, in each tree, the key
    ``decay * t + G`` (``G`` a standard Gumbel draw) and the tree keeps the ``tree_size``
    points with the largest keys: a point that came ``k`` points later is ``exp(decay * k)``
    times as likely to be kept. ``decay=0`` (the default, PySAD's) keeps a uniform sample of
    the whole stream — robust to bursts of anomalies, which reach the sample only thinly, but slow
    to follow drift; ``decay=inf`` keeps the last ``tree_size`` points in every tree (the
    sliding window of the ``rrcf`` package's streaming example), which follows drift at once but
    lets a burst of similar anomalies mask each other (on ODDS satimage-2 streamed in shuffled
    chunks of 50 rows, APS 0.17 against 0.87 for ``decay=0``); values in between (e.g.
    ``0.001`` to ``0.01``) forget old points gradually; values above 1e12 act as ``inf``.

    RRCF is good at isolated points and at small groups of similar anomalies (CoDisp counts the
    points that would move if the point and its colluders were removed, so a few near-copies do
    not hide each other), and it needs no scaling of the features to be *valid* — but cut
    dimensions are drawn in proportion to the spans, so a feature
    with a much larger range gets most cuts: scale features to comparable ranges when they have
    different units. It is weak on very high-dimensional data where few cuts hit the informative
    features, and it is one of the more expensive detectors: each point walks every tree (depth
    ``O(log tree_size)`` on non-degenerate data) with ``O(d)`` work per node.

    Scores: mean CoDisp over the trees, higher = more anomalous, in ``[0, tree_size]``; 0 before
    anything is learned; at least 1 for a point that is in no tree's sample; about ``tree_size``
    for a point far outside everything seen (it is cut off at the root, so its sibling is the
    whole sample). Any finite input scores finitely (box spans that would overflow are computed
    at a reduced exact scale).

    Cost per point (score + learn): ``O(n_trees * depth * d)``, with ``depth`` about ``2 * log2
    (tree_size)`` on typical data (at worst ``tree_size``), plus ``O(n_trees * log tree_size)``
    for the samples. Once a uniform sample is full most points do not enter it and only walk
    (and the walk of the score stops as soon as the rest of the path cannot raise the CoDisp);
    a sliding window inserts and deletes every point in every tree, about twice the cost. On 9
    features: ~0.2-0.3 us per tree and point, ~30 us per point at the defaults.

    State (allocated at the first point, fixed thereafter, so memory is bounded on an unbounded
    stream), per tree: ``tree_size`` internal nodes (a bounding box, a cut,
    children, parent, count: ``16 d + 28`` bytes), ``tree_size + 1`` leaves (the point, parent,
    count: ``8 d + 8`` bytes) and the sample's keys (12 bytes per point) — about
    ``n_trees * tree_size * (24 d + 48)`` bytes in all, 7.4 MB at the defaults with ``d = 10``
    (``state_bytes()`` gives the exact figure).

    Parameters
    ----------
    n_trees
        Number of trees (PySAD's ``num_trees``; the paper uses 100 to 200).
    tree_size
        Number of points in each tree's sample (PySAD's ``tree_size``).
    decay
        How strongly the samples favour recent points (see above): a finite number >= 0, or
        ``math.inf`` for a sliding window of the last ``tree_size`` points.
    seed
        Random seed (``numpy.random.default_rng(seed)`` draws one 64-bit key per tree, from which
        the cuts and the sample keys are hashed).
    missing
        A missing value (NaN, None, an absent key): ``"impute"`` (default: the feature's last
        value in the stream), ``"skip"`` (the row is scored so, not learned) or ``"raise"``.
    extra
        A key or column that is not one of the features: ``"ignore"`` (default) or ``"raise"``.
    **kwargs
        Former names, accepted for one release with a ``DeprecationWarning``: ``time_decay`` (now
        ``decay``).

    References
    ----------
    [^1]: Guha, S., Mishra, N., Roy, G. and Schrijvers, O., 2016. Robust random cut forest based
        anomaly detection on streams. In International Conference on Machine Learning
        (pp. 2712-2721).
    [^2]: Bartos, M., Mullapudi, A. and Troutman, S., 2019. rrcf: Implementation of the Robust
        Random Cut Forest algorithm for anomaly detection on streams. Journal of Open Source
        Software, 4(35), p. 1336.
    [^3]: Efraimidis, P.S. and Spirakis, P.G., 2006. Weighted random sampling with a reservoir.
        Information Processing Letters, 97(5), pp. 181-185.

    Examples
    --------
    >>> import numpy as np
    >>> from sead.detectors.rrcf import RRCF
    >>> rng = np.random.default_rng(42)
    >>> X = rng.normal(size=(1000, 4))
    >>> X[-1] = [6.0, -6.0, 6.0, -6.0]  # an outlier at the end
    >>> det = RRCF(n_trees=20, tree_size=128, seed=0)
    >>> scores = det.score_learn_many(X)
    >>> print(f"typical: {np.median(scores[200:-1]):.3f}   outlier: {scores[-1]:.3f}")
    typical: 4.361   outlier: 68.130
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_trees": [Interval("int", 1, 2**30)],
        "tree_size": [Interval("int", 1, 2**30)],
        "decay": [_DecayConstraint()],
        "seed": SEED,
        **POLICY_CONSTRAINTS,
    }

    def __init__(
        self,
        n_trees: int = 100,
        tree_size: int = 256,
        decay: float = 0.0,
        seed: int | None = 0,
        missing: str = "impute",
        extra: str = "ignore",
        **kwargs,
    ):
        self.n_trees = n_trees
        self.tree_size = tree_size
        self.decay = decay
        self.seed = seed
        self.missing = missing
        self.extra = extra
        take_renamed(self, kwargs, {"time_decay": "decay"})

    @classmethod
    def _unit_test_params(cls):
        yield {"n_trees": 5, "tree_size": 64, "seed": 1}
        yield {"n_trees": 3, "tree_size": 8, "decay": math.inf, "seed": 2}
        yield {"n_trees": 4, "tree_size": 32, "decay": 0.05, "seed": 3}

    # ---- the learned state, read from the stack ---------------------------------------------
    @property
    def seeds_(self) -> np.ndarray:
        """Each tree's 64-bit key, ``(n_trees,)`` uint64."""
        return self._view("seeds")

    @property
    def nodes_(self) -> np.ndarray:
        """Internal nodes, ``(n_trees, tree_size, 5)``: left, right, parent, cut feature, count."""
        return self._shaped("nodes", int(self.n_trees), int(self.tree_size), 5)

    @property
    def cut_(self) -> np.ndarray:
        """Cut value of each internal node, ``(n_trees, tree_size)``."""
        return self._shaped("cut", int(self.n_trees), int(self.tree_size))

    @property
    def box_(self) -> np.ndarray:
        """Bounding box (lower, upper) of each internal node, ``(n_trees, tree_size, 2, d)``."""
        return self._shaped("box", int(self.n_trees), int(self.tree_size), 2, -1)

    @property
    def leaves_(self) -> np.ndarray:
        """Leaves (parent, copies of the point), ``(n_trees, tree_size + 1, 2)``."""
        return self._shaped("leaves", int(self.n_trees), int(self.tree_size) + 1, 2)

    @property
    def leaf_x_(self) -> np.ndarray:
        """Each leaf's point, ``(n_trees, tree_size + 1, d)``."""
        return self._shaped("leaf_x", int(self.n_trees), int(self.tree_size) + 1, -1)

    @property
    def meta_(self) -> np.ndarray:
        """Root and heads of the free lists (nodes, leaves) of each tree, ``(n_trees, 3)``."""
        return self._shaped("meta", int(self.n_trees), 3)

    @property
    def sample_key_(self) -> np.ndarray:
        """Min-heap of each tree's reservoir keys, ``(n_trees, tree_size)``."""
        return self._shaped("skey", int(self.n_trees), int(self.tree_size))

    @property
    def sample_leaf_(self) -> np.ndarray:
        """The leaf of each key of ``sample_key_``, ``(n_trees, tree_size)``."""
        return self._shaped("sleaf", int(self.n_trees), int(self.tree_size))

    @property
    def clock_(self) -> np.ndarray:
        """Number of points learned, a one-element int64 array."""
        return self._view("scal")

    @property
    def decay_(self) -> float:
        """``decay`` as used (``inf`` above 1e12)."""
        return float(self.stack_.cfg.decay[0])

    def state_bytes(self) -> int:
        """Bytes of the learned state's arrays (0 before the first point is learned)."""
        if not self._fitted:
            return 0
        return int(sum(self._view(f).nbytes for f in RRCFState._fields))


RRCF._stack_class = RRCFStack
