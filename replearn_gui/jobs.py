"""One helper for background work: start, cancel, partial result, done, error (after Orange3's
``ConcurrentWidgetMixin``), over :func:`replearn_gui.workers.make_worker`.

A panel owns a :class:`BackgroundJob` and connects to its signals instead of wiring every superqt worker by hand::

    self.job = BackgroundJob(self)
    self.job.bind(progress=self.progress_bar, status=self.status_label, cancel=self.stop_button,
                  failed="Evaluation failed", cancelled="Cancelled; nothing was changed.")
    self.job.report_errors(self, "Evaluation failed")  # the error dialog, with the traceback of a bug
    self.job.done.connect(self.show_result)
    self.job.start(core_generator_function, arg1, arg2)

- ``fn`` may be a plain function or a generator function. Whatever a generator yields arrives as
  :attr:`partial`; items that look like progress (``(fraction, message)`` tuples, or objects with ``fraction``
  and ``message`` attributes such as core's ``ProjectionProgress``) also arrive as :attr:`progress`, and move
  the bound progress bar and status label.
- :meth:`cancel` asks a generator to stop at its next ``yield`` (a plain function cannot be interrupted: its
  result is dropped). :attr:`cancelled` follows once the thread is done.
- What happens when :meth:`start` is called while a job runs is the ``policy``: ``"replace"`` (cancel the
  running one and drop its late results), ``"latest"`` (keep only the newest request and start it when the
  running one ends: the snapshot map, a follower's poll) or ``"refuse"`` (return False).
- Results of a job that is no longer current never reach the signals (a stale layout, a cancelled load).
  ``start(..., on_done=f, on_failed=g)`` also call ``f(result)`` / ``g(exc)`` for that one job only (a panel
  whose jobs end differently).
- :meth:`when_idle` runs a callback once every thread has ended (a dialog closing after its cancelled job).
- Every signal is delivered on the GUI thread; the helper never blocks it (no waiting on workers).
"""
from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from replearn_gui.widgets.error_dialog import show_error
from replearn_gui.workers import make_worker

POLICIES = ("replace", "latest", "refuse")


def as_progress(item: Any) -> tuple[float, str] | None:
    """(fraction, message) of a yielded item that reports progress, else None."""
    if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (int, float)) and isinstance(item[1], str):
        return float(item[0]), item[1]
    fraction, message = getattr(item, "fraction", None), getattr(item, "message", None)
    if isinstance(fraction, (int, float)) and isinstance(message, str):
        return float(fraction), message
    return None


