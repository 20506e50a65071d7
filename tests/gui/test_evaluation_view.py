"""The Evaluation tab, the report dialog and the transfer wizard, through their real workers; numbers are
compared with core's own."""
from __future__ import annotations

import csv
import json

import numpy as np
import pytest

import core
from core.cli import main as cli_main

FAST = ["linear_probe", "knn", "calibration", "layerwise"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, trained_digits_pair, copy_runs):
    """This module's copies of the session's two tiny digits runs (supervised, autoencoder): the tests store
    evaluations and transfer curves with them."""
    root = tmp_path_factory.mktemp("evalruns")
    return (root, *copy_runs(trained_digits_pair, root))


@pytest.fixture
def tab(qtbot, runs):
    from replearn_gui.evaluation.tab import EvaluationTab

    root, first, _ = runs
    t = EvaluationTab()
    qtbot.addWidget(t)
    t.resize(1300, 800)
    t.show()
    t.set_run(first, str(root))
    for name, box in t.eval_boxes.items():
        box.setChecked(name in FAST)
    for name, box in t.baseline_boxes.items():  # the baselines the table test computes with core
        box.setChecked(name in ("raw", "random_init"))
    yield t
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=60000)


def test_evaluation_table_shows_cores_numbers_and_is_restored(tab, qtbot, runs):
    _, first, _ = runs
    with qtbot.waitSignal(tab.evaluated, timeout=120000):
        tab.evaluate_button.click()
    expected = core.run_to_end(core.evaluate(core.load_trained(first), FAST, ["raw", "random_init"]))
    learned, raw = expected.learned, expected.results["raw"]
    assert tab.value("probe_accuracy") == f"{learned.value('probe_accuracy'):.4f}"
    m = learned.metrics["probe_accuracy"]
    assert tab.value("probe_accuracy", "95% interval") == f"[{m.low:.4f}, {m.high:.4f}]"
    assert tab.value("knn_accuracy", "raw") == f"{raw.value('knn_accuracy'):.4f}"
    best = max(raw.value("ece"), expected.results["random_init"].value("ece")) and min(
        (raw.value("ece"), "raw"), (expected.results["random_init"].value("ece"), "random init"))
    assert tab.value("ece", "vs best baseline").endswith(f"({best[1]})")
    # figures drawn from the same record: layer-wise bars, reliability curve, confusion matrix
    assert len(tab.figures.layer_plot.items) >= 1 and tab.figures.confusion.image is not None
    np.testing.assert_allclose(tab.figures.confusion.image.sum(axis=0), 1.0, atol=1e-6)  # rows normalised
    # stored with the run: opening it again shows the same table without evaluating
    qtbot.waitUntil(lambda: not tab.busy, timeout=30000)
    tab.set_run(first)
    assert tab.value("probe_accuracy") == f"{learned.value('probe_accuracy'):.4f}" and not tab.busy


def test_compare_two_runs_in_one_table(tab, qtbot, runs):
    _, first, second = runs
    tab.check_runs([first, second])
    with qtbot.waitSignal(tab.evaluated, timeout=180000) as done:
        tab.evaluate_button.click()
    records = done.args[0]
    headers = [tab.table.horizontalHeaderItem(j).text() for j in range(tab.table.columnCount())]
    names = {run: core.RunDirectory.open(run).path.name for run in (first, second)}
    assert sorted(headers[1:]) == sorted(names.values())
    for run, column in names.items():
        v = records[run]["results"]["learned"]["metrics"]["probe_accuracy"]["value"]
        assert tab.value("probe_accuracy", column).startswith(f"{v:.4f}")
    assert len(tab.figures.reliability_plot.listDataItems()) == 3  # two runs and the diagonal


def test_cancel_mid_evaluation_changes_nothing(tab, qtbot):
    before = dict(tab.records)
    for box in tab.eval_boxes.values():
        box.setChecked(True)
    tab.evaluate_button.click()
    qtbot.waitUntil(lambda: tab.progress.value() > 0, timeout=60000)
    tab.cancel_button.click()
    qtbot.waitUntil(lambda: not tab.busy, timeout=120000)
    assert tab.status.text().startswith("Cancelled") and tab.records == before


