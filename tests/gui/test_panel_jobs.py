"""The panels' background work through BackgroundJob, driven as a user drives it: a failing job reaches the error
dialog (or the panel's status) with its own message, the real Cancel button stops a job and leaves the panel
usable, and the late result of a job the user has superseded is dropped.

Core's slow calls are replaced by gated versions (a threading.Event) so that a click lands while the job runs."""
from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

import core

LEFT = Qt.MouseButton.LeftButton


def click(widget) -> None:
    QTest.mouseClick(widget, LEFT, pos=widget.rect().center())


@pytest.fixture(scope="module")
def runs(tmp_path_factory, trained_digits_pair, copy_runs):
    """This module's copies of the session's two tiny digits runs."""
    root = tmp_path_factory.mktemp("jobruns")
    return (root, *copy_runs(trained_digits_pair, root))


def gated_progress(gate: threading.Event, steps: int = 50):
    """A core generator that reports progress, then waits at each step until the test opens the gate."""
    def generator(*args, **kwargs):
        for i in range(steps):
            yield SimpleNamespace(fraction=i / steps, message=f"gated step {i}")
            gate.wait(10)
        raise AssertionError("a cancelled job was run to its end")
    return generator


def error_box(parent) -> QMessageBox | None:
    return parent.findChild(QMessageBox, "errorDialog")


# ---- the Evaluation tab ------------------------------------------------------------------------------------
@pytest.fixture
def evaluation_tab(qtbot, runs):
    from replearn_gui.evaluation.tab import EvaluationTab

    root, first, _ = runs
    t = EvaluationTab()
    qtbot.addWidget(t)
    t.resize(1100, 700)
    t.show()
    t.set_run(first, str(root))
    for name, box in t.eval_boxes.items():
        box.setChecked(name == "linear_probe")
    for box in t.baseline_boxes.values():
        box.setChecked(False)
    yield t
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=60000)


def test_evaluation_bug_reaches_the_error_dialog_with_its_traceback(evaluation_tab, qtbot, monkeypatch):
    def broken(*args, **kwargs):
        yield SimpleNamespace(fraction=0.1, message="probing")
        raise ValueError("the probe's features have no columns")

    monkeypatch.setattr(core, "evaluate_run", broken)
    click(evaluation_tab.evaluate_button)
    qtbot.waitUntil(lambda: error_box(evaluation_tab) is not None and not evaluation_tab.busy, timeout=30000)
    box = error_box(evaluation_tab)
    assert box.windowTitle() == "Evaluation failed"
    assert box.text() == ("Something went wrong inside RepLearn Studio: ValueError: the probe's features have "
                          "no columns") and "Traceback" in box.detailedText()
    assert evaluation_tab.status.text() == "Evaluation failed: the probe's features have no columns"
    assert evaluation_tab.evaluate_button.isEnabled() and not evaluation_tab.cancel_button.isEnabled()
    box.close()


def test_evaluation_cancel_button_stops_it_and_the_tab_evaluates_again(evaluation_tab, qtbot, monkeypatch, runs):
    _, first, _ = runs
    gate = threading.Event()
    monkeypatch.setattr(core, "evaluate_run", gated_progress(gate))
    before = dict(evaluation_tab.records)
    click(evaluation_tab.evaluate_button)
    qtbot.waitUntil(lambda: "gated step 0" in evaluation_tab.status.text(), timeout=30000)
    assert evaluation_tab.cancel_button.isEnabled() and not evaluation_tab.evaluate_button.isEnabled()
    click(evaluation_tab.cancel_button)
    assert not evaluation_tab.cancel_button.isEnabled()  # at once: the click was taken
    gate.set()
    qtbot.waitUntil(lambda: not evaluation_tab.busy, timeout=30000)
    assert evaluation_tab.status.text() == "Cancelled; nothing was changed."
    assert evaluation_tab.records == before and evaluation_tab.progress.value() == 0
    assert "gated step 1" not in evaluation_tab.status.text()
    monkeypatch.undo()  # the real evaluation, from the same tab
    with qtbot.waitSignal(evaluation_tab.evaluated, timeout=120000) as done:
        click(evaluation_tab.evaluate_button)
    assert list(done.args[0]) == [first] and evaluation_tab.value("probe_accuracy") != "–"


def test_a_superseded_comparisons_late_cka_is_dropped(evaluation_tab, qtbot, monkeypatch, runs):
    _, first, second = runs
    gate, late = threading.Event(), []
    real_compare = core.compare_runs

    def slow_compare(a, b, **kwargs):
        gate.wait(30)
        late.append(real_compare(a, b, **kwargs))
        return late[-1]

    monkeypatch.setattr(core, "compare_runs", slow_compare)
    evaluation_tab.check_runs([first, second])
    with qtbot.waitSignal(evaluation_tab.evaluated, timeout=120000):
        click(evaluation_tab.evaluate_button)
    assert evaluation_tab.similarity_job.running  # CKA of the two runs, held at the gate
    # the user evaluates one run only: the comparison is superseded while its CKA is still being computed
    evaluation_tab.check_runs([first])
    qtbot.waitUntil(lambda: evaluation_tab.evaluate_button.isEnabled(), timeout=30000)
    with qtbot.waitSignal(evaluation_tab.evaluated, timeout=120000):
        click(evaluation_tab.evaluate_button)
    gate.set()
    qtbot.waitUntil(lambda: not evaluation_tab.busy and bool(late), timeout=60000)
    assert getattr(evaluation_tab.figures, "similarity", None) is not late[0]
    assert list(evaluation_tab.records) == [first]


