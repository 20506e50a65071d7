"""Follows a run directory's metrics.jsonl as it grows (a run from the CLI, another machine, or a finished one).

Polling on a timer, reading only the new complete lines through ``RunDirectory.read_events_from`` (in a worker:
the GUI thread never waits on the file), and handing the events to the same ``TrainingTab.show`` that live
events reach. Polling is cheap, works on network and synced folders where file watchers are unreliable, and a
half-written last line simply waits for the next poll.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

import core
from replearn_gui.jobs import BackgroundJob


def read_new_events(run_dir: str, offset: int) -> tuple[list, int]:
    return core.RunDirectory(run_dir).read_events_from(offset)


class RunFollower(QObject):
    events = Signal(list)  # new core events, in order
    failed = Signal(object)  # a run file that cannot be read (the follower stops)
    stale = Signal(bool)  # True when nothing was written for ``stale_after_s`` while the run says "running"

    def __init__(self, run_dir: str | Path, interval_ms: int = 500, stale_after_s: float = 60.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.run_dir = str(run_dir)
        self.offset = 0
        self.quiet_s = 0.0
        self.interval_ms = interval_ms
        self.stale_after_s = stale_after_s
        self.job = BackgroundJob(self, policy="refuse")  # one read at a time; a slow disk skips a tick
        self.job.done.connect(self._read)
        self.job.failed.connect(self._failed)
        self._stopped = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        self._stopped = True
        self.timer.stop()
        self.job.cancel()

    @Slot()
    def poll(self) -> None:
        self.job.start(read_new_events, self.run_dir, self.offset)

    def _read(self, result: tuple) -> None:
        events, offset = result
        if self._stopped:
            return
        if offset == self.offset:
            self.quiet_s += self.interval_ms / 1000
            if self.quiet_s >= self.stale_after_s and self._running():
                self.stale.emit(True)
            return
        if self.quiet_s >= self.stale_after_s:
            self.stale.emit(False)
        self.quiet_s = 0.0
        self.offset = offset
        if events:
            self.events.emit(events)

    def _failed(self, exc: BaseException, _details: str) -> None:
        self.timer.stop()
        self.failed.emit(exc)

    def _running(self) -> bool:
        return core.RunDirectory(self.run_dir).read_status().get("status") == "running"
