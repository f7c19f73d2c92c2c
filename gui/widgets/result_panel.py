"""The verdict: large, colour-coded and in words; confidence; probabilities; review, guard and OOD notices."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QGridLayout, QLabel, QProgressBar, QScrollArea, QSizePolicy,
                               QWidget)

from gui import wording
from gui.widgets.common import ALARM, CALM, NEUTRAL, REFUSED, REVIEW, Banner, headline, pct, scroll_body

MAX_BARS = 7  # all classes of a 7-class pack; the top few of ImageNet


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - the name lupdate looks for
    return text


def words(text: str) -> str:
    """A word from a pack without its id (an older caller): Qt's translation when it has one."""
    return QCoreApplication.translate("Verdicts", text)


def verdict_text(result: Any) -> str:
    """The verdict headline in the app's language (gui.wording: the core's words, by code)."""
    return wording.headline(result)


# Advice when an image is refused, by mode: what to photograph instead.
_REFUSAL_ADVICE = {
    "skin": QT_TRANSLATE_NOOP("ResultPanel", "Take a close-up, in-focus photo of the lesion alone, in good light."),
    "seal": QT_TRANSLATE_NOOP("ResultPanel", "Photograph the seal itself, close up and in focus."),
    "general": QT_TRANSLATE_NOOP("ResultPanel", "This pack only knows the kinds of photo it was trained on."),
}


