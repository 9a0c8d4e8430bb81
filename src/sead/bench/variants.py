"""Named forms of SEAD measured by ``sead-bench --variant``.

The paper leaves several choices open (``docs/algorithm.md``): the quantile
reference, the loss that drives the weights, eta, lambda, the warm-up length, and SEAD++'s
sample size and whether unsampled detectors learn. Each variant here is a name for one set of
keyword arguments.

* :data:`VARIANTS` — keyword arguments of :class:`sead.SEAD` (equally of
  :func:`sead.combine_scores`, which takes the same ones). A SEAD variant only changes how the
  base detectors' raw scores are combined, never the scores themselves, so the benchmark
  evaluates it on the raw score matrix cached from the real SEAD run: seconds per task.
* :data:`PLUS_VARIANTS` — keyword arguments of :class:`sead.SEADPlusPlus` on top of the
  ``SEAD`` method's settings. SEAD++ samples by the weights, so these run the detectors again
  (about half a SEAD run each); they are only run when named or with ``--variant all``.

``paper`` is the literal reading of the paper (full-history exact quantiles, loss = the
quantile itself, eta = 1 per point, lambda = 1e-6, 100 warm-up points) and stays selectable by
that name whatever the default becomes. ``default`` is whatever :class:`sead.SEAD`'s own
defaults are; the benchmark's ``SEAD`` method uses :data:`SEAD_VARIANT`.
"""

from __future__ import annotations

import inspect

from ..normalization import TDigestQuantile

__all__ = [
    "VARIANTS",
    "PLUS_VARIANTS",
    "SEAD_VARIANT",
    "DEFAULT_SELECTION",
    "sead_params",
    "plus_params",
    "select",
    "describe",
]

#: The literal reading of the paper.
PAPER = {
    "reference": "exact",
    "window": None,
    "loss": "score",
    "output": "quantile",
    "eta": 1.0,
    "lam": 1e-6,
    "warmup": 100,
}


def _paper(**changes) -> dict:
    out = dict(PAPER)
    out.update(changes)
    return out


