"""Signature mode's result: the verdict in words, the score against the threshold, the query with
its heatmap, the red/green/yellow overlay against the closest reference (registered onto it first:
scale, rotation and shift, signature-verify 3), per-reference scores on the same scale as the overall
score (which is their median, so it lies within their range), and the review and too-few-references
warnings."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QLocale, Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QScrollArea,
                               QSizePolicy, QSplitter, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from gui import wording
from gui.widgets.common import (ALARM, CALM, REFUSED, REVIEW, Banner, caption_label, elide_middle, headline, pct,
                                scroll_body)
from gui.widgets.image_view import ImageView

# The overlay's colours (inference.signature.overlay): ink only in the reference, only in the query, in both.
OVERLAY_COLOURS = {"reference": "#dc3232", "query": "#28a03c", "both": "#e6be00"}


def signature_verdict(result: Any) -> tuple[str, str]:
    """(words, colour) of a verification verdict: never colour alone. The words are the core's
    (inference.wording through gui.wording), the same as the PDF, the CSV and the CLI."""
    v = wording.verdict_of(result)
    if v.label == "forged":
        colour = ALARM
    elif v.outcome == "review":
        colour = REVIEW
    else:
        colour = CALM
    return wording.headline(result), colour


class OverlayLegend(QLabel):
    """Colour swatches with words: what red, green and yellow mean in the overlay (wraps when narrow)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.words: dict[str, str] = {}
        self.retranslate()

    def retranslate(self) -> None:
        self.words = {"reference": self.tr("Red: ink only in the reference"),
                      "query": self.tr("Green: ink only in the signature checked"),
                      "both": self.tr("Yellow: ink in both (within 2 px)")}
        parts = [f"<span style='color:{OVERLAY_COLOURS[k]}; font-size:large'>■</span>&nbsp;{html.escape(v)}"
                 for k, v in self.words.items()]
        self.setText("&nbsp;&nbsp;&nbsp; ".join(parts))

    def plain_text(self) -> str:
        return " · ".join(self.words.values())

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)


