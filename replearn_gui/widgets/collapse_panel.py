"""The collapse cockpit: how healthy the representation is, epoch by epoch.

Per-dimension spread (now, against the healthy 1/√d, and as a dimensions × epochs heatmap), effective rank against
its maximum, the singular-value spectrum now and at the start, the online probe against the raw-feature
baseline, the alignment–uniformity path, the covariance (or cross-correlation) matrix, and the verdict in words.
Everything is fed from core's Diagnostics (copies that crossed the thread boundary) and drawn on the GUI thread.
"""
from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

import core
from replearn_gui.widgets.compact_axis import CompactAxis

# (background, text) of the health banner per verdict, in the light and the dark theme: each pair keeps a
# WCAG contrast of at least 4.5 (checked by a test), and the dark ones sit on dark backgrounds
VERDICT_COLOURS = {
    False: {"healthy": ("#e3f4e1", "#1d5e20"), "dimensional collapse": ("#fff1d6", "#7a4b00"),
            "complete collapse": ("#fde0e0", "#8a1010"), "diverged": ("#f6e1f7", "#6b1470"),
            "too few samples": ("#eeeeee", "#444444"), "": ("#eeeeee", "#333333")},
    True: {"healthy": ("#1e3a21", "#a9e2ab"), "dimensional collapse": ("#45360f", "#ffd98a"),
           "complete collapse": ("#4a1c1c", "#ffb4b4"), "diverged": ("#3f1d43", "#f2bdf7"),
           "too few samples": ("#3a3a3a", "#dddddd"), "": ("#333333", "#dddddd")},
}
VIEWS_COLOURS = {False: {"hint": ("#fff3cd", "#5c4400"), "": (None, "#555555")},
                 True: {"hint": ("#45360f", "#ffd98a"), "": (None, "#bbbbbb")}}


PLOT_MIN_WIDTH, PLOT_MIN_HEIGHT = 150, 125  # one cockpit plot: its axes, a readable title and some data
HELP_MARK, HELP_MARK_COLOUR = "(?)", "#4a7bd0"  # after each chart title: hover it for what the chart means
AXIS_WIDTH, LABELLED_AXIS_WIDTH = 36, 50  # a y axis' ticks ("-0.25", "0.975"); and with its label beside them
PROBE_MARKS = {"linear": "●", "kNN": "▲", "raw": "- -"}  # as the curves are drawn ("raw": the input features)


