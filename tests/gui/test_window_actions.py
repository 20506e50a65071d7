"""The window's commands as a person gives them: shortcuts and menu actions, dialogs answered by clicks."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit, QMessageBox

import core


def press(qtbot, window, action) -> None:
    """The action's keyboard shortcut, pressed on the active window."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    seq = action.shortcut()
    combo = seq[0]
    qtbot.keyClick(window, combo.key(), combo.keyboardModifiers())


def finished_run(window, experiment, **training):
    return core.run_to_end(core.train(experiment.with_training(**training).with_output(root=window.runs_root)))


def test_auto_pause_announces_the_checkpoint_once_it_is_on_disk(window, qtbot):
    exp = core.load_preset("collapse-siamese-naive").with_training(epochs=30, warmup_epochs=0, device="cpu")
    exp = dataclasses.replace(exp, encoder=core.EncoderConfig(name="mlp", params={"hidden": [64], "out_dim": 16}))
    window.on_experiment_loaded(exp.with_output(root=window.runs_root))
    qtbot.mouseClick(window.cockpit.auto_pause, Qt.MouseButton.LeftButton)
    assert window.cockpit.auto_pause.isChecked()
    with qtbot.waitSignal(window.controller.state_changed, timeout=120000, check_params_cb=lambda s: s == "paused"):
        press(qtbot, window, window.start_action)
    message = window.statusBar().currentMessage()
    assert message.startswith("Paused: ") and "checkpoint of this moment is saved" in message
    name = message.split("(")[1].split(")")[0]
    manifest = json.loads((Path(window.opened_run) / "checkpoints" / "manifest.json").read_text())
    requested = [e for e in manifest["checkpoints"] if e["reason"] == "requested"]
    assert requested and requested[-1]["file"] == name  # on disk while paused, not after Resume
    assert (Path(window.opened_run) / "checkpoints" / name).is_file()
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        window.stop_action.trigger()


def test_resume_a_stopped_run_from_the_run_menu(window, qtbot, tmp_path):
    """Stopped after its first step, resumed from the Run menu to the end: the same result as the CLI's resume
    of a copy. (Six epochs, was twelve: the pause lands in the first of them either way, and both resumes
    train all the rest.)"""
    import shutil

    window.on_experiment_loaded(window.experiment.with_training(epochs=6))
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if isinstance(e, core.StepEnded) else None)
    press(qtbot, window, window.start_action)
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=30000)
    with qtbot.waitSignal(window.controller.state_changed, timeout=30000, check_params_cb=lambda s: s == "paused"):
        press(qtbot, window, window.pause_action)
    with qtbot.waitSignal(window.controller.finished, timeout=30000) as stopped:
        press(qtbot, window, window.stop_action)
    assert stopped.args[0].status == "stopped"
    run_dir = stopped.args[0].run_dir
    copy = shutil.copytree(run_dir, tmp_path / "copy")  # resumed below by the CLI's engine path
    qtbot.waitUntil(lambda: window.resume_action.isEnabled(), timeout=5000)
    with qtbot.waitSignal(window.controller.finished, timeout=120000) as resumed:
        window.run_menu.popup(window.mapToGlobal(window.rect().center()))
        qtbot.waitUntil(window.run_menu.isVisible, timeout=5000)
        window.run_menu.setActiveAction(window.resume_action)
        qtbot.keyClick(window.run_menu, Qt.Key.Key_Return)
    result = resumed.args[0]
    assert result.status == "finished" and result.run_dir == run_dir and result.epochs_completed == 6
    by_cli = core.run_to_end(core.resume(str(copy)))  # what `replearn resume` does
    assert result.test == pytest.approx(by_cli.test)
    assert core.RunDirectory.open(run_dir).read_status()["status"] == "finished"
    assert "Run finished" in window.result_label.text()
    assert not window.resume_action.isEnabled()


