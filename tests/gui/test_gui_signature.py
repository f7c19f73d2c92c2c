"""Signature mode: customers, reference enrolment and retirement, verification off the GUI thread,
the verdict, score, overlay and per-reference scores, bad input, the log and the history."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from gui_helpers import close_message_boxes, open_and_wait, visible_message_boxes, wait_idle
from gui_packs import build_gui_packs, build_signature_pack, signature_images

pytest.importorskip("skl2onnx")
pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def sig_template(tmp_path_factory) -> Path:
    """The tiny verify pack and drawn signatures, built once (training its SVM takes a few seconds)."""
    root = tmp_path_factory.mktemp("sig-template")
    build_signature_pack(root / "models")
    signature_images(root / "images")
    return root


@pytest.fixture
def sig_packs(sig_template, tmp_path, monkeypatch) -> Path:
    folder = build_gui_packs(tmp_path / "models", modes=("general",))
    shutil.copytree(sig_template / "models" / "signature-test", folder / "signature-test")
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(folder))
    return folder


@pytest.fixture
def images(sig_template, tmp_path) -> dict[str, Path]:
    folder = tmp_path / "signatures"
    shutil.copytree(sig_template / "images", folder)
    return {p.stem: p for p in folder.iterdir()}


@pytest.fixture
def sw(make_window, sig_packs):
    """A window in Signature mode on the tiny verify pack."""
    return make_window("signature")


def enrol(qtbot, w, customer: str, files: list[Path], document: str = "Account opening form 2024-117") -> None:
    c = w.signature
    assert c.find_customer(customer)
    wait_idle(qtbot, w)  # the references are read in a worker
    dialog = c.enrol_dialog(files)
    assert dialog is not None and dialog.isVisible()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # the source document is required
    dialog.document.setText(document)
    ok.click()
    wait_idle(qtbot, w)
    assert not visible_message_boxes(), [b.text() for b in visible_message_boxes()]


def test_enrol_verify_genuine_and_forged_logged_and_in_history(qtbot, sw, images):
    w = sw
    panel, view = w.signature_panel, w.signature_view
    assert w.mode == "signature" and w.pack.id == "signature-test"
    assert not w.mode_banner.isVisible()
    assert panel.isVisibleTo(w) and view.isVisibleTo(w)
    assert not w.result_panel.isVisibleTo(w) and not w.inspect_center.isVisibleTo(w)
    assert w.act_open.isEnabled() and w.act_paste.isEnabled() and not w.act_folder.isEnabled()
    assert view.verdict.text() == "No signature checked yet"
    assert "Strict threshold 80.0%" in panel.strict_note.text() and panel.strict.isEnabled()

    # A new customer: found with no references, then enrolled with three.
    panel.customer.setText("ACC-0012-3456")
    panel.find_button.click()
    wait_idle(qtbot, w)  # the references are read in a worker
    assert "New customer" in panel.customer_status.text()
    enrol(qtbot, w, "ACC-0012-3456", [images["ref1"], images["ref2"], images["ref3"]])
    assert panel.gallery.count() == 3
    assert "3 active reference signature(s)" in panel.customer_status.text()
    assert not panel.few_banner.isVisible()
    refs = w.log.references("ACC-0012-3456")
    assert [r.enrolled_by for r in refs] == ["Ana"] * 3
    assert {r.source_document for r in refs} == {"Account opening form 2024-117"}
    tip = panel.gallery.item(0).toolTip()
    assert "Account opening form 2024-117" in tip and "Enrolled by Ana" in tip
    assert not panel.gallery.item(0).icon().isNull()

    # Genuine.
    panel.document.setText("CHQ-000123")
    open_and_wait(qtbot, w, images["cheque_genuine"])
    assert not visible_message_boxes()
    check = w.signature.current
    assert check is not None and check.result.label == "genuine"
    assert view.verdict.text().startswith("Signature looks genuine")
    assert view.score.text().startswith("Match score ") and "genuine from 50.0%" in view.score.text()
    assert "Strict threshold for high-value documents: 80.0%" in view.thresholds.text()
    assert view.query_view.has_image() and view.query_view.overlay_visible()  # the query's heatmap
    # ... which is the signature model's map of its own single-image class, not of the comparison.
    single = check.result.single_image
    top = w.state.manifest_of("signature-test").class_label(max(single, key=single.get))
    assert view.caption.text() == f"{Path(check.source).name}  ·  Heatmap of {top} from this signature alone"
    assert view.caption.toolTip().startswith(check.source)  # the whole path
    assert view.overlay_view.has_image()
    assert "closest reference (#" in view.overlay_title.text()
    assert "Red: ink only in the reference" in view.legend.plain_text()
    assert "Green: ink only in the signature checked" in view.legend.plain_text()
    rows = view.reference_rows()
    assert [r[0].rstrip(" ◆") for r in rows] == ["#1", "#2", "#3"]
    assert sum("◆" in r[0] for r in rows) == 1
    assert all(r[1] == "Account opening form 2024-117" and r[2].endswith("%") for r in rows)
    assert "Saved to the log as inspection #" in view.details.text()
    assert "Customer: ACC-0012-3456" in view.details.text()
    assert "References used: #1, #2, #3" in view.details.text()
    assert not view.few_banner.isVisible()
    w.act_heat.trigger()  # H hides the heatmap in Signature mode too
    assert not view.query_view.overlay_visible()
    w.act_heat.trigger()

    # Forged.
    open_and_wait(qtbot, w, images["cheque_forged"])
    check = w.signature.current
    assert check.result.label == "forged" and check.result.score < check.result.threshold
    assert view.verdict.text() == "Possible forgery"
    assert view.ref_table.rowCount() == 3

    # Both are in the log with the customer, the document, the reference set, the score and threshold.
    from inference.log import LogQuery

    recs = w.log.query(LogQuery(mode="signature", customer_id="ACC-0012-3456", newest_first=False))
    assert [r.label for r in recs] == ["genuine", "forged"]
    for rec in recs:
        sig = rec.signature
        assert sig.customer_id == "ACC-0012-3456" and sig.document_ref == "CHQ-000123"
        assert sig.reference_ids == tuple(r.id for r in refs)
        assert sig.threshold == pytest.approx(0.5)
        assert rec.operator == "Ana" and rec.mode == "signature"
        assert w.log.stored_image_path(rec) is not None
    assert recs[0].signature.score == pytest.approx(w.signature.checks[0].result.score)
    assert recs[1].alarming and not recs[0].alarming
    assert w.log.verify_chain().ok

    # History shows them sensibly.
    w.tabs.setCurrentIndex(2)
    h = w.history
    qtbot.waitUntil(lambda: h.model.rowCount() == 2)
    row = next(i for i, r in enumerate(h.model.records) if r.label == "forged")
    h.table.selectRow(row)
    html = h.record_text.toPlainText()
    assert "ACC-0012-3456" in html and "CHQ-000123" in html and "#1, #2, #3" in html
    assert "Match score " in html and "— genuine from 50.0%" in html  # the same words as the screen
    model = h.model
    col = model.COLUMNS.index("seal")
    assert model.data(model.index(row, col)) == "ACC-0012-3456"
    assert model.data(model.index(row, model.COLUMNS.index("verdict"))) == "Possible forgery"
    tip = model.data(model.index(row, model.COLUMNS.index("confidence")), Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Signature score ") and "threshold 50.0%" in tip


def test_retire_reference_gallery_and_log(qtbot, sw, images):
    w = sw
    panel, view, c = w.signature_panel, w.signature_view, w.signature
    enrol(qtbot, w, "ACC-77", [images["ref1"], images["ref2"], images["ref3"]])
    ids = panel.gallery_ids()
    assert len(ids) == 3
    assert not panel.retire_button.isEnabled()  # nothing selected
    panel.select_reference(ids[1])
    assert panel.retire_button.isEnabled()
    panel.retire_button.click()
    dialog = c.retire_dialog_shown
    assert dialog.isVisible()
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # a reason is required
    dialog.why.setText("poor scan")
    ok.click()
    wait_idle(qtbot, w)  # retiring is a log write: it runs on the log's thread
    assert panel.gallery_ids() == [ids[0], ids[2]]
    assert "2 active reference signature(s) (1 retired)" in panel.customer_status.text()
    assert panel.few_banner.isVisible() and "Fewer than 3 references" in panel.few_banner.text()

    # The log keeps it, marked retired, with who and why.
    everyone = w.log.references("ACC-77", include_retired=True)
    retired = [r for r in everyone if r.retired]
    assert len(everyone) == 3 and [r.id for r in retired] == [ids[1]]
    assert retired[0].retired_by == "Ana" and retired[0].retired_why == "poor scan"
    panel.show_retired.setChecked(True)
    assert panel.gallery_ids() == ids
    assert "retired" in panel.gallery.item(1).text() and "poor scan" in panel.gallery.item(1).toolTip()
    panel.select_reference(ids[1])
    assert not panel.retire_button.isEnabled()  # already retired
    panel.show_retired.setChecked(False)

    # New checks use only the active references, and warn that there are fewer than the pack wants.
    open_and_wait(qtbot, w, images["cheque_genuine"])
    check = c.current
    assert check.reference_ids == (ids[0], ids[2])
    assert view.ref_table.rowCount() == 2
    assert view.few_banner.isVisible() and "Fewer than 3 references" in view.few_banner.text()
    assert view.review_banner.isVisible() and "only 2 references: use at least 3" in view.review_banner.text()
    rec = w.log.get(check.record_id)
    assert rec.signature.reference_ids == (ids[0], ids[2]) and rec.needs_review


def test_bad_query_no_ink_and_bad_reference_dialogs_window_goes_on(qtbot, sw, images):
    w = sw
    view, c = w.signature_view, w.signature

    # No customer yet: a plain-words dialog, nothing runs.
    w.open_paths([images["cheque_genuine"]])
    boxes = visible_message_boxes()
    assert boxes and "Find the customer first" in boxes[0].text()
    close_message_boxes()

    # A customer with no references.
    assert c.find_customer("NEW-1")
    wait_idle(qtbot, w)
    w.open_paths([images["cheque_genuine"]])
    boxes = visible_message_boxes()
    assert boxes and "no active reference signatures" in boxes[0].text()
    close_message_boxes()

    # Enrolment: a broken file and a blank page are refused with the reason; the good ones are enrolled.
    c.find_customer("NEW-1")
    wait_idle(qtbot, w)
    c.enrol_files([images["ref1"], images["broken"], images["blank"], images["ref2"], images["ref3"]], "ID card")
    wait_idle(qtbot, w)
    boxes = visible_message_boxes()
    assert boxes and "2 file(s) could not be enrolled" in boxes[0].text()
    assert "broken.png" in boxes[0].text() and "blank.png" in boxes[0].text()
    assert "Traceback" not in boxes[0].text()
    close_message_boxes()
    assert len(w.log.references("NEW-1")) == 3

    # A damaged query image.
    w.open_paths([images["broken"]])
    qtbot.waitUntil(lambda: bool(visible_message_boxes()), timeout=10000)
    box = visible_message_boxes()[0]
    assert "Traceback" not in box.text() and box.text()
    assert view.verdict.text() == "Could not check this signature"
    assert view.error_banner.isVisible()
    close_message_boxes()
    wait_idle(qtbot, w)

    # A blank page: no ink to compare.
    w.open_paths([images["blank"]])
    qtbot.waitUntil(lambda: bool(visible_message_boxes()), timeout=10000)
    assert "ink" in visible_message_boxes()[0].text().lower()
    close_message_boxes()
    wait_idle(qtbot, w)
    assert w.log.count() == 0

    # The window still works.
    open_and_wait(qtbot, w, images["cheque_forged"])
    assert view.verdict.text() == "Possible forgery"
    assert w.log.count() == 1


def test_superseded_and_other_customer_answers_are_dropped(qtbot, sw, images):
    w = sw
    c = w.signature
    enrol(qtbot, w, "A-1", [images["ref1"], images["ref2"], images["ref3"]])
    # Two queries in a row: only the second is shown and recorded.
    w.open_paths([images["cheque_forged"]])
    w.open_paths([images["cheque_genuine"]])
    wait_idle(qtbot, w)
    assert c.current.result.label == "genuine"
    assert w.log.count() == 1
    # A check running while the clerk switches to another customer is dropped.
    w.open_paths([images["cheque_forged"]])
    w.signature_panel.customer.setText("B-2")
    w.signature_panel.customer_edited.emit("B-2")
    assert c.customer is None and w.signature_view.verdict.text() == "No signature checked yet"
    wait_idle(qtbot, w)
    assert c.current is None and w.log.count() == 1


def test_high_value_document_uses_the_strict_threshold(qtbot, sw, images):
    w = sw
    enrol(qtbot, w, "A-1", [images["ref1"], images["ref2"], images["ref3"]])
    w.signature_panel.strict.setChecked(True)
    open_and_wait(qtbot, w, images["cheque_genuine"])
    r = w.signature.current.result
    assert r.operating_point == "strict" and r.threshold == pytest.approx(0.8)
    assert "genuine from 80.0%" in w.signature_view.score.text()
    assert "Strict threshold for high-value documents, 3 references" in w.signature_view.thresholds.text()
    assert w.log.get(w.signature.current.record_id).signature.threshold == pytest.approx(0.8)


def test_paste_camera_capture_and_gallery_drop(qtbot, sw, images):
    from PySide6.QtGui import QGuiApplication, QImage

    w = sw
    c = w.signature
    assert c.find_customer("P-9")
    wait_idle(qtbot, w)
    # Files dropped on the gallery open the enrolment dialog for them.
    w.signature_panel.files_dropped.emit([str(images["ref1"]), str(images["ref2"]), str(images["ref3"])])
    dialog = c.enrol_dialog_shown
    assert dialog.isVisible() and dialog.files.count() == 3
    dialog.document.setText("Specimen card")
    dialog.accept()
    wait_idle(qtbot, w)
    assert len(w.log.references("P-9")) == 3

    # A pasted picture (pixels, no file) is verified and stored in the log.
    QGuiApplication.clipboard().setImage(QImage(str(images["cheque_genuine"])))
    w.paste()
    wait_idle(qtbot, w)
    check = c.current
    assert check is not None and check.origin == "paste" and check.result.label == "genuine"
    rec = w.log.get(check.record_id)
    assert rec.source == "pasted image" and w.log.stored_image_path(rec) is not None

    # A camera capture goes the same way.
    w._camera_captured(QImage(str(images["cheque_forged"])))
    wait_idle(qtbot, w)
    assert c.current.origin == "camera" and c.current.result.label == "forged"
    assert w.log.count() == 2


def test_multiple_files_and_camera_live_frames_are_not_verified(qtbot, sw, images):
    w = sw
    enrol(qtbot, w, "A-1", [images["ref1"], images["ref2"], images["ref3"]])
    w.open_paths([images["cheque_forged"], images["cheque_genuine"]])
    assert "one signature at a time" in w.statusBar().currentMessage()
    assert w.inspect_source(images["cheque_forged"], "live camera", "live") == 0
    wait_idle(qtbot, w)
    assert w.log.count() == 0 and w.batch_view.model.rowCount() == 0


def test_signature_mode_in_bahasa_indonesia(qtbot, sw, images):
    from gui import i18n

    w = sw
    enrol(qtbot, w, "A-1", [images["ref1"], images["ref2"], images["ref3"]])
    i18n.manager().install("id")
    try:
        open_and_wait(qtbot, w, images["cheque_forged"])
        assert w.signature_view.verdict.text() == "Kemungkinan pemalsuan"
        assert w.signature_panel.enrol_button.text() == "Tambah referensi…"
        assert "Kuning: tinta di keduanya" in w.signature_view.legend.plain_text()
        assert "dari tanda tangan ini saja" in w.signature_view.caption.text()
    finally:
        i18n.manager().install("en")
    qtbot.waitUntil(lambda: w.signature_view.verdict.text() == "Possible forgery")
    assert w.signature_panel.enrol_button.text() == "Add references…"


REAL_PACK = REPO / "models" / "signature-verify"
SAMPLES = REPO / "resources" / "samples" / "signature-verify"


@pytest.mark.slow
@pytest.mark.skipif(not (REAL_PACK / "manifest.json").is_file() or not SAMPLES.is_dir(),
                    reason="the bundled signature-verify pack or its samples are absent")
def test_bundled_signature_pack_on_its_samples(qtbot, make_window, monkeypatch, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "signature-verify").symlink_to(REAL_PACK, target_is_directory=True)
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(models))
    w = make_window("signature")
    assert w.pack.id == "signature-verify"
    enrol(qtbot, w, "CEDAR-36", [SAMPLES / f"w36_ref{i}.jpg" for i in (1, 2, 3, 4, 5)], "specimen card")
    open_and_wait(qtbot, w, SAMPLES / "w36_genuine.jpg", timeout=60000)
    assert w.signature.current.result.label == "genuine"
    assert w.signature_view.verdict.text().startswith("Signature looks genuine")
    open_and_wait(qtbot, w, SAMPLES / "w36_forged.jpg", timeout=60000)
    assert w.signature.current.result.label == "forged"
    assert w.signature_view.verdict.text() == "Possible forgery"
    assert w.log.count() == 2
    # A photo of something else (another pack's sample) gets no verdict, the reason in plain words,
    # and is logged as a refusal (no class, no score); enrolling it as a reference is refused the same way.
    photo = sorted((REPO / "resources" / "samples" / "imagenet-lite0").glob("*.JPEG"))[0]
    w.open_paths([photo])
    qtbot.waitUntil(lambda: bool(visible_message_boxes()), timeout=60000)
    text = visible_message_boxes()[0].text()
    assert "does not look like a signature" in text and "Traceback" not in text
    close_message_boxes()
    wait_idle(qtbot, w)
    qtbot.waitUntil(lambda: w.log.count() == 3, timeout=10000)
    refused = w.log.query()[0]
    assert refused.refused and refused.label is None and refused.signature.customer_id == "CEDAR-36"
    # The screen says what the log says: a refusal, in the verdict's words (not a generic error).
    from inference import wording

    assert w.signature_view.verdict.text() == wording.headline(refused.decision) == "Refused: not a signature"
    w.signature.enrol_files([photo], "ID card")
    wait_idle(qtbot, w, 60000)
    boxes = visible_message_boxes()
    assert boxes and "does not look like a signature" in boxes[0].text()
    close_message_boxes()
    assert len(w.log.references("CEDAR-36")) == 5
