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
    gc.freeze()
    assert finished and pool.activeThreadCount() == 0, "a test left a worker thread running"


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
