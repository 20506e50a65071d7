"""The evaluation's figures, drawn from evaluation records: layer-wise probe, robustness curves, reliability
diagram, confusion matrix, property card and the transfer label-efficiency curve. With several runs the curves
and bars of each run are overlaid in that run's colour."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt

from replearn_gui.explorer.colouring import categorical_palette


def _ticks(names: list[str], limit: int = 18) -> list[list[tuple[int, str]]]:
    """Axis ticks with (shortened) names; tick text is drawn as plain text."""
    return [[(i, n if len(n) <= limit else n[: limit - 1] + "…") for i, n in enumerate(names)]]


class EvaluationFigures(pg.GraphicsLayoutWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("evaluationFigures")
        self.setBackground("w")

        def plot(row, col, title, tip):
            p = self.addPlot(row=row, col=col)
            p.setTitle(title, size="9pt")
            p.setToolTip(tip)
            p.addLegend(offset=(-5, 5), labelTextSize="7pt")
            return p

        self.layer_plot = plot(0, 0, "Linear probe per layer", "Test accuracy of a linear probe on each layer's output")
        self.robust_plot = plot(0, 1, "Robustness", "Probe accuracy as the test inputs are corrupted more and more "
                                "(x: 0 = clean, 1 = the strongest level of each corruption)")
        self.robust_plot.setLabel("bottom", "severity")
        self.reliability_plot = plot(0, 2, "Reliability diagram", "Accuracy against confidence per bin; the diagonal "
                                     "is perfect calibration")
        self.confusion_plot = plot(1, 0, "Confusion (linear probe)", "Rows: true class; columns: predicted class")
        self.card_plot = plot(1, 1, "Property card", "Scores in [0, 1] of the representation's properties")
        self.transfer_plot = plot(1, 2, "Transfer: label efficiency", "Target test accuracy against labels per class "
                                  "(run the transfer wizard)")
        self.confusion_plot.invertY(True)
        self.confusion = pg.ImageItem()
        self.confusion.setLookupTable(pg.colormap.get("viridis").getLookupTable())
        self.confusion_plot.addItem(self.confusion)
        self.transfer_hint = pg.TextItem("Run the transfer wizard (Transfer…)", color=(130, 130, 130), anchor=(0.5, 0.5))
        self.transfer_plot.addItem(self.transfer_hint)
        self.transfer_hint.setPos(0.5, 0.5)
        self.records: dict[str, Mapping[str, Any]] = {}
        self.transfer: Any = None

    def clear_all(self) -> None:
        for p in (self.layer_plot, self.robust_plot, self.reliability_plot, self.card_plot):
            p.clear()
            if p.legend is not None:
                p.legend.clear()
        self.confusion.clear()

    def show_records(self, records: Mapping[str, Mapping[str, Any]]) -> None:
        """``records``: run name -> evaluation record (one run, or several to compare)."""
        self.records = dict(records)
        self.clear_all()
        colours = categorical_palette(max(len(records), 1))
        n = len(records)
        width = 0.8 / max(n, 1)
        for k, (name, rec) in enumerate(records.items()):
            learned = rec["results"]["learned"]
            colour = colours[k]
            label = name if n > 1 else "learned"
            layers = learned.get("layerwise") or []
            if layers:
                xs = np.arange(len(layers)) + (k - (n - 1) / 2) * width
                bars = pg.BarGraphItem(x=xs, height=[l["value"] for l in layers], width=width, brush=colour)
                self.layer_plot.addItem(bars)
                if n > 1:
                    self.layer_plot.legend.addItem(bars, label)
                self.layer_plot.getAxis("bottom").setTicks(_ticks([l["layer"] for l in layers]))
                self.layer_plot.setYRange(0, 1)
            styles = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine, Qt.PenStyle.DashDotLine)
            for j, (corruption, curve) in enumerate((learned.get("robustness") or {}).items()):
                pts = np.array(curve, dtype=float)
                # each corruption has its own scale (noise σ, occluded share, pixels shifted): x is the step
                severity = np.linspace(0, 1, len(pts))
                self.robust_plot.plot(severity, pts[:, 1], pen=pg.mkPen(colour, width=2, style=styles[j % 4]),
                                      symbol="o", symbolSize=4, symbolBrush=colour,
                                      name=f"{label} · {corruption}" if n > 1 else corruption)
            rel = learned.get("reliability")
            if rel:
                conf = np.array(rel["confidence"], dtype=float)
                acc = np.array(rel["accuracy"], dtype=float)
                ok = np.isfinite(conf) & np.isfinite(acc)
                self.reliability_plot.plot(conf[ok], acc[ok], pen=pg.mkPen(colour, width=2), symbol="o",
                                           symbolSize=5, symbolBrush=colour, name=label if n > 1 else None)
            card = learned.get("property_card") or {}
            if card:  # horizontal bars: the property names stay readable
                names = list(card)
                ys = np.arange(len(names)) + (k - (n - 1) / 2) * width
                bars = pg.BarGraphItem(x0=0, y=ys, height=width, width=[card[c]["score"] or 0 for c in names],
                                       brush=colour)
                self.card_plot.addItem(bars)
                if n > 1:
                    self.card_plot.legend.addItem(bars, label)
                self.card_plot.getAxis("left").setTicks(_ticks(names, 14))
                self.card_plot.setXRange(0, 1)
            if k == 0 and learned.get("confusion") is not None:
                m = np.array(learned["confusion"], dtype=float)
                rows = m.sum(axis=1, keepdims=True)
                self.confusion.setImage((m / np.maximum(rows, 1)).T, levels=(0, 1), autoLevels=False)
                self.confusion.setRect(-0.5, -0.5, len(m), len(m))  # cell i is centred on i
                classes = [str(c) for c in rec.get("label_names") or range(len(m))]
                if len(classes) <= 20:
                    for axis in ("left", "bottom"):
                        self.confusion_plot.getAxis(axis).setTicks(_ticks(classes, 8))
                self.confusion_plot.setTitle(f"Confusion (linear probe{', ' + name if n > 1 else ''})", size="9pt")
        self.reliability_plot.plot([0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine))
        self.reliability_plot.setXRange(0, 1)
        self.reliability_plot.setYRange(0, 1)

    def show_transfer(self, result: Any) -> None:
        """A core.TransferResult: accuracy against labels per class for each method."""
        self.transfer = result
        self.transfer_plot.clear()  # the hint goes too
        self.transfer_plot.legend.clear()
        budgets = [b if b is not None else np.nan for b in result.budgets]
        finite = [b for b in budgets if np.isfinite(b)]
        full_x = (max(finite) * 2) if finite else 1
        xs = np.array([b if np.isfinite(b) else full_x for b in budgets], dtype=float)
        for j, (method, accs) in enumerate(result.accuracy.items()):
            colour = categorical_palette(3)[j % 3]
            self.transfer_plot.plot(np.log10(xs), accs, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=5,
                                    symbolBrush=colour, name=method.replace("_", " "))
        names = [str(int(b)) if np.isfinite(b) else "all" for b in budgets]
        self.transfer_plot.getAxis("bottom").setTicks([[(float(np.log10(x)), t) for x, t in zip(xs, names, strict=True)]])
        self.transfer_plot.setLabel("bottom", "labels per class")
        self.transfer_plot.setYRange(0, 1)

    def set_dark(self, dark: bool) -> None:
        self.setBackground("#1e1e1e" if dark else "w")