# ---- the report dialog -------------------------------------------------------------------------------------
@pytest.fixture
def report_dialog(qtbot, runs):
    from replearn_gui.evaluation.report_dialog import ReportDialog

    _, first, _ = runs
    dialog = ReportDialog(first, ["linear_probe"], baselines=[])
    qtbot.addWidget(dialog)
    dialog.show()
    yield dialog
    dialog.cancel()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=60000)


def test_report_bug_reaches_the_error_dialog(report_dialog, qtbot, monkeypatch):
    def broken(*args, **kwargs):
        yield SimpleNamespace(fraction=0.2, message="evaluating")
        raise ValueError("the figure has no axes")

    monkeypatch.setattr(core, "build_report", broken)
    click(report_dialog.build_button)
    qtbot.waitUntil(lambda: error_box(report_dialog) is not None and not report_dialog.busy, timeout=30000)
    box = error_box(report_dialog)
    assert box.windowTitle() == "The report failed" and "ValueError: the figure has no axes" in box.text()
    assert "Traceback" in box.detailedText()
    assert report_dialog.status.text() == "Failed: the figure has no axes"
    assert report_dialog.build_button.isEnabled() and not report_dialog.export_button.isEnabled()
    box.close()


def test_report_cancel_button_stops_the_build_and_the_dialog_builds_again(report_dialog, qtbot, monkeypatch):
    """(The figures section is clicked off first: the real build after the cancel then takes a second, not
    five, and the cancel does not depend on what is built.)"""
    figures = report_dialog.section_boxes["figures"]
    # on the box and its label: the grid cell is wider than what takes the click
    QTest.mouseClick(figures, LEFT, pos=QPoint(figures.sizeHint().width() // 2, figures.height() // 2))
    assert not figures.isChecked()
    gate = threading.Event()
    monkeypatch.setattr(core, "build_report", gated_progress(gate))
    click(report_dialog.build_button)
    qtbot.waitUntil(lambda: "gated step 0" in report_dialog.status.text(), timeout=30000)
    assert report_dialog.cancel_button.isEnabled() and not report_dialog.build_button.isEnabled()
    click(report_dialog.cancel_button)
    gate.set()
    qtbot.waitUntil(lambda: not report_dialog.busy, timeout=30000)
    assert report_dialog.status.text() == "Cancelled." and report_dialog.data is None
    assert report_dialog.build_button.isEnabled() and not report_dialog.export_button.isEnabled()
    monkeypatch.undo()
    click(report_dialog.build_button)
    qtbot.waitUntil(lambda: report_dialog.data is not None and not report_dialog.busy, timeout=120000)
    assert "Preview ready" in report_dialog.status.text() and report_dialog.export_button.isEnabled()


def test_a_build_whose_sections_changed_meanwhile_is_dropped(report_dialog, qtbot, monkeypatch):
    gate = threading.Event()
    monkeypatch.setattr(core, "build_report", gated_progress(gate))
    click(report_dialog.build_button)
    qtbot.waitUntil(lambda: "gated step 0" in report_dialog.status.text(), timeout=30000)
    box = next(iter(report_dialog.section_boxes.values()))
    click(box)  # the user takes a section out while the preview is being built
    assert not box.isChecked()
    gate.set()
    qtbot.waitUntil(lambda: not report_dialog.busy, timeout=30000)
    assert report_dialog.data is None and report_dialog.preview.toPlainText() == ""
    assert report_dialog.status.text() == "The sections changed: build the preview again before exporting."
    assert report_dialog.build_button.isEnabled() and not report_dialog.export_button.isEnabled()


# ---- the Embeddings tab's loaders --------------------------------------------------------------------------
@pytest.fixture
def embeddings_tab(qtbot, explored_run):
    from replearn_gui.explorer.tab import EmbeddingsTab

    t = EmbeddingsTab()
    qtbot.addWidget(t)
    t.resize(1100, 700)
    t.show()
    t.set_run(explored_run)
    qtbot.waitUntil(lambda: t.primary.coords is not None and not t.busy, timeout=60000)
    yield t
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=60000)


def test_a_failing_load_says_why_and_a_bug_opens_the_error_dialog(embeddings_tab, qtbot, monkeypatch):
    shown = embeddings_tab.primary.space

    def broken(*args, **kwargs):
        raise ValueError("the checkpoint's shapes do not match the encoder")

    monkeypatch.setattr(core, "run_space", broken)
    click(embeddings_tab.reload)
    qtbot.waitUntil(lambda: error_box(embeddings_tab) is not None and not embeddings_tab.busy, timeout=30000)
    box = error_box(embeddings_tab)
    assert box.windowTitle() == "Cannot show this space" and "shapes do not match" in box.text()
    assert "Traceback" in box.detailedText()
    assert embeddings_tab.message.text() == "Cannot show this space: the checkpoint's shapes do not match the encoder"
    assert embeddings_tab.primary.space is shown and embeddings_tab.primary.projection_panel.go.isEnabled()
    box.close()
    box.deleteLater()
    qtbot.waitUntil(lambda: error_box(embeddings_tab) is None, timeout=5000)

    def missing(*args, **kwargs):
        raise core.RunDirectoryError("the run's checkpoint file has gone")

    monkeypatch.setattr(core, "run_space", missing)
    click(embeddings_tab.reload)  # our own errors are said in place, without a dialog
    qtbot.waitUntil(lambda: "has gone" in embeddings_tab.message.text() and not embeddings_tab.busy, timeout=30000)
    assert embeddings_tab.message.text() == "Cannot show this space: the run's checkpoint file has gone"
    assert error_box(embeddings_tab) is None


def test_the_projection_cancel_button_stops_a_load_and_the_tab_loads_again(embeddings_tab, qtbot, monkeypatch):
    shown = embeddings_tab.primary.space
    panel = embeddings_tab.primary.projection_panel
    gate, late = threading.Event(), []
    real_space = core.run_space

    def slow_space(*args, **kwargs):
        gate.wait(30)
        late.append(real_space(*args, **kwargs))
        return late[-1]

    monkeypatch.setattr(core, "run_space", slow_space)
    loaded = []
    embeddings_tab.loaded.connect(lambda: loaded.append(True))
    click(embeddings_tab.reload)
    qtbot.waitUntil(lambda: panel.stop.isEnabled(), timeout=10000)
    assert not panel.go.isEnabled()  # no projection of the old space while the new one loads
    click(panel.stop)
    assert embeddings_tab.message.text().startswith("Cancelled") and panel.go.isEnabled()
    gate.set()
    qtbot.waitUntil(lambda: not embeddings_tab.busy and bool(late), timeout=60000)
    assert embeddings_tab.primary.space is shown and loaded == []  # the late space was dropped
    monkeypatch.undo()
    with qtbot.waitSignal(embeddings_tab.loaded, timeout=60000):
        click(embeddings_tab.reload)
    assert embeddings_tab.primary.space is not shown and embeddings_tab.primary.space is not late[0]


def test_a_superseded_loads_late_space_is_dropped(embeddings_tab, qtbot, monkeypatch):
    gate, results = threading.Event(), {}
    real_space = core.run_space

    def first_slow(*args, **kwargs):
        n = len(results)
        results[n] = None
        if n == 0:
            gate.wait(30)
        results[n] = real_space(*args, **kwargs)
        return results[n]

    monkeypatch.setattr(core, "run_space", first_slow)
    loaded = []
    embeddings_tab.loaded.connect(lambda: loaded.append(embeddings_tab.primary.space))
    click(embeddings_tab.reload)
    qtbot.waitUntil(lambda: len(results) == 1, timeout=10000)
    with qtbot.waitSignal(embeddings_tab.loaded, timeout=60000):
        click(embeddings_tab.reload)  # asked again (e.g. after more training): the first load is superseded
    gate.set()
    qtbot.waitUntil(lambda: results.get(0) is not None and not embeddings_tab.busy, timeout=60000)
    assert loaded == [results[1]] and embeddings_tab.primary.space is results[1]


def test_a_projection_ending_during_a_load_keeps_the_loads_cancel_button(embeddings_tab, qtbot, monkeypatch):
    """A projection of the old space that ends while a new space loads must not switch the load's Cancel off."""
    panel = embeddings_tab.primary.projection_panel
    projection_gate, load_gate = threading.Event(), threading.Event()
    real_project, real_space = core.project, core.run_space

    def slow_project(X, *args, **kwargs):  # the user picks t-SNE; PCA stands in for it, after the gate
        projection_gate.wait(30)
        return (yield from real_project(X, "pca", {}))

    def slow_space(*args, **kwargs):
        load_gate.wait(30)
        return real_space(*args, **kwargs)

    monkeypatch.setattr(core, "project", slow_project)
    monkeypatch.setattr(core, "run_space", slow_space)
    panel.method.setFocus()
    while panel.current_method() != "tsne":  # PCA on show is remembered; another method projects again
        QTest.keyClick(panel.method, Qt.Key.Key_Down)
    click(panel.go)  # a projection of the space on show
    qtbot.waitUntil(lambda: embeddings_tab.primary.job.running, timeout=10000)
    click(embeddings_tab.reload)  # and a new space asked for meanwhile
    qtbot.waitUntil(lambda: embeddings_tab.loader.running, timeout=10000)
    projection_gate.set()
    qtbot.waitUntil(lambda: not embeddings_tab.primary.job.running, timeout=60000)
    assert embeddings_tab.loader.running and panel.stop.isEnabled() and not panel.go.isEnabled()
    click(panel.stop)
    assert embeddings_tab.message.text().startswith("Cancelled") and panel.go.isEnabled()
    load_gate.set()
    qtbot.waitUntil(lambda: not embeddings_tab.busy, timeout=60000)
