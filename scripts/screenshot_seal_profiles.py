"""Screenshot of the Seal profiles panel (issue 25) beside a photo judged with the profile.

    QT_QPA_PLATFORM=offscreen python scripts/screenshot_seal_profiles.py PHOTOS_DIR OUT.png [--language id]

PHOTOS_DIR holds ``intact/*.jpg`` and ``damaged/*.jpg`` of one seal type (e.g. from
``python -m training seals generate --families bolt --backgrounds steel_door_blue --paired``): the
first 20 intact photos are enrolled (in a temporary profiles folder), the first damaged photo of
a later scene is judged with the real seal-integrity pack, and the window (1366×768) shows the
anomaly map over it, the verdict lines as the core words them, and the panel. Until the main
window hosts the panel (h-window's controllers), this is how it looks next to a verdict.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    photos, out = Path(sys.argv[1]), Path(sys.argv[2])
    language = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--language" else "en"
    tmp = Path(tempfile.mkdtemp())
    os.environ["TILIK_PROFILES_DIR"] = str(tmp / "profiles")
    os.environ["TILIK_SETTINGS"] = str(tmp / "settings.ini")
    from PySide6.QtGui import QImage, QPixmap
    from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QVBoxLayout, QWidget

    app = QApplication([])
    from gui import i18n, wording

    i18n.manager().install(language)
    from gui.widgets.seal_profiles import SealProfilesPanel
    from inference.heatmap import overlay
    from inference.imageio import load_image
    from inference.inspector import Inspector
    from inference.profiles.enrol import enrol

    inspector = Inspector.for_pack("seal-integrity")
    intact = sorted((photos / "intact").glob("*.jpg"))
    enrol(inspector, "Gate 3 bolt seals", intact[:20])
    enrol(inspector, "Dock B strip seals (old)", intact[20:32])
    panel = SealProfilesPanel(lambda: inspector)
    panel.list.setCurrentRow(1)
    profile = next(p for p in panel._profiles if p.name == "Gate 3 bolt seals")
    panel.set_active(profile)
    inspector.use_profile(profile)
    for i in range(12):
        panel.add_camera_frame(load_image(intact[40 + i]).rgb)
    damaged = sorted((photos / "damaged").glob("*.jpg"))[30]
    result = inspector.classify(damaged)
    rgb = load_image(damaged).rgb
    shown = overlay(rgb, result.heatmap_image(max(rgb.shape[:2])))
    image = QImage(shown.data, shown.shape[1], shown.shape[0], shown.shape[1] * 3, QImage.Format.Format_RGB888)
    window = QWidget()
    window.setWindowTitle("Tilik — Seal")
    layout = QHBoxLayout(window)
    left = QVBoxLayout()
    picture = QLabel()
    picture.setPixmap(QPixmap.fromImage(image).scaled(520, 520))
    left.addWidget(picture)
    verdict = QLabel(f"<h2>{wording.headline(result)}</h2><p>{wording.number_line(result)}</p>"
                     + "".join(f"<p>• {t}</p>" for t in wording.reasons(result) + wording.notes(result)))
    verdict.setWordWrap(True)
    verdict.setMaximumWidth(760)
    left.addWidget(verdict)
    left.addStretch(1)
    layout.addLayout(left, 3)
    layout.addWidget(panel, 2)
    window.resize(1366, 768)
    window.show()
    app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    window.grab().save(str(out))
    print(out, result.label, result.outcome, round(result.profile.anomaly_score, 3), round(profile.threshold, 3))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
