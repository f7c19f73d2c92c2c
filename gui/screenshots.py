"""Render the main window's states to PNG files (``make screenshots`` → docs/screenshots/).

Uses the real packs in ``models/`` when present (e.g. imagenet-lite0 for General mode, and
signature-verify with ``resources/samples/signature-verify/`` for Signature mode) and the tiny test
packs of ``tests/gui/gui_packs.py`` for the modes that have no real pack yet. Everything
runs in temporary folders: the user's settings, log and packs are never touched.

    python -m gui.screenshots docs/screenshots      # under xvfb-run, or QT_QPA_PLATFORM=offscreen
    python -m gui.screenshots docs/screenshots/id --language id    # every state in Bahasa Indonesia
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
SIZE = (1366, 768)  # a common laptop screen: what an inspector's window has to fit


def _prepare_environment(tmp: Path) -> dict[str, Any]:
    """Temporary user data, settings and a bundled-packs folder mixing real and tiny packs."""
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "tests" / "gui"))
    from gui_packs import build_gui_packs  # noqa: PLC0415 - test helpers, only for screenshots

    os.environ["TILIK_DATA_DIR"] = str(tmp / "data")
    os.environ["TILIK_PACKS_DIR"] = str(tmp / "data" / "packs")
    os.environ["TILIK_DB"] = str(tmp / "data" / "inspections.sqlite3")
    os.environ["TILIK_SETTINGS"] = str(tmp / "settings.ini")
    os.environ.setdefault("TILIK_STATION", "Gate 3")
    models = tmp / "models"
    models.mkdir(parents=True)
    real_modes = set()
    from inference.registry import check_pack

    real_dir = REPO / "models"
    if real_dir.is_dir():
        for sub in sorted(real_dir.iterdir()):
            if sub.is_dir() and (sub / "manifest.json").is_file():
                pack = check_pack(sub)
                if pack.usable:
                    (models / sub.name).symlink_to(sub, target_is_directory=True)
                    real_modes.add(pack.manifest.mode)
    tiny = [m for m in ("general", "seal", "skin", "signature") if m not in real_modes]
    build_gui_packs(models, modes=tuple(tiny))
    os.environ["TILIK_BUNDLED_PACKS_DIR"] = str(models)
    return {"real_modes": real_modes, "tiny_modes": tiny}


def _seal_photo(colour: str, number: str = "SL 778812") -> Any:
    """A synthetic photo of a bolt seal on a container door (the tiny seal pack reads its colour)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFilter

    w, h = 960, 720
    img = Image.new("RGB", (w, h), (70, 78, 84))
    d = ImageDraw.Draw(img)
    for x in range(0, w, 48):  # corrugated door
        d.rectangle([x, 0, x + 22, h], fill=(82, 90, 96))
    d.rectangle([380, 0, 470, h], fill=(110, 112, 108))  # locking bar
    d.rectangle([300, 250, 560, 330], fill=(120, 120, 116))  # handle hasp
    body = (200, 40, 40) if colour == "red" else (40, 70, 200)
    d.rounded_rectangle([360, 300, 500, 470], radius=18, fill=body)
    d.rectangle([420, 180, 440, 310], fill=(190, 190, 190))  # the bolt
    d.text((378, 360), number, fill=(255, 255, 255))
    if colour == "red":
        d.line([(365, 420), (495, 380)], fill=(30, 30, 30), width=6)  # a cut
    img = img.filter(ImageFilter.GaussianBlur(1.2))
    return np.asarray(img)


