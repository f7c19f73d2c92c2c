"""The window's actions (menus, toolbar, buttons and shortcuts share them) and their words.

Shortcuts are unique per window (a test walks every action and every mnemonic): reviews are
Alt+Shift+C / X / E, so they never collide with a form's Alt+letter mnemonics or a menu's.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QWidget

from gui import modes
from gui.widgets.common import icon

# name: (object name, shortcut(s), icon, checkable)
SPECS: dict[str, tuple[str, Any, str | None, bool]] = {
    "open": ("actOpen", QKeySequence.StandardKey.Open, "open", False),
    "folder": ("actFolder", "Ctrl+Shift+O", "folder", False),
    "paste": ("actPaste", QKeySequence.StandardKey.Paste, "paste", False),
    "capture": ("actCapture", "Space", "capture", False),
    "camera": ("actCamera", "Ctrl+K", "camera", False),
    "prev": ("actPrev", ["Alt+Left", "Ctrl+PgUp"], "prev", False),
    "next": ("actNext", ["Alt+Right", "Ctrl+PgDown"], "next", False),
    "heat": ("actHeat", "H", "heatmap", True),
    "side": ("actSide", "S", "side_by_side", True),
    "zoom_in": ("actZoomIn", QKeySequence.StandardKey.ZoomIn, "zoom_in", False),
    "zoom_out": ("actZoomOut", QKeySequence.StandardKey.ZoomOut, "zoom_out", False),
    "fit": ("actFit", "Ctrl+0", "zoom_fit", False),
    "actual": ("actActual", "Ctrl+1", "zoom_100", False),
    "cancel": ("actCancel", "Esc", "cancel", False),
    "card": ("actCard", "Ctrl+I", "card", False),
    "settings": ("actSettings", QKeySequence.StandardKey.Preferences, "settings", False),
    "reload": ("actReload", QKeySequence.StandardKey.Refresh, None, False),
    "quit": ("actQuit", QKeySequence.StandardKey.Quit, None, False),
    "export_csv": ("actExportCsv", "Ctrl+E", "export", False),
    "export_pdf": ("actExportPdf", "Ctrl+Shift+E", "export", False),
    "verify": ("actVerify", None, "verify", False),
    "close_shift": ("actCloseShift", None, "verify", False),
    "find": ("actFind", QKeySequence.StandardKey.Find, None, False),
    "next_item": ("actNextItem", "Ctrl+N", "open", False),
    "confirm": ("actConfirm", "Alt+Shift+C", "confirm", False),
    "overturn": ("actOverturn", "Alt+Shift+X", "overturn", False),
    "escalate": ("actEscalate", "Alt+Shift+E", "escalate", False),
    "shortcuts": ("actShortcuts", QKeySequence.StandardKey.HelpContents, None, False),
    "about": ("actAbout", None, None, False),
    "tab_inspect": ("actTabInspect", "F2", "inspect", False),
    "tab_batch": ("actTabBatch", "F3", "batch", False),
    "tab_history": ("actTabHistory", "F4", "history", False),
}


def build(owner: QWidget, slots: dict[str, Callable[..., Any]]) -> dict[str, QAction]:
    """Every action of ``owner`` (added to it, so its shortcuts work anywhere in the window)."""
    actions: dict[str, QAction] = {}
    for key, (name, shortcut, icon_name, checkable) in SPECS.items():
        action = QAction(owner)
        action.setObjectName(name)
        if icon_name:
            action.setIcon(icon(icon_name))
        if isinstance(shortcut, list):
            action.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        slot = slots[key]
        if checkable:
            action.toggled.connect(slot)
        else:
            action.triggered.connect(lambda _checked=False, f=slot: f())
        owner.addAction(action)
        actions[key] = action
    if actions["settings"].shortcut().isEmpty():
        actions["settings"].setShortcut(QKeySequence("Ctrl+,"))
    return actions


def build_modes(owner: QWidget, choose: Callable[[str], None]) -> dict[str, QAction]:
    group = QActionGroup(owner)
    out: dict[str, QAction] = {}
    for i, mode in enumerate(modes.ids()):
        act = QAction(icon(modes.spec(mode).icon), "", owner)
        act.setObjectName(f"actMode_{mode}")
        act.setCheckable(True)
        act.setShortcut(QKeySequence(f"Alt+{i + 1}"))
        act.triggered.connect(lambda _c=False, m=mode: choose(m))
        group.addAction(act)
        owner.addAction(act)
        out[mode] = act
    return out


def retranslate(actions: dict[str, QAction], mode_actions: dict[str, QAction], next_item_text: str) -> None:
    t = QCoreApplication.translate
    texts = {
        "open": (t("MainWindow", "&Open images…"), t("MainWindow", "Open one image to inspect, or several for a batch (Ctrl+O)")),
        "folder": (t("MainWindow", "Open &folder…"), t("MainWindow", "Inspect every image in a folder (Ctrl+Shift+O)")),
        "paste": (t("MainWindow", "&Paste image"), t("MainWindow", "Inspect the image on the clipboard (Ctrl+V)")),
        "capture": (t("MainWindow", "&Capture"), t("MainWindow", "Inspect the current camera picture (Space)")),
        "camera": (t("MainWindow", "Start/stop &camera"), t("MainWindow", "Turn the camera on or off (Ctrl+K)")),
        "prev": (t("MainWindow", "&Previous result"), t("MainWindow", "Previous result (Alt+Left)")),
        "next": (t("MainWindow", "&Next result"), t("MainWindow", "Next result (Alt+Right)")),
        "heat": (t("MainWindow", "&Heatmap"), t("MainWindow", "Show where the model looked (H)")),
        "side": (t("MainWindow", "&Side by side"), t("MainWindow", "Show the photo and the heatmap next to each other (S)")),
        "zoom_in": (t("MainWindow", "Zoom &in"), t("MainWindow", "Zoom in (Ctrl++, or the mouse wheel)")),
        "zoom_out": (t("MainWindow", "Zoom &out"), t("MainWindow", "Zoom out (Ctrl+-, or the mouse wheel)")),
        "fit": (t("MainWindow", "&Fit to window"), t("MainWindow", "Fit the image to the window (Ctrl+0)")),
        "actual": (t("MainWindow", "&Actual size"), t("MainWindow", "Show the image at 100% (Ctrl+1)")),
        "cancel": (t("MainWindow", "Cancel &batch"), t("MainWindow", "Stop the running batch (Esc)")),
        "card": (t("MainWindow", "&Model card…"), t("MainWindow", "What this model is, how well it works and its limits "
                                                               "(Ctrl+I)")),
        "settings": (t("MainWindow", "&Settings…"), t("MainWindow", "Your name, language, storage, packs (Ctrl+,)")),
        "reload": (t("MainWindow", "&Reload packs"), t("MainWindow", "Look for new or changed model packs (F5)")),
        "quit": (t("MainWindow", "&Quit"), t("MainWindow", "Close Tilik (Ctrl+Q)")),
        "export_csv": (t("MainWindow", "Export history as &CSV…"), t("MainWindow", "Export the inspections matching the "
                                                                               "history filter (Ctrl+E)")),
        "export_pdf": (t("MainWindow", "Export history as P&DF…"), t("MainWindow", "A PDF report of the inspections "
                                                                               "matching the history filter")),
        "verify": (t("MainWindow", "&Verify log chain"), t("MainWindow", "Check that no record in the log was changed")),
        "close_shift": (t("MainWindow", "C&lose shift…"), t("MainWindow", "Verify the log and note its signed head, to "
                                                                       "print or send elsewhere")),
        "find": (t("MainWindow", "&Search history"), t("MainWindow", "Search the inspection log (Ctrl+F)")),
        "next_item": (next_item_text, t("MainWindow", "Clear the per-item fields for the next one; the station "
                                                     "fields stay (Ctrl+N)")),
        "confirm": (t("MainWindow", "Review: c&onfirm…"), t("MainWindow", "The selected verdict is right (Alt+Shift+C)")),
        "overturn": (t("MainWindow", "Review: o&verturn…"), t("MainWindow", "The selected verdict is wrong (Alt+Shift+X)")),
        "escalate": (t("MainWindow", "Review: &escalate…"), t("MainWindow", "Pass the selected inspection on "
                                                                           "(Alt+Shift+E)")),
        "shortcuts": (t("MainWindow", "&Keyboard shortcuts"), t("MainWindow", "Every shortcut (F1)")),
        "about": (t("MainWindow", "&About Tilik"), ""),
        "tab_inspect": (t("MainWindow", "&Inspect"), t("MainWindow", "Inspect tab (F2)")),
        "tab_batch": (t("MainWindow", "&Batch"), t("MainWindow", "Batch tab (F3)")),
        "tab_history": (t("MainWindow", "Hi&story"), t("MainWindow", "History tab (F4)")),
    }
    for key, (text, tip) in texts.items():
        action = actions[key]
        action.setText(text)
        action.setToolTip(tip or text.replace("&", ""))
        action.setStatusTip(tip)
    for i, mode in enumerate(modes.ids()):
        act = mode_actions[mode]
        act.setText(modes.mode_name(mode))
        act.setToolTip(t("MainWindow", "{mode} mode (Alt+{n})").format(mode=modes.mode_name(mode), n=i + 1))


def shortcut_rows() -> list[tuple[str, str]]:
    t = QCoreApplication.translate
    return [
        ("Ctrl+O", t("MainWindow", "Open images")), ("Ctrl+Shift+O", t("MainWindow", "Open a folder (batch)")),
        ("Ctrl+V", t("MainWindow", "Paste an image")), ("Ctrl+K", t("MainWindow", "Start or stop the camera")),
        ("Space", t("MainWindow", "Capture from the camera")),
        ("Alt+Left / Alt+Right", t("MainWindow", "Previous / next result")),
        ("H", t("MainWindow", "Heatmap on/off")), ("S", t("MainWindow", "Side by side")),
        ("Ctrl+0 / Ctrl+1", t("MainWindow", "Fit / actual size")), ("+ / −, wheel", t("MainWindow", "Zoom")),
        ("Alt+1 … Alt+4", t("MainWindow", "Seal, Signature, Skin lesion, General mode")),
        ("F2 / F3 / F4", t("MainWindow", "Inspect, Batch, History tab")), ("Esc", t("MainWindow", "Cancel the batch")),
        ("Ctrl+N", t("MainWindow", "Next seal / next document: clear the per-item fields")),
        ("Ctrl+F", t("MainWindow", "Search the history")),
        ("Alt+Shift+C / X / E", t("MainWindow", "Review: confirm / overturn / escalate")),
        ("Ctrl+E", t("MainWindow", "Export the history as CSV")), ("Ctrl+I", t("MainWindow", "Model card")),
        ("Ctrl+,", t("MainWindow", "Settings")), ("F5", t("MainWindow", "Reload packs")),
    ]
