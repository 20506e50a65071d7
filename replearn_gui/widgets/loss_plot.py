"""Loss curves: per-step training loss (raw and smoothed) and per-epoch validation loss."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget


class GrowingArray:
    """An append-only float buffer that doubles its capacity, so curves are fed from numpy without copies."""

    def __init__(self, capacity: int = 1024):
        self._data = np.empty(capacity, dtype=np.float64)
        self._n = 0

    def append(self, value: float) -> None:
        if self._n == len(self._data):
            self._data = np.resize(self._data, 2 * len(self._data))
        self._data[self._n] = value
        self._n += 1

    def clear(self) -> None:
        self._n = 0

    def truncate(self, n: int) -> None:
        self._n = min(self._n, max(n, 0))

    @property
    def values(self) -> np.ndarray:
        return self._data[: self._n]

    def __len__(self) -> int:
        return self._n


class Ema:
    """Exponential moving average with bias correction (early points are not pulled towards 0)."""

    def __init__(self, alpha: float):
        self.alpha = alpha
        self.reset()

    def reset(self) -> None:
        self._acc = 0.0
        self._weight = 0.0

    def update(self, value: float) -> float:
        self._acc = (1 - self.alpha) * self._acc + self.alpha * value
        self._weight = (1 - self.alpha) * self._weight + self.alpha
        return self._acc / self._weight


TERM_COLOURS = ((46, 160, 67), (148, 103, 189), (214, 39, 40), (140, 86, 75), (23, 190, 207), (188, 189, 34))


class LossPlot(QWidget):
    """Append points as events arrive; :meth:`refresh` (called on a timer) redraws.

    Each loss term (VICReg's invariance / variance / covariance, ...) gets its own smoothed curve; a log scale
    and the learning rate (shown, and changeable while training) sit above the plot.
    """

    lr_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None, smoothing: float = 0.1):
        super().__init__(parent)
        self.smoothing = smoothing
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("lossPlot")
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        # a GridItem, not the axes' own grid: their translucent grid lines made each repaint cost 20 ms, not 3
        self.grid = pg.GridItem(textPen=None)
        self.grid.setPen(pg.mkPen((225, 225, 225)))
        self.grid.setZValue(-10)
        self.plot.addItem(self.grid)
        # the legend sits above the data, in the plot's title row, never over the curves; its columns follow the
        # plot's width (see _fit_legend)
        item = self.plot.plotItem
        legend = pg.LegendItem(labelTextSize="8pt", colCount=3, frame=False, verSpacing=-4, horSpacing=8)
        legend.setParentItem(item)
        item.legend = legend
        legend.setZValue(5)
        self._fitting_legend = False
        self.raw = self.plot.plot(name="train (step)", pen=pg.mkPen((120, 150, 200, 110), width=1))
        self.smooth = self.plot.plot(name="train (smoothed)", pen=pg.mkPen((40, 90, 200), width=2))
        self.val = self.plot.plot(name="validation", pen=pg.mkPen((220, 110, 30), width=2),
                                  symbol="o", symbolSize=6, symbolBrush=(220, 110, 30))
        for item in (self.raw, self.smooth, self.val):
            item.setClipToView(True)
            item.setDownsampling(auto=True, method="peak")
            item.setSkipFiniteCheck(True)
        # the learning rate on its own axis (right), sharing the step axis
        item = self.plot.plotItem
        self.lr_view = pg.ViewBox()
        item.showAxis("right")
        item.scene().addItem(self.lr_view)
        item.getAxis("right").linkToView(self.lr_view)
        item.getAxis("right").setLabel("learning rate")
        self.lr_view.setXLink(item)
        self.lr_view.setMouseEnabled(x=False, y=False)
        item.vb.sigResized.connect(lambda: self.lr_view.setGeometry(item.vb.sceneBoundingRect()))
        item.vb.sigResized.connect(self._fit_legend)
        self.lr_curve = pg.PlotCurveItem(pen=pg.mkPen((150, 150, 150), width=1, style=Qt.PenStyle.DotLine))
        self.lr_view.addItem(self.lr_curve)
        item.legend.addItem(self.lr_curve, "learning rate (right)")
        self._fit_legend()
        self.overlay_curve = self.plot.plot(pen=pg.mkPen((130, 130, 130), width=2, style=Qt.PenStyle.DashLine))
        self.overlay_curve.setZValue(-1)
        self.overlay_name: str | None = None
        controls = QHBoxLayout()
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setObjectName("logScale")
        self.log_scale.toggled.connect(lambda on: self.plot.setLogMode(y=on))
        controls.addWidget(self.log_scale)
        controls.addStretch(1)
        self.lr_label = QLabel("lr –")
        self.lr_label.setObjectName("lrLabel")
        self.lr_label.setToolTip("The learning rate of the last step (the schedule's value)")
        controls.addWidget(self.lr_label)
        self.lr_edit = QLineEdit()
        self.lr_edit.setObjectName("lrEdit")
        self.lr_edit.setPlaceholderText("new peak lr")
        # wide enough for its placeholder or a typed rate ("0.00025"), never elided to "n…"
        text = max(self.lr_edit.fontMetrics().horizontalAdvance(t) for t in ("new peak lr", "0.000025"))
        self.lr_edit.setMinimumWidth(text + 16)
        self.lr_edit.setMaximumWidth(max(110, text + 16))
        self.lr_edit.returnPressed.connect(self._request_lr)
        controls.addWidget(self.lr_edit)
        self.lr_button = QPushButton("Set")
        self.lr_button.setObjectName("lrSet")
        self.lr_button.setToolTip("Set the peak learning rate of the running training; the schedule keeps scaling it")
        self.lr_button.clicked.connect(self._request_lr)
        controls.addWidget(self.lr_button)
        self.set_training(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.plot)
        self.term_curves: dict[str, tuple] = {}
        self.steps, self.losses, self.smoothed = GrowingArray(), GrowingArray(), GrowingArray()
        self.lrs = GrowingArray()
        self._ema = Ema(smoothing)
        self.val_steps, self.val_losses = GrowingArray(64), GrowingArray(64)
        self._dirty = False

    def _fit_legend(self) -> None:
        """As many legend columns as the plot's width holds, the legend at the top left of the data area and the
        title row as tall as the legend: it never covers a curve."""
        if self._fitting_legend:
            return
        self._fitting_legend = True
        try:
            item, legend = self.plot.plotItem, self.plot.plotItem.legend
            room = item.vb.width()
            for columns in (3, 2, 1):
                legend.setColumnCount(columns)
                # the layout's own hint: the entries' geometry is only updated when it is next laid out
                size = legend.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
                if size.width() <= room or columns == 1:
                    break
            legend.layout.activate()
            legend.setGeometry(0, 0, size.width(), size.height())
            item.layout.setRowFixedHeight(0, size.height() + 2)
            legend.setPos(item.vb.pos().x(), 0)
        finally:
            self._fitting_legend = False

    def set_dark(self, dark: bool) -> None:
        self.plot.setBackground("#1e1e1e" if dark else "w")
        self.grid.setPen(pg.mkPen((60, 60, 60) if dark else (225, 225, 225)))
        legend = self.plot.plotItem.legend
        colour = "#dddddd" if dark else "#333333"
        legend.setLabelTextColor(colour)
        for _sample, label in legend.items:  # setLabelTextColor only stores the colour: draw each label again
            label.setText(label.text, color=colour)
        for axis in ("left", "bottom", "right"):
            self.plot.getAxis(axis).setTextPen("#dddddd" if dark else "#333333")
            self.plot.getAxis(axis).setPen("#888888")

    def set_training(self, running: bool) -> None:
        self.lr_edit.setEnabled(running)
        self.lr_button.setEnabled(running)

    def _request_lr(self) -> None:
        try:
            lr = float(self.lr_edit.text())
        except ValueError:
            self.lr_edit.setStyleSheet("color: #b00020;")
            return
        self.lr_edit.setStyleSheet("")
        self.lr_requested.emit(lr)

    def show_lr(self, lr: float) -> None:
        self.lr_label.setText(f"lr {lr:.3g}")

    def clear(self) -> None:
        for buf in (self.steps, self.losses, self.smoothed, self.val_steps, self.val_losses, self.lrs):
            buf.clear()
        self._ema.reset()
        for name, (curve, _, _, _) in self.term_curves.items():
            self.plot.removeItem(curve)
            self.plot.plotItem.legend.removeItem(name)
        self.term_curves = {}
        self._dirty = True
        self.refresh()
        self._fit_legend()

    def set_overlay(self, name: str, steps: np.ndarray, losses: np.ndarray) -> None:
        """Another run's smoothed training loss, grey and dashed, for comparison (it stays across new runs)."""
        self.clear_overlay()
        ema = Ema(self.smoothing)
        self.overlay_curve.setData(np.asarray(steps, float), np.array([ema.update(v) for v in losses]))
        self.overlay_name = name
        self.plot.plotItem.legend.addItem(self.overlay_curve, f"{name} (smoothed)")
        self._fit_legend()

    def clear_overlay(self) -> None:
        if self.overlay_name is not None:
            self.plot.plotItem.legend.removeItem(self.overlay_curve)
            self._fit_legend()
        self.overlay_curve.setData([], [])
        self.overlay_name = None

    def _rewind(self, step: int) -> None:
        """A run resumed from an earlier checkpoint records its steps again from there: drop the points from
        ``step`` on (they were superseded), so the redone steps are drawn once, and restart the smoothing there."""
        keep = int(np.searchsorted(self.steps.values, step, side="left"))
        for buf in (self.steps, self.losses, self.smoothed, self.lrs):
            buf.truncate(keep)
        self._ema.reset()
        for value in self.losses.values:
            self._ema.update(value)
        for _, xs, ys, ema in self.term_curves.values():
            kept = int(np.searchsorted(xs.values, step, side="left"))
            xs.truncate(kept)
            ys.truncate(kept)
            ema.reset()  # the term's raw values are not kept: its smoothing restarts at the resumed step
        val_keep = int(np.searchsorted(self.val_steps.values, step, side="left"))
        self.val_steps.truncate(val_keep)
        self.val_losses.truncate(val_keep)

    def add_step(self, step: int, loss: float, terms: dict[str, float] | None = None, lr: float | None = None) -> None:
        if len(self.steps) and step <= self.steps.values[-1]:
            self._rewind(step)
        self.steps.append(step)
        self.losses.append(loss)
        self.lrs.append(np.nan if lr is None else lr)
        self.smoothed.append(self._ema.update(loss))
        if terms and len(terms) > 1:  # a single term is the loss itself
            for name, value in terms.items():
                if name not in self.term_curves:
                    colour = TERM_COLOURS[len(self.term_curves) % len(TERM_COLOURS)]
                    curve = self.plot.plot(name=name, pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
                    curve.setClipToView(True)
                    curve.setDownsampling(auto=True, method="peak")
                    self.term_curves[name] = (curve, GrowingArray(), GrowingArray(), Ema(self.smoothing))
                    self._fit_legend()
                _, xs, ys, ema = self.term_curves[name]
                xs.append(step)
                ys.append(ema.update(value))
        self._dirty = True

    def add_validation(self, step: int, loss: float) -> None:
        self.val_steps.append(step)
        self.val_losses.append(loss)
        self._dirty = True

    def refresh(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        x = self.steps.values
        self.raw.setData(x, self.losses.values)
        self.smooth.setData(x, self.smoothed.values)
        self.val.setData(self.val_steps.values, self.val_losses.values)
        self.lr_curve.setData(x, self.lrs.values)
        for curve, xs, ys, _ in self.term_curves.values():
            curve.setData(xs.values, ys.values)
