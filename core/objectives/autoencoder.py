"""Undercomplete autoencoder: the representation must hold enough to redraw the input."""
from __future__ import annotations

from dataclasses import dataclass

from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import REAL_KINDS, ReconstructionObjective, ReconstructionParams


@OBJECTIVES.register("autoencoder", data_kinds=REAL_KINDS)
class Autoencoder(ReconstructionObjective):
    """Reconstruct the input from its representation through a decoder (Hinton & Salakhutdinov, Science 2006).

    Loss: :math:`\\mathcal L = \\frac1N\\sum_i \\ell(g(f(x_i)), x_i)` with ℓ the squared error summed over
    features (MSE) or the Bernoulli negative log-likelihood (BCE, for inputs in [0, 1]). The bottleneck
    (representation smaller than the input) is the only pressure: keep whatever explains the most variance of
    the input, whether or not it matters for the labels.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        pass

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.build_decoder(encoder.out_dim)

    def forward(self, batch: Batch) -> LossOutput:
        loss = self.reconstruction_loss(self.decoder(self.encoder(batch.x)), batch.x)
        return LossOutput(loss=loss, terms={f"reconstruction_{self.params.loss}": loss})
