"""Trackers people already run: the scalars of ``metrics.jsonl``, also written for TensorBoard.

``training.log_to = ["tensorboard"]`` writes event files into ``RUN/tensorboard/`` (``tensorboard --logdir RUN``).
Every number of a ``step``, ``epoch`` and ``run_finished`` record becomes a scalar named after its place in the
record (``step/loss``, ``step/terms/variance``, ``epoch/val_loss``, ``epoch/diagnostics/effective_rank``,
``test/linear_probe_accuracy``) at the record's optimiser step, so the curves are those of ``metrics.jsonl``.
"""
from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import ConfigError

TRACKERS = ("tensorboard",)
_COUNTERS = {"run_id", "epoch", "step", "batch", "start_epoch", "start_step"}


def scalars(record: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """``(tag, value)`` of every finite number in a metrics record worth a curve."""
    event = record.get("event")
    if event in ("step", "epoch"):
        yield from _flatten(event, {k: v for k, v in record.items() if k not in _COUNTERS and k != "event"})
    elif event == "run_finished":
        yield from _flatten("test", record.get("test") or {})


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, float]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _flatten(f"{prefix}/{k}", v)
    elif isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        yield prefix, float(value)


class TensorBoardTracker:
    def __init__(self, directory: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise ConfigError("training.log_to", "'tensorboard' needs the tensorboard package",
                              value="tensorboard", allowed="pip install tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(directory))

    def log(self, record: dict[str, Any]) -> None:
        step = int(record.get("step") or 0)
        wrote = False
        for tag, value in scalars(record):
            self.writer.add_scalar(tag, value, global_step=step)
            wrote = True
        if wrote and record.get("event") != "step":
            self.writer.flush()  # epochs and the end are seen at once by a TensorBoard that is watching

    def close(self) -> None:
        self.writer.close()


def make_trackers(names: tuple[str, ...], run) -> list[Any]:
    out = []
    for name in names:
        if name == "tensorboard":
            out.append(TensorBoardTracker(run.tensorboard))
    return out
