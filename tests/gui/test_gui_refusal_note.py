"""A refused skin photo does not read as reassurance on any surface (the verdict panel, the PDF, the
CSV, ``tilik classify``), in English and in Bahasa Indonesia: the number line under "Refused" says
the photo was not judged, that this is not the calm class's result and does not rule out the
alarming one, from the one wording place."""

from __future__ import annotations

import io

import pytest

from gui_packs import image, save, skin_manifest, write_manifest_pack
from tiny_models import build_colour_model

EN = ("Not judged — this is not a ‘Benign’ result and does not rule out ‘Malignant’: retake the photo; "
      "if it is refused again, have it looked at by a person.")
ID = ("Tidak dinilai — ini bukan hasil ‘Jinak’ dan tidak menyingkirkan ‘Ganas’: ambil ulang fotonya; "
      "jika ditolak lagi, mintalah seseorang memeriksanya langsung.")


@pytest.fixture
def refused(tmp_path, monkeypatch):
    """A skin photo the tiny skin pack refuses as out of domain, and its log record."""
    from inference.inspector import Inspector
    from inference.log import InspectionLog
    from inference.registry import check_pack

    model = build_colour_model(classes=("blue", "red"))
    packs = tmp_path / "models"
    write_manifest_pack(packs / "skin-test", model, skin_manifest(model))
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(packs))
    path = save(tmp_path / "green.png", image("green"))
    result = Inspector(check_pack(packs / "skin-test")).classify(path)
    assert result.outcome == "refused" and result.decision.refusal.code == "out_of_domain"
    db = tmp_path / "log.sqlite3"
    with InspectionLog.open(db) as log:
        rec = log.record_result(result, mode="skin")
    with InspectionLog.open(db, read_only=True) as log:
        rec = log.get(rec.id)
    return result, rec, path


@pytest.fixture
def language():
    from gui import i18n

    yield i18n.manager()
    i18n.manager().install("en")


@pytest.mark.parametrize("lang, head, note", [("en", "Refused: not a skin-lesion photo", EN),
                                              ("id", "Ditolak: bukan foto lesi kulit", ID)])
def test_the_verdict_panel_says_it_is_not_reassurance(qtbot, refused, language, lang, head, note):
    from gui.app import create_application
    from gui.widgets.result_panel import ResultPanel

    create_application([])
    assert language.install(lang)
    panel = ResultPanel()
    qtbot.addWidget(panel)
    panel.show_result(refused[0], "skin")
    assert (panel.verdict.text(), panel.confidence.text()) == (head, note)
    assert panel.confidence.wordWrap()  # a sentence, not a number: it must wrap, not be cut off


def _pdf_text(rec, lang: str) -> str:
    from PySide6.QtGui import QTextDocument

    from gui.report_pdf import _Context, detail_html
    from gui.report_words import words

    doc = QTextDocument()
    doc.setHtml(detail_html(rec, [], _Context(lang, words(lang), False, (100.0, 100.0), None)))
    return " ".join(doc.toPlainText().split())


@pytest.mark.parametrize("lang, note", [("en", EN), ("id", ID)])
def test_the_pdf_says_it(qtbot, refused, lang, note):
    from gui.app import create_application

    create_application([])
    assert note in _pdf_text(refused[1], lang)


def test_the_csv_and_the_cli_say_it(refused, tmp_path):
    from inference.log.csv_export import record_row
    from tilik.cli import main

    _, rec, path = refused
    row = record_row(rec)
    assert row["verdict"] == "Refused: not a skin-lesion photo" and row["verdict_number"] == EN
    out = io.StringIO()
    assert main(["classify", "--pack", "skin-test", str(path)], out=out) == 0
    text = " ".join(out.getvalue().split())
    assert "Refused: not a skin-lesion photo" in text and "Not judged — this is not a ‘Benign’ result" in text
    assert "have it looked at by a person." in text


def test_a_batch_row_says_it_too(qtbot, refused):
    from gui.app import create_application
    from gui.widgets.batch_view import BatchModel
    from gui.workers import BatchRow

    create_application([])
    model = BatchModel()
    model.mode = "skin"
    model.add_rows([BatchRow(0, str(refused[2]), refused[0], None)])
    notes = model.item(0, BatchModel.COLUMNS.index("Notes"))
    assert notes.text() == EN and notes.toolTip() == EN
    assert model.item(0, BatchModel.COLUMNS.index("Verdict")).text() == "Refused: not a skin-lesion photo"
