"""Reads a run directory's metrics.jsonl as it grows (a run from the CLI, another machine, or a finished one).

Polling on a timer, reading only the new complete lines: cheap, works on network and synced folders where file
watchers are unreliable, and never blocks the GUI on a half-written line.
"""
from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal, Slot

import core


class RunFollower(QObject):
    records = Signal(list)  # new JSON records, in order
    stale = Signal(bool)  # True when nothing was written for ``stale_after_s`` while the run says "running"

    def __init__(self, run_dir: str | Path, interval_ms: int = 500, stale_after_s: float = 60.0,
                 parent: QObject | None = None):
        super().__init__(parent)
        run = core.RunDirectory(run_dir)
        self.path = run.metrics_path
        self.status_path = run.status_path
        self.offset = 0
        self.partial = b""
        self.quiet_s = 0.0
        self.interval_ms = interval_ms
        self.stale_after_s = stale_after_s
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    @Slot()
    def poll(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return
        if not chunk:
            self.quiet_s += self.interval_ms / 1000
            if self.quiet_s >= self.stale_after_s and self._running():
                self.stale.emit(True)
            return
        if self.quiet_s >= self.stale_after_s:
            self.stale.emit(False)
        self.quiet_s = 0.0
        self.offset += len(chunk)
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop()  # an unfinished last line waits for the next poll
        out = []
        for line in lines:
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        if out:
            self.records.emit(out)

    def _running(self) -> bool:
        try:
            return json.loads(self.status_path.read_text()).get("status") == "running"
        except (OSError, ValueError):
            return False
