"""Entry script for the frozen app: the same `tilik` command, frozen.

- With no display, Qt would abort a frozen app at start-up; commands that need no window
  (self-test, classify, packs, log ...) therefore run with the offscreen platform forced.
- Windows: a frozen app's DLL search path is its own folder; the execution-provider DLLs that
  ``onnxruntime-directml`` / ``onnxruntime-gpu`` ship (DirectML.dll, the CUDA provider) sit beside
  ``onnxruntime_pybind11_state.pyd`` under ``_internal/onnxruntime/capi``, so that folder (and the
  bundle root) are added to the DLL search path before onnxruntime is imported. CUDA and cuDNN
  themselves are not bundled: they come from the user's CUDA install (``CUDA_PATH``), when present.
"""

import os
import sys

# No telemetry (inference/privacy.py): set before onnxruntime can initialise.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

if len(sys.argv) > 1 and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

if sys.platform == "win32" and getattr(sys, "frozen", False):  # pragma: no cover - Windows builds only
    _root = getattr(sys, "_MEIPASS", os.path.dirname(sys.executable))
    _dirs = [_root, os.path.join(_root, "onnxruntime", "capi")]
    if os.environ.get("CUDA_PATH"):
        _dirs.append(os.path.join(os.environ["CUDA_PATH"], "bin"))
    for _dir in _dirs:
        if os.path.isdir(_dir):
            os.add_dll_directory(_dir)

from tilik.cli import main  # noqa: E402

sys.exit(main())
