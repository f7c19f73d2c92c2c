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
    texts = {
        "open": (QCoreApplication.translate("MainWindow", "&Open images…"), QCoreApplication.translate("MainWindow", "Open one image to inspect, or several for a batch (Ctrl+O)")),
        "folder": (QCoreApplication.translate("MainWindow", "Open &folder…"), QCoreApplication.translate("MainWindow", "Inspect every image in a folder (Ctrl+Shift+O)")),
        "paste": (QCoreApplication.translate("MainWindow", "&Paste image"), QCoreApplication.translate("MainWindow", "Inspect the image on the clipboard (Ctrl+V)")),
        "capture": (QCoreApplication.translate("MainWindow", "&Capture"), QCoreApplication.translate("MainWindow", "Inspect the current camera picture (Space)")),
        "camera": (QCoreApplication.translate("MainWindow", "Start/stop ca&mera"), QCoreApplication.translate("MainWindow", "Turn the camera on or off (Ctrl+K)")),
        "prev": (QCoreApplication.translate("MainWindow", "&Previous result"), QCoreApplication.translate("MainWindow", "Previous result (Alt+Left)")),
        "next": (QCoreApplication.translate("MainWindow", "&Next result"), QCoreApplication.translate("MainWindow", "Next result (Alt+Right)")),
        "heat": (QCoreApplication.translate("MainWindow", "&Heatmap"), QCoreApplication.translate("MainWindow", "Show where the model looked (H)")),
        "side": (QCoreApplication.translate("MainWindow", "&Side by side"), QCoreApplication.translate("MainWindow", "Show the photo and the heatmap next to each other (S)")),
        "zoom_in": (QCoreApplication.translate("MainWindow", "&Zoom in"), QCoreApplication.translate("MainWindow", "Zoom in (Ctrl++, or the mouse wheel)")),
        "zoom_out": (QCoreApplication.translate("MainWindow", "Zoom &out"), QCoreApplication.translate("MainWindow", "Zoom out (Ctrl+-, or the mouse wheel)")),
        "fit": (QCoreApplication.translate("MainWindow", "&Fit to window"), QCoreApplication.translate("MainWindow", "Fit the image to the window (Ctrl+0)")),
        "actual": (QCoreApplication.translate("MainWindow", "&Actual size"), QCoreApplication.translate("MainWindow", "Show the image at 100% (Ctrl+1)")),
        "cancel": (QCoreApplication.translate("MainWindow", "Cancel &batch"), QCoreApplication.translate("MainWindow", "Stop the running batch (Esc)")),
        "card": (QCoreApplication.translate("MainWindow", "&Model card…"), QCoreApplication.translate("MainWindow", "What this model is, how well it works and its limits "
                                                               "(Ctrl+I)")),
        "settings": (QCoreApplication.translate("MainWindow", "&Settings…"), QCoreApplication.translate("MainWindow", "Your name, language, storage, packs (Ctrl+,)")),
        "reload": (QCoreApplication.translate("MainWindow", "&Reload packs"), QCoreApplication.translate("MainWindow", "Look for new or changed model packs (F5)")),
        "quit": (QCoreApplication.translate("MainWindow", "&Quit"), QCoreApplication.translate("MainWindow", "Close Tilik (Ctrl+Q)")),
        "export_csv": (QCoreApplication.translate("MainWindow", "Export history as &CSV…"), QCoreApplication.translate("MainWindow", "Export the inspections matching the "
                                                                               "history filter (Ctrl+E)")),
        "export_pdf": (QCoreApplication.translate("MainWindow", "Export history as P&DF…"), QCoreApplication.translate("MainWindow", "A PDF report of the inspections "
                                                                               "matching the history filter")),
        "verify": (QCoreApplication.translate("MainWindow", "&Verify log chain"), QCoreApplication.translate("MainWindow", "Check that no record in the log was changed")),
        "close_shift": (QCoreApplication.translate("MainWindow", "C&lose shift…"), QCoreApplication.translate("MainWindow", "Verify the log and note its signed head, to "
                                                                       "print or send elsewhere")),
        "find": (QCoreApplication.translate("MainWindow", "Searc&h history"), QCoreApplication.translate("MainWindow", "Search the inspection log (Ctrl+F)")),
        "next_item": (next_item_text, QCoreApplication.translate("MainWindow", "Clear the per-item fields for the next one; the station "
                                                     "fields stay (Ctrl+N)")),
        "confirm": (QCoreApplication.translate("MainWindow", "Review: c&onfirm…"), QCoreApplication.translate("MainWindow", "The selected verdict is right (Alt+Shift+C)")),
        "overturn": (QCoreApplication.translate("MainWindow", "Review: ove&rturn…"), QCoreApplication.translate("MainWindow", "The selected verdict is wrong (Alt+Shift+X)")),
        "escalate": (QCoreApplication.translate("MainWindow", "Review: &escalate…"), QCoreApplication.translate("MainWindow", "Pass the selected inspection on "
                                                                           "(Alt+Shift+E)")),
        "shortcuts": (QCoreApplication.translate("MainWindow", "&Keyboard shortcuts"), QCoreApplication.translate("MainWindow", "Every shortcut (F1)")),
        "about": (QCoreApplication.translate("MainWindow", "&About Tilik"), ""),
        "tab_inspect": (QCoreApplication.translate("MainWindow", "&Inspect"), QCoreApplication.translate("MainWindow", "Inspect tab (F2)")),
        "tab_batch": (QCoreApplication.translate("MainWindow", "&Batch"), QCoreApplication.translate("MainWindow", "Batch tab (F3)")),
        "tab_history": (QCoreApplication.translate("MainWindow", "Histor&y"), QCoreApplication.translate("MainWindow", "History tab (F4)")),
    }
    for key, (text, tip) in texts.items():
        action = actions[key]
        action.setText(text)
        action.setToolTip(tip or text.replace("&", ""))
        action.setStatusTip(tip)
    for i, mode in enumerate(modes.ids()):
        act = mode_actions[mode]
        act.setText(modes.mode_name(mode))
        act.setToolTip(QCoreApplication.translate("MainWindow", "{mode} mode (Alt+{n})").format(mode=modes.mode_name(mode), n=i + 1))


