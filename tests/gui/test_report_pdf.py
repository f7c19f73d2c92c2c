"""The PDF report (issue #21): a summary table first, a sign-off block, detail sections after, text
that flows to the next page instead of being clipped, signature pages with the overlay and each
reference's score, in English and Bahasa Indonesia. Read back from the PDF's own text (pypdfium2)."""

from __future__ import annotations

import json
import re
import sys
from dataclasses import replace
from pathlib import Path

import pytest

pdfium = pytest.importorskip("pypdfium2")

from inference.log import InspectionLog, LogQuery  # noqa: E402

ROW = re.compile(r"^(\d+) \d{4}-\d{2}-\d{2}$", re.M)  # a summary row starts "<id> <date>" on a line


def pages_text(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [doc[i].get_textpage().get_text_range().replace("\r\n", "\n") for i in range(len(doc))]
    finally:
        doc.close()


def summary_ids(pages: list[str], heading: str = "Summary") -> list[int]:
    """Inspection ids in the summary table, read from the pages whose footer names the summary."""
    ids = []
    for text in pages:
        if re.search(rf"^{heading} page \d+ of \d+$|^{heading} halaman \d+ dari \d+$", text, re.M):
            ids += [int(m) for m in ROW.findall(text)]
    return ids


@pytest.fixture
def make_log(packs_dir, tmp_path):
    """make_log(n, note_for=None) → (log path, records): n real classifications by the colour pack."""
    import numpy as np

    from inference.inspector import Inspector

    def _make(n: int, long_note: str | None = None):
        inspector = Inspector.for_pack("colour")
        db = tmp_path / f"log{n}.sqlite3"
        rng = np.random.default_rng(n)
        with InspectionLog.open(db) as log:
            recs = []
            for i in range(n):
                # 4×4-pixel blocks, as in a picture (pixel noise is refused as "not a photo")
                small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
                rgb = np.ascontiguousarray(small.repeat(4, axis=0).repeat(4, axis=1))
                rgb[:, :, i % 3] = 255
                result = inspector.classify(rgb, name=f"img{i}.png")
                recs.append(log.record_result(result, image=rgb, operator="ana", station="gate-3"))
            if long_note is not None:
                log.add_review(recs[0].id, "escalate", by="chief", note=long_note)
            log.add_review(recs[-1].id, "confirm", by="chief")
            recs = [log.get(r.id) for r in recs]
        return db, recs

    return _make


def test_summary_first_with_one_row_per_inspection_then_the_sign_off_and_details(make_log, tmp_path):
    from gui.report_pdf import export_pdf

    db, recs = make_log(6)
    out = tmp_path / "report.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        pages = export_pdf(log, LogQuery(), out, prepared_by="Ana Wijaya")
    text = pages_text(out)
    assert len(text) == pages
    assert text[0].startswith("Tilik inspection report") and "Summary" in text[0]
    assert summary_ids(text) == [r.id for r in recs]  # every inspection once, oldest first
    assert "Sign-off" in text[0] and "Prepared by" in text[0] and "Reviewed by" in text[0]
    assert "Ana Wijaya" in text[0] and f"{recs[-1].seq}" in text[0]
    details = text[1:]
    assert len(details) == 6  # then one section per inspection, in the same order
    for rec, page in zip(recs, details):
        assert page.startswith(f"Inspection {rec.id}\n")
        assert f"chain position {rec.seq} · hash {rec.hash}" in page
        assert f"page {text.index(page) + 1} of {pages}" in page
    assert "confirmed by chief" in " ".join(text[0].split())


def test_68_inspections_give_a_short_summary_then_68_detail_pages(make_log, tmp_path):
    from gui.report_pdf import export_pdf

    db, recs = make_log(68)
    with InspectionLog.open(db, read_only=True) as log:
        summary_only = tmp_path / "summary.pdf"
        n_summary = export_pdf(log, LogQuery(), summary_only, details=False)
        full = tmp_path / "full.pdf"
        n_full = export_pdf(log, LogQuery(), full)
    short = pages_text(summary_only)
    assert n_summary == len(short) <= 4  # not 68 pages of nothing else
    assert summary_ids(short) == [r.id for r in recs]
    assert any("Sign-off" in page for page in short)
    assert n_full == n_summary + 68
    details = pages_text(full)[n_summary:]
    assert [int(re.match(r"Inspection (\d+)\n", p).group(1)) for p in details] == [r.id for r in recs]


def test_a_long_note_flows_to_the_next_page_and_the_chain_position_stays(make_log, tmp_path):
    from gui.report_pdf import export_pdf

    note = " ".join(f"word{i}" for i in range(1800))  # about three pages of text
    db, recs = make_log(2, long_note=note)
    out = tmp_path / "report.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        pages = export_pdf(log, LogQuery(), out)
    text = pages_text(out)
    first = [p for p in text if f"Inspection {recs[0].id} · chain position {recs[0].seq}" in p]
    assert len(first) >= 2, "the long note should run over onto a second page"
    assert pages == 1 + len(first) + 1
    joined = "\n".join(first)
    assert "word0" in first[0] and "word1799" in joined  # nothing of the note is lost
    for page in first:  # the footer is on every page, with its head and chain words
        assert re.search(r"page \d+ of \d+", page) and "chain verified intact" in " ".join(page.split())
    # ... and the row's chain position comes after the whole note, not clipped off the page
    last = first[-1]
    assert f"chain position {recs[0].seq} · hash {recs[0].hash}" in last
    assert last.index("word1799") < last.index(f"hash {recs[0].hash}")


def test_the_report_in_bahasa_indonesia(make_log, tmp_path):
    from gui.report_pdf import export_pdf

    db, recs = make_log(3)
    out = tmp_path / "laporan.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        export_pdf(log, LogQuery(), out, language="id")
    text = pages_text(out)
    assert text[0].startswith("Laporan pemeriksaan Tilik") and "Ringkasan" in text[0]
    assert summary_ids(text, "Ringkasan") == [r.id for r in recs]
    for words in ("Pengesahan", "Disiapkan oleh", "Ditinjau oleh", "Tanda tangan", "Tanggal", "halaman 1 dari",
                  "dikonfirmasi oleh chief", "belum ditinjau"):
        assert words in " ".join(text[0].split()), words
    assert "Pemeriksaan" in text[1] and f"posisi rantai {recs[0].seq}" in text[1]
    assert re.search(r"\d+,\d%", text[1])  # numbers written the Indonesian way


def test_both_languages_have_the_same_words():
    from gui.report_words import WORDS

    assert set(WORDS["en"]) == set(WORDS["id"])
    for key, english in WORDS["en"].items():
        fields = set(re.findall(r"{(\w+)}", english))
        assert fields == set(re.findall(r"{(\w+)}", WORDS["id"][key])), key


def test_a_missing_folder_is_an_error_not_created(make_log, tmp_path):
    from gui.report_pdf import export_pdf
    from inference.errors import StorageError

    db, _ = make_log(1)
    with InspectionLog.open(db, read_only=True) as log, pytest.raises(StorageError, match="does not exist"):
        export_pdf(log, LogQuery(), tmp_path / "no-such-folder" / "r.pdf")
    assert not (tmp_path / "no-such-folder").exists()


@pytest.fixture
def signature_log(tmp_path, monkeypatch, capsys):
    """Two signature checks logged by ``tilik verify --log`` with a tiny real verify pack."""
    pytest.importorskip("skl2onnx")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference" / "signature"))
    from sig_fixtures import draw_signature, save, write_verify_pack

    from tilik.cli import main

    packs = tmp_path / "packs"
    write_verify_pack(packs / "signature-verify")
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(packs))
    refs = [str(save(tmp_path / f"r{i}.png", draw_signature("loops", shift=s))) for i, s in enumerate((0, 4, -3))]
    gen = str(save(tmp_path / "gen.png", draw_signature("loops", shift=2)))
    forg = str(save(tmp_path / "forg.png", draw_signature("zigzag")))
    db = tmp_path / "sig.sqlite3"
    assert main(["verify", "--reference", *refs, "--log", str(db), "--customer", "ACC-9", "--json", "--",
                 gen, forg]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    return db, rows


def test_signature_pages_show_the_overlay_and_every_reference_score(signature_log, tmp_path):
    from gui.report_pdf import export_pdf

    db, rows = signature_log
    out = tmp_path / "sig.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        export_pdf(log, LogQuery(), out)
        recs = log.query(LogQuery(newest_first=False))
    doc = pdfium.PdfDocument(str(out))
    text = pages_text(out)
    for rec, row in zip(recs, rows):
        page_no = next(i for i, p in enumerate(text) if p.startswith(f"Inspection {rec.id}\n"))
        page = text[page_no]
        assert "Signature against the customer's references" in page
        table = page[page.index("score\n#"):page.index("Per-reference scores")]
        ids = list(rec.signature.reference_ids)
        for i, (ref_id, score) in enumerate(zip(ids, row["reference_scores"])):
            # each reference's row (from "#id" to the next "#id") holds the score the CLI printed
            start = table.index(f"#{ref_id}")
            end = table.index(f"#{ids[i + 1]}") if i + 1 < len(ids) else len(table)
            assert f"{100 * score:.1f}%" in table[start:end], (ref_id, score, table[start:end])
        closest = rec.signature.reference_ids[row["references"].index(row["closest_reference"])]
        flat = " ".join(page.split())
        assert "closest (overlay)" in flat and f"Overlay with reference #{closest}" in flat
        assert "recomputed from the stored images with the same model" in flat
        # the overlay is a picture on that page: three pictures (image, heatmap, overlay)
        images = [o for o in doc[page_no].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        assert len(images) >= 3
    doc.close()


def test_a_signature_page_says_why_scores_are_missing(signature_log, tmp_path, monkeypatch):
    """With the pack that made the verdict gone, nothing is recomputed with another model: the page
    says so in words."""
    from gui.report_pdf import export_pdf

    db, _ = signature_log
    monkeypatch.setenv("TILIK_BUNDLED_PACKS_DIR", str(tmp_path / "nothing-here"))
    out = tmp_path / "sig.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        export_pdf(log, LogQuery(), out)
    text = " ".join(" ".join(pages_text(out)).split())
    assert "Per-reference scores and the overlay are not available: the model that made this verdict" in text


def test_the_heatmap_caption_names_the_class_the_map_is_of(make_log, tmp_path):
    """The colour pack has no fixed heatmap class: its map is the most probable class's (the cam
    output's argmax), which the PDF names as such; with the pack gone it says "Heatmap" alone."""
    from gui.report_pdf import _heatmap_class, export_pdf

    db, recs = make_log(1)
    top = max(recs[0].probabilities, key=recs[0].probabilities.get)
    assert _heatmap_class(recs[0]) == (top, "most_probable")
    out = tmp_path / "report.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        export_pdf(log, LogQuery(), out)
    text = " ".join(" ".join(pages_text(out)).split())
    assert f"Heatmap of {top.capitalize()}, the most probable class" in text
    assert _heatmap_class(replace(recs[0], pack_id="no-such-pack")) == (None, "fixed")


def test_an_all_zero_heatmap_is_captioned_as_showing_no_evidence(packs_dir, tmp_path):
    """A class activation map is clipped at zero: when the model found no evidence for the map's class
    anywhere (skin-binary's malignant map on a clearly benign lesion), the stored map is blank, and
    the PDF says so rather than showing an empty overlay under "Heatmap of ..." alone."""
    import numpy as np

    from gui.report_pdf import export_pdf
    from inference.inspector import Inspector

    rgb = np.full((24, 32, 3), 40, np.uint8)
    rgb[:, :, 0] = 220
    rgb[8:16, 8:24] = (200, 60, 60)
    result = Inspector.for_pack("colour").classify(rgb, name="blank-map.png")
    assert result.heatmap is not None
    blank = replace(result, heatmap=np.zeros_like(result.heatmap))
    db = tmp_path / "log.sqlite3"
    with InspectionLog.open(db) as log:
        log.record_result(blank, image=rgb, operator="ana", station="gate-3")
    out = tmp_path / "report.pdf"
    with InspectionLog.open(db, read_only=True) as log:
        export_pdf(log, LogQuery(), out)
    text = " ".join(" ".join(pages_text(out)).split())
    assert "the most probable class: no evidence found" in text
