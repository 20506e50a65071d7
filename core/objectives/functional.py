"""Pure loss terms, each a documented formula that tests compare with known values.

Conventions: ``z``/``p`` are ``(batch, dim)`` tensors; every function returns a scalar averaged over the batch
unless it says otherwise.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-6


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""Mean cross-entropy :math:`-\frac1N\sum_i \sum_c q_{ic}\log\operatorname{softmax}(z_i)_c`.

    With label smoothing :math:`\varepsilon`, :math:`q_{ic} = (1-\varepsilon)[c = y_i] + \varepsilon / C`
    (Szegedy et al., 2016).
    """
    return F.cross_entropy(logits, y, label_smoothing=label_smoothing)


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=1) == y).float().mean()


def mse_reconstruction(x_hat: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Squared error summed over features, averaged over samples: :math:`\frac1N\sum_i \lVert \hat x_i - x_i\rVert^2`.

    Summing over features keeps the scale of a Gaussian log-likelihood (what a VAE's ELBO uses). With a
    ``mask`` (same shape, 1 = counted), only masked values count and the sum is over them.
    """
    err = (x_hat - x).pow(2)
    if mask is not None:
        err = err * mask
    return err.flatten(1).sum(dim=1).mean()


def bce_reconstruction(logits: torch.Tensor, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Bernoulli negative log-likelihood summed over features, for targets in [0, 1], from logits:
    :math:`-\frac1N\sum_i\sum_j x_{ij}\log\sigma(\ell_{ij}) + (1-x_{ij})\log(1-\sigma(\ell_{ij}))`."""
    err = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    if mask is not None:
        err = err * mask
    return err.flatten(1).sum(dim=1).mean()


def l1_activity(z: torch.Tensor) -> torch.Tensor:
    r"""Sparse coding penalty :math:`\frac1N\sum_i \lVert z_i\rVert_1`."""
    return z.abs().sum(dim=1).mean()


def kl_sparsity(code: torch.Tensor, rho: float) -> torch.Tensor:
    r"""KL sparsity penalty (Ng, *Sparse autoencoder*, CS294A notes 2011) on a code in (0, 1):

    :math:`\sum_j \rho\log\frac{\rho}{\hat\rho_j} + (1-\rho)\log\frac{1-\rho}{1-\hat\rho_j}`, with
    :math:`\hat\rho_j` the batch mean activation of unit j, clamped away from 0 and 1 so it is never infinite.
    """
    rho_hat = code.mean(dim=0).clamp(_EPS, 1 - _EPS)
    return (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()


def kl_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    r"""KL(N(μ, σ²) ‖ N(0, I)) per sample, averaged: :math:`\frac12\sum_j \mu_j^2 + \sigma_j^2 - \log\sigma_j^2 - 1`
    (Kingma & Welling, 2014, appendix B). For μ = 1, log σ² = 0 it is 0.5 per dimension."""
    return 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum(dim=1).mean()


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    r"""NT-Xent / InfoNCE of SimCLR (Chen et al., ICML 2020), over the 2N views of a batch of N pairs.

    With :math:`s_{ij}` the cosine similarity, each view i has one positive (its pair) and 2N − 2 negatives:
    :math:`\ell_i = -\log\frac{\exp(s_{i,j(i)}/\tau)}{\sum_{k\ne i}\exp(s_{ik}/\tau)}`, averaged over the 2N views.
    When all embeddings are collinear every term is :math:`\log(2N-1)`. Robustness: ``F.normalize`` divides by
    :math:`\max(\lVert z\rVert, 10^{-12})`, so a zero embedding gives similarity 0 rather than NaN.
    """
    return nt_xent_with_accuracy(z1, z2, temperature)[0]


def nt_xent_with_accuracy(z1: torch.Tensor, z2: torch.Tensor, temperature: float
                          ) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`nt_xent` and :func:`contrastive_accuracy` from one 2N x 2N similarity matrix (the accuracy is
    its argmax, detached: dividing by τ > 0 keeps the order)."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature
    sim = sim.masked_fill(torch.eye(2 * n, dtype=torch.bool, device=z.device), float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    accuracy = (sim.detach().argmax(dim=1) == targets).float().mean()
    return F.cross_entropy(sim, targets), accuracy


def contrastive_accuracy(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """Share of the 2N views whose most similar other view (cosine) is their own pair: the NT-Xent task solved
    by argmax. Chance is 1 / (2N − 1); near 1 the views are too easy to tell apart to teach much."""
    n = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = (z @ z.T).fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    return (sim.argmax(dim=1) == targets).float().mean()


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""SimSiam's :math:`\mathcal D(p, z) = -\frac{p}{\lVert p\rVert}\cdot\frac{z}{\lVert z\rVert}`, averaged."""
    return -F.cosine_similarity(p, z, dim=1).mean()


def byol_regression(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    r"""BYOL's normalised MSE :math:`\lVert \bar p - \bar z\rVert_2^2 = 2 - 2\cos(p, z)`, averaged."""
    return (2 - 2 * F.cosine_similarity(p, z, dim=1)).mean()


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """The off-diagonal entries of a square matrix, flattened."""
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def vicreg_invariance(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    r""":math:`s(Z, Z') = \frac{1}{Nd}\sum_i\lVert z_i - z'_i\rVert^2` (mean squared error, as in the authors' code)."""
    return F.mse_loss(z1, z2)


def vicreg_variance(z: torch.Tensor, gamma: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    r"""Hinge on the std of each dimension: :math:`\frac1d\sum_j \max(0, \gamma - \sqrt{\operatorname{Var}(z_{:,j}) + \epsilon})`
    (Bardes et al., ICLR 2022; unbiased variance over the batch). :math:`\epsilon = 10^{-4}`, as in the paper,
    keeps the square root's gradient finite when a dimension collapses."""
    std = torch.sqrt(z.var(dim=0) + eps)
    return F.relu(gamma - std).mean()


def vicreg_covariance(z: torch.Tensor) -> torch.Tensor:
    r"""Sum of squared off-diagonal covariances over d: :math:`\frac1d\sum_{i\ne j} C(Z)_{ij}^2`."""
    n, d = z.shape
    zc = z - z.mean(dim=0)
    cov = zc.T @ zc / (n - 1)
    return off_diagonal(cov).pow(2).sum() / d


def barlow_twins(z1: torch.Tensor, z2: torch.Tensor, lambd: float) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Barlow Twins (Zbontar et al., ICML 2021): the cross-correlation :math:`C = \frac1N \tilde Z_1^\top\tilde Z_2` of
    the batch-standardised embeddings, driven to the identity.

    Returns the two parts, :math:`\sum_i (1 - C_{ii})^2` and :math:`\sum_{i\ne j} C_{ij}^2`; the loss is
    ``on + lambd * off``. Identical, perfectly decorrelated views give 0.

    Robustness choice: each dimension's (biased) batch std is clamped at 1e-6 before dividing, so a constant
    dimension contributes :math:`C_{ii} = 0` (a penalty of 1) instead of NaN. The authors' code standardises
    with a non-affine BatchNorm, which adds eps = 1e-5 to the variance; the two agree to ~1e-5 whenever the
    std is well above those floors.
    """
    n = z1.shape[0]
    z1n = (z1 - z1.mean(0)) / z1.std(0, unbiased=False).clamp_min(_EPS)
    z2n = (z2 - z2.mean(0)) / z2.std(0, unbiased=False).clamp_min(_EPS)
    c = z1n.T @ z2n / n
    on = (torch.diagonal(c) - 1).pow(2).sum()
    off = off_diagonal(c).pow(2).sum()
    return on, off


def cross_correlation(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """The Barlow Twins cross-correlation matrix (for the diagnostics view)."""
    z1n = (z1 - z1.mean(0)) / z1.std(0, unbiased=False).clamp_min(_EPS)
    z2n = (z2 - z2.mean(0)) / z2.std(0, unbiased=False).clamp_min(_EPS)
    return z1n.T @ z2n / z1.shape[0]


def edge_logistic(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Link prediction with negative sampling (as in node2vec / GAE): :math:`-\log\sigma(z_u\cdot z_v)` for true
    edges and :math:`-\log\sigma(-z_u\cdot z_{v'})` for sampled non-edges; returns both means."""
    pos = F.binary_cross_entropy_with_logits(pos_logits, torch.ones_like(pos_logits))
    neg = F.binary_cross_entropy_with_logits(neg_logits, torch.zeros_like(neg_logits))
    return pos, neg