class SignatureView(QSplitter):
    """Centre and right of the Inspect tab in Signature mode."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)

        # -- pictures -------------------------------------------------------------------------------
        pictures = QWidget()
        pl = QVBoxLayout(pictures)
        pl.setContentsMargins(0, 0, 0, 0)
        pl.setSpacing(4)
        head = QHBoxLayout()
        self.query_title = QLabel()
        self.query_title.setObjectName("sectionTitle")
        bold = QFont(self.font())
        bold.setBold(True)
        self.query_title.setFont(bold)
        head.addWidget(self.query_title)
        head.addStretch(1)
        self.heat_toggle = QCheckBox()
        self.heat_toggle.setObjectName("signatureHeat")
        self.heat_toggle.setChecked(True)
        head.addWidget(self.heat_toggle)
        pl.addLayout(head)
        self.caption = caption_label("signatureCaption")
        pl.addWidget(self.caption)
        self.query_view = ImageView()
        self.query_view.setObjectName("signatureQuery")
        self.query_view.setBackgroundBrush(QColor("#eceff1"))
        self.query_view.setMinimumHeight(140)
        self.heat_toggle.toggled.connect(self.query_view.set_overlay_visible)
        pl.addWidget(self.query_view, 1)
        self.overlay_title = QLabel()
        self.overlay_title.setFont(bold)
        self.overlay_title.setWordWrap(True)
        pl.addWidget(self.overlay_title)
        self.overlay_view = ImageView()
        self.overlay_view.setObjectName("signatureOverlay")
        self.overlay_view.setBackgroundBrush(QColor("#eceff1"))
        self.overlay_view.setMinimumHeight(140)
        pl.addWidget(self.overlay_view, 1)
        self.legend = OverlayLegend()
        self.legend.setObjectName("overlayLegend")
        pl.addWidget(self.legend)
        self.addWidget(pictures)

        # -- verdict ---------------------------------------------------------------------------------
        panel = QScrollArea()
        panel.setObjectName("signatureResult")
        layout = scroll_body(panel, 320, (12, 0, 4, 12))
        self.verdict = headline("signatureVerdict", self, 1.8, 17.0, verdict=True)
        layout.addWidget(self.verdict)
        self.score = headline("signatureScore", self, 1.2)
        layout.addWidget(self.score)
        self.thresholds = QLabel()
        self.thresholds.setObjectName("signatureThresholds")
        self.thresholds.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thresholds.setWordWrap(True)
        self.thresholds.setStyleSheet("color: #455a64;")
        layout.addWidget(self.thresholds)
        self.few_banner = Banner("warning")
        self.few_banner.setObjectName("fewReferencesBanner")
        layout.addWidget(self.few_banner)
        self.review_banner = Banner("warning")
        self.review_banner.setObjectName("signatureReviewBanner")
        layout.addWidget(self.review_banner)
        self.error_banner = Banner("error")
        self.error_banner.setObjectName("signatureErrorBanner")
        layout.addWidget(self.error_banner)
        self.refs_title = QLabel()
        self.refs_title.setFont(bold)
        self.refs_title.setWordWrap(True)
        layout.addWidget(self.refs_title)
        self.ref_table = QTableWidget(0, 3)
        self.ref_table.setObjectName("referenceScores")
        self.ref_table.verticalHeader().hide()
        self.ref_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.ref_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.ref_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        header = self.ref_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.ref_table.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        layout.addWidget(self.ref_table)
        self.details = QLabel()
        self.details.setObjectName("signatureDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setStyleSheet("color: #546e7a;")
        layout.addWidget(self.details)
        layout.addStretch(1)
        self.addWidget(panel)
        self.panel = panel
        self.setStretchFactor(0, 1)
        self.setStretchFactor(1, 0)
        self.setSizes([720, 360])

        self._state: tuple[str, Any] = ("empty", None)
        self.policy: Any = None        # gui.signature_worker.PackPolicy of the pack in use
        self.active_references = 0      # the loaded customer's active references (for the warning)
        self.record_note = ""
        self.retranslate()

    # -- public ---------------------------------------------------------------------------------
    def show_empty(self) -> None:
        self._state = ("empty", None)
        self._render()

    def show_busy(self, source: str) -> None:
        self._state = ("busy", source)
        self._render()

    def show_error(self, message: str, source: str = "", headline: str = "") -> None:
        """An error, or (``headline`` given, e.g. "Refused: not a signature") a refused query."""
        self._state = ("error", (message, source, headline))
        self.record_note = ""
        self._render()

    def show_check(self, check: Any, record_note: str = "") -> None:
        self._state = ("result", check)
        self.record_note = record_note
        self._render()

    def set_record_note(self, note: str) -> None:
        self.record_note = note
        if self._state[0] == "result":
            self._render_details(self._state[1])

    def set_references_state(self, policy: Any, active: int) -> None:
        """The pack's policy and how many active references the loaded customer has."""
        self.policy = policy
        self.active_references = active
        if self._state[0] != "result":
            self._render()

    def check(self) -> Any:
        return self._state[1] if self._state[0] == "result" else None

    def set_heatmap_visible(self, on: bool) -> None:
        self.heat_toggle.setChecked(on)

    def reference_rows(self) -> list[tuple[str, str, str]]:
        """The per-reference table as text (tests and accessibility)."""
        t = self.ref_table
        return [tuple(t.item(r, c).text() if t.item(r, c) else "" for c in range(3))  # type: ignore[misc]
                for r in range(t.rowCount())]

    # -- drawing --------------------------------------------------------------------------------
    def _set_verdict(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(
            f"QLabel#signatureVerdict {{ background: {colour}; color: white; border-radius: 8px; padding: 12px; }}")

    def _few_text(self, n: int) -> str:
        m = self.policy.min_references if self.policy is not None else 1
        if n >= m:
            return ""
        return self.tr("Fewer than {m} references: this customer has {n}. The pack's stated accuracy needs at "
                       "least {m}; treat the result with caution and enrol more specimen signatures.").format(m=m, n=n)

    def _render(self) -> None:
        kind, value = self._state
        for w in (self.few_banner, self.review_banner, self.error_banner):
            w.hide()
        self.thresholds.setText("")
        self.details.setText("")
        if kind != "result":
            self.query_view.clear()
            self.overlay_view.clear()
            self.ref_table.setRowCount(0)
            self.ref_table.hide()
            self.refs_title.hide()
            self.caption.setText("")
            self.caption.setToolTip("")
            self.overlay_title.setText(self.tr("Overlay against the closest reference"))
        if kind == "empty":
            self._set_verdict(self.tr("No signature checked yet"), "#90a4ae")
            self.score.setText(self.tr("Find or enrol the customer, then open, drop, paste or capture the signature "
                                       "to check."))
            few = self._few_text(self.active_references) if self.active_references else ""
            if few:
                self.few_banner.set_text(few)
                self.few_banner.show()
            return
        if kind == "busy":
            self._set_verdict(self.tr("Checking the signature…"), "#78909c")
            self.score.setText(value)
            return
        if kind == "error":
            message, source, headline = value
            self._set_verdict(headline or self.tr("Could not check this signature"), REFUSED)
            self.score.setText("")
            self.error_banner.set_text(message)
            self.error_banner.show()
            self.caption.setText(source)
            self.caption.setToolTip(source)
            return
        self._render_check(value)

    def _render_check(self, c: Any) -> None:
        r = c.result
        text, colour = signature_verdict(r)
        self._set_verdict(text, colour)
        self.score.setText(wording.number_line(r))
        n = len(r.reference_scores)
        lines = []
        if r.operating_point == "strict":
            lines.append(self.tr("Strict threshold for high-value documents, {n} references").format(n=n))
        else:
            lines.append(self.tr("Standard threshold for {n} references").format(n=n))
            strict = self.policy.strict_threshold(n) if self.policy is not None else None
            if strict is not None:
                if r.score >= strict:
                    text = self.tr("Strict threshold for high-value documents: {threshold} (this score passes it)")
                else:
                    text = self.tr("Strict threshold for high-value documents: {threshold} (this score does not "
                                   "pass it)")
                lines.append(text.format(threshold=pct(strict)))
        band = self.policy.review_band(n) if self.policy is not None else None
        if band is not None:
            lines.append(self.tr("Scores from {low} to {high} go to review").format(low=pct(band[0]),
                                                                                   high=pct(band[1])))
        self.thresholds.setText("\n".join(lines))

        few = self._few_text(n)
        if few:
            self.few_banner.set_text(few)
            self.few_banner.show()
        reasons = wording.reasons(r)
        if reasons:
            self.review_banner.set_text("\n".join([self.tr("Needs review by a person")] + ["• " + x for x in reasons]))
            self.review_banner.show()

        self.query_view.set_image(c.query, c.heat)
        self.query_view.set_overlay_visible(self.heat_toggle.isChecked())
        self.heat_toggle.setEnabled(c.heat is not None)
        self.overlay_view.set_image(c.overlay)
        closest = c.references[r.closest_reference] if 0 <= r.closest_reference < len(c.references) else None
        title = (self.tr("Overlay against the closest reference (#{id})").format(id=closest.id)
                 if closest is not None else self.tr("Overlay against the closest reference"))
        self.overlay_title.setText(title + self._registration_text(r))
        heat = self._heatmap_words(r) if c.heat is not None else ""
        # With the heatmap's words the file's name alone, as on the other modes' caption.
        self.caption.setText((elide_middle(Path(c.source).name or c.source, 40) + f"  ·  {heat}") if heat
                             else c.source)
        self.caption.setToolTip(c.source + (f"  ·  {heat}" if heat else ""))

        self.refs_title.setText(self._per_reference_title(r))
        self.refs_title.show()
        t = self.ref_table
        t.setHorizontalHeaderLabels([self.tr("Reference"), self.tr("From document"), self.tr("Score")])
        t.setRowCount(len(r.reference_scores))
        for row, score in enumerate(r.reference_scores):
            ref = c.references[row] if row < len(c.references) else None
            name = f"#{ref.id}" if ref is not None else str(row + 1)
            if row == r.closest_reference:
                name += " ◆"
            items = [QTableWidgetItem(name), QTableWidgetItem(ref.document if ref is not None else ""),
                     QTableWidgetItem(pct(score))]
            items[1].setToolTip(items[1].text())
            items[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            items[2].setForeground(QBrush(QColor(CALM if score >= r.threshold else ALARM)))
            if row == r.closest_reference:
                items[0].setToolTip(self.tr("The closest reference: the overlay is drawn against it"))
                for it in items:
                    f = it.font()
                    f.setBold(True)
                    it.setFont(f)
            for col, it in enumerate(items):
                t.setItem(row, col, it)
        t.resizeRowsToContents()
        height = t.horizontalHeader().height() + sum(t.rowHeight(i) for i in range(t.rowCount())) + 4
        t.setFixedHeight(min(height, 260))
        t.show()
        self._render_details(c)

    def _registration_text(self, r: Any) -> str:
        """How the query was registered onto the reference, and how much of the ink agrees."""
        reg = (r.details or {}).get("registration")
        matched = (r.overlay_counts or {}).get("matched")
        if not reg or matched is None:
            return ""
        loc = QLocale()
        return self.tr(" — aligned (scale ×{scale}, rotation {angle}°): {matched} of the ink agrees").format(
            scale=loc.toString(float(reg["scale"]), "f", 2), angle=loc.toString(float(reg["angle_deg"]), "f", 0),
            matched=pct(float(matched)))

    def _per_reference_title(self, r: Any) -> str:
        """Say how the overall score comes from the per-reference ones (one scale, a robust middle)."""
        scores = list(r.reference_scores)
        how = (r.details or {}).get("aggregate")
        if not how or not scores:
            return self.tr("Score against each reference")
        words = {"median": self.tr("the median"), "trimmed_mean": self.tr("the trimmed mean"),
                 "mean": self.tr("the mean")}.get(how, how)
        return self.tr("Score against each reference (the overall {overall} is {how} of these, which range "
                       "from {low} to {high})").format(overall=pct(r.score), how=words, low=pct(min(scores)),
                                                       high=pct(max(scores)))

    def _render_details(self, c: Any) -> None:
        r = c.result
        loc = QLocale()
        details = [
            self.tr("Customer: {id}").format(id=c.customer_id),
            self.tr("Document: {ref}").format(ref=c.document_ref or "—"),
            self.tr("References used: {ids}").format(ids=", ".join(f"#{i}" for i in c.reference_ids)),
            self.tr("Pack: {pack} {version}").format(pack=r.pack_id, version=r.pack_version),
            self.tr("Ran on: {provider} in {ms} ms").format(provider=r.provider,
                                                              ms=loc.toString(r.timings.total_ms, "f", 0)),
        ]
        details += [self.tr("Note: {note}").format(note=n) for n in r.image_notes]
        if self.record_note:
            details.append(self.record_note)
        self.details.setText("\n".join(details))

    @staticmethod
    def _heatmap_words(r: Any) -> str:
        """What the query's heatmap shows: the signature model's map of its own single-image class
        (the cam output is the argmax class's), which is not the comparison with the references."""
        single = dict(getattr(r, "single_image", None) or {})
        name = max(single, key=single.get) if single else ""
        m = wording._manifest(r.pack_id) if name else None
        label = m.class_label(name) if m is not None else name
        return wording.heatmap_caption(r.pack_id, name, label, None, "signature" if name else "fixed")

    def retranslate(self) -> None:
        self.heat_toggle.setText(self.tr("Heatmap"))
        self.heat_toggle.setToolTip(self.tr("Show where the model looked on the signature (H)"))
        self.query_title.setText(self.tr("Signature checked"))
        self.legend.retranslate()
        self._render()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
