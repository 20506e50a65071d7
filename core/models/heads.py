"""Heads that objectives put on top of an encoder."""
from __future__ import annotations

import math

import torch
from torch import nn


class LinearClassifier(nn.Module):
    """A single linear layer from the representation to class logits."""

    def __init__(self, in_dim: int, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_dim, n_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(z)


class MLPDecoder(nn.Module):
    """Maps a representation back to a sample of shape ``out_shape`` (the mirror of an MLP encoder).

    Returns unbounded values: reconstruction losses decide how to read them (identity for MSE, logits for BCE).
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_shape: tuple[int, ...], activation: type[nn.Module] = nn.ReLU):
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), activation()]
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)
