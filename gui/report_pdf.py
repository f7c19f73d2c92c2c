"""Printable inspection reports (PDF), drawn with Qt's own PDF writer.

One A4 page per inspection: the image and its heatmap, the verdict with every class probability,
what produced it (pack, model SHA-256, provider), who took it and where, the domain details, every
supervisor review, and the row's place and hash in the log's chain. The footer carries the log's
head and whether the chain verified at export time, so a printed page can later be checked against
the file (``tilik log verify --anchor SEQ:HASH``).

This is the only part of the log that uses Qt; ``tilik log export --format pdf`` imports it lazily.
"""

from __future__ import annotations

import html
import os
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from inference import wording
from inference.errors import StorageError, TilikError
from inference.heatmap import colorize, overlay
from inference.log.models import ChainStatus, InspectionRecord, LogQuery, Review

MAX_IMAGE_PX = 1000  # images are downscaled to this before embedding: sharp on paper, small files


def _ensure_gui_app() -> Any:
    """The running Qt application, or a new one (fonts need one); offscreen when there is no display.

    A QApplication (a QGuiApplication that can also show widgets) is made rather than a bare
    QGuiApplication: Qt allows one application object per process, and the desktop app (or a
    test run) may need widgets after a report was written.
    """
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        from PySide6.QtWidgets import QApplication

        app = QApplication(sys.argv[:1] or ["tilik"])
    return app


def _qimage(rgb: np.ndarray) -> Any:
    from PySide6.QtGui import QImage

    rgb = np.ascontiguousarray(rgb[:, :, :3].astype(np.uint8))
    h, w = rgb.shape[:2]
    scale = MAX_IMAGE_PX / max(h, w)
    if scale < 1:
        from PIL import Image

        rgb = np.ascontiguousarray(np.asarray(Image.fromarray(rgb).resize((max(1, round(w * scale)),
                                                                            max(1, round(h * scale))))))
        h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def _e(text: Any) -> str:
    return html.escape("" if text is None else str(text))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _yes(v: bool | None) -> str:
    return "—" if v is None else ("yes" if v else "NO")


def _review_html(reviews: Sequence[Review]) -> str:
    if not reviews:
        return "<p><i>Not reviewed by a person.</i></p>"
    rows = []
    for r in reviews:
        label = f" → <b>{_e(r.corrected_label)}</b>" if r.corrected_label else ""
        rows.append(f"<tr><td>{_e(r.time_local.strftime('%Y-%m-%d %H:%M'))}</td><td><b>{_e(r.decision)}</b>{label}</td>"
                    f"<td>{_e(r.by)}</td><td>{_e(r.note)}</td></tr>")
    return ("<table width='100%' cellspacing='0' cellpadding='3' border='0'>"
            "<tr><th align='left'>when</th><th align='left'>decision</th><th align='left'>by</th>"
            "<th align='left'>why</th></tr>" + "".join(rows) + "</table>"
            "<p style='font-size:7pt'>The latest review is in force. The machine's verdict above is kept "
            "unchanged.</p>")


def _in_force(rec: InspectionRecord) -> str:
    r = rec.latest_review
    if r is None:
        return ""
    if rec.refused and r.decision == "confirm":
        return f"<p><b>In force: refused</b> — the refusal was confirmed by {_e(r.by)}.</p>"
    if r.decision == "overturn":
        return (f"<p><b>In force: {_e(rec.final_label)}</b> — the machine said {_e(rec.label)}; "
                f"overturned by {_e(r.by)}.</p>")
    if r.decision == "confirm":
        return f"<p><b>In force: {_e(rec.label)}</b> — confirmed by {_e(r.by)}.</p>"
    return f"<p><b>Escalated</b> by {_e(r.by)}: awaiting a decision.</p>"


