"""The legend beside the plot: one tickable entry per category (untick to hide, double-click to show it alone),
or the colour bar of a continuous colouring. It reads and writes :class:`ExplorerState` only."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from replearn_gui.explorer.colouring import Colouring
from replearn_gui.explorer.state import ExplorerState
from replearn_gui.plain_text import plain_tooltip


def colour_bar_pixmap(c: Colouring, text: QColor) -> QPixmap:
    pix = QPixmap(240, 40)
    pix.fill(QColor(0, 0, 0, 0))
    p = QPainter(pix)
    for x in range(200):
        p.setPen(QColor(*c.palette[int(x / 199 * (len(c.palette) - 1))]))
        p.drawLine(x + 20, 0, x + 20, 16)
    p.setPen(text)
    lo, hi = c.value_range
    p.drawText(QRectF(0, 18, 120, 20), Qt.AlignmentFlag.AlignLeft, f"{lo:.3g}")
    p.drawText(QRectF(120, 18, 120, 20), Qt.AlignmentFlag.AlignRight, f"{hi:.3g}")
    p.end()
    return pix


class LegendPanel(QWidget):
    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.list = QListWidget()
        self.list.setObjectName("legend")
        self.list.setToolTip("Untick to hide a class; double-click to show it alone")
        self.list.itemChanged.connect(lambda _: self._ticks_changed())
        self.list.itemDoubleClicked.connect(self._isolate)
        self.colour_bar = QLabel()
        self.colour_bar.setObjectName("colourBar")
        self.colour_bar.setTextFormat(Qt.TextFormat.PlainText)
        show_all = QPushButton("Show all")
        show_all.clicked.connect(lambda: self.state.set_hidden(set()))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.colour_bar)
        layout.addWidget(show_all)
        state.colouring_changed.connect(self._rebuild)
        state.hidden_changed.connect(self._show_ticks)
        state.space_changed.connect(self._rebuild)

    def _rebuild(self) -> None:
        c = self.state.colours
        self.list.blockSignals(True)
        self.list.clear()
        if c is not None:
            counts = np.bincount(c.index, minlength=len(c.palette))
            for i, name in enumerate(c.categories):
                pix = QPixmap(12, 12)
                pix.fill(QColor(*c.palette[i]))
                item = QListWidgetItem(QIcon(pix), f"{name} ({counts[i]:,})")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked)
                item.setData(Qt.ItemDataRole.UserRole, i)
                self.list.addItem(item)
        self.list.blockSignals(False)
        continuous = c is not None and c.value_range is not None
        if continuous:
            self.colour_bar.setPixmap(colour_bar_pixmap(c, self.palette().text().color()))
            self.colour_bar.setToolTip(plain_tooltip(  # the title is a metadata column name: never HTML
                f"{c.title}: {c.value_range[0]:.3g} (dark) to {c.value_range[1]:.3g} (yellow)"))
        else:
            self.colour_bar.clear()
        self.colour_bar.setVisible(continuous)

    def _show_ticks(self) -> None:
        self.list.blockSignals(True)
        for r in range(self.list.count()):
            item = self.list.item(r)
            hidden = item.data(Qt.ItemDataRole.UserRole) in self.state.hidden
            item.setCheckState(Qt.CheckState.Unchecked if hidden else Qt.CheckState.Checked)
        self.list.blockSignals(False)

    def _ticks_changed(self) -> None:
        self.state.set_hidden({self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())
                               if self.list.item(r).checkState() != Qt.CheckState.Checked})

    def _isolate(self, item: QListWidgetItem) -> None:
        keep = item.data(Qt.ItemDataRole.UserRole)
        self.state.set_hidden({self.list.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.list.count())} - {keep})
