"""Issue 17, the Evaluation tab's run list as a person uses it: ticking a run shows its stored evaluation, the
status says what the table shows, and Report… is for the ticked run."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem

import core

QUICK = ["knn"]


def tick(qtbot, tab, run_dir):
    """A click on the run's check box in the tab's run list."""
    view = tab.run_boxes
    item = next(view.item(i) for i in range(view.count()) if view.item(i).data(Qt.ItemDataRole.UserRole) == run_dir)
    before = item.checkState()
    opt = QStyleOptionViewItem()
    opt.initFrom(view)
    opt.rect = view.visualItemRect(item)
    opt.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    box = view.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, opt, view)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=box.center())
    qtbot.waitUntil(lambda: item.checkState() != before, timeout=5000)


def show_tab(qtbot, window):
    bar = window.tabs.tabBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(window.tabs.indexOf(window.evaluation)).center())
    qtbot.waitUntil(lambda: window.tabs.currentWidget() is window.evaluation, timeout=5000)
    return window.evaluation


def test_ticking_runs_shows_their_stored_evaluations_and_report_is_for_the_ticked_run(window, qtbot,
                                                                                       tiny_experiment):
    qtbot.waitUntil(lambda: not window.warm_up.busy, timeout=60000)  # its imports run before this thread trains
    exp = tiny_experiment.with_training(epochs=1).with_output(root=window.runs_root)
    evaluated = core.run_to_end(core.train(exp.with_output(run_name="evaluated"))).run_dir
    other = core.run_to_end(core.train(exp.with_output(run_name="other"))).run_dir
    record, _ = core.run_to_end(core.evaluate_run(evaluated, QUICK, ["raw"]))
    stored_knn = record["results"]["learned"]["metrics"]["knn_accuracy"]["value"]
    runs = window.run_list.list
    window.run_list.refresh()
    qtbot.waitUntil(lambda: runs.count() == 2, timeout=10000)
    # the other run is opened from the left-hand list (double-click): the tab ticks it, it has no evaluation
    item = next(runs.item(i) for i in range(2) if runs.item(i).data(Qt.ItemDataRole.UserRole) == other)
    pos = runs.visualItemRect(item).center()
    QTest.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    QTest.mouseDClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.opened_run == other, timeout=10000)
    tab = show_tab(qtbot, window)
    assert tab.chosen_runs() == [other] and tab.table.rowCount() == 0
    assert "other has not been evaluated yet" in tab.status.text()
    tick(qtbot, tab, other)  # nothing ticked: the hint says to tick a run, not to open one
    assert tab.chosen_runs() == [] and "Open or train" not in tab.status.text() and "Tick a run" in tab.status.text()
    tick(qtbot, tab, evaluated)
    qtbot.waitUntil(lambda: tab.table.rowCount() > 0, timeout=5000)  # shown at once, not evaluated again
    assert not tab.busy and tab.value("knn_accuracy") == f"{stored_knn:.4f}"
    assert "The last evaluation of evaluated" in tab.status.text()
    # Report… opens on the ticked run, not on the run open in the left-hand list
    assert "evaluated" in tab.report_button.toolTip()
    QTest.mouseClick(tab.report_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.report_dialog is not None and window.report_dialog.isVisible(), timeout=10000)
    assert window.report_dialog.windowTitle() == f"Report — {Path(evaluated).name}"
    window.report_dialog.reject()
    qtbot.waitUntil(lambda: not window.report_dialog.isVisible(), timeout=5000)
    # Evaluate (one quick evaluation, no baselines), then tick the other run as well: the status follows
    for name, box in tab.eval_boxes.items():
        if box.isChecked() != (name in QUICK):
            QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    for box in tab.baseline_boxes.values():
        if box.isChecked():
            QTest.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    with qtbot.waitSignal(tab.evaluated, timeout=60000) as done:
        QTest.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    fresh = done.args[0][evaluated]["results"]["learned"]["metrics"]["knn_accuracy"]["value"]
    qtbot.waitUntil(lambda: not tab.busy, timeout=30000)
    assert tab.status.text().startswith("Evaluated 1 run(s)")
    tick(qtbot, tab, other)
    qtbot.waitUntil(lambda: not tab.status.text().startswith("Evaluated"), timeout=5000)
    assert "1 of the 2 ticked runs" in tab.status.text() and "Not evaluated yet: other" in tab.status.text()
    assert tab.value("knn_accuracy") == f"{fresh:.4f}"  # the stored one; nothing is invented for the other
