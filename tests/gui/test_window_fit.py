"""Issue 17, the window as a person sees it: a failed or slow engine load, the dark theme's colours, the cockpit's
glossary tooltips, and nothing clipped or overlapping at the smallest supported size (1024 × 700)."""
from __future__ import annotations

import threading

C10D = "operator _c10d_functional::_wrap_tensor_autograd does not exist"


def broken_loader(source):
    raise RuntimeError(C10D)


def test_a_failed_engine_load_reaches_the_error_dialog_and_offers_a_retry(qtbot, tmp_path, monkeypatch,
                                                                          tiny_experiment):
    from PySide6.QtCore import Qt

    import replearn_gui.main_window as mw

    monkeypatch.setattr(mw, "load_experiment_job", broken_loader)
    w = mw.MainWindow(runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=30000)
    box = w.error_box
    assert box.windowTitle() == "Cannot load the training engine"
    assert C10D in box.text() and "RuntimeError" in box.text()
    assert "Traceback" in box.detailedText() and "broken_loader" in box.detailedText()
    qtbot.waitUntil(lambda: not w.loader_job.busy, timeout=10000)
    # the window left the loading state: no busy bar, no ticking clock, and it says what failed and what to do
    assert w.progress.maximum() != 0 and not w.loading_clock.isActive()
    description = w.experiment_panel.description.text()
    assert "Loading" not in description and C10D in description and "Retry" in description
    assert "Loading" not in w.learn.start_page.placeholder.text(0)
    assert w.experiment_panel.retry_button.isVisible()
    assert not w.start_action.isEnabled()
    # the user fixes the problem and presses Retry (the button in the dialog): the experiment loads
    monkeypatch.setattr(mw, "load_experiment_job", lambda source: tiny_experiment)
    retry = box.findChild(type(box.buttons()[0]), "retryLoad")
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.experiment is not None and w.start_action.isEnabled(), timeout=30000)
    assert w.experiment_panel.values["Experiment"].text() == "tiny"
    assert not w.experiment_panel.retry_button.isVisible()


def test_a_slow_load_shows_a_busy_bar_and_counts_its_seconds(qtbot, tmp_path, monkeypatch, tiny_experiment):
    import replearn_gui.main_window as mw

    release = threading.Event()

    def slow_loader(source):
        release.wait(20)
        return tiny_experiment

    monkeypatch.setattr(mw, "load_experiment_job", slow_loader)
    w = mw.MainWindow(runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.progress.maximum() == 0  # an indeterminate (moving) bar
        qtbot.waitUntil(lambda: " s (" in w.statusBar().currentMessage(), timeout=5000)
        assert w.statusBar().currentMessage().startswith("Loading the training engine… 1 s")
    finally:
        release.set()
    qtbot.waitUntil(lambda: w.experiment is not None and not w.loader_job.busy, timeout=30000)
    assert w.progress.maximum() != 0 and not w.loading_clock.isActive()
