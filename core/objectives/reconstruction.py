"""Shared parts of the objectives that redraw their input: the decoder and the reconstruction loss."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from core.errors import ConfigError
from core.models.heads import make_decoder
from core.objectives import functional as Fn
from core.objectives.base import Objective
from core.params import Params, param

REAL_KINDS = ("image", "sequence", "tabular", "audio", "embeddings")


@dataclass(frozen=True, kw_only=True)
class ReconstructionParams(Params):
    loss: Literal["mse", "bce"] = param("mse", label="Reconstruction loss",
                                        help="mse: squared error; bce: Bernoulli likelihood, inputs must lie in [0, 1].")
    decoder_hidden: tuple[int, ...] = param((), label="Decoder widths", min=1, max=65536,
                                            help="Hidden widths of an MLP decoder; empty = mirror the encoder.")


class ReconstructionObjective(Objective):
    """An objective with a decoder from a code of ``code_dim`` back to the input."""

    def build_decoder(self, code_dim: int, extra_inputs: int = 0) -> None:
        p = self.params
        if p.loss == "bce":
            lo_hi = self.data.value_range
            if lo_hi is None or lo_hi[0] < 0 or lo_hi[1] > 1:
                raise ConfigError("objective.params.loss", "'bce' needs inputs in [0, 1], but this data is not known to be",
                                  value="bce", allowed="'mse', or 'bce' with data.split.normalization = 'minmax'")
        self.decoder = make_decoder(self.encoder, code_dim + extra_inputs, self.data.sample_shape, p.decoder_hidden)

    def reconstruction_loss(self, out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.params.loss == "bce":
            return Fn.bce_reconstruction(out, target, mask)
        return Fn.mse_reconstruction(out, target, mask)

    def as_sample(self, out: torch.Tensor) -> torch.Tensor:
        """Decoder output in input space (sigmoid of the logits for BCE)."""
        return out.sigmoid() if self.params.loss == "bce" else out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The model's reconstruction of ``x`` in input space (for the reconstruction evaluation)."""
        return self.as_sample(self.decoder(self.embed(x)))
