"""The status bar's permanent labels: who is working, the pack, where the model runs, the log's chain."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QStatusBar


def _tr(text: str) -> str:
    return QCoreApplication.translate("MainWindow", text)


class StatusLabels:
    def __init__(self, bar: QStatusBar) -> None:
        bar.setObjectName("statusBar")
        self.operator, self.pack, self.provider, self.chain = QLabel(), QLabel(), QLabel(), QLabel()
        for w, name in ((self.operator, "statusOperator"), (self.pack, "statusPack"),
                        (self.provider, "statusProvider"), (self.chain, "statusChain")):
            w.setObjectName(name)
            w.setContentsMargins(8, 0, 8, 0)
            bar.addPermanentWidget(w)

    def update(self, state: Any, chain_text: str, chain_tip: str) -> None:
        if state.pack is not None:
            self.pack.setText(_tr("Pack: {name} {version}").format(name=state.pack.id, version=state.pack.version))
            self.pack.setToolTip(str(state.pack.folder))
        elif state.packs_loaded:
            self.pack.setText(_tr("Pack: none"))
        self.provider.setText(_tr("Runs on: {p}").format(p=state.provider_text) if state.provider_text else "")
        self.provider.setToolTip(_tr("The onnxruntime execution provider really in use"))
        self.chain.setText(chain_text)
        broken = state.chain_status is not None and not state.chain_status.ok
        self.chain.setStyleSheet("color: #c62828; font-weight: bold;" if broken else "")
        self.chain.setToolTip(chain_tip)
        who = state.settings.operator or _tr("(set your name in Settings)")
        station = state.settings.station
        self.operator.setText(_tr("Operator: {name}").format(name=who) + (f" · {station}" if station else ""))
