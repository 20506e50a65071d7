"""The explorer's plot geometry: a ViewBox whose left drag can draw a lasso or a rectangle, and the 3-D orbit."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPainterPath
from PySide6.QtWidgets import QGraphicsPathItem


def rotate(coords: np.ndarray, yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """3-D coordinates turned about the vertical axis (yaw), then tilted (pitch), looked at along z."""
    a, b = np.radians(yaw_deg), np.radians(pitch_deg)
    ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    centred = coords - coords.mean(axis=0)
    return (centred @ ry.T @ rx.T)[:, :2]


class ExplorerViewBox(pg.ViewBox):
    """Pan and zoom as usual; in lasso or rectangle mode a left drag selects instead; a left click picks."""

    clicked = Signal(float, float)
    region = Signal(object)  # (k, 2) polygon in data coordinates

    def __init__(self):
        super().__init__()
        self.tool = "pan"
        self._path: list[tuple[float, float]] = []
        self.outline = QGraphicsPathItem()
        self.outline.setPen(pg.mkPen((30, 30, 30), width=1.5, style=Qt.PenStyle.DashLine, cosmetic=True))
        self.outline.setZValue(100)
        self.addItem(self.outline, ignoreBounds=True)

    def mouseClickEvent(self, ev):  # noqa: N802 (Qt)
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            self.clicked.emit(p.x(), p.y())
        else:
            super().mouseClickEvent(ev)

    def mouseDragEvent(self, ev, axis=None):  # noqa: N802 (Qt)
        if self.tool == "pan" or ev.button() != Qt.MouseButton.LeftButton:
            return super().mouseDragEvent(ev, axis)
        ev.accept()
        p = self.mapSceneToView(ev.scenePos())
        if ev.isStart():
            start = self.mapSceneToView(ev.buttonDownScenePos())
            self._path = [(start.x(), start.y())]
        self._path.append((p.x(), p.y()))
        polygon = self.polygon()
        path = QPainterPath()
        path.moveTo(*polygon[0])
        for x, y in polygon[1:]:
            path.lineTo(x, y)
        path.closeSubpath()
        self.outline.setPath(path)
        if ev.isFinish():
            self.outline.setPath(QPainterPath())
            self.region.emit(np.array(polygon))
            self._path = []

    def polygon(self) -> list[tuple[float, float]]:
        if self.tool == "rect":
            (x0, y0), (x1, y1) = self._path[0], self._path[-1]
            return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        return list(self._path)
