"""The training tab: loss curves, the snapshot map, the collapse cockpit, the epoch line and the run's outcome.

One :meth:`TrainingTab.show` takes core's events for a run trained here (live), a run opened from disk
(replayed from ``metrics.jsonl`` by ``RunDirectory.read_events``) and a run another process is still writing
(followed): the three can no longer drift apart. Repaints of the loss plot happen on the window's timer.
"""
from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QProgressBar, QSplitter, QVBoxLayout, QWidget

import core
from replearn_gui.widgets.collapse_panel import CollapsePanel
from replearn_gui.widgets.loss_plot import LossPlot
from replearn_gui.widgets.snapshot_map import SnapshotMap

IDLE_TEXT = "No run yet. Press Start to train the experiment."


def duration_text(seconds: float) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min': always with its unit."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def epoch_line(event: Any) -> str:
    """The one-line summary of an EpochEnded event."""
    parts = [f"Epoch {event.epoch}: train loss {event.train_loss:.4f}"]
    if event.val_loss is not None:
        parts.append(f"validation loss {event.val_loss:.4f}")
    parts += [f"validation {k} {v:.3f}" for k, v in event.val_metrics.items()]
    d = event.diagnostics
    if d is not None:
        parts.append(f"effective rank {d.effective_rank:.1f} of {d.dim}")
        if d.probe_accuracy is not None:
            parts.append(f"online probe {d.probe_accuracy:.3f}")
        parts.append(d.verdict.status)
    return " · ".join(parts)


def outcome_text(event: Any, run_dir: str | None) -> str:
    """The run's outcome (a RunFinished event): 'Run diverged' with its advice, or how it ended and its test."""
    headline = "Run diverged" if event.verdict == "diverged" else f"Run {event.status}"
    lines = [f"{headline} after {event.epochs_completed} epoch(s), {event.seconds:.1f} s."]
    if event.advice:
        lines.append(event.advice)
    lines += [f"{k.replace('_', ' ')}: {v:.4f}" for k, v in event.test.items() if v is not None]
    if run_dir:
        lines.append(f"Saved in {run_dir}")
    return "\n".join(lines)


class TrainingTab(QWidget):
    run_started = Signal(object)  # the RunStarted event
    checkpoint_saved = Signal(object)  # a CheckpointSaved event: the file is on disk
    run_finished = Signal(object)  # the RunFinished event

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.loss_plot = LossPlot()
        self.snapshot_map = SnapshotMap()
        self.cockpit = CollapsePanel()
        self.epoch_label = QLabel(IDLE_TEXT)
        self.epoch_label.setObjectName("epochLabel")
        self.epoch_label.setTextFormat(Qt.TextFormat.PlainText)
        self.epoch_label.setWordWrap(True)
        # placed by the window (beside the experiment, and in the status bar), owned and fed here
        self.result_label = QLabel("")
        self.result_label.setObjectName("resultLabel")
        self.result_label.setTextFormat(Qt.TextFormat.PlainText)
        self.result_label.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("runProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.eta_label = QLabel("")
        self.eta_label.setObjectName("etaLabel")
        self.eta_label.setTextFormat(Qt.TextFormat.PlainText)
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
        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.epoch_label)
        self.run_dir: str | None = None
        self.objective: str | None = None
        self._total_steps = 0
        self._start_step = 0
        self._paused_since: float | None = None
        self._paused_total = 0.0

    # ---- the run being shown ------------------------------------------------------------------------------
    def clear(self, run_dir: str | None = None) -> None:
        self.run_dir = run_dir
        self.loss_plot.clear()
        self.cockpit.clear()
        self.snapshot_map.clear(run_dir)
        self.result_label.setText("")
        self.eta_label.setText("")
        self.progress.setValue(0)
        self._paused_since, self._paused_total = None, 0.0

    def set_objective(self, name: str | None) -> None:
        """The objective of the run shown: collapse advice names its own anti-collapse mechanism."""
        self.objective = name
        self.cockpit.objective = name

    def paused(self) -> None:
        """The live run paused: its ETA stops counting until :meth:`resumed`."""
        if self._paused_since is None:
            self._paused_since = time.monotonic()

    def resumed(self) -> None:
        if self._paused_since is not None:
            self._paused_total += time.monotonic() - self._paused_since
            self._paused_since = None

    def ended(self) -> None:
        self.eta_label.setText("")
        self._paused_since = None

    # ---- the one path for events --------------------------------------------------------------------------
    def show(self, event: Any) -> None:
        """Show one core event, live, replayed or followed alike."""
        if isinstance(event, core.StepEnded):
            self._show_step(event)
        elif isinstance(event, core.EpochEnded):
            if event.val_loss is not None:
                self.loss_plot.add_validation(event.step, event.val_loss)
            self.cockpit.add_epoch(event.epoch, event.diagnostics)
            self.epoch_label.setText(epoch_line(event))
        elif isinstance(event, core.SnapshotReady):
            self.snapshot_map.show_snapshot(event.embeddings if event.embeddings is not None else event.path,
                                            event.epoch)
        elif isinstance(event, core.LearningRateChanged):
            self.loss_plot.show_lr(event.lr)
        elif isinstance(event, core.CheckpointSaved):
            self.checkpoint_saved.emit(event)
        elif isinstance(event, core.RunStarted):
            if not event.resumed or self.run_dir != event.run_dir:
                self.snapshot_map.clear(event.run_dir)
            self.run_dir = event.run_dir
            self.cockpit.set_start(event.initial_diagnostics, event.baseline_probe_accuracy)
            self._total_steps, self._start_step = event.total_steps, event.start_step
            self._paused_since, self._paused_total = None, 0.0
            self.progress.setRange(0, max(event.total_steps, 1))
            self.run_started.emit(event)
        elif isinstance(event, core.RunFinished):
            self.loss_plot.refresh()
            self.result_label.setText(outcome_text(event, self.run_dir))
            if event.verdict == "diverged":
                self.cockpit.show_diverged(event.advice)
            self.ended()
            self.run_finished.emit(event)

    def show_all(self, events: list) -> None:
        for event in events:
            self.show(event)

    def _show_step(self, event: Any) -> None:
        self.loss_plot.add_step(event.step, event.loss, event.terms, event.lr)
        self.loss_plot.show_lr(event.lr)
        self.progress.setValue(event.step)
        done = event.step - self._start_step
        remaining = self._total_steps - event.step
        paused = self._paused_total + (time.monotonic() - self._paused_since if self._paused_since else 0.0)
        working = max(event.elapsed - paused, 1e-9)  # time spent paused is not training time
        if done > 0 and remaining >= 0:
            eta = working / done * remaining
            self.eta_label.setText(f"epoch {event.epoch} · {event.samples_per_second:,.0f} samples/s · "
                                   f"ETA {duration_text(eta)}")

    def set_dark(self, dark: bool) -> None:
        self.loss_plot.set_dark(dark)
        self.cockpit.set_dark(dark)
        self.snapshot_map.set_dark(dark)

    @property
    def busy(self) -> bool:
        return self.snapshot_map.busy
