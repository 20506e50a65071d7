"""Variational autoencoder: a probabilistic code whose prior is a standard Gaussian."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import REAL_KINDS, ReconstructionObjective, ReconstructionParams
from core.params import param

ACTIVE_UNIT_THRESHOLD = 0.01


def active_units(mu: torch.Tensor, threshold: float = ACTIVE_UNIT_THRESHOLD) -> torch.Tensor:
    """Burda et al. (2016): unit j is active when Var_x(E[z_j | x]) = Var(μ_j) > 0.01."""
    return (mu.var(dim=0) > threshold).sum().float()


@OBJECTIVES.register("vae", data_kinds=REAL_KINDS)
class VAE(ReconstructionObjective):
    """Variational autoencoder (Kingma & Welling, ICLR 2014) with a β weight (Higgins et al., ICLR 2017).

    The encoder's output feeds two linear heads, μ(x) and log σ²(x); a code is drawn by reparameterisation,
    :math:`z = \\mu + \\sigma\\odot\\epsilon`, ε ~ N(0, I), and decoded. The loss is the negative ELBO,
    :math:`\\mathcal L = \\mathbb E_q[-\\log p(x\\mid z)] + \\beta\\,\\mathrm{KL}(q(z\\mid x)\\,\\|\\,\\mathcal N(0, I))`,
    with :math:`\\mathrm{KL} = \\frac12\\sum_j \\mu_j^2 + \\sigma_j^2 - \\log\\sigma_j^2 - 1`. The pressure: a smooth,
    Gaussian-shaped code; a large β trades reconstruction for disentangled, fewer active units. The
    representation is μ(x). Reports the active units (Var_x μ_j > 0.01).
    """

    min_batch_size = 2  # active units are a variance over the batch

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        latent_dim: int = param(16, label="Latent dimension", min=1, max=4096)
        beta: float = param(1.0, label="KL weight β", min=0.0, max=1000.0)

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        self.mu = nn.Linear(encoder.out_dim, params.latent_dim)
        self.logvar = nn.Linear(encoder.out_dim, params.latent_dim)
        self.build_decoder(params.latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.encoder(x)
        return self.mu(h), self.logvar(h).clamp(-30.0, 20.0)  # keeps exp() finite

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x)[0]

    def forward(self, batch: Batch) -> LossOutput:
        mu, logvar = self.encode(batch.x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)  # sampled in evaluation too: an honest ELBO
        rec = self.reconstruction_loss(self.decoder(z), batch.x)
        kl = Fn.kl_standard_normal(mu, logvar)
        loss = rec + self.params.beta * kl
        return LossOutput(loss=loss, terms={"reconstruction": rec, "kl": kl},
                          metrics={"active_units": active_units(mu.detach()), "elbo": -(rec + kl).detach()})