def test_a_diverging_run_ends_as_diverged_with_advice(window, qtbot):
    window.on_experiment_loaded(window.experiment.with_training(lr=10, epochs=1))
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        window.start_action.trigger()
    text = window.result_label.text()
    assert text.startswith("Run diverged after 1 epoch(s)") and "Run finished" not in text
    assert "learning rate (10) is most likely too high" in text
    runs = window.run_list.list
    qtbot.waitUntil(lambda: runs.count() == 1 and runs.item(0).text().startswith("⚠"), timeout=10000)
    assert "most likely too high" in runs.item(0).toolTip()
    assert "diverged" in runs.item(0).text()  # in words, not only the mark
    import io

    from core.cli import main as cli_main

    out = io.StringIO()
    assert cli_main(["list", "runs", "--root", window.runs_root], out=out) == 0
    assert out.getvalue().split()[1] == "diverged", out.getvalue()


def test_the_quit_question_closes_when_the_run_ends_on_its_own(window, qtbot):
    window.on_experiment_loaded(window.experiment.with_training(epochs=1))
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if isinstance(e, core.StepEnded) else None)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=30000)
    assert window.close() is False
    box = window.close_question
    assert box is not None and box.isVisible()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=60000)
    assert not box.isVisible() and window.close_question is None and window.isVisible()


def test_dark_theme_draws_disabled_actions_disabled(window, qtbot):
    if not window.dark_action.isChecked():
        press(qtbot, window, window.dark_action)
    assert window.dark_action.isChecked()
    palette = QApplication.instance().palette()
    for role in (QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText, QPalette.ColorRole.Text):
        enabled = palette.color(QPalette.ColorGroup.Active, role)
        disabled = palette.color(QPalette.ColorGroup.Disabled, role)
        assert disabled.lightness() < enabled.lightness() - 60, role
    button = window.actions.toolbar.widgetForAction(window.pause_action)
    assert not window.pause_action.isEnabled() and not button.isEnabled()
    qtbot.waitUntil(lambda: button.palette().color(QPalette.ColorRole.Window).lightness() < 100, timeout=5000)
    image = button.grab().toImage()
    assert window.open_action.isEnabled()
    stop_image = window.actions.toolbar.widgetForAction(window.open_action).grab().toImage()
    brightest = lambda img: max(img.pixelColor(x, y).lightness() for x in range(img.width())  # noqa: E731
                                for y in range(img.height()))
    assert brightest(image) < brightest(stop_image)  # the disabled button's text is grey, not white
    press(qtbot, window, window.dark_action)
    assert not window.dark_action.isChecked()