class CollapsePanel(QWidget):
    collapse_detected = Signal(object)  # the Verdict, the first time a run collapses

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.objective: str | None = None  # the run's objective: collapse advice names its own mechanism
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        self.banner = QLabel("The representation's health appears after the first epoch.")
        self.banner.setObjectName("verdictBanner")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.dark = False
        self.banner_status = ""  # the verdict the banner shows ("" before the first epoch): its colours follow it
        self._views_hint = False
        top.addWidget(self.banner, 1)
        self.auto_pause = QCheckBox("Pause when collapse starts")
        self.auto_pause.setObjectName("autoPause")
        self.auto_pause.setToolTip("Pause the run and save a checkpoint at the first epoch judged collapsed.")
        top.addWidget(self.auto_pause)
        layout.addLayout(top)
        self.views_label = QLabel("")  # how hard the two views make the contrastive task, each epoch
        self.views_label.setObjectName("viewStrength")
        self.views_label.setTextFormat(Qt.TextFormat.PlainText)
        self.views_label.setWordWrap(True)
        self.views_label.setToolTip("Two augmented views of the diagnostics batch: the share of views whose most "
                                    "similar other view (within batch-sized groups) is their pair, and the mean "
                                    "cosine of the pairs. Near 1 the views are too easy to teach much.")
        self.views_label.hide()
        layout.addWidget(self.views_label)
        self.view = pg.GraphicsLayoutWidget()
        self.view.setObjectName("cockpit")
        # below 4 × 2 readable plots the cockpit scrolls instead of drawing its plots over each other
        self.view.setMinimumSize(4 * PLOT_MIN_WIDTH, 2 * PLOT_MIN_HEIGHT)
        self.view.ci.layout.setHorizontalSpacing(14)  # tick labels at a plot's edge stay clear of the next plot
        self.scroll = QScrollArea()
        self.scroll.setObjectName("cockpitScroll")
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroll.setWidget(self.view)
        layout.addWidget(self.scroll, 1)
        v = self.view

        self._tips: dict = {}

        def plot(row, col, title, tip):
            p = v.addPlot(row=row, col=col, axisItems={"left": CompactAxis("left"), "bottom": CompactAxis("bottom")})
            # one width for every y axis (wider where it has a label): columns line up and no tick text grows
            # into the plot beside it
            p.getAxis("left").setWidth(AXIS_WIDTH)
            self._set_title(p, title)
            # the title says it explains itself: a "?" marker, the help cursor, and the tooltip on the title too
            p.titleLabel.setCursor(Qt.CursorShape.WhatsThisCursor)
            self._tips[p] = tip
            self._set_tip(p, tip)
            return p

        self.std_plot = plot(0, 0, "Spread per dimension", "Std of each dimension of the L2-normalised embeddings; "
                             "the dashed line is the healthy 1/√d")
        self.rank_plot = plot(0, 1, "Effective rank", "RankMe over epochs; the dashed line is the dimension")
        self.spectrum_plot = plot(0, 2, "Spectrum (log10 σ)", "Singular values now (red) and at the start (grey)")
        self.cov_plot = plot(0, 3, "Covariance", "Covariance of the representation, or the cross-correlation of "
                             "two views' projections (Barlow Twins' C)")
        self.heat_plot = plot(1, 0, "Spread × epochs", "x: epochs, y: dimensions; bright = a healthy spread (1.0 = 1/√d)")
        self.probe_plot = plot(1, 1, "Online probe", "Linear probe (blue) and kNN (orange) on held-out samples; "
                               "dashed: the raw input features")
        self.au_plot = plot(1, 2, "Alignment / uniformity", "Wang & Isola (2020): lower-left is better")
        self.cos_plot = plot(1, 3, "Mean cosine", "Mean pairwise cosine similarity: 1 = everything points one way")
        for p in (self.std_plot, self.rank_plot, self.spectrum_plot, self.cov_plot, self.heat_plot, self.probe_plot,
                  self.au_plot, self.cos_plot):
            p.setMinimumWidth(PLOT_MIN_WIDTH - 10)
        for p in (self.heat_plot, self.cov_plot):
            p.invertY(True)
            p.setAspectLocked(False)
        self.std_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#4a7bd0")
        self.std_plot.addItem(self.std_bars)
        self.healthy_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#2a9d3a", style=Qt.PenStyle.DashLine))
        self.std_plot.addItem(self.healthy_line)
        self.rank_curve = self.rank_plot.plot(pen=pg.mkPen("#4a7bd0", width=2), symbol="o", symbolSize=4)
        self.rank_max = pg.InfiniteLine(angle=0, pen=pg.mkPen("#999999", style=Qt.PenStyle.DashLine))
        self.rank_plot.addItem(self.rank_max)
        self.spectrum_start = self.spectrum_plot.plot(pen=pg.mkPen("#aaaaaa", width=1.5), name="start")
        self.spectrum_now = self.spectrum_plot.plot(pen=pg.mkPen("#d0504a", width=2), name="now")
        self.heat = pg.ImageItem()
        self.heat_plot.addItem(self.heat)
        self.cov = pg.ImageItem()
        self.cov_plot.addItem(self.cov)
        # the legend is the title's coloured key: a legend box would cover most of so small a plot
        self.probe_key = {"linear": "#4a7bd0", "kNN": "#e08a2a", "raw": "#2a9d3a"}
        self._set_title(self.probe_plot, "Online probe", "<br>" + " ".join(
            f"<span style='color:{c}'>{PROBE_MARKS[name]} {name}</span>"
            for name, c in self.probe_key.items()), size="8pt")
        self.probe_curve = self.probe_plot.plot(pen=pg.mkPen("#4a7bd0", width=2), symbol="o", symbolSize=4,
                                                symbolBrush="#4a7bd0", name="linear probe")
        self.knn_curve = self.probe_plot.plot(pen=pg.mkPen("#e08a2a", width=2), symbol="t", symbolSize=4,
                                              symbolBrush="#e08a2a", name="kNN")
        self.baseline_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("#2a9d3a", style=Qt.PenStyle.DashLine))
        self.baseline_line.hide()
        self.probe_plot.addItem(self.baseline_line)
        self.probe_plot.setLabel("left", "accuracy")
        self.probe_plot.setYRange(0, 1)
        self.au_path = self.au_plot.plot(pen=pg.mkPen("#777777"), symbol="o", symbolSize=5, symbolBrush="#4a7bd0")
        self.au_plot.setLabel("bottom", "uniformity")
        self.au_plot.setLabel("left", "alignment")
        for p in (self.probe_plot, self.au_plot):
            p.getAxis("left").setWidth(LABELLED_AXIS_WIDTH)
        self.cos_curve = self.cos_plot.plot(pen=pg.mkPen("#8a4ad0", width=2), symbol="o", symbolSize=4)
        grey = pg.mkPen((130, 130, 130), width=1.5, style=Qt.PenStyle.DashLine)
        self.overlay_rank = self.rank_plot.plot(pen=grey)
        self.overlay_probe = self.probe_plot.plot(pen=grey)
        self.overlay_cos = self.cos_plot.plot(pen=grey)
        self.clear()

    # the glossary terms each plot shows (their definitions join the tooltips once core is loaded)
    GLOSSARY: ClassVar[dict[str, tuple[str, ...]]] = {"std_plot": ("spread",), "rank_plot": ("effective rank", "rankme"),
                "spectrum_plot": ("dimensional collapse",), "cov_plot": ("decorrelation",), "heat_plot": ("spread",),
                "probe_plot": ("linear probe", "knn probe"), "au_plot": ("alignment", "uniformity"),
                "cos_plot": ("mean pairwise cosine", "collapse")}

    def explain_with(self, define) -> None:
        """Add the glossary's definitions (``define(term) -> text``) to the plots' tooltips."""
        for attr, terms in self.GLOSSARY.items():
            p = getattr(self, attr)
            extra = [f"{t}: {define(t)}" for t in terms if define(t)]
            self._set_tip(p, "\n\n".join([self._tips[p], *extra]))

    @staticmethod
    def _set_title(p, title: str, extra: str = "", size: str = "9pt") -> None:
        """A chart title with the "?" that says hovering it explains the chart."""
        p.setTitle(f"{title} <span style='color:{HELP_MARK_COLOUR}; font-weight:bold'>{HELP_MARK}</span>{extra}",
                   size=size)

    @staticmethod
    def _set_tip(p, tip: str) -> None:
        p.setToolTip(tip)
        p.titleLabel.setToolTip(tip)

    def set_dark(self, dark: bool) -> None:
        self.dark = dark
        self.view.setBackground("#1e1e1e" if dark else "w")
        self._style_banner()
        self._style_views()

    def _style_banner(self) -> None:
        colours = VERDICT_COLOURS[self.dark]
        background, text = colours.get(self.banner_status, colours[""])
        self.banner.setStyleSheet(f"padding:6px; border-radius:4px; background:{background}; color:{text};")

    def _style_views(self) -> None:
        background, text = VIEWS_COLOURS[self.dark]["hint" if self._views_hint else ""]
        self.views_label.setStyleSheet("padding:3px 6px; border-radius:4px;"
                                       + (f"background:{background};" if background else "") + f"color:{text};")

    def show_diverged(self, advice: str) -> None:
        """The run blew up (RunFinished's verdict): the banner says so in its own colour, with the advice."""
        self.banner.setText("Diverged: the loss ended far above where it started, so these numbers mean nothing."
                            + (f" {advice}" if advice else ""))
        self.banner_status = "diverged"
        self._style_banner()

    def clear(self) -> None:
        self.epochs: list[int] = []
        self.ranks: list[float] = []
        self.probe: list[tuple[int, float]] = []
        self.knn: list[tuple[int, float]] = []
        self.au: list[tuple[float, float]] = []
        self.cosines: list[float] = []
        self.spread_columns: list[np.ndarray] = []
        self.start_spectrum: np.ndarray | None = None
        self.collapsed_once = False
        self.latest: Any = None
        for item in (self.rank_curve, self.probe_curve, self.knn_curve, self.au_path, self.cos_curve,
                     self.spectrum_start, self.spectrum_now):
            item.setData([], [])
        self.std_bars.setOpts(x=[], height=[])
        self.heat.clear()
        self.cov.clear()
        self.baseline_line.hide()
        self.banner.setText("The representation's health appears after the first epoch.")
        self.banner_status = ""
        self._style_banner()
        self.views_label.hide()

    def set_overlay(self, epochs: list[int], ranks: list[float], probe: list[tuple[int, float]],
                    cosines: list[float]) -> None:
        """Another run's effective rank, online probe and mean cosine, grey and dashed (kept across new runs)."""
        self.overlay_rank.setData(epochs, ranks)
        self.overlay_probe.setData(*(zip(*probe, strict=True) if probe else ([], [])))
        self.overlay_cos.setData(epochs, cosines)

    def clear_overlay(self) -> None:
        for curve in (self.overlay_rank, self.overlay_probe, self.overlay_cos):
            curve.setData([], [])

    def set_start(self, initial: Any, baseline_probe: float | None) -> None:
        """The run's starting point: the spectrum at initialisation and the raw-feature probe baseline."""
        if initial is not None:
            self.start_spectrum = np.log10(np.maximum(np.asarray(initial.singular_values), 1e-12))
            self.spectrum_start.setData(np.arange(1, len(self.start_spectrum) + 1), self.start_spectrum)
            self.rank_max.setValue(initial.dim)
        if baseline_probe is not None:
            self.baseline_line.setValue(baseline_probe)
            self.baseline_line.show()
            self._fit_probe_range()

    def add_epoch(self, epoch: int, d: Any) -> None:
        """One epoch's Diagnostics (of the representation)."""
        if d is None:
            return
        self.latest = d
        self.epochs.append(epoch)
        dim = d.dim
        spread = np.asarray(d.normalized_std)
        self.std_bars.setOpts(x=np.arange(dim), height=spread, width=0.8)
        self.healthy_line.setValue(d.healthy_std)
        self.ranks.append(d.effective_rank)
        self.rank_curve.setData(self.epochs, self.ranks)
        self.rank_max.setValue(dim)
        sv = np.log10(np.maximum(np.asarray(d.singular_values), 1e-12))
        self.spectrum_now.setData(np.arange(1, len(sv) + 1), sv)
        self.spread_columns.append(spread / max(d.healthy_std, 1e-12))
        heat = np.stack(self.spread_columns, axis=0)  # epochs × dims, in units of the healthy spread
        self.heat.setImage(heat, levels=(0.0, 1.5), autoLevels=False)
        if d.probe_accuracy is not None:
            self.probe.append((epoch, d.probe_accuracy))
            self.probe_curve.setData(*zip(*self.probe, strict=True))
        if d.knn_accuracy is not None:
            self.knn.append((epoch, d.knn_accuracy))
            self.knn_curve.setData(*zip(*self.knn, strict=True))
        self._fit_probe_range()
        if d.alignment is not None and np.isfinite(d.uniformity):
            self.au.append((d.uniformity, d.alignment))
            self.au_path.setData(*zip(*self.au, strict=True))
        self.cosines.append(d.mean_cosine)
        self.cos_curve.setData(self.epochs, self.cosines)
        matrix = d.cross_correlation if d.cross_correlation is not None else d.covariance
        if matrix is not None:
            m = np.asarray(matrix)
            scale = float(np.abs(m).max()) or 1.0
            self.cov.setImage(m, levels=(-scale, scale), autoLevels=False)
            self.cov.setLookupTable(pg.colormap.get("CET-D1").getLookupTable())
            # "Correlation", not "Cross-correlation": the longer title is cut off at 1024 px (the tooltip says which)
            self._set_title(self.cov_plot, "Correlation" if d.cross_correlation is not None else "Covariance")
        self.show_verdict(d.verdict)
        self.show_view_strength(epoch, d)

    def show_view_strength(self, epoch: int, d: Any) -> None:
        if getattr(d, "view_accuracy", None) is None:
            self.views_label.hide()
            return
        text = (f"Views, epoch {epoch}: contrastive accuracy {d.view_accuracy:.2f} · positive-pair cosine "
                f"{d.positive_similarity:.2f}")
        hint = d.view_hint
        self.views_label.setText(text + (f" — {hint}" if hint else ""))
        self._views_hint = bool(hint)
        self._style_views()
        self.views_label.show()

    def _fit_probe_range(self) -> None:
        """The accuracies and the baseline with a little room: a fixed 0–1 axis hides the differences."""
        values = [a for _, a in self.probe + self.knn]
        if self.baseline_line.isVisible():
            values.append(self.baseline_line.value())
        if not values:
            return
        low, high = min(values), max(values)
        pad = max(0.02, 0.15 * (high - low))
        self.probe_plot.setYRange(max(0.0, low - pad), min(1.0, high + pad), padding=0)

    def show_verdict(self, verdict: Any) -> None:
        text = verdict.sentence
        if verdict.collapsed and self.objective:
            advice = core.collapse_advice(self.objective, verdict.status)
            text = f"{text} {advice}" if advice else text
        self.banner.setText(text)
        self.banner_status = verdict.status
        self._style_banner()
        if verdict.collapsed and not self.collapsed_once:
            self.collapsed_once = True
            self.collapse_detected.emit(verdict)
