"""The foundation's window, driven as a user would: load, start, pause, stop, close, errors."""
from __future__ import annotations

import subprocess
import sys

import pytest

import core


def test_gui_modules_do_not_import_torch_at_startup():
    """core's face is lazy: the GUI imports core's names at the top of its modules, but no torch, scikit-learn,
    UMAP or numba, nor core's training engine, until the window is up."""
    code = ("import sys; import replearn_gui.app, replearn_gui.main_window; "
            "print(sorted(m for m in ('torch', 'sklearn', 'umap', 'numba', 'core.training.loop') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_loaded_experiment_is_shown(window, tiny_experiment):
    panel = window.experiment_panel
    assert panel.values["Experiment"].text() == "tiny"
    assert panel.values["Dataset"].text() == "digits"
    assert panel.values["Encoder"].text().startswith("mlp (hidden=[32], out_dim=8")
    assert window.experiment == tiny_experiment


def test_start_trains_to_the_same_result_as_core(window, qtbot, tiny_experiment, tmp_path):
    with qtbot.waitSignal(window.controller.finished, timeout=60000) as finished:
        window.start_action.trigger()
        assert window.controller.state == "running"
        assert not window.start_action.isEnabled() and window.stop_action.isEnabled()
    result = finished.args[0]
    assert result.status == "finished"
    expected = core.run_to_end(core.train(tiny_experiment.with_output(root=str(tmp_path / "core-runs"))))
    assert result.test == pytest.approx(expected.test)
    qtbot.waitUntil(lambda: window.controller.state == "idle")
    assert window.progress.value() == window.progress.maximum() > 0
    assert f"test accuracy: {expected.test['test_accuracy']:.4f}" in window.result_label.text()
    assert len(window.loss_plot.steps) == window.progress.maximum()
    assert window.loss_plot.val_losses.values.shape == (4,)
    assert window.start_action.isEnabled()


def test_double_start_runs_once(window, qtbot, tmp_path):
    with qtbot.waitSignal(window.controller.finished, timeout=60000):
        window.start_action.trigger()
        window.start_training()  # a second click while running is ignored
    runs = list((tmp_path / "gui-runs").iterdir())
    assert len(runs) == 1


def test_pause_resume_and_stop(window, qtbot):
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if type(e).__name__ == "StepEnded" else None)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 2, timeout=30000)
    with qtbot.waitSignal(window.controller.state_changed, timeout=10000, check_params_cb=lambda s: s == "paused"):
        window.pause_action.trigger()
    assert window.pause_action.text() == "&Resume"
    count = len(steps)
    qtbot.wait(300)
    assert len(steps) == count  # nothing trains while paused
    with qtbot.waitSignal(window.controller.finished, timeout=30000) as finished:
        window.stop_action.trigger()  # stopping a paused run resumes it just long enough to stop
    result = finished.args[0]
    assert result.status == "stopped"
    status = core.RunDirectory.open(result.run_dir).read_status()
    assert status["status"] == "stopped" and status["last_checkpoint"].endswith(f"step_{result.steps:07d}.safetensors")


def test_bad_experiment_file_shows_the_field_in_a_dialog(qtbot, tmp_path):
    from replearn_gui.main_window import MainWindow

    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[training]\nbatch_size = -4\n')
    w = MainWindow(experiment=str(bad), runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.error_box is not None, timeout=60000)
    assert "training.batch_size: -4 is out of range" in w.error_box.text()
    assert not w.error_box.detailedText()  # our own errors need no traceback
    assert not w.start_action.isEnabled()
    w.error_box.close()


def test_unexpected_error_shows_its_traceback(window, qtbot, monkeypatch):
    import replearn_gui.run_controller as rc

    def broken_job(*args):
        raise ZeroDivisionError("boom")
        yield  # pragma: no cover

    monkeypatch.setattr(rc, "training_job", broken_job)
    with qtbot.waitSignal(window.controller.failed, timeout=30000):
        window.start_action.trigger()
    qtbot.waitUntil(lambda: window.controller.state == "idle")
    assert "ZeroDivisionError: boom" in window.error_box.text()
    assert "Traceback" in window.error_box.detailedText()
    window.error_box.close()


