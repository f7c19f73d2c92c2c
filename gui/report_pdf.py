"""Printable inspection reports (PDF), drawn with Qt's own PDF writer.

A report is, in this order:

1. a **summary table**, one row per inspection (time, station/operator, mode, pack and version, the
   verdict in words, confidence, review state, chain position), its header repeated on every page;
2. a **sign-off block** (prepared by, reviewed by: name, signature and date lines), on the last
   summary page when it fits there, else on a page of its own;
3. one **detail section** per inspection, each starting on a new page: the image and its heatmap,
   the verdict with every class probability (class names, never codes), what produced it, who took
   it and where, the domain details, every supervisor review, and the row's place and hash in the
   log's chain. A signature check also shows the red/green/yellow overlay with its closest
   reference and each reference's score (:mod:`gui.report_signature`).

Text flows: each part is one paginated ``QTextDocument``, so a long note continues on the next page
instead of being clipped, and the chain position is always printed. Every page has a footer with
the log's head, whether the chain verified at export time, the head's signature, and
"page X of Y", so a printed page can later be checked against the file
(``tilik log verify --anchor SEQ:HASH``). English or Bahasa Indonesia (:mod:`gui.report_words`).

This is the only part of the log that uses Qt; ``tilik log export`` imports it lazily.
"""

from __future__ import annotations

import html
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from inference import wording
from inference.errors import StorageError, TilikError
from inference.heatmap import colorize, overlay
from inference.log.models import ChainStatus, InspectionRecord, LogQuery, Review
from gui.report_words import class_label, pct, report_language, verdict_language, words

MAX_IMAGE_PX = 800  # images are downscaled to this before embedding: sharp on paper, small files
RESOLUTION = 150


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


@dataclass
class _Context:
    """What every part of one report shares."""

    language: str
    say: Callable[..., str]
    include_private: bool
    box: tuple[float, float]  # the picture box in the HTML's 96-dpi pixels
    signature_details: Callable[[InspectionRecord], Any] | None


# -- summary ------------------------------------------------------------------------------------------
def _mode_word(mode: str, say: Callable[..., str]) -> str:
    return say(f"mode_{mode}") if mode in ("seal", "signature", "skin", "general") else mode


def _review_words(rec: InspectionRecord, ctx: _Context) -> str:
    r = rec.latest_review
    if r is None:
        return ctx.say("unreviewed")
    if r.decision == "confirm" and rec.refused:
        return ctx.say("confirm_refused", by=r.by)
    if r.decision == "overturn":
        return ctx.say("overturn", by=r.by, label=class_label(rec.pack_id, rec.final_label or "", ctx.language))
    return ctx.say(r.decision, by=r.by) if r.decision in ("confirm", "escalate") else r.decision


def _verdict_colour(rec: InspectionRecord) -> str:
    v = rec.decision
    if v.refused:
        return "#546e7a"
    if rec.alarming:
        return "#b00020"
    return "#e65100" if v.outcome == "review" else "#1b5e20"


def summary_html(records: Sequence[InspectionRecord], ctx: _Context, *, printed: str, log_name: str,
                 total: int | None = None, first: bool = True) -> str:
    """One page of the summary table (one row per inspection); the first page has the title."""
    say = ctx.say
    total = len(records) if total is None else total
    count = say("count_one") if total == 1 else say("count_many", n=total)
    head = (f"<p><span style='font-size:15pt'><b>{_e(say('title'))}</b></span><br>"
            f"{_e(say('printed', when=printed, log=log_name))} · {_e(count)}</p><h3>{_e(say('summary'))}</h3>"
            if first else "")
    if not records:
        return f"<html><body style='font-family: sans-serif; font-size: 9pt;'>{head}<p style='font-size:12pt'>" \
               f"{_e(say('nothing'))}</p></body></html>"
    cols = ("col_id", "col_time", "col_where", "col_mode", "col_pack", "col_verdict", "col_conf", "col_review",
            "col_chain")
    widths = (4, 11, 10, 9, 12, 20, 12, 15, 7)  # percent of the page width; the verdict gets the most
    header = "".join(f"<th align='left' width='{w}%' bgcolor='#e8eaed'>{_e(say(c))}</th>" for c, w in zip(cols, widths))
    rows = []
    for i, rec in enumerate(records):
        lang = verdict_language(rec.pack_id, ctx.language)
        conf = "—" if rec.confidence is None else pct(rec.confidence, ctx.language)
        where = f"{rec.station or '—'}<br>{_e(rec.operator or '—')}"
        shade = " bgcolor='#f6f7f8'" if i % 2 else ""
        rows.append(
            f"<tr{shade}><td>{rec.id}</td><td>{_e(rec.time_local.strftime('%Y-%m-%d'))}<br>"
            f"{_e(rec.time_local.strftime('%H:%M'))}</td>"
            f"<td>{where}</td><td>{_e(_mode_word(rec.mode, say))}</td>"
            f"<td>{_e(rec.pack_id)} {_e(rec.pack_version)}</td>"
            f"<td><span style='color:{_verdict_colour(rec)}'><b>{_e(wording.headline(rec.decision, lang))}</b></span></td>"
            f"<td align='right'>{_e(conf)}</td><td>{_e(_review_words(rec, ctx))}</td><td>{rec.seq}</td></tr>")
    return (f"<html><body style='font-family: sans-serif; font-size: 7.5pt;'>{head}"
            "<table width='100%' cellspacing='0' cellpadding='3' border='0'>"
            f"<thead><tr>{header}</tr></thead>{''.join(rows)}</table></body></html>")


