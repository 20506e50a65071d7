"""Generators that run in superqt workers. They import ``core`` themselves, so the GUI thread never pays for torch."""
from __future__ import annotations

from typing import Any, Generator


def load_experiment_job(source: str | None) -> Any:
    """Import core (slow: torch, scikit-learn) and load an experiment file or preset, in a worker thread."""
    import core

    if source is None:
        return core.load_preset(core.DEFAULT_PRESET)
    if source in core.preset_names():
        return core.load_preset(source)
    return core.load_experiment(source)


def training_job(experiment: Any, runs_root: str, num_threads: int) -> Generator[Any, Any, Any]:
    """The engine's generator, with torch limited to ``num_threads`` so the GUI stays smooth."""
    import torch

    import core

    if num_threads:
        torch.set_num_threads(num_threads)
    return (yield from core.train(experiment, out=runs_root))
