"""The main window: the experiment on the left, the live training view in the middle, progress below.

This is the foundation's window; the wizard, the embedding explorer and the evaluation views join it in their
own issues. It never waits on core: loading the experiment (which imports torch) and training both run in
superqt workers, and the plot repaints on a timer rather than on every event.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, QStandardPaths, Qt, QTimer, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import core
from core import EpochEnded, LearningRateChanged, RunStarted, SnapshotReady, StepEnded
from replearn_gui.evaluation.tab import EvaluationTab
from replearn_gui.explorer.tab import EmbeddingsTab
from replearn_gui.run_controller import RunController
from replearn_gui.run_follower import RunFollower
from replearn_gui.widgets.collapse_panel import CollapsePanel
from replearn_gui.widgets.error_dialog import show_error
from replearn_gui.widgets.loss_plot import LossPlot
from replearn_gui.widgets.run_list import RunList
from replearn_gui.widgets.snapshot_map import SnapshotMap
from replearn_gui.workers import alive, load_experiment_job, make_worker

REFRESH_MS = 50  # repaint at most 20 times a second


def default_runs_root() -> str:
    docs = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.DocumentsLocation) or str(Path.home())
    return str(Path(docs) / "RepLearn Studio" / "runs")


LABEL_NAMES = ("label", "labels", "class", "target", "y", "species", "category")


def guess_label_column(path: str) -> dict:
    """A table's label column when its header names one the usual way (the user can change it in the wizard)."""

    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
        text, _ = core.decode_text(head, "auto", path)
    except Exception:  # noqa: BLE001 - a guess only; the reader reports the real problems
        return {}
    lines = [line for line in text.splitlines() if line.strip()][:20]
    if not lines:
        return {}
    header = [c.strip() for c in lines[0].split(core.sniff_delimiter(lines))]
    found = next((c for c in header if c.lower() in LABEL_NAMES), None)
    return {"label_column": found} if found else {}


class ExperimentPanel(QGroupBox):
    """A read-only summary of the loaded experiment (the wizard will edit it)."""

    FIELDS = ("Experiment", "Dataset", "Encoder", "Objective", "Views", "Epochs", "Batch size", "Optimiser", "Seed",
              "Device")

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Experiment", parent)
        form = QFormLayout(self)
        self.values: dict[str, QLabel] = {}
        for name in self.FIELDS:
            label = QLabel("…")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)
            self.values[name] = label
        self.description = QLabel("Loading the training engine…")
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setWordWrap(True)
        self.description.setObjectName("experimentDescription")
        form.addRow(self.description)

    def show_experiment(self, exp: Any) -> None:
        t = exp.training

        def changed(params) -> str:
            """Only the settings that differ from the defaults: the panel stays short and says what matters."""
            defaults = type(params)().to_dict()
            diff = {k: v for k, v in params.to_dict().items() if defaults.get(k) != v}
            return ", ".join(f"{k}={v}" for k, v in diff.items()) if diff else "defaults"

        enc, obj = changed(exp.encoder.params), changed(exp.objective.params)
        values = {
            "Experiment": exp.name, "Dataset": exp.data.name, "Encoder": f"{exp.encoder.name} ({enc})",
            "Objective": f"{exp.objective.name} ({obj})",
            "Views": self._views_text(exp), "Epochs": str(t.epochs),
            "Batch size": str(t.batch_size), "Optimiser": f"{t.optimizer}, lr {t.lr:g}, {t.schedule}",
            "Seed": str(t.seed), "Device": t.device,
        }
        for key, text in values.items():
            self.values[key].setText(text)
            self.values[key].setWordWrap(True)
        self.description.setText(exp.description)

    @staticmethod
    def _views_text(exp: Any) -> str:
        if not exp.objective.entry.cls.uses_views:
            return "none (single view)"
        if not exp.views:
            return "the default augmentations for this data"
        return ", ".join(v.name for v in exp.views)