def signoff_html(n: int, head_text: str, ctx: _Context, prepared_by: str = "") -> str:
    """The sign-off block: who prepared and who reviewed the report, with lines to sign on."""
    say = ctx.say
    rows = []
    for key, name in (("prepared_by", prepared_by), ("reviewed_by", "")):
        # Names are printed when known; otherwise a line to write on. Lines sit under small labels.
        shown = f"<b>{_e(name)}</b><br>{'_' * 26}" if name else f"&nbsp;<br>{'_' * 26}"
        rows.append(f"<tr><td width='18%' valign='bottom'><b>{_e(say(key))}</b></td>"
                    f"<td width='30%' valign='bottom'>{shown}</td>"
                    f"<td width='32%' valign='bottom'>&nbsp;<br>{'_' * 30}</td>"
                    f"<td width='20%' valign='bottom'>&nbsp;<br>{'_' * 16}</td></tr>")
    labels = (f"<tr><td></td><td style='font-size:7pt'>{_e(say('name'))}</td>"
              f"<td style='font-size:7pt'>{_e(say('signature'))}</td><td style='font-size:7pt'>{_e(say('date'))}</td></tr>")
    spacer = "<tr><td colspan='4'>&nbsp;</td></tr>"
    return (f"<html><body style='font-family: sans-serif; font-size: 9pt;'><h3>{_e(say('signoff'))}</h3>"
            f"<p>{_e(say('signoff_text', n=n, head=head_text))}</p>"
            f"<table width='100%' cellspacing='0' cellpadding='4'>{rows[0]}{labels}{spacer}{rows[1]}{labels}</table>"
            "</body></html>")


# -- one inspection ----------------------------------------------------------------------------------
def _review_html(rec: InspectionRecord, reviews: Sequence[Review], ctx: _Context) -> str:
    say = ctx.say
    if not reviews:
        return f"<p><i>{_e(say('not_reviewed'))}</i></p>"
    rows = []
    for r in reviews:
        label = (f" → <b>{_e(class_label(rec.pack_id, r.corrected_label, ctx.language))}</b>"
                 if r.corrected_label else "")
        rows.append(f"<tr><td>{_e(r.time_local.strftime('%Y-%m-%d %H:%M'))}</td><td><b>{_e(say('decision_' + r.decision) if r.decision in ('confirm', 'overturn', 'escalate') else r.decision)}</b>{label}</td>"
                    f"<td>{_e(r.by)}</td></tr>")
        if r.note:  # the note gets the whole width, and flows on to the next page when it is long
            rows.append(f"<tr><td></td><td colspan='2'><i>{_e(say('why'))}:</i> {_e(r.note)}</td></tr>")
    return ("<table width='100%' cellspacing='0' cellpadding='3' border='0'>"
            f"<tr><th align='left' width='18%'>{_e(say('when'))}</th><th align='left' width='52%'>{_e(say('decision'))}</th>"
            f"<th align='left' width='30%'>{_e(say('by'))}</th></tr>" + "".join(rows) +
            f"</table><p style='font-size:7pt'>{_e(say('latest_in_force'))}</p>")


