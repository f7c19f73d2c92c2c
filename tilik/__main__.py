"""``python -m tilik`` is the same as the ``tilik`` command."""

from tilik.cli import main

raise SystemExit(main())
