"""The Evaluation tab: choose runs, evaluations and baselines; evaluate in the background; read the table and
the figures; compare runs; open the report dialog or the transfer wizard.

Results are shown from evaluation records (core's ``Evaluation.to_record``), which are also stored in each run's
``reports/evaluation.json``: a run opened later shows its last evaluation at once.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.evaluation.figures import EvaluationFigures
from replearn_gui.evaluation.jobs import evaluate_runs_job, similarity_job
from replearn_gui.jobs import BackgroundJob


def fmt(value: Any, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


NO_RUNS = "Open or train a run, then press Evaluate."
NONE_TICKED = "Tick a run to see its last evaluation, or several to compare them, then press Evaluate."


class EvaluationTab(QWidget):
    evaluated = Signal(object)  # {run_dir: record}
    report_requested = Signal(str)  # run_dir
    transfer_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.runs_root: str | None = None
        self.run_dir: str | None = None
        self.records: dict[str, dict] = {}  # run_dir -> record
        self.run_boxes = QListWidget()
        self.run_boxes.setObjectName("evaluationRuns")
        self.run_boxes.setToolTip("Tick one run to evaluate it, or several to compare them")
        self._shown_ticks: tuple[str, ...] = ()  # the ticked runs whose stored evaluations the table shows
        self._filling = False
        self.run_boxes.itemChanged.connect(lambda _item: self._ticks_changed())
        self.eval_boxes: dict[str, QCheckBox] = {}
        self.baseline_boxes: dict[str, QCheckBox] = {}
        choose = QGroupBox("Evaluate")
        grid = QGridLayout(choose)
        self._eval_grid = grid
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setObjectName("evaluateButton")
        self.evaluate_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("evaluateCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.report_button = QPushButton("Report…")
        self.report_button.setObjectName("reportButton")
        # the report and the transfer are of the ticked run (the first ticked one), named in the tooltips
        self.report_button.clicked.connect(lambda: self._emit_for_target(self.report_requested))
        self.transfer_button = QPushButton("Transfer…")
        self.transfer_button.setObjectName("transferButton")
        self.transfer_button.clicked.connect(lambda: self._emit_for_target(self.transfer_requested))
        self.progress = QProgressBar()
        self.progress.setObjectName("evaluationProgress")
        self.progress.setRange(0, 1000)
        self.status = QLabel(NO_RUNS)
        self.status.setObjectName("evaluationStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setObjectName("evaluationTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self._figures: EvaluationFigures | None = None  # built when first shown or used (start-up: 8 plots)
        self._dark = False

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(QLabel("Runs"))
        ll.addWidget(self.run_boxes, 1)
        ll.addWidget(choose)
        buttons = QHBoxLayout()
        for b in (self.evaluate_button, self.cancel_button):
            buttons.addWidget(b)
        ll.addLayout(buttons)
        more = QHBoxLayout()
        for b in (self.report_button, self.transfer_button):
            more.addWidget(b)
        ll.addLayout(more)
        ll.addWidget(self.progress)
        ll.addWidget(self.status)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.table)
        # the figures keep their size (three rows of plots) and scroll, rather than being squeezed
        self.figures_scroll = QScrollArea()
        self.figures_scroll.setObjectName("evaluationFiguresScroll")
        self.figures_scroll.setWidgetResizable(True)
        right.addWidget(self.figures_scroll)
        right.setSizes([300, 420])
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([300, 900])
        layout = QVBoxLayout(self)
        layout.addWidget(split)
        self.job = BackgroundJob(self, policy="refuse")  # Evaluate is disabled while one runs
        self.job.bind(progress=self.progress, status=self.status, cancel=self.cancel_button,
                      failed="Evaluation failed", cancelled="Cancelled; nothing was changed.")
        self.job.report_errors(self, "Evaluation failed")
        self.job.done.connect(self._returned)
        self.job.started.connect(self._set_enabled)
        self.job.finished.connect(self._set_enabled)
        # CKA of the first two compared runs: a newer comparison replaces the running one, whose result is dropped
        self.similarity_job = BackgroundJob(self, policy="replace")
        self.similarity_job.failed.connect(
            lambda exc, _details: self.figures.show_similarity(None, f"No CKA between these runs: {exc}"))
        self._set_enabled()

    def engine_ready(self) -> None:
        """Fill the evaluation and baseline choices from core (imported by then)."""
        if self.eval_boxes:
            return
        names = core.evaluation_names()
        for i, name in enumerate(names):
            box = QCheckBox(core.EVALUATIONS.get(name).info.get("label", name))
            box.setObjectName(f"eval_{name}")
            box.setChecked(True)
            box.setToolTip(core.EVALUATIONS.get(name).info.get("help", ""))
            self.eval_boxes[name] = box
            self._eval_grid.addWidget(box, i // 2, i % 2)
        row = (len(names) + 1) // 2
        self._eval_grid.addWidget(QLabel("Baselines:"), row, 0, 1, 2)
        for j, name in enumerate(core.BASELINES):
            box = QCheckBox(name.replace("_", " "))
            box.setObjectName(f"baseline_{name}")
            box.setChecked(True)
            box.setToolTip(core.BASELINE_HELP.get(name, ""))
            self.baseline_boxes[name] = box
            self._eval_grid.addWidget(box, row + 1 + j // 2, j % 2)

    # ---- runs ----------------------------------------------------------------------------------------------
    def set_run(self, run_dir: str | None, runs_root: str | None = None) -> None:
        """The run in view; its stored evaluation (if any) is shown at once."""
        self.engine_ready()
        self.run_dir = run_dir
        self.runs_root = runs_root or self.runs_root
        self.fill_runs()
        self.show_ticked()

    def fill_runs(self, listed: list[str] | None = None) -> None:
        """The runs to compare: those of the runs folder (``listed`` by the main run list when it has them), the
        run in view first if it lies elsewhere; what the user ticked stays ticked."""
        ticked = set(self.chosen_runs()) if listed is not None else set()  # a new run in view: only it is ticked
        paths = ([Path(p) for p in listed] if listed is not None
                 else core.RunDirectory.list_runs(self.runs_root) if self.runs_root else [])
        shown = [Path(self.run_boxes.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.run_boxes.count())]
        if listed is not None and shown == ([Path(self.run_dir)] if self.run_dir and Path(self.run_dir) not in paths
                                            else []) + paths:
            return  # the same runs: nothing to redraw
        self._filling = True  # one look at the ticks once filled, not one per item
        try:
            self.run_boxes.clear()
            if self.run_dir and Path(self.run_dir) not in paths:
                paths.insert(0, Path(self.run_dir))
            for p in paths:
                item = QListWidgetItem(p.name)
                item.setData(Qt.ItemDataRole.UserRole, str(p))
                item.setToolTip(str(p))
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(Qt.CheckState.Checked if str(p) == self.run_dir or str(p) in ticked
                                   else Qt.CheckState.Unchecked)
                self.run_boxes.addItem(item)
        finally:
            self._filling = False
        if listed is not None:
            self._ticks_changed()  # a ticked run that was deleted lets go of the table

    def chosen_runs(self) -> list[str]:
        return [self.run_boxes.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.run_boxes.count())
                if self.run_boxes.item(i).checkState() == Qt.CheckState.Checked]

    def check_runs(self, run_dirs: list[str]) -> None:
        for i in range(self.run_boxes.count()):
            item = self.run_boxes.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in run_dirs
                               else Qt.CheckState.Unchecked)

    def target_run(self) -> str | None:
        """The run Report… and Transfer… are for: the (first) ticked run, else the run in view."""
        ticked = self.chosen_runs()
        return ticked[0] if ticked else self.run_dir

    def _emit_for_target(self, signal) -> None:
        run = self.target_run()
        if run:
            signal.emit(run)

    def _ticks_changed(self) -> None:
        """A run was ticked or unticked (by the user, or the list changed): show what is stored for the ticked
        runs. An evaluation in progress shows its own result when it returns."""
        if self._filling or self.job.busy or tuple(self.chosen_runs()) == self._shown_ticks:
            return
        self.show_ticked()

    def show_ticked(self) -> None:
        """The ticked runs' stored evaluations (reports/evaluation.json), at once, and a status saying what the
        table shows: stored, out of date, or not evaluated yet."""
        ticked = self.chosen_runs()
        self._shown_ticks = tuple(ticked)
        self.records, missing, stale = {}, [], {}
        for run in ticked:
            try:
                stored = core.RunDirectory.open(run).read_evaluation()
            except core.ReplearnError:  # deleted or unreadable meanwhile: as if never evaluated
                stored = None
            if stored is None:
                missing.append(Path(run).name)
                continue
            self.records[run] = stored
            why = core.stored_staleness(run, stored)
            if why:
                stale[Path(run).name] = why
        self.status.setText(self._describe_ticked(ticked, missing, stale))
        self.show_records()
        self._set_enabled()

    def _describe_ticked(self, ticked: list[str], missing: list[str], stale: dict[str, str]) -> str:
        if not ticked:
            return NONE_TICKED if self.run_boxes.count() else NO_RUNS
        if len(ticked) == 1:
            name = Path(ticked[0]).name
            if missing:
                return f"{name} has not been evaluated yet: press Evaluate."
            if stale:
                return f"The last evaluation of {name} is out of date: {stale[name]} Press Evaluate."
            return f"The last evaluation of {name} (press Evaluate to run it again)."
        shown = len(ticked) - len(missing)
        text = (f"The last evaluations of {shown} of the {len(ticked)} ticked runs." if shown
                else f"None of the {len(ticked)} ticked runs has been evaluated yet.")
        if missing and shown:
            text += f" Not evaluated yet: {', '.join(missing)}."
        if stale:
            text += f" Out of date: {', '.join(stale)}."
        return text + " Press Evaluate to evaluate the ticked runs."

    # ---- evaluating ----------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.job.busy or self.similarity_job.busy

    def _set_enabled(self) -> None:
        evaluating = self.job.busy
        self.evaluate_button.setEnabled(not evaluating and self.run_boxes.count() > 0)
        self.cancel_button.setEnabled(self.job.running)
        target = self.target_run()
        self.report_button.setEnabled(not evaluating and target is not None)
        self.transfer_button.setEnabled(not evaluating and target is not None)
        name = Path(target).name if target else "the ticked run"
        self.report_button.setToolTip(f"A report (figures and tables) of {name}")
        self.transfer_button.setToolTip(f"Compare {name}'s frozen, fine-tuned and from-scratch encoders on "
                                        "another dataset")

    def start(self) -> None:
        runs = self.chosen_runs()
        evaluations = [n for n, b in self.eval_boxes.items() if b.isChecked()]
        baselines = [n for n, b in self.baseline_boxes.items() if b.isChecked()]
        if not runs or not evaluations:
            self.status.setText("Tick at least one run and one evaluation.")
            return
        self.job.start(evaluate_runs_job, runs, evaluations, baselines, message="Evaluating…")

    def cancel(self) -> None:
        """Stop the evaluation at its next progress report (nothing is stored) and drop a pending CKA."""
        self.job.cancel()
        self.similarity_job.cancel()

    def _returned(self, records: dict) -> None:
        self.records = records
        self._shown_ticks = tuple(self.chosen_runs())
        self.progress.setValue(1000)
        seconds = sum(r.get("seconds", 0.0) for r in records.values())
        notes = next((r.get("notes") for r in records.values() if r.get("notes")), None)
        self.status.setText(f"Evaluated {len(records)} run(s) in {seconds:.1f} s. "
                            + (" ".join(notes[:4]) if notes else "Intervals: 95%, over the test samples."))
        self.status.setWordWrap(True)
        self.show_records()
        self.evaluated.emit(records)

    # ---- showing -------------------------------------------------------------------------------------------
    def show_records(self) -> None:
        names = {run: Path(run).name for run in self.records}
        if len(self.records) == 1:
            record = next(iter(self.records.values()))
            rows = core.result_rows(record)
            baselines = [b for b in record["results"] if b != "learned"]
            headers = ["metric", "value", "95% interval"] + [b.replace("_", " ") for b in baselines] + ["vs best baseline"]
            self.table.setColumnCount(len(headers))
            self.table.setHorizontalHeaderLabels(headers)
            self.table.setRowCount(len(rows))
            for i, r in enumerate(rows):
                interval = "–" if r.low is None or r.high is None else f"[{r.low:.4f}, {r.high:.4f}]"
                diff = "–" if r.difference is None else f"{r.difference:+.4f} ({r.best_baseline.replace('_', ' ')})"
                cells = [r.metric.replace("_", " "), fmt(r.value), interval] + [fmt(r.baselines.get(b)) for b in baselines]
                cells.append(diff)
                for j, text in enumerate(cells):
                    self._cell(i, j, text, r.difference if j == len(cells) - 1 else None)
                self._explain(i, r.metric)
        else:
            run_names, rows = core.comparison_rows({names[r]: rec for r, rec in self.records.items()})
            self.table.setColumnCount(1 + len(run_names))
            self.table.setHorizontalHeaderLabels(["metric"] + run_names)
            self.table.setRowCount(len(rows))
            for i, (metric, cells) in enumerate(rows):
                self._cell(i, 0, metric.replace("_", " "))
                self._explain(i, metric)
                for j, m in enumerate(cells):
                    text = "–" if m is None else fmt(m["value"]) + (
                        f"  [{m['low']:.3f}, {m['high']:.3f}]" if m.get("low") is not None else "")
                    self._cell(i, j + 1, text)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        if self._figures is not None:  # else they are drawn when first shown (a run's end does not wait on them)
            self._draw_figures()
        if len(self.records) > 1:
            self._compare_layers(*list(self.records)[:2])
        else:
            self.similarity_job.cancel()  # a comparison still running would draw CKA beside a single run

    def _compare_layers(self, run_a: str, run_b: str) -> None:
        """CKA between the first two compared runs' layers, in a worker (both models are loaded)."""
        self.similarity_job.start(similarity_job, run_a, run_b, on_done=self.figures.show_similarity)

    def _cell(self, row: int, col: int, text: str, sign: float | None = None) -> None:
        item = QTableWidgetItem(text)  # table items are plain text: user labels are never read as HTML
        if sign is not None:
            item.setForeground(Qt.GlobalColor.darkGreen if sign > 0 else Qt.GlobalColor.darkRed)
        self.table.setItem(row, col, item)

    def _explain(self, row: int, metric: str) -> None:
        """The glossary's definition of the metric as the tooltip of its name."""
        text = core.explain_metric(metric)
        if text:
            self.table.item(row, 0).setToolTip(text)

    def value(self, metric: str, column: str = "value") -> str:
        """The table's text for a metric (tests read the table the way a user does)."""
        headers = [self.table.horizontalHeaderItem(j).text() for j in range(self.table.columnCount())]
        for i in range(self.table.rowCount()):
            if self.table.item(i, 0).text() == metric.replace("_", " "):
                return self.table.item(i, headers.index(column)).text()
        raise KeyError(metric)

    def _draw_figures(self) -> None:
        names = {run: Path(run).name for run in self.records}
        for run in self.records:  # every run's stored transfer curve
            stored = core.load_transfer(core.RunDirectory.open(run).reports)
            if stored is not None:
                self._figures.transfers[names[run]] = stored
        self._figures.show_records({names[r]: rec for r, rec in self.records.items()})

    @property
    def figures(self) -> EvaluationFigures:
        """The figures' grid, built (with the records shown) on first use: the window shows sooner without its
        eight plots, and a run's end does not stop to draw them in a hidden tab."""
        if self._figures is None:
            self._figures = EvaluationFigures()
            self._figures.set_dark(self._dark)
            self.figures_scroll.setWidget(self._figures)
            self._draw_figures()
        return self._figures

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.figures  # noqa: B018 (built as the tab is first shown)
        super().showEvent(event)

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        if self._figures is not None:
            self._figures.set_dark(dark)