def _in_force(rec: InspectionRecord, ctx: _Context) -> str:
    r, say = rec.latest_review, ctx.say
    if r is None:
        return ""
    if rec.refused and r.decision == "confirm":
        return f"<p><b>{_e(say('in_force_refused', by=r.by))}</b></p>"
    name = lambda label: class_label(rec.pack_id, label or "", ctx.language)  # noqa: E731
    if r.decision == "overturn":
        return f"<p><b>{_e(say('in_force_overturn', label=name(rec.final_label), machine=name(rec.label), by=r.by))}</b></p>"
    if r.decision == "confirm":
        return f"<p><b>{_e(say('in_force_confirm', label=name(rec.label), by=r.by))}</b></p>"
    return f"<p><b>{_e(say('in_force_escalate', by=r.by))}</b></p>"


def _heatmap_class(rec: InspectionRecord) -> tuple[str | None, str]:
    """The class the record's heatmap shows and on what basis (inference.wording.heatmap_caption):
    the pack's fixed heatmap class, else the most probable class (the cam output is the argmax
    class's map, which an alarm threshold can make differ from the verdict's); None when the pack is
    not installed here (which of the two it was is not known)."""
    from gui.wording import _manifest

    m = _manifest(rec.pack_id)
    if m is None:
        return None, "fixed"
    if m.decision.heatmap_class is not None:
        return m.decision.heatmap_class, "fixed"
    probs = rec.probabilities or {}
    return (max(probs, key=probs.get) if probs else None), "most_probable"


def _yes(v: bool | None, say: Callable[..., str]) -> str:
    return say("not_done") if v is None else (say("yes") if v else say("no"))


def _domain_html(rec: InspectionRecord, ctx: _Context) -> str:
    say, parts = ctx.say, []
    if rec.seal:
        s = rec.seal
        check = {"valid": say("check_ok"), "bad-check-digit": say("check_bad"),
                 "bad-format": say("check_format")}.get(rec.container_check or "", "")
        parts.append(f"<b>{_e(say('seal'))}</b> {_e(s.seal_number or '—')} · {_e(say('seal_class'))} "
                     f"{_e(s.seal_class or '—')}<br><b>{_e(say('container'))}</b> {_e(s.container_number or '—')} "
                     f"{_e(check)}<br><b>{_e(say('vvtt'))}</b> " +
                     " · ".join(f"{_e(say(k))} {_e(_yes(getattr(s, k), say))}"
                                for k in ("view", "verify", "tug", "twist")))
    if rec.signature:
        g = rec.signature
        refs = ", ".join(f"#{r}" for r in g.reference_ids) or "—"
        parts.append(f"<b>{_e(say('customer'))}</b> {_e(g.customer_id)} · {_e(say('document'))} "
                     f"{_e(g.document_ref or '—')}<br><b>{_e(say('ref'))}</b> {_e(refs)}")
    if rec.skin:
        patient = rec.skin.patient_ref if ctx.include_private else (say("withheld") if rec.skin.patient_ref else "—")
        parts.append(f"<b>{_e(say('patient'))}</b> {_e(patient or '—')} · {_e(say('body_site'))} "
                     f"{_e(rec.skin.body_site or '—')}<br><i>{_e(say('decision_support'))}</i>")
    elif rec.mode == "skin":
        parts.append(f"<i>{_e(say('decision_support'))}</i>")
    return "<br>".join(parts)


def _picture_cell(url: str, size: tuple[int, int] | None, caption: str, missing: str, box: tuple[float, float]) -> str:
    if size is None:
        return f"<td width='50%' align='center' valign='top'><i>{_e(missing)}</i></td>"
    w, h = size
    scale = min(box[0] / w, box[1] / h)
    return (f"<td width='50%' align='center' valign='top'><img src='{url}' width='{int(w * scale)}' "
            f"height='{int(h * scale)}'><br><span style='font-size:7pt'>{_e(caption)}</span></td>")


