"""SimCLR: contrast each view's pair against every other sample in the batch."""
from __future__ import annotations

from dataclasses import dataclass

from core.distributed import gather
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, ProjectorParams, TwoViewObjective
from core.params import param


@OBJECTIVES.register("simclr", data_kinds=VIEW_KINDS,
                     collapse_guard="negatives: the contrastive NT-Xent loss pushes each sample away from the other samples of the batch",
                     collapse_advice="use a larger batch (more negatives), a lower temperature τ, or stronger augmentations")
class SimCLR(TwoViewObjective):
    """A simple framework for contrastive learning (Chen et al., ICML 2020).

    Two augmented views of every sample pass through the encoder and a projection head g; NT-Xent (InfoNCE
    with cosine similarity and temperature τ) makes each view pick out its pair among the 2N − 1 others:
    :math:`\\ell_i = -\\log\\frac{\\exp(\\operatorname{sim}(z_i, z_{j(i)})/\\tau)}{\\sum_{k\\ne i}\\exp(\\operatorname{sim}(z_i, z_k)/\\tau)}`,
    averaged over the 2N views. The pressure: pull the two views together, push different samples apart
    (uniformity on the sphere), so what survives is what the augmentations do not change.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ProjectorParams):
        temperature: float = param(0.2, label="Temperature τ", min=0.0, max=10.0, min_exclusive=True)

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        # data-parallel: the negatives are the whole global batch
        z1, z2 = gather(self.projector(self.encoder(v1))), gather(self.projector(self.encoder(v2)))
        loss, accuracy = Fn.nt_xent_with_accuracy(z1, z2, self.params.temperature)  # one similarity matrix
        return LossOutput(loss=loss, terms={"nt_xent": loss}, metrics={"contrastive_accuracy": accuracy})