def test_closing_during_training_stops_the_run_first(window, qtbot):
    steps = []
    window.controller.event.connect(lambda e: steps.append(e) if type(e).__name__ == "StepEnded" else None)
    window.start_action.trigger()
    qtbot.waitUntil(lambda: len(steps) >= 1, timeout=30000)
    assert window.close() is False  # asks first; the run keeps training meanwhile
    box = window.close_question
    assert box is not None and "A run is training" in box.text()
    box.findChild(type(box.buttons()[0]), "stopAndQuit").click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert not window.controller.busy
    status = core.RunDirectory.open(steps[0].run_id and window.opened_run).read_status()
    assert status["status"] == "stopped"  # the run directory is consistent: stopped, with a checkpoint
    assert status["last_checkpoint"]


def test_module_entry_point_help():
    proc = subprocess.run([sys.executable, "-m", "replearn_gui", "--help"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "usage: replearn-gui" in proc.stdout


def test_queued_experiments_start_one_after_another(window, qtbot, tiny_experiment):
    """Two epochs, then the queued one-epoch experiment, then Queue with nothing running starts at once (the
    window's experiment is cut to two epochs: the lengths only tell the runs apart)."""
    window.on_experiment_loaded(window.experiment.with_training(epochs=2))
    finished = []
    window.controller.finished.connect(finished.append)
    window.start_action.trigger()
    second = tiny_experiment.with_training(epochs=1)
    window.enqueue(second.with_output(root=window.runs_root))
    assert window.queue_box.isVisibleTo(window) and window.queue_list.count() == 1
    qtbot.waitUntil(lambda: len(finished) == 2 and window.controller.state == "idle", timeout=120000)
    assert [r.epochs_completed for r in finished] == [2, 1] and window.queue == []
    assert not window.queue_box.isVisibleTo(window)
    window.queue_action.trigger()  # nothing running: Queue starts at once
    qtbot.waitUntil(lambda: len(finished) == 3 and window.controller.state == "idle", timeout=120000)


def test_window_layout_is_remembered(qtbot, tmp_path, tiny_experiment_file):
    from replearn_gui.main_window import MainWindow

    first = MainWindow(experiment=str(tiny_experiment_file), runs_root=str(tmp_path / "r"))
    qtbot.addWidget(first)
    first.show()
    qtbot.waitUntil(lambda: first.experiment is not None and first._loader is None, timeout=60000)
    total = sum(first.splitters["main"].sizes())  # the offscreen screen is small: use the width there is
    first.splitters["main"].setSizes([250, total - 250])
    wanted = first.splitters["main"].sizes()
    first.close()
    # the window closes (and saves its layout) once its background work (the run list's refresh) has ended
    qtbot.waitUntil(lambda: not first.isVisible(), timeout=15000)
    second = MainWindow(experiment=str(tiny_experiment_file), runs_root=str(tmp_path / "r"))
    qtbot.addWidget(second)
    second.show()
    assert second.splitters["main"].sizes() == wanted
    qtbot.waitUntil(lambda: second.experiment is not None and second._loader is None, timeout=60000)


def test_a_runtime_error_in_training_reaches_the_dialog_and_frees_the_window(window, qtbot, monkeypatch):
    """torch reports shape, device and memory failures as RuntimeError, which superqt would drop silently."""
    def torch_like_failure(*args, **kwargs):
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied (4x3 and 5x2)")
        yield  # pragma: no cover

    monkeypatch.setattr(core, "train", torch_like_failure)
    with qtbot.waitSignal(window.controller.failed, timeout=30000):
        window.start_action.trigger()
    qtbot.waitUntil(lambda: window.controller.state == "idle" and not window.controller.busy, timeout=10000)
    assert "shapes cannot be multiplied" in window.error_box.text()
    assert "RuntimeError" in window.error_box.detailedText()
    window.error_box.close()
    assert window.start_action.isEnabled()
