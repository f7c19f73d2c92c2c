"""No telemetry, no phoning home: switch off onnxruntime's own telemetry before it initialises.

onnxruntime 1.31 on Linux/macOS writes a persistent device id and an event store (model names,
session events) under ``~/.cache/Microsoft/DeveloperTools/.onnxruntime/`` in every process that
creates a session, unless ``ORT_DISABLE_TELEMETRY=1`` is in the environment *before* it
initialises (measured: with it set nothing is written). On Windows the switch is the Python API's
``onnxruntime.disable_telemetry_events()``.

Every entry point (the ``tilik`` CLI, the desktop app, the frozen bundle, ``python -m training``)
calls :func:`disable_telemetry` first; ``inference/__init__`` calls it too, so any program that
reaches onnxruntime through the core is covered even if it forgot.
"""

from __future__ import annotations

import os
import sys

ENV_VAR = "ORT_DISABLE_TELEMETRY"


def disable_telemetry() -> None:
    """Set ``ORT_DISABLE_TELEMETRY=1`` (forced: a user's ``0`` does not turn it back on), and on
    Windows also call onnxruntime's own switch."""
    os.environ[ENV_VAR] = "1"
    if sys.platform == "win32":  # pragma: no cover - Windows only
        try:
            import onnxruntime

            onnxruntime.disable_telemetry_events()
        except (ImportError, AttributeError):  # no onnxruntime, or a build without the switch
            pass


__all__ = ["ENV_VAR", "disable_telemetry"]
