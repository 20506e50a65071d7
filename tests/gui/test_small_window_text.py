"""Issue 17 at 1024 × 700: the cockpit's small charts keep their tick texts and axis labels apart (within an axis
and between neighbouring charts), write plain numbers instead of "(x0.001)" scales, and keep the probe's key
inside its chart. Measured on what pyqtgraph would draw: the axes' text rectangles in scene coordinates."""
from __future__ import annotations

import pytest

import core


@pytest.fixture(scope="module")
def collapsed_run(tmp_path_factory):
    """A few epochs of the naive Siamese objective: it collapses, so spread, rank and spectrum have tiny ranges."""
    root = tmp_path_factory.mktemp("small-window")
    exp = core.Experiment(
        name="collapsing", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 16}),
        objective=core.ObjectiveConfig(name="siamese_naive"),
        views=(core.AugmentationConfig(name="gaussian_noise", params={"sigma": 0.05}),),
        training=core.TrainingConfig(epochs=4, batch_size=128, lr=2e-2, device="cpu", snapshot_points=150,
                                     eval_points=128),
        output=core.OutputConfig(root=str(root / "runs")))
    return str(root / "runs"), core.run_to_end(core.train(exp)).run_dir


def axis_texts(axis) -> list:
    """(scene rect, text) of each tick text the axis draws now, and of its label when shown."""
    from PySide6.QtGui import QImage, QPainter

    image = QImage(4, 4, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        specs = axis.generateDrawSpecs(painter)
    finally:
        painter.end()
    texts = [] if specs is None else [(axis.mapRectToScene(rect), text) for rect, _, text in specs[2]]
    if axis.label.isVisible():
        texts.append((axis.label.sceneBoundingRect(), axis.label.toPlainText()))
    return texts


def shrunk(rect, by=1.0):
    return rect.adjusted(by, by, -by, -by)


def test_cockpit_texts_do_not_collide_at_1024_by_700(qtbot, collapsed_run):
    from replearn_gui.main_window import MainWindow

    runs_root, run_dir = collapsed_run
    w = MainWindow(runs_root=runs_root)
    qtbot.addWidget(w)
    w.resize(1024, 700)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None and w._loader is None, timeout=60000)
    w.open_run(run_dir)
    w.tabs.setCurrentWidget(w.training)
    cockpit = w.cockpit
    qtbot.waitUntil(lambda: len(cockpit.epochs) == 4, timeout=20000)
    qtbot.wait(100)  # (layouts settle on posted events)
    assert w.width() == 1024 and cockpit.latest.verdict.collapsed
    plots = {"spread": cockpit.std_plot, "rank": cockpit.rank_plot, "spectrum": cockpit.spectrum_plot,
             "matrix": cockpit.cov_plot, "heat": cockpit.heat_plot, "probe": cockpit.probe_plot,
             "alignment": cockpit.au_plot, "cosine": cockpit.cos_plot}
    texts = {name: [t for side in ("left", "bottom") for t in axis_texts(p.getAxis(side))]
             for name, p in plots.items()}
    problems = []
    for name, items in texts.items():
        assert items, name
        for _rect, text in items:
            if "x0." in text or "(x" in text:
                problems.append(f"{name}: an SI scale in {text!r}")
        for side in ("left", "bottom"):  # ticks of one axis
            ticks = axis_texts(plots[name].getAxis(side))
            problems += [f"{name} {side}: {a!r} overlaps {b!r}" for k, (ra, a) in enumerate(ticks)
                         for rb, b in ticks[k + 1:] if shrunk(ra).intersects(shrunk(rb))]
    names = list(plots)
    for k, a in enumerate(names):  # and no text of one chart reaches another chart
        for b in names[k + 1:]:
            for ra, ta in texts[a]:
                problems += [f"{a} {ta!r} runs into {b}" for rb in [plots[b].sceneBoundingRect()]
                             if shrunk(ra, 2).intersects(rb)]
            for rb, tb in texts[b]:
                problems += [f"{b} {tb!r} runs into {a}" for ra in [plots[a].sceneBoundingRect()]
                             if shrunk(rb, 2).intersects(ra)]
    assert problems == [], "\n".join(problems)
    # every title (the probe's with its key on a second line) fits in its chart
    for name, p in plots.items():
        title = p.titleLabel.item
        drawn = title.boundingRect().width() - 2 * title.document().documentMargin()  # (the margin is blank)
        assert drawn <= p.width(), (name, title.toPlainText())
    # a y axis has room for at least two ticks but never more than one per line of text
    for name, p in plots.items():
        ticks = [t for t in axis_texts(p.getAxis("left")) if t[1] != p.getAxis("left").label.toPlainText()]
        assert len(ticks) >= 2, name
