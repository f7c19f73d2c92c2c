"""Entry point: ``python -m training.seals_alt``."""

from training.seals_alt.dataset import main

raise SystemExit(main())
