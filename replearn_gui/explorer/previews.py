"""Samples drawn for people: core's :class:`~core.data.preview.Preview` as a pixmap, and the hover card."""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget


def image_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A uint8 grey (H, W) or RGB (H, W, 3) array, scaled to ``size`` pixels without smoothing (pixels stay
    visible on 8×8 digits)."""
    a = np.ascontiguousarray(image)
    h, w = a.shape[:2]
    if a.ndim == 2:
        qimg = QImage(a.data, w, h, w, QImage.Format.Format_Grayscale8)
    else:
        qimg = QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(qimg.copy()).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.FastTransformation)


def sparkline_pixmap(values: np.ndarray, width: int, height: int) -> QPixmap:
    pix = QPixmap(width, height)
    pix.fill(QColor("white"))
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if len(v) >= 2:
        lo, hi = float(v.min()), float(v.max())
        span = (hi - lo) or 1.0
        xs = np.linspace(2, width - 2, len(v))
        ys = height - 2 - (v - lo) / span * (height - 4)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(40, 90, 200), 1.2))
        p.drawPolyline(QPolygonF([QPointF(x, y) for x, y in zip(xs, ys, strict=True)]))
        p.end()
    return pix


def bars_pixmap(values: np.ndarray, width: int, height: int) -> QPixmap:
    pix = QPixmap(width, height)
    pix.fill(QColor("white"))
    v = np.nan_to_num(np.asarray(values, dtype=np.float64))
    if len(v):
        scale = float(np.abs(v).max()) or 1.0
        mid = height / 2
        bw = (width - 4) / len(v)
        p = QPainter(pix)
        p.setPen(Qt.PenStyle.NoPen)
        for i, x in enumerate(v):
            p.setBrush(QColor(74, 123, 208) if x >= 0 else QColor(208, 80, 74))
            h = x / scale * (mid - 2)
            p.drawRect(QRectF(2 + i * bw, mid - max(h, 0), max(bw - 1, 1), abs(h)))
        p.setPen(QPen(QColor(150, 150, 150)))
        p.drawLine(QPointF(2, mid), QPointF(width - 2, mid))
        p.end()
    return pix


def preview_pixmap(preview: Any, size: int = 96) -> QPixmap | None:
    """The picture of a sample, or None for previews that are only text."""
    if preview.kind == "image" and preview.image is not None:
        return image_pixmap(preview.image, size)
    if preview.kind == "sparkline" and preview.spectrogram is not None:
        return image_pixmap(preview.spectrogram, size)
    if preview.kind == "sparkline" and preview.values is not None:
        return sparkline_pixmap(preview.values, size * 2, size // 2 + 8)
    if preview.kind == "bars" and preview.values is not None:
        return bars_pixmap(preview.values, size * 2, size // 2 + 8)
    return None


def preview_text(preview: Any) -> str:
    text = preview.title
    if preview.kind == "text" and preview.text:
        text += "\n" + (preview.text if len(preview.text) <= 160 else preview.text[:157] + "…")
    if preview.kind == "bars" and preview.names:
        pairs = [f"{n} = {v:.3g}" for n, v in zip(preview.names[:6], preview.values[:6], strict=False)]
        text += "\n" + ", ".join(pairs) + (" …" if len(preview.names) > 6 else "")
    return text


class HoverCard(QFrame):
    """A tooltip-like card with the sample's picture and plain text (user data is never read as HTML)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.ToolTip)
        self.setObjectName("hoverCard")
        self.setFrameShape(QFrame.Shape.Box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        self.picture = QLabel()
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.text = QLabel()
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setWordWrap(True)
        self.text.setMaximumWidth(260)
        layout.addWidget(self.picture)
        layout.addWidget(self.text)
        self.position: int | None = None

    def show_preview(self, position: int, preview: Any, extra: str, at: QPoint) -> None:
        self.position = position
        pix = preview_pixmap(preview)
        self.picture.setVisible(pix is not None)
        if pix is not None:
            self.picture.setPixmap(pix)
        self.text.setText(preview_text(preview) + (f"\n{extra}" if extra else ""))
        self.adjustSize()
        self.move(at + QPoint(16, 16))
        self.show()

    def hide_card(self) -> None:
        self.position = None
        self.hide()
