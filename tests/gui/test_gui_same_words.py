"""One set of verdict words (issue 20): the same record reads the same on the screen, in History,
in the PDF, in the CSV and in ``tilik log show`` — headline, the number it rests on, and reasons."""

from __future__ import annotations

import re

import pytest

from gui_packs import image, save, seal_manifest, skin_manifest, write_manifest_pack
from tiny_models import build_colour_model


@pytest.fixture
def cases(tmp_path, monkeypatch):
    """A seal result that needs review on an alarm threshold, and a refused skin photo, both logged."""
    from inference.inspector import Inspector
    from inference.log import InspectionLog
    from inference.registry import check_pack

    model = build_colour_model(classes=("blue", "red"))
    seal = seal_manifest(model, words={"risk": "Damage risk"})
    seal["decision"].update(alarm_threshold=0.3)
    packs = tmp_path / "models"
    write_manifest_pack(packs / "seal-test", model, seal)
    write_manifest_pack(packs / "skin-test", model, skin_manifest(model))
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(packs))
    mixed = image("red")
    mixed[:, :, 2] = mixed[:, :, 0]  # red and blue alike: inside the review band
    seal_result = Inspector(check_pack(packs / "seal-test")).classify(save(tmp_path / "mixed.png", mixed))
    skin_result = Inspector(check_pack(packs / "skin-test")).classify(save(tmp_path / "grey.png", image("grey")))
    assert seal_result.outcome == "review" and skin_result.outcome == "refused"
    db = tmp_path / "log.sqlite3"
    with InspectionLog.open(db) as log:
        recs = [log.record_result(seal_result, mode="seal"), log.record_result(skin_result, mode="skin")]
    return db, [(seal_result, recs[0], "seal"), (skin_result, recs[1], "skin")]


def _pdf_text(rec) -> str:
    from PySide6.QtGui import QTextDocument

    from gui.report_pdf import _Context, detail_html
    from gui.report_words import words

    doc = QTextDocument()
    doc.setHtml(detail_html(rec, [], _Context("en", words("en"), False, (100.0, 100.0), None)))
    return doc.toPlainText()


def test_the_same_record_reads_the_same_everywhere(qtbot, cases, capsys):
    from gui.app import create_application
    from gui.widgets.history_view import HistoryModel
    from gui.widgets.result_panel import ResultPanel
    from inference import wording
    from inference.log import InspectionLog
    from inference.log.csv_export import record_row
    from tilik.cli import main

    create_application([])
    db, items = cases
    with InspectionLog.open(db) as log:
        stored = {rec.id: log.get(rec.id) for _, rec, _ in items}
    for result, rec, mode in items:
        rec = stored[rec.id]
        head, number = wording.headline(rec.decision), wording.number_line(rec.decision)
        reasons = wording.reasons_text(rec.decision)
        assert (head, number, reasons) == (wording.headline(result.decision), wording.number_line(result.decision),
                                           wording.reasons_text(result.decision))
        if mode == "seal":
            assert head == "Seal damaged — review"
            assert re.fullmatch(r"Damage risk \d+\.\d% — alarm at 30\.0%", number)
            assert reasons and reasons[0].startswith("uncertain: Damaged probability ")
        else:
            # a refusal on a pack with an alarming class says it is not the calm answer
            assert head == "Refused: the image is blank" and number == (
                "Not judged — this is not a ‘Benign’ result and does not rule out ‘Malignant’: retake the photo; "
                "if it is refused again, have it looked at by a person.")

        # the screen
        panel = ResultPanel()
        qtbot.addWidget(panel)
        panel.show_result(result, mode)
        assert (panel.verdict.text(), panel.confidence.text()) == (head, number)
        if reasons and not rec.refused:
            assert panel.review_banner.text().split("\n")[1:] == ["• " + r for r in reasons]
        # History
        model = HistoryModel()
        model.records = [rec]
        assert model.data(model.index(0, model.COLUMNS.index("verdict"))) == head
        # the PDF
        pdf = _pdf_text(rec)
        assert head in pdf and number in pdf and all(r in pdf for r in reasons)
        # the CSV
        row = record_row(rec)
        assert (row["verdict"], row["verdict_number"], row["review_reasons"]) == (head, number, "; ".join(reasons))
        # the CLI
        capsys.readouterr()
        assert main(["log", "show", "--db", str(db), str(rec.id)]) == 0
        text = capsys.readouterr().out
        assert head in text and number in text and all(r in text for r in reasons)
