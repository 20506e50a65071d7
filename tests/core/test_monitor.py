"""The background monitor: epoch work beside training, its events in order, and nothing lost when a run ends early."""
from __future__ import annotations

import errno
import json
import os
import threading
import time
from pathlib import Path

import pytest

import core
from core.training import checkpoint as ck
from core.training.monitor import BackgroundMonitor


def test_jobs_run_on_one_other_thread_and_their_events_come_out_in_order():
    monitor = BackgroundMonitor()
    threads = []
    release = threading.Event()

    def job(name, gate=None):
        def run():
            if gate is not None:
                assert gate.wait(5)
            threads.append(threading.current_thread().name)
            return [name]
        return run

    try:
        monitor.submit(job("a"))
        monitor.submit(job("b"))
        monitor.submit(job("c", release))
        assert monitor.wait(keep=1) == ["a", "b"]  # c is still running: it may stay in flight
        assert monitor.busy and monitor.ready() == []
        release.set()
        assert monitor.wait() == ["c"]
        assert not monitor.busy
        assert len(set(threads)) == 1 and threads[0] != threading.current_thread().name
    finally:
        release.set()
        monitor.close()


def test_a_failing_job_raises_where_it_is_waited_for_after_the_jobs_before_it():
    monitor = BackgroundMonitor()

    def fail():
        raise OSError(errno.ENOSPC, "full")

    monitor.submit(lambda: ["first"])
    monitor.submit(fail)
    with pytest.raises(OSError):
        monitor.wait()
    monitor.submit(fail)
    assert monitor.abandon() == []  # a closing run ignores it: the first failure is the one reported
    monitor.close()


def test_a_run_closed_while_its_checkpoint_is_written_keeps_the_checkpoint_and_logs_the_epoch(tiny_experiment,
                                                                                                monkeypatch):
    original = ck.write_checkpoint
    started = threading.Event()

    def slow(*args, **kwargs):  # the first checkpoint is still being written when the caller closes the run
        if not started.is_set():
            started.set()
            time.sleep(0.5)
        return original(*args, **kwargs)

    monkeypatch.setattr(ck, "write_checkpoint", slow)
    gen = core.train(tiny_experiment.with_training(epochs=2))
    event = next(gen)
    run_dir = event.run_dir
    while not (isinstance(event, core.StepEnded) and event.epoch == 2):
        event = next(gen)
    assert started.wait(5)
    gen.close()

    run = core.RunDirectory.open(run_dir)
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    assert [c["epoch"] for c in manifest["checkpoints"]] == [1]
    assert core.load_checkpoint(run.checkpoints).state.epoch == 1  # complete, its hash verifies
    records = [r for r in run.read_metrics() if r["event"] == "epoch"]
    assert [r["epoch"] for r in records] == [1]  # logged though the closed generator could not yield it
    status = run.read_status()
    assert status["status"] == "stopped" and status["last_checkpoint"].endswith(manifest["latest"])
    resumed = core.run_to_end(core.resume(run_dir))
    assert resumed.status == "finished" and resumed.epochs_completed == 2


def test_a_checkpoint_write_failing_on_the_monitor_fails_the_run_with_the_clear_message(tiny_experiment,
                                                                                           monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(ck, "write_checkpoint", full)
    with pytest.raises(core.RunDirectoryError, match="the disk is full"):
        core.run_to_end(core.train(tiny_experiment))
    (run_dir,) = list(Path(tiny_experiment.output.root).iterdir())
    status = core.RunDirectory.open(run_dir).read_status()
    assert status["status"] == "failed" and "disk is full" in status["message"]