def test_report_dialog_exports_every_format_like_the_cli(qtbot, runs, tmp_path):
    from replearn_gui.evaluation.report_dialog import ReportDialog

    _, first, _ = runs
    dialog = ReportDialog(first, FAST)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.folder.setText(str(tmp_path / "gui"))
    dialog.build_button.click()
    qtbot.waitUntil(lambda: dialog.data is not None and not dialog.busy, timeout=120000)
    assert dialog.figure_count >= 3 and "Probe report" in dialog.preview.toPlainText()
    dialog.export_button.click()
    qtbot.waitUntil(lambda: bool(dialog.paths) and not dialog.busy, timeout=120000)
    assert set(dialog.paths) == set(core.REPORT_FORMATS) and dialog.open_button.isEnabled()
    gui = json.loads((tmp_path / "gui" / "report.json").read_text())
    # the CLI writes only the JSON compared here: its other writers are the ones the dialog just used
    assert cli_main(["report", first, "--evaluations", ",".join(FAST), "--formats", "json",
                     "--out", str(tmp_path / "cli")]) == 0
    cli = json.loads((tmp_path / "cli" / "report.json").read_text())
    assert gui["evaluation"]["results"] == cli["evaluation"]["results"]  # one code path, same numbers
    assert (tmp_path / "gui" / "report.pdf").read_bytes()[:5] == b"%PDF-"
    html = (tmp_path / "gui" / "report.html").read_text()
    assert "Content-Security-Policy" in html and "<svg" in html
    rows = list(csv.reader((tmp_path / "gui" / "report.csv").open()))
    assert rows[0][:2] == ["representation", "metric"] and ["learned", "probe_accuracy"] in [r[:2] for r in rows]
    assert all(r[3] != "None" for r in rows)  # missing intervals are empty cells
    assert "probe_accuracy" in (tmp_path / "gui" / "report.md").read_text()


def test_report_dialog_cancel_while_building(qtbot, runs):
    from replearn_gui.evaluation.report_dialog import ReportDialog

    _, first, _ = runs
    dialog = ReportDialog(first, list(core.evaluation_names()))
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.build_button.click()
    qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=60000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: not dialog.busy, timeout=120000)
    assert dialog.status.text() == "Cancelled." and dialog.data is None and not dialog.export_button.isEnabled()


