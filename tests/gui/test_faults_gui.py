"""Issue 19 in the app: runs whose process vanished show as interrupted; labels in tooltips stay plain text."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

import core

HOSTILE = "<b>bold</b> & <img src=x>"


def hover_tooltip(qtbot, widget, pos):
    """Hover ``pos`` of ``widget`` as a person would, and return the tooltip text Qt shows."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QToolTip

    QTest.mouseMove(widget, pos)
    # what Qt sends after the hover delay (offscreen platforms have no hover timer of their own)
    event = QHelpEvent(QEvent.Type.ToolTip, pos, widget.mapToGlobal(pos))
    QApplication.sendEvent(widget, event)
    qtbot.waitUntil(QToolTip.isVisible, timeout=5000)
    return QToolTip.text()


def shown_as(tip: str) -> str:
    """The text a person reads in a tooltip: Qt renders it as HTML when it might be rich text."""
    from PySide6.QtGui import Qt, QTextDocument  # mightBeRichText lives in QtGui's Qt namespace

    if not Qt.mightBeRichText(tip):
        return tip
    doc = QTextDocument()
    doc.setHtml(tip)
    return doc.toPlainText()


def test_a_run_whose_process_vanished_is_listed_as_interrupted(qtbot, tmp_path, tiny_experiment):
    from replearn_gui.widgets.run_list import RunList

    run = core.RunDirectory.create(tmp_path, "vanished")
    run.write_config(tiny_experiment)
    run.write_status(status="running")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    run.holder_path.write_text(json.dumps({"pid": int(gone.stdout), "host": __import__("socket").gethostname(),
                                           "since": "2026-01-01T00:00:00+00:00"}))
    alive = core.RunDirectory.create(tmp_path, "alive")
    alive.write_config(tiny_experiment)
    alive.write_status(status="running")
    alive.acquire()  # this process is writing it
    try:
        runs = RunList()
        qtbot.addWidget(runs)
        runs.root = tmp_path
        runs.engine_ready()  # the list is described in a worker
        qtbot.waitUntil(lambda: runs.list.count() == 2, timeout=30000)
        texts = {runs.list.item(i).text(): runs.list.item(i).toolTip() for i in range(runs.list.count())}
        assert texts.keys() == {"⊘ vanished", "▶ alive"}
        assert "status: interrupted" in shown_as(texts["⊘ vanished"])
    finally:
        alive.close()


def test_labels_in_the_neighbour_grid_tooltips_are_plain_text(qtbot):
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from replearn_gui.explorer.neighbours_panel import NeighboursPanel

    box = QWidget()  # as in the explorer: the panel inside a window (shown alone, Qt's offscreen platform crashes)
    panel = NeighboursPanel()
    QVBoxLayout(box).addWidget(panel)
    qtbot.addWidget(box)
    box.resize(400, 300)
    box.show()
    qtbot.waitExposed(box)
    preview = core.Preview(kind="text", title=HOSTILE, text="a <i>note</i>")
    panel.show_items("neighbours", [(0, preview, 0.5)])
    grid = panel.grid
    rect = grid.visualItemRect(grid.item(0))
    tip = hover_tooltip(qtbot, grid.viewport(), rect.center())
    assert shown_as(tip) == f"{HOSTILE}\na <i>note</i>"


def test_labels_in_the_wizard_preview_gallery_tooltips_are_plain_text(window, qtbot, tmp_path):
    from PySide6.QtWidgets import QLabel

    X = np.random.default_rng(0).random((12, 8, 8)).astype(np.float32)
    y = np.array([HOSTILE, "plain"] * 6)
    np.savez(tmp_path / "images.npz", X=X, y=y)
    window.new_action.trigger()
    page = window.wizard.data_page
    page.source.setCurrentIndex(page.source.findData("npy"))
    page.form.set_value("path", str(tmp_path / "images.npz"))
    page.form.set_value("labels_array", "y")
    with qtbot.waitSignal(page.loaded, timeout=30000):
        page.load_button.click()
    pictures = [w for i in range(page.gallery.count()) if (w := page.gallery.itemAt(i).widget()) is not None
                and isinstance(w, QLabel) and w.pixmap() is not None and not w.pixmap().isNull()]
    assert pictures
    shown = {shown_as(hover_tooltip(qtbot, label, label.rect().center())) for label in pictures}
    assert any(HOSTILE in s for s in shown), shown
    window.wizard.reject()


def test_after_a_resume_from_an_earlier_checkpoint_the_loss_plot_draws_each_step_once(window, qtbot, tiny_experiment):
    exp = tiny_experiment.with_training(epochs=2, diagnostics_every=0, probe_every=0, snapshot_every=0)
    result = core.run_to_end(core.train(exp.with_output(root=window.runs_root)))
    run = core.RunDirectory.open(result.run_dir)
    first = json.loads((run.checkpoints / "manifest.json").read_text())["checkpoints"][0]
    core.run_to_end(core.resume(run.path, checkpoint=first["file"]))  # redoes the second epoch's steps
    recorded = [r["step"] for r in run.read_metrics() if r["event"] == "step"]
    assert len(recorded) > result.steps  # the redone steps are in metrics.jsonl twice
    window.open_run(result.run_dir)
    plot = window.loss_plot

    def drawn():
        x, _ = plot.raw.getData()
        return [] if x is None else list(x)

    qtbot.waitUntil(lambda: len(drawn()) >= result.steps, timeout=30000)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=30000)
    plot.refresh()
    assert drawn() == list(range(1, result.steps + 1))
    val_x, _ = plot.val.getData()
    assert list(val_x) == [first["step"], result.steps]  # one validation point per epoch, not three


def test_an_npz_member_that_is_not_an_array_is_said_on_the_wizards_data_page(window, qtbot, tmp_path):
    import io
    import zipfile

    buf = io.BytesIO()
    np.save(buf, np.zeros((10, 3), np.float32))
    with zipfile.ZipFile(tmp_path / "mixed.npz", "w") as z:
        z.writestr("X.npy", buf.getvalue())
        z.writestr("readme.txt", "not an array")
    window.new_action.trigger()
    page = window.wizard.data_page
    page.source.setCurrentIndex(page.source.findData("npy"))
    page.form.set_value("path", str(tmp_path / "mixed.npz"))
    page.form.set_value("array", "readme.txt")
    page.load_button.click()
    qtbot.waitUntil(lambda: "is not a NumPy array" in page.status.text(), timeout=30000)
    assert "member 'readme.txt'" in page.status.text() and "Traceback" not in page.status.text()
    assert not page.isComplete()
    window.wizard.reject()
