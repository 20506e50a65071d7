"""The experiment wizard, forms generated from Params, and runs opened from disk (finished or still growing)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import core


def test_params_form_validates_in_place(qtbot):
    from replearn_gui.forms import ParamsForm

    form = ParamsForm(core.TrainingConfig, core.TrainingConfig(), path="training")
    qtbot.addWidget(form)
    assert form.is_valid() and form.params() == core.TrainingConfig()
    form.set_value("lr", "-0.5")
    assert not form.is_valid() and form.error.text().startswith("Learning rate (training.lr): -0.5 is out of range")
    form.set_value("lr", "0.01")
    form.set_value("optimizer", "sgd")
    assert form.is_valid() and form.params().lr == 0.01 and form.params().optimizer == "sgd"
    assert "Allowed:" in form.widgets["lr"].toolTip()


def test_drive_the_wizard_to_a_finished_run(window, qtbot):
    from PySide6.QtWidgets import QWizard

    window.new_action.trigger()
    wiz = window.wizard
    assert wiz is not None and wiz.currentPage() is wiz.data_page
    assert not wiz.data_page.isComplete()  # nothing loaded yet
    with qtbot.waitSignal(wiz.data_page.loaded, timeout=30000):
        wiz.data_page.load_button.click()
    assert "Classes: 0 " in wiz.data_page.status.text() and wiz.data_page.gallery.count() == 8
    wiz.next()
    assert wiz.currentPage() is wiz.encoder_page and wiz.encoder_page.combo.currentData() == "mlp"
    wiz.encoder_page.form.set_value("hidden", "64, -3")
    assert not wiz.encoder_page.isComplete() and "encoder.params.hidden[1]" in wiz.encoder_page.form.error.text()
    assert not wiz.button(wiz.WizardButton.NextButton).isEnabled()  # an invalid value blocks Next
    wiz.encoder_page.form.set_value("hidden", "64")
    wiz.encoder_page.form.set_value("out_dim", 0)  # a spin box cannot go below its minimum
    assert wiz.encoder_page.form.params().out_dim == 1
    wiz.encoder_page.form.set_value("out_dim", 6)
    assert wiz.encoder_page.isComplete()
    wiz.next()
    page = wiz.objective_page
    names = [page.combo.itemData(i) for i in range(page.combo.count())]
    assert "edge_prediction" not in names and "simclr" in names  # only what fits image data
    page.combo.setCurrentIndex(page.combo.findData("autoencoder"))
    assert "bottleneck" in page.about.text() and ":math:" not in page.about.text()
    wiz.next()
    wiz.training_page.form.set_value("epochs", 2)
    device = wiz.training_page.form.widgets["device"]
    offered = [device.itemData(i) for i in range(device.count())]
    assert offered[:2] == ["auto", "cpu"] and all(d.startswith(("cuda:", "mps")) for d in offered[2:])
    wiz.next()
    toml = wiz.review_page.toml.toPlainText()
    assert 'name = "autoencoder"' in toml and "out_dim = 6" in toml and "epochs = 2" in toml
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        wiz.button(QWizard.WizardButton.FinishButton).click()
    result = finished.args[0]
    assert result.status == "finished" and result.epochs_completed == 2
    saved = core.RunDirectory.open(result.run_dir).read_config()
    assert saved.objective.name == "autoencoder" and saved.encoder.params.out_dim == 6


def test_bad_data_file_is_reported_on_the_data_page(window, qtbot, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n3\n")
    window.new_action.trigger()
    page = window.wizard.data_page
    page.source.setCurrentIndex(page.source.findData("csv"))
    page.form.set_value("path", str(bad))
    page.load_button.click()
    qtbot.waitUntil(lambda: "line 3 has 1 fields" in page.status.text(), timeout=30000)
    assert not page.isComplete()
    window.wizard.reject()


def test_reopen_a_finished_run(window, qtbot, tmp_path, tiny_experiment):
    result = core.run_to_end(core.train(tiny_experiment.with_output(root=window.runs_root)))
    window.run_list.refresh()  # described in a worker
    qtbot.waitUntil(lambda: window.run_list.list.count() == 1, timeout=10000)
    assert "test_accuracy" not in window.run_list.list.item(0).text()
    window.open_run(result.run_dir)
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)
    assert len(window.loss_plot.steps) == result.steps
    assert f"{result.test['test_accuracy']:.4f}" in window.result_label.text()
    assert window.experiment == tiny_experiment.with_output(root=window.runs_root)


def test_follow_a_run_that_is_still_being_written(window, qtbot, tiny_experiment):
    gen = core.train(tiny_experiment.with_output(root=window.runs_root))
    first = next(gen)
    for _ in range(5):
        next(gen)
    window.open_run(first.run_dir)
    qtbot.waitUntil(lambda: len(window.loss_plot.steps) >= 4, timeout=10000)
    partial = len(window.loss_plot.steps)
    result = core.run_to_end(gen)  # the "other process" finishes the run
    qtbot.waitUntil(lambda: len(window.loss_plot.steps) == result.steps, timeout=10000)
    assert partial < result.steps
    qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=10000)


def test_cancel_closing_keeps_training(window, qtbot):
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if type(e).__name__ == "StepEnded" else None)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=30000)
    assert window.close() is False
    from PySide6.QtWidgets import QMessageBox

    window.close_question.button(QMessageBox.StandardButton.Cancel).click()
    assert window.isVisible() and window.controller.busy
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=60000)
    assert window.last_result is not None and window.last_result.status == "finished"


def test_open_data_file_starts_the_wizard_on_it(window, qtbot, tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("a,b,label\n" + "\n".join(f"{i},{i % 3},{'x' if i % 2 else 'y'}" for i in range(40)))
    assert core.reader_for(str(path)) == "csv" and core.reader_for(str(tmp_path / "v.npz")) == "npy"
    window.open_path(str(path))
    page = window.wizard.data_page
    assert page.source.currentData() == "csv"
    qtbot.waitUntil(lambda: page.dataset is not None, timeout=30000)
    assert page.dataset.n == 40
    window.wizard.reject()


def test_cockpit_follows_the_run_and_replays_it(window, qtbot, tiny_experiment):
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        window.start_action.trigger()
    cockpit = window.cockpit
    assert cockpit.epochs == [1, 2, 3, 4] and len(cockpit.ranks) == 4
    assert cockpit.baseline_line.isVisible() and cockpit.probe  # the probe ran at the last epoch
    assert cockpit.latest.verdict.sentence in cockpit.banner.text()
    # a supervised run learns from one view: no "Views, epoch N: contrastive accuracy ..." line
    d = cockpit.latest
    assert d.view_accuracy is None and not cockpit.views_label.isVisible()
    live_ranks = list(cockpit.ranks)
    run_dir = finished.args[0].run_dir
    # the learning-rate curve holds each step's rate; the snapshot map the PCA of the last snapshot
    records = list(core.RunDirectory.open(run_dir).read_metrics())
    step_lrs = [r["lr"] for r in records if r["event"] == "step"]
    np.testing.assert_allclose(window.loss_plot.lr_curve.getData()[1], step_lrs)
    snap = window.snapshot_map
    qtbot.waitUntil(lambda: snap.epoch == 4 and not snap.busy, timeout=10000)
    last = np.load(core.RunDirectory.open(run_dir).snapshots / "epoch_004.npy")
    pca = core.run_to_end(core.project(last, "pca")).coords
    # Procrustes turned it onto the previous picture: distances between points are PCA's own
    d = lambda c: np.linalg.norm(c[:20, None] - c[None, :20], axis=-1)  # noqa: E731
    np.testing.assert_allclose(d(snap.coords), d(pca), rtol=1e-3, atol=1e-4)
    assert snap.labels is not None and "epoch 4" in snap.title.text()
    window.open_run(run_dir)
    qtbot.waitUntil(lambda: len(cockpit.ranks) == 4, timeout=10000)
    assert cockpit.ranks == live_ranks  # the same numbers, from metrics.jsonl
    qtbot.waitUntil(lambda: snap.epoch == 4 and not snap.busy, timeout=10000)  # replayed from the files
    # overlay: the finished run's curves beside the current ones, grey, until removed
    window.run_list.overlay_run.emit(run_dir)
    qtbot.waitUntil(lambda: window.loss_plot.overlay_name is not None, timeout=10000)
    xs, _ = window.loss_plot.overlay_curve.getData()
    assert list(xs) == [r["step"] for r in records if r["event"] == "step"]
    assert list(cockpit.overlay_rank.getData()[1]) == live_ranks
    window.run_list.clear_overlay.emit()
    assert window.loss_plot.overlay_curve.getData()[0] is None or len(window.loss_plot.overlay_curve.getData()[0]) == 0


def test_auto_pause_when_collapse_starts(window, qtbot, tmp_path):
    import dataclasses

    exp = core.load_preset("collapse-siamese-naive").with_training(epochs=30, warmup_epochs=0, device="cpu")
    exp = dataclasses.replace(exp, encoder=core.EncoderConfig(name="mlp", params={"hidden": [64], "out_dim": 16}))
    window.on_experiment_loaded(exp.with_output(root=window.runs_root))
    window.cockpit.auto_pause.setChecked(True)
    announced = []
    window.controller.paused_after_checkpoint.connect(announced.append)
    with qtbot.waitSignal(window.controller.state_changed, timeout=120000, check_params_cb=lambda s: s == "paused"):
        window.start_action.trigger()
    assert window.cockpit.collapsed_once and "collapse" in window.cockpit.banner.text().lower()
    assert "Paused" in window.statusBar().currentMessage()
    assert len(announced) == 1 and announced[0].reason == "requested"
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        window.stop_action.trigger()
    import json

    # the checkpoint of the moment of collapse is still in the manifest after Stop (when no step ran between the
    # pause and Stop, the stop checkpoint is of the same step and the entry's reason becomes "stop")
    entries = json.loads((core.RunDirectory.open(finished.args[0].run_dir).checkpoints / "manifest.json").read_text())
    moment = Path(announced[0].path).name
    assert any(e["file"] == moment for e in entries["checkpoints"]), (moment, entries["checkpoints"])


def test_loss_terms_log_scale_and_learning_rate_control(window, qtbot, tiny_experiment):
    import dataclasses

    exp = dataclasses.replace(tiny_experiment, objective=core.ObjectiveConfig(
        name="vicreg", params={"projector_hidden": [16], "projector_dim": 8})).with_training(epochs=6, batch_size=64)
    window.on_experiment_loaded(exp)
    changed = []
    window.controller.event.connect(lambda e: changed.append(e) if type(e).__name__ == "LearningRateChanged" else None)
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if type(e).__name__ == "StepEnded" else None)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30000)
    plot = window.loss_plot
    assert set(plot.term_curves) == {"invariance", "variance", "covariance"}
    assert plot.lr_label.text().startswith("lr ")  # short beside the box; its tooltip says "learning rate"
    plot.lr_edit.setText("0.0123")
    plot.lr_button.click()
    qtbot.waitUntil(lambda: bool(changed), timeout=30000)
    assert changed[0].base_lr == pytest.approx(0.0123)
    plot.lr_edit.setText("fast")
    plot.lr_button.click()
    assert "b00020" in plot.lr_edit.styleSheet()  # not a number: marked, nothing sent
    plot.log_scale.setChecked(True)
    assert plot.plot.plotItem.ctrl.logYCheck.isChecked()
    qtbot.waitUntil(lambda: window.controller.state == "idle", timeout=60000)
    assert not plot.lr_button.isEnabled()
    # VICReg's variance term keeps the representation spread: no collapse banner (the naive Siamese run has one)
    assert not window.cockpit.collapsed_once and "collapse" not in window.cockpit.banner.text().lower()


def test_follow_a_run_that_another_process_is_writing(window, qtbot, tiny_experiment, tmp_path):
    """The CLI trains in a subprocess (as on a server writing to a shared folder); the window follows it. (Six
    epochs, was twelve: the window opens the run as soon as its first metrics line is written, seconds before
    the end either way.)"""
    import subprocess
    import sys
    from pathlib import Path

    exp = tiny_experiment.with_training(epochs=6).with_output(root=str(tmp_path / "remote"))
    core.save_experiment(exp, tmp_path / "remote.toml")
    proc = subprocess.Popen([sys.executable, "-m", "core.cli", "train", str(tmp_path / "remote.toml"), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        root = Path(tmp_path / "remote")
        qtbot.waitUntil(lambda: root.is_dir() and any((p / "metrics.jsonl").is_file() for p in root.iterdir()),
                        timeout=60000)
        (run_dir,) = list(root.iterdir())
        window.open_run(str(run_dir))
        updates = []
        window.follower.events.connect(updates.append)
        qtbot.waitUntil(lambda: "Run finished" in window.result_label.text(), timeout=120000)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    steps = [r for r in core.RunDirectory.open(run_dir).read_metrics() if r["event"] == "step"]
    assert len(window.loss_plot.steps) == len(steps) and len(updates) >= 1
    assert window.cockpit.epochs == list(range(1, 7))


def test_a_run_opened_while_the_default_experiment_loads_stays_shown(qtbot, tmp_path, tiny_experiment):
    """The default experiment's background load finishing after File → Open run must not replace the run."""
    from replearn_gui.main_window import MainWindow

    runs = tmp_path / "gui-runs"
    exp = tiny_experiment.with_output(root=str(runs))
    exp = dataclasses.replace(exp, name="opened-run")
    result = core.run_to_end(core.train(exp))
    w = MainWindow(experiment=None, runs_root=str(runs))  # loads the default experiment in a worker
    qtbot.addWidget(w)
    w.show()
    assert w.loader_job.busy
    w.open_run(result.run_dir)  # before the load's result reaches the window (it is queued to this thread)
    qtbot.waitUntil(lambda: not w.loader_job.busy and w.start_action.isEnabled(), timeout=60000)
    qtbot.waitUntil(lambda: "Run finished" in w.result_label.text(), timeout=10000)
    assert w.experiment.name == "opened-run"
    assert w.experiment_panel.values["Experiment"].text() == "opened-run"