#: SEAD variants: name -> keyword arguments for ``SEAD`` / ``combine_scores``.
VARIANTS: dict[str, dict] = {
    # SEAD's own defaults, whatever they are (resolved from its signature)
    "default": {},
    # the defaults with a smaller t-digest (the bounded memory per key of many small streams)
    "td-50-100": {"reference": TDigestQuantile(compression=50, buffer_size=100)},
    "td-20-32": {"reference": TDigestQuantile(compression=20, buffer_size=32)},
    # the paper, read literally
    "paper": _paper(),
    # the quantile reference
    "tdigest": _paper(reference="tdigest"),
    "window-250": _paper(reference="window", window=250),
    "window-1000": _paper(reference="window", window=1000),
    "window-5000": _paper(reference="window", window=5000),
    "frozen": _paper(reference="frozen"),
    "frozen-1000": _paper(reference="frozen", warmup=1000),
    # the loss driving the weights
    "gated": _paper(loss="gated"),
    "consensus": _paper(loss="consensus"),
    "window-1000-gated": _paper(reference="window", window=1000, loss="gated"),
    "window-1000-consensus": _paper(reference="window", window=1000, loss="consensus"),
    # eta: per point at other scales, and per 50-point chunk (eta / 50 per point)
    "eta-0": _paper(eta=0.0),  # no learning: the mean of quantiles with the paper's reference
    "eta-0.1": _paper(eta=0.1),
    "eta-chunk": _paper(eta=1.0 / 50),
    "eta-10": _paper(eta=10.0),
    "window-1000-eta-0.1": _paper(reference="window", window=1000, eta=0.1),
    "window-1000-eta-chunk": _paper(reference="window", window=1000, eta=1.0 / 50),
    # lambda (fixed share)
    "lam-0": _paper(lam=0.0),
    "lam-1e-3": _paper(lam=1e-3),
    "lam-1e-2": _paper(lam=1e-2),
    "window-1000-lam-1e-2": _paper(reference="window", window=1000, lam=1e-2),
    # warm-up length
    "warmup-0": _paper(warmup=0),
    "warmup-500": _paper(warmup=500),
    # the output: one minus the weighted geometric mean of conformal tail p-values, which keeps
    # how far into its tail each detector's score lies (a quantile caps it at 1)
    "tail": _paper(output="tail"),
    "tail-eta-0": _paper(output="tail", eta=0.0),
    "tail-consensus-eta-0.02": _paper(output="tail", loss="consensus", eta=0.02),
    "tail-consensus-eta-0.1": _paper(output="tail", loss="consensus", eta=0.1),
    "tail-gated-eta-0.02": _paper(output="tail", loss="gated", eta=0.02),
    "tail-gated-eta-0.05": _paper(output="tail", loss="gated", eta=0.05),
    "tail-gated-eta-0.1": _paper(output="tail", loss="gated", eta=0.1),
    "tail-gated-eta-0.02-tdigest": _paper(
        output="tail", loss="gated", eta=0.02, reference="tdigest"
    ),
    "tail-gated-eta-0.02-window-5000": _paper(
        output="tail", loss="gated", eta=0.02, reference="window", window=5000
    ),
    "tail-consensus-eta-0.02-tdigest": _paper(
        output="tail", loss="consensus", eta=0.02, reference="tdigest"
    ),
    # SEAD's defaults with another loss (see sead.weights), the sleeping-experts step,
    # the resetting t-digest reference, and their combinations
    "loss-gated-sleep": {"loss": "gated-sleep"},
    "loss-gated-weighted": {"loss": "gated-weighted"},
    "loss-gated-loo": {"loss": "gated-loo"},
    "loss-gated-loo-weighted": {"loss": "gated-loo-weighted"},
    "loss-gated-median": {"loss": "gated-median"},
    "loss-agree": {"loss": "agree"},
    "loss-agree-awake": {"loss": "agree-awake"},
    "loss-agree-weighted": {"loss": "agree-weighted"},
    "loss-agree-eta-0.01": {"loss": "agree", "eta": 0.01},
    "loss-agree-eta-0.05": {"loss": "agree", "eta": 0.05},
    "reset": {"reference": "tdigest-reset"},
    "reset-gated-sleep": {"reference": "tdigest-reset", "loss": "gated-sleep"},
    "reset-gated-weighted": {"reference": "tdigest-reset", "loss": "gated-weighted"},
    "reset-gated-median": {"reference": "tdigest-reset", "loss": "gated-median"},
    "reset-agree": {"reference": "tdigest-reset", "loss": "agree"},
    "reset-agree-weighted": {"reference": "tdigest-reset", "loss": "agree-weighted"},
    "reset-agree-eta-0.05": {"reference": "tdigest-reset", "loss": "agree", "eta": 0.05},
    "loss-agree-eta-0.03": {"loss": "agree", "eta": 0.03},
}

#: SEAD++ variants: name -> extra keyword arguments for ``SEADPlusPlus``.
PLUS_VARIANTS: dict[str, dict] = {
    "pp-default": {},
    "pp-m3": {"n_sampled": 3},
    "pp-m9": {"n_sampled": 9},
    "pp-learn-all": {"learn_unsampled": True},
    "pp-every-1": {"resample_every": 1},
    "pp-every-50": {"resample_every": 50},
    "pp-every-1000": {"resample_every": 1000},
    # the sleeping-experts step (an unsampled detector keeps its share)
    "pp-sleep": {"loss": "gated-sleep"},
    "pp-sleep-learn-all": {"loss": "gated-sleep", "learn_unsampled": True},
    "pp-agree": {"loss": "agree"},
    "pp-reset": {"reference": "tdigest-reset"},
}

#: The variant the benchmark's ``SEAD`` (and ``SEAD++``, ``mean``, ``max``) methods use.
SEAD_VARIANT = "default"

