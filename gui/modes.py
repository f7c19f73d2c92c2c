"""The mode registry: what each mode (Seal, Signature, Skin lesion, General) is, in one place.

The window, History, the settings dialog and the controllers ask the registry instead of
comparing mode names: its icon, its name and "no pack" text in the user's language, the banner
it shows, which input form page it needs, which controller handles its inputs, which log fields
its form fills, and an optional side panel with its own controller (how a new panel such as seal
profiles plugs in: :func:`add_side_panel`). Adding a mode is one :class:`ModeSpec` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

from PySide6.QtCore import QCoreApplication, QT_TRANSLATE_NOOP


@dataclass(frozen=True)
class SidePanel:
    """An extra panel a mode shows beside its input form, and the controller that drives it.

    ``make_widget()`` builds the widget (in the GUI thread, once); ``make_controller(state,
    runner, widget)`` builds its controller (any QObject; it gets the application state and the
    task runner, never the window)."""

    key: str
    make_widget: Callable[[], Any]
    make_controller: Callable[[Any, Any, Any], Any] | None = None
    title_src: str = ""               # its tab's title, translated with context "Modes"

    @property
    def title(self) -> str:
        return QCoreApplication.translate("Modes", self.title_src) if self.title_src else self.key


@dataclass(frozen=True)
class ModeSpec:
    id: str
    icon: str
    name_src: str                     # translated with context "Modes"
    no_pack_src: str                  # translated with context "MainWindow"
    controller: str = "inspect"       # "inspect" (classify) or "signature" (verify against references)
    form: str = ""                    # the input panel's page: "seal", "signature", "skin" or none
    banner: str = ""                  # a banner kind shown over the Inspect tab in this mode ("medical")
    log_fields: tuple[str, ...] = ()  # the log's per-mode fields its form fills
    batch: bool = True                # folders and many files go to the Batch tab
    side_panels: tuple[SidePanel, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return QCoreApplication.translate("Modes", self.name_src)

    @property
    def no_pack_text(self) -> str:
        return QCoreApplication.translate("MainWindow", self.no_pack_src)


_REGISTRY: dict[str, ModeSpec] = {}


def register(spec: ModeSpec) -> ModeSpec:
    _REGISTRY[spec.id] = spec
    return spec


register(ModeSpec("seal", "seal", QT_TRANSLATE_NOOP("Modes", "Seal"),
                  QT_TRANSLATE_NOOP("MainWindow", "No seal pack installed"), form="seal",
                  log_fields=("seal_number", "container_number", "checklist")))
register(ModeSpec("signature", "signature", QT_TRANSLATE_NOOP("Modes", "Signature"),
                  QT_TRANSLATE_NOOP("MainWindow", "Signature verification pack not installed"),
                  controller="signature", form="signature", batch=False,
                  log_fields=("customer_id", "document_ref", "reference_ids")))
register(ModeSpec("skin", "skin", QT_TRANSLATE_NOOP("Modes", "Skin lesion"),
                  QT_TRANSLATE_NOOP("MainWindow", "No skin-lesion pack installed"), form="skin", banner="medical",
                  log_fields=("patient_ref", "body_site")))
register(ModeSpec("general", "general", QT_TRANSLATE_NOOP("Modes", "General"),
                  QT_TRANSLATE_NOOP("MainWindow", "No general (ImageNet) pack installed")))


def ids() -> tuple[str, ...]:
    """Every mode, in menu order (Alt+1 … Alt+n)."""
    return tuple(_REGISTRY)


def spec(mode: str) -> ModeSpec:
    return _REGISTRY.get(mode) or _REGISTRY["general"]


def known(mode: str) -> bool:
    return mode in _REGISTRY


def mode_name(mode: str) -> str:
    """The mode's name in the app's language (the raw id for an unknown one)."""
    return _REGISTRY[mode].name if mode in _REGISTRY else mode


def no_pack_text(mode: str) -> str:
    return spec(mode).no_pack_text


def add_side_panel(mode: str, panel: SidePanel) -> None:
    """Give ``mode`` an extra side panel and controller (before the window is built)."""
    current = _REGISTRY[mode]
    _REGISTRY[mode] = replace(current, side_panels=tuple(p for p in current.side_panels if p.key != panel.key)
                              + (panel,))
