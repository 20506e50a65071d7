"""Issue 17, Run → Resume as a person uses it after a restart: the run selected in the run list is resumable
without opening it, and a run stopped during its end of run resumes into just the end of run."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

import core


def engine_warm(qtbot, window):
    """The window's warm-up imports (pyarrow, ...) in a worker: the test trains on this thread only after it."""
    qtbot.waitUntil(lambda: not window.warm_up.busy, timeout=60000)


def stopped_run(experiment, root, *, during_end_of_run: bool) -> str:
    """A run stopped after its first step, or in reply to its last EpochEnded (all epochs done, no test)."""
    exp = experiment.with_training(epochs=2).with_output(root=root)
    gen = core.train(exp)
    value = None
    try:
        while True:
            event = gen.send(value)
            last = isinstance(event, core.EpochEnded) and event.epoch == exp.training.epochs
            first = isinstance(event, core.StepEnded)
            value = core.Stop() if (last if during_end_of_run else first) else None
    except StopIteration as stop:
        assert stop.value.status == "stopped"
        return stop.value.run_dir


def listed(qtbot, window, count):
    runs = window.run_list.list
    window.run_list.refresh()
    qtbot.waitUntil(lambda: runs.count() == count, timeout=10000)
    return runs


def click_run(qtbot, window, run_dir):
    runs = window.run_list.list
    item = next(runs.item(i) for i in range(runs.count()) if runs.item(i).data(Qt.ItemDataRole.UserRole) == run_dir)
    pos = runs.visualItemRect(item).center()
    QTest.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    qtbot.waitUntil(lambda: window.run_list.selected() == run_dir, timeout=5000)
    return pos


def choose_from_run_menu(qtbot, window, action):
    bar = window.menuBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(window.run_menu.menuAction()).center())
    qtbot.waitUntil(window.run_menu.isVisible, timeout=5000)
    QTest.mouseClick(window.run_menu, Qt.MouseButton.LeftButton, pos=window.run_menu.actionGeometry(action).center())


def test_resume_follows_the_run_selected_in_the_list_and_its_context_menu(window, qtbot, tiny_experiment):
    engine_warm(qtbot, window)
    finished = core.run_to_end(core.train(tiny_experiment.with_training(epochs=1).with_output(root=window.runs_root)))
    stopped = stopped_run(tiny_experiment, window.runs_root, during_end_of_run=False)
    runs = listed(qtbot, window, 2)
    assert window.opened_run is None and not window.resume_action.isEnabled()
    click_run(qtbot, window, finished.run_dir)
    assert not window.resume_action.isEnabled()  # a finished run has nothing to resume
    pos = click_run(qtbot, window, stopped)
    qtbot.waitUntil(window.resume_action.isEnabled, timeout=5000)  # without opening (double-clicking) it
    assert window.opened_run is None
    QApplication.sendEvent(runs.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                               runs.viewport().mapToGlobal(pos)))
    menu = window.run_list.menu
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    assert window.run_list.resume_action in menu.actions()
    menu.close()
    click_run(qtbot, window, finished.run_dir)
    qtbot.waitUntil(lambda: not window.resume_action.isEnabled(), timeout=5000)
    click_run(qtbot, window, stopped)
    qtbot.waitUntil(window.resume_action.isEnabled, timeout=5000)
    with qtbot.waitSignal(window.controller.finished, timeout=30000) as resumed:
        choose_from_run_menu(qtbot, window, window.resume_action)
    assert resumed.args[0].run_dir == stopped and resumed.args[0].status == "finished"
    assert resumed.args[0].epochs_completed == 2


def test_a_run_stopped_during_its_end_of_run_finishes_through_run_resume(window, qtbot, tiny_experiment):
    engine_warm(qtbot, window)
    run_dir = stopped_run(tiny_experiment, window.runs_root, during_end_of_run=True)
    status = core.RunDirectory.open(run_dir).read_status()
    assert status["status"] == "stopped" and status["epochs_completed"] == 2 and not status.get("test")
    listed(qtbot, window, 1)
    click_run(qtbot, window, run_dir)
    qtbot.waitUntil(window.resume_action.isEnabled, timeout=5000)
    with qtbot.waitSignal(window.controller.finished, timeout=30000) as resumed:
        choose_from_run_menu(qtbot, window, window.resume_action)
    result = resumed.args[0]
    assert result.run_dir == run_dir and result.status == "finished" and result.epochs_completed == 2
    assert {"test_loss", "linear_probe_accuracy"} <= result.test.keys()
    status = core.RunDirectory.open(run_dir).read_status()
    assert status["status"] == "finished" and status["test"] == result.test
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    assert not window.error_box or not window.error_box.isVisible()
    qtbot.waitUntil(lambda: not window.resume_action.isEnabled(), timeout=10000)
