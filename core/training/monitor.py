"""Monitoring beside training: the per-epoch work that needs only copies runs on one background thread.

At the end of an epoch the training thread takes what depends on the live model or on the RNG stream (the
embeddings, the augmented views, drawn on a forked RNG, and a copy of the weights, the optimiser state and the RNG
state) and hands the rest to a :class:`BackgroundMonitor`: the diagnostics' SVDs, the online probe's fits, writing
the matrices, the snapshot and the checkpoint. Training goes on meanwhile; the finished work's events are emitted
at the next step boundary, in the order they were submitted.

At most one epoch's work is in flight, and its events come out before the next epoch's last step (so a Stop sent
in reply to them stops that epoch, and the files written are never ahead of the events by more than that epoch);
anything that writes the checkpoint manifest waits for it. A run waits for it before it ends, stops, fails or is closed, so no file is half written when
the run directory is released, and a killed process leaves the previous checkpoint (files are replaced
atomically). The background thread never touches the model or the torch RNG, so a watched run trains bit for bit
like an unwatched one.
"""
from __future__ import annotations

import collections
import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundMonitor:
    """One worker thread, started on first use; jobs return the events to emit, in submission order."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._pending: collections.deque[Future] = collections.deque()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def submit(self, job: Callable[[], list[Any]]) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replearn-monitor")
        self._pending.append(self._pool.submit(job))

    def ready(self) -> list[Any]:
        """The events of the jobs finished so far (from the oldest; a job's error is raised here)."""
        events: list[Any] = []
        while self._pending and self._pending[0].done():
            events.extend(self._pending.popleft().result())
        return events

    def wait(self, keep: int = 0) -> list[Any]:
        """Wait until at most ``keep`` jobs are left in flight (the newest); the events of those done (a job's
        error is raised here, after the events of the jobs before it)."""
        events: list[Any] = []
        while len(self._pending) > keep or (self._pending and self._pending[0].done()):
            events.extend(self._pending.popleft().result())
        return events

    def abandon(self) -> list[Any]:
        """Wait for every job, ignoring their errors (the run is failing or closing already); their events."""
        events: list[Any] = []
        while self._pending:
            future = self._pending.popleft()
            with contextlib.suppress(BaseException):  # the first failure is the one to report
                events.extend(future.result())
        return events

    def close(self) -> None:
        self.abandon()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
