"""The verdict: large, colour-coded and in words; confidence; probabilities; review, guard and OOD notices."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QLocale, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QGridLayout, QLabel, QProgressBar, QScrollArea, QSizePolicy,
                               QWidget)

from gui.widgets.common import ALARM, CALM, NEUTRAL, REFUSED, REVIEW, Banner, headline, pct, scroll_body

REVIEW_SUFFIX = " — review"
MAX_BARS = 7  # all classes of a 7-class pack; the top few of ImageNet


def QT_TRANSLATE_NOOP(context: str, text: str) -> str:  # noqa: N802 - the name lupdate looks for
    return text


# Words that packs put in their manifests (verdict_words and class labels): translated when known,
# shown as the pack wrote them otherwise.
_KNOWN_WORDS = (
    QT_TRANSLATE_NOOP("Verdicts", "Seal intact"),
    QT_TRANSLATE_NOOP("Verdicts", "Seal damaged"),
    QT_TRANSLATE_NOOP("Verdicts", "Seal damaged or tampered"),
    QT_TRANSLATE_NOOP("Verdicts", "Seal tampered"),
    QT_TRANSLATE_NOOP("Verdicts", "Intact"),
    QT_TRANSLATE_NOOP("Verdicts", "Damaged"),
    QT_TRANSLATE_NOOP("Verdicts", "Tampered"),
    QT_TRANSLATE_NOOP("Verdicts", "Genuine"),
    QT_TRANSLATE_NOOP("Verdicts", "Forged"),
    QT_TRANSLATE_NOOP("Verdicts", "Signature genuine"),
    QT_TRANSLATE_NOOP("Verdicts", "Signature forged"),
    QT_TRANSLATE_NOOP("Verdicts", "Signature matches"),
    QT_TRANSLATE_NOOP("Verdicts", "Possible forgery"),
    QT_TRANSLATE_NOOP("Verdicts", "Benign"),
    QT_TRANSLATE_NOOP("Verdicts", "Malignant"),
    QT_TRANSLATE_NOOP("Verdicts", "Likely benign"),
    QT_TRANSLATE_NOOP("Verdicts", "Possibly malignant"),
    QT_TRANSLATE_NOOP("Verdicts", "Suspicious — see a doctor"),
    QT_TRANSLATE_NOOP("Verdicts", "Melanocytic nevus"),
    QT_TRANSLATE_NOOP("Verdicts", "Melanoma"),
    QT_TRANSLATE_NOOP("Verdicts", "Benign keratosis"),
    QT_TRANSLATE_NOOP("Verdicts", "Benign keratosis-like lesion"),
    QT_TRANSLATE_NOOP("Verdicts", "Basal cell carcinoma"),
    QT_TRANSLATE_NOOP("Verdicts", "Actinic keratosis"),
    QT_TRANSLATE_NOOP("Verdicts", "Actinic keratoses / intraepithelial carcinoma"),
    QT_TRANSLATE_NOOP("Verdicts", "Vascular lesion"),
    QT_TRANSLATE_NOOP("Verdicts", "Dermatofibroma"),
    QT_TRANSLATE_NOOP("Verdicts", "Red"),
    QT_TRANSLATE_NOOP("Verdicts", "Green"),
    QT_TRANSLATE_NOOP("Verdicts", "Blue"),
)


def words(text: str) -> str:
    """A pack's verdict word or class label in the current language, when Tilik knows it."""
    return QCoreApplication.translate("Verdicts", text)


def verdict_text(result: Any) -> str:
    base = result.verdict
    review = base.endswith(REVIEW_SUFFIX)
    if review:
        base = base[: -len(REVIEW_SUFFIX)]
    shown = words(base)
    if review:
        shown = QCoreApplication.translate("ResultPanel", "{verdict} — review").format(verdict=shown)
    return shown


_UNCERTAIN = re.compile(r"^uncertain: (?P<what>.+) probability (?P<p>\S+) is inside the review band "
                        r"(?P<low>[^–\s]+)–(?P<high>\S+)$")
_LOW_CONF = re.compile(r"^low confidence: (?P<c>\S+) is below (?P<m>\S+)$")
_OOD_REASON = "the image does not look like the images this pack was trained on"


def reason_text(reason: str) -> str:
    """The core's review reasons (English) in the current language."""
    m = _UNCERTAIN.match(reason)
    if m:
        what = " / ".join(words(w) for w in m["what"].split(" / "))
        return QCoreApplication.translate("ResultPanel", "uncertain: {what} probability {p} is inside the review band {low}–{high}").format(
            what=what, p=m["p"], low=m["low"], high=m["high"])
    m = _LOW_CONF.match(reason)
    if m:
        return QCoreApplication.translate("ResultPanel", "low confidence: {conf} is below {minimum}").format(conf=m["c"], minimum=m["m"])
    if reason == _OOD_REASON:
        return QCoreApplication.translate("ResultPanel", "the image does not look like the images this pack was trained on")
    return reason


