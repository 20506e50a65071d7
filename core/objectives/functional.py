"""Pure loss terms, each a documented formula that tests compare with known values."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
    r"""Mean cross-entropy :math:`-\frac1N\sum_i \sum_c q_{ic}\log\operatorname{softmax}(z_i)_c`.

    With label smoothing :math:`\varepsilon`, :math:`q_{ic} = (1-\varepsilon)[c = y_i] + \varepsilon / C`
    (Szegedy et al., 2016).
    """
    return F.cross_entropy(logits, y, label_smoothing=label_smoothing)


def mse_reconstruction(x_hat: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Mean squared error per sample, summed over features: :math:`\frac1N\sum_i \lVert \hat x_i - x_i\rVert^2`.

    Summing over features (rather than averaging) keeps the scale comparable with a Gaussian log-likelihood,
    which is what a VAE's ELBO uses.
    """
    return (x_hat - x).pow(2).flatten(1).sum(dim=1).mean()


def bce_reconstruction(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    r"""Bernoulli negative log-likelihood per sample, summed over features, for targets in [0, 1].

    :math:`-\frac1N\sum_i\sum_j x_{ij}\log\sigma(\ell_{ij}) + (1-x_{ij})\log(1-\sigma(\ell_{ij}))`, computed from
    logits for numerical stability.
    """
    return F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1).mean()


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(dim=1) == y).float().mean()
