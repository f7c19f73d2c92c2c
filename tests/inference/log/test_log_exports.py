"""Exports and the ``tilik log`` commands: CSV, the PDF report, the training set round trip,
list/show/review/settings."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re

import pytest

from inference.log import LogQuery, SealFields, SkinFields
from inference.log.csv_export import COLUMNS, export_csv
from inference.log.dataset import export_dataset
from tilik.cli import main


@pytest.fixture
def reviewed(inspect, log):
    """Six inspections: confirmed, overturned, escalated, unreviewed, a skin one, and a seal one."""
    recs = [inspect(1, colour="red"), inspect(2, colour="green"), inspect(3, colour="blue"), inspect(4, colour="red"),
            inspect(5, colour="blue", mode="skin", skin=SkinFields("P-77", "back")),
            inspect(6, colour="green", mode="seal", seal=SealFields("=HYPERLINK(\"x\")", "CSQU3054383"))]
    log.add_review(recs[0].id, "confirm", by="sup")
    log.add_review(recs[1].id, "overturn", by="sup", note="it is blue", corrected_label="blue")
    log.add_review(recs[2].id, "escalate", by="sup", note="ask the lab")
    log.add_review(recs[4].id, "confirm", by="doc")
    log.add_review(recs[5].id, "confirm", by="sup")
    return recs


def test_csv_one_row_per_inspection_with_latest_review(reviewed, log, tmp_path):
    out = tmp_path / "export.csv"
    assert export_csv(log, out) == 6
    with open(out, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(COLUMNS) and [int(r["id"]) for r in rows] == [r.id for r in reviewed]
    by_id = {int(r["id"]): r for r in rows}
    over = by_id[reviewed[1].id]
    assert (over["label"], over["review_state"], over["corrected_label"], over["final_label"]) == \
        ("green", "overturn", "blue", "blue")
    assert by_id[reviewed[3].id]["review_state"] == "unreviewed"
    assert by_id[reviewed[4].id]["patient_ref"] == "(withheld)"  # private unless asked
    assert by_id[reviewed[5].id]["seal_number"].startswith("'=")  # no formula runs in a spreadsheet
    assert by_id[reviewed[0].id]["row_hash"] == reviewed[0].hash
    buf = io.StringIO(newline="")
    export_csv(log, buf, LogQuery(mode="skin"), include_private=True)
    assert list(csv.DictReader(io.StringIO(buf.getvalue())))[0]["patient_ref"] == "P-77"


def test_dataset_round_trip(reviewed, log, tmp_path):
    out = tmp_path / "dataset"
    summary = export_dataset(log, out)
    # confirmed red, overturned → blue, seal confirmed green; escalated/unreviewed skipped,
    # the skin one is a thumbnail only.
    assert summary.written == 3 and summary.classes == {"red": 1, "blue": 1, "green": 1}
    assert summary.skipped == {"escalated, not decided": 1, "not reviewed": 1, "thumbnail only (privacy setting)": 1}
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.png"))
    assert files == sorted([f"red/{reviewed[0].image_sha256}.png", f"blue/{reviewed[1].image_sha256}.png",
                            f"green/{reviewed[5].image_sha256}.png"])
    for path in out.rglob("*.png"):  # each file is the exact inspected image
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.stem
    with open(out / "labels.csv", newline="") as fh:
        labels = list(csv.DictReader(fh))
    assert [(int(r["inspection_id"]), r["label"], r["machine_label"], r["decision"]) for r in labels] == [
        (reviewed[0].id, "red", "red", "confirm"), (reviewed[1].id, "blue", "green", "overturn"),
        (reviewed[5].id, "green", "green", "confirm")]
    assert all(r["pack_id"] == "colour" and len(r["pack_sha256"]) == 64 for r in labels)
    # The folder-per-class tree reads back as (file, class) pairs, as the training pipeline reads it.
    tree = {(p.parent.name, p.stem) for p in out.rglob("*.png")}
    assert tree == {(r["label"], r["image_sha256"]) for r in labels}
    with pytest.raises(Exception, match="not an empty folder"):
        export_dataset(log, out)


def test_pdf_report_has_a_summary_page_then_one_page_per_record(reviewed, log, tmp_path):
    from gui.report_pdf import export_pdf

    out = tmp_path / "report.pdf"
    assert export_pdf(log, LogQuery(), out) == 7  # the summary (with the sign-off), then one page each
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) == 7
    empty = tmp_path / "empty.pdf"
    assert export_pdf(log, LogQuery(operator="nobody"), empty) == 1  # a page saying nothing matched


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_list_show_review_export(reviewed, log, log_path, tmp_path, capsys):
    db = str(log_path)
    log.close()
    code, out, _ = _cli(capsys, "log", "list", "--db", db)
    assert code == 0 and "1–6 of 6 matching inspections" in out and "→ Blue" in out  # labels, not names
    code, out, _ = _cli(capsys, "log", "list", "--db", db, "--json", "--unreviewed")
    rows = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["id"] for r in rows] == [reviewed[3].id]
    code, out, _ = _cli(capsys, "log", "list", "--db", db, "--container", "CSQU 305438 3", "--json")
    assert [json.loads(line)["id"] for line in out.splitlines()] == [reviewed[5].id]
    code, out, _ = _cli(capsys, "log", "review", str(reviewed[3].id), "--db", db, "--decision", "overturn",
                        "--by", "chief", "--note", "clearly green", "--label", "green")
    assert code == 0 and "overturn → Green by chief" in out  # the class label
    code, _, err = _cli(capsys, "log", "review", str(reviewed[3].id), "--db", db, "--decision", "overturn",
                        "--by", "chief", "--label", "green")
    assert code == 2 and "note" in err  # a plain-words refusal, nothing stored
    code, out, _ = _cli(capsys, "log", "show", str(reviewed[3].id), "--db", db, "--json")
    shown = json.loads(out)
    assert shown["label"] == "red" and shown["final_label"] == "green" and len(shown["reviews"]) == 1
    code, out, _ = _cli(capsys, "log", "export", "--db", db, "--format", "csv", "--decision", "overturn",
                        str(tmp_path / "o.csv"))
    assert code == 0 and out.startswith("2 inspections")
    code, out, _ = _cli(capsys, "log", "export", "--db", db, "--format", "pdf", "--id", str(reviewed[0].id),
                        str(tmp_path / "one.pdf"))
    assert code == 0 and out.startswith("2 pages")
    code, out, _ = _cli(capsys, "log", "dataset", "--db", db, "--out", str(tmp_path / "ds"))
    assert code == 0 and "4 images written" in out
    code, out, _ = _cli(capsys, "log", "settings", "--db", db, "thumbnail_px", "320", "--by", "admin")
    assert code == 0 and "thumbnail_px = 320" in out
    code, out, _ = _cli(capsys, "log", "verify", "--db", db)
    assert code == 0 and "Log intact" in out
