"""``python -m sead.bench`` — same as the ``sead-bench`` command."""

from .cli import main

raise SystemExit(main())
