"""Sparse autoencoder: reconstruct through a code in which few units are active at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch

from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import REAL_KINDS, ReconstructionObjective, ReconstructionParams
from core.params import param


@OBJECTIVES.register("sparse_autoencoder", data_kinds=REAL_KINDS)
class SparseAutoencoder(ReconstructionObjective):
    """Reconstruction plus a sparsity penalty on the code (Ng, *Sparse autoencoder*, CS294A notes, 2011).

    ``penalty = "l1"``: the code is ReLU(f(x)) and :math:`\\mathcal L = \\text{rec} + \\lambda\\,\\frac1N\\sum_i\\lVert h_i\\rVert_1`.
    ``penalty = "kl"``: the code is σ(f(x)) ∈ (0, 1) and
    :math:`\\mathcal L = \\text{rec} + \\beta\\sum_j \\mathrm{KL}(\\rho\\,\\|\\,\\hat\\rho_j)` with :math:`\\hat\\rho_j` the
    mean activation of unit j over the batch (clamped, so never infinite). The pressure: explain each input with
    a few active features, which tends to give parts-like, more interpretable units. The representation is the code.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        penalty: Literal["l1", "kl"] = param("kl", label="Sparsity penalty")
        l1_weight: float = param(1e-3, label="L1 weight λ", min=0.0, max=100.0)
        rho: float = param(0.05, label="Target activation ρ", min=0.0, max=1.0, min_exclusive=True, max_exclusive=True)
        kl_weight: float = param(1.0, label="KL weight β", min=0.0, max=100.0)

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.build_decoder(encoder.out_dim)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        z = self.encoder(x)
        return torch.relu(z) if self.params.penalty == "l1" else torch.sigmoid(z)

    def forward(self, batch: Batch) -> LossOutput:
        code = self.embed(batch.x)
        rec = self.reconstruction_loss(self.decoder(code), batch.x)
        if self.params.penalty == "l1":
            sparsity = Fn.l1_activity(code)
            loss = rec + self.params.l1_weight * sparsity
        else:
            sparsity = Fn.kl_sparsity(code, self.params.rho)
            loss = rec + self.params.kl_weight * sparsity
        active = (code > (0.0 if self.params.penalty == "l1" else 0.5)).float().mean()
        return LossOutput(loss=loss, terms={"reconstruction": rec, f"sparsity_{self.params.penalty}": sparsity},
                          metrics={"active_fraction": active})
