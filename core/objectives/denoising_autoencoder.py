"""Denoising autoencoder: redraw the clean input from a corrupted one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import REAL_KINDS, ReconstructionObjective, ReconstructionParams
from core.params import param


def corrupt(x: torch.Tensor, kind: str, level: float, value_range: tuple[float, float] | None) -> torch.Tensor:
    """Gaussian noise of std ``level``; masking noise (a share ``level`` of values set to 0); or salt-and-pepper
    (a share ``level`` set to the low or the high end of the range, half each)."""
    if kind == "gaussian":
        return x + level * torch.randn_like(x)
    hit = torch.rand_like(x) < level
    if kind == "masking":
        return x.masked_fill(hit, 0.0)
    lo, hi = value_range if value_range is not None else (float(x.min()), float(x.max()))
    salt = torch.rand_like(x) < 0.5
    return torch.where(hit, torch.where(salt, torch.full_like(x, hi), torch.full_like(x, lo)), x)


@OBJECTIVES.register("denoising_autoencoder", data_kinds=REAL_KINDS)
class DenoisingAutoencoder(ReconstructionObjective):
    """Reconstruct the clean input from a corrupted copy (Vincent et al., ICML 2008).

    :math:`\\mathcal L = \\frac1N\\sum_i \\ell(g(f(\\tilde x_i)), x_i)` with :math:`\\tilde x \\sim q(\\tilde x\\mid x)`:
    additive Gaussian noise, masking noise (values set to 0) or salt-and-pepper noise. The pressure: capture the
    structure that lets a damaged sample be repaired — the data's manifold — rather than copy the input.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        corruption: Literal["gaussian", "masking", "salt_pepper"] = param("masking", label="Corruption")
        level: float = param(0.3, label="Corruption level",
                             min=0.0, max=10.0, help="Noise std (gaussian) or share of values hit (masking, salt_pepper).")

        def check(self) -> None:
            from core.errors import ConfigError

            if self.corruption != "gaussian" and self.level > 1:
                raise ConfigError("level", f"{self.level:g} is a share of values for {self.corruption!r} corruption",
                                  value=self.level, allowed="0 <= value <= 1")

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.build_decoder(encoder.out_dim)

    def forward(self, batch: Batch) -> LossOutput:
        noisy = corrupt(batch.x, self.params.corruption, self.params.level, self.data.value_range)
        loss = self.reconstruction_loss(self.decoder(self.encoder(noisy)), batch.x)
        return LossOutput(loss=loss, terms={"reconstruction": loss})