def _signature_html(rec: InspectionRecord, detail: Any, overlay_size: tuple[int, int] | None, ctx: _Context) -> str:
    """The signature page's own part: score and threshold, the overlay and each reference's score."""
    say, g = ctx.say, rec.signature
    parts = [f"<h3>{_e(say('signature_check'))}</h3>"]
    if g.score is not None and g.threshold is not None:
        parts.append(f"<p>{_e(say('score_threshold', score=pct(g.score, ctx.language), threshold=pct(g.threshold, ctx.language)))}</p>")
    if detail is None:
        return "".join(parts)
    if detail.missing:
        why = say(detail.missing, **detail.params)
        parts.append(f"<p><i>{_e(say('refs_missing', why=why))}</i></p>")
        return "".join(parts)
    rows = []
    for i, r in enumerate(detail.references):
        mark = f" <b>{_e(say('closest'))}</b>" if i == detail.closest else ""
        colour = "#1b5e20" if g.threshold is None or r.score >= g.threshold else "#b00020"
        rows.append(f"<tr><td>#{r.ref_id}{mark}</td><td>{_e(r.enrolled)}</td><td>{_e(r.source_document or '—')}</td>"
                    f"<td align='right'><span style='color:{colour}'>{_e(pct(r.score, ctx.language))}</span></td></tr>")
    table = (f"<table cellspacing='0' cellpadding='3'><tr><th align='left'>{_e(say('ref'))}</th>"
             f"<th align='left'>{_e(say('enrolled'))}</th><th align='left'>{_e(say('from_document'))}</th>"
             f"<th align='right'>{_e(say('score'))}</th></tr>{''.join(rows)}</table>")
    closest = detail.references[detail.closest].ref_id if detail.closest is not None and detail.references else "?"
    small = (ctx.box[0] * 0.8, ctx.box[1] * 0.5)  # the overlay is a square canvas: keep the page to one sheet
    picture = _picture_cell("tilik://overlay", overlay_size, say("overlay_caption", ref=closest), "", small)
    parts.append(f"<table width='100%' cellspacing='4'><tr>{picture}<td valign='top'>{table}</td></tr></table>")
    note = say("refs_recomputed") if detail.matches_record else say(
        "refs_differ", score=pct(detail.score, ctx.language), recorded=pct(g.score or 0.0, ctx.language))
    parts.append(f"<p style='font-size:7pt'>{_e(note)}</p>")
    return "".join(parts)