def shortcut_rows() -> list[tuple[str, str]]:
    return [
        ("Ctrl+O", QCoreApplication.translate("MainWindow", "Open images")), ("Ctrl+Shift+O", QCoreApplication.translate("MainWindow", "Open a folder (batch)")),
        ("Ctrl+V", QCoreApplication.translate("MainWindow", "Paste an image")), ("Ctrl+K", QCoreApplication.translate("MainWindow", "Start or stop the camera")),
        ("Space", QCoreApplication.translate("MainWindow", "Capture from the camera")),
        ("Alt+Left / Alt+Right", QCoreApplication.translate("MainWindow", "Previous / next result")),
        ("H", QCoreApplication.translate("MainWindow", "Heatmap on/off")), ("S", QCoreApplication.translate("MainWindow", "Side by side")),
        ("Ctrl+0 / Ctrl+1", QCoreApplication.translate("MainWindow", "Fit / actual size")), ("+ / −, wheel", QCoreApplication.translate("MainWindow", "Zoom")),
        ("Alt+1 … Alt+4", QCoreApplication.translate("MainWindow", "Seal, Signature, Skin lesion, General mode")),
        ("F2 / F3 / F4", QCoreApplication.translate("MainWindow", "Inspect, Batch, History tab")), ("Esc", QCoreApplication.translate("MainWindow", "Cancel the batch")),
        ("Ctrl+N", QCoreApplication.translate("MainWindow", "Next seal / next document: clear the per-item fields")),
        ("Ctrl+F", QCoreApplication.translate("MainWindow", "Search the history")),
        ("Alt+Shift+C / X / E", QCoreApplication.translate("MainWindow", "Review: confirm / overturn / escalate")),
        ("Ctrl+E", QCoreApplication.translate("MainWindow", "Export the history as CSV")), ("Ctrl+I", QCoreApplication.translate("MainWindow", "Model card")),
        ("Ctrl+,", QCoreApplication.translate("MainWindow", "Settings")), ("F5", QCoreApplication.translate("MainWindow", "Reload packs")),
    ]