#: Variants evaluated when ``--variant`` is not given: every cached-matrix SEAD variant.
DEFAULT_SELECTION: tuple[str, ...] = tuple(VARIANTS)


def _defaults(cls) -> dict:
    sig = inspect.signature(cls.__init__)
    skip = {"self", "detectors", "seed", "prior"}
    return {
        k: p.default
        for k, p in sig.parameters.items()
        if k not in skip and p.default is not inspect._empty
    }


def sead_params(name: str) -> dict:
    """Full keyword arguments of a SEAD variant: ``SEAD``'s defaults updated by the variant.

    Parameters
    ----------
    name
        A key of :data:`VARIANTS`.

    Returns
    -------
    dict
        Keyword arguments for :class:`sead.SEAD`.

    Examples
    --------
    >>> p = sead_params("paper")
    >>> p["reference"], p["eta"], p["lam"], p["warmup"], p["loss"]
    ('exact', 1.0, 1e-06, 100, 'score')
    """
    from ..ensemble import SEAD

    if name not in VARIANTS:
        raise KeyError(f"unknown SEAD variant {name!r}; known: {', '.join(VARIANTS)}")
    out = _defaults(SEAD)
    out.update(VARIANTS[name])
    return out


def plus_params(name: str, base: str | None = None) -> dict:
    """Full keyword arguments of a SEAD++ variant (on top of SEAD variant ``base``).

    Parameters
    ----------
    name
        A key of :data:`PLUS_VARIANTS`.
    base
        The SEAD variant underneath (default :data:`SEAD_VARIANT`).

    Returns
    -------
    dict
        Keyword arguments for :class:`sead.SEADPlusPlus`.
    """
    from ..ensemble import SEADPlusPlus

    if name not in PLUS_VARIANTS:
        raise KeyError(f"unknown SEAD++ variant {name!r}; known: {', '.join(PLUS_VARIANTS)}")
    out = _defaults(SEADPlusPlus)
    out.update(sead_params(SEAD_VARIANT if base is None else base))
    out.update(PLUS_VARIANTS[name])
    return out


def select(names: list[str] | None) -> tuple[list[str], list[str]]:
    """Resolve ``--variant`` values into (SEAD variants, SEAD++ variants).

    ``None`` (no ``--variant``) selects :data:`DEFAULT_SELECTION`; ``"all"`` selects every
    variant of both kinds; ``"none"`` selects nothing. Comma-separated values are split.

    Parameters
    ----------
    names
        The ``--variant`` values, or ``None``.

    Returns
    -------
    tuple
        ``(SEAD variant names, SEAD++ variant names)``.
    """
    if names is None:
        return list(DEFAULT_SELECTION), []
    flat = [n.strip() for item in names for n in item.split(",") if n.strip()]
    if "all" in flat:
        return list(VARIANTS), list(PLUS_VARIANTS)
    if flat == ["none"]:
        return [], []
    sead_v, plus_v = [], []
    for n in flat:
        if n in VARIANTS:
            if n not in sead_v:
                sead_v.append(n)
        elif n in PLUS_VARIANTS:
            if n not in plus_v:
                plus_v.append(n)
        else:
            known = ", ".join(list(VARIANTS) + list(PLUS_VARIANTS))
            raise KeyError(f"unknown variant {n!r}; known: all, none, {known}")
    return sead_v, plus_v


def describe(params: dict) -> str:
    """A short human-readable form of a variant's settings, for tables.

    Parameters
    ----------
    params
        A variant's keyword arguments.

    Returns
    -------
    str
        ``"key=value, ..."`` for the settings that tables show.
    """
    keys = [
        "reference",
        "window",
        "loss",
        "output",
        "eta",
        "lam",
        "warmup",
        "n_sampled",
        "learn_unsampled",
        "resample_every",
    ]
    parts = []
    for k in keys:
        if k in params and not (k == "window" and params[k] is None):
            v = params[k]
            parts.append(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}")
    return ", ".join(parts)
