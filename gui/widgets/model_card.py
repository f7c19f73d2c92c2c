"""The current pack's model card: CARD.md rendered (with its plots), plus the manifest's facts."""

from __future__ import annotations

import html
import re
from pathlib import PurePosixPath
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, Qt, QUrl
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QSplitter, QTextBrowser, QVBoxLayout, QWidget

from inference.errors import PackError


# Paths of the machine that built the pack (a training config in /tmp, the data folder) mean
# nothing to the person reading the card: shown as the file's name only.
_BUILD_PATH = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=[`(:]))(?:/(?:work|tmp|home|root|Users|mnt|data)|\.\./shared|\.\./data)"
                         r"(?:/[^\s`)|;,]+)+", re.MULTILINE)


def card_for_user(markdown: str) -> str:
    """The card's Markdown for a user: build-machine paths reduced to the file's name."""
    def short(m: re.Match[str]) -> str:
        path = m.group(0)
        end = "." if path.endswith(".") else ""  # the sentence's full stop, not the file's
        return path.rstrip("/.").rsplit("/", 1)[-1] + end

    return _BUILD_PATH.sub(short, markdown)


def _value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)):
        if len(v) > 12:
            return ", ".join(_value(x) for x in v[:12]) + f", … ({len(v)})"
        return ", ".join(_value(x) for x in v)
    return str(v)


def dict_table(d: Any, depth: int = 0) -> str:
    """A nested mapping as an HTML table (numbers to 4 significant digits)."""
    if not isinstance(d, dict):
        return html.escape(_value(d))
    if not d:
        return "—"
    rows = []
    for k, v in d.items():
        inner = dict_table(v, depth + 1) if isinstance(v, dict) and depth < 3 else html.escape(_value(v))
        rows.append(f"<tr><td style='color:#546e7a; padding-right:10px; vertical-align:top'>{html.escape(str(k))}"
                    f"</td><td>{inner}</td></tr>")
    return "<table cellspacing='0' cellpadding='2'>" + "".join(rows) + "</table>"


class CardBrowser(QTextBrowser):
    """Shows a pack's card; the images it names are read only from inside the pack.

    QTextBrowser would open any path a card names (``![](/dev/zero)`` hangs the app), so every
    resource goes through :meth:`Pack.read_card_file` (regular file, inside the pack, size-limited).
    A refused one gets an empty image, never None: on None, QTextDocument opens the path itself.
    """

    def __init__(self, pack: Any) -> None:
        super().__init__()
        self.pack = pack

    def loadResource(self, kind: int, url: QUrl) -> Any:  # noqa: N802 (Qt's name)
        refused = QImage()  # not None: see the class docstring
        if int(getattr(kind, "value", kind)) != QTextDocument.ResourceType.ImageResource.value:
            return QByteArray()  # a card is plain Markdown: no style sheets or HTML pulled in
        if url.scheme() not in ("", "file"):
            return refused
        name = url.toLocalFile() if url.scheme() == "file" else url.path()
        card = (self.pack.manifest.raw.get("card") if self.pack.manifest is not None else None) or "CARD.md"
        for candidate in dict.fromkeys((str(PurePosixPath(card).parent / name), name)):
            try:
                return QByteArray(self.pack.read_card_file(candidate))
            except PackError:
                continue
        return refused


class ModelCardDialog(QDialog):
    """Non-modal: an inspector can keep it open beside the window."""

    def __init__(self, pack: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.pack = pack
        self.setObjectName("modelCard")
        self.resize(980, 680)
        layout = QVBoxLayout(self)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.card = CardBrowser(pack)
        self.card.setObjectName("cardText")
        self.card.setOpenExternalLinks(False)
        self.facts = QTextBrowser()
        self.facts.setObjectName("cardFacts")
        split.addWidget(self.card)
        split.addWidget(self.facts)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout.addWidget(split, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.close)
        self.buttons.accepted.connect(self.close)
        layout.addWidget(self.buttons)
        self.retranslate()

    def card_markdown(self) -> str | None:
        """The card's text; None when there is none; a plain explanation when it cannot be shown
        (checked again here: a card may have been swapped for a link or a device since the listing)."""
        try:
            return self.pack.read_card()
        except PackError as exc:
            return self.tr("# Model card not shown\n\n{reason}").format(reason=str(exc))

    def retranslate(self) -> None:
        from gui import wording

        m = self.pack.manifest
        name = wording.pack_word(m.id, "name", "", m.name)
        self.setWindowTitle(self.tr("Model card — {name} {version}").format(name=name, version=m.version))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(self.tr("Close"))
        text = self.card_markdown()
        if text is None:
            self.card.setMarkdown(self.tr("# {name}\n\nThis pack has no model card. Its facts are on the right.")
                                  .format(name=name))
        else:
            self.card.setMarkdown(card_for_user(text))  # its images: CardBrowser.loadResource, from inside the pack only
        e = html.escape
        classes = ", ".join(f"{c.label}" for c in m.classes[:20]) + (
            f", … ({len(m.classes)})" if len(m.classes) > 20 else "")
        t = {
            "pack": self.tr("Pack"), "mode": self.tr("Mode"), "classes": self.tr("Classes"),
            "use": self.tr("Intended use"), "limits": self.tr("Limitations"), "metrics": self.tr("Metrics"),
            "data": self.tr("Data"), "licence": self.tr("Licence"), "policy": self.tr("Decision policy"),
        }
        parts = [
            f"<h2>{e(name)}</h2>",
            f"<p><b>{e(t['pack'])}:</b> {e(m.id)} {e(m.version)} · {e(self.pack.origin)}<br>"
            f"<b>{e(t['mode'])}:</b> {e(m.mode)} · <b>{e(t['classes'])}:</b> {e(classes)}</p>",
            f"<h3>{e(t['use'])}</h3><p>{e(m.intended_use)}</p>",
            f"<h3>{e(t['limits'])}</h3><p>{e(m.limitations)}</p>",
            f"<h3>{e(t['metrics'])}</h3>{dict_table(dict(m.metrics))}",
            f"<h3>{e(t['data'])}</h3>{dict_table(dict(m.data))}",
            f"<h3>{e(t['licence'])}</h3><p>{e(str(m.data.get('licence', '—')))}</p>",
        ]
        dec = m.decision
        policy = []
        if dec.alarming:
            policy.append(self.tr("Alarming classes: {names}").format(names=", ".join(dec.alarming)))
        if dec.alarm_threshold is not None:
            policy.append(self.tr("Alarm threshold: {t}").format(t=dec.alarm_threshold))
        if dec.review_band is not None:
            policy.append(self.tr("Review band: {low}–{high}").format(low=dec.review_band[0], high=dec.review_band[1]))
        if dec.min_confidence is not None:
            policy.append(self.tr("Minimum confidence: {c}").format(c=dec.min_confidence))
        if m.ood is not None:
            policy.append(self.tr("Out-of-domain check: {score} above {t}").format(score=m.ood.score,
                                                                                 t=m.ood.threshold))
            if m.ood.alarm_threshold is not None:
                policy.append(self.tr("When the answer would be an alarm: refused above {t}").format(
                    t=m.ood.alarm_threshold))
        if policy:
            parts.append(f"<h3>{e(t['policy'])}</h3><p>" + "<br>".join(e(p) for p in policy) + "</p>")
        self.facts.setHtml("".join(parts))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.LanguageChange:
            self.retranslate()
        super().changeEvent(event)
