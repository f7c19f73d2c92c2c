"""Run in a fresh process (tests/gui/test_gui_layout.py): the window's minimum size in every
mode and tab, in English and Indonesian, and the width each mode's side panel gets when its tab is
shown, and the opacity slider's width on the Inspect tab, printed as JSON. QT_SCALE_FACTOR comes
from the caller."""

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
tmp = tempfile.mkdtemp()
os.environ["TILIK_DATA_DIR"] = tmp
os.environ["TILIK_SETTINGS"] = str(Path(tmp) / "s.ini")
from gui.app import create_application  # noqa: E402
app = create_application()
from gui import i18n  # noqa: E402
from gui.main_window import MainWindow  # noqa: E402
from gui.settings import Settings  # noqa: E402
out = {}
panels = {}
sliders = {}
for lang in ("en", "id"):
    i18n.manager().install(lang)
    s = Settings()
    s.operator, s.station, s.db_path = "Ana Wijaya", "Gate 3", str(Path(tmp) / f"{lang}.sqlite3")
    w = MainWindow(s, probe_camera=False, auto_start=False)
    w.start()
    ev = QEventLoop(app)
    end = time.time() + 60
    while not w.is_ready() and time.time() < end:
        ev.processEvents(); time.sleep(0.01)
    w.resize(1366, 768); w.show()
    for mode in ("seal", "signature", "skin", "general"):
        w.set_mode(mode)
        for tab in range(3):
            w.tabs.setCurrentIndex(tab)
            for _ in range(20): ev.processEvents()
            hint = w.minimumSizeHint()
            out[f"{lang}/{mode}/{tab}"] = (hint.width(), hint.height(), w.width(), w.height())
        page = w.inspect_page
        w.tabs.setCurrentIndex(0)
        for _ in range(20): ev.processEvents()
        if mode != "signature":
            sliders[f"{lang}/{mode}"] = page.opacity.width()
        for key, (panel_mode, widget) in page.side_panels.items():
            if panel_mode == mode:
                page.show_side_panel(key)
                for _ in range(20): ev.processEvents()
                panels[f"{lang}/{key}"] = (widget.width(), widget.minimumSizeHint().width(), w.width())
    # Seal mode with a wrong check digit (the form's warning widens it) and the profiles tab shown.
    w.set_mode("seal"); w.tabs.setCurrentIndex(0)
    w.seal_form.container_number.setText("CSQU 305438 4")
    for _ in range(20): ev.processEvents()
    hint = w.minimumSizeHint()
    out[f"{lang}/seal-check-digit/0"] = (hint.width(), hint.height(), w.width(), w.height())
    sliders[f"{lang}/seal-check-digit"] = w.inspect_page.opacity.width()
    w.shutdown(); w.close()
print(json.dumps({"sizes": out, "panels": panels, "sliders": sliders}))