def test_start_in_the_window_gives_the_losses_of_the_same_run_anywhere(qtbot, tmp_path, tiny_experiment):
    """Same seed, same losses: the window's own work while a run trains (the explorer reads the new run's layer
    names, which builds its model with the same seed, in a worker) once reseeded torch between two steps."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QToolBar

    from replearn_gui.main_window import MainWindow

    exp = dataclasses.replace(
        tiny_experiment, name="views",
        objective=core.ObjectiveConfig(name="vicreg", params={"projector_hidden": [32], "projector_dim": 32}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8, "dropout": 0.2}),
        views=(core.AugmentationConfig(name="random_resized_crop"), core.AugmentationConfig(name="gaussian_noise")),
    ).with_training(epochs=2, batch_size=256, probe_every=0, diagnostics_every=0)
    path = tmp_path / "views.toml"
    core.save_experiment(exp, path)
    expected = [e.loss for e in core.train(exp, out=tmp_path / "headless") if isinstance(e, core.StepEnded)]
    w = MainWindow(experiment=str(path), runs_root=str(tmp_path / "gui-runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None and w.start_action.isEnabled(), timeout=60000)
    start = w.findChild(QToolBar, "runToolbar").widgetForAction(w.start_action)
    for _ in range(2):
        steps: list[float] = []
        w.controller.event.connect(lambda e, steps=steps: steps.append(e.loss) if isinstance(e, core.StepEnded)
                                   else None)
        with qtbot.waitSignal(w.controller.finished, timeout=60000):
            QTest.mouseClick(start, Qt.MouseButton.LeftButton)
        assert len(steps) == len(expected) == 10 and steps == expected
        qtbot.waitUntil(lambda: w.start_action.isEnabled(), timeout=30000)


def test_the_view_preview_waits_for_a_training_step_without_blocking_the_window(window, qtbot):
    """The wizard's strip of augmented views draws from torch's shared generators: while a training step holds
    them (core.GLOBAL_RNG_LOCK) the strip comes a moment later, the same as without the wait."""
    import threading

    window.new_action.trigger()
    wiz = window.wizard
    with qtbot.waitSignal(wiz.data_page.loaded, timeout=30000):
        wiz.data_page.load_button.click()
    wiz.next()
    wiz.next()
    page = wiz.objective_page
    page.combo.setCurrentIndex(page.combo.findData("simclr"))
    qtbot.waitUntil(lambda: not page.views.pixmap().isNull(), timeout=10000)
    free = page.views.pixmap().toImage()
    held, release = threading.Event(), threading.Event()

    def a_training_step():
        with core.GLOBAL_RNG_LOCK:
            held.set()
            release.wait(10)

    step = threading.Thread(target=a_training_step)
    step.start()
    try:
        assert held.wait(10)
        page.combo.setCurrentIndex(page.combo.findData("vicreg"))  # same views, drawn again
        assert page.views.pixmap().isNull()  # not drawn yet, and the GUI thread did not wait
    finally:
        release.set()
        step.join(10)
    qtbot.waitUntil(lambda: not page.views.pixmap().isNull(), timeout=10000)
    assert page.views.pixmap().toImage() == free
    wiz.reject()
