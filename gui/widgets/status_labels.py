"""The status bar's permanent labels: who is working, the pack, where the model runs, the log's chain."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QLabel, QStatusBar



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
            self.pack.setText(QCoreApplication.translate("MainWindow", "Pack: {name} {version}").format(name=state.pack.id, version=state.pack.version))
            self.pack.setToolTip(str(state.pack.folder))
        elif state.packs_loaded:
            self.pack.setText(QCoreApplication.translate("MainWindow", "Pack: none"))
        self.provider.setText(QCoreApplication.translate("MainWindow", "Runs on: {p}").format(p=state.provider_text) if state.provider_text else "")
        self.provider.setToolTip(QCoreApplication.translate("MainWindow", "The onnxruntime execution provider really in use"))
        broken = state.chain_status is not None and not state.chain_status.ok
        if broken:
            # The reason can be long: the status bar says where, the tooltip and History say why
            # (a long label here would widen the window past the screen).
            where = getattr(state.chain_status, "where", "") or str(state.chain_status.first_broken_id)
            self.chain.setText(QCoreApplication.translate("MainWindow", "Log: chain BROKEN at {where} — see History").format(where=where))
            chain_tip = chain_text + "\n" + chain_tip
        else:
            self.chain.setText(chain_text)
        self.chain.setStyleSheet("color: #c62828; font-weight: bold;" if broken else "")
        self.chain.setToolTip(chain_tip)
        who = state.settings.operator or QCoreApplication.translate("MainWindow", "(set your name in Settings)")
        station = state.settings.station
        self.operator.setText(QCoreApplication.translate("MainWindow", "Operator: {name}").format(name=who) + (f" · {station}" if station else ""))
