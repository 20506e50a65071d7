"""SimSiam: a Siamese network that does not collapse thanks to a predictor and a stop-gradient."""
from __future__ import annotations

from dataclasses import dataclass

from core.distributed import gather
from core.models.heads import PredictionHead
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, ProjectorParams, TwoViewObjective
from core.params import param


@OBJECTIVES.register("simsiam", data_kinds=VIEW_KINDS,
                     collapse_guard="a stop-gradient on the target branch with a predictor (no negatives)",
                     collapse_advice="keep the stop-gradient on, keep BatchNorm on the projector output, lower the learning rate")
class SimSiam(TwoViewObjective):
    """Exploring simple Siamese representation learning (Chen & He, CVPR 2021).

    Both views go through the same encoder and projector (z = g(f(x)), with BatchNorm on its output); a
    bottleneck predictor h maps one view's projection to the other's. With stop-gradient (sg):
    :math:`\\mathcal L = \\tfrac12\\mathcal D(p_1, \\mathrm{sg}(z_2)) + \\tfrac12\\mathcal D(p_2, \\mathrm{sg}(z_1))`,
    :math:`\\mathcal D(p, z) = -\\cos(p, z)`. The stop-gradient is what prevents collapse; switch it off
    (``stop_gradient = false``) to watch every sample map to the same point.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ProjectorParams):
        projector_hidden: tuple[int, ...] = param((256, 256), label="Projector hidden widths", min=1, max=65536)
        predictor_hidden: int = param(32, label="Predictor bottleneck width", min=1, max=65536)
        output_batch_norm: bool = param(True, label="BatchNorm on projector output",
                                        help="The paper's projector ends with BatchNorm (no affine); it also keeps the "
                                             "projections from collapsing to one point, so the no-stop-gradient demo "
                                             "switches it off.")
        stop_gradient: bool = param(True, label="Stop-gradient",
                                    help="Off: gradients flow into the target branch too, and the model collapses.")

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.predictor = PredictionHead(params.projector_dim, params.predictor_hidden)

    def projector_output_bn(self) -> bool:
        return self.params.output_batch_norm

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        z1, z2 = gather(self.projector(self.encoder(v1))), gather(self.projector(self.encoder(v2)))
        p1, p2 = self.predictor(z1), self.predictor(z2)
        if self.params.stop_gradient:
            z1, z2 = z1.detach(), z2.detach()
        loss = 0.5 * Fn.negative_cosine(p1, z2) + 0.5 * Fn.negative_cosine(p2, z1)
        return LossOutput(loss=loss, terms={"negative_cosine": loss})