def detail_html(rec: InspectionRecord, reviews: Sequence[Review], ctx: _Context, *,
                image_size: tuple[int, int] | None = None, heat_size: tuple[int, int] | None = None,
                detail: Any = None, overlay_size: tuple[int, int] | None = None, heat_empty: bool = False) -> str:
    """One inspection's section (it may run over several pages; the footer is drawn separately).
    ``heat_empty``: the stored heatmap is zero everywhere (its caption says no evidence was found)."""
    say, lang = ctx.say, verdict_language(rec.pack_id, ctx.language)
    v = rec.decision
    probs = sorted(rec.probabilities.items(), key=lambda kv: -kv[1])[:8]
    prob_rows = "".join(f"<tr><td>{_e(class_label(rec.pack_id, k, ctx.language))}</td>"
                        f"<td align='right'>{_e(pct(p, ctx.language))}</td></tr>" for k, p in probs)
    if v.refused:
        prob_rows = f"<tr><td colspan='2'><i>{_e(say('refused_no_class'))}</i></td></tr>"
    flags = []
    reasons = wording.reasons_text(v, lang)
    if reasons and not v.refused:
        flags.append(f"<b>{_e(say('needs_review'))}</b> " + _e("; ".join(reasons)))
    if rec.guard and rec.guard.get("flagged"):
        flags.append(f"<b>{_e(say('guard_flagged'))}</b>")
    heat_name, heat_basis = _heatmap_class(rec)
    heat_caption = wording.heatmap_caption(class_label(rec.pack_id, heat_name, ctx.language) if heat_name else "",
                                           lang, class_name=heat_name or "", verdict=v, basis=heat_basis,
                                           empty=heat_empty)
    pictures = (_picture_cell("tilik://image", image_size, say("image", kind=say("kind_" + rec.image_kind) if rec.image_kind in ("original", "thumbnail")
                                                     else rec.image_kind), say("no_image"), ctx.box) +
                _picture_cell("tilik://heat", heat_size, heat_caption, say("no_heatmap"), ctx.box))
    signature = _signature_html(rec, detail, overlay_size, ctx) if rec.signature else ""
    details = ""
    if rec.ood_score is not None:
        details += f"<tr><td>{_e(say('ood_score'))}</td><td>{rec.ood_score:.3f}</td></tr>"
    if rec.guard and rec.guard.get("reasons"):
        details += f"<tr><td>{_e(say('input_guard'))}</td><td>{_e('; '.join(rec.guard.get('reasons', [])))}</td></tr>"
    return f"""
<html><body style="font-family: sans-serif; font-size: 9pt;">
<p><span style="font-size:15pt"><b>{_e(say('details', id=rec.id))}</b></span><br>
{_e(rec.time_local.strftime('%Y-%m-%d %H:%M:%S %z'))} · {_e(_mode_word(rec.mode, say))}
· {_e(say('operator', who=rec.operator or '—'))} · {_e(say('station', where=rec.station or '—'))}</p>
<hr>
<table width="100%" cellspacing="4"><tr>{pictures}</tr></table>
<p><span style="font-size:16pt; color:{_verdict_colour(rec)}"><b>{_e(wording.headline(v, lang))}</b></span>
&nbsp; {_e(wording.number_line(v, lang))}</p>
{''.join(f'<p>{f}</p>' for f in flags)}
<table width="100%"><tr><td width="40%" valign="top">
<table cellspacing="0" cellpadding="2"><tr><th align="left">{_e(say('class'))}</th>
<th align="right">{_e(say('probability'))}</th></tr>{prob_rows}</table>
</td><td valign="top">{_domain_html(rec, ctx)}</td></tr></table>
{signature}
<h3 style="margin-top:14px">{_e(say('review'))}</h3>
{_in_force(rec, ctx)}
{_review_html(rec, reviews, ctx)}
<h3 style="margin-top:14px">{_e(say('provenance'))}</h3>
<table cellspacing="0" cellpadding="1" style="font-size:7.5pt">
<tr><td>{_e(say('pack'))}</td><td>{_e(rec.pack_id)} {_e(rec.pack_version)} · model SHA-256 {_e(rec.pack_sha256)}</td></tr>
<tr><td>{_e(say('manifest'))}</td><td>SHA-256 {_e(rec.manifest_sha256 or say('no_manifest_hash'))}</td></tr>
<tr><td>{_e(say('run_on'))}</td><td>{_e(rec.provider)} · {_e(rec.app_version)}</td></tr>
<tr><td>{_e(say('input_image'))}</td><td>SHA-256 {_e(rec.image_sha256)} · {_e(rec.image_width)}×{_e(rec.image_height)}</td></tr>
<tr><td>{_e(say('stored_file'))}</td><td>{_e(rec.image_file or '—')}</td></tr>
<tr><td>{_e(say('source'))}</td><td>{_e(rec.source or say('not_stored'))}</td></tr>
<tr><td>{_e(say('log_row'))}</td><td>{_e(say('chain_position', seq=rec.seq, hash=rec.hash))}</td></tr>
{details}
</table>
</body></html>"""


# -- footer ------------------------------------------------------------------------------------------
def _signed_words(head: Any, say: Callable[..., str] | None = None) -> str:
    """The head's signature for the footer (issue #22): the same signed head is noted in the
    station's anchors file, and ``tilik log verify`` checks it later."""
    say = say or words("en")
    if head is None:  # a report from the central copy: its server is the anchor
        return ""
    signed = getattr(head, "signed", None)
    if signed is None or (signed.seq, signed.hash) != (head.seq, head.hash):
        return say("head_unsigned")
    return say("head_signed", key=signed.key_id, station=signed.station, time=signed.time_utc,
               signature=signed.signature)


