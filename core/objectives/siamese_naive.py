"""The naive Siamese objective: pull two views together and nothing else. It collapses, by design."""
from __future__ import annotations

from dataclasses import dataclass

from core.distributed import gather
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, TwoViewObjective
from core.params import BaseParams


@OBJECTIVES.register("siamese_naive", data_kinds=VIEW_KINDS, teaching="collapses by design",
                     collapse_advice="it only pulls the two views together, with no negatives, variance term or "
                                     "stop-gradient: pick VICReg, SimCLR, BYOL, SimSiam or Barlow Twins to see what "
                                     "prevents it")
class SiameseNaive(TwoViewObjective):
    """Only invariance: :math:`\\mathcal L = \\frac1N\\sum_i 2 - 2\\cos(f(v^1_i), f(v^2_i))` on two views.

    No negatives, no predictor, no stop-gradient, no variance term: the cheapest minimum maps every input to
    the same vector, and that is what it finds (complete collapse). Here for teaching — compare it with
    SimCLR (negatives), BYOL/SimSiam (asymmetry) and VICReg/Barlow Twins (variance and decorrelation), which
    each add exactly what prevents this (cf. Chen & He, 2021, §4; Jing et al., ICLR 2022).
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        pass

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        loss = Fn.byol_regression(gather(self.encoder(v1)), gather(self.encoder(v2)))
        return LossOutput(loss=loss, terms={"alignment": loss})
