"""Entry script for the frozen app: the same `tilik` command, frozen.

With no display, Qt would abort a frozen app at start-up; commands that need no window
(self-test, classify, packs, log ...) therefore run with the offscreen platform forced.
"""

import os
import sys

if len(sys.argv) > 1 and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from tilik.cli import main  # noqa: E402

sys.exit(main())