def test_transfer_wizard_compares_three_ways_over_budgets(qtbot, runs):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QWizard

    from replearn_gui.evaluation.figures import EvaluationFigures
    from replearn_gui.evaluation.transfer_wizard import TransferWizard

    assert core.parse_budgets("1, 5, all") == [1, 5, None]
    with pytest.raises(ValueError, match="not a number"):
        core.parse_budgets("1, many")
    _, first, _ = runs
    wizard = TransferWizard(first, "digits")
    figures = EvaluationFigures()
    qtbot.addWidget(wizard)
    qtbot.addWidget(figures)
    wizard.finished_result.connect(figures.show_transfer)
    wizard.show()
    page = wizard.target_page
    next_button = wizard.button(QWizard.WizardButton.NextButton)
    qtbot.waitUntil(lambda: page.checked, timeout=60000)
    # only what the encoder (8x8 digits) can read is offered; the rest is named with the reason
    offered = [page.target.itemData(i) for i in range(page.target.count())]
    assert offered == ["digits"] and "factors" in page.not_offered.text() and "(1, 32, 32)" in page.not_offered.text()
    page.budgets.setFocus()
    QTest.keyClick(page.budgets, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(page.budgets, "2, x")
    assert not next_button.isEnabled() and "not a number" in page.error.text()  # said on this page
    QTest.keyClick(page.budgets, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(page.budgets, "2, all")
    page.epochs.setFocus()
    QTest.keyClick(page.epochs, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(page.epochs, "2")
    assert next_button.isEnabled() and page.epochs.value() == 2
    with qtbot.waitSignal(wizard.finished_result, timeout=180000) as done:
        QTest.mouseClick(next_button, Qt.MouseButton.LeftButton)
    result = done.args[0]
    assert result.budgets == [2, None] and set(result.accuracy) == {"frozen", "fine_tuned", "from_scratch"}
    t = wizard.run_page.table
    assert t.rowCount() == 2 and t.item(1, 0).text() == "all"
    assert t.item(0, 1).text() == f"{result.accuracy['frozen'][0]:.4f}"
    assert len(figures.transfer_plot.listDataItems()) == 3
    stored = core.load_transfer(core.RunDirectory.open(first).reports)  # kept with the run
    assert stored.accuracy == result.accuracy and stored.budgets == [2, None]
    qtbot.waitUntil(lambda: not wizard.busy, timeout=30000)


def test_invariance_layer_intervals_and_cka_in_one_run(tab, qtbot, runs):
    import pyqtgraph as pg

    _, first, _ = runs
    for name in ("invariance", "similarity"):
        tab.eval_boxes[name].setChecked(True)
    with qtbot.waitSignal(tab.evaluated, timeout=120000) as done:
        tab.evaluate_button.click()
    record = done.args[0][first]
    inv = record["results"]["learned"]["invariance"]
    assert set(inv) == {"rotation_degrees", "shift", "brightness"}
    # per transform in the table, with the baselines' values, and no "better" margin
    for t, v in inv.items():
        assert tab.value(f"invariance[{t}]") == f"{v['invariance']:.4f}"
        assert tab.value(f"equivariance_r2[{t}]") == f"{v['equivariance_r2']:.4f}"
        assert tab.value(f"invariance[{t}]", "vs best baseline") == "–"
    assert tab.value("invariance[shift]", "raw") != "–"
    figs = tab.figures
    points = figs.invariance_plot.listDataItems()
    learned = next(p for p in points if p.name() == "learned")
    np.testing.assert_allclose(sorted(learned.getData()[0]), sorted(v["invariance"] for v in inv.values()))
    assert {p.name() for p in points} >= {"learned", "raw", "random init"}
    # layer-wise bars: an interval per bar and every bar's label in view, the last one too
    layers = record["results"]["learned"]["layerwise"]
    errors = [i for i in figs.layer_plot.items if isinstance(i, pg.ErrorBarItem)]
    assert len(errors) == 1 and len(errors[0].opts["x"]) == len(layers)
    np.testing.assert_allclose(errors[0].opts["top"], [l["high"] - l["value"] for l in layers])
    labels = [i.toPlainText() for i in figs.layer_plot.items if isinstance(i, pg.TextItem)]
    assert labels == [f"{l['value']:.2f}" for l in layers]
    (x0, x1), _ = figs.layer_plot.viewRange()
    assert x0 < -0.4 and x1 > len(layers) - 1 + 0.4
    # CKA between the layers: a heat map with the values
    s = figs.similarity
    assert s.rows == ("hidden1", "representation") == s.columns
    np.testing.assert_allclose(figs.similarity_image.image, np.asarray(s.matrix).T)
    assert np.allclose(np.diag(s.matrix), 1.0)


def test_comparison_keeps_the_grid_and_every_runs_transfer_curve(tab, qtbot, runs):
    _, first, second = runs
    for run, target in ((first, "digits"), (second, "digits")):
        result = core.run_to_end(core.transfer(run, target, budgets=[2, None], epochs=1))
        core.save_transfer(result, core.RunDirectory.open(run).reports)
    tab.eval_boxes["similarity"].setChecked(True)
    tab.check_runs([first, second])
    with qtbot.waitSignal(tab.evaluated, timeout=180000):
        tab.evaluate_button.click()
    figs = tab.figures
    names = [core.RunDirectory.open(r).path.name for r in (first, second)]
    assert all(n in figs.key.text for n in names)
    assert len(figs.transfer_plot.listDataItems()) == 6  # two runs x three methods
    assert all(p.name() is None for p in figs.reliability_plot.listDataItems())  # no per-plot run legend
    # CKA of run A's layers against run B's, computed in a worker
    qtbot.waitUntil(lambda: figs.similarity is not None and figs.similarity.row_label in names, timeout=60000)
    s = figs.similarity
    assert {s.row_label, s.column_label} == set(names) and s.matrix.shape == (2, 2)
    assert tab.figures.similarity_plot.getAxis("left").labelText == s.row_label
    # a small window scrolls the figures instead of squeezing them
    tab.resize(1000, 600)
    qtbot.wait(50)
    for plot in (figs.layer_plot, figs.transfer_plot, figs.similarity_plot):
        assert plot.geometry().height() >= 200
    assert tab.figures_scroll.verticalScrollBar().maximum() > 0


def test_an_evaluation_error_reaches_the_error_dialog(tab, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    def broken(*args, **kwargs):
        raise core.DataError("the test split has no labels")
        yield

    monkeypatch.setattr(core, "evaluate_run", broken)
    tab.evaluate_button.click()
    qtbot.waitUntil(lambda: not tab.busy, timeout=60000)
    box = tab.findChild(QMessageBox, "errorDialog")
    assert box is not None and box.text() == "the test split has no labels" and box.detailedText() == ""
    assert "Evaluation failed" in tab.status.text()
    box.close()


def test_report_preview_uses_what_the_tab_stored(tab, qtbot, runs):
    """Evaluate in the tab, then build the report: the stored numbers are used, and only what the tab did not
    compute is computed; a record of an older checkpoint is stale and said to be. (The dialogs leave the figures
    section out: what is reused does not depend on it, and drawing them three times is most of this test's
    time; the export test builds them.)"""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from core.evaluation.stored import stamped
    from replearn_gui.evaluation.report_dialog import ReportDialog

    _, first, _ = runs
    with qtbot.waitSignal(tab.evaluated, timeout=120000) as done:
        QTest.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    stored = done.args[0][first]
    qtbot.waitUntil(lambda: not tab.busy, timeout=30000)

    def build(evaluations, baselines=("raw", "random_init")):
        dialog = ReportDialog(first, evaluations, baselines=list(baselines))
        qtbot.addWidget(dialog)
        dialog.show()
        figures = dialog.section_boxes["figures"]  # clicked on the box and its label (its grid cell is wider)
        QTest.mouseClick(figures, Qt.MouseButton.LeftButton,
                         pos=QPoint(figures.sizeHint().width() // 2, figures.height() // 2))
        assert not figures.isChecked()
        QTest.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.data is not None and not dialog.busy, timeout=120000)
        return dialog

    dialog = build(FAST)
    assert set(dialog.data.reuse.reused) == set(FAST) and "nothing was recomputed" in dialog.status.text()
    assert dialog.data.evaluation.learned.metrics["probe_accuracy"].value == (
        stored["results"]["learned"]["metrics"]["probe_accuracy"]["value"])
    dialog = build(FAST + ["clustering"])
    assert "computed clustering" in dialog.status.text() and "linear probe" in dialog.status.text()
    assert "ari" in dialog.data.evaluation.learned.metrics
    # the run was evaluated at another checkpoint: nothing of it is used
    ckpts = [e["file"] for e in json.loads((core.RunDirectory.open(first).checkpoints / "manifest.json").read_text())["checkpoints"]]
    old = core.evaluation_stamp(first, ckpts[0], ["raw", "random_init"])
    core.save_evaluation(stamped(stored, old), core.RunDirectory.open(first).reports)
    tab.set_run(first)  # the tab shows it at once, and says it is out of date
    assert "out of date" in tab.status.text() and ckpts[0] in tab.status.text()
    dialog = build(FAST)
    assert set(dialog.data.reuse.missing) == set(FAST) and ckpts[0] in dialog.status.text()


# ---- issue 17: the report dialog at 1024 × 700 and in the dark theme ---------------------------------------------
def _luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(float(c)) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_report_preview_is_a_readable_page_in_the_dark_theme(qtbot, runs):
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    from replearn_gui.evaluation.report_dialog import ReportDialog
    from replearn_gui.window_actions import apply_palette

    _, first, _ = runs
    apply_palette(True)
    try:
        dialog = ReportDialog(first, ["linear_probe"], baselines=["raw"])
        qtbot.addWidget(dialog)
        dialog.show()
        qtbot.waitExposed(dialog)
        qtbot.mouseClick(dialog.build_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.data is not None and not dialog.busy, timeout=120000)
        image = dialog.preview.viewport().grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
        raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
        rgb = raw[:, : image.width(), 2::-1].reshape(-1, 3).astype(int)
        colours, counts = np.unique(rgb, axis=0, return_counts=True)
        page = colours[counts.argmax()]  # the most common colour: the page
        text = max(colours, key=lambda c: _contrast(c, page))  # the colour that stands out most: the text
        assert _luminance(page) > 0.8, page  # a light page, as the exported report
        assert _contrast(page, text) >= 7, (page, text)
        # the theme switched back while the dialog is open: the page stays light
        apply_palette(False)
        apply_palette(True)
        assert _luminance(dialog.preview.palette().color(dialog.preview.palette().ColorRole.Base).getRgb()[:3]) > 0.8
    finally:
        apply_palette(False)


def test_dialogs_fit_the_screen_and_keep_their_buttons_on_it(qtbot, runs, monkeypatch):
    """On a 1024 × 700 screen the report dialog asked for 1000 × 760 and put Build preview / Export / Close below
    the bottom edge. (The offscreen screen is 800 × 800: its available area is set to 1024 × 700 here.)"""
    from PySide6.QtCore import QRect
    from PySide6.QtWidgets import QPushButton, QWidget

    import replearn_gui.screen_fit as screen_fit
    from replearn_gui.evaluation.report_dialog import ReportDialog
    from replearn_gui.evaluation.transfer_wizard import TransferWizard
    from replearn_gui.export_dialog import ExportEncoderDialog

    room = QRect(0, 0, 1024, 700)
    monkeypatch.setattr(screen_fit, "available_area", lambda widget: room)
    _, first, _ = runs
    parent = QWidget()
    qtbot.addWidget(parent)
    parent.resize(1024, 660)
    parent.show()
    for make in (lambda: ReportDialog(first, FAST, parent), lambda: TransferWizard(first, "digits", parent),
                 lambda: ExportEncoderDialog(first, parent)):
        dialog = make()
        dialog.show()
        qtbot.waitExposed(dialog)
        name = type(dialog).__name__
        # with the window manager's frame and title bar it fits the screen
        assert dialog.width() + screen_fit.FRAME[0] <= room.width(), (name, dialog.size())
        assert dialog.height() + screen_fit.FRAME[1] <= room.height(), (name, dialog.size())
        for button in dialog.findChildren(QPushButton):  # every button inside the dialog, none cut off
            if button.isVisible():
                corner = button.mapTo(dialog, button.rect().bottomRight())
                assert dialog.rect().contains(corner), (name, button.text(), corner, dialog.size())
        dialog.close()
