"""The background-job helper: start, partial results and progress, done, error, cancel, stale results dropped."""
from __future__ import annotations

import threading

import pytest
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
