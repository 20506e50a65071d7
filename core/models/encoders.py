"""Encoders: networks that turn a sample into its representation vector.

Every encoder states its representation dimension (``out_dim``) and exposes its intermediate layers by name
(``layer_outputs``) so evaluations can probe where information lives.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from core.config.params import Params, param
from core.registry import Registry


class Encoder(nn.Module):
    """Base of registered encoders: ``forward(x) -> (batch, out_dim)`` for ``x`` of shape ``(batch, *input_shape)``."""

    Params: type[Params]
    out_dim: int

    def __init__(self, params: Params, input_shape: tuple[int, ...]):
        super().__init__()
        self.params = params
        self.input_shape = tuple(input_shape)

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each named layer's output, flattened to ``(batch, features)``, the last one being the representation."""
        raise NotImplementedError

    @property
    def layer_names(self) -> tuple[str, ...]:
        with torch.no_grad():
            dummy = torch.zeros((2, *self.input_shape), device=next(self.parameters()).device)
            was_training = self.training
            self.eval()
            names = tuple(self.layer_outputs(dummy))
            self.train(was_training)
        return names


ENCODERS: Registry[Encoder] = Registry("encoder", base=Encoder)

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}


def make_norm(kind: str, width: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm1d(width)
    if kind == "layer":
        return nn.LayerNorm(width)
    return nn.Identity()


@ENCODERS.register("mlp", data_kinds=("image", "sequence", "tabular", "audio", "embeddings"))
class MLPEncoder(Encoder):
    """Multi-layer perceptron on the flattened sample.

    Each hidden block is Linear → normalisation → activation → dropout; the last layer is a plain Linear to
    the representation dimension. Works on any fixed-size input.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        hidden: tuple[int, ...] = param((256, 128), label="Hidden widths", min=1, max=65536,
                                        help="Width of each hidden layer, input side first.")
        out_dim: int = param(64, label="Representation dimension", min=1, max=65536)
        activation: Literal["relu", "gelu", "silu", "tanh", "leaky_relu"] = param("relu", label="Activation")
        norm: Literal["none", "batch", "layer"] = param("none", label="Normalisation")
        dropout: float = param(0.0, label="Dropout", min=0.0, max=1.0, max_exclusive=True)

    def __init__(self, params: "MLPEncoder.Params", input_shape: tuple[int, ...]):
        super().__init__(params, input_shape)
        width = 1
        for s in input_shape:
            width *= int(s)
        self.blocks = nn.ModuleList()
        for h in params.hidden:
            self.blocks.append(nn.Sequential(
                nn.Linear(width, h), make_norm(params.norm, h), ACTIVATIONS[params.activation](),
                nn.Dropout(params.dropout) if params.dropout > 0 else nn.Identity(),
            ))
            width = h
        self.head = nn.Linear(width, params.out_dim)
        self.out_dim = params.out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for block in self.blocks:
            h = block(h)
        return self.head(h)

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        h = x.flatten(1)
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            out[f"hidden{i}"] = h
        out["representation"] = self.head(h)
        return out
