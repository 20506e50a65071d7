"""Undercomplete autoencoder: the representation must hold enough to redraw the input."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.config.params import Params, param
from core.errors import ConfigError
from core.models.heads import MLPDecoder
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, DataSpec, LossOutput, Objective


@OBJECTIVES.register("autoencoder", data_kinds=("image", "sequence", "tabular", "audio", "embeddings"))
class Autoencoder(Objective):
    """Reconstruct the input from its representation through a decoder (Hinton & Salakhutdinov, Science 2006).

    Loss: :math:`\\mathcal L = \\frac1N\\sum_i \\ell(g(f(x_i)), x_i)` with ℓ the squared error summed over
    features (MSE) or the Bernoulli negative log-likelihood (BCE, for inputs in [0, 1]). The bottleneck
    (representation dimension smaller than the input) is the only pressure: keep whatever explains the most
    pixel variance, whether or not it matters for the labels.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        loss: Literal["mse", "bce"] = param("mse", label="Reconstruction loss",
                                            help="mse: squared error; bce: Bernoulli likelihood, inputs must lie in [0, 1].")
        decoder_hidden: tuple[int, ...] = param((), label="Decoder widths", min=1, max=65536,
                                                help="Hidden widths of the decoder; empty = mirror the encoder.")

    def __init__(self, params: "Autoencoder.Params", encoder, data: DataSpec):
        super().__init__(params, encoder, data)
        if params.loss == "bce":
            lo_hi = data.value_range
            if lo_hi is None or lo_hi[0] < 0 or lo_hi[1] > 1:
                raise ConfigError("objective.params.loss", "'bce' needs inputs in [0, 1], but this data is not known to be",
                                  value="bce", allowed="'mse', or 'bce' with data.split.normalization = 'minmax'")
        hidden = params.decoder_hidden or tuple(reversed(getattr(encoder.params, "hidden", ())))
        self.decoder = MLPDecoder(encoder.out_dim, hidden, data.sample_shape)

    def forward(self, batch: Batch) -> LossOutput:
        out = self.decoder(self.encoder(batch.x))
        if self.params.loss == "bce":
            loss = Fn.bce_reconstruction(out, batch.x)
        else:
            loss = Fn.mse_reconstruction(out, batch.x)
        return LossOutput(loss=loss, terms={f"reconstruction_{self.params.loss}": loss})

    def reconstruct(self, x):
        out = self.decoder(self.encoder(x))
        return out.sigmoid() if self.params.loss == "bce" else out
