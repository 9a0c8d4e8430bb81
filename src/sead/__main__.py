"""``python -m sead``: the ``sead`` command (:mod:`sead.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":  # pragma: no cover - run as a program
    sys.exit(main())
