"""The engine warm-up runs once per process: a run started while the GUI's background warm-up is still importing
waits for it instead of importing torch's lazy modules beside it (two threads registering torch's operators at
once failed with "operator _c10d_functional::_wrap_tensor_autograd does not exist")."""
from __future__ import annotations

import threading
import time

import pytest

from core.training import loop


def test_concurrent_warm_ups_run_once_and_the_second_waits_for_the_first(monkeypatch):
    calls, inside, finished_at = [], threading.Event(), {}

    def slow_warm_up():
        calls.append(threading.current_thread().name)
        inside.set()
        time.sleep(0.3)
        finished_at["warm-up"] = time.monotonic()

    monkeypatch.setattr(loop, "_warm_up", slow_warm_up)
    monkeypatch.setattr(loop, "_warmed_up", False)
    background = threading.Thread(target=loop.warm_up_engine, name="start-up warm-up")
    background.start()
    assert inside.wait(10)
    loop.warm_up_engine()  # the training thread's call, while the background one is inside
    returned_at = time.monotonic()
    background.join(10)
    assert calls == ["start-up warm-up"]
    assert returned_at >= finished_at["warm-up"]
    loop.warm_up_engine()
    assert calls == ["start-up warm-up"]


def test_a_failed_warm_up_is_tried_again_by_the_next_caller(monkeypatch):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("import failed")

    monkeypatch.setattr(loop, "_warm_up", flaky)
    monkeypatch.setattr(loop, "_warmed_up", False)
    with pytest.raises(RuntimeError, match="import failed"):
        loop.warm_up_engine()
    loop.warm_up_engine()
    loop.warm_up_engine()
    assert len(attempts) == 2
