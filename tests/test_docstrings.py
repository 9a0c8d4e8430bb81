"""Every public docstring of sead parses with numpydoc and agrees with its signature.

The objects: the packages ``sead``, ``sead.detectors``, ``sead.normalization``, ``sead.compat``,
``sead.telemetry``, ``sead.datasets``, ``sead.bench``, ``sead.pools``, ``sead.checks`` and
every public module under them (no ``_`` in the dotted name); in each module, the names of its
``__all__`` (else its public names defined there) that are classes or functions of sead; in each
class, the public methods and properties that a sead class defines. One test case per object,
with the object's dotted name as its id (as scikit-learn's ``test_docstring_parameters.py``).

What is checked, with ``numpydoc.docscrape`` and ``numpydoc.validate``:

* the object has a docstring, and numpydoc parses it without a warning (no unknown section, no
  bad underline);
* the sections are numpydoc's and in its order (Parameters ... Notes, References, Examples);
* the documented parameters are the signature's, by name and in order (``*args`` and
  ``**kwargs`` with their stars). A class (``__init__``, or a dataclass's fields) or a
  module-level function that takes parameters must document them all under Parameters; a
  method or property may have a summary only, but if it has a Parameters section, the section
  lists every parameter;
* one dialect: an entry of Parameters, Other Parameters or Attributes is the name alone on its
  line (``name``, or ``a, b`` for several), its description indented below; types and defaults
  are in the signature and, where they need words, in the description.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import warnings

import pytest
from numpydoc import docscrape
from numpydoc.validate import get_doc_object, validate

ROOTS = [
    "sead",
    "sead.detectors",
    "sead.normalization",
    "sead.compat",
    "sead.telemetry",
    "sead.datasets",
    "sead.bench",
    "sead.pools",
    "sead.checks",
]

# Objects whose docstrings are known to fail while their module is being changed, as
# {dotted name: reason}: each case is then an expected failure; remove the entry once it passes
# (the run reports XPASS). Empty: every public docstring passes.
PENDING: dict[str, str] = {}

# Codes of numpydoc.validate this test enforces (see the module docstring).
SECTION_CODES = {"GL06", "GL07"}
PARAMETER_CODES = {"PR01", "PR02", "PR03", "PR10"}


def _modules() -> dict[str, object]:
    out = {}
    for root in ROOTS:
        module = importlib.import_module(root)
        out[root] = module
        for info in pkgutil.walk_packages(getattr(module, "__path__", []), root + "."):
            if any(part.startswith("_") for part in info.name.split(".")):
                continue
            out[info.name] = importlib.import_module(info.name)
    return out


def _public_names(module) -> list[str]:
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        n
        for n, o in vars(module).items()
        if not n.startswith("_") and getattr(o, "__module__", None) == module.__name__
    ]


def _members(cls):
    """(dotted name, object, kind) of the public methods and properties sead defines on ``cls``."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith("sead"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_"):
                continue
            if isinstance(attr, property):
                yield f"{klass.__module__}.{klass.__qualname__}.{name}", attr, "property"
            elif isinstance(attr, (staticmethod, classmethod)) or inspect.isfunction(attr):
                method = getattr(klass, name)
                yield f"{klass.__module__}.{klass.__qualname__}.{name}", method, "method"


def _objects() -> dict[str, tuple[object, str]]:
    """Dotted name -> (object, kind), kind one of module, class, function, method, property."""
    out: dict[str, tuple[object, str]] = {}
    for mod_name, module in _modules().items():
        out[mod_name] = (module, "module")
        for name in _public_names(module):
            obj = getattr(module, name, None)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue  # constants: their documentation is the module's
            if not getattr(obj, "__module__", "").startswith("sead"):
                continue
            key = f"{obj.__module__}.{obj.__qualname__}"
            out[key] = (obj, "class" if inspect.isclass(obj) else "function")
            if inspect.isclass(obj):
                for member, attr, kind in _members(obj):
                    out.setdefault(member, (attr, kind))
    return dict(sorted(out.items()))


OBJECTS = _objects()


def _doc_object(obj, kind):
    if kind == "property":
        return docscrape.ObjDoc(obj, inspect.getdoc(obj) or "", config={})
    return get_doc_object(obj, config={"show_class_members": False})