def _save_png(path: Path, rgb: Any) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    language = "en"
    if "--language" in argv:
        i = argv.index("--language")
        language = argv[i + 1]
        del argv[i:i + 2]
    only = None
    if "--only" in argv:  # e.g. --only 05,18: write just these shots (the others still render)
        i = argv.index("--only")
        only = tuple(x.strip() for x in argv[i + 1].split(",") if x.strip())
        del argv[i:i + 2]
    seal_photos = None
    if "--seal-photos" in argv:  # DIR with intact/*.jpg and damaged/*.jpg of one seal type: shot 17
        i = argv.index("--seal-photos")
        seal_photos = Path(argv[i + 1]).resolve()
        del argv[i:i + 2]
    out = Path(argv[0] if argv else REPO / "docs" / "screenshots").resolve()
    out.mkdir(parents=True, exist_ok=True)
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY") and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    tmp = Path(tempfile.mkdtemp(prefix="tilik-shots-"))
    try:
        info = _prepare_environment(tmp)
        return _render(out, tmp, info, language, only, seal_photos)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _render(out: Path, tmp: Path, info: dict[str, Any], language: str = "en",
            only: tuple[str, ...] | None = None, seal_photos: Path | None = None) -> int:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtWidgets import QApplication

    from gui import i18n
    from gui.app import create_application
    from gui.main_window import MainWindow
    from gui.settings import Settings

    app = create_application([])
    settings = Settings(Path(os.environ["TILIK_SETTINGS"]))
    settings.operator = "Ana Wijaya"
    settings.station = "Gate 3"
    settings.last_mode = "general"
    i18n.manager().install(language)
    w = MainWindow(settings, probe_camera=True)
    w.resize(*SIZE)
    w.show()

    def pump(seconds: float = 0.15) -> None:
        end = time.time() + seconds
        while time.time() < end:
            app.processEvents()
            time.sleep(0.01)

    def wait(cond: Callable[[], bool], timeout: float = 60.0) -> None:
        end = time.time() + timeout
        while not cond():
            if time.time() > end:
                raise TimeoutError("screenshot state not reached")
            app.processEvents()
            time.sleep(0.01)
        pump()

    def idle() -> None:
        wait(lambda: not w.is_busy())

    def shot(name: str, widget: Any = None) -> None:
        if only is not None and not name.startswith(only):
            return
        pump(0.3)
        path = out / f"{name}.png"
        (widget or w).grab().save(str(path))
        print("wrote", path.relative_to(REPO) if path.is_relative_to(REPO) else path)
        if widget is None and (w.width(), w.height()) != SIZE:
            # Something in this state asks for more room than the screen the shots stand for.
            print(f"warning: {name}: the window grew to {w.width()}x{w.height()}, not {SIZE[0]}x{SIZE[1]}")

    def error_shot(path: Path, name: str) -> None:
        """Open ``path``, which the app refuses, and grab the plain-words dialog it shows."""
        w.open_paths([path])
        idle()
        box = w.last_error_dialog
        pump(0.3)
        if box is not None:
            shot(name, box)
            box.close()

    wait(lambda: w.packs_loaded)
    idle()
    samples = REPO / "resources" / "samples" / "imagenet-lite0"
    photos = sorted(samples.glob("*.JPEG")) if samples.is_dir() else []

    # 1. General mode: one photo with its heatmap and top classes.
    w.set_mode("general")
    idle()
    first = photos[0] if photos else _save_png(tmp / "red.png", _seal_photo("red"))
    w.open_paths([first])
    idle()
    shot("01-general-result")

    # 2. Side by side, zoomed.
    w.act_side.trigger()
    pump()
    shot("02-general-side-by-side")
    w.act_side.trigger()

    # Seal photos: the real pack's own held-out samples when it is bundled, else drawn ones the tiny
    # pack reads by colour.
    seal_intact, seal_cut = tmp / "seal_intact.png", tmp / "seal_cut.png"
    seal_samples = REPO / "resources" / "samples" / "seal-integrity"
    if "seal" in info["real_modes"] and (seal_samples / "samples.json").is_file():
        listed = json.loads((seal_samples / "samples.json").read_text(encoding="utf-8"))
        seal_intact = seal_samples / next(x["file"] for x in listed if x["expected"] == "intact")
        seal_cut = seal_samples / next(x["file"] for x in listed if x["expected"] == "damaged")
    else:
        _save_png(seal_intact, _seal_photo("blue"))
        _save_png(seal_cut, _seal_photo("red"))

    # 3. Seal mode with the form filled in.
    w.set_mode("seal")
    idle()
    form = w.seal_form
    form.seal_number.setText("SL-778812")
    form.container_number.setText("CSQU 305438 3")
    form.seal_class.setCurrentIndex(1)
    for key in ("view", "verify", "tug", "twist"):
        form.checks[key].setChecked(True)
    w.open_paths([seal_intact])
    idle()
    shot("03-seal-intact-with-form")

    # 4. A damaged seal, and a wrong container check digit being typed.
    form.checks["tug"].set_state(False)  # Tug: fail (the checklist is pass / fail / not done)
    w.open_paths([seal_cut])
    idle()
    form.container_number.setText("CSQU 305438 4")
    shot("04-seal-damaged-check-digit")
    form.container_number.setText("CSQU 305438 3")

    # 4b. Seal profiles (issue 25): 20 intact photos of one seal type enrolled through the panel,
    # the profile made active, a damaged photo of that type judged by it; then the panel's tab.
    if seal_photos is not None and "seal" in info["real_modes"]:
        _profile_shots(w, seal_photos, idle, wait, shot)

    # 5. Skin mode: the permanent banner and an out-of-domain photo refused.
    w.set_mode("skin")
    idle()
    odd = next((p for p in photos if "barbell" in p.name), first)
    w.open_paths([odd])
    idle()
    shot("05-skin-out-of-domain-refused")
    # 5b. Skin mode on a dermoscopy photo (a self-test sample of the bundled skin pack).
    lesions = sorted((REPO / "resources" / "samples").glob("skin-*/*.jpg"))
    if lesions:
        w.open_paths([lesions[0]])
        idle()
        shot("18-skin-lesion-result")

    # 6. Batch: a folder of photos (one of them broken), sorted, while and after it runs.
    w.set_mode("general")
    idle()
    batch = tmp / "batch"
    batch.mkdir()
    shared = REPO.parent / "shared" / "data" / "imagenet-samples" / "images"
    pool = photos + (sorted(shared.glob("*"))[:40] if shared.is_dir() else [])
    for p in pool:
        shutil.copy(p, batch / p.name)
    (batch / "scan_0042_broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    w.open_paths([batch])
    wait(lambda: w.batch_view.model.rowCount() >= min(5, len(pool)), 120)
    shot("06-batch-running")
    wait(lambda: not w.batch_view.running, 300)
    idle()
    shot("07-batch-done")

    # 7. History: the log with a record selected and a supervisor's review.
    w.tabs.setCurrentIndex(2)
    idle()
    h = w.history
    h.refresh()
    idle()  # History reads the log off the GUI thread
    # The review shown: a supervisor overturns a seal called intact (one sent to review first).
    seals = [i for i, r in enumerate(h.model.records) if r.mode == "seal"]
    intact = [i for i in seals if h.model.records[i].label == "intact"]
    row = next((i for i in intact if h.model.records[i].needs_review), (intact or seals or [0])[0])
    h.table.selectRow(row)
    idle()
    h.corrected.setCurrentIndex(max(0, h.corrected.findData("damaged")))
    h.note.setText("Cut visible on the seal body; container held for customs.")
    operator = settings.operator
    settings.operator = "Budi Santoso"  # the supervisor: a review needs someone other than the operator
    h.review("overturn")
    pump(0.3)
    box = getattr(w.history_ctl, "confirm_box", None)
    if box is not None and box.isVisible():
        shot("08b-history-review-confirm", box)
        box.accept()
    idle()
    shot("08-history-review")
    settings.operator = operator

    # 8. Model card, settings, keyboard shortcuts.
    w.tabs.setCurrentIndex(0)
    w.set_mode("general")
    idle()
    w.act_card.trigger()
    pump(0.5)
    shot("09-model-card", w.model_card_dialog)
    w.model_card_dialog.close()
    dialog = w.show_settings()
    pump(0.3)
    shot("10-settings", dialog)
    dialog.reject()

    # 9. Bahasa Indonesia.
    i18n.manager().install("id")
    w.set_mode("seal")
    idle()
    w.session_pos = len(w.session) - 1
    w.open_paths([seal_cut])
    idle()
    shot("11-bahasa-indonesia-seal")
    i18n.manager().install(language)
    pump()

    # 10. Signature mode: a customer's specimen signatures enrolled, a cheque's signature checked.
    w.set_mode("signature")
    idle()
    samples_sig = REPO / "resources" / "samples" / "signature-verify"
    if "signature" in info["real_modes"] and samples_sig.is_dir():
        refs = [samples_sig / f"w36_ref{i}.jpg" for i in (1, 2, 3)]
        query = tmp / "cheque_004512_signature.jpg"  # a skilled forgery of writer 36 (CEDAR)
        shutil.copy(samples_sig / "w36_forged.jpg", query)
    else:
        from gui_packs import signature_images  # noqa: PLC0415

        drawn = signature_images(tmp / "signatures")
        refs, query = [drawn["r1"], drawn["r2"], drawn["r3"]], drawn["forged"]
    w.signature.find_customer("0036-5521-07")
    idle()  # the customer's references are read in a worker: enrol once the customer is found
    w.signature.enrol_files(refs, "Account opening form AO-2024-117")
    idle()
    w.signature_panel.document.setText("Cheque 004512")
    w.open_paths([query])
    idle()
    shot("12-signature-verification")
    if "signature" in info["real_modes"] and photos:
        # A photo of something else as the query: refused in plain words, no verdict, nothing logged.
        error_shot(first, "15-signature-not-a-signature")

    # 11. A damaged image.
    w.set_mode("general")
    idle()
    broken = tmp / "broken.jpg"
    broken.write_bytes(first.read_bytes()[:2000])
    error_shot(broken, "13-damaged-image-dialog")
    shot("14-damaged-image-window")

    w.shutdown()
    w.close()
    QCoreApplication.processEvents()
    print(f"screenshots: real packs for {sorted(info['real_modes']) or 'no mode'}, "
          f"tiny test packs for {info['tiny_modes']}")
    QApplication.quit()
    return 0


def _profile_shots(w: Any, photos: Path, idle: Callable[[], None], wait: Callable[..., None],
                   shot: Callable[..., None]) -> None:
    intact = sorted((photos / "intact").glob("*.jpg"))
    damaged = sorted((photos / "damaged").glob("*.jpg"))
    if len(intact) < 32 or not damaged:
        print(f"shot 17 skipped: {photos} needs intact/*.jpg (32 or more) and damaged/*.jpg")
        return
    page = w.inspect_page
    panel = page.side_panels["seal-profiles"][1]
    for name, files in (("Dock B strip seals (old)", intact[20:32]), ("Gate 3 bolt seals", intact[:20])):
        wait(lambda: not panel.busy, 120)
        panel.enrol_files(files, name)
        wait(lambda: not panel.busy, 120)
    idle()
    from inference.imageio import load_image

    for i in range(12):  # frames captured for a next enrolment: the button counts them
        panel.add_camera_frame(load_image(intact[40 + i] if len(intact) > 52 else intact[i]).rgb)
    for photo in damaged[20:] + damaged[:20]:  # a cut the profile catches (not every defect departs enough)
        w.open_paths([photo])
        idle()
        result = w.result_panel.result()
        if result is not None and getattr(result, "profile", None) is not None and result.profile.damaged:
            break
    shot("17b-seal-judged-by-profile")
    page.show_side_panel("seal-profiles")
    shot("17-seal-profiles")
    panel.set_active(None)
    wait(lambda: not panel.busy)
    idle()
    w.statusBar().clearMessage()  # "no profile" is about Seal mode: not for the next mode's shots


if __name__ == "__main__":
    sys.exit(main())