class BackgroundJob(QObject):
    started = Signal()
    partial = Signal(object)  # each value the generator yields, in order
    progress = Signal(float, str)  # fraction in [0, 1], message
    done = Signal(object)  # the return value
    failed = Signal(object, str)  # the exception and its formatted traceback
    cancelled = Signal()  # a cancelled job's thread has ended (not one replaced by a newer job)
    finished = Signal()  # after done / failed / cancelled: the job is idle (and :attr:`busy` is False)

    def __init__(self, parent: QObject | None = None, policy: str = "replace"):
        super().__init__(parent)
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
        self.policy = policy
        self._token = 0  # the current job's number: signals of older ones are dropped
        self._current: Any = None
        self._workers: set = set()  # every thread not yet ended (a replaced job may still be winding down)
        self._pending: tuple | None = None
        self._cancelled_tokens: dict[int, str | None] = {}  # token -> what to say once it has stopped
        self._progress_bar = self._status = self._cancel_button = None
        self._failed_text = "Failed"
        self._cancelled_text = ""
        self._idle_callbacks: list[Callable[[], Any]] = []

    # ---- state -----------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """True while any thread of this job runs (also one being cancelled): close the window only when False."""
        return bool(self._workers) or self._pending is not None

    @property
    def running(self) -> bool:
        """True while the current job has not ended."""
        return self._current is not None

    # ---- optional widgets ------------------------------------------------------------------------------
    def bind(self, progress=None, status=None, cancel=None, failed: str = "Failed", cancelled: str = "") -> None:
        """A QProgressBar moved by progress (0..1000), a QLabel showing messages, a button that cancels (enabled
        while the job runs: give each job a button of its own). The label says ``"<failed>: <error>"`` when the job
        fails and ``cancelled`` (if given) once a cancelled job has stopped."""
        self._progress_bar, self._status, self._cancel_button = progress, status, cancel
        self._failed_text, self._cancelled_text = failed, cancelled
        if progress is not None:
            progress.setRange(0, 1000)
        if cancel is not None:
            cancel.clicked.connect(lambda: self.cancel())  # not the bound method: clicked would pass its bool
            cancel.setEnabled(self.running)

    def report_errors(self, parent: QObject, title: str) -> None:
        """Every failure opens the error dialog over ``parent``: our own errors as their message, anything else
        with its traceback under Details."""
        self.failed.connect(self._guard(lambda exc, details: shiboken6.isValid(parent)
                                        and show_error(parent, title, exc, details)))

    def say(self, message: str) -> None:
        if self._status is not None and shiboken6.isValid(self._status):
            self._status.setText(message)

    def _show_progress(self, fraction: float, message: str) -> None:
        if self._progress_bar is not None and shiboken6.isValid(self._progress_bar):
            self._progress_bar.setValue(round(min(max(fraction, 0.0), 1.0) * 1000))
        if message:
            self.say(message)

    def _set_cancel_enabled(self) -> None:
        if self._cancel_button is not None and shiboken6.isValid(self._cancel_button):
            self._cancel_button.setEnabled(self.running)

    # ---- control ---------------------------------------------------------------------------------------
    def start(self, fn: Callable, *args: Any, message: str = "", on_done: Callable[[Any], Any] | None = None,
              on_failed: Callable[[BaseException], Any] | None = None, **kwargs: Any) -> bool:
        """Run ``fn(*args, **kwargs)`` in a worker thread; False when refused (policy ``"refuse"``) or deferred
        (policy ``"latest"``: it starts when the running one ends). ``on_done(result)`` / ``on_failed(exc)`` are
        called, before :attr:`done` / :attr:`failed`, if this very job ends while still current."""
        if self.running:
            if self.policy == "refuse":
                return False
            if self.policy == "latest":
                self._pending = (fn, args, kwargs, message, on_done, on_failed)
                return False
            self.cancel()
        self._token += 1
        token = self._token
        worker = make_worker(fn, *args, **kwargs)
        current = lambda: self._token == token and token not in self._cancelled_tokens  # noqa: E731
        if hasattr(worker, "yielded"):
            worker.yielded.connect(self._guard(lambda item: current() and self._on_yielded(item)))
        worker.returned.connect(self._guard(lambda value: current() and self._on_returned(value, on_done)))
        worker.errored.connect(self._guard(lambda exc: current() and self._on_errored(exc, on_failed)))
        worker.finished.connect(lambda: self._on_finished(worker, token) if shiboken6.isValid(self)
                                else self._forget(worker))
        self._workers.add(worker)
        self._current = worker
        self._show_progress(0.0, message)
        self._set_cancel_enabled()
        self.started.emit()
        worker.start()
        return True

    def cancel(self, note: str | None = None) -> None:
        """Stop the current job at its next yield (and forget a deferred one); its results are dropped. The bound
        label says ``note`` once it has stopped, instead of the bound ``cancelled`` text (why it was stopped)."""
        self._pending = None
        if self._current is None:
            return
        self._cancelled_tokens[self._token] = note
        quit_ = getattr(self._current, "quit", None)
        if quit_ is not None:
            quit_()
        self._current = None
        self._set_cancel_enabled()

    # ---- worker signals (GUI thread) -------------------------------------------------------------------
    def _guard(self, callback: Callable) -> Callable:
        """The callback runs only while this helper exists (a worker may end after its panel was deleted)."""
        def call(*args):
            if shiboken6.isValid(self):
                callback(*args)
        return call

    def when_idle(self, callback: Callable[[], Any]) -> None:
        """``callback()`` once no thread of this job runs any more: at once when idle, else when the last ends."""
        if not self.busy:
            callback()
        else:
            self._idle_callbacks.append(callback)

    def _on_returned(self, value: Any, on_done: Callable[[Any], Any] | None) -> None:
        if on_done is not None:
            on_done(value)
        self.done.emit(value)

    def _on_yielded(self, item: Any) -> None:
        self.partial.emit(item)
        progress = as_progress(item)
        if progress is not None:
            self._show_progress(*progress)
            self.progress.emit(*progress)

    def _on_errored(self, exc: BaseException, on_failed: Callable[[BaseException], Any] | None = None) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.say(f"{self._failed_text}: {exc}")
        if on_failed is not None:
            on_failed(exc)
        self.failed.emit(exc, text)

    def _forget(self, worker: Any) -> None:
        """A thread ended after its panel was deleted: no signal, but :attr:`busy` stays true to the threads."""
        self._workers.discard(worker)
        self._pending = None
        if self._current is worker:
            self._current = None

    def _on_finished(self, worker: Any, token: int) -> None:
        self._workers.discard(worker)
        was_cancelled = token in self._cancelled_tokens
        note = self._cancelled_tokens.pop(token, None)
        if self._current is worker:
            self._current = None
        self._set_cancel_enabled()
        if was_cancelled and self._current is None:  # a replaced job says nothing: its successor runs
            self._show_progress(0.0, self._cancelled_text if note is None else note)
            self.cancelled.emit()
        if self._pending is not None and self._current is None:
            fn, args, kwargs, message, on_done, on_failed = self._pending
            self._pending = None
            self.start(fn, *args, message=message, on_done=on_done, on_failed=on_failed, **kwargs)
            return
        if not self.running:
            self.finished.emit()
        while self._idle_callbacks and not self.busy:
            self._idle_callbacks.pop(0)()
