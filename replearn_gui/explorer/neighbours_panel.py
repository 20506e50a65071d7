"""The k nearest neighbours of the clicked point: a grid of previews with distances and labels."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from replearn_gui.explorer.previews import preview_pixmap, preview_text
from replearn_gui.plain_text import plain_tooltip

THUMB = 56


class NeighboursPanel(QWidget):
    settings_changed = Signal()
    activated = Signal(int)  # a position in the space: the user wants to go to this sample

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("k"))
        self.k = QSpinBox()
        self.k.setObjectName("neighboursK")
        self.k.setRange(1, 100)
        self.k.setValue(10)
        self.k.setToolTip("How many neighbours to show (1–100)")
        row.addWidget(self.k)
        self.metric = QComboBox()
        self.metric.setObjectName("neighboursMetric")
        self.metric.addItems(["cosine", "euclidean"])
        self.metric.setMinimumWidth(self.metric.sizeHint().width())  # never clipped to "euclidear"
        self.metric.setToolTip("Distance in the full representation space")
        row.addWidget(self.metric)
        self.in_layout = QCheckBox("in the 2-D picture")
        self.in_layout.setObjectName("neighboursInLayout")
        self.in_layout.setToolTip("Show the nearest points of the projection instead: what the picture keeps "
                                  "and what it loses")
        row.addWidget(self.in_layout)
        row.addStretch(1)
        layout.addLayout(row)
        self.summary = QLabel("Click a point to see its nearest neighbours.")
        self.summary.setObjectName("neighboursSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.grid = QListWidget()
        self.grid.setObjectName("neighboursGrid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setIconSize(QSize(THUMB, THUMB))
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setGridSize(QSize(THUMB + 40, THUMB + 40))
        self.grid.setWordWrap(True)
        self.grid.itemDoubleClicked.connect(lambda item: self.activated.emit(item.data(Qt.ItemDataRole.UserRole)))
        layout.addWidget(self.grid, 1)
        for w in (self.k, self.metric, self.in_layout):
            signal = w.valueChanged if isinstance(w, QSpinBox) else (
                w.currentIndexChanged if isinstance(w, QComboBox) else w.toggled)
            signal.connect(self.settings_changed)
        self.positions: list[int] = []
        self.distances: list[float] = []

    def show_items(self, title: str, items: list[tuple[int, Any, float | None]]) -> None:
        """``items``: (position, core Preview, distance or None for a plain list such as a selection)."""
        self.grid.clear()
        self.positions = [p for p, _, _ in items]
        self.distances = [d for _, _, d in items if d is not None]
        self.summary.setText(title)
        for position, preview, distance in items:
            caption = preview.title + (f"\nd = {distance:.3g}" if distance is not None else "")
            item = QListWidgetItem(caption)
            pix = preview_pixmap(preview, THUMB)
            item.setIcon(QIcon(pix if pix is not None else QPixmap(1, 1)))
            item.setToolTip(plain_tooltip(preview_text(preview)))  # labels come from user files: never HTML
            item.setData(Qt.ItemDataRole.UserRole, position)
            self.grid.addItem(item)

    def clear_items(self, text: str = "Click a point to see its nearest neighbours.") -> None:
        self.grid.clear()
        self.positions, self.distances = [], []
        self.summary.setText(text)
