"""Issue 17, the Evaluation figures and the loss legend as a person meets them: the wheel over a figure scrolls the
pane (it zoomed the plot), the one-run robustness curves have their own colours and the charts name their axes, and
a live theme switch recolours the loss legend's labels."""
from __future__ import annotations

import numpy as np
import pytest


def robustness_record():
    curves = {c: [[s, 0.9 - 0.2 * i * k] for i, s in enumerate((0.0, 0.5, 1.0))]
              for k, c in enumerate(("noise", "occlusion", "shift"), start=1)}
    reliability = {"confidence": [0.2, 0.5, 0.8], "accuracy": [0.25, 0.45, 0.85]}
    layers = [{"layer": f"layer {i}", "value": 0.5 + 0.1 * i, "low": 0.45 + 0.1 * i, "high": 0.55 + 0.1 * i}
              for i in range(3)]
    return {"results": {"learned": {"robustness": curves, "reliability": reliability, "layerwise": layers}}}


@pytest.fixture
def pane(qtbot):
    """The figures in a scroll area as the Evaluation tab holds them, at the 1024 × 700 window's pane size."""
    from PySide6.QtWidgets import QScrollArea

    from replearn_gui.evaluation.figures import EvaluationFigures

    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    figures = EvaluationFigures()
    scroll.setWidget(figures)
    qtbot.addWidget(scroll)
    scroll.resize(700, 480)
    scroll.show()
    qtbot.waitExposed(scroll)
    figures.show_records({"sup": robustness_record()})
    return scroll, figures


def wheel(widget, pos, steps: int = -1) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    event = QWheelEvent(QPointF(pos), QPointF(widget.mapToGlobal(pos)), QPoint(0, 0), QPoint(0, 120 * steps),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_figure_scrolls_the_pane_and_leaves_the_plot_alone(pane, qtbot):
    scroll, figures = pane
    bar = scroll.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    plot = figures.layer_plot
    before = [list(r) for r in plot.vb.viewRange()]
    centre = figures.mapFromScene(plot.vb.sceneBoundingRect().center())
    wheel(figures.viewport(), centre)
    assert bar.value() > 0  # the pane scrolled down
    after = [list(r) for r in plot.vb.viewRange()]
    assert np.allclose(before, after), (before, after)  # and the bars were not zoomed


def test_robustness_curves_have_distinct_colours_and_the_charts_name_their_axes(pane):
    _, figures = pane
    curves = figures.robust_plot.listDataItems()
    assert len(curves) == 3
    colours = {c.opts["pen"].color().getRgb() for c in curves}
    assert len(colours) == 3, colours
    for plot in (figures.robust_plot, figures.reliability_plot):
        assert plot.getAxis("left").labelText and plot.getAxis("bottom").labelText


def label_colours(loss_plot) -> dict[str, str]:
    """Each legend entry's text and the colour its label is drawn in (from the label's rendered rich text)."""
    import re

    out = {}
    for _sample, label in loss_plot.plot.plotItem.legend.items:
        found = re.findall(r"color:\s*(#[0-9a-fA-F]{6})", label.item.toHtml())
        out[label.text] = found[-1].lower() if found else None
    return out


def test_a_live_theme_switch_recolours_every_loss_legend_label(window, qtbot):
    from PySide6.QtGui import QColor

    loss_plot = window.training.loss_plot
    for step in range(1, 30):  # a VICReg-like run shown: the loss and its three terms
        loss = 20 * np.exp(-step / 10) + 5
        loss_plot.add_step(step, loss, {"invariance": loss / 5, "variance": loss * 0.7, "covariance": 2.0}, 1e-3)
    loss_plot.refresh()
    for dark in (not window.dark_action.isChecked(), window.dark_action.isChecked()):
        window.dark_action.trigger()  # View → Dark theme, as the menu does
        assert window.dark_action.isChecked() == dark
        background = window.training.loss_plot.plot.backgroundBrush().color()
        colours = label_colours(loss_plot)
        assert {"invariance", "variance", "covariance", "learning rate (right)", "train (step)"} <= set(colours)
        for text, colour in colours.items():
            assert colour is not None, text
            # light text on the dark plot, dark text on the light one
            assert (QColor(colour).lightness() > 128) == dark, (text, colour, dark)
            assert abs(QColor(colour).lightness() - background.lightness()) > 100, (text, colour)


def test_a_narrow_pane_fits_the_grid_to_its_width_with_long_titles_elided(pane, qtbot):
    """At 1024 × 700 the figures' pane is about 370 px wide: one column, and the CKA plot (its title with the sample
    count) was wider than the pane, cut at the right edge without a scroll bar."""
    import core

    scroll, figures = pane
    names = ("layer 1", "layer 2", "representation")
    matrix = np.array([[1.0, 0.9, 0.7], [0.9, 1.0, 0.8], [0.7, 0.8, 1.0]])
    figures.show_similarity(core.Similarity(names, names, matrix, 359, "layer", "layer"))
    scroll.resize(300, 480)  # (the window's font is larger than the offscreen one: a narrower pane here)
    qtbot.waitUntil(lambda: figures.columns == 1, timeout=5000)
    qtbot.wait(50)  # (one relayout pass of the graphics layout; nothing runs in the background here)
    width = figures.viewport().width()
    assert figures.width() <= scroll.viewport().width()  # no sideways scrolling needed
    assert figures.ci.geometry().width() <= width + 1  # and the grid drawn in the figures' view is no wider
    for plot in figures.plots:
        right = figures.mapFromScene(plot.sceneBoundingRect().topRight()).x()
        assert right <= width + 1, (plot.titleLabel.text, right, width)
    title = figures.similarity_plot.titleLabel
    assert title.text.endswith("…") and "359 test samples" in title.toolTip()