class ResultPanel(QScrollArea):
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

        self.bars_title = QLabel()
        self.bars_title.setObjectName("sectionTitle")
        bfont = QFont(self.font())
        bfont.setBold(True)
        self.bars_title.setFont(bfont)
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

    def show_error(self, message: str) -> None:
        self._state = ("error", message)
        self.record_note = ""
        self._render()

    def show_result(self, result: Any, mode: str, record_note: str = "") -> None:
        self._state = ("result", result)
        self.mode = mode
        self.record_note = record_note
        self._render()

    def set_record_note(self, note: str) -> None:
        self.record_note = note
        self._render()

    def result(self) -> Any:
        return self._state[1] if self._state[0] == "result" else None

    def is_refused(self, result: Any, mode: str | None = None) -> bool:
        """Skin mode refuses out-of-domain photos: no verdict is presented as if valid."""
        return bool(result is not None and result.out_of_domain and (mode or self.mode) == "skin")

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
        refused = self.is_refused(r)
        if refused:
            self._set_verdict(self.tr("Refused — not a skin-lesion photo"), REFUSED)
            self.confidence.setText(self.tr("No verdict is given for this image."))
        else:
            if r.needs_review:
                colour = REVIEW
            elif r.alarming:
                colour = ALARM
            elif self.mode == "general":
                colour = NEUTRAL
            else:
                colour = CALM
            self._set_verdict(verdict_text(r), colour)
            self.confidence.setText(self.tr("Confidence {value}").format(value=pct(r.confidence)))

        if r.out_of_domain:
            if refused:
                text = self.tr("This image does not look like the skin-lesion photos this pack was trained on, so "
                               "Tilik refuses to judge it. Take a close-up, in-focus photo of the lesion alone, "
                               "in good light.")
            else:
                text = self.tr("Out of domain: this image does not look like the images this pack was trained "
                               "on. Treat the verdict with caution.")
            if r.ood_score is not None:
                text += " " + self.tr("(score {score})").format(score=QLocale().toString(float(r.ood_score), "f", 3))
            self.ood_banner.set_text(text)
            self.ood_banner.show()

        reasons = [reason_text(x) for x in r.review_reasons if x != _OOD_REASON or not refused]
        if r.needs_review and not refused:
            lines = [self.tr("Needs review by a person")] + ["• " + x for x in reasons]
            self.review_banner.set_text("\n".join(lines))
            self.review_banner.show()

        guard = getattr(r, "guard", None)
        if guard is not None:
            if guard.flagged:
                self.guard_banner.set_kind("error")
                lines = [self.tr("Input check: this image looks altered or unusual — do not trust the verdict "
                                 "without a closer look.")]
                lines += ["• " + str(x) for x in guard.reasons]
                mitigated = getattr(r, "mitigated", None)
                if mitigated is not None:
                    labels = {c.name: c.label for c in r.top_k}
                    lines.append(self.tr("After cleaning the image the model says: {label} ({conf}).").format(
                        label=words(labels.get(mitigated.label, mitigated.label)), conf=pct(mitigated.confidence)))
            else:
                self.guard_banner.set_kind("info")
                lines = [self.tr("Input check: passed — nothing suggests the image was tampered with.")]
            self.guard_banner.set_text("\n".join(lines))
            self.guard_banner.show()

        if not refused:
            self._fill_bars(r)
        details = [
            self.tr("Pack: {pack} {version}").format(pack=r.pack_id, version=r.pack_version),
            self.tr("Ran on: {provider} in {ms} ms").format(provider=r.provider,
                                                              ms=QLocale().toString(r.timings.total_ms, "f", 0)),
            self.tr("Image: {w} × {h} px").format(w=r.image_size[0], h=r.image_size[1]),
        ]
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
            labels = {c.name: c.label for c in r.top_k}
            shown = [(name, labels.get(name, name), p) for name, p in probs]
            self.bars_title.setText(self.tr("Probabilities"))
        if not many and len(probs) > 2:
            top3 = ", ".join(words(c.label) for c in r.top_k[:3])
            self.bars_title.setText(self.tr("Probabilities (top 3: {names})").format(names=top3))
        for row, (name, label, p) in enumerate(shown):
            text = QLabel(words(label) if label else name)
            text.setObjectName("barLabel")
            text.setToolTip(name)
            bar = QProgressBar()
            bar.setObjectName("probability")
            bar.setRange(0, 1000)
            bar.setValue(int(round(1000 * p)))
            bar.setFormat(pct(p))
            bar.setTextVisible(False)
            bar.setMaximumHeight(14)
            bar.setAccessibleName(f"{words(label) if label else name} {pct(p)}")
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
