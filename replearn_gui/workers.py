"""Generators that run in superqt workers. They import ``core`` themselves, so the GUI thread never pays for torch."""
from __future__ import annotations

import queue
from collections.abc import Generator
from typing import Any

import core


def load_experiment_job(source: str | None) -> Any:
    """Import core (slow: torch, scikit-learn) and load an experiment file or preset, in a worker thread."""
    if source is None:
        experiment = core.load_preset(core.DEFAULT_PRESET)
    elif source in core.preset_names():
        experiment = core.load_preset(source)
    else:
        experiment = core.load_experiment(source)
    # pyarrow is imported whole before anything else may run: scikit-learn reads sys.modules["pyarrow"].Table on
    # every fit, and a first import of pyarrow in another thread (the engine warm-up, a Parquet reader) made a
    # training run's probe fail with "partially initialized module 'pyarrow' has no attribute 'Table'"
    core.load_arrow()
    return experiment  # ready to train; the engine's own warm-up follows in the background (warm_up.py)


def training_job(experiment: Any, runs_root: str, num_threads: int,
                 commands: queue.SimpleQueue | None = None) -> Generator[Any, Any, Any]:
    """The engine's generator for a new run of ``experiment`` under ``runs_root``."""
    return (yield from engine_job(lambda: core.train(experiment, out=runs_root), num_threads, commands))


def resume_job(run_dir: str, num_threads: int, commands: queue.SimpleQueue | None = None) -> Generator[Any, Any, Any]:
    """The engine's generator continuing a stopped run from its newest valid checkpoint (``replearn resume``)."""
    return (yield from engine_job(lambda: core.resume(run_dir), num_threads, commands))


def engine_job(make_generator, num_threads: int, commands: queue.SimpleQueue | None) -> Generator[Any, Any, Any]:
    """Drive one of the engine's generators, with torch limited to ``num_threads`` so the GUI stays smooth.

    Commands come through a thread-safe queue and are handed to the engine after each event, all of them:
    superqt's own ``send`` keeps only the latest value, so "save a checkpoint" followed by "stop" before the
    next step would lose the checkpoint.
    """
    import torch

    if num_threads:
        torch.set_num_threads(num_threads)
    core.warm_up_engine()  # waits for the start-up warm-up if it is still importing, instead of racing it
    gen = make_generator()
    reply: Any = None
    while True:
        try:
            event = gen.send(reply)
        except StopIteration as stop:
            return stop.value
        try:
            yield event
        except GeneratorExit:
            gen.close()
            raise
        pending = []
        while commands is not None and not commands.empty():
            pending.append(commands.get_nowait())
        reply = tuple(pending) or None


def read_history(run_dir: str) -> tuple[str, list]:
    """(run_dir, every event recorded so far): what a resumed run shows before the engine continues it."""
    return run_dir, list(core.RunDirectory.open(run_dir).read_events())


def read_run_curves(run_dir: str) -> dict[str, Any]:
    """A run's recorded curves (for overlaying it on the training view): steps and losses, and per epoch the
    effective rank, the online probe and the mean cosine."""
    import numpy as np

    run = core.RunDirectory.open(run_dir)
    steps, losses, epochs, ranks, probe, cosines = [], [], [], [], [], []
    for e in run.read_events():
        if isinstance(e, core.StepEnded):
            while steps and steps[-1] >= e.step:  # redone after a resume from an earlier checkpoint
                steps.pop()
                losses.pop()
            steps.append(e.step)
            losses.append(e.loss)
        elif isinstance(e, core.EpochEnded) and e.diagnostics is not None:
            d = e.diagnostics
            epochs.append(e.epoch)
            ranks.append(d.effective_rank)
            cosines.append(d.mean_cosine)
            if d.probe_accuracy is not None:
                probe.append((e.epoch, d.probe_accuracy))
    if not steps:
        raise core.RunDirectoryError(f"{run_dir} has no recorded training steps yet")
    return {"name": run.path.name, "steps": np.array(steps), "losses": np.array(losses), "epochs": epochs,
            "ranks": ranks, "probe": probe, "cosines": cosines}


class WorkerCrash(Exception):
    """A RuntimeError raised inside a worker, passed on under another type. superqt takes a RuntimeError that
    ends a worker for a deleted Qt object and drops it: no ``errored``, no ``finished``, the worker looks busy
    forever. torch reports most of its failures (shapes, devices, out of memory) as RuntimeError."""


def shielded(fn):
    """``fn`` (a function or a generator function) with RuntimeError re-raised as :class:`WorkerCrash`."""
    import functools
    import inspect

    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def generator(*args, **kwargs):
            try:
                return (yield from fn(*args, **kwargs))
            except RuntimeError as err:
                raise WorkerCrash(f"{type(err).__name__}: {err}") from err
        return generator

    @functools.wraps(fn)
    def function(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RuntimeError as err:
            raise WorkerCrash(f"{type(err).__name__}: {err}") from err
    return function


def make_worker(fn, *args, **kwargs):
    """A superqt worker (not started) for ``fn``: errors reach ``errored`` — we handle them — whatever their type."""
    from superqt.utils import create_worker

    return create_worker(shielded(fn), *args, _start_thread=False, _ignore_errors=True, **kwargs)
