"""The check suite of :mod:`sead.checks` on every model sead ships, one test case per check.

For every detector class (``tests/_models.py``: what :mod:`sead.detectors` exports, every public
``Detector`` subclass of its modules, and ``SEAD``, ``SEADPlusPlus``), for each parameter set of
its ``_unit_test_params()`` and for its defaults (when the class can be built without
arguments and the defaults are not already one of those sets), each check that
:func:`sead.checks.yield_checks` yields for that model is its own case, with an id such as
``HalfSpaceTrees-0-check_pickle_roundtrip`` or ``LODA-defaults-check_bad_input``: one failing
check does not hide the others (as scikit-learn's ``tests/test_common.py`` and River's
``test_estimators.py``). Checks a model declares in ``_unit_test_skips`` are not yielded.
"""

from __future__ import annotations

import os

import pytest

from sead import checks
from sead.compat.pysad import PySADDetector
from sead.detectors.hst import HalfSpaceTrees

from ._models import MODEL_CLASSES, param_sets

DEFAULTS = "defaults"


def _configurations(cls) -> list[tuple[str, dict]]:
    """``(label, params)``: ``("0", ...)``, ``("1", ...)`` … then ``("defaults", {})``."""
    sets = param_sets(cls)
    out = [(str(i), params) for i, params in enumerate(sets)]
    if {} not in sets:
        try:
            cls()
        except TypeError:  # a required argument (an adapter's model): no defaults to check
            pass
        else:
            out.append((DEFAULTS, {}))
    return out


def _cases():
    """``(class, label, check name)`` for every check of every configuration. A class whose
    parameter sets cannot even build a model gets one case that fails with the error; one with
    no parameter set at all (and no defaults) gets one case that says so."""
    out = []
    for cls in MODEL_CLASSES:
        try:
            configs = _configurations(cls)
            models = [(label, cls(**params)) for label, params in configs]
        except Exception as e:
            why = f"_unit_test_params raised {type(e).__name__}: {e}"
            out.append(pytest.param(cls, "params", why, id=f"{cls.__name__}-params"))
            continue
        if not models:
            why = "no parameter set to check"
            out.append(pytest.param(cls, "params", why, id=f"{cls.__name__}-params"))
        for label, model in models:
            for check in checks.yield_checks(model):
                name = check.__name__
                out.append(pytest.param(cls, label, name, id=f"{cls.__name__}-{label}-{name}"))
    return out


@pytest.mark.parametrize(("cls", "label", "check_name"), _cases())
def test_check(cls, label, check_name):
    """One check of :mod:`sead.checks` on one configuration of one model."""
    if label == "params":
        if cls is PySADDetector and check_name == "no parameter set to check":
            # PySAD is optional: without it PySADDetector has nothing to wrap
            msg = "PySAD is not installed: pip install -e '.[test]' (or pip install pysad)"
            if os.environ.get("CI"):
                pytest.fail(msg)
            pytest.skip(msg)
        pytest.fail(f"{cls.__name__}: {check_name}")
    model = cls(**dict(_configurations(cls))[label])
    found = [check for check in checks.yield_checks(model) if check.__name__ == check_name]
    assert len(found) == 1, f"{check_name} is not one check of {cls.__name__}'s suite"
    found[0](model)


def test_every_check_is_run_somewhere():
    """Each check of the suite applies to at least one model (none is dead code), and every
    model gets at least the checks that no class skips."""
    applied = {name for _, _, name in (p.values for p in _cases())}
    assert {c.__name__ for c in checks._CHECKS} <= applied
    never_skipped = {
        "check_scores_finite",
        "check_batch_equals_one_by_one",
        "check_pickle_roundtrip",
        "check_bad_input",
        "check_key_order_does_not_matter",
    }
    for cls in MODEL_CLASSES:
        for _, params in _configurations(cls):
            names = {c.__name__ for c in checks.yield_checks(cls(**params))}
            assert never_skipped <= names, (cls.__name__, params, never_skipped - names)


def test_yield_checks_honours_unit_test_skips():
    class Skipping(HalfSpaceTrees):
        def _unit_test_skips(self):
            return super()._unit_test_skips() | {"check_bounded_memory"}

    names = [c.__name__ for c in checks.yield_checks(Skipping(seed=1))]
    assert "check_bounded_memory" not in names
    assert names == [c.__name__ for c in checks._CHECKS if c.__name__ != "check_bounded_memory"]


def test_check_detector_runs_the_whole_suite():
    """``check_detector`` (what a detector's author runs) is every check of ``yield_checks``."""
    calls = []
    model = HalfSpaceTrees(**param_sets(HalfSpaceTrees)[0])
    with pytest.MonkeyPatch.context() as mp:
        wrapped = []
        for check in checks._CHECKS:

            def spy(detector, _check=check):
                calls.append(_check.__name__)
                return _check(detector)

            spy.__name__ = check.__name__
            wrapped.append(spy)
        mp.setattr(checks, "_CHECKS", wrapped)
        checks.check_detector(model)
    assert calls == [c.__name__ for c in checks.yield_checks(model)]
    assert len(calls) == len(checks._CHECKS)


def test_key_order_check_catches_a_detector_that_reads_dicts_by_position():
    """The key-order check fails on a detector that takes a dict's values in insertion order."""

    class ByPosition(HalfSpaceTrees):
        def score_one(self, x):
            return super().score_one(list(x.values()) if isinstance(x, dict) else x)

        def learn_one(self, x):
            return super().learn_one(list(x.values()) if isinstance(x, dict) else x)

    model = ByPosition(n_trees=5, height=6, window=50, seed=1)
    with pytest.raises(AssertionError, match="shuffled keys"):
        checks.check_key_order_does_not_matter(model)
