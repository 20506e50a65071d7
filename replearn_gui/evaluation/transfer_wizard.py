"""The transfer wizard: from a finished run, train on a target dataset at several label budgets with the encoder
frozen, fine-tuned, and from scratch (core.transfer), and show the label-efficiency curve."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWizard,
    QWizardPage,
)

import core
from replearn_gui.evaluation.jobs import transfer_job
from replearn_gui.jobs import BackgroundJob
from replearn_gui.screen_fit import resize_within_screen


class TargetPage(QWizardPage):
    """Only datasets the run's encoder can read are offered (checked in a worker: the candidates are loaded);
    everything is validated here, so Next never starts a transfer that cannot run."""

    def __init__(self, run_dir: str, source_dataset: str):
        super().__init__()
        self.setTitle("Target data and label budgets")
        self.setSubTitle("The run's encoder is reused on the target: kept frozen under a linear head, fine-tuned, "
                         "or trained from scratch, with only a few labels per class.")
        form = QFormLayout(self)
        self.source_dataset = source_dataset
        self.target = QComboBox()
        self.target.setObjectName("transferTarget")
        self.target.setEnabled(False)
        form.addRow("Target dataset:", self.target)
        self.not_offered = QLabel("Checking which datasets this encoder can read…")
        self.not_offered.setObjectName("transferNotOffered")
        self.not_offered.setTextFormat(Qt.TextFormat.PlainText)
        self.not_offered.setWordWrap(True)
        form.addRow(self.not_offered)
        self.budgets = QLineEdit("1, 5, 10, 50, all")
        self.budgets.setObjectName("transferBudgets")
        self.budgets.setToolTip("Labels per class; 'all' = every training label")
        form.addRow("Labels per class:", self.budgets)
        self.epochs = QSpinBox()
        self.epochs.setObjectName("transferEpochs")
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(30)
        form.addRow("Epochs per training:", self.epochs)
        self.error = QLabel("")
        self.error.setObjectName("transferError")
        self.error.setStyleSheet("color: #b00020;")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        form.addRow(self.error)
        self.budgets.textChanged.connect(lambda _: self.completeChanged.emit())
        self.checked = False
        self.job = BackgroundJob(self)
        self.job.done.connect(self._targets)
        self.job.failed.connect(lambda exc, _details: self._targets_failed(exc))
        self.job.finished.connect(self._checked)
        self.job.start(core.transfer_targets, run_dir)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def _targets(self, targets: list) -> None:
        usable = [t for t in targets if t.usable]
        for t in usable:
            self.target.addItem(f"{t.name} — {t.reason}", t.name)
        index = self.target.findData(self.source_dataset)
        self.target.setCurrentIndex(max(index, 0))
        self.target.setEnabled(bool(usable))
        others = [f"{t.name} ({t.reason})" for t in targets if not t.usable]
        self.not_offered.setText("Not offered: " + "; ".join(others) + "." if others else "")

    def _targets_failed(self, exc: BaseException) -> None:
        self.not_offered.setText(f"Could not check the datasets: {exc}")

    def _checked(self) -> None:
        self.checked = True
        self.completeChanged.emit()

    def chosen(self) -> str | None:
        return self.target.currentData()

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        if not self.checked:
            return False
        if self.chosen() is None:
            self.error.setText("No built-in dataset has labels and samples this encoder can read.")
            return False
        try:
            core.parse_budgets(self.budgets.text())
        except ValueError as err:  # core's ConfigError is a ValueError
            self.error.setText(str(err))
            return False
        self.error.setText("")
        return True


class RunPage(QWizardPage):
    def __init__(self):
        super().__init__()
        self.setTitle("Transfer")
        layout = QVBoxLayout(self)
        self.progress = QProgressBar()
        self.progress.setObjectName("transferProgress")
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setObjectName("transferStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setObjectName("transferTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 1)
        self.done = False

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return self.done


class TransferWizard(QWizard):
    finished_result = Signal(object)  # core.TransferResult

    def __init__(self, run_dir: str, source_dataset: str, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Transfer to another dataset")
        self.setObjectName("transferWizard")
        self.run_dir = run_dir
        self.target_page = TargetPage(run_dir, source_dataset)
        self.run_page = RunPage()
        self.addPage(self.target_page)
        self.addPage(self.run_page)
        self.result_value: Any = None
        self.job = BackgroundJob(self, policy="refuse")
        self.job.bind(progress=self.run_page.progress, status=self.run_page.status, failed="Transfer failed")
        self.job.report_errors(self, "Transfer failed")
        self.job.done.connect(self._returned)
        self.job.finished.connect(self._finished)
        self.currentIdChanged.connect(self._page_changed)
        resize_within_screen(self, 640, 480)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def _page_changed(self, page_id: int) -> None:
        if self.page(page_id) is self.run_page and not self.busy:
            self.start()

    def start(self) -> None:
        page = self.target_page
        budgets = core.parse_budgets(page.budgets.text())
        self.run_page.done = False
        self.run_page.completeChanged.emit()
        self.job.start(transfer_job, self.run_dir, page.chosen(), budgets, page.epochs.value())

    def _returned(self, result: Any) -> None:
        self.result_value = result
        t = self.run_page.table
        methods = list(result.accuracy)
        t.setColumnCount(1 + len(methods))
        t.setHorizontalHeaderLabels(["labels per class"] + [m.replace("_", " ") for m in methods])
        t.setRowCount(len(result.budgets))
        for i, b in enumerate(result.budgets):
            t.setItem(i, 0, QTableWidgetItem("all" if b is None else str(b)))
            for j, m in enumerate(methods):
                t.setItem(i, j + 1, QTableWidgetItem(f"{result.accuracy[m][i]:.4f}"))
        self.run_page.progress.setValue(1000)
        self.run_page.status.setText(f"Test accuracy on {result.target} ({result.n_test} test samples). The curve is "
                                     "in the Evaluation tab.")
        self.finished_result.emit(result)

    def _finished(self) -> None:
        self.run_page.done = True
        self.run_page.completeChanged.emit()

    def reject(self) -> None:
        if self.busy:  # never leave a worker behind: stop it at its next report, close when it has
            self.job.cancel()
            self.job.when_idle(super().reject)
            return
        super().reject()