def test_preferences_set_the_runs_folder_the_cli_also_uses(window, qtbot, tmp_path, tiny_experiment, monkeypatch):
    """The runs folder chosen in Preferences is where `replearn train` puts a run with the default output folder.
    The CLI runs in this process (its `main`, in the folder a user would run it from): it reads the settings
    file from disk at each call, as a separate process does, without the seconds of a fresh interpreter
    importing torch."""
    from core.cli import main as cli_main

    monkeypatch.delenv("REPLEARN_RUNS", raising=False)  # the test session sets it; here Preferences decide
    monkeypatch.setenv("REPLEARN_CONFIG_DIR", str(tmp_path / "config"))
    window.preferences_action.trigger()
    dialog = window.preferences
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    folder = tmp_path / "shared-runs"
    (tmp_path / "file.txt").write_text("x")
    dialog.runs_folder.selectAll()
    qtbot.keyClicks(dialog.runs_folder, str(tmp_path / "file.txt"))
    assert "is a file" in dialog.error.text()
    assert not dialog.buttons.button(dialog.buttons.StandardButton.Ok).isEnabled()
    dialog.runs_folder.selectAll()
    qtbot.keyClicks(dialog.runs_folder, str(folder))
    assert dialog.error.text() == ""
    dialog.threads.lineEdit().selectAll()
    qtbot.keyClicks(dialog.threads.lineEdit(), "1")
    assert dialog.threads.value() == 1
    qtbot.keyClick(dialog.runs_folder, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.runs_root == str(folder) and core.runs_folder() == folder
    assert window.controller.num_threads == 1 and int(window.settings.value("torch_threads")) == 1
    # a run of the command line with the default output folder lands in the same list
    exp = tiny_experiment.with_training(epochs=1).with_output(root="runs")
    core.save_experiment(exp, tmp_path / "cli.toml")
    monkeypatch.chdir(tmp_path)
    assert cli_main(["train", str(tmp_path / "cli.toml"), "--quiet"]) == 0
    window.run_list.refresh()
    qtbot.waitUntil(lambda: window.run_list.list.count() == 1, timeout=10000)
    assert Path(window.run_list.list.item(0).data(Qt.ItemDataRole.UserRole)).parent == folder


def test_rename_reveal_and_delete_a_run(window, qtbot, tiny_experiment, monkeypatch):
    first = finished_run(window, tiny_experiment, epochs=1)
    window.run_list.refresh()
    runs = window.run_list.list
    qtbot.waitUntil(lambda: runs.count() == 1, timeout=10000)
    rect = runs.visualItemRect(runs.item(0))
    qtbot.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.run_list.selected() == first.run_dir
    # rename: F2 on the list, type, Enter
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    runs.setFocus()
    qtbot.waitUntil(runs.hasFocus, timeout=5000)
    qtbot.keyClick(runs, Qt.Key.Key_F2)
    dialog = window.run_list.rename_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    edit = dialog.findChild(QLineEdit)
    edit.selectAll()
    qtbot.keyClicks(edit, "my best run")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    renamed = Path(first.run_dir).with_name("my best run")
    qtbot.waitUntil(lambda: runs.count() == 1 and "my best run" in runs.item(0).text(), timeout=10000)
    assert renamed.is_dir() and not Path(first.run_dir).exists()
    # reveal
    opened = []
    monkeypatch.setattr("replearn_gui.widgets.run_list.QDesktopServices.openUrl", lambda url: opened.append(url))
    qtbot.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=runs.visualItemRect(runs.item(0)).center())
    window.run_list.reveal_action.trigger()
    assert opened and opened[0].toLocalFile() == str(renamed)
    # delete: the Delete key asks; Cancel changes nothing, Delete removes it all
    window.activateWindow()
    runs.setFocus()
    qtbot.waitUntil(runs.hasFocus, timeout=5000)
    qtbot.keyClick(runs, Qt.Key.Key_Delete)
    box = window.run_list.question
    qtbot.waitUntil(box.isVisible, timeout=5000)
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert renamed.is_dir()
    window.activateWindow()
    runs.setFocus()
    qtbot.waitUntil(runs.hasFocus, timeout=5000)
    qtbot.keyClick(runs, Qt.Key.Key_Delete)
    box = window.run_list.question
    qtbot.waitUntil(box.isVisible, timeout=5000)
    qtbot.mouseClick(box.findChild(type(box.buttons()[0]), "confirmDelete"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: runs.count() == 0 and not window.run_list.busy, timeout=10000)
    assert not renamed.exists() and not any(Path(window.runs_root).iterdir())


def test_renaming_the_open_run_follows_it_and_enter_does_not_delete(window, qtbot, tiny_experiment):
    first = finished_run(window, tiny_experiment, epochs=1)
    window.open_run(first.run_dir)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    window.run_list.refresh()
    runs = window.run_list.list
    qtbot.waitUntil(lambda: runs.count() == 1, timeout=10000)
    qtbot.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=runs.visualItemRect(runs.item(0)).center())
    window.activateWindow()
    runs.setFocus()
    qtbot.waitUntil(runs.hasFocus, timeout=5000)
    qtbot.keyClick(runs, Qt.Key.Key_F2)
    dialog = window.run_list.rename_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    edit = dialog.findChild(QLineEdit)
    edit.selectAll()
    qtbot.keyClicks(edit, "renamed open run")
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    qtbot.mouseClick(ok, Qt.MouseButton.LeftButton)
    renamed = str(Path(first.run_dir).with_name("renamed open run"))
    qtbot.waitUntil(lambda: window.opened_run == renamed, timeout=10000)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    assert len(window.loss_plot.steps) == first.steps
    assert window.evaluation.run_dir == renamed
    # Delete asks; Enter takes the default button, which must be Cancel
    window.activateWindow()
    runs.setFocus()
    qtbot.waitUntil(runs.hasFocus, timeout=5000)
    qtbot.keyClick(runs, Qt.Key.Key_Delete)
    box = window.run_list.question
    qtbot.waitUntil(box.isVisible, timeout=5000)
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.activateWindow()
    qtbot.waitUntil(box.isActiveWindow, timeout=5000)
    qtbot.keyClick(box.focusWidget() or box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not box.isVisible(), timeout=5000)
    assert Path(renamed).is_dir()


