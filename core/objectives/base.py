"""What every objective is: an ``nn.Module`` that owns its encoder and heads and returns a loss with named terms."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import torch
from torch import nn

from core.config.params import Params
from core.models.encoders import Encoder
from core.registry import Registry


@dataclass(frozen=True)
class DataSpec:
    """What an objective may know about the data when it builds its heads."""

    kind: str
    sample_shape: tuple[int, ...]
    n_classes: int  # 0 when the data has no labels
    value_range: tuple[float, float] | None  # known bounds of the (normalised) inputs


@dataclass
class Batch:
    """One mini-batch on the training device. ``index`` are the samples' positions in the dataset."""

    x: torch.Tensor
    y: torch.Tensor | None
    index: torch.Tensor


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
    requires_labels: ClassVar[bool] = False

    def __init__(self, params: Params, encoder: Encoder, data: DataSpec):
        super().__init__()
        self.params = params
        self.encoder = encoder
        self.data = data

    def forward(self, batch: Batch) -> LossOutput:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)


OBJECTIVES: Registry[Objective] = Registry("objective", base=Objective)