def _heatmap_class(rec: InspectionRecord) -> tuple[str, str] | None:
    """(name, label) of the class the record's heatmap shows: the pack's fixed heatmap class, or
    the class the verdict names (the most probable one for a refusal)."""
    from gui.wording import _manifest

    m = _manifest(rec.pack_id)
    name = m.decision.heatmap_class if m is not None else None
    if name is None:
        name = rec.label or (max(rec.probabilities, key=rec.probabilities.get) if rec.probabilities else None)
    if name is None:
        return None
    return name, (m.class_label(name) if m is not None else (rec.display_label if name == rec.label else name))


def _details_rows(rec: InspectionRecord) -> str:
    """Internal scores: provenance, not the verdict."""
    rows = []
    if rec.ood_score is not None:
        rows.append(f"<tr><td>out-of-domain score</td><td>{rec.ood_score:.3f}</td></tr>")
    if rec.guard and rec.guard.get("reasons"):
        rows.append(f"<tr><td>input guard</td><td>{_e('; '.join(rec.guard.get('reasons', [])))}</td></tr>")
    return "".join(rows)


def _domain_html(rec: InspectionRecord, include_private: bool) -> str:
    parts = []
    if rec.seal:
        s = rec.seal
        check = {"valid": "check digit OK", "bad-check-digit": "CHECK DIGIT WRONG — confirmed by operator",
                 "bad-format": "NOT ISO 6346 — confirmed by operator"}.get(rec.container_check or "", "")
        parts.append(f"<b>Seal</b> {_e(s.seal_number or '—')} · class {_e(s.seal_class or '—')}<br>"
                     f"<b>Container</b> {_e(s.container_number or '—')} {_e(check)}<br>"
                     f"<b>VVTT</b> view {_yes(s.view)} · verify {_yes(s.verify)} · tug {_yes(s.tug)} · "
                     f"twist {_yes(s.twist)}")
    if rec.signature:
        g = rec.signature
        score = "" if g.score is None else f" · score {g.score:.3f}"
        thr = "" if g.threshold is None else f" (threshold {g.threshold:.3f})"
        refs = ", ".join(map(str, g.reference_ids)) or "—"
        parts.append(f"<b>Customer</b> {_e(g.customer_id)} · document {_e(g.document_ref or '—')}<br>"
                     f"<b>References used</b> {_e(refs)}{_e(score)}{_e(thr)}")
    if rec.skin:
        patient = rec.skin.patient_ref if include_private else ("(withheld)" if rec.skin.patient_ref else "—")
        parts.append(f"<b>Patient</b> {_e(patient or '—')} · body site {_e(rec.skin.body_site or '—')}<br>"
                     "<i>Decision support only, never a diagnosis.</i>")
    return "<br>".join(parts)


