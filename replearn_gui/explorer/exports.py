"""Pictures of a view for papers and slides: PNG and SVG with the view's title above the plot and the legend (or
colour bar) beside it, without pyqtgraph's "A" auto-range button. Written atomically (never a half file)."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QPen
from PySide6.QtSvg import QSvgGenerator

import core
from replearn_gui.explorer.state import ExplorerState

TITLE_H = 30
LEGEND_W = 190
ROW_H = 18
MAX_ROWS = 40


def legend_rows(state: ExplorerState) -> list[tuple[tuple[int, int, int], str]]:
    """(colour, text) of every shown category, as the legend lists them."""
    c = state.colours
    if c is None or c.value_range is not None or len(c.categories) <= 1:
        return []
    counts = np.bincount(c.index, minlength=len(c.palette))
    return [(c.palette[i], f"{name} ({counts[i]:,})") for i, name in enumerate(c.categories) if i not in state.hidden]


def figure_size(plot, state: ExplorerState) -> tuple[int, int]:
    vp = plot.viewport().rect()
    has_legend = bool(legend_rows(state)) or (state.colours is not None and state.colours.value_range is not None)
    return vp.width() + (LEGEND_W if has_legend else 0), vp.height() + TITLE_H


def paint_figure(p: QPainter, plot, state: ExplorerState, title: str, dark: bool = False) -> None:
    vp = plot.viewport().rect()
    width, height = figure_size(plot, state)
    ink = QColor(230, 230, 230) if dark else QColor(20, 20, 20)
    p.fillRect(QRectF(0, 0, width, height), QColor("#1e1e1e") if dark else QColor("white"))
    font = QFont(p.font())
    font.setBold(True)
    font.setPointSizeF(11)
    p.setFont(font)
    p.setPen(ink)
    p.drawText(QRectF(8, 0, width - 16, TITLE_H), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title)
    button = plot.getPlotItem().autoBtn  # the "A" that pyqtgraph shows over the plot: not part of the picture
    shown = button.isVisible()
    button.hide()
    try:
        plot.render(p, QRectF(0, TITLE_H, vp.width(), vp.height()), vp)
    finally:
        button.setVisible(shown)
    font.setBold(False)
    font.setPointSizeF(9)
    p.setFont(font)
    x0 = vp.width() + 10
    c = state.colours
    if c is not None and c.value_range is not None:  # a colour bar with its ends
        p.drawText(QRectF(x0, TITLE_H + 4, LEGEND_W - 16, ROW_H), Qt.AlignmentFlag.AlignLeft, c.title)
        for k in range(100):
            colour = c.palette[int(k / 99 * (len(c.palette) - 1))]
            p.fillRect(QRectF(x0 + k * 1.6, TITLE_H + 26, 1.7, 14), QColor(*colour))
        lo, hi = c.value_range
        p.drawText(QRectF(x0, TITLE_H + 42, 80, ROW_H), Qt.AlignmentFlag.AlignLeft, f"{lo:.3g}")
        p.drawText(QRectF(x0 + 80, TITLE_H + 42, 80, ROW_H), Qt.AlignmentFlag.AlignRight, f"{hi:.3g}")
        return
    rows = legend_rows(state)
    if c is not None and c.title and rows:
        p.drawText(QRectF(x0, TITLE_H + 4, LEGEND_W - 16, ROW_H), Qt.AlignmentFlag.AlignLeft, c.title)
    for r, (colour, text) in enumerate(rows[:MAX_ROWS]):
        y = TITLE_H + 8 + (r + 1) * ROW_H
        p.setPen(QPen(QColor(*colour).darker(130), 0.6))
        p.setBrush(QBrush(QColor(*colour)))
        p.drawEllipse(QPointF(x0 + 6, y + ROW_H / 2), 5, 5)
        p.setPen(ink)
        p.drawText(QRectF(x0 + 16, y, LEGEND_W - 30, ROW_H), Qt.AlignmentFlag.AlignVCenter, text)
    if len(rows) > MAX_ROWS:
        p.drawText(QRectF(x0, TITLE_H + 8 + (MAX_ROWS + 1) * ROW_H, LEGEND_W - 16, ROW_H), Qt.AlignmentFlag.AlignLeft,
                   f"… and {len(rows) - MAX_ROWS} more")


def _bytes(data: QByteArray) -> bytes:
    return bytes(data.data())


def png_bytes(plot, state: ExplorerState, title: str, dark: bool = False) -> bytes:
    dpr = plot.devicePixelRatioF()
    width, height = figure_size(plot, state)
    image = QImage(int(width * dpr), int(height * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    paint_figure(p, plot, state, title, dark)
    p.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return _bytes(data)


def svg_bytes(plot, state: ExplorerState, title: str, dark: bool = False) -> bytes:
    width, height = figure_size(plot, state)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    generator = QSvgGenerator()
    generator.setOutputDevice(buffer)
    generator.setSize(QRect(0, 0, width, height).size())
    generator.setViewBox(QRect(0, 0, width, height))
    generator.setTitle(title)
    p = QPainter(generator)
    paint_figure(p, plot, state, title, dark)
    p.end()
    buffer.close()
    return _bytes(data)


def write_picture(kind: str, path: str, plot, state: ExplorerState, title: str, dark: bool = False) -> str:
    """Write a PNG or SVG; the status line to show (a clear sentence when the file cannot be written)."""
    data = png_bytes(plot, state, title, dark) if kind == "png" else svg_bytes(plot, state, title, dark)
    try:
        core.atomic_write_bytes(path, data)
    except OSError as err:
        return f"Could not write {path}: {err.strerror or err}"
    return f"Saved {path}"
