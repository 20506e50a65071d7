"""The UMAP warm-up: scheduled when the app is idle after start-up (never before the window is ready), and a
Compute pressed while it compiles waits for it with its phase shown instead of compiling a second time. The
compile itself is replaced by a gated stand-in (a real one costs 15-25 s of CPU)."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import core
from core.projection import methods
from replearn_gui import warm_up


@pytest.fixture
def fake_compile(monkeypatch):
    """UMAP's warm-up phases without numba: it stops in "compiling the layout code" until ``gate`` is set."""
    gate, compiling = threading.Event(), threading.Event()
    calls = []

    def steps():
        calls.append(1)
        yield core.ProjectionProgress("umap", 0.0, "importing umap-learn and numba")
        yield core.ProjectionProgress("umap", 0.6, "compiling the layout code")
        compiling.set()
        assert gate.wait(30), "the test never let the warm-up finish"

    monkeypatch.setattr(methods, "_warm_up_steps", steps)
    monkeypatch.setattr(methods, "_UMAP_WARM", threading.Event())  # cold, and the real state comes back after
    monkeypatch.setattr(warm_up, "_umap_thread", None)
    monkeypatch.setattr(warm_up, "_umap_error", [])
    monkeypatch.setattr(warm_up, "IDLE_AFTER_MS", 50)
    yield gate, compiling, calls
    gate.set()
    thread = warm_up._umap_thread
    if thread is not None:
        thread.join(10)
        assert not thread.is_alive()


def test_the_umap_warm_up_starts_once_the_window_is_ready(qtbot, tmp_path, tiny_experiment_file, fake_compile):
    from replearn_gui.main_window import MainWindow

    gate, compiling, calls = fake_compile
    w = MainWindow(experiment=str(tiny_experiment_file), runs_root=str(tmp_path / "runs"), warm_up_umap=True)
    qtbot.addWidget(w)
    w.show()
    assert warm_up._umap_thread is None  # nothing compiles before the window is shown and the engine loaded
    qtbot.waitUntil(compiling.is_set, timeout=60000)
    assert w.experiment is not None and w.start_action.isEnabled()  # it was ready to train first
    assert not w.warm_up.busy  # the engine warm-up came before it and is done
    assert len(calls) == 1
    gate.set()
    qtbot.waitUntil(core.umap_is_warm, timeout=10000)
    assert core.umap_warm_up_progress() is None


def test_compute_during_the_warm_up_waits_for_it_and_says_so(qtbot, fake_compile):
    from replearn_gui.explorer.view import ExplorerView

    gate, compiling, calls = fake_compile
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(200, 6)).astype(np.float32)
    dataset = core.Dataset(name="w", kind="tabular", X=Z, y=rng.integers(0, 3, 200), label_names=("a", "b", "c"))
    view = ExplorerView()
    qtbot.addWidget(view)
    view.resize(1000, 700)
    view.show()
    view.set_space(core.EmbeddingSpace("w", dataset, np.arange(200), Z))
    panel = view.projection_panel
    combo = panel.method
    # the user chooses UMAP in the list (keyboard on the focused combo): its warm-up begins at once
    combo.setFocus()
    while combo.currentData() != "umap":
        QTest.keyClick(combo, Qt.Key.Key_Down)
    qtbot.waitUntil(compiling.is_set, timeout=10000)
    qtbot.waitUntil(lambda: "Preparing UMAP in the background: compiling the layout code" in panel.status.text(),
                    timeout=5000)
    QTest.mouseClick(panel.go, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "preparing UMAP (compiling its code, once per process): compiling the layout code"
                    in panel.status.text(), timeout=10000)
    assert view.busy and panel.stop.isEnabled() and not core.umap_is_warm()
    assert len(calls) == 1  # one compile: the Compute waits for the warm-up's
    QTest.mouseClick(panel.stop, Qt.MouseButton.LeftButton)  # cancelling while it waits returns at once
    qtbot.waitUntil(lambda: not view.busy, timeout=10000)
    assert view.coords is None or len(view.coords) == 200
    assert panel.status.text().startswith("Cancelled")
    gate.set()
    qtbot.waitUntil(core.umap_is_warm, timeout=10000)
    assert len(calls) == 1


def test_the_panel_says_when_umap_is_ready(qtbot, fake_compile):
    from replearn_gui.explorer.projection_panel import ProjectionPanel

    gate, _, calls = fake_compile
    panel = ProjectionPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.method.setFocus()
    while panel.current_method() != "umap":
        QTest.keyClick(panel.method, Qt.Key.Key_Down)
    qtbot.waitUntil(lambda: "compiling the layout code (60%)" in panel.status.text(), timeout=10000)
    gate.set()
    qtbot.waitUntil(lambda: panel.status.text() == "UMAP is ready.", timeout=10000)
    assert core.umap_is_warm() and len(calls) == 1


def test_pyarrow_is_whole_before_start_is_enabled(tmp_path):
    """scikit-learn reads ``sys.modules["pyarrow"].Table`` on every fit: a run started while the engine warm-up
    was still importing pyarrow failed in its probe with "partially initialized module 'pyarrow'" (seen in the
    app). The experiment loader imports it whole before Start can be pressed; a fresh process shows it."""
    import os
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from PySide6.QtCore import QTimer\n"
        "app = QApplication([])\n"
        "from replearn_gui.main_window import MainWindow\n"
        "w = MainWindow(experiment='digits-supervised', runs_root=sys.argv[1])\n"
        "w.show()\n"
        "def check():\n"
        "    if w.experiment is None or not w.start_action.isEnabled():\n"
        "        return\n"
        "    pa = sys.modules.get('pyarrow')\n"
        "    print('READY', pa is not None and hasattr(pa, 'Table') and 'pyarrow.parquet' in sys.modules)\n"
        "    app.exit(0)\n"
        "timer = QTimer(); timer.timeout.connect(check); timer.start(0)\n"
        "QTimer.singleShot(120000, lambda: app.exit(3))\n"
        "sys.exit(app.exec())\n"
    )
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path / "runs")], capture_output=True, text=True,
                         timeout=180, env=env)
    assert "READY True" in out.stdout, out.stdout + out.stderr[-2000:]
