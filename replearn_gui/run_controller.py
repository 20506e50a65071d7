"""Owns the training worker: start, pause, resume, stop, and the events it sends back to the GUI thread."""
from __future__ import annotations

import gc
import queue
import traceback
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from superqt.utils import GeneratorWorker

import core
from core import CheckpointSaved, RunStarted
from replearn_gui.workers import make_worker, resume_job, training_job  # not BackgroundJob: see _start


class RunController(QObject):
    """One run at a time. Events of a run that is no longer current are dropped (they carry its run id).

    States: ``idle`` → ``running`` ⇄ ``paused`` → ``stopping`` → ``idle``.
    """

    event = Signal(object)  # a core event of the current run
    finished = Signal(object)  # core.TrainResult, once the worker thread is done and the controller is idle
    failed = Signal(object, str)  # the exception, its formatted traceback
    state_changed = Signal(str)
    paused_after_checkpoint = Signal(object)  # the CheckpointSaved event: on disk, and the run is pausing

    def __init__(self, parent: QObject | None = None, num_threads: int = 1):
        super().__init__(parent)
        self.num_threads = num_threads
        self._worker: GeneratorWorker | None = None
        self._run_id: str | None = None
        self._result: Any = None
        self._commands: queue.SimpleQueue = queue.SimpleQueue()
        self._state = "idle"
        self._pause_after_checkpoint = False

    @property
    def state(self) -> str:
        return self._state

    @property
    def pausing_after_checkpoint(self) -> bool:
        """A checkpoint was asked for, and the run pauses once it is on disk."""
        return self._pause_after_checkpoint

    @property
    def busy(self) -> bool:
        return self._worker is not None

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def start(self, experiment: Any, runs_root: str) -> bool:
        """Start training ``experiment``; ignored (returns False) while a run is active, e.g. on a double click."""
        if self._worker is not None:
            return False
        self._commands = queue.SimpleQueue()
        return self._start(make_worker(training_job, experiment, runs_root, self.num_threads, self._commands))

    def resume_run(self, run_dir: str) -> bool:
        """Continue a stopped run from its newest valid checkpoint (the engine path of ``replearn resume``)."""
        if self._worker is not None:
            return False
        self._commands = queue.SimpleQueue()
        return self._start(make_worker(resume_job, run_dir, self.num_threads, self._commands))

    def _start(self, worker: GeneratorWorker) -> bool:
        # the one worker not run by a BackgroundJob: training is paused and resumed in place (superqt's
        # pause/resume), takes commands between steps, and its events carry the run id that makes stale ones drop
        # cyclic garbage holding Qt objects is collected now, on the GUI thread: a collection triggered later
        # inside the training thread would destroy those widgets there, which can deadlock PySide6
        gc.collect()
        worker.yielded.connect(self._on_yielded)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        worker.paused.connect(self._on_paused)
        worker.resumed.connect(self._on_resumed)
        self._worker = worker
        self._run_id = None
        self._result = None
        self._pause_after_checkpoint = False
        self._set_state("running")
        worker.start()
        return True

    def save_checkpoint_then_pause(self) -> None:
        """Save a checkpoint now and pause once it is on disk (:attr:`paused_after_checkpoint` says so): a pause
        alone would hold the request back until the run resumes."""
        if self._worker is None or self._state != "running":
            return
        self._pause_after_checkpoint = True
        self._commands.put(core.SaveCheckpoint())

    def pause(self) -> None:
        if self._worker is not None and self._state == "running":
            self._worker.pause()

    def resume(self) -> None:
        if self._worker is not None and self._state == "paused":
            self._worker.resume()

    def send(self, command: Any) -> None:
        """Hand a core command (SaveCheckpoint, SetLearningRate, ...) to the engine at its next step; commands
        queue up, none is lost."""
        if self._worker is not None:
            self._commands.put(command)

    def stop(self) -> None:
        """Graceful stop: the engine finishes its step, saves a checkpoint and returns."""
        if self._worker is None or self._state == "stopping":
            return
        self._commands.put(core.Stop())
        was_paused = self._state == "paused"
        self._set_state("stopping")
        if was_paused:
            self._worker.resume()

    @Slot(object)
    def _on_yielded(self, event: Any) -> None:
        run_id = getattr(event, "run_id", None)
        if self._run_id is None and isinstance(event, RunStarted):
            self._run_id = run_id
        if run_id != self._run_id:
            return  # stale: from a run that is no longer current
        self.event.emit(event)
        if self._pause_after_checkpoint and isinstance(event, CheckpointSaved) and event.reason == "requested":
            self._pause_after_checkpoint = False
            self.pause()
            self.paused_after_checkpoint.emit(event)

    @Slot()
    def _on_paused(self) -> None:
        if self._state == "running":
            self._set_state("paused")

    @Slot()
    def _on_resumed(self) -> None:
        if self._state == "paused":  # a resume that serves a stop keeps the state "stopping"
            self._set_state("running")

    @Slot(object)
    def _on_returned(self, result: Any) -> None:
        self._result = result

    @Slot(object)
    def _on_errored(self, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.failed.emit(exc, text)

    @Slot()
    def _on_finished(self) -> None:
        """The worker thread is done (after returned / errored): only now is the controller idle."""
        result, self._result = self._result, None
        self._worker = None
        self._run_id = None
        self._set_state("idle")
        if result is not None:
            self.finished.emit(result)
