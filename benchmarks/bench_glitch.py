"""The recovery of every detector from one glitch row (the figures of docs/reliability.md).

    python benchmarks/bench_glitch.py

Runs the child process of ``tests/test_glitch_rows.py`` for each detector (defaults, 4 features):
2,000 normal rows, one glitch row, 20,000 normal rows, then 5,000 rows with planted 6-sd
anomalies; prints the prequential ROC AUC on those with and without the glitch, and whether
hostile finite rows (up to the float limit) were all scored finite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_glitch_rows import _CHILD, DETECTORS, GLITCHES  # noqa: E402


def run(name: str, what: str, arg) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, name, what, json.dumps(arg)],
        capture_output=True,
        text=True,
        timeout=1200,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    print("| detector | no glitch | " + " | ".join(GLITCHES) + " | hostile rows finite |")
    print("|---" * (len(GLITCHES) + 3) + "|")
    for name in DETECTORS:
        res, fin = run(name, "recovery", GLITCHES), run(name, "bounded", None)
        cells = " | ".join(f"{res['glitch'][g]:.3f}" for g in GLITCHES)
        print(
            f"| {name} | {res['clean']:.3f} | {cells} | {'yes' if fin['finite'] else 'NO'} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
