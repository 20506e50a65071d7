"""VICReg: invariance, with variance and covariance regularisation to keep every dimension informative."""
from __future__ import annotations

from dataclasses import dataclass

from core.distributed import gather
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.multiview import VIEW_KINDS, ProjectorParams, TwoViewObjective
from core.params import param


@OBJECTIVES.register("vicreg", data_kinds=VIEW_KINDS,
                     collapse_guard="variance regularisation (the variance hinge keeps every dimension's std near γ) and a covariance penalty that decorrelates dimensions",
                     collapse_advice="raise the variance weight μ or the covariance weight ν, lower the learning rate, or widen the expander")
class VICReg(TwoViewObjective):
    """Variance-Invariance-Covariance Regularization (Bardes, Ponce & LeCun, ICLR 2022).

    On the expander's outputs Z, Z′ of the two views:
    :math:`\\mathcal L = \\lambda\\,s(Z, Z') + \\mu\\,[v(Z) + v(Z')]/2 + \\nu\\,[c(Z) + c(Z')]` with the invariance
    :math:`s` = mean squared error, the variance hinge
    :math:`v(Z) = \\frac1d\\sum_j\\max(0, \\gamma - \\sqrt{\\operatorname{Var}(Z_{:,j}) + \\epsilon})` (γ = 1, ε = 1e-4)
    and the covariance penalty :math:`c(Z) = \\frac1d\\sum_{i\\ne j}C(Z)_{ij}^2`; λ = μ = 25, ν = 1 as in the paper
    and the authors' code. The pressure: be invariant, but keep every dimension spread out (no collapse) and
    decorrelated (no redundancy). The reported terms are the weighted parts; they add up to the loss.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ProjectorParams):
        projector_hidden: tuple[int, ...] = param((256, 256), label="Expander hidden widths", min=1, max=65536)
        projector_dim: int = param(256, label="Expander dimension", min=1, max=65536)
        sim_weight: float = param(25.0, label="Invariance weight λ", min=0.0, max=1e4)
        var_weight: float = param(25.0, label="Variance weight μ", min=0.0, max=1e4)
        cov_weight: float = param(1.0, label="Covariance weight ν", min=0.0, max=1e4)
        gamma: float = param(1.0, label="Target std γ", min=0.0, max=100.0, min_exclusive=True)

    def forward(self, batch: Batch) -> LossOutput:
        v1, v2 = self.two_views(batch)
        # data-parallel: variance and covariance over the whole global batch
        return vicreg_loss(gather(self.projector(self.encoder(v1))), gather(self.projector(self.encoder(v2))),
                           self.params)


def vicreg_loss(z1, z2, p: VICReg.Params) -> LossOutput:
    """The weighted VICReg loss of two batches of embeddings; the terms are the weighted parts."""
    inv = p.sim_weight * Fn.vicreg_invariance(z1, z2)
    var = p.var_weight * (Fn.vicreg_variance(z1, p.gamma) + Fn.vicreg_variance(z2, p.gamma)) / 2
    cov = p.cov_weight * (Fn.vicreg_covariance(z1) + Fn.vicreg_covariance(z2))
    return LossOutput(loss=inv + var + cov, terms={"invariance": inv, "variance": var, "covariance": cov})
