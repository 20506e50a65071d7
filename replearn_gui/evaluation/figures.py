"""The evaluation's figures, drawn from evaluation records: layer-wise probe (with intervals), robustness curves,
reliability diagram, confusion matrix, property card, transfer label-efficiency curves, invariance against
equivariance per transform, and linear CKA between layers.

With several runs each run has one colour, named once in the key above the grid (no legend per plot hides the
data); line styles name what differs within a run (corruption, transfer method). CKA is layer × layer for one
run and run A's layers × run B's layers when comparing.
"""
from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QAbstractScrollArea, QApplication

import core
from replearn_gui.explorer.colouring import categorical_palette

STYLES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
GREY = (120, 120, 120)
ROW_HEIGHT = 250  # the grid never squeezes a plot below this; the tab scrolls instead
COLUMN_WIDTH = 240  # the grid has as many columns of at least this width as fit (at most 3; more rows scroll)


def _short(name: str, limit: int) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _ticks(names: list[str], limit: int = 18) -> list[list[tuple[int, str]]]:
    """Axis ticks with (shortened) names; tick text is drawn as plain text."""
    return [[(i, _short(str(n), limit)) for i, n in enumerate(names)]]


class EvaluationFigures(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("evaluationFigures")
        self.setBackground("w")
        self.key = pg.LabelItem("", justify="left", size="9pt")
        self._titles: dict = {}  # plot -> its whole title (shown elided to the plot's width, whole in the tooltip)
        self.addItem(self.key, row=0, col=0, colspan=3)

        def plot(row, col, title, tip, colspan=1):
            p = self.addPlot(row=row, col=col, colspan=colspan)
            self._titles[p] = title
            p.setToolTip(tip)
            p.addLegend(offset=(-5, 5), labelTextSize="7pt")
            p.setMouseEnabled(x=False, y=False)  # static figures: a drag or the wheel never moves their data
            return p

        self.layer_plot = plot(1, 0, "Linear probe per layer", "Test accuracy of a linear probe on each layer's "
                               "output, with its 95% bootstrap interval")
        self.robust_plot = plot(1, 1, "Robustness", "Probe accuracy as the test inputs are corrupted more and more "
                                "(x: 0 = clean, 1 = the strongest level of each corruption)")
        self.robust_plot.setLabel("bottom", "severity")
        self.robust_plot.setLabel("left", "probe accuracy")
        self.reliability_plot = plot(1, 2, "Reliability diagram", "Accuracy against confidence per bin; the "
                                     "diagonal is perfect calibration")
        self.reliability_plot.setLabel("bottom", "confidence")
        self.reliability_plot.setLabel("left", "accuracy")
        self.confusion_plot = plot(2, 0, "Confusion (linear probe)", "Rows: true class; columns: predicted class")
        self.card_plot = plot(2, 1, "Property card", "Scores in [0, 1] of the representation's properties")
        self.transfer_plot = plot(2, 2, "Transfer: label efficiency", "Target test accuracy against labels per "
                                  "class (run the transfer wizard)")
        self.invariance_plot = plot(3, 0, "Invariance and equivariance", "Per transform: how far z moves under it "
                                    "(x, 0 = invariant) and how well the transform's parameter can be read from "
                                    "the movement (y, R², 1 = equivariant)")
        self.invariance_plot.setLabel("bottom", "movement of z (0 = invariant)")
        self.invariance_plot.setLabel("left", "equivariance R²")
        self.similarity_plot = plot(3, 1, "Linear CKA between layers", "Linear CKA (Kornblith et al. 2019) "
                                    "between layer outputs on the test split: 1 = the same geometry", colspan=2)
        self.similarity_plot.invertY(True)
        self.similarity_image = pg.ImageItem()
        self.similarity_image.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.similarity_plot.addItem(self.similarity_image)
        self.similarity: Any = None  # the core.Similarity shown
        self.confusion_plot.invertY(True)
        self.confusion = pg.ImageItem()
        self.confusion.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.confusion_plot.addItem(self.confusion)
        self.viewport().installEventFilter(self)  # the wheel: see eventFilter
        self.columns = 3
        self._hints: dict = {}  # plot -> its hint text item, wrapped to the plot's width
        for p in self.plots:
            p.vb.sigResized.connect(lambda *_, p=p: self._fit_hint(p))  # (the signal passes the view box)
            p.vb.sigResized.connect(lambda *_, p=p: self._fit_title(p))
            self._fit_title(p)
        self.arrange(3)
        self.records: dict[str, Mapping[str, Any]] = {}
        self.transfers: dict[str, Any] = {}  # run name -> core.TransferResult
        self.colours: dict[str, tuple[int, int, int]] = {}
        self.transfer_plot.legend.setOffset((-5, -5))  # bottom right: the curves rise to the top
        self.invariance_plot.legend.setOffset((-5, -5))  # bottom right: few points are both moved and unreadable
        self._hint(self.transfer_plot, "Run the transfer wizard (Transfer…)")

    @property
    def plots(self) -> tuple:
        """The figures in reading order (the grid fills rows left to right)."""
        return (self.layer_plot, self.robust_plot, self.reliability_plot, self.confusion_plot, self.card_plot,
                self.transfer_plot, self.invariance_plot, self.similarity_plot)

    def arrange(self, columns: int) -> None:
        """Lay the figures out in ``columns`` columns (3 when wide, fewer when narrow): a narrow tab gets more rows,
        which scroll, instead of plots squeezed over each other or cut off at the right."""
        layout = self.ci.layout
        for p in self.plots:
            if p in self.ci.items:
                self.ci.removeItem(p)
        self.ci.removeItem(self.key)
        self.addItem(self.key, row=0, col=0, colspan=columns)
        rows = 0
        for k, p in enumerate(self.plots):
            row, col = 1 + k // columns, k % columns
            last = k == len(self.plots) - 1
            self.addItem(p, row=row, col=col, colspan=columns - col if last else 1)
            rows = row
        for c in range(3):
            layout.setColumnStretchFactor(c, 1 if c < columns else 0)
        for r in range(1, len(self.plots) + 1):
            layout.setRowMinimumHeight(r, ROW_HEIGHT if r <= rows else 0)
            layout.setRowStretchFactor(r, 1 if r <= rows else 0)
        self.columns = columns
        self.setMinimumHeight(rows * ROW_HEIGHT + 90)
        self.setMinimumWidth(COLUMN_WIDTH - 20)  # narrower still, the scroll area scrolls sideways

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt)
        columns = max(1, min(3, self.width() // COLUMN_WIDTH))
        if columns != getattr(self, "columns", columns):  # (pyqtgraph resizes once before __init__ is done)
            self.arrange(columns)
        super().resizeEvent(event)  # after the re-layout: the grid then takes the view's width

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 (Qt)
        """The wheel over a figure scrolls the pane the figures sit in, never the figure (zooming the static figures
        piled the bar labels up, and the pane could not be scrolled with the pointer over a plot)."""
        if watched is self.viewport() and event.type() == QEvent.Type.Wheel:
            area = self.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:  # to the pane's scroll bar, as the pane's own wheel handling does
                delta = event.angleDelta()
                sideways = abs(delta.x()) > abs(delta.y())
                QApplication.sendEvent(area.horizontalScrollBar() if sideways else area.verticalScrollBar(), event)
            return True
        return super().eventFilter(watched, event)

    def _set_title(self, plot, text: str) -> None:
        self._titles[plot] = text
        self._fit_title(plot)

    def _fit_title(self, plot) -> None:
        """The title elided to the plot's width (its whole text in the tooltip): a long title (the CKA plot's, with
        its sample count) made the grid wider than the pane, which cut the right column off without a scroll bar."""
        text = self._titles.get(plot, "")
        label = plot.titleLabel
        font = QFont(label.item.font())
        font.setPointSizeF(9)
        room = int(plot.vb.width()) - 8  # the title row is as wide as the data area (not the axes)
        shown = text if room <= 0 else QFontMetrics(font).elidedText(text, Qt.TextElideMode.ElideRight, room)
        if label.text != escape(shown) or not label.isVisible():
            plot.setTitle(escape(shown), size="9pt")
        label.setMinimumWidth(0)
        label.setToolTip(text if shown != text else "")

    def _hint(self, plot, text: str) -> None:
        """A grey note in the middle of an empty plot, wrapped to the plot's width (never over its axes)."""
        item = pg.TextItem(html=f"<div style='text-align:center; color:#828282'>{escape(text)}</div>",
                           anchor=(0.5, 0.5))
        plot.addItem(item)
        item.setPos(0.5, 0.5)
        plot.setXRange(0, 1)
        plot.setYRange(0, 1)
        self._hints[plot] = item
        self._fit_hint(plot)

    def _fit_hint(self, plot) -> None:
        item = self._hints.get(plot)
        if item is not None and item.scene() is not None:
            item.setTextWidth(max(40.0, plot.vb.width() - 16))

    def clear_all(self) -> None:
        for p in (self.layer_plot, self.robust_plot, self.reliability_plot, self.card_plot, self.invariance_plot):
            p.clear()
            if p.legend is not None:
                p.legend.clear()
        self.confusion.clear()

    def _label(self, name: str) -> str:
        return name if len(self.records) > 1 else "learned"

    def show_records(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """``records``: run name -> evaluation record (one run, or several to compare)."""
        self.records = dict(records)
        self.clear_all()
        n = len(records)
        palette = categorical_palette(max(n, 1))
        self.colours = {name: palette[k] for k, name in enumerate(records)}
        if n > 1:  # one key for the run colours of every plot
            self.key.setText("  ".join(f"<span style='color: rgb{self.colours[name]}'>■</span> {escape(name)}"
                                       for name in records))
        else:
            self.key.setText("")
        self.key.setMinimumWidth(0)  # a long key of run names never widens the grid past the pane
        self.ci.layout.setRowMaximumHeight(0, 22 if n > 1 else 0)
        width = 0.8 / max(n, 1)
        for k, (name, rec) in enumerate(records.items()):
            learned = rec["results"]["learned"]
            colour = self.colours[name]
            offset = (k - (n - 1) / 2) * width
            self._layers(learned.get("layerwise") or [], colour, offset, width, n)
            self._robustness(learned.get("robustness") or {}, colour, name, n, first=k == 0)
            rel = learned.get("reliability")
            if rel:
                conf = np.array(rel["confidence"], dtype=float)
                acc = np.array(rel["accuracy"], dtype=float)
                ok = np.isfinite(conf) & np.isfinite(acc)
                self.reliability_plot.plot(conf[ok], acc[ok], pen=pg.mkPen(colour, width=2), symbol="o",
                                           symbolSize=5, symbolBrush=colour)
            self._card(learned.get("property_card") or {}, colour, offset, width)
            if k == 0 and learned.get("confusion") is not None:
                self._confusion(learned["confusion"], rec, name if n > 1 else None)
        self.reliability_plot.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self.reliability_plot.setXRange(0, 1)
        self.reliability_plot.setYRange(0, 1)
        self._invariance(records)
        if n == 1:
            sim = next(iter(records.values()))["results"]["learned"].get("similarity")
            if sim:
                self.show_similarity(core.Similarity.from_record(sim))
            else:
                self.show_similarity(None, "Tick “similarity” and press Evaluate")
        else:
            self.show_similarity(None, "Computing CKA between the first two runs…")
        self.draw_transfers()

    # ---- the plots ---------------------------------------------------------------------------------------------
    def _layers(self, layers: list, colour, offset: float, width: float, n: int) -> None:
        if not layers:
            return
        xs = np.arange(len(layers)) + offset
        values = np.array([l["value"] for l in layers], dtype=float)
        bars = pg.BarGraphItem(x=xs, height=values, width=width, brush=colour)
        self.layer_plot.addItem(bars)
        low = np.array([np.nan if l.get("low") is None else l["low"] for l in layers], dtype=float)
        high = np.array([np.nan if l.get("high") is None else l["high"] for l in layers], dtype=float)
        ok = np.isfinite(low) & np.isfinite(high)
        if ok.any():
            self.layer_plot.addItem(pg.ErrorBarItem(x=xs[ok], y=values[ok], top=high[ok] - values[ok],
                                                    bottom=values[ok] - low[ok], beam=width * 0.3,
                                                    pen=pg.mkPen((40, 40, 40), width=1.5)))
        if n == 1:  # the value over each bar (over its interval)
            for x, v, h in zip(xs, values, np.where(ok, high, values), strict=True):
                label = pg.TextItem(f"{v:.2f}", color=(60, 60, 60), anchor=(0.5, 1.0))
                label.setPos(float(x), float(h) + 0.01)
                self.layer_plot.addItem(label)
        self.layer_plot.getAxis("bottom").setTicks(_ticks([l["layer"] for l in layers], 14))
        # room for every bar's label, the last one too
        self.layer_plot.setXRange(-0.6, len(layers) - 0.4, padding=0)
        self.layer_plot.setYRange(0, 1.1, padding=0)

    def _robustness(self, curves: Mapping[str, list], colour, name: str, n: int, first: bool) -> None:
        for j, (corruption, curve) in enumerate(curves.items()):
            pts = np.array(curve, dtype=float)
            # each corruption has its own scale (noise σ, occluded share, pixels shifted): x is the step
            severity = np.linspace(0, 1, len(pts))
            style = STYLES[j % len(STYLES)]
            if n == 1:  # one run: each corruption its own colour (the styles alone were hard to tell apart)
                colour = categorical_palette(max(len(curves), 1))[j]
            self.robust_plot.plot(severity, pts[:, 1], pen=pg.mkPen(colour, width=2, style=style), symbol="o",
                                  symbolSize=4, symbolBrush=colour, name=corruption if n == 1 else None)
            if n > 1 and first:  # the styles once, in grey: the colours are in the key
                key = pg.PlotDataItem(pen=pg.mkPen(GREY, width=2, style=style))
                self.robust_plot.legend.addItem(key, corruption)

    def _card(self, card: Mapping[str, Any], colour, offset: float, width: float) -> None:
        if not card:  # horizontal bars: the property names stay readable
            return
        names = list(card)
        ys = np.arange(len(names)) + offset
        bars = pg.BarGraphItem(x0=0, y=ys, height=width, width=[card[c]["score"] or 0 for c in names], brush=colour)
        self.card_plot.addItem(bars)
        self.card_plot.getAxis("left").setTicks(_ticks(names, 14))
        self.card_plot.setXRange(0, 1)

    def _confusion(self, confusion, rec, name: str | None) -> None:
        m = np.array(confusion, dtype=float)
        rows = m.sum(axis=1, keepdims=True)
        self.confusion.setImage((m / np.maximum(rows, 1)).T, levels=(0, 1), autoLevels=False)
        self.confusion.setRect(-0.5, -0.5, len(m), len(m))  # cell i is centred on i
        classes = [str(c) for c in rec.get("label_names") or range(len(m))]
        if len(classes) <= 20:
            for axis in ("left", "bottom"):
                self.confusion_plot.getAxis(axis).setTicks(_ticks(classes, 8))
        self._set_title(self.confusion_plot, f"Confusion (linear probe{', ' + name if name else ''})")

    def _invariance(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """One point per (representation, transform): learned in the run's colour; with one run, the
        baselines in grey shades for comparison."""
        p = self.invariance_plot
        shown = []
        for name, rec in records.items():
            reps = {"learned": self.colours[name]}
            if len(records) == 1:
                greys = [(150, 150, 150), (190, 190, 190), (110, 110, 110)]
                reps.update({b: greys[i % 3] for i, b in enumerate(r for r in rec["results"] if r != "learned")})
            for rep, colour in reps.items():
                inv = rec["results"].get(rep, {}).get("invariance") or {}
                if not inv:
                    continue
                xs = np.array([v["invariance"] for v in inv.values()], dtype=float)
                ys = np.array([v["equivariance_r2"] for v in inv.values()], dtype=float)
                # short: a long name ("hand-designed (HOG + edges)") ran past a narrow plot; the table has it whole
                label = _short(rep.replace("_", " "), 18) if len(records) == 1 else None
                p.plot(xs, ys, pen=None, symbol="o", symbolSize=9, symbolBrush=colour, symbolPen=None, name=label)
                if rep == "learned":
                    for t, x, y in zip(inv, xs, ys, strict=True):
                        text = pg.TextItem(t.replace("_", " "), color=(60, 60, 60), anchor=(-0.1, 0.5))
                        text.setPos(float(x), float(y))
                        p.addItem(text)
                shown.append(xs)
        if shown:
            # room right of the last point for its transform's name
            right = max(1.0, float(np.nanmax(np.concatenate(shown))) * 1.45)
            p.setXRange(0, right, padding=0)
            p.setYRange(min(0.0, float(np.nanmin([0.0]))), 1.08)
        else:
            self._hint(p, "Tick “invariance” and press Evaluate")

    def show_similarity(self, similarity: Any, hint: str = "") -> None:
        """A core.Similarity as a heat map (values written in the cells), or a hint where there is none."""
        p = self.similarity_plot
        for item in list(p.items):
            if item is not self.similarity_image:
                p.removeItem(item)
        self.similarity = similarity
        if similarity is None:
            self.similarity_image.clear()
            p.getAxis("left").setTicks(None)
            p.getAxis("bottom").setTicks(None)
            p.setLabel("left", "")
            p.setLabel("bottom", "")
            self._hint(p, hint)
            return
        m = np.asarray(similarity.matrix, dtype=float)
        rows, cols = m.shape
        self.similarity_image.setImage(m.T, levels=(0, 1), autoLevels=False)
        self.similarity_image.setRect(-0.5, -0.5, cols, rows)
        p.getAxis("left").setTicks(_ticks(list(similarity.rows), 14))
        p.getAxis("bottom").setTicks(_ticks(list(similarity.columns), 14))
        p.setLabel("left", similarity.row_label)
        p.setLabel("bottom", similarity.column_label)
        title = "Linear CKA between layers" if similarity.row_label == similarity.column_label == "layer" else (
            "Linear CKA: layers of two runs")
        self._set_title(p, f"{title} ({similarity.n_samples} test samples)")
        if rows * cols <= 100:
            for i in range(rows):
                for j in range(cols):
                    text = pg.TextItem(f"{m[i, j]:.2f}", color="k" if m[i, j] > 0.6 else "w", anchor=(0.5, 0.5))
                    text.setPos(j, i)
                    p.addItem(text)
        p.setXRange(-0.5, cols - 0.5, padding=0.02)
        p.setYRange(-0.5, rows - 0.5, padding=0.02)

    def show_transfer(self, result: Any) -> None:
        """A core.TransferResult of one of the runs in view (from the transfer wizard)."""
        from pathlib import Path

        self.transfers[Path(result.source_run).name] = result
        self.draw_transfers()

    def draw_transfers(self) -> None:
        """Accuracy against labels per class: every run in view that has a transfer result; methods by line
        style (and by colour when only one run is shown)."""
        p = self.transfer_plot
        p.clear()
        p.legend.clear()
        shown = {name: t for name, t in self.transfers.items() if name in self.records or not self.records}
        if not shown:
            self._hint(p, "Run the transfer wizard (Transfer…)")
            return
        finite = [b for t in shown.values() for b in t.budgets if b is not None]
        full_x = max(finite) * 2 if finite else 1
        ticks: dict[float, str] = {}
        single = len(shown) == 1 and len(self.records) <= 1
        for name, result in shown.items():
            xs = np.array([full_x if b is None else b for b in result.budgets], dtype=float)
            for j, (method, accs) in enumerate(result.accuracy.items()):
                colour = categorical_palette(3)[j % 3] if single else self.colours.get(name, GREY)
                style = Qt.PenStyle.SolidLine if single else STYLES[j % len(STYLES)]
                label = method.replace("_", " ")
                p.plot(np.log10(xs), np.asarray(accs, dtype=float), pen=pg.mkPen(colour, width=2, style=style),
                       symbol="o", symbolSize=5, symbolBrush=colour, name=label if single else None)
                if not single and name == next(iter(shown)):
                    p.legend.addItem(pg.PlotDataItem(pen=pg.mkPen(GREY, width=2, style=style)), label)
            for b, x in zip(result.budgets, xs, strict=True):
                ticks[float(np.log10(x))] = "all" if b is None else str(int(b))
        p.getAxis("bottom").setTicks([sorted(ticks.items())])
        p.setLabel("bottom", "labels per class")
        targets = sorted({t.target for t in shown.values()})
        self._set_title(p, f"Transfer to {', '.join(targets)}: label efficiency")
        p.setYRange(0, 1)
        p.enableAutoRange(axis="x")

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#1e1e1e" if dark else "w")