def _page_html(rec: InspectionRecord, reviews: Sequence[Review], *, image_size: tuple[int, int] | None,
               heat_size: tuple[int, int] | None, include_private: bool, footer: str, page: int, pages: int,
               box: tuple[float, float]) -> str:
    # The verdict in the same words as the screen, the CSV and the CLI (inference.wording).
    v = rec.decision
    if v.refused:
        colour = "#546e7a"
    elif rec.alarming:
        colour = "#b00020"
    elif v.outcome == "review":
        colour = "#e65100"
    else:
        colour = "#1b5e20"
    probs = sorted(rec.probabilities.items(), key=lambda kv: -kv[1])[:8]
    prob_rows = "".join(f"<tr><td>{_e(k)}</td><td align='right'>{_pct(p)}</td></tr>" for k, p in probs)
    if v.refused:
        prob_rows = "<tr><td colspan='2'><i>No class: the image was refused.</i></td></tr>"
    flags = []
    reasons = wording.reasons_text(v)
    if reasons and not v.refused:
        flags.append("<b>Needs review:</b> " + _e("; ".join(reasons)))
    if rec.guard and rec.guard.get("flagged"):
        flags.append("<b>Input guard flagged this image.</b>")
    pictures = []
    heat_class = _heatmap_class(rec)
    for size, url, caption in ((image_size, "tilik://image", f"Image ({rec.image_kind})"),
                               (heat_size, "tilik://heat", wording.heatmap_caption(heat_class[1]) if heat_class
                                else "Heatmap")):
        if size is not None:
            w, h = size
            scale = min(box[0] / w, box[1] / h)
            cell = (f"<img src='{url}' width='{int(w * scale)}' height='{int(h * scale)}'><br>"
                    f"<span style='font-size:7pt'>{_e(caption)}</span>")
        else:
            cell = f"<i>{'No image kept' if url.endswith('image') else 'No heatmap'}</i>"
        pictures.append(f"<td width='50%' align='center' valign='top'>{cell}</td>")
    source = rec.source if rec.source else "(not stored)"
    return f"""
<html><body style="font-family: sans-serif; font-size: 9pt;">
<table width="100%" cellspacing="0" cellpadding="0"><tr>
<td><span style="font-size:15pt"><b>Inspection {rec.id}</b></span><br>
{_e(rec.time_local.strftime('%Y-%m-%d %H:%M:%S %z'))} · {_e(rec.mode)} · operator {_e(rec.operator or '—')}
· station {_e(rec.station or '—')}</td>
<td align="right" valign="top"><span style="font-size:8pt">Tilik inspection report<br>page {page} of {pages}</span></td>
</tr></table>
<hr>
<table width="100%" cellspacing="4"><tr>{''.join(pictures)}</tr></table>
<p><span style="font-size:16pt; color:{colour}"><b>{_e(wording.headline(v))}</b></span>
&nbsp; {_e(wording.number_line(v))}</p>
{''.join(f'<p>{f}</p>' for f in flags)}
<table width="100%"><tr><td width="40%" valign="top">
<table cellspacing="0" cellpadding="2"><tr><th align="left">class</th><th align="right">probability</th></tr>{prob_rows}</table>
</td><td valign="top">{_domain_html(rec, include_private)}</td></tr></table>
<h3>Review</h3>
{_in_force(rec)}
{_review_html(reviews)}
<h3>Provenance</h3>
<table cellspacing="0" cellpadding="1" style="font-size:7.5pt">
<tr><td>pack</td><td>{_e(rec.pack_id)} {_e(rec.pack_version)} · model SHA-256 {_e(rec.pack_sha256)}</td></tr>
<tr><td>manifest</td><td>SHA-256 {_e(rec.manifest_sha256 or '— (recorded before manifests were hashed)')}</td></tr>
<tr><td>run on</td><td>{_e(rec.provider)} · {_e(rec.app_version)}</td></tr>
<tr><td>input image</td><td>SHA-256 {_e(rec.image_sha256)} · {_e(rec.image_width)}×{_e(rec.image_height)}</td></tr>
<tr><td>stored file</td><td>{_e(rec.image_file or '—')}</td></tr>
<tr><td>source</td><td>{_e(source)}</td></tr>
<tr><td>log row</td><td>chain position {rec.seq} · hash {_e(rec.hash)}</td></tr>
{_details_rows(rec)}
</table>
<hr>
<p style="font-size:7pt">{footer}</p>
</body></html>"""


def _signed_words(head: Any) -> str:
    """The head's signature for the footer (issue #22): the same signed head is noted in the
    station's anchors file, and ``tilik log verify`` checks it later."""
    if head is None:  # a report from the central copy: its server is the anchor
        return ""
    signed = getattr(head, "signed", None)
    if signed is None or (signed.seq, signed.hash) != (head.seq, head.hash):
        return " · head not signed"
    return (f" · head signed by key {_e(signed.key_id)} (station {_e(signed.station)}) at {_e(signed.time_utc)}, "
            f"signature {_e(signed.signature)}")


