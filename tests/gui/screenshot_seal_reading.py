"""Render Seal mode reading the numbers off a door photo (issue 26) to docs/screenshots/.

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. python tests/gui/screenshot_seal_reading.py [OUT_DIR]

Same temporary set-up as :mod:`gui.screenshots` (real packs, throw-away settings and log); the
photo is a generated container door (training/ocr_doors.py) at 1366 x 768 window size. It lives
with the tests, not in ``gui``: the app never imports the training package.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from gui.screenshots import REPO, _prepare_environment

SIZE = (1366, 768)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    out = Path(argv[0] if argv else REPO / "docs" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    tmp = Path(tempfile.mkdtemp(prefix="tilik-shots-ocr-"))
    try:
        _prepare_environment(tmp)
        from PIL import Image

        sys.path.insert(0, str(REPO))
        from training.ocr_doors import make_door  # noqa: PLC0415 - a test-photo generator, screenshots only

        rgb, _ = make_door(7, width=1600, height=1200, bad_check_rate=0.0)
        photo = tmp / "door.jpg"
        Image.fromarray(rgb).save(photo, quality=92)

        from gui.app import create_application
        from gui.main_window import MainWindow
        from gui.settings import Settings

        app = create_application([])
        settings = Settings(Path(os.environ["TILIK_SETTINGS"]))
        settings.operator, settings.station, settings.last_mode = "Ana Wijaya", "Gate 3", "seal"
        w = MainWindow(settings)
        w.resize(*SIZE)
        w.show()

        def wait(cond, timeout: float = 300.0) -> None:
            end = time.time() + timeout
            while not cond():
                if time.time() > end:
                    raise TimeoutError("screenshot state not reached")
                app.processEvents()
                time.sleep(0.01)
            end = time.time() + 0.4
            while time.time() < end:
                app.processEvents()
                time.sleep(0.01)

        wait(lambda: w.is_ready())
        w.set_mode("seal")
        w.open_paths([photo])
        wait(lambda: not w.is_busy() and w.seal_reading.waiting())
        path = out / "16-seal-numbers-read-from-photo.png"
        w.grab().save(str(path))
        print("wrote", path)
        w.shutdown()
        return 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