# -- writing ------------------------------------------------------------------------------------------
class _Pages:
    """Draws paginated documents onto the PDF, each page with its footer."""

    def __init__(self, writer: Any, painter: Any, width: float, body_h: float, footer_h: float) -> None:
        self.writer, self.painter = writer, painter
        self.width, self.body_h, self.footer_h = width, body_h, footer_h
        self.page = 0  # pages started so far
        self.total = 0

    def document(self, text: str, resources: dict[str, Any] | None = None) -> Any:
        from PySide6.QtCore import QSizeF, QUrl
        from PySide6.QtGui import QTextDocument

        doc = QTextDocument()
        doc.documentLayout().setPaintDevice(self.writer)
        doc.setDocumentMargin(0)
        for url, image in (resources or {}).items():
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(url), image)
        doc.setHtml(text)
        doc.setPageSize(QSizeF(self.width, self.body_h))
        return doc

    @staticmethod
    def used_on_last_page(doc: Any, body_h: float) -> float:
        """How far down its last page a paginated document's text reaches."""
        bottom = doc.documentLayout().blockBoundingRect(doc.lastBlock()).bottom()
        pages = max(1, doc.pageCount())
        return max(0.0, min(body_h, bottom - (pages - 1) * body_h))

    def new_page(self) -> None:
        if self.page:
            self.writer.newPage()
        self.page += 1

    def draw(self, doc: Any, footer: str, *, offset: float = 0.0, fresh_page: bool = True) -> None:
        """Draw every page of ``doc`` (the first at ``offset`` on the current page when not fresh)."""
        from PySide6.QtCore import QRectF

        for index in range(max(1, doc.pageCount())):
            fresh = fresh_page or index > 0
            if fresh:
                self.new_page()
            top = 0.0 if fresh else offset
            self.painter.save()
            self.painter.translate(0, top - index * self.body_h)
            doc.drawContents(self.painter, QRectF(0, index * self.body_h, self.width, self.body_h - top))
            self.painter.restore()
            if fresh:  # after the body, so text extraction reads a page top to bottom
                self._footer(footer)

    def _footer(self, text: str) -> None:
        from PySide6.QtCore import QRectF

        doc = self.document(text.replace("{page}", str(self.page)).replace("{pages}", str(self.total)))
        self.painter.save()
        self.painter.translate(0, self.body_h + (self.footer_h - doc.size().height()))
        doc.drawContents(self.painter, QRectF(0, 0, self.width, self.footer_h))
        self.painter.restore()


def _summary_pages(pages: _Pages, records: Sequence[InspectionRecord], ctx: _Context, **kw: Any) -> list[Any]:
    """The summary table cut into pages between rows (a row is never split over two pages), each
    page a document of its own with the table's header row."""
    if not records:
        return [pages.document(summary_html(records, ctx, **kw))]
    docs: list[Any] = []
    start = 0
    while start < len(records):
        def page(end: int) -> Any:
            return pages.document(summary_html(records[start:end], ctx, total=len(records), first=not docs, **kw))

        # The most rows that fit on one page: grow in doubling steps, then bisect.
        fits, step = start + 1, 16
        while fits < len(records) and page(min(len(records), fits + step)).pageCount() <= 1:
            fits, step = min(len(records), fits + step), step * 2
        high = min(len(records), fits + step)
        while high - fits > 1:
            middle = (fits + high) // 2
            if page(middle).pageCount() <= 1:
                fits = middle
            else:
                high = middle
        docs.append(page(fits))  # one row taller than a page still gets a page (and flows on)
        start = fits
    return docs


