"""Is there a screen to open the desktop app on? Checked before Qt is imported.

Without a display Qt's xcb plugin aborts the process (a core dump) with a message that tells the
user to reinstall the application, which is wrong: nothing is broken, there is just no screen (an
SSH session, a server, a container). ``tilik`` with no arguments asks :func:`display_problem`
first and, when there is no display, exits with code 2 and says what to do instead.
"""

from __future__ import annotations

import os
import sys
from typing import Mapping

# Qt platform plugins that draw without a display server.
HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "minimalegl", "eglfs", "linuxfb", "vnc", "vkkhrdisplay"})


def display_problem(env: Mapping[str, str] | None = None, platform: str | None = None) -> str | None:
    """Why the window cannot open here, in plain words, or None when it can (or when the system
    is not one where a display server is needed: Windows and macOS always have a screen)."""
    env = os.environ if env is None else env
    platform = sys.platform if platform is None else platform
    if platform.startswith(("win", "darwin")) or platform == "cygwin":
        return None
    chosen = (env.get("QT_QPA_PLATFORM") or "").split(":", 1)[0].strip().lower()
    has_x11, has_wayland = bool(env.get("DISPLAY")), bool(env.get("WAYLAND_DISPLAY"))
    if chosen in HEADLESS_PLATFORMS:
        return None
    if chosen == "xcb" and has_x11 or chosen.startswith("wayland") and has_wayland:
        return None
    if not chosen and (has_x11 or has_wayland):
        return None
    if chosen and chosen not in ("xcb",) and not chosen.startswith("wayland"):
        return None  # a platform plugin we do not know: let Qt decide
    where = {"xcb": "DISPLAY is not set", "": "neither DISPLAY nor WAYLAND_DISPLAY is set"}.get(
        chosen, "WAYLAND_DISPLAY is not set")
    return (f"There is no display to open Tilik's window on ({where}: an SSH session, a server or a "
            "container?). The command line works without one: `tilik classify --pack ID PHOTO...`, "
            "`tilik verify ...`, `tilik log ...` (see `tilik --help`). To use the window, start Tilik in a "
            "desktop session, or over SSH with X forwarding (`ssh -X`).")