def _problems(name: str, obj, kind: str) -> list[str]:
    raw = inspect.getdoc(obj.fget if kind == "property" else obj)
    if not raw:
        return ["no docstring"]
    out = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = docscrape.NumpyDocString(raw)
        except Exception as e:  # numpydoc raises on some malformed sections
            return [f"numpydoc cannot parse it: {type(e).__name__}: {e}"]
    out += [f"numpydoc warns: {w.message}" for w in caught]

    if kind == "module":  # the parse (above) is what applies to a module's docstring
        return out
    target = obj.fget if kind == "property" else obj
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = validate(_doc_object(target, kind))
    params_documented = bool(parsed["Parameters"] or parsed["Other Parameters"])
    for code, msg in result["errors"]:
        if code in SECTION_CODES:
            out.append(f"{code} {msg}")
        elif code in PARAMETER_CODES and kind != "property":
            if kind in ("class", "function") or params_documented:
                if (
                    code == "PR01"
                    and kind == "class"
                    and dataclasses.is_dataclass(obj)
                    and not params_documented
                ):
                    continue  # checked below, against the Attributes section
                out.append(f"{code} {msg}")

    if kind == "class" and dataclasses.is_dataclass(obj) and not params_documented:
        fields = [f.name for f in dataclasses.fields(obj) if f.init]
        documented = [n.strip() for p in parsed["Attributes"] for n in p.name.split(",")]
        if documented[: len(fields)] != fields:
            out.append(
                f"dataclass fields {fields} are not documented in order under Parameters "
                f"or Attributes (Attributes lists {documented})"
            )

    for section in ("Parameters", "Other Parameters", "Attributes"):
        for p in parsed[section]:
            if p.type.strip():
                out.append(
                    f"{section}: {p.name!r} has a type ({p.type!r}): write the name alone "
                    "on its line, the type (when the signature does not say it) in the "
                    "description"
                )
    return out


def _cases() -> list:
    out = []
    for name in OBJECTS:
        marks = []
        if name in PENDING:
            marks.append(pytest.mark.xfail(reason=PENDING[name], strict=False))
        out.append(pytest.param(name, id=name, marks=marks))
    return out


@pytest.mark.parametrize("name", _cases())
def test_docstring(name):
    obj, kind = OBJECTS[name]
    problems = _problems(name, obj, kind)
    assert not problems, f"{kind} {name}:\n  " + "\n  ".join(problems)


def test_the_public_api_is_covered():
    """The collection finds what a user imports (so an empty or broken collection cannot pass)."""
    for name in [
        "sead.ensemble.SEAD",
        "sead.ensemble.SEAD.score_learn_many",
        "sead.pools.paper",
        "sead.detectors.hst.HalfSpaceTrees",
        "sead.compat.pysad.PySADDetector",
        "sead.datasets.tasks.load_shuttle",
        "sead.checks.check_detector",
        "sead.telemetry.monitor.Monitor",
        "sead.normalization.make_reference",
        "sead.bench.runner.BenchConfig",
        "sead.base.Detector.score_one",
    ]:
        assert name in OBJECTS, name
    assert len(OBJECTS) > 300
    assert all(name in OBJECTS for name in PENDING), set(PENDING) - set(OBJECTS)


def test_the_checks_catch_what_the_issue_names():
    """A free paragraph between two parameters, an ``(others)`` entry, a typed entry and a
    parameter missing from the docs are each reported."""

    def f(a, b, c):
        """Summary.

        Parameters
        ----------
        a
            First.

        A free paragraph about the defaults.
        b
            Second.
        (others)
            As elsewhere.
        c : int
            Third.
        """

    problems = "\n".join(_problems("f", f, "function"))
    assert "PR02" in problems and "free paragraph" in problems.lower() or "A free" in problems
    assert "(others)" in problems
    assert "'c' has a type" in problems

    def g(a, b):
        """Summary.

        Parameters
        ----------
        a
            First.
        """

    assert any(p.startswith("PR01") for p in _problems("g", g, "function"))
    assert _problems("h", lambda: None, "function") == ["no docstring"]


def _init_parameters(cls) -> set[str]:
    try:
        return set(inspect.signature(cls.__init__).parameters)
    except (TypeError, ValueError):  # a builtin's __init__ (an exception class)
        return set()


def _policy_cases() -> list:
    objects = _objects()
    return sorted(
        name
        for name, (obj, kind) in objects.items()
        if kind == "class"
        and {"missing", "extra"} & _init_parameters(obj)
        and {"missing", "extra"} & set(getattr(obj, "_parameter_constraints", {}))
    )


@pytest.mark.parametrize("name", _policy_cases())
def test_the_input_policies_are_documented_in_one_wording(name):
    """``missing`` and ``extra`` mean the same for every model: each docstring gives
    :data:`sead.base.POLICY_DOCS`'s text, or points to a class that does ("As for :class:`...`")."""
    from sead.base import POLICY_DOCS

    obj, _ = _objects()[name]
    described = {}
    for p in docscrape.ClassDoc(obj)["Parameters"]:
        for n in p.name.split(", "):
            described[n] = " ".join(" ".join(p.desc).split())
    for param in sorted({"missing", "extra"} & _init_parameters(obj)):
        desc = described[param]
        pointer = desc.lower().startswith(("as in :class:", "as for :class:", "as :class:"))
        assert desc == POLICY_DOCS[param] or pointer, f"{name} documents {param!r} as: {desc}"
