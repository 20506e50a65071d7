"""BYOL: predict a slowly moving average of yourself, with no negatives."""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn

from core.distributed import gather
from core.models.heads import PredictionHead
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, ProjectorParams, TwoViewObjective
from core.params import param


def momentum_at(base: float, progress: float) -> float:
    """BYOL's schedule τ = 1 − (1 − τ_base)(cos(π·progress) + 1)/2: τ_base at the start, 1 at the end."""
    return 1.0 - (1.0 - base) * (math.cos(math.pi * min(max(progress, 0.0), 1.0)) + 1.0) / 2.0


@torch.no_grad()
def ema_update(target: torch.nn.Module, online: torch.nn.Module, tau: float) -> None:
    """ξ ← τ ξ + (1 − τ) θ for every parameter; buffers (BatchNorm statistics) are copied."""
    for t, o in zip(target.parameters(), online.parameters(), strict=True):
        t.mul_(tau).add_(o.detach(), alpha=1.0 - tau)
    for tb, ob in zip(target.buffers(), online.buffers(), strict=True):
        tb.copy_(ob)


@OBJECTIVES.register("byol", data_kinds=VIEW_KINDS,
                     collapse_guard="an asymmetric predictor with an EMA target network (no negatives)",
                     collapse_advice="raise the EMA momentum τ towards 0.996, lower the learning rate, or widen the predictor")
class BYOL(TwoViewObjective):
    """Bootstrap Your Own Latent (Grill et al., NeurIPS 2020).

    An online network (encoder f_θ, projector g_θ, predictor q_θ) predicts the projection of the other view
    made by a target network (f_ξ, g_ξ), an exponential moving average of the online weights,
    ξ ← τξ + (1 − τ)θ, with τ rising from τ_base = 0.99 to 1 on a cosine schedule. No gradient flows into the
    target. Loss, symmetrised over the two views:
    :math:`\\mathcal L = \\lVert\\bar q_\\theta(z_1) - \\bar z'_2\\rVert^2 + \\lVert\\bar q_\\theta(z_2) - \\bar z'_1\\rVert^2`,
    each term being :math:`2 - 2\\cos`. The pressure: invariance to the views, with collapse avoided by the
    predictor and the slow target rather than by negatives. The representation is the online encoder's.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ProjectorParams):
        predictor_hidden: int = param(256, label="Predictor hidden width", min=1, max=65536)
        base_momentum: float = param(0.99, label="Base EMA momentum τ", min=0.0, max=1.0)
        predictor: bool = param(True, label="Predictor",
                                help="Off: the online projection is compared with the target's directly. A "
                                     "teaching switch: without the predictor BYOL collapses (Grill et al., 2020, §5).")

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.predictor = (PredictionHead(params.projector_dim, params.predictor_hidden) if params.predictor
                          else nn.Identity())
        self.target_encoder = copy.deepcopy(encoder)
        self.target_projector = copy.deepcopy(self.projector)
        for p in list(self.target_encoder.parameters()) + list(self.target_projector.parameters()):
            p.requires_grad_(False)
        self.momentum = params.base_momentum

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        p1 = gather(self.predictor(self.projector(self.encoder(v1))))
        p2 = gather(self.predictor(self.projector(self.encoder(v2))))
        with torch.no_grad():
            t1 = gather(self.target_projector(self.target_encoder(v1)))
            t2 = gather(self.target_projector(self.target_encoder(v2)))
        loss = Fn.byol_regression(p1, t2) + Fn.byol_regression(p2, t1)
        return LossOutput(loss=loss, terms={"regression": loss})

    def on_step_end(self, progress: float) -> None:
        self.momentum = momentum_at(self.params.base_momentum, progress)
        ema_update(self.target_encoder, self.encoder, self.momentum)
        ema_update(self.target_projector, self.projector, self.momentum)
