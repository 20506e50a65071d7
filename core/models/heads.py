"""Heads that objectives put on top of an encoder: projection, prediction, decoders, linear classifier."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class LinearClassifier(nn.Module):
    """A single linear layer from the representation to class logits."""

    def __init__(self, in_dim: int, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_dim, n_classes)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(z)


def mlp_head(in_dim: int, hidden: tuple[int, ...], out_dim: int, *, batch_norm: bool = True,
             last_batch_norm: bool = False) -> nn.Sequential:
    """Linear → BN → ReLU blocks, then a Linear to ``out_dim`` (optionally followed by an affine-free BN).

    The shape used by SimCLR / BYOL / SimSiam / VICReg / Barlow Twins projectors and predictors.
    """
    layers: list[nn.Module] = []
    width = in_dim
    for h in hidden:
        layers += [nn.Linear(width, h, bias=not batch_norm)]
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(nn.ReLU(inplace=True))
        width = h
    layers.append(nn.Linear(width, out_dim, bias=not last_batch_norm))
    if last_batch_norm:
        layers.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers)


class ProjectionHead(nn.Sequential):
    """Maps the representation to the space where a self-supervised loss is computed (Chen et al., 2020)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_dim: int, last_batch_norm: bool = False):
        super().__init__(*mlp_head(in_dim, hidden, out_dim, last_batch_norm=last_batch_norm))


class PredictionHead(nn.Sequential):
    """The online branch's predictor of BYOL / SimSiam: a bottleneck MLP from projection to projection."""

    def __init__(self, dim: int, hidden: int):
        super().__init__(*mlp_head(dim, (hidden,), dim))


class MLPDecoder(nn.Module):
    """Maps a code back to a sample of shape ``out_shape`` (the mirror of an MLP encoder).

    Returns unbounded values: reconstruction losses decide how to read them (identity for MSE, logits for BCE).
    """

    def __init__(self, in_dim: int, hidden: tuple[int, ...], out_shape: tuple[int, ...]):
        super().__init__()
        self.out_shape = tuple(out_shape)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, math.prod(self.out_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


class ConvDecoder2d(nn.Module):
    """The mirror of the 2-D CNN: a linear layer to a small feature map, then upsampling convolutions.

    The feature map starts at the encoder's smallest resolution with its last channel count and doubles
    until it covers the image; the output is resized to exactly ``(C, H, W)``.
    """

    def __init__(self, in_dim: int, channels: tuple[int, ...], out_shape: tuple[int, ...]):
        super().__init__()
        self.out_shape = tuple(out_shape) if len(out_shape) == 3 else (1, *out_shape)
        c, h, w = self.out_shape
        ups = max(0, len(channels) - 1)
        while ups > 0 and (min(h, w) / 2**ups) < 2:
            ups -= 1
        self.start = (max(1, math.ceil(h / 2**ups)), max(1, math.ceil(w / 2**ups)))
        widths = list(reversed(channels)) or [32]
        self.fc = nn.Linear(in_dim, widths[0] * self.start[0] * self.start[1])
        layers: list[nn.Module] = []
        width = widths[0]
        for i in range(ups):
            nxt = widths[min(i + 1, len(widths) - 1)]
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(width, nxt, 3, padding=1), nn.ReLU()]
            width = nxt
        layers.append(nn.Conv2d(width, c, 3, padding=1))
        self.net = nn.Sequential(*layers)
        self.first_width = widths[0]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.fc(z).view(z.shape[0], self.first_width, *self.start)
        out = self.net(F.relu(h))
        if out.shape[-2:] != self.out_shape[-2:]:
            out = F.interpolate(out, size=self.out_shape[-2:], mode="bilinear", align_corners=False)
        return out


def make_decoder(encoder: nn.Module, in_dim: int, out_shape: tuple[int, ...],
                 hidden: tuple[int, ...] = ()) -> nn.Module:
    """A decoder that mirrors ``encoder``: convolutional for the 2-D CNN, an MLP otherwise.

    ``hidden`` overrides the MLP decoder's widths; by default they mirror an MLP encoder's, else (256,).
    """
    from core.models.encoders import CNN2dEncoder

    if isinstance(encoder, CNN2dEncoder) and not hidden:
        return ConvDecoder2d(in_dim, encoder.params.channels, out_shape)
    widths = hidden or tuple(reversed(getattr(encoder.params, "hidden", ()))) or (256,)
    return MLPDecoder(in_dim, widths, out_shape)