def write_report(log: Any, records: Sequence[InspectionRecord], out: Path | str, *,
                 include_private: bool = False, status: ChainStatus | None = None, head: Any = None) -> int:
    """Write one page per record to ``out`` (PDF); returns the number of pages.

    ``status`` is the chain verification to print in the footer (verified now when None);
    ``head`` the signed head (:class:`inference.log.anchors.CurrentHead`) it prints beside it.
    """
    _ensure_gui_app()
    from PySide6.QtCore import QMarginsF, QRectF, QSizeF, QUrl
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter, QTextDocument

    out = Path(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"Cannot write the report to {out}: {exc.strerror or exc}.") from exc
    status = status or log.verify_chain()
    when = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %z")
    chain_words = (f"chain verified intact ({status.checked} rows)" if status.ok
                   else f"CHAIN BROKEN at {status.where}: {status.reason}")
    footer = (f"Printed {_e(when)} from {_e(log.path.name)} · log head {status.head_seq}:{_e(status.head_hash)} · "
              f"{_e(chain_words)}{_signed_words(head)}")

    writer = QPdfWriter(str(out))
    writer.setTitle("Tilik inspection report")
    writer.setCreator("Tilik")
    writer.setResolution(150)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(14, 12, 14, 12), QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise StorageError(f"Cannot write the report to {out} (folder missing or read-only?).")
    try:
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        width, height = area.width(), area.height()
        # Rich-text image sizes are in 96-dpi pixels, whatever the device: size the picture box in those.
        logical = 96.0 / writer.resolution()
        box = (width * 0.46 * logical, height * 0.34 * logical)
        pages = max(1, len(records))
        if not records:
            doc = QTextDocument()
            doc.documentLayout().setPaintDevice(writer)
            doc.setPageSize(QSizeF(width, height))
            doc.setHtml(f"<p style='font-size:12pt'>No inspections match this report.</p><p>{footer}</p>")
            doc.drawContents(painter, QRectF(0, 0, width, height))
        for index, rec in enumerate(records):
            if index:
                writer.newPage()
            doc = QTextDocument()
            doc.documentLayout().setPaintDevice(writer)
            doc.setPageSize(QSizeF(width, height))
            doc.setDocumentMargin(0)
            try:  # a stored file that is not an allowed image (e.g. an EPS swapped in) is left out, not run
                rgb = log.image_array(rec) if rec.image_file else None
            except TilikError:
                rgb = None
            heat = log.heatmap_array(rec) if rec.heatmap_file else None
            image_size = heat_size = None
            if rgb is not None:
                doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("tilik://image"), _qimage(rgb))
                image_size = (rgb.shape[1], rgb.shape[0])
            if heat is not None:
                picture = overlay(rgb, heat) if rgb is not None else colorize(heat)
                doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl("tilik://heat"), _qimage(picture))
                heat_size = (picture.shape[1], picture.shape[0])
            doc.setHtml(_page_html(rec, log.reviews(rec.id), image_size=image_size, heat_size=heat_size,
                                   include_private=include_private, footer=footer, page=index + 1, pages=pages,
                                   box=box))
            painter.save()
            doc.drawContents(painter, QRectF(0, 0, width, height))
            painter.restore()
    finally:
        painter.end()
    return pages


def export_pdf(log: Any, q: LogQuery | None, out: Path | str, *, include_private: bool = False,
               max_pages: int = 5000) -> int:
    """Report every inspection matching ``q`` (oldest first), one page each; returns pages written.
    The log's signed head is printed in the footer and noted in the station's anchors file."""
    from dataclasses import replace

    from inference.log import anchors

    head = anchors.local_head(log)
    status = log.verify_chain()
    records = []
    for rec in log.iter_records(replace(q or LogQuery(), newest_first=False)):
        records.append(rec)
        if len(records) > max_pages:
            raise StorageError(f"More than {max_pages} inspections match; narrow the filters for a printable report.")
    if head is not None and (status.head_seq, status.head_hash) != (head.seq, head.hash):
        head = anchors.current_head(log)  # rows were recorded meanwhile: print the head that was verified
    pages = write_report(log, records, out, include_private=include_private, status=status, head=head)
    if head is not None:
        anchors.note_head(log, "pdf", target=out, head=head)
    return pages
