"""Every parameter of every public class is validated by the one declarative mechanism.

As scikit-learn's ``check_param_validation``: for each public class, its
``_parameter_constraints`` name exactly the parameters of its ``__init__``, its defaults satisfy
them, and a value of the wrong kind for any one parameter is refused by a ``ValueError`` that
starts with the parameter's name — both by :func:`sead._params.validate_params` and at the
model's first use (``__init__`` only stores, so that is where a user meets the error).
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest

from sead._params import validate_params

MODULES = [
    "sead",
    "sead.detectors",
    "sead.normalization",
    "sead.compat",
    "sead.alerting",
    "sead.sklearn",
    "sead.telemetry",
]


def _public_classes() -> dict[str, type]:
    out = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr)
            if not inspect.isclass(obj) or not obj.__module__.startswith("sead"):
                continue
            if inspect.isabstract(obj) or attr.startswith("_"):
                continue
            sig = _signature(obj)
            if not sig:
                continue  # a result record, not something a user configures
            out[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return dict(sorted(out.items()))


def _signature(cls) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [
        p.name
        for p in params
        if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]


# records returned by the library (fields, not settings): nothing for a user to validate
RECORDS = {"sead.combiner.CombineResult", "sead.telemetry.monitor.Problem"}

CLASSES = {k: v for k, v in _public_classes().items() if k not in RECORDS}


def _river_model():
    from river import anomaly

    return anomaly.HalfSpaceTrees(seed=0)


def _pysad_model():
    pysad = pytest.importorskip("pysad.models")
    return pysad.xStream()


def _estimator():
    from sklearn.ensemble import IsolationForest

    return IsolationForest(n_estimators=5, random_state=0)


# classes whose __init__ has a required argument: how to make one
REQUIRED = {
    "RiverDetector": lambda cls: cls(_river_model()),
    "PySADDetector": lambda cls: cls(_pysad_model()),
    "SklearnWindowDetector": lambda cls: cls(_estimator()),
}


def _make(cls):
    return REQUIRED[cls.__name__](cls) if cls.__name__ in REQUIRED else cls()


class _Wrong:
    """A value of no kind any parameter accepts."""

    def __repr__(self) -> str:
        return "<wrong>"


# a wrapped third-party model is checked by duck typing at first use (a TypeError that names
# what was expected), not by its constraint, which accepts any object
DUCK_TYPED = {
    ("RiverDetector", "model"),
    ("PySADDetector", "model"),
    ("SklearnWindowDetector", "estimator"),
}


def _cases(*, duck_typed=True):
    for name, cls in CLASSES.items():
        for param in _signature(cls):
            if duck_typed or (cls.__name__, param) not in DUCK_TYPED:
                yield pytest.param(cls, param, id=f"{name}.{param}")


def test_the_classes_are_found():
    names = {cls.__name__ for cls in CLASSES.values()}
    for expected in ("SEAD", "SEADPlusPlus", "KeyedSEAD", "HalfSpaceTrees", "TDigestQuantile"):
        assert expected in names


@pytest.mark.parametrize("cls", list(CLASSES.values()), ids=list(CLASSES))
def test_constraints_name_exactly_the_signature(cls):
    constraints = getattr(cls, "_parameter_constraints", None)
    assert constraints is not None, f"{cls.__name__} has no _parameter_constraints"
    assert set(constraints) == set(_signature(cls))


@pytest.mark.parametrize("cls", list(CLASSES.values()), ids=list(CLASSES))
def test_the_defaults_are_valid(cls):
    validate_params(_make(cls))


# (the duck-typed model arguments are checked at first use, by the case after this one)
@pytest.mark.parametrize("cls, param", list(_cases(duck_typed=False)))
def test_a_wrong_value_is_refused_by_name(cls, param):
    obj = _make(cls)
    params = {p: getattr(obj, p) for p in _signature(cls)}
    params[param] = _Wrong()
    with pytest.raises(ValueError, match=rf"^{param} must be .*, got <wrong>$"):
        validate_params(obj, params)


def _first_use(obj):
    """What a user does first with ``obj`` (where the parameters are checked)."""
    from sead import KeyedSEAD
    from sead.alerting import AlertSignal
    from sead.normalization import QuantileReference
    from sead.telemetry import AlertPolicy, Monitor

    X = np.random.default_rng(0).normal(size=(4, 2))
    if isinstance(obj, KeyedSEAD):
        obj.learn_many(["a", "b", "a", "b"], X, times=np.arange(4.0))
    elif isinstance(obj, AlertSignal):
        obj.allocate(1)
    elif isinstance(obj, QuantileReference):
        obj.allocate(2)
    elif isinstance(obj, Monitor):
        obj.process({"agent": "a", "ts": 0.0, "cpu": 0.5})
    elif isinstance(obj, AlertPolicy):  # used by a Monitor, which checks it at its first record
        Monitor(key="key", time="ts", policy=obj).process({"key": "a", "ts": 0.0, "cpu": 0.5})
    elif hasattr(obj, "fit") and not hasattr(obj, "learn_many"):
        obj.fit(X)
    else:
        obj.learn_many(X)


def _set(obj, param, value):
    if hasattr(obj, "set_params") and not inspect.isclass(obj):
        try:
            obj.set_params(**{param: value})
            return obj
        except (TypeError, ValueError):
            pass
    setattr(obj, param, value)
    return obj


@pytest.mark.parametrize("cls, param", list(_cases()))
def test_a_wrong_value_is_refused_at_first_use(cls, param):
    obj = _set(_make(cls), param, _Wrong())
    if (cls.__name__, param) in DUCK_TYPED:
        with pytest.raises(TypeError, match=rf"^{cls.__name__} expects .*; got .*_Wrong$"):
            _first_use(obj)
        return
    with pytest.raises(ValueError, match=rf"{param} must be .*, got <wrong>"):
        _first_use(obj)


# one name per idea (issue 8): the former names, accepted for one release with a warning
RENAMED = [
    ("HalfSpaceTrees", "window_size", "window", 64),
    ("HalfSpaceTrees", "n_warmup", "warmup", 30),
    ("IForestASD", "window_size", "window", 64),
    ("IForestASD", "n_estimators", "n_trees", 7),
    ("XStream", "window_size", "window", 64),
    ("XStream", "num_components", "n_components", 12),
    ("RSHash", "warm_up", "warmup", 30),
    ("RRCF", "time_decay", "decay", 0.1),
]


@pytest.mark.parametrize(
    "name, old, new, value", RENAMED, ids=[f"{c}.{o}" for c, o, _, _ in RENAMED]
)
def test_a_former_name_still_works_with_a_deprecation_warning(name, old, new, value):
    import sead.detectors

    cls = getattr(sead.detectors, name)
    with pytest.warns(
        DeprecationWarning, match=rf"^{name}\({old}=\.\.\.\) is deprecated: use {new}="
    ):
        former = cls(**{old: value})
    current = cls(**{new: value})
    assert getattr(former, new) == value
    assert former.get_params() == current.get_params()
    assert old not in former.get_params()
    X = np.random.default_rng(3).normal(size=(150, 3))
    np.testing.assert_array_equal(former.score_learn_many(X), current.score_learn_many(X))


# the classes that take **kwargs (their former parameter names); Python refuses an unknown
# keyword of the others itself
WITH_KWARGS = {
    k: c for k, c in CLASSES.items() if "kwargs" in inspect.signature(c.__init__).parameters
}


@pytest.mark.parametrize("cls", list(WITH_KWARGS.values()), ids=list(WITH_KWARGS))
def test_an_unknown_keyword_is_a_type_error(cls):
    args = _required_args(cls) if cls.__name__ in REQUIRED else {}
    with pytest.raises(TypeError, match="unexpected keyword argument 'no_such_parameter'"):
        cls(**args, no_such_parameter=1)


def _required_args(cls):
    return {
        "RiverDetector": {"model": _river_model()},
        "SklearnWindowDetector": {"estimator": _estimator()},
        "PySADDetector": {"model": _pysad_model()},
    }[cls.__name__]


def test_get_params_deep_gives_the_inner_objects_parameters():
    from sead import SEAD
    from sead.compat import SklearnWindowDetector
    from sead.normalization import ExactQuantile

    det = SklearnWindowDetector(_estimator(), window=64)
    shallow, deep = det.get_params(), det.get_params(deep=True)
    assert set(shallow) < set(deep)
    assert deep["estimator__n_estimators"] == 5 and deep["window"] == 64
    m = SEAD(reference=ExactQuantile(window=50))
    assert m.get_params(deep=True)["reference__window"] == 50
    assert "detectors__0" not in m.get_params(deep=True)  # lists are not descended into


def test_set_params_forgets_what_was_learned():
    from sead.detectors import HalfSpaceTrees

    X = np.random.default_rng(0).normal(size=(300, 3))
    det = HalfSpaceTrees(seed=1)
    det.learn_many(X)
    det.set_params(n_trees=5)
    fresh = HalfSpaceTrees(seed=1, n_trees=5)
    assert det.get_params() == fresh.get_params()
    np.testing.assert_array_equal(det.score_learn_many(X), fresh.score_learn_many(X))
    with pytest.raises(ValueError, match="invalid parameter 'bogus'"):
        det.set_params(bogus=1)


def test_the_sead_family_shares_one_set_of_defaults():
    """SEADPlusPlus, KeyedSEAD and the scikit-learn face each spell out the ensemble's
    parameters (scikit-learn's contract: explicit keyword arguments, no ``**kwargs``; their
    constraints are SEADPlusPlus's own dict); every parameter they take from SEADPlusPlus has
    SEADPlusPlus's default, so the copies cannot drift apart."""
    from sead import SEAD, KeyedSEAD, SEADPlusPlus
    from sead.sklearn import SEADDetector

    def defaults(cls):
        params = inspect.signature(cls.__init__).parameters.items()
        return {k: p.default for k, p in params if k != "self"}

    plus = defaults(SEADPlusPlus)
    assert set(plus) - set(defaults(SEAD)) == {"n_sampled", "learn_unsampled", "resample_every"}
    assert {k: plus[k] for k in defaults(SEAD)} == defaults(SEAD)
    # the scikit-learn face takes arrays (no missing/extra) and calls the seed random_state
    for cls, not_taken in [(KeyedSEAD, set()), (SEADDetector, {"seed", "missing", "extra"})]:
        theirs = defaults(cls)
        assert set(plus) - set(theirs) == not_taken, cls
        assert {k: theirs[k] for k in set(plus) - not_taken} == {
            k: plus[k] for k in set(plus) - not_taken
        }, cls
