"""Work done ahead, while the app is idle after start-up, so that the user's first training step and first UMAP
do not pay for it: the engine's lazy imports (torch's optimisers pull in ``torch._dynamo`` on their first step,
scikit-learn its solvers on the first probe), then UMAP's numba compilation (15-25 s once per process here).

Order: the window shows, the experiment loads (torch imported in the loader), the window is ready to train; then
the engine warm-up runs (a :class:`~replearn_gui.jobs.BackgroundJob`), then, when no run is training, the UMAP
warm-up. UMAP's runs in a daemon thread, not a pool worker: numba's compilation cannot be interrupted, and
quitting must never wait for it. A UMAP computed while it runs waits for it (core shows "preparing UMAP…" with
the warm-up's phase) instead of compiling a second time.
"""
from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

import core
from replearn_gui.jobs import BackgroundJob

IDLE_AFTER_MS = 1500  # after the engine warm-up: let the window settle (first paints, the run list) first

_umap_thread: threading.Thread | None = None
_umap_error: list[BaseException] = []


def _warm_up_umap() -> None:
    try:
        for _ in core.warm_up_umap():
            pass
    except Exception as err:  # noqa: BLE001 - shown where UMAP is chosen; a real UMAP compiles on its own then
        _umap_error.append(err)


def start_umap_warm_up() -> bool:
    """Start compiling UMAP's code in the background (once per process); False when it is warm already or a
    warm-up was started before."""
    global _umap_thread
    if _umap_thread is not None or core.umap_is_warm():
        return False
    _umap_thread = threading.Thread(target=_warm_up_umap, name="umap-warm-up", daemon=True)
    _umap_thread.start()
    return True


def umap_warm_up_text() -> str:
    """What the UMAP warm-up is doing, for the places the user meets it ("" once it is done or never started)."""
    if _umap_error:
        return f"Preparing UMAP failed ({_umap_error[0]}); computing UMAP compiles its code then."
    progress = core.umap_warm_up_progress() if _umap_thread is not None else None
    if progress is None:
        return ""
    return f"Preparing UMAP in the background: {progress.message} ({progress.fraction:.0%})…"


class StartupWarmUp(QObject):
    """Owned by the main window: :meth:`engine_loaded` once the loader has finished starts the warm-ups."""

    message = Signal(str)  # for the status bar

    def __init__(self, window: Any, umap: bool = True):
        super().__init__(window)
        self.window = window
        self.umap = umap  # the app warms UMAP; tests leave it off (a real compile costs 15-25 s of CPU)
        self.engine_job = BackgroundJob(self, policy="refuse")
        self.engine_job.failed.connect(lambda exc, _details: self.message.emit(
            f"Preparing the engine failed ({exc}); the first run imports what it needs itself."))
        self.engine_job.finished.connect(self._engine_warm)
        self._started = False
        self.umap_scheduled = False

    @property
    def busy(self) -> bool:
        """The engine warm-up is running (closing waits for it; UMAP's never is waited for)."""
        return self.engine_job.busy

    def engine_loaded(self) -> None:
        if self._started:
            return
        self._started = True
        self.engine_job.start(core.warm_up_engine)

    def _engine_warm(self) -> None:
        if self.umap:
            self.umap_scheduled = True
            QTimer.singleShot(IDLE_AFTER_MS, self._start_umap_when_idle)

    def _start_umap_when_idle(self) -> None:
        controller = getattr(self.window, "controller", None)
        if controller is not None and controller.busy:  # a run trains: its steps come first; try again after it
            controller.state_changed.connect(self._after_run)
            return
        start_umap_warm_up()

    def _after_run(self, state: str) -> None:
        if state == "idle":
            self.window.controller.state_changed.disconnect(self._after_run)
            QTimer.singleShot(IDLE_AFTER_MS, self._start_umap_when_idle)
