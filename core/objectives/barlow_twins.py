"""Barlow Twins: make the cross-correlation of the two views' embeddings the identity."""
from __future__ import annotations

from dataclasses import dataclass

from core.distributed import gather
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, ProjectorParams, TwoViewObjective
from core.params import param


@OBJECTIVES.register("barlow_twins", data_kinds=VIEW_KINDS,
                     collapse_guard="redundancy reduction: the cross-correlation of the two views is pushed to the identity, which decorrelates dimensions",
                     collapse_advice="raise the off-diagonal weight λ, widen the projector, or lower the learning rate")
class BarlowTwins(TwoViewObjective):
    """Barlow Twins: self-supervised learning via redundancy reduction (Zbontar et al., ICML 2021).

    The projector outputs of the two views are standardised over the batch; their cross-correlation matrix
    :math:`C_{ij} = \\frac1N\\sum_b \\tilde z^1_{b,i}\\tilde z^2_{b,j}` is pushed to the identity:
    :math:`\\mathcal L = \\sum_i (1 - C_{ii})^2 + \\lambda\\sum_i\\sum_{j\\ne i} C_{ij}^2`, λ = 0.0051. The
    pressure: each dimension agrees across views (invariance) and carries information no other dimension
    carries (redundancy reduction), which rules out collapse.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ProjectorParams):
        projector_hidden: tuple[int, ...] = param((256, 256), label="Projector hidden widths", min=1, max=65536)
        projector_dim: int = param(256, label="Projection dimension", min=1, max=65536)
        lambd: float = param(0.0051, label="Off-diagonal weight λ", min=0.0, max=100.0)

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        # data-parallel: the cross-correlation of the whole global batch
        z1, z2 = gather(self.projector(self.encoder(v1))), gather(self.projector(self.encoder(v2)))
        on, off = Fn.barlow_twins(z1, z2, self.params.lambd)
        weighted_off = self.params.lambd * off
        return LossOutput(loss=on + weighted_off, terms={"on_diagonal": on, "off_diagonal": weighted_off})
