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


def tiny_run(root, name, objective="supervised", epochs=2):
    exp = core.Experiment(
        name=name, data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name=objective),
        training=core.TrainingConfig(epochs=epochs, batch_size=128, device="cpu", snapshot_points=100,
                                     eval_points=128, warmup_epochs=0),
        output=core.OutputConfig(root=str(root)))
    return core.run_to_end(core.train(exp)).run_dir


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalruns")
    return root, tiny_run(root, "sup"), tiny_run(root, "ae", "autoencoder")


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
    t.baseline_boxes["pca"].setChecked(False)
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
    assert cli_main(["report", first, "--evaluations", ",".join(FAST), "--out", str(tmp_path / "cli")]) == 0
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
    from replearn_gui.evaluation.figures import EvaluationFigures
    from core.evaluation.transfer import parse_budgets
    from replearn_gui.evaluation.transfer_wizard import TransferWizard

    assert parse_budgets("1, 5, all") == [1, 5, None]
    with pytest.raises(ValueError, match="not a number"):
        parse_budgets("1, many")
    _, first, _ = runs
    wizard = TransferWizard(first, "digits")
    figures = EvaluationFigures()
    qtbot.addWidget(wizard)
    qtbot.addWidget(figures)
    wizard.finished_result.connect(figures.show_transfer)
    wizard.show()
    wizard.target_page.budgets.setText("2, all")
    wizard.target_page.epochs.setValue(2)
    wizard.target_page.budgets.setText("2, x")
    assert not wizard.target_page.isComplete() and "not a number" in wizard.target_page.error.text()
    wizard.target_page.budgets.setText("2, all")
    with qtbot.waitSignal(wizard.finished_result, timeout=180000) as done:
        wizard.next()
    result = done.args[0]
    assert result.budgets == [2, None] and set(result.accuracy) == {"frozen", "fine_tuned", "from_scratch"}
    t = wizard.run_page.table
    assert t.rowCount() == 2 and t.item(1, 0).text() == "all"
    assert t.item(0, 1).text() == f"{result.accuracy['frozen'][0]:.4f}"
    assert len(figures.transfer_plot.listDataItems()) == 3
    qtbot.waitUntil(lambda: not wizard.busy, timeout=30000)


def test_an_evaluation_error_reaches_the_error_dialog(tab, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    def broken(*args, **kwargs):
        raise core.DataError("the test split has no labels")
        yield

    monkeypatch.setattr(core, "evaluate", broken)
    tab.evaluate_button.click()
    qtbot.waitUntil(lambda: not tab.busy, timeout=60000)
    box = tab.findChild(QMessageBox, "errorDialog")
    assert box is not None and box.text() == "the test split has no labels" and box.detailedText() == ""
    assert "Evaluation failed" in tab.status.text()
    box.close()