class MainWindow(QMainWindow):
    def __init__(self, experiment: str | None = None, runs_root: str | None = None, autostart: bool = False):
        super().__init__()
        self.setWindowTitle("RepLearn Studio")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1320, 820)
        self.settings = QSettings()
        self.runs_root = runs_root or str(self.settings.value("runs_root", default_runs_root()))
        self.experiment: Any = None
        self.last_result: Any = None
        self._autostart = autostart
        self._closing = False
        self._loader = None
        self._loading_source: str | None = None
        self._total_steps = 0
        self._start_step = 0
        self.error_box: QMessageBox | None = None
        self.wizard = None
        self.close_question: QMessageBox | None = None
        self.follower: RunFollower | None = None
        self.report_dialog = None
        self.transfer_wizard = None
        self.queue: list[Any] = []
        self.opened_run: str | None = None

        self.controller = RunController(self, num_threads=int(self.settings.value("torch_threads", 1)))
        self.controller.event.connect(self.on_event)
        self.controller.finished.connect(self.on_finished)
        self.controller.failed.connect(self.on_failed)
        self.controller.state_changed.connect(self.on_state_changed)

        self._build_actions()
        self._build_ui()
        self.refresh_timer = QTimer(self)
        self.refresh_timer.setInterval(REFRESH_MS)
        self.refresh_timer.timeout.connect(self.loss_plot.refresh)
        self.refresh_timer.start()
        self.runs_timer = QTimer(self)
        self.runs_timer.setInterval(3000)
        self.runs_timer.timeout.connect(self.run_list.refresh)
        self.runs_timer.start()
        self.run_list.refresh(self.runs_root)
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        self.on_state_changed("idle")
        self.load_experiment(experiment)

    # ---- construction -----------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        def action(text: str, slot, shortcut=None, tip: str = "") -> QAction:
            a = QAction(text, self)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(shortcut)
            a.setStatusTip(tip)
            return a

        self.new_action = action("&New experiment…", self.new_experiment, QKeySequence.StandardKey.New,
                                 "Choose data, encoder, objective and training in the wizard")
        self.open_action = action("&Open experiment…", self.choose_experiment, QKeySequence.StandardKey.Open,
                                  "Load an experiment TOML file")
        self.open_data_action = action("Open &data…", self.choose_data, "Ctrl+D",
                                       "Start a new experiment on your own data file or folder")
        self.open_run_action = action("Open &run…", self.choose_run, "Ctrl+Shift+O",
                                      "Open a run directory (also one that is still being written)")
        self.checkpoint_action = action("Save &checkpoint", self.save_checkpoint, QKeySequence.StandardKey.Save,
                                        "Save a checkpoint of the running training now")
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.report_action = action("&Report…", lambda: self.open_report_dialog(self.opened_run), "Ctrl+E",
                                    "Evaluate the open run and export its report (HTML, PDF, JSON, Markdown, CSV)")
        self.start_action = action("&Start", self.start_training, "Ctrl+R", "Train the loaded experiment")
        self.queue_action = action("&Queue", self.queue_current, "Ctrl+Shift+R",
                                   "Train the loaded experiment after the runs already going (or now, if none)")
        self.pause_action = action("&Pause", self.toggle_pause, "Ctrl+P", "Pause or resume at the next step")
        self.stop_action = action("S&top", self.controller.stop, "Ctrl+.",
                                  "Stop after the current step, saving a checkpoint")
        self.about_action = action("&About RepLearn Studio", self.show_about)
        self.shortcuts_action = action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.dark_action = action("&Dark theme", self.toggle_theme, "Ctrl+Shift+T")
        self.dark_action.setCheckable(True)
        self.dark_action.setChecked(self.settings.value("view/dark", False, type=bool))
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.new_action)
        file_menu.addAction(self.open_action)
        file_menu.addAction(self.open_data_action)
        file_menu.addAction(self.open_run_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        file_menu.addSeparator()
        export_menu = file_menu.addMenu("&Export")
        export_menu.addAction(self.report_action)
        for kind, text in (("png", "Embedding view as &PNG…"), ("svg", "Embedding view as &SVG…"),
                           ("projector", "TF Embedding &Projector files…"), ("embeddings", "Embeddings as &CSV…")):
            export_menu.addAction(text, lambda kind=kind: self.export_embeddings(kind))
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = menu.addMenu("&Run")
        for a in (self.start_action, self.queue_action, self.pause_action, self.stop_action, self.checkpoint_action):
            run_menu.addAction(a)
        menu.addMenu("&View").addAction(self.dark_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)
        toolbar = self.addToolBar("Run")
        toolbar.setObjectName("runToolbar")
        toolbar.setMovable(False)
        for a in (self.new_action, self.open_action, self.start_action, self.pause_action, self.stop_action):
            toolbar.addAction(a)

    def _build_ui(self) -> None:
        self.experiment_panel = ExperimentPanel()
        self.result_label = QLabel("")
        self.result_label.setObjectName("resultLabel")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.experiment_panel)
        left_layout.addWidget(self.result_label)
        self.queue_box = QGroupBox("Queued runs")
        self.queue_box.setObjectName("queueBox")
        qlayout = QVBoxLayout(self.queue_box)
        self.queue_list = QListWidget()
        self.queue_list.setObjectName("queueList")
        self.queue_list.setMaximumHeight(90)
        qlayout.addWidget(self.queue_list)
        remove = QPushButton("Remove from queue")
        remove.clicked.connect(self._remove_from_queue)
        qlayout.addWidget(remove)
        self.queue_box.setVisible(False)
        left_layout.addWidget(self.queue_box)
        self.run_list = RunList()
        self.run_list.open_run.connect(self.open_run)
        self.run_list.overlay_run.connect(self.overlay_run)
        self.run_list.clear_overlay.connect(self.clear_overlay)
        left_layout.addWidget(self.run_list, 1)

        self.loss_plot = LossPlot()
        self.epoch_label = QLabel("No run yet. Press Start to train the experiment.")
        self.epoch_label.setObjectName("epochLabel")
        self.epoch_label.setTextFormat(Qt.TextFormat.PlainText)
        self.loss_plot.lr_requested.connect(self.change_learning_rate)
        self.cockpit = CollapsePanel()
        self.cockpit.collapse_detected.connect(self.on_collapse)
        training = QWidget()
        training_layout = QVBoxLayout(training)
        self.snapshot_map = SnapshotMap()
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.loss_plot)
        top.addWidget(self.snapshot_map)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 1)
        top.setSizes([640, 260])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.cockpit)
        split.setSizes([320, 420])
        self.splitters = {"training": split, "trainingTop": top}
        training_layout.addWidget(split, 1)
        training_layout.addWidget(self.epoch_label)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(training, "Training")
        self.embeddings = EmbeddingsTab()
        self.embeddings.runs_root = self.runs_root
        self.tabs.addTab(self.embeddings, "Embeddings")
        self.evaluation = EvaluationTab()
        self.evaluation.runs_root = self.runs_root
        self.evaluation.report_requested.connect(self.open_report_dialog)
        self.evaluation.transfer_requested.connect(self.open_transfer_wizard)
        self.tabs.addTab(self.evaluation, "Evaluation")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 870])
        self.splitters["main"] = splitter
        for name, sp in self.splitters.items():  # the user's layout survives a restart
            state = self.settings.value(f"splitter/{name}")
            if state is not None:
                sp.restoreState(state)
        self.setCentralWidget(splitter)

        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setMaximumWidth(260)
        self.progress.setTextVisible(True)
        self.eta_label = QLabel("")
        self.statusBar().addPermanentWidget(self.eta_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.apply_theme(self.dark_action.isChecked())

    # ---- experiment loading (in a worker: it imports torch) -----------------------------------------
    def load_experiment(self, source: str | None) -> None:
        self._loading_source = source
        self.start_action.setEnabled(False)
        self.statusBar().showMessage("Loading the training engine…")
        worker = make_worker(load_experiment_job, source)
        worker.returned.connect(self.on_experiment_loaded)
        worker.errored.connect(alive(self, lambda exc: self._show_error("Cannot load the experiment", exc)))
        worker.finished.connect(self._on_loader_finished)
        self._loader = worker
        worker.start()

    @Slot(object)
    def on_experiment_loaded(self, experiment: Any) -> None:
        self.experiment = experiment
        self.embeddings.engine_ready()
        self.evaluation.engine_ready()
        if self._loading_source and Path(self._loading_source).is_file():
            self.remember(str(Path(self._loading_source).resolve()))
        self.experiment_panel.show_experiment(experiment)
        self.statusBar().showMessage(f"Loaded {experiment.name}. Runs are written to {self.runs_root}", 8000)
        self.on_state_changed(self.controller.state)
        if self._autostart:
            self._autostart = False
            self.start_training()

    @Slot()
    def _on_loader_finished(self) -> None:
        self._loader = None
        if self._closing:
            self.close()
        elif self.experiment is not None:
            self.on_state_changed(self.controller.state)

    @Slot()
    def new_experiment(self, data_path: str | None = None) -> None:
        """The wizard; while a run trains, what it makes joins the queue and starts when the run ends."""
        if self.experiment is None or (self.wizard is not None and self.wizard.isVisible()):
            return
        from replearn_gui.wizard import ExperimentWizard

        self.wizard = ExperimentWizard(self.experiment, self)
        self.wizard.accepted.connect(self._wizard_accepted)
        if data_path:
            reader = core.reader_for(data_path)
            if reader is None:
                self.statusBar().showMessage(f"{data_path}: no reader for this kind of file", 8000)
            else:
                params = {"path": data_path}
                if reader == "csv":
                    params.update(guess_label_column(data_path))
                self.wizard.data_page.select(reader, params)
                self.wizard.data_page.load()
        self.wizard.open()

    @Slot()
    def choose_data(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open data", "", "Data (*.csv *.tsv *.txt *.npy *.npz *.gz "
                                              "*-ubyte *.tsv);;All files (*)")
        if path:
            self.new_experiment(path)

    @Slot()
    def _wizard_accepted(self) -> None:
        try:
            exp = self.wizard.experiment()
        except Exception as err:  # noqa: BLE001 - shown to the user
            self._show_error("The experiment is not valid", err)
            return
        if self.controller.busy:
            self.enqueue(exp)
            return
        self.on_experiment_loaded(exp)
        self.start_training()

    # ---- the run queue: experiments that start one after another ------------------------------------------
    def enqueue(self, exp: Any) -> None:
        self.queue.append(exp)
        self._show_queue()
        self.statusBar().showMessage(f"Queued {exp.name}: it starts when the current run ends "
                                     f"(position {len(self.queue)}).", 8000)

    @Slot()
    def queue_current(self) -> None:
        """Run → Queue: the loaded experiment starts now if nothing runs, else after the runs before it."""
        if self.experiment is None:
            return
        if self.controller.busy:
            self.enqueue(self.experiment)
        else:
            self.start_training()

    def _show_queue(self) -> None:
        self.queue_list.clear()
        for exp in self.queue:
            self.queue_list.addItem(f"{exp.name} · {exp.objective.name} on {exp.data.name}, {exp.training.epochs} epochs")
        self.queue_box.setVisible(bool(self.queue))

    def _remove_from_queue(self) -> None:
        row = self.queue_list.currentRow()
        if 0 <= row < len(self.queue):
            del self.queue[row]
            self._show_queue()

    def _start_next_in_queue(self) -> None:
        if self.queue and not self._closing and not self.controller.busy:
            exp = self.queue.pop(0)
            self._show_queue()
            self.on_experiment_loaded(exp)
            self.start_training()

    @Slot()
    def choose_run(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open run", self.runs_root)
        if path:
            self.open_run(path)

    @Slot(str)
    def open_run(self, path: str) -> None:
        """Show a run from disk — finished, or still being written (by this app, the CLI or another machine)."""
        if self.controller.busy:
            self.statusBar().showMessage("Stop the current run before opening another one.", 6000)
            return
        try:
            run = core.RunDirectory.open(path)
            exp = run.read_config()
        except core.ReplearnError as err:
            self._show_error("Cannot open the run", err)
            return
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
        self.experiment = exp
        self.experiment_panel.show_experiment(exp)
        self.loss_plot.clear()
        self.cockpit.clear()
        self.snapshot_map.clear(str(run.path))
        self.result_label.setText("")
        self.opened_run = str(run.path)
        self.embeddings.set_run(self.opened_run, self.runs_root)
        self.evaluation.set_run(self.opened_run, self.runs_root)
        self.remember(str(run.path))
        self.follower = RunFollower(run.path, parent=self)
        self.follower.records.connect(self.on_records)
        self.follower.stale.connect(lambda stale: self.statusBar().showMessage(
            "No new data from this run for a minute: it may have stopped." if stale else "The run is writing again."))
        self.follower.start()
        self.statusBar().showMessage(f"Opened {run.path}")
        self.on_state_changed(self.controller.state)

    @Slot(list)
    def on_records(self, records: list) -> None:
        """Replay recorded events into the same views as live ones."""
        for r in records:
            kind = r.get("event")
            if kind == "run_started":
                initial = r.get("initial_diagnostics")
                self.cockpit.set_start(core.Diagnostics.from_record(initial) if initial else None,
                                       r.get("baseline_probe_accuracy"))
            elif kind == "step":
                self.loss_plot.add_step(r["step"], r["loss"], r.get("terms"), r["lr"])
                self.loss_plot.show_lr(r["lr"])
            elif kind == "epoch":
                if r.get("val_loss") is not None:
                    self.loss_plot.add_validation(r["step"], r["val_loss"])
                d = r.get("diagnostics") or {}
                if d:
                    self.cockpit.add_epoch(r["epoch"], core.Diagnostics.from_record(d))
                text = f"Epoch {r['epoch']}: train loss {r['train_loss']:.4f}"
                if d:
                    text += f" · effective rank {d['effective_rank']:.1f} of {d['dim']} · {d['verdict']['status']}"
                self.epoch_label.setText(text)
            elif kind == "snapshot":
                self.snapshot_map.show_snapshot(r["path"], r.get("epoch"))
            elif kind == "run_finished":
                lines = [f"Run {r['status']} after {r['epochs_completed']} epoch(s), {r['seconds']:.1f} s."]
                lines += [f"{k.replace('_', ' ')}: {v:.4f}" for k, v in (r.get("test") or {}).items() if v is not None]
                lines.append(f"Saved in {self.opened_run}")
                self.result_label.setText("\n".join(lines))

    @Slot(str)
    def open_report_dialog(self, run_dir: str | None) -> None:
        if not run_dir:
            self.statusBar().showMessage("Open or train a run first: a report describes a run.", 6000)
            return
        from replearn_gui.evaluation.report_dialog import ReportDialog

        chosen = [n for n, b in self.evaluation.eval_boxes.items() if b.isChecked()] or None
        self.report_dialog = ReportDialog(run_dir, chosen or list(self.evaluation.eval_boxes), self)
        self.report_dialog.open()

    @Slot(str)
    def open_transfer_wizard(self, run_dir: str) -> None:
        from replearn_gui.evaluation.transfer_wizard import TransferWizard

        dataset = core.RunDirectory.open(run_dir).read_config().data.name
        self.transfer_wizard = TransferWizard(run_dir, dataset, self)
        self.transfer_wizard.finished_result.connect(self.evaluation.figures.show_transfer)
        self.transfer_wizard.open()

    def export_embeddings(self, kind: str) -> None:
        view = self.embeddings.primary
        if view is None or view.space is None:
            self.statusBar().showMessage("Open a run and its Embeddings tab first.", 6000)
            self.tabs.setCurrentWidget(self.embeddings)
            return
        view.ask_export(kind)

    @Slot(str)
    def overlay_run(self, path: str) -> None:
        """Draw another run's curves (loss, effective rank, online probe, mean cosine) beside the current ones."""
        from replearn_gui.workers import read_run_curves

        worker = make_worker(read_run_curves, path)
        worker.returned.connect(self._show_overlay)
        worker.errored.connect(alive(self, lambda exc: self._show_error("Cannot overlay this run", exc)))
        self._overlay_worker = worker
        worker.start()

    def _show_overlay(self, curves: dict) -> None:
        self.loss_plot.set_overlay(curves["name"], curves["steps"], curves["losses"])
        self.cockpit.set_overlay(curves["epochs"], curves["ranks"], curves["probe"], curves["cosines"])
        self.statusBar().showMessage(f"Grey dashed curves: {curves['name']}", 8000)

    @Slot()
    def clear_overlay(self) -> None:
        self.loss_plot.clear_overlay()
        self.cockpit.clear_overlay()

    @Slot(float)
    def change_learning_rate(self, lr: float) -> None:
        try:
            command = core.SetLearningRate(lr)
        except core.ConfigError as err:
            self._show_error("Not a learning rate", err)
            return
        self.controller.send(command)
        self.statusBar().showMessage(f"The peak learning rate becomes {lr:g} at the next step.", 5000)

    @Slot(object)
    def on_collapse(self, verdict: Any) -> None:
        """The first collapsed epoch: with auto-pause on, keep a checkpoint of this moment and pause."""
        if self.cockpit.auto_pause.isChecked() and self.controller.busy:
            self.controller.send(core.SaveCheckpoint())
            self.controller.pause()
            self.statusBar().showMessage(f"Paused: {verdict.status}. A checkpoint of this moment was saved.")

    @Slot()
    def save_checkpoint(self) -> None:
        if self.controller.busy:
            self.controller.send(core.SaveCheckpoint())
            self.statusBar().showMessage("A checkpoint will be saved after the current step.", 4000)

    @Slot()
    def choose_experiment(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open experiment", "", "Experiments (*.toml);;All files (*)")
        if path:
            self.load_experiment(path)

    # ---- run control ------------------------------------------------------------------------------------
    @Slot()
    def start_training(self) -> None:
        if self.experiment is None or self.controller.busy:
            return
        if self.follower is not None:
            self.follower.stop()
            self.follower = None
        self.loss_plot.clear()
        self.cockpit.clear()
        self.result_label.setText("")
        self.progress.setValue(0)
        self.controller.start(self.experiment, self.runs_root)

    @Slot()
    def toggle_pause(self) -> None:
        if self.controller.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    @Slot(str)
    def on_state_changed(self, state: str) -> None:
        idle = state == "idle"
        self.start_action.setEnabled(idle and self.experiment is not None and self._loader is None)
        self.open_action.setEnabled(idle)
        self.new_action.setEnabled(self.experiment is not None)
        self.queue_action.setEnabled(self.experiment is not None and self._loader is None)
        self.open_data_action.setEnabled(idle and self.experiment is not None)
        self.open_run_action.setEnabled(idle)
        self.report_action.setEnabled(self.opened_run is not None)
        self.checkpoint_action.setEnabled(state in ("running", "paused"))
        self.loss_plot.set_training(state in ("running", "paused"))
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.pause_action.setText("&Resume" if state == "paused" else "&Pause")
        self.stop_action.setEnabled(state in ("running", "paused"))
        if state == "paused":
            self.statusBar().showMessage("Paused")
        elif state == "stopping":
            self.statusBar().showMessage("Stopping after the current step…")

    @Slot(object)
    def on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.snapshot_map.clear(event.run_dir)
            self.cockpit.set_start(event.initial_diagnostics, event.baseline_probe_accuracy)
            self.opened_run = event.run_dir
            self.embeddings.set_run(event.run_dir, self.runs_root)  # it follows the run from its first checkpoint
            self.run_list.refresh()
            self._total_steps = event.total_steps
            self._start_step = event.start_step
            self.progress.setRange(0, max(event.total_steps, 1))
            self.statusBar().showMessage(f"Training {event.experiment} on {event.device} → {event.run_dir}")
        elif isinstance(event, StepEnded):
            self.loss_plot.add_step(event.step, event.loss, event.terms, event.lr)
            self.loss_plot.show_lr(event.lr)
            self.progress.setValue(event.step)
            done = event.step - self._start_step
            remaining = self._total_steps - event.step
            if done > 0:
                eta = event.elapsed / done * remaining
                self.eta_label.setText(f"epoch {event.epoch} · {event.samples_per_second:,.0f} samples/s · ETA {eta:,.0f} s")
        elif isinstance(event, SnapshotReady):
            self.snapshot_map.show_snapshot(event.embeddings, event.epoch)
        elif isinstance(event, LearningRateChanged):
            self.loss_plot.show_lr(event.lr)
        elif isinstance(event, EpochEnded):
            if event.val_loss is not None:
                self.loss_plot.add_validation(event.step, event.val_loss)
            self.cockpit.add_epoch(event.epoch, event.diagnostics)
            parts = [f"Epoch {event.epoch}: train loss {event.train_loss:.4f}"]
            if event.val_loss is not None:
                parts.append(f"validation loss {event.val_loss:.4f}")
            parts += [f"validation {k} {v:.3f}" for k, v in event.val_metrics.items()]
            if event.diagnostics is not None:
                d = event.diagnostics
                parts.append(f"effective rank {d.effective_rank:.1f} of {d.dim}")
                if d.probe_accuracy is not None:
                    parts.append(f"online probe {d.probe_accuracy:.3f}")
                parts.append(d.verdict.status)
            self.epoch_label.setText(" · ".join(parts))

    @Slot(object)
    def on_finished(self, result: Any) -> None:
        self.last_result = result
        self.loss_plot.refresh()
        lines = [f"Run {result.status} after {result.epochs_completed} epoch(s), {result.seconds:.1f} s."]
        lines += [f"{k.replace('_', ' ')}: {v:.4f}" for k, v in result.test.items() if v is not None]
        lines.append(f"Saved in {result.run_dir}")
        self.result_label.setText("\n".join(lines))
        self.embeddings.set_run(result.run_dir, self.runs_root)
        self.evaluation.set_run(result.run_dir, self.runs_root)
        self.eta_label.setText("")
        self.statusBar().showMessage(f"Run {result.status}.", 8000)
        self.run_list.refresh()
        QTimer.singleShot(0, self._start_next_in_queue)

    @Slot(object, str)
    def on_failed(self, exc: BaseException, details: str) -> None:
        self._show_error("Training stopped", exc, details)

    def _show_error(self, title: str, exc: BaseException, details: str = "") -> None:
        import traceback

        details = details or "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.statusBar().showMessage(f"{title}: {exc}")
        self.error_box = show_error(self, title, exc, details)

    # ---- recent items, drag and drop, theme -------------------------------------------------------------------
    def remember(self, path: str) -> None:
        recent = [p for p in self.settings.value("recent", [], type=list) if p != path]
        self.settings.setValue("recent", [path] + recent[:9])

    @Slot()
    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        items = [p for p in self.settings.value("recent", [], type=list) if Path(p).exists()]
        if not items:
            self.recent_menu.addAction("(nothing yet)").setEnabled(False)
        for p in items:
            self.recent_menu.addAction(p, lambda p=p: self.open_path(p))

    def open_path(self, path: str) -> None:
        """A run folder opens as a run, a .toml file loads as the experiment, a data file or folder opens the
        wizard on it."""
        p = Path(path)
        if p.is_dir() and (p / "config.toml").is_file():
            self.open_run(path)
        elif p.suffix == ".toml":
            self.load_experiment(path)
        else:
            self.new_experiment(path)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt)
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt)
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls and not self.controller.busy:
            self.open_path(urls[0])
            event.acceptProposedAction()

    @Slot()
    def toggle_theme(self) -> None:
        self.settings.setValue("view/dark", self.dark_action.isChecked())
        self.apply_theme(self.dark_action.isChecked())

    def apply_theme(self, dark: bool) -> None:
        from PySide6.QtGui import QColor, QPalette
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance()
        palette = QPalette()
        if dark:
            for role, color in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
                                (QPalette.ColorRole.Base, "#1f1f1f"), (QPalette.ColorRole.AlternateBase, "#2b2b2b"),
                                (QPalette.ColorRole.Text, "#e6e6e6"), (QPalette.ColorRole.Button, "#3a3a3a"),
                                (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3d7bd9"),
                                (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#3a3a3a"),
                                (QPalette.ColorRole.ToolTipText, "#e6e6e6")):
                palette.setColor(role, QColor(color))
        else:
            palette = app.style().standardPalette()
        app.setPalette(palette)
        self.loss_plot.set_dark(dark)
        self.cockpit.set_dark(dark)
        self.embeddings.set_dark(dark)
        self.evaluation.set_dark(dark)
        self.snapshot_map.set_dark(dark)

    @Slot()
    def show_shortcuts(self) -> None:
        rows = [(a.text().replace("&", ""), a.shortcut().toString()) for a in
                (self.new_action, self.open_action, self.open_data_action, self.open_run_action, self.start_action,
                 self.queue_action, self.pause_action, self.stop_action, self.checkpoint_action, self.report_action,
                 self.dark_action, self.shortcuts_action, self.quit_action)]
        box = QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("\n".join(f"{key:<16} {name}" for name, key in rows))
        box.open()

    @Slot()
    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle("About RepLearn Studio")
        box.setText("RepLearn Studio — train representations, watch their health, explore the embedding space.")
        box.open()

    # ---- closing: never leave a worker behind -------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt naming)
        if self.controller.busy and not self._closing:
            # Ask first (non-blocking: the training keeps running while the question is open)
            event.ignore()
            if self.close_question is None:
                box = QMessageBox(QMessageBox.Icon.Question, "Quit RepLearn Studio",
                                  "A run is training. Stop it (a checkpoint is saved, so it can be resumed) and quit?",
                                  QMessageBox.StandardButton.Cancel, self)
                box.setObjectName("closeQuestion")
                stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.AcceptRole)
                stop.setObjectName("stopAndQuit")
                box.buttonClicked.connect(lambda button: self._answer_close(button is stop))
                self.close_question = box
                box.open()
            return
        dialogs = [d for d in (self.report_dialog, self.transfer_wizard) if d is not None]
        background = (self.embeddings.busy or self.snapshot_map.busy or self.evaluation.busy
                      or any(d.busy for d in dialogs))
        if self.controller.busy or self._loader is not None or background:
            # Ask the workers to finish and close again when they have; the GUI thread never blocks on them.
            event.ignore()
            self._begin_closing()
            if background and not self.controller.busy:
                QTimer.singleShot(100, self.close)  # look again once the projections have stopped
            return
        self.refresh_timer.stop()
        self.runs_timer.stop()
        if self.follower is not None:
            self.follower.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        for name, sp in self.splitters.items():
            self.settings.setValue(f"splitter/{name}", sp.saveState())
        event.accept()

    def _begin_closing(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.statusBar().showMessage("Stopping background work before closing…")
        self.embeddings.cancel()
        self.evaluation.cancel()
        for dialog in (self.report_dialog, self.transfer_wizard):
            if dialog is not None and dialog.busy:
                dialog.reject()  # cancels its worker
        if self.controller.busy:
            self.controller.stop()
            self.controller.state_changed.connect(self._close_when_idle)

    def _answer_close(self, stop: bool) -> None:
        self.close_question = None
        if stop:
            self._begin_closing()
            self.close()

    @Slot(str)
    def _close_when_idle(self, state: str) -> None:
        if state == "idle" and self._closing:
            self.close()