class ResultPanel(QScrollArea):
    shown = Signal()  # something new to show (busy, a result, an error): its column brings it to the front

    """Right-hand panel of the Inspect tab."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = scroll_body(self, 300, (12, 12, 12, 12))
        self.verdict = headline("verdict", self, 1.9, 18.0, verdict=True)
        layout.addWidget(self.verdict)
        self.confidence = headline("confidence", self, 1.2)
        layout.addWidget(self.confidence)

        self.review_banner = Banner("warning")
        layout.addWidget(self.review_banner)
        self.ood_banner = Banner("error")
        layout.addWidget(self.ood_banner)
        self.guard_banner = Banner("info")
        layout.addWidget(self.guard_banner)
        # Notes inform without asking for review: which seal profile judged the photo (its heatmap
        # is then the profile's anomaly map), or that the pack learned from generated photos only.
        self.notes_banner = Banner("info")
        self.notes_banner.setObjectName("notesBanner")
        layout.addWidget(self.notes_banner)

        self.bars_title = QLabel()
        self.bars_title.setObjectName("sectionTitle")
        bfont = QFont(self.font())
        bfont.setBold(True)
        self.bars_title.setFont(bfont)
        # Long class names (skin-ham7: "Actinic keratosis / Bowen's disease") and a long "top 3"
        # title must wrap: an unwrapped line widens the panel's body past its viewport and the
        # verdict above it is cut off (issue 21, at 1366×768).
        self.bars_title.setWordWrap(True)
        layout.addWidget(self.bars_title)
        self.bars_box = QWidget()
        self.bars = QGridLayout(self.bars_box)
        self.bars.setContentsMargins(0, 0, 0, 0)
        self.bars.setHorizontalSpacing(8)
        self.bars.setVerticalSpacing(4)
        self.bars.setColumnStretch(1, 1)
        layout.addWidget(self.bars_box)

        self.details = QLabel()
        self.details.setObjectName("details")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setStyleSheet("color: #546e7a;")
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout.addWidget(self.details)
        layout.addStretch(1)

        self._state: tuple[str, Any] = ("empty", None)
        self.mode = "general"
        self.record_note = ""
        self._render()

    # -- public ---------------------------------------------------------------------------------
    def show_empty(self) -> None:
        self._state = ("empty", None)
        self._render()

    def show_busy(self, source: str) -> None:
        self._state = ("busy", source)
        self._render()
        self.shown.emit()

    def show_error(self, message: str) -> None:
        self._state = ("error", message)
        self.record_note = ""
        self._render()
        self.shown.emit()

    def show_result(self, result: Any, mode: str, record_note: str = "") -> None:
        self._state = ("result", result)
        self.mode = mode
        self.record_note = record_note
        self._render()
        self.shown.emit()

    def set_record_note(self, note: str) -> None:
        self.record_note = note
        self._render()

    def result(self) -> Any:
        return self._state[1] if self._state[0] == "result" else None

    def is_refused(self, result: Any, mode: str | None = None) -> bool:
        """The core refused the image (out of domain, blank, noise): no class is presented."""
        if result is None:
            return False
        return bool(getattr(result, "refused", False) or wording.verdict_of(result).refused)

    # -- drawing --------------------------------------------------------------------------------
    def _set_verdict(self, text: str, colour: str) -> None:
        self.verdict.setText(text)
        self.verdict.setStyleSheet(
            f"QLabel#verdict {{ background: {colour}; color: white; border-radius: 8px; padding: 12px; }}")

    def _clear_bars(self) -> None:
        while self.bars.count():
            item = self.bars.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.setParent(None)
                widget.deleteLater()

    def _render(self) -> None:
        kind, value = self._state
        self.review_banner.hide()
        self.ood_banner.hide()
        self.guard_banner.hide()
        self.notes_banner.hide()
        self._clear_bars()
        self.bars_title.hide()
        self.bars_box.hide()
        self.confidence.setText("")
        self.details.setText("")
        if kind == "empty":
            self._set_verdict(self.tr("No image yet"), "#90a4ae")
            self.confidence.setText(self.tr("Open, drop, paste or capture an image to inspect it."))
            return
        if kind == "busy":
            self._set_verdict(self.tr("Inspecting…"), "#78909c")
            self.confidence.setText(value)
            return
        if kind == "error":
            self._set_verdict(self.tr("Could not inspect this image"), REFUSED)
            self.ood_banner.set_text(value)
            self.ood_banner.show()
            return
        self._render_result(value)

    def _render_result(self, r: Any) -> None:
        # Each fact once: the headline says the verdict (or the refusal), the line under it the
        # number it rests on; internal scores (out-of-domain score, guard detectors) are details.
        refused = self.is_refused(r)
        if refused:
            colour = REFUSED
        elif r.needs_review:
            colour = REVIEW
        elif r.alarming:
            colour = ALARM
        elif self.mode == "general":
            colour = NEUTRAL
        else:
            colour = CALM
        self._set_verdict(wording.headline(r), colour)
        self.confidence.setText(wording.number_line(r))
        extra: list[str] = []

        if refused:
            advice = _REFUSAL_ADVICE.get(self.mode, _REFUSAL_ADVICE["general"])
            self.ood_banner.set_text(self.tr("Tilik does not judge this image.") + " "
                                     + QCoreApplication.translate("ResultPanel", advice))
            self.ood_banner.show()
        if r.ood_score is not None:
            limit = getattr(getattr(r, "decision", None), "refusal", None)
            limit = (limit.params.get("threshold") if limit is not None else None)
            extra.append(self.tr("Out-of-domain score: {score}").format(
                score=QLocale().toString(float(r.ood_score), "f", 3))
                + ("" if limit is None else " " + self.tr("(limit {limit})").format(
                    limit=QLocale().toString(float(limit), "f", 3))))

        reasons = wording.reasons(r)
        if reasons and not refused:
            lines = [self.tr("Needs review by a person")] + ["• " + x for x in reasons]
            self.review_banner.set_text("\n".join(lines))
            self.review_banner.show()
        notes = wording.notes(r)
        if notes and not refused:
            # Notes are sentence fragments in the core's wording (they also follow "; " in tables).
            self.notes_banner.set_text("\n".join(n[:1].upper() + n[1:] for n in notes))
            self.notes_banner.show()

        guard = getattr(r, "guard", None)
        if guard is not None:
            # The guard's own out-of-domain detector says what the refusal already said: once only.
            flagged = [str(x) for x in guard.reasons
                       if not (r.out_of_domain and str(x).split(":", 1)[0].strip() == "ood")]
            if guard.flagged and flagged:
                self.guard_banner.set_kind("error")
                lines = [self.tr("Input check: this image looks altered or unusual — do not trust the verdict "
                                 "without a closer look.")]
                lines += ["• " + wording.guard_detector(r, x) for x in flagged]
                mitigated = getattr(r, "mitigated", None)
                if mitigated is not None and not refused:
                    labels = {c.name: c.label for c in r.top_k}
                    lines.append(self.tr("After cleaning the image the model says: {label} ({conf}).").format(
                        label=wording.class_word(r.pack_id, mitigated.label, labels.get(mitigated.label, mitigated.label)),
                        conf=pct(mitigated.confidence)))
                for x in flagged:  # internal scores: the detector, its score and false-alarm rate
                    name = x.split(":", 1)[0].strip()
                    score = guard.detectors.get(name)
                    rate = guard.false_alarm_rate.get(name)
                    detail = name if score is None else f"{name} {QLocale().toString(float(score), 'f', 3)}"
                    if rate is not None:
                        detail += " · " + self.tr("{rate} false alarms on clean images").format(rate=pct(rate))
                    extra.append(self.tr("Input check detector: {detail}").format(detail=detail))
                self.guard_banner.set_text("\n".join(lines))
                self.guard_banner.show()
            elif not guard.flagged:
                self.guard_banner.set_kind("info")
                self.guard_banner.set_text(self.tr("Input check: passed — nothing suggests the image was tampered with."))
                self.guard_banner.show()

        if not refused:
            self._fill_bars(r)
        details = []
        if self.mode == "seal":
            # The seal pack's model card caveat, where the verdict is read (issue 20).
            details.append(self.tr("The seal model was trained on generated photos only: confirm by eye before "
                                   "acting on it."))
        details += [
            self.tr("Pack: {pack} {version}").format(
                pack=wording.pack_word(r.pack_id, "name", "", r.pack_id), version=r.pack_version),
            self.tr("Ran on: {provider} in {ms} ms").format(provider=r.provider,
                                                              ms=QLocale().toString(r.timings.total_ms, "f", 0)),
            self.tr("Image: {w} × {h} px").format(w=r.image_size[0], h=r.image_size[1]),
        ]
        details += extra
        details += [self.tr("Note: {note}").format(note=n) for n in r.image_notes]
        if self.record_note:
            details.append(self.record_note)
        self.details.setText("\n".join(details))

    def _fill_bars(self, r: Any) -> None:
        probs = sorted(r.probabilities.items(), key=lambda kv: -kv[1])
        many = len(probs) > MAX_BARS
        if many:
            shown = [(c.name, c.label, c.probability) for c in r.top_k]
            self.bars_title.setText(self.tr("Top {n} of {total} classes").format(n=len(shown), total=len(probs)))
        else:
            labels = class_labels(r.pack_id)  # every class in words, not only the top 3
            labels.update({c.name: c.label for c in r.top_k})
            shown = [(name, labels.get(name, name), p) for name, p in probs]
            self.bars_title.setText(self.tr("Probabilities"))
        if not many and len(probs) > 2:
            top3 = ", ".join(wording.class_word(r.pack_id, c.name, c.label) for c in r.top_k[:3])
            self.bars_title.setText(self.tr("Probabilities (top 3: {names})").format(names=top3))
        for row, (name, label, p) in enumerate(shown):
            shown_label = wording.class_word(r.pack_id, name, label)
            text = QLabel(shown_label)
            text.setObjectName("barLabel")
            text.setWordWrap(True)
            text.setToolTip(name)
            bar = QProgressBar()
            bar.setObjectName("probability")
            bar.setRange(0, 1000)
            bar.setValue(int(round(1000 * p)))
            bar.setFormat(pct(p))
            bar.setTextVisible(False)
            bar.setMaximumHeight(14)
            bar.setMinimumWidth(40)
            bar.setAccessibleName(f"{shown_label} {pct(p)}")
            value = QLabel(pct(p))
            value.setObjectName("barValue")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            value.setMinimumWidth(value.fontMetrics().horizontalAdvance("100.0%") + 4)
            chosen = name == r.label
            colour = (ALARM if r.alarming else CALM) if chosen and self.mode != "general" else (
                NEUTRAL if chosen else "#90a4ae")
            bar.setStyleSheet(f"QProgressBar::chunk {{ background: {colour}; border-radius: 3px; }}"
                              "QProgressBar { border: 1px solid #cfd8dc; border-radius: 4px; background: #eceff1; }")
            if chosen:
                f = QFont(text.font())
                f.setBold(True)
                text.setFont(f)
            self.bars.addWidget(text, row, 0)
            self.bars.addWidget(bar, row, 1)
            self.bars.addWidget(value, row, 2)
        self.bars_title.show()
        self.bars_box.show()

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self._render()
        super().changeEvent(event)


def class_labels(pack_id: str | None) -> dict[str, str]:
    """name → label of every class of the pack (its manifest's words), {} when it is not installed."""
    manifest = wording._manifest(pack_id) if pack_id else None  # noqa: SLF001 - cached manifest reader
    classes = getattr(manifest, "classes", None) or []
    return {c.name: c.label for c in classes}
