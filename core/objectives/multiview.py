"""Shared parts of the objectives that compare two augmented views of each sample."""
from __future__ import annotations

from dataclasses import dataclass

import torch

from core.objectives.base import Batch, Objective
from core.params import Params, param

VIEW_KINDS = ("image", "sequence", "audio", "tabular", "embeddings", "tokens")


@dataclass(frozen=True, kw_only=True)
class ProjectorParams(Params):
    projector_hidden: tuple[int, ...] = param((256,), label="Projector hidden widths", min=1, max=65536,
                                              help="Linear → BatchNorm → ReLU blocks before the output layer.")
    projector_dim: int = param(64, label="Projection dimension", min=1, max=65536)


class TwoViewObjective(Objective):
    """Draws two independent views of each sample from the experiment's augmentation pipeline; objectives whose
    Params derive from :class:`ProjectorParams` get their projection head built here."""

    uses_views = True
    min_batch_size = 2  # every multi-view loss compares a sample with others in its batch

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if isinstance(params, ProjectorParams):
            from core.models.heads import ProjectionHead

            self.projector = ProjectionHead(encoder.out_dim, params.projector_hidden, params.projector_dim,
                                            last_batch_norm=self.projector_output_bn())

    def projector_output_bn(self) -> bool:
        """Whether the projector ends with an affine-free BatchNorm (SimSiam's does)."""
        return False

    def two_views(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        assert self.views is not None  # the engine gives multi-view objectives their pipeline
        if batch.global_x is not None:  # data-parallel: the global batch's views, then this process's rows
            v1, v2 = self.views(batch.global_x), self.views(batch.global_x)
            return v1[batch.rows], v2[batch.rows]
        return self.views(batch.x), self.views(batch.x)

    def project(self, x: torch.Tensor) -> torch.Tensor | None:
        projector = getattr(self, "projector", None)
        return projector(self.encoder(x)) if projector is not None else None
