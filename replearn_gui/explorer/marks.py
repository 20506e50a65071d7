"""Rings, stars and lines drawn over the points (hover, query, neighbours, search matches, trails).

They are decoration: a click or hover on them must reach the view box underneath, which picks the point.
pyqtgraph's ScatterPlotItem accepts a left click on any of its spots, so a ring drawn under the cursor took the
click meant for the point (issue 17: hover a point, then click it, and nothing happened)."""
from __future__ import annotations

import pyqtgraph as pg


class Marks(pg.ScatterPlotItem):
    """A ScatterPlotItem that never takes the mouse."""

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph)
        ev.ignore()

    def hoverEvent(self, ev):  # noqa: N802 (pyqtgraph)
        pass


class Lines(pg.PlotCurveItem):
    """A PlotCurveItem that never takes the mouse (curves accept clicks near them when clickable)."""

    def mouseClickEvent(self, ev):  # noqa: N802 (pyqtgraph)
        ev.ignore()