def write_report(log: Any, records: Sequence[InspectionRecord], out: Path | str, *,
                 include_private: bool = False, status: ChainStatus | None = None, head: Any = None,
                 language: str | None = None, details: bool = True, prepared_by: str = "",
                 signature_details: Callable[[InspectionRecord], Any] | None = None) -> int:
    """Write the report of ``records`` to ``out`` (PDF): summary table, sign-off, then (with
    ``details``) one section per record. Returns the number of pages.

    ``status`` is the chain verification to print in the footer (verified now when None); ``head``
    the signed head (:class:`inference.log.anchors.CurrentHead`) it prints beside it; ``language``
    "en" or "id" (default: the app's language, else English); ``signature_details`` gives a
    signature record's per-reference scores and overlay (default: recomputed,
    :class:`gui.report_signature.SignatureDetails`).
    """
    _ensure_gui_app()
    from PySide6.QtCore import QMarginsF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    out = Path(out)
    if not out.parent.is_dir():
        raise StorageError(f"Cannot write the report to {out}: the folder {out.parent} does not exist.")
    language = report_language(language)
    say = words(language)
    status = status or log.verify_chain()
    if signature_details is None and details and any(r.signature is not None for r in records):
        from gui.report_signature import SignatureDetails

        signature_details = SignatureDetails(log)
    when = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M %z")
    chain = (say("chain_ok", n=status.checked) if status.ok
             else say("chain_broken", where=status.where, reason=status.reason))
    footer_words = _e(say("footer", when=when, log=log.path.name, seq=status.head_seq, hash=status.head_hash,
                          chain=chain) + _signed_words(head, say))

    writer = QPdfWriter(str(out))
    writer.setTitle(say("title"))
    writer.setCreator("Tilik")
    writer.setResolution(RESOLUTION)
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(14, 12, 14, 10), QPageLayout.Unit.Millimeter))
    painter = QPainter()
    if not painter.begin(writer):
        raise StorageError(f"Cannot write the report to {out} (folder read-only, or the file is open elsewhere?).")
    try:
        area = writer.pageLayout().paintRectPixels(writer.resolution())
        width, height = float(area.width()), float(area.height())
        # Rich-text image sizes are in 96-dpi pixels, whatever the device: size the picture box in those.
        logical = 96.0 / writer.resolution()
        ctx = _Context(language, say, include_private, (width * 0.46 * logical, height * 0.27 * logical),
                       signature_details if details else None)

        def footer(where: str) -> str:
            return (f"<table width='100%' cellspacing='0' cellpadding='0' style='font-family: sans-serif; "
                    f"font-size:6.5pt'><tr><td colspan='2'><hr></td></tr><tr><td><b>{_e(where)}</b></td>"
                    f"<td align='right'><b>{_e(say('page', page='{page}', pages='{pages}'))}</b></td></tr>"
                    f"<tr><td colspan='2'>{footer_words}</td></tr></table>")

        probe = _Pages(writer, painter, width, height, 0.0).document(footer(say("title")))
        footer_h = probe.size().height() + 6
        pages = _Pages(writer, painter, width, height - footer_h, footer_h)
        summary = _summary_pages(pages, records, ctx, printed=when, log_name=log.path.name)
        signoff = pages.document(signoff_html(len(records), f"{status.head_seq}:{status.head_hash}", ctx,
                                              prepared_by)) if records else None
        used = pages.used_on_last_page(summary[-1], pages.body_h)
        signoff_apart = signoff is not None and used + 12 + signoff.size().height() > pages.body_h

        def detail_doc(rec: InspectionRecord) -> Any:
            resources: dict[str, Any] = {}
            try:  # a stored file that is not an allowed image (e.g. an EPS swapped in) is left out, not run
                rgb = log.image_array(rec) if rec.image_file else None
            except TilikError:
                rgb = None
            heat = log.heatmap_array(rec) if rec.heatmap_file else None
            image_size = heat_size = overlay_size = None
            if rgb is not None:
                resources["tilik://image"] = _qimage(rgb)
                image_size = (rgb.shape[1], rgb.shape[0])
            if heat is not None:
                picture = overlay(rgb, heat) if rgb is not None else colorize(heat)
                resources["tilik://heat"] = _qimage(picture)
                heat_size = (picture.shape[1], picture.shape[0])
            detail = ctx.signature_details(rec) if ctx.signature_details and rec.signature else None
            if detail is not None and detail.overlay is not None:
                resources["tilik://overlay"] = _qimage(detail.overlay)
                overlay_size = (detail.overlay.shape[1], detail.overlay.shape[0])
            return pages.document(detail_html(rec, log.reviews(rec.id), ctx, image_size=image_size,
                                              heat_size=heat_size, detail=detail, overlay_size=overlay_size,
                                              heat_empty=wording.heatmap_is_empty(heat)),
                                  resources)

        # First count every page (for "page X of Y"), then draw; a section is laid out twice rather
        # than holding every record's pictures in memory at once.
        counts = [max(1, detail_doc(rec).pageCount()) for rec in records] if details else []
        pages.total = sum(max(1, d.pageCount()) for d in summary) + (1 if signoff_apart else 0) + sum(counts)
        for doc in summary:
            pages.draw(doc, footer(say("summary")))
        if signoff is not None:
            if signoff_apart:
                pages.draw(signoff, footer(say("signoff")))
            else:
                pages.draw(signoff, footer(say("summary")), offset=used + 12, fresh_page=False)
        if details:
            for rec in records:
                pages.draw(detail_doc(rec), footer(say("continued", id=rec.id, seq=rec.seq)))
    finally:
        painter.end()
    return pages.page


def export_pdf(log: Any, q: LogQuery | None, out: Path | str, *, include_private: bool = False,
               max_pages: int = 5000, language: str | None = None, details: bool = True,
               prepared_by: str = "") -> int:
    """Report every inspection matching ``q`` (oldest first): summary, sign-off, then one section
    each; returns pages written. The log's signed head is printed in the footer and noted in the
    station's anchors file."""
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
    pages = write_report(log, records, out, include_private=include_private, status=status, head=head,
                         language=language, details=details, prepared_by=prepared_by)
    if head is not None:
        anchors.note_head(log, "pdf", target=out, head=head)
    return pages