def test_version_and_about(window, qtbot):
    proc = subprocess.run([sys.executable, "-m", "replearn_gui", "--version"], capture_output=True, text=True,
                          timeout=120)
    from importlib.metadata import version

    assert proc.returncode == 0 and proc.stdout.strip() == f"replearn-gui {version('replearn-studio')}"
    window.about_action.trigger()
    box = window.actions.about_box
    qtbot.waitUntil(box.isVisible, timeout=5000)
    assert version("replearn-studio") in box.text() and "MIT" in box.text()
    docs = box.text().split("href='")[1].split("'")[0]
    assert Path(QUrl(docs).toLocalFile()).joinpath("run-directory.md").is_file()
    box.close()


def test_a_run_directory_on_the_command_line_opens_it(qtbot, tmp_path, tiny_experiment):
    from replearn_gui.app import parse_args
    from replearn_gui.main_window import MainWindow

    result = core.run_to_end(core.train(tiny_experiment.with_training(epochs=1)))
    assert parse_args([result.run_dir]).experiment == result.run_dir
    w = MainWindow(runs_root=str(tmp_path / "runs"), open_run=result.run_dir)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.opened_run == result.run_dir and "Run finished" in w.result_label.text(),
                    timeout=60000)
    assert len(w.loss_plot.steps) == result.steps


def test_resume_from_the_run_lists_context_menu(window, qtbot, tiny_experiment):
    from PySide6.QtGui import QContextMenuEvent

    gen = core.train(tiny_experiment.with_training(epochs=2).with_output(root=window.runs_root))
    while not isinstance(next(gen), core.StepEnded):
        pass
    with pytest.raises(StopIteration) as stop:
        gen.send(core.Stop())  # stopped at step 1, with a checkpoint: as `replearn train` interrupted
        while True:
            next(gen)
    run_dir = stop.value.value.run_dir
    runs = window.run_list.list
    window.run_list.refresh()
    qtbot.waitUntil(lambda: runs.count() == 1 and runs.item(0).text().startswith("■"), timeout=10000)
    pos = runs.visualItemRect(runs.item(0)).center()
    qtbot.mouseClick(runs.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    QApplication.sendEvent(runs.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos,
                                                               runs.viewport().mapToGlobal(pos)))
    menu = window.run_list.menu
    qtbot.waitUntil(menu.isVisible, timeout=5000)
    assert window.run_list.resume_action in menu.actions()
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        menu.setActiveAction(window.run_list.resume_action)
        qtbot.keyClick(menu, Qt.Key.Key_Return)
    assert finished.args[0].run_dir == run_dir and finished.args[0].status == "finished"
    assert finished.args[0].epochs_completed == 2


def test_the_evaluation_tab_lists_the_runs_of_the_main_run_list(window, qtbot, tiny_experiment):
    finished_run(window, tiny_experiment, epochs=1)
    finished_run(window, tiny_experiment, epochs=1)
    window.run_list.refresh()
    qtbot.waitUntil(lambda: window.run_list.list.count() == 2, timeout=10000)
    boxes = window.evaluation.run_boxes
    listed = {window.run_list.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)}
    qtbot.waitUntil(lambda: boxes.count() == 2, timeout=10000)
    assert {boxes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)} == listed
