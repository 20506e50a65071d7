"""GUI fixtures: offscreen Qt, and a check that no test leaves a worker thread running."""
from __future__ import annotations

import gc

import pytest


@pytest.fixture(autouse=True, scope="session")
def private_settings(qapp, tmp_path_factory):
    """QSettings in a folder of the test session: tests never read or change the user's own settings."""
    from PySide6.QtCore import QSettings

    qapp.setOrganizationName("RepLearnTests")
    qapp.setApplicationName("RepLearn Studio tests")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path_factory.mktemp("settings")))


@pytest.fixture(autouse=True)
def no_dangling_workers(qapp):
    yield
    from PySide6.QtCore import QThreadPool

    pool = QThreadPool.globalInstance()
    finished = pool.waitForDone(15000)
    # collect the test's cyclic garbage here, on the GUI thread: left to chance, the collector may run inside a
    # later test's worker thread and destroy a Qt widget there, which deadlocks (seen: QObject::~QObject waiting
    # for the GIL under gc_collect_main in a training worker)
    gc.collect()
    # what survived is kept (modules, session fixtures, caches): frozen out of later collections, so the collections
    # here and before each training worker starts scan only what later tests create, not the whole session's heap
    # (about a second a collection on this machine once torch, scikit-learn and matplotlib are loaded). A frozen
    # object is still freed when its last reference goes; a frozen cycle waits for the module's end (below).
    gc.freeze()
    assert finished and pool.activeThreadCount() == 0, "a test left a worker thread running"


@pytest.fixture(autouse=True, scope="module")
def collect_frozen_garbage_per_module(qapp):
    """Once a module is done, the cycles its tests' survivors left are collected (on the GUI thread, as above):
    one whole-heap collection a module instead of one a test, and no memory held longer than a module."""
    yield
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@pytest.fixture
def tiny_experiment_file(tmp_path, tiny_experiment):
    import core

    path = tmp_path / "tiny.toml"
    core.save_experiment(tiny_experiment, path)
    return path


@pytest.fixture
def window(qtbot, tmp_path, tiny_experiment_file):
    from replearn_gui.main_window import MainWindow

    w = MainWindow(experiment=str(tiny_experiment_file), runs_root=str(tmp_path / "gui-runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None and w.start_action.isEnabled(), timeout=60000)
    yield w
    if w.controller.busy:
        with qtbot.waitSignal(w.controller.state_changed, timeout=30000, check_params_cb=lambda s: s == "idle"):
            w.controller.stop()


def train_tiny_digits(root, name: str, objective: str = "supervised", epochs: int = 2) -> str:
    """A seconds-long digits run (an MLP with a 32-unit hidden layer, 8-d representation); its run directory."""
    import core

    exp = core.Experiment(
        name=name, data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name=objective),
        training=core.TrainingConfig(epochs=epochs, batch_size=128, device="cpu", snapshot_points=100,
                                     eval_points=128, warmup_epochs=0),
        output=core.OutputConfig(root=str(root)))
    return core.run_to_end(core.train(exp)).run_dir


@pytest.fixture(scope="session")
def trained_digits_pair(tmp_path_factory):
    """Two finished digits runs, a supervised one and an autoencoder, trained once for the whole session (the
    evaluation and the panel-job tests both need two finished runs). Never use them directly: take a copy with
    ``copy_runs`` so that what one module stores with a run (evaluations, transfer curves) stays in it."""
    root = tmp_path_factory.mktemp("trained-pair")
    return train_tiny_digits(root, "sup"), train_tiny_digits(root, "ae", "autoencoder")


@pytest.fixture(scope="session")
def copy_runs():
    """``copy_runs(run_dirs, root)``: copies of finished run directories under ``root`` (same folder names),
    their new paths; a copy opens, evaluates and resumes like the run it was copied from."""
    import shutil
    from pathlib import Path

    def copy(run_dirs, root):
        return tuple(str(shutil.copytree(run, Path(root) / Path(run).name)) for run in run_dirs)
    return copy
