"""The main window: the experiment and the runs on the left, the tabs (training, embeddings, evaluation) on the
right, progress below. It composes the parts (:mod:`training_tab`, :mod:`run_queue`, :mod:`experiment_panel`,
:mod:`window_actions`) and owns what joins them: loading an experiment, starting / resuming / following runs,
and closing without leaving a worker behind.

It never waits on core: loading the experiment (which imports torch), training and reading runs all happen in
workers, and the plots repaint on a timer rather than on every event.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QRect, Qt, QTimer, Slot
from PySide6.QtGui import QCloseEvent, QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.evaluation.tab import EvaluationTab
from replearn_gui.experiment_panel import ExperimentPanel
from replearn_gui.explorer.tab import EmbeddingsTab
from replearn_gui.jobs import BackgroundJob
from replearn_gui.lessons import LearnController
from replearn_gui.run_controller import RunController
from replearn_gui.run_follower import RunFollower
from replearn_gui.run_queue import RunQueue
from replearn_gui.settings import app_settings
from replearn_gui.training_tab import TrainingTab
from replearn_gui.warm_up import StartupWarmUp
from replearn_gui.widgets.error_dialog import is_user_error, show_error
from replearn_gui.widgets.run_list import RunList
from replearn_gui.window_actions import WindowActions, apply_palette
from replearn_gui.workers import load_experiment_job, read_history, read_run_curves

REFRESH_MS = 50  # repaint at most 20 times a second
LOADING_TEXT = "Loading the training engine…"


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


class MainWindow(QMainWindow):
    def __init__(self, experiment: str | None = None, runs_root: str | None = None, autostart: bool = False,
                 open_run: str | None = None, warm_up_umap: bool = False):
        super().__init__()
        self.setWindowTitle("RepLearn Studio")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.setMinimumSize(1024, 700)
        screen = QGuiApplication.primaryScreen()
        room = screen.availableGeometry().size() if screen is not None else None
        # 1320 × 820 where it fits; on a small screen the whole window stays on it (nothing clipped at 1024 × 700)
        self.resize(max(1024, min(1320, room.width() if room else 1320)),
                    max(700, min(820, room.height() if room else 820)))
        self.settings = app_settings()  # in core's config folder (REPLEARN_CONFIG_DIR), next to settings.json
        # --runs, else the runs folder the CLI shares (core.runs_folder: Preferences), known once core is loaded
        self.runs_root: str | None = runs_root
        self.experiment: Any = None
        self.last_result: Any = None
        self._autostart = autostart
        self._open_after_load = open_run  # a run directory given on the command line, opened once core is loaded
        self._closing = False
        self._loading_source: str | None = None
        self._load_superseded = False  # a run or experiment opened since the load began: its result is stale
        self.error_box: QMessageBox | None = None
        self.wizard = None
        self.close_question: QMessageBox | None = None
        self.preferences = None
        self.follower: RunFollower | None = None
        self.report_dialog = None
        self.transfer_wizard = None
        self.opened_run: str | None = None

        self.controller = RunController(self, num_threads=int(self.settings.value("torch_threads", 1)))
        self.controller.event.connect(self.on_event)
        self.controller.finished.connect(self.on_finished)
        self.controller.failed.connect(self.on_failed)
        self.controller.state_changed.connect(self.on_state_changed)
        self.controller.paused_after_checkpoint.connect(self._announce_pause_checkpoint)
        self.loader_job = BackgroundJob(self, policy="replace")
        self.loader_job.done.connect(self._on_loader_done)
        self.loader_job.failed.connect(self._on_loader_failed)
        self.loader_job.finished.connect(self._on_loader_finished)
        self.loading_clock = QTimer(self)  # a slow first load (torch, scikit-learn) counts its seconds, not frozen
        self.loading_clock.setInterval(1000)
        self.loading_clock.timeout.connect(self._show_loading_time)
        self._loading_since = 0.0
        self.history_job = BackgroundJob(self, policy="replace")
        self.history_job.done.connect(self._continue_resume)
        self.history_job.failed.connect(lambda exc, details: self._show_error("Cannot resume the run", exc))
        self.overlay_job = BackgroundJob(self, policy="replace")
        self.overlay_job.done.connect(self._show_overlay)
        self.overlay_job.failed.connect(lambda exc, details: self._show_error("Cannot overlay this run", exc))
        # once the engine is loaded and the window ready: the engine's lazy imports, then (the app) UMAP's compile
        self.warm_up = StartupWarmUp(self, umap=warm_up_umap)
        self.warm_up.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        # a failing warm-up (e.g. one of torch's operators missing) would fail the first run too: say it now
        self.warm_up.engine_job.failed.connect(
            lambda exc, details: self._show_error("Cannot prepare the training engine", exc, details))
        self._load_failed = False

        self.actions = WindowActions(self)
        for name in WindowActions.NAMES:  # the window's commands, reachable as window.start_action etc.
            setattr(self, name, getattr(self.actions, name))
        self.recent_menu, self.run_menu = self.actions.recent_menu, self.actions.run_menu
        self.dark_action.setChecked(self.settings.value("view/dark", False, type=bool))
        self._build_ui()
        self.learn = LearnController(self, show_start=experiment is None)  # Learn menu, start page, lesson dock
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
            self._fit_on_screen()
            self._fit_after_show = True  # again once shown: the title bar and borders are known then
        self.on_state_changed("idle")
        self.load_experiment(experiment)

    def _fit_on_screen(self) -> None:
        """A geometry saved on a bigger screen is clamped into this one's available area (the status bar stays on
        screen); the window's minimum size still applies."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w, extra_h = frame.width() - self.width(), frame.height() - self.height()  # title bar and borders
        width = max(self.minimumWidth(), min(self.width(), room.width() - extra_w))
        height = max(self.minimumHeight(), min(self.height(), room.height() - extra_h))
        fitted = QRect(0, 0, width + extra_w, height + extra_h)
        left = max(room.left(), min(frame.left(), room.right() + 1 - fitted.width()))
        top = max(room.top(), min(frame.top(), room.bottom() + 1 - fitted.height()))
        if (width, height) != (self.width(), self.height()):
            self.resize(width, height)
        if (left, top) != (frame.left(), frame.top()):
            self.move(left, top)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if getattr(self, "_fit_after_show", False):
            self._fit_after_show = False
            QTimer.singleShot(0, self._fit_on_screen)

    # ---- construction -----------------------------------------------------------------------------------
    def _build_ui(self) -> None:
        self.experiment_panel = ExperimentPanel()
        self.experiment_panel.retry.connect(self.retry_load)
        self.training = TrainingTab()
        t = self.training
        # the training view's parts, under the names the rest of the window (and its tests) use
        self.loss_plot, self.cockpit, self.snapshot_map = t.loss_plot, t.cockpit, t.snapshot_map
        self.epoch_label, self.result_label, self.progress, self.eta_label = (t.epoch_label, t.result_label,
                                                                              t.progress, t.eta_label)
        self.loss_plot.lr_requested.connect(self.change_learning_rate)
        self.cockpit.collapse_detected.connect(self.on_collapse)
        t.run_started.connect(self._on_run_started)
        t.checkpoint_saved.connect(self._on_checkpoint_saved)
        self.run_queue = RunQueue()
        self.queue_box, self.queue_list, self.queue = self.run_queue, self.run_queue.list, self.run_queue.items
        self.run_list = RunList()
        self.run_list.open_run.connect(self.open_run)
        self.run_list.overlay_run.connect(self.overlay_run)
        self.run_list.clear_overlay.connect(self.clear_overlay)
        self.run_list.resume_run.connect(self.resume_run)
        self.run_list.resumable = self._resumable  # its menu offers Resume exactly when Run → Resume would
        # Run → Resume follows the list's selection and the runs' statuses as they are listed again
        self.run_list.list.currentItemChanged.connect(lambda *_: self._update_resume_action())
        self.run_list.runs_listed.connect(lambda _: self._update_resume_action())
        self.run_list.run_removed.connect(self._on_run_removed)
        self.run_list.run_renamed.connect(self._on_run_renamed)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        summary = QScrollArea()  # a long description scrolls instead of being cut off on a small screen
        summary.setWidget(self.experiment_panel)
        summary.setWidgetResizable(True)
        summary.setFrameShape(QScrollArea.Shape.NoFrame)
        summary.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left_layout.addWidget(summary, 1)
        left_layout.addWidget(self.result_label)
        left_layout.addWidget(self.run_queue)
        left_layout.addWidget(self.run_list, 1)
        left.setMinimumWidth(220)

        self.tabs = QTabWidget()
        self.tabs.setObjectName("mainTabs")
        self.tabs.addTab(self.training, "Training")
        self.embeddings = EmbeddingsTab()
        self.embeddings.runs_root = self.runs_root
        self.embeddings.status.connect(lambda text: self.statusBar().showMessage(text))
        self.tabs.addTab(self.embeddings, "Embeddings")
        self.evaluation = EvaluationTab()
        self.run_list.runs_listed.connect(self.evaluation.fill_runs)  # the same runs as the main run list
        self.evaluation.runs_root = self.runs_root
        self.evaluation.report_requested.connect(self.open_report_dialog)
        self.evaluation.transfer_requested.connect(self.open_transfer_wizard)
        self.tabs.addTab(self.evaluation, "Evaluation")

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(self.tabs)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([300, 900])
        self.splitters = {"main": splitter, **self.training.splitters}
        for name, sp in self.splitters.items():  # the user's layout survives a restart
            state = self.settings.value(f"splitter/{name}")
            if state is not None:
                sp.restoreState(state)
        self.setCentralWidget(splitter)
        self.plugins_label = QLabel("")
        self.plugins_label.setObjectName("pluginsLabel")
        self.plugins_label.setVisible(False)
        self.statusBar().addPermanentWidget(self.plugins_label)
        self.statusBar().addPermanentWidget(self.eta_label)
        self.statusBar().addPermanentWidget(self.progress)
        self.apply_theme(self.dark_action.isChecked())

    @property
    def _loader(self) -> Any:
        """The experiment loader while it runs (None once the engine is loaded)."""
        return self.loader_job if self.loader_job.busy else None

    # ---- experiment loading (in a worker: it imports torch) -----------------------------------------
    def load_experiment(self, source: str | None) -> None:
        self._loading_source = source
        self._load_superseded = False
        self._load_failed = False
        self.start_action.setEnabled(False)
        self.experiment_panel.show_loading()
        self.statusBar().showMessage(LOADING_TEXT)
        if self.progress.maximum() != 0:  # busy (moving) bar while loading, unless a run's progress is shown
            self._progress_range = (self.progress.minimum(), self.progress.maximum(), self.progress.value())
            self.progress.setRange(0, 0)
        self._loading_since = time.monotonic()
        self.loading_clock.start()
        self.loader_job.start(load_experiment_job, source)

    @Slot()
    def _show_loading_time(self) -> None:
        if self.statusBar().currentMessage().startswith(LOADING_TEXT[:-1]):
            seconds = round(time.monotonic() - self._loading_since)
            self.statusBar().showMessage(f"{LOADING_TEXT} {seconds} s (the first start after installing takes "
                                         "longest)")

    def _end_loading_indicator(self) -> None:
        self.loading_clock.stop()
        if self.progress.maximum() == 0:
            low, high, value = getattr(self, "_progress_range", (0, 100, 0))
            self.progress.setRange(low, high)
            self.progress.setValue(value)

    @Slot(object, str)
    def _on_loader_failed(self, exc: BaseException, details: str) -> None:
        """The load failed: say so where the loading message was, with what to do, and offer a retry. A bad
        experiment file is the user's to fix (the engine itself loaded); anything else means the engine did not."""
        self._end_loading_indicator()
        self._load_failed = True
        engine_loaded = is_user_error(exc)
        source = self._loading_source
        if engine_loaded:
            title = "Cannot load the experiment"
            advice = ("Fix the file and press Retry, or open another experiment (File › Open experiment…)."
                      if source else "Press Retry, or open an experiment file (File › Open experiment…).")
        else:
            title = "Cannot load the training engine"
            advice = ("Press Retry. If it fails again, check the installation (torch, scikit-learn: "
                      "pip install -c constraints.txt -e '.[gui]'); the details are in the error dialog.")
        self.experiment_panel.show_failed(f"{title}: {type(exc).__name__}: {exc}" if not engine_loaded
                                          else f"{title}: {exc}", advice)
        self._show_error(title, exc, details)
        retry = self.error_box.addButton("Retry", QMessageBox.ButtonRole.AcceptRole)
        retry.setObjectName("retryLoad")
        retry.clicked.connect(self.retry_load)
        self.learn.engine_failed()
        self.on_state_changed(self.controller.state)

    @Slot()
    def retry_load(self) -> None:
        """Load again what failed to load (the experiment given, or the default preset)."""
        self.load_experiment(self._loading_source)

    def _resolve_runs_root(self) -> None:
        if self.runs_root is None:
            self.set_runs_root(str(core.runs_folder()))

    def set_runs_root(self, path: str) -> None:
        self.runs_root = path
        self.embeddings.runs_root = self.evaluation.runs_root = path
        self.run_list.refresh(path)

    @Slot(object)
    def _on_loader_done(self, experiment: Any) -> None:
        """The background load's result, unless the user opened a run or experiment meanwhile: theirs wins."""
        self._end_loading_indicator()
        if not self._load_superseded:
            self.on_experiment_loaded(experiment)
            return
        self._resolve_runs_root()
        self.embeddings.engine_ready()
        self.evaluation.engine_ready()
        self.learn.engine_ready()
        self.on_state_changed(self.controller.state)

    @Slot(object)
    def on_experiment_loaded(self, experiment: Any) -> None:
        self._end_loading_indicator()
        self._resolve_runs_root()
        self.experiment = experiment
        self.embeddings.engine_ready()
        self.evaluation.engine_ready()
        self.learn.engine_ready()
        if self._loading_source and Path(self._loading_source).is_file():
            self.remember(str(Path(self._loading_source).resolve()))
        self.experiment_panel.show_experiment(experiment)
        self.training.set_objective(experiment.objective.name)
        self.statusBar().showMessage(f"Loaded {experiment.name}. Runs are written to {self.runs_root}", 8000)
        self.show_plugins()
        self.on_state_changed(self.controller.state)
        if self._autostart:
            self._autostart = False
            self.start_training()

    @Slot()
    def _on_loader_finished(self) -> None:
        self._end_loading_indicator()
        self._resolve_runs_root()
        self.run_list.engine_ready()  # core is imported now: the run list may describe runs in its worker
        if not self._load_failed:  # after a failed load, Retry loads (and warms) again
            self.warm_up.engine_loaded()
        if self._closing:
            self.close()
            return
        if self._open_after_load:
            path, self._open_after_load = self._open_after_load, None
            self.open_run(path)
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
        path, _ = QFileDialog.getOpenFileName(self, "Open data", "", f"Data ({' '.join(core.file_patterns())});;"
                                              "All files (*)")
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
        position = self.run_queue.add(exp)
        self.statusBar().showMessage(f"Queued {exp.name}: it starts when the current run ends "
                                     f"(position {position}).", 8000)

    @Slot()
    def queue_current(self) -> None:
        """Run → Queue: the loaded experiment starts now if nothing runs, else after the runs before it."""
        if self.experiment is None:
            return
        if self.controller.busy:
            self.enqueue(self.experiment)
        else:
            self.start_training()

    def _start_next_in_queue(self) -> None:
        if len(self.run_queue) and not self._closing and not self.controller.busy:
            self.on_experiment_loaded(self.run_queue.pop())
            self.start_training()

    # ---- opening runs: replayed and followed through the same TrainingTab.show ----------------------------
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
        self._stop_following()
        self._load_superseded = True  # an experiment still loading in the background must not replace this run's
        self.experiment = exp
        self.experiment_panel.show_experiment(exp)
        self.training.set_objective(exp.objective.name)
        self.training.clear(str(run.path))
        self.opened_run = str(run.path)
        self.learn.leave_start_page()
        self.embeddings.set_run(self.opened_run, self.runs_root)
        self.evaluation.set_run(self.opened_run, self.runs_root)
        self.remember(str(run.path))
        self.follower = RunFollower(run.path, parent=self)
        self.follower.events.connect(self.training.show_all)
        self.follower.failed.connect(lambda exc: self._show_error("Cannot read the run", exc))
        self.follower.stale.connect(lambda stale: self.statusBar().showMessage(
            "No new data from this run for a minute: it may have stopped." if stale else "The run is writing again."))
        self.follower.start()
        self.statusBar().showMessage(f"Opened {run.path}")
        self.show_plugins()
        self.on_state_changed(self.controller.state)

    def _stop_following(self) -> None:
        if self.follower is not None:
            self.follower.stop()
            self.follower.deleteLater()
            self.follower = None

    def _resumable(self, run_dir: str | None) -> bool:
        if not run_dir:
            return False
        run = core.RunDirectory(run_dir)
        status = run.read_status()
        state = status.get("status")
        if state == "running" and not self.controller.busy:
            state = run.state()  # "interrupted" when the process that wrote it has gone
        return state in ("stopped", "failed", "interrupted") and bool(status.get("last_checkpoint"))

    def resume_target(self) -> str | None:
        """What Run → Resume continues: the stopped run selected in the run list, else the open one if stopped
        (a run needs no opening to be resumed)."""
        for candidate in (self.run_list.selected(), self.opened_run):
            if self._resumable(candidate):
                return candidate
        return None

    def _update_resume_action(self) -> None:
        self.resume_action.setEnabled(self.controller.state == "idle" and self.resume_target() is not None)

    @Slot(str)
    def resume_run(self, path: str | None) -> None:
        """Run → Resume (and the run list's menu): continue a stopped run from its newest valid checkpoint,
        through the same engine path as ``replearn resume``."""
        if not path or self.controller.busy:
            if self.controller.busy:
                self.statusBar().showMessage("A run is training: stop it before resuming another one.", 6000)
            return
        if not self._resumable(path):
            self.statusBar().showMessage(f"{Path(path).name} has no checkpoint to resume from, or it is not "
                                         "stopped.", 8000)
            return
        self._stop_following()
        try:
            exp = core.RunDirectory.open(path).read_config()
        except core.ReplearnError as err:
            self._show_error("Cannot resume the run", err)
            return
        self.experiment = exp
        self.experiment_panel.show_experiment(exp)
        self.training.set_objective(exp.objective.name)
        self.opened_run = path
        self.training.clear(path)
        self.statusBar().showMessage(f"Resuming {Path(path).name} from its newest checkpoint…")
        # the history so far (read in a worker), then the engine continues where the checkpoint left off
        self.history_job.start(read_history, path)

    @Slot(object)
    def _continue_resume(self, history: tuple) -> None:
        path, events = history
        if self.controller.busy or path != self.opened_run:
            return
        self.training.show_all(events)
        self.training.result_label.setText("")
        self.controller.resume_run(path)

    @Slot(str)
    def _on_run_removed(self, path: str) -> None:
        if self.opened_run == path:
            self._stop_following()
            self.opened_run = None
            self.training.clear(None)
            self.embeddings.set_run(None, self.runs_root)
            self.evaluation.set_run(None, self.runs_root)
            self.on_state_changed(self.controller.state)

    @Slot(str, str)
    def _on_run_renamed(self, old: str, new: str) -> None:
        """The open run was renamed: reopen it from its new folder (its files moved with it)."""
        if self.opened_run == old:
            self._on_run_removed(old)
            self.open_run(new)

    @Slot(str)
    def open_report_dialog(self, run_dir: str | None) -> None:
        if not run_dir:
            self.statusBar().showMessage("Open or train a run first: a report describes a run.", 6000)
            return
        from replearn_gui.evaluation.report_dialog import ReportDialog

        chosen = [n for n, b in self.evaluation.eval_boxes.items() if b.isChecked()] or None
        baselines = [n for n, b in self.evaluation.baseline_boxes.items() if b.isChecked()]
        # the tab's choices, so that the report can reuse what the tab evaluated and stored
        self.report_dialog = ReportDialog(run_dir, chosen or list(self.evaluation.eval_boxes), self,
                                          baselines=baselines)
        self.report_dialog.open()

    def open_export_dialog(self, run_dir: str | None) -> None:
        if not run_dir:
            self.statusBar().showMessage("Open or train a run first: its encoder is what is exported.", 6000)
            return
        from replearn_gui.export_dialog import ExportEncoderDialog

        self.export_dialog = ExportEncoderDialog(run_dir, self)
        self.export_dialog.open()

    def show_plugins(self) -> None:
        """Say which plugins (the user's own code) are loaded: a status-bar label, empty when none."""
        names = [p.name for p in core.loaded_plugins()]
        self.plugins_label.setText(f"Plugins: {', '.join(names)}" if names else "")
        self.plugins_label.setToolTip("\n".join(f"{p.name}: {p.target} ({p.source})" for p in core.loaded_plugins()))
        self.plugins_label.setVisible(bool(names))

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
        self.overlay_job.start(read_run_curves, path)

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
        """The first collapsed epoch: with auto-pause on, save a checkpoint of this moment, then pause. The
        message says "saved" only once the engine reports the file on disk."""
        if self.cockpit.auto_pause.isChecked() and self.controller.state == "running":
            self._collapse_status = verdict.status
            self.controller.save_checkpoint_then_pause()
            self.statusBar().showMessage(f"{verdict.status.capitalize()}: saving a checkpoint of this moment, then "
                                         "pausing…")

    @Slot(object)
    def _announce_pause_checkpoint(self, event: Any) -> None:
        status = getattr(self, "_collapse_status", "collapse")
        self.statusBar().showMessage(f"Paused: {status}. A checkpoint of this moment is saved "
                                     f"({Path(event.path).name}); Resume continues, Stop ends the run.")

    @Slot(object)
    def _on_checkpoint_saved(self, event: Any) -> None:
        if event.reason == "requested" and self.controller.busy and not self.controller.pausing_after_checkpoint:
            self.statusBar().showMessage(f"Checkpoint saved: {Path(event.path).name}", 5000)

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
        self._stop_following()
        self.training.clear(None)
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
        loading = self.loader_job.busy
        self.start_action.setEnabled(idle and self.experiment is not None and not loading)
        self.open_action.setEnabled(idle)
        self.new_action.setEnabled(self.experiment is not None)
        self.queue_action.setEnabled(self.experiment is not None and not loading)
        self.open_data_action.setEnabled(idle and self.experiment is not None)
        self.open_run_action.setEnabled(idle)
        self.report_action.setEnabled(self.opened_run is not None)
        self.resume_action.setEnabled(idle and self.resume_target() is not None)
        self.checkpoint_action.setEnabled(state in ("running", "paused"))
        self.loss_plot.set_training(state in ("running", "paused"))
        self.pause_action.setEnabled(state in ("running", "paused"))
        self.pause_action.setText("&Resume" if state == "paused" else "&Pause")
        self.stop_action.setEnabled(state in ("running", "paused"))
        if state == "paused":
            self.training.paused()
            if not self.statusBar().currentMessage().startswith("Paused"):
                self.statusBar().showMessage("Paused")
        else:
            self.training.resumed()
        if state == "stopping":
            self.statusBar().showMessage("Stopping after the current step…")
        if idle and self.close_question is not None and not self._closing:
            # the run ended on its own while "quit?" was open: the question no longer applies
            self.close_question.done(0)
            self.close_question = None

    @Slot(object)
    def on_event(self, event: Any) -> None:
        """A live event of the run trained here: the same path as a replayed or followed one."""
        self.training.show(event)

    @Slot(object)
    def _on_run_started(self, event: Any) -> None:
        if self.controller.busy:
            self.opened_run = event.run_dir
            self.run_list.busy_run = event.run_dir
            self.embeddings.set_run(event.run_dir, self.runs_root)  # it follows the run from its first checkpoint
            self.run_list.refresh()
            self.statusBar().showMessage(f"Training {event.experiment} on {event.device} → {event.run_dir}")

    @Slot(object)
    def on_finished(self, result: Any) -> None:
        self.last_result = result
        self.run_list.busy_run = None
        self.embeddings.set_run(result.run_dir, self.runs_root)
        self.evaluation.set_run(result.run_dir, self.runs_root)
        self.training.ended()
        headline = "Run diverged" if getattr(result, "verdict", "") == "diverged" else f"Run {result.status}"
        self.statusBar().showMessage(f"{headline}.", 8000)
        self.run_list.refresh()
        self.on_state_changed(self.controller.state)
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
        if core.RunDirectory.is_run(p):
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
        apply_palette(dark)
        self.training.set_dark(dark)
        self.embeddings.set_dark(dark)
        self.evaluation.set_dark(dark)

    @Slot()
    def show_preferences(self) -> None:
        from replearn_gui.preferences import PreferencesDialog

        self.preferences = PreferencesDialog(self.runs_root, self.controller.num_threads,
                                             self.dark_action.isChecked(), self)
        self.preferences.accepted.connect(self._apply_preferences)
        self.preferences.open()

    @Slot()
    def _apply_preferences(self) -> None:
        dialog = self.preferences
        runs_root, threads, dark = dialog.values()
        if runs_root != self.runs_root:
            try:
                core.set_runs_folder(runs_root)  # shared with the CLI
            except OSError as err:
                self._show_error("Cannot save the runs folder", err)
                return
            self.set_runs_root(runs_root)
        self.controller.num_threads = threads  # from the next run on
        self.settings.setValue("torch_threads", threads)
        if dark != self.dark_action.isChecked():
            self.dark_action.setChecked(dark)
            self.toggle_theme()
        self.statusBar().showMessage(f"Preferences saved. Runs are written to {self.runs_root}", 6000)

    def show_shortcuts(self) -> None:
        self.actions.show_shortcuts()

    def show_about(self) -> None:
        self.actions.show_about()

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
        background = (self.warm_up.busy or self.embeddings.busy or self.training.busy or self.evaluation.busy or self.overlay_job.busy or self.history_job.busy
                      or self.run_list.busy                      or (self.follower is not None and self.follower.busy) or any(d.busy for d in dialogs))
        if self.controller.busy or self._loader is not None or background:
            # Ask the workers to finish and close again when they have; the GUI thread never blocks on them.
            event.ignore()
            self._begin_closing()
            if background and not self.controller.busy:
                QTimer.singleShot(100, self.close)  # look again once the projections have stopped
            return
        self.refresh_timer.stop()
        self.runs_timer.stop()
        self.settings.setValue("window/geometry", self.saveGeometry())
        for name, sp in self.splitters.items():
            self.settings.setValue(f"splitter/{name}", sp.saveState())
        event.accept()

    def _begin_closing(self) -> None:
        if self._closing:
            return
        self._closing = True
        self.statusBar().showMessage("Stopping background work before closing…")
        if self.follower is not None:
            self.follower.stop()
        self.overlay_job.cancel()
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
