"""The background-job helper: start, partial results and progress, done, error, cancel, stale results dropped."""
from __future__ import annotations

import threading

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from replearn_gui.jobs import BackgroundJob


def counting(n: int, gate: threading.Event | None = None):
    for i in range(n):
        if gate is not None:
            gate.wait(5)
        yield ((i + 1) / n, f"step {i + 1} of {n}")
    return n * 10


def failing():
    yield (0.5, "half way")
    raise ValueError("the file has no header")


def test_partial_progress_and_done_reach_the_gui_thread(qtbot):
    owner = QLabel()
    qtbot.addWidget(owner)
    bar, status = QProgressBar(), QLabel()
    job = BackgroundJob(owner)
    job.bind(progress=bar, status=status)
    partial, progress = [], []
    job.partial.connect(partial.append)
    job.progress.connect(lambda f, m: progress.append((f, m)))
    with qtbot.waitSignal(job.finished, timeout=10000), qtbot.waitSignal(job.done, timeout=10000) as done:
        assert job.start(counting, 4)
        assert job.busy and job.running
    assert done.args == [40]
    assert [p[0] for p in progress] == [0.25, 0.5, 0.75, 1.0] and len(partial) == 4
    assert bar.value() == 1000 and status.text() == "step 4 of 4"
    assert not job.busy


def test_an_error_arrives_with_its_traceback(qtbot):
    job = BackgroundJob()
    status = QLabel()
    job.bind(status=status)
    with qtbot.waitSignal(job.failed, timeout=10000) as failed:
        job.start(failing)
    exc, text = failed.args
    assert isinstance(exc, ValueError) and "Traceback" in text and "the file has no header" in text
    assert "the file has no header" in status.text()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)


def test_cancel_stops_at_the_next_yield_and_drops_results(qtbot):
    gate = threading.Event()
    job = BackgroundJob()
    button = QPushButton("Stop")
    qtbot.addWidget(button)
    job.bind(cancel=button)
    done, partial = [], []
    job.done.connect(done.append)
    job.partial.connect(partial.append)
    job.start(counting, 1000, gate)
    assert button.isEnabled()
    with qtbot.waitSignal(job.cancelled, timeout=10000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        gate.set()
    assert done == [] and len(partial) < 1000 and not button.isEnabled()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)


def test_replace_drops_the_stale_job(qtbot):
    gate = threading.Event()
    job = BackgroundJob(policy="replace")
    done = []
    job.done.connect(done.append)
    job.start(counting, 1000, gate)
    with qtbot.waitSignal(job.finished, timeout=10000):
        job.start(counting, 2)
        gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert done == [20]


def test_latest_keeps_only_the_newest_request(qtbot):
    gate = threading.Event()
    job = BackgroundJob(policy="latest")
    done = []
    job.done.connect(done.append)
    assert job.start(counting, 1, gate)
    assert not job.start(counting, 2)  # deferred ...
    assert not job.start(counting, 3)  # ... and replaced by the newer request
    gate.set()
    qtbot.waitUntil(lambda: len(done) == 2 and not job.busy, timeout=10000)
    assert done == [10, 30]


def test_refuse_keeps_the_running_job(qtbot):
    gate = threading.Event()
    job = BackgroundJob(policy="refuse")
    done = []
    job.done.connect(done.append)
    job.start(counting, 1, gate)
    assert not job.start(counting, 2)
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert done == [10]


def test_plain_functions_run_too(qtbot):
    job = BackgroundJob()
    with qtbot.waitSignal(job.done, timeout=10000) as done:
        job.start(sum, [1, 2, 3])
    assert done.args == [6]
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)


def test_unknown_policy_is_refused():
    with pytest.raises(ValueError, match="policy must be one of"):
        BackgroundJob(policy="sometimes")


def test_each_start_has_its_own_done_and_failed_callbacks_and_stale_ones_are_not_called(qtbot):
    gate = threading.Event()
    job = BackgroundJob(policy="replace")
    calls = []
    job.start(counting, 1000, gate, on_done=lambda v: calls.append(("stale", v)))
    job.start(counting, 2, on_done=lambda v: calls.append(("newest", v)))
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert calls == [("newest", 20)]
    with qtbot.waitSignal(job.finished, timeout=10000):
        job.start(failing, on_done=lambda v: calls.append(("done", v)), on_failed=lambda e: calls.append(("failed", str(e))))
    assert calls[1:] == [("failed", "the file has no header")]
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)


def test_bound_texts_a_cancel_note_and_when_idle(qtbot):
    gate = threading.Event()
    status, button = QLabel(), QPushButton("Cancel")
    qtbot.addWidget(button)
    job = BackgroundJob()
    job.bind(status=status, cancel=button, failed="Not exported", cancelled="Cancelled.")
    job.start(failing)
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert status.text() == "Not exported: the file has no header"
    job.start(counting, 1000, gate)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # the bound text
    idle = []
    job.when_idle(lambda: idle.append(job.busy))
    gate.set()
    qtbot.waitUntil(lambda: bool(idle), timeout=10000)
    assert idle == [False] and status.text() == "Cancelled."
    gate.clear()
    job.start(counting, 1000, gate)
    job.cancel(note="The sections changed.")  # a reason of its own
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert status.text() == "The sections changed."
    job.when_idle(lambda: idle.append("at once"))
    assert idle[-1] == "at once"


def test_a_replaced_job_does_not_say_cancelled_over_its_successor(qtbot):
    gate = threading.Event()
    status = QLabel()
    job = BackgroundJob(policy="replace")
    job.bind(status=status, cancelled="Cancelled.")
    cancelled = []
    job.cancelled.connect(lambda: cancelled.append(True))
    job.start(counting, 1000, gate)
    job.start(counting, 1000, gate)
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
    assert cancelled == [] and status.text() == "step 1000 of 1000"


def test_errors_reach_the_error_dialog(qtbot):
    from PySide6.QtWidgets import QMessageBox, QWidget

    import core

    panel = QWidget()
    qtbot.addWidget(panel)
    job = BackgroundJob(panel)
    job.report_errors(panel, "Cannot load")

    def ours():
        raise core.DataError("data.csv has no rows")

    job.start(ours)
    qtbot.waitUntil(lambda: panel.findChild(QMessageBox, "errorDialog") is not None and not job.busy, timeout=10000)
    box = panel.findChild(QMessageBox, "errorDialog")
    assert box.windowTitle() == "Cannot load" and box.text() == "data.csv has no rows" and box.detailedText() == ""
    box.close()


def test_a_job_whose_panel_was_deleted_is_not_busy_once_its_thread_ends(qtbot):
    gate = threading.Event()
    panel = QLabel()
    job = BackgroundJob(panel)
    job.start(counting, 3, gate)
    panel.deleteLater()
    qtbot.waitUntil(lambda: not shiboken6.isValid(panel), timeout=5000)
    gate.set()
    qtbot.waitUntil(lambda: not job.busy, timeout=10000)
