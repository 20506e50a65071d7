"""An example plugin: a linear encoder, registered under the name "linear_projection".

Use it from an experiment file (the module must be importable: on PYTHONPATH, installed, or a file path
next to the experiment):

    plugins = ["./my_encoder_plugin.py"]

    [encoder]
    name = "linear_projection"
    params = { out_dim = 16 }

or on the command line: ``replearn train exp.toml --plugin my_encoder_plugin``.
"""
from dataclasses import dataclass

import torch
from torch import nn

from core import ENCODERS, Encoder, Params, param


@ENCODERS.register("linear_projection", data_kinds=("tabular", "image", "embeddings", "sequence", "audio"))
class LinearProjection(Encoder):
    """One linear map of the flattened sample: the simplest encoder, and a baseline for the others."""

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        out_dim: int = param(16, label="Representation dimension", min=1, max=65536)

    def __init__(self, params, data):
        super().__init__(params, data)
        self.linear = nn.Linear(data.n_features, params.out_dim)
        self.out_dim = params.out_dim

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"representation": self.linear(x.flatten(1))}
