"""What every objective is: an ``nn.Module`` that owns its encoder and heads and returns a loss with named terms."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from core.data.base import DataSpec
from core.data.views import ViewPipeline
from core.models.encoders import Encoder
from core.params import Params
from core.registry import Registry


@dataclass
class Batch:
    """One mini-batch on the training device. ``index`` are the samples' positions in the dataset."""

    x: torch.Tensor
    y: torch.Tensor | None
    index: torch.Tensor
    # data-parallel training: the global batch this process's rows come from, and which rows are its own
    # (augmentations are drawn for the whole global batch, so every process sees the one-process views)
    global_x: torch.Tensor | None = None
    rows: slice | None = None


@dataclass
class LossOutput:
    """The scalar to minimise, its named parts (summing, after weights, to ``loss``) and batch metrics."""

    loss: torch.Tensor
    terms: dict[str, torch.Tensor] = field(default_factory=dict)
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)


class Objective(nn.Module):
    """Base of registered objectives.

    Subclasses set ``requires_labels``, build their heads in ``__init__`` and implement :meth:`forward`. The
    representation is always ``self.encoder(x)`` (:meth:`embed`), so every objective can be diagnosed,
    projected and probed the same way.
    """

    Params: type[Params]
    params: Any  # an instance of the subclass's own nested Params (typed Any: each reads its own fields)
    requires_labels: ClassVar[bool] = False
    #: multi-view objectives get the experiment's augmentation pipeline as ``self.views``
    uses_views: ClassVar[bool] = False
    #: the smallest batch the loss is defined for (statistics over the batch need at least two samples)
    min_batch_size: ClassVar[int] = 1

    def __init__(self, params: Any, encoder: Encoder, data: DataSpec, views: ViewPipeline | None = None):
        super().__init__()
        self.params = params
        self.encoder = encoder
        self.data = data
        self.views = views

    @classmethod
    def supports_encoder(cls, encoder_cls: type, kind: str) -> bool:
        """Whether this objective can train ``encoder_cls`` on ``kind`` data (beyond the registry's data kinds)."""
        return True

    def forward(self, batch: Batch) -> LossOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The representation that diagnostics, snapshots and probes read (the encoder's output by default)."""
        return self.encoder(x)

    def project(self, x: torch.Tensor) -> torch.Tensor | None:
        """The embedding the loss is computed on, when it differs from the representation (a projector's
        output); ``None`` otherwise. Collapse often shows there first (Chen & He, 2021, Fig. 2)."""
        return None

    def on_step_end(self, progress: float) -> None:
        """Called after every optimiser step with the share of training done (for EMA targets and schedules)."""

    def check_batch(self, batch: Batch) -> None:
        if batch.x.shape[0] < self.min_batch_size:
            from core.errors import ConfigError

            raise ConfigError("training.batch_size", f"{self.registry_name!r} needs batches of at least "
                              f"{self.min_batch_size} samples, got one of {batch.x.shape[0]}",
                              value=batch.x.shape[0], allowed=f"value >= {self.min_batch_size}")


OBJECTIVES: Registry[Objective] = Registry("objective", base=Objective, builtins=("core.objectives",))
