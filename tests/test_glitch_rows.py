"""Hostile but finite values: any finite row, up to the float limit, is scored in bounded time with
a finite score, and one such glitch row does not blind a detector for long.

For every compiled detector at its defaults (and SEAD), each case runs in a child process with
a time limit, because a kernel that loops forever holds the GIL and could not be interrupted
from the test process.

* ``bounded``: after 300 normal rows, rows holding huge values (one feature or every feature,
  either sign, up to ``np.finfo(float).max``), tiny values and mixtures are learned and scored;
  every score is finite and the whole case finishes within the limit.
* ``recovery``: a stream of normal rows with planted 6-sd anomalies is run twice, once with a
  single glitch row after the warm-up; over the 5,000 rows that follow 20,000 normal rows after
  the glitch, the prequential ROC AUC on the planted anomalies is back within 0.05 of the run
  without it.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

DETECTORS = [
    "HalfSpaceTrees",
    "XStream",
    "IForestASD",
    "RSHash",
    "LODA",
    "RRCF",
    "ZScoreRule",
    "SEAD",
]
FMAX = float(np.finfo(float).max)
ROOT = Path(__file__).resolve().parent.parent
GLITCHES = {
    "1e3 one": (1e3, "one"),
    "1e12 one": (1e12, "one"),
    "1e100 all": (1e100, "all"),
    "-1e300 one": (-1e300, "one"),
    "max all": (FMAX, "all"),
    "-max one": (-FMAX, "one"),
}

_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from sklearn.metrics import roc_auc_score
    import sead.detectors as D
    from sead import SEAD
    from tests._glitch import planted, with_glitch

    name, what, arg = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    make = (lambda: SEAD()) if name == "SEAD" else getattr(D, name)
    d = 4
    if what == "bounded":
        rng = np.random.default_rng(0)
        m = make()
        m.learn_many(rng.normal(size=(300, d)))
        fmax = float(np.finfo(float).max)
        rows = []
        for v in (fmax, -fmax, 1e308, 1.2e308, 1e300, 1e100, 1e12, 5e-324, -1e-300):
            rows.append(np.full(d, v))
            one = np.zeros(d); one[1] = v; rows.append(one)
        mix = np.array([fmax, -fmax, 0.0, 1e-300]); rows.append(mix)
        scores = []
        for r in rows:
            scores.append(m.score_one(r))
            m.learn_one(r)
            scores.append(m.score_one(r))
            scores.append(m.score_one(rng.normal(size=d)))
        scores += list(m.score_learn_many(np.vstack(rows)))
        scores += list(m.score_learn_many(rng.normal(size=(50, d))))
        print(json.dumps({"finite": bool(np.isfinite(scores).all()), "n": len(scores)}))
    else:
        n_warm = 2000
        X, y, start = planted(np.random.default_rng(1), n_warm, 20000, 5000, d)

        def auc_of(data):
            s = make().score_learn_many(data)
            return float(roc_auc_score(y[start:], s[start:]))

        out = {"clean": auc_of(X), "glitch": {}}
        for label, (value, where) in arg.items():
            out["glitch"][label] = auc_of(with_glitch(X, n_warm, value, where))
        print(json.dumps(out))
    """
)


def _run(name, what, arg=None, timeout=240):
    env = dict(os.environ)  # the child imports tests._glitch from the checkout
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD, name, what, json.dumps(arg)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(
            f"{name}: the {what} case did not finish in {timeout} s (a kernel that never returns?)"
        )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("name", DETECTORS)
def test_any_finite_row_is_scored_finite_in_bounded_time(name):
    res = _run(name, "bounded")
    assert res["finite"], f"{name} gave a non-finite score on a finite row"


@functools.lru_cache(maxsize=None)
def _recovery(name):
    return _run(name, "recovery", GLITCHES, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("glitch", list(GLITCHES))
@pytest.mark.parametrize("name", DETECTORS)
def test_one_glitch_row_does_not_blind_the_detector(name, glitch):
    res = _recovery(name)
    auc = res["glitch"][glitch]
    assert auc >= res["clean"] - 0.05, (
        f"{name} after one {glitch} row: AUC {auc:.3f} vs {res['clean']:.3f} without it"
    )
