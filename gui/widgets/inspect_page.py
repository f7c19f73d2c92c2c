"""The Inspect tab: the mode's banners, the input column, the picture with its heatmap controls and
the verdict (or, in Signature mode, the signature view), plus any side panels a mode brings.

Built from the window's actions (so buttons and menus share them); it holds no workflow: the
controllers drive its widgets.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QComboBox, QFrame, QHBoxLayout, QLabel, QScrollArea, QSlider, QSplitter,
                               QTabWidget, QToolButton, QVBoxLayout, QWidget)

from gui.widgets.common import Banner, caption_label
from gui.widgets.image_view import ImageView
from gui.widgets.input_panel import InputPanel
from gui.widgets.result_panel import ResultPanel
from gui.widgets.signature_view import SignatureView

COLORMAP_NAMES = ("turbo", "jet", "gray")


class InspectPage(QWidget):
    def __init__(self, actions: dict[str, QAction], opacity: int, colormap: str,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        il = QVBoxLayout(self)
        il.setContentsMargins(6, 6, 6, 6)
        self.skin_banner = Banner("medical")
        self.skin_banner.setObjectName("skinBanner")
        il.addWidget(self.skin_banner)
        self.mode_banner = Banner("error")
        self.mode_banner.setObjectName("modeBanner")
        il.addWidget(self.mode_banner)
        split = QSplitter(Qt.Orientation.Horizontal)
        self.splitter = split
        self.input_panel = InputPanel(actions["open"], actions["folder"], actions["paste"])
        split.addWidget(self.input_panel)

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(4)
        # Two rows: the heatmap's own controls, then zoom and previous/next. In one row they left
        # the opacity slider a sliver at 1366×768 in Indonesian (15 px with a check-digit warning):
        # every label and button took its width first. On a row of its own the slider takes what
        # the labels leave (stretch), in any language; a picture is width-bound here, so the row
        # costs the picture nothing unless it is a tall portrait.
        heat_bar = QHBoxLayout()
        heat_bar.setSpacing(4)
        self.heat_button = self._button(actions["heat"], "heatToggle", text_beside=True)
        heat_bar.addWidget(self.heat_button)
        self.opacity_label = QLabel()
        heat_bar.addWidget(self.opacity_label)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setObjectName("opacitySlider")
        self.opacity.setRange(0, 100)
        self.opacity.setValue(opacity)
        self.opacity_label.setBuddy(self.opacity)
        # As wide as about 24 digits at most (it follows the font), the rest of the row left empty.
        self.opacity.setMaximumWidth(self.opacity.fontMetrics().horizontalAdvance("0") * 24)
        heat_bar.addWidget(self.opacity, 1)
        self.colormap = QComboBox()
        self.colormap.setObjectName("colormapCombo")
        # Its words, not a clipped stub (it was squeezed to a sliver in Indonesian): short names
        # ("Turbo", "Jet", "Grey"; the tooltip says they are heatmap colours) keep the bar narrow.
        self.colormap.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        for _ in COLORMAP_NAMES:
            self.colormap.addItem("")
        self.colormap.setCurrentIndex(COLORMAP_NAMES.index(colormap) if colormap in COLORMAP_NAMES else 0)
        heat_bar.addWidget(self.colormap)
        self.side_button = self._button(actions["side"], "sideBySide")
        heat_bar.addWidget(self.side_button)
        heat_bar.addStretch(0)
        cl.addLayout(heat_bar)
        view_bar = QHBoxLayout()
        view_bar.setSpacing(4)
        self.zoom_buttons = [self._button(actions[k]) for k in ("zoom_out", "zoom_in", "fit", "actual")]
        for b in self.zoom_buttons:
            view_bar.addWidget(b)
        view_bar.addStretch(1)
        self.prev_button = self._button(actions["prev"])
        self.next_button = self._button(actions["next"])
        self.nav_label = QLabel()
        self.nav_label.setObjectName("navLabel")
        self.nav_label.setMinimumWidth(60)
        self.nav_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        view_bar.addWidget(self.prev_button)
        view_bar.addWidget(self.nav_label)
        view_bar.addWidget(self.next_button)
        cl.addLayout(view_bar)
        # A long path or note must not widen the window and push the result panel off screen: the
        # label is clipped instead (the full text is in its tooltip).
        self.caption = caption_label("caption")
        cl.addWidget(self.caption)
        self.image_view = ImageView()
        self.image_view.setObjectName("imageView")
        self.image_view.set_opacity(opacity / 100)
        self.image_view.set_colormap(self.colormap_name())
        cl.addWidget(self.image_view, 1)
        split.addWidget(center)
        self.center = center

        self.result_panel = ResultPanel()
        self.result_panel.setObjectName("resultPanel")
        # The verdict and a mode's side panels (e.g. seal profiles) share one column as tabs: as a
        # fourth column the profiles panel was squeezed to a scroll strip at 1366×768 (worst in
        # Indonesian or with a check-digit warning). One tab only: the tab bar hides itself.
        self.right_tabs = QTabWidget()
        self.right_tabs.setObjectName("rightTabs")
        self.right_tabs.setDocumentMode(True)
        self.right_tabs.setTabBarAutoHide(True)
        self.right_tabs.addTab(self.result_panel, "")
        self.result_panel.shown.connect(lambda: self.right_tabs.setCurrentWidget(self.result_panel))
        split.addWidget(self.right_tabs)
        split.setStretchFactor(0, 0)
        split.setStretchFactor(1, 1)
        split.setStretchFactor(2, 0)
        self.signature_view = SignatureView()  # replaces the centre and the result panel in Signature mode
        self.signature_view.setObjectName("signatureView")
        self.signature_view.hide()
        split.addWidget(self.signature_view)
        split.setStretchFactor(3, 1)
        split.setSizes([410, 560, 380, 1060])
        il.addWidget(split, 1)
        self.side_panels: dict[str, tuple[str, QWidget]] = {}  # key → (mode, widget)
        self._side_holders: dict[str, QWidget] = {}  # key → the scroll area holding it
        self._side_titles: dict[str, str] = {}  # key → its tab's title (already translated)

        QWidget.setTabOrder(self.input_panel, self.heat_button)
        QWidget.setTabOrder(self.heat_button, self.opacity)
        QWidget.setTabOrder(self.opacity, self.colormap)
        QWidget.setTabOrder(self.colormap, self.side_button)
        QWidget.setTabOrder(self.side_button, self.image_view)
        QWidget.setTabOrder(self.image_view, self.result_panel)

    @staticmethod
    def _button(action: QAction, name: str = "", text_beside: bool = False) -> QToolButton:
        b = QToolButton()
        if name:
            b.setObjectName(name)
        b.setDefaultAction(action)
        if text_beside:
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        return b

    def colormap_name(self) -> str:
        return COLORMAP_NAMES[max(0, self.colormap.currentIndex())]

    def add_side_panel(self, key: str, mode: str, widget: QWidget, title: str = "") -> None:
        """A mode's extra panel (the mode registry's SidePanel): a tab beside the verdict in that mode."""
        widget.setObjectName(widget.objectName() or f"sidePanel_{key}")
        self.side_panels[key] = (mode, widget)
        # In a scroll area of its own: a tall panel scrolls vertically instead of forcing the window
        # past 1366×768; its width is the verdict column's, so it is never a narrow strip.
        holder = QScrollArea()
        holder.setObjectName(f"sidePanelHolder_{key}")
        holder.setWidgetResizable(True)
        holder.setFrameShape(QFrame.Shape.NoFrame)
        holder.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder.setWidget(widget)
        self._side_holders[key] = holder
        self._side_titles[key] = title

    def show_side_panel(self, key: str) -> None:
        """Bring a side panel's tab to the front (it must belong to the current mode)."""
        holder = self._side_holders[key]
        if self.right_tabs.indexOf(holder) >= 0:
            self.right_tabs.setCurrentWidget(holder)

    def side_panel_visible(self, key: str) -> bool:
        return self.right_tabs.indexOf(self._side_holders[key]) >= 0

    def apply_mode(self, mode: str, banner: str, reason: str | None, signature: bool) -> None:
        """Show what ``mode`` shows: its form, its banner, why it cannot run, its views and panels."""
        self.input_panel.set_mode(mode)
        self.skin_banner.setVisible(banner == "medical")
        self.mode_banner.setVisible(bool(reason))
        if reason:
            self.mode_banner.set_text(reason)
        self.center.setVisible(not signature)
        self.right_tabs.setVisible(not signature)
        self.signature_view.setVisible(signature)
        for key, (panel_mode, _widget) in self.side_panels.items():
            holder, index = self._side_holders[key], self.right_tabs.indexOf(self._side_holders[key])
            if panel_mode == mode and index < 0:
                self.right_tabs.addTab(holder, self._side_titles[key])
            elif panel_mode != mode and index >= 0:
                self.right_tabs.removeTab(index)

    def set_side_title(self, key: str, title: str) -> None:
        self._side_titles[key] = title
        index = self.right_tabs.indexOf(self._side_holders[key])
        if index >= 0:
            self.right_tabs.setTabText(index, title)

    def retranslate(self) -> None:
        self.right_tabs.setTabText(self.right_tabs.indexOf(self.result_panel),
                                   QCoreApplication.translate("MainWindow", "Result"))
        self.opacity_label.setText(QCoreApplication.translate("MainWindow", "Opac&ity"))
        self.opacity.setToolTip(QCoreApplication.translate("MainWindow", "Heatmap opacity: {n}%").format(n=self.opacity.value()))
        names = (QCoreApplication.translate("MainWindow", "Turbo"), QCoreApplication.translate("MainWindow", "Jet"),
                 QCoreApplication.translate("MainWindow", "Grey"))
        for i, text in enumerate(names):
            self.colormap.setItemText(i, text)
        # The longest name and the arrow: a squeezed box showed nothing at all in Indonesian.
        self.colormap.setMinimumWidth(max(self.colormap.fontMetrics().horizontalAdvance(t) for t in names) + 24)
        self.colormap.setToolTip(QCoreApplication.translate("MainWindow", "Heatmap colours"))
        self.skin_banner.set_text(QCoreApplication.translate("MainWindow", "Decision support only — not a diagnosis. Tilik can be wrong; a doctor "
                                     "must examine any lesion that worries you or the patient."))
        self.image_view.placeholder = QCoreApplication.translate("MainWindow", "Drop images or folders here, press Ctrl+O to open, Ctrl+V to paste, "
                                         "or start the camera.")
        self.image_view.setToolTip(QCoreApplication.translate("MainWindow", "Mouse wheel or +/− to zoom, drag to pan, 0 to fit"))
        self.image_view.viewport().update()
