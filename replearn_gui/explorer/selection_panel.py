"""The Selection tab of the side panel: what the lasso or rectangle took (counts per label, metadata), with
Export CSV, Show in grid and Clear. It follows :class:`ExplorerState`'s selection."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

import core
from replearn_gui.explorer.state import NOTHING, ExplorerState

NOTHING_SELECTED = "Nothing selected. Use Lasso or Rectangle above the plot."


class SelectionPanel(QWidget):
    export_requested = Signal()
    grid_requested = Signal()

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.text = QLabel(NOTHING_SELECTED)
        self.text.setObjectName("selectionSummary")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.text, 1)
        buttons = QHBoxLayout()
        self.export = QPushButton("Export CSV…")
        self.export.setObjectName("exportSelection")
        self.export.clicked.connect(self.export_requested)
        self.grid = QPushButton("Show in grid")
        self.grid.setObjectName("selectionGrid")
        self.grid.clicked.connect(self.grid_requested)
        clear = QPushButton("Clear")
        clear.setObjectName("selectionClear")
        clear.clicked.connect(lambda: self.state.select(NOTHING))
        for b in (self.export, self.grid, clear):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        state.selection_changed.connect(self._show)
        state.space_changed.connect(self._show)
        self._show()

    def _show(self) -> None:
        chosen = self.state.selected
        if self.state.space is not None and len(chosen):
            self.text.setText(core.selection_summary(self.state.space, chosen).text())
        else:
            self.text.setText(NOTHING_SELECTED)
        self.export.setEnabled(len(chosen) > 0)
        self.grid.setEnabled(len(chosen) > 0)
