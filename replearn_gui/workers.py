"""Generators that run in superqt workers. They import ``core`` themselves, so the GUI thread never pays for torch."""
from __future__ import annotations

import queue
from typing import Any, Generator


def load_experiment_job(source: str | None) -> Any:
    """Import core (slow: torch, scikit-learn) and load an experiment file or preset, in a worker thread."""
    import core

    if source is None:
        return core.load_preset(core.DEFAULT_PRESET)
    if source in core.preset_names():
        return core.load_preset(source)
    return core.load_experiment(source)


def training_job(experiment: Any, runs_root: str, num_threads: int,
                 commands: queue.SimpleQueue | None = None) -> Generator[Any, Any, Any]:
    """The engine's generator, with torch limited to ``num_threads`` so the GUI stays smooth.

    Commands come through a thread-safe queue and are handed to the engine after each event, all of them:
    superqt's own ``send`` keeps only the latest value, so "save a checkpoint" followed by "stop" before the
    next step would lose the checkpoint.
    """
    import torch

    import core

    if num_threads:
        torch.set_num_threads(num_threads)
    gen = core.train(experiment, out=runs_root)
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
