"""What the training engine yields (events) and what it accepts through ``send()`` (commands).

Events are frozen dataclasses holding only copies (floats, read-only CPU numpy arrays), so they can cross
threads. Each carries the ``run_id`` so a front end can drop events of a run it no longer shows. Every event
is also appended to the run's ``metrics.jsonl`` as one JSON object (:func:`to_record`), and comes back from it
as the same dataclass (:func:`event_from_record`, ``RunDirectory.read_events``): a live run, a run replayed from
disk and a run followed while another process writes it reach the front ends as the same events. The schema of
``metrics.jsonl`` is in ``docs/run-directory.md``.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.diagnostics.collapse import Diagnostics

_NOT_RECORDED = {"record": False}


class RecordError(ValueError):
    """A ``metrics.jsonl`` record of a known event lacks a field or has one of the wrong type."""


class _Recorded:
    """``from_record``: the event back from its JSON object (the inverse of :func:`to_record`).

    Diagnostics come back through ``Diagnostics.from_record`` (without their matrices: ``RunDirectory`` adds them
    from ``diagnostics/``), mappings default to empty, fields left out of the record (a snapshot's array, fields
    added in a later version) take their defaults, non-finite floats written as ``null`` come back as NaN.
    """

    @classmethod
    def from_record(cls, record: Mapping[str, Any]):
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if f.name not in record or not f.metadata.get("record", True):
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise RecordError(f"a {EVENT_NAMES[cls]!r} record has no {f.name!r}")
                continue
            value, kind = record[f.name], str(f.type)
            try:
                if "Diagnostics" in kind:
                    value = None if value is None else Diagnostics.from_record(value)
                elif "Mapping" in kind:
                    value = {str(k): (math.nan if v is None else v) for k, v in (value or {}).items()}
                elif kind == "float":
                    value = math.nan if value is None else float(value)
                elif kind == "int":
                    value = int(value)
            except (TypeError, ValueError, KeyError, AttributeError) as err:
                raise RecordError(f"a {EVENT_NAMES[cls]!r} record has a malformed {f.name!r} ({err})") from None
            kwargs[f.name] = value
        return cls(**kwargs)


@dataclass(frozen=True)
class RunStarted(_Recorded):
    run_id: str
    run_dir: str
    experiment: str
    device: str
    epochs: int
    steps_per_epoch: int
    start_epoch: int  # epochs already completed (0 for a fresh run)
    start_step: int
    n_train: int
    n_val: int
    n_test: int
    resumed: bool
    initial_diagnostics: Diagnostics | None = None
    baseline_probe_accuracy: float | None = None  # the online probe on the raw input features, for comparison
    split: str = ""  # which split the final evaluation scores on, e.g. "official test split (10000 samples)"

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


@dataclass(frozen=True)
class StepEnded(_Recorded):
    run_id: str
    epoch: int  # 1-based epoch this step belongs to
    step: int  # global optimiser steps done, 1-based
    batch: int  # 1-based batch within the epoch
    loss: float
    terms: Mapping[str, float]
    metrics: Mapping[str, float]
    lr: float
    samples_per_second: float
    elapsed: float  # seconds since the run (or resume) started


@dataclass(frozen=True)
class EpochEnded(_Recorded):
    run_id: str
    epoch: int
    step: int
    train_loss: float
    train_terms: Mapping[str, float]
    train_metrics: Mapping[str, float]
    val_loss: float | None
    val_terms: Mapping[str, float]
    val_metrics: Mapping[str, float]
    seconds: float
    lr: float
    diagnostics: Diagnostics | None = None  # of the representation
    projection_diagnostics: Diagnostics | None = None  # of the projector's output, where the loss acts


@dataclass(frozen=True)
class SnapshotReady(_Recorded):
    """Embeddings of the fixed display subset (``snapshots/subset.npy`` holds their dataset indices)."""

    run_id: str
    epoch: int
    step: int
    path: str
    embeddings: np.ndarray | None = field(default=None, repr=False, metadata=_NOT_RECORDED)  # None when replayed


@dataclass(frozen=True)
class CheckpointSaved(_Recorded):
    run_id: str
    epoch: int
    step: int
    path: str
    reason: str  # "epoch" | "requested" | "stop" | "final"


@dataclass(frozen=True)
class LearningRateChanged(_Recorded):
    run_id: str
    step: int
    base_lr: float
    lr: float


@dataclass(frozen=True)
class RunFinished(_Recorded):
    """Written to ``metrics.jsonl`` when a run ends; the generator's return value carries the same result."""

    run_id: str
    status: str  # "finished" | "stopped"
    epochs_completed: int
    steps: int
    seconds: float
    test: Mapping[str, float]
    verdict: str = ""  # "diverged" when the loss ended far above where it started; "" otherwise
    advice: str = ""  # what to try, in one sentence, when there is a verdict


Event = RunStarted | StepEnded | EpochEnded | SnapshotReady | CheckpointSaved | LearningRateChanged | RunFinished

EVENT_NAMES: dict[type, str] = {
    RunStarted: "run_started", StepEnded: "step", EpochEnded: "epoch", SnapshotReady: "snapshot",
    CheckpointSaved: "checkpoint", LearningRateChanged: "lr_changed", RunFinished: "run_finished",
}
EVENT_TYPES: dict[str, type] = {name: cls for cls, name in EVENT_NAMES.items()}


def event_from_record(record: Mapping[str, Any]) -> Event | None:
    """The event a ``metrics.jsonl`` record stands for; None for an event kind this version does not know (a
    newer writer's), so old readers skip what they cannot show. Raises :class:`RecordError` for a known kind
    with missing or malformed fields."""
    kind = record.get("event") if isinstance(record, Mapping) else None
    cls: Any = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    return None if cls is None else cls.from_record(record)


def _plain(value: Any) -> Any:
    if isinstance(value, Diagnostics):
        return value.to_record()
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def to_record(event: Any) -> dict[str, Any]:
    """The event as one JSON-ready object: ``{"event": name, ...fields}`` (large arrays left out)."""
    record: dict[str, Any] = {"event": EVENT_NAMES[type(event)]}
    for f in dataclasses.fields(event):
        if f.metadata.get("record", True):
            record[f.name] = _plain(getattr(event, f.name))
    return record


# ---- commands -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSnapshot:
    """Save the display subset's embeddings now (answered by a :class:`SnapshotReady`)."""


@dataclass(frozen=True)
class SaveCheckpoint:
    """Save a checkpoint now (answered by a :class:`CheckpointSaved`); resuming from it is exact."""


@dataclass(frozen=True)
class SetLearningRate:
    """Set the peak learning rate; the schedule keeps scaling it from the current step on."""

    lr: float

    def __post_init__(self) -> None:
        from core.errors import ConfigError

        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (0 < self.lr <= 10) or not math.isfinite(self.lr):
            raise ConfigError("training.lr", f"{self.lr!r} is out of range", value=self.lr, allowed="0 < value <= 10")


@dataclass(frozen=True)
class Stop:
    """Finish the current step, save a checkpoint and return with status ``"stopped"``."""


Command = RequestSnapshot | SaveCheckpoint | SetLearningRate | Stop
