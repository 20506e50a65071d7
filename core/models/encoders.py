"""Encoders: networks that turn a sample into its representation vector.

Every encoder states its representation dimension (``out_dim``) and exposes its intermediate layers by name
(:meth:`Encoder.layer_outputs`) so evaluations can probe where information lives; registry metadata
``layer_probes=True`` says its layers are worth probing one by one (the ``layerwise`` evaluation reads it), and
``data_kinds`` which data it reads. Sequence encoders over ids also give per-position states
(:meth:`Encoder.sequence_outputs`) for token-level objectives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from torch import nn

from core.data.base import MASK_ID, PAD_ID, DataSpec
from core.errors import ConfigError
from core.params import BaseParams, Params, param
from core.registry import Registry


class Encoder(nn.Module):
    """Base of registered encoders: ``forward(x) -> (batch, out_dim)`` for ``x`` of shape ``(batch, *sample_shape)``."""

    Params: type[Params]
    params: Any  # an instance of the subclass's own nested Params (typed Any: each reads its own fields)
    out_dim: int
    # TorchScript compiles every property unless told not to; these are Python-side helpers, not the graph
    __jit_unused_properties__: ClassVar[list[str]] = ["sequence_width", "layer_names"]
    #: True when the encoder reads ids (tokens, node ids) rather than real-valued features
    reads_ids: bool = False

    def __init__(self, params: Any, data: DataSpec):
        super().__init__()
        self.params = params
        self.data = data
        self.input_shape = tuple(data.sample_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_outputs(x)["representation"]

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Each named layer's output as ``(batch, features)``; the last one, ``representation``, is the output."""
        raise NotImplementedError

    def sequence_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """Per-position states ``(batch, length, width)``; only sequence encoders over ids have them."""
        raise NotImplementedError(f"the {type(self).__name__} has no per-position outputs")

    @property
    def sequence_width(self) -> int:
        """Width of the per-position states; 0 = none (a plain value, so that TorchScript's inspection of the
        module's attributes does not trip over it)."""
        return 0

    @property
    def layer_names(self) -> tuple[str, ...]:
        device = next(self.parameters()).device
        dummy = torch.zeros((2, *self.input_shape), device=device)
        was_training = self.training
        self.eval()
        with torch.no_grad():
            names = tuple(self.layer_outputs(dummy))
        self.train(was_training)
        return names


ENCODERS: Registry[Encoder] = Registry("encoder", base=Encoder)

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh, "leaky_relu": nn.LeakyReLU}
Activation = Literal["relu", "gelu", "silu", "tanh", "leaky_relu"]


def make_norm(kind: str, width: int, dims: int = 0) -> nn.Module:
    """``dims`` = 0 for vectors, 1 for (C, T) signals, 2 for (C, H, W) images."""
    if kind == "batch":
        return (nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d)[dims](width)
    if kind == "layer":
        return nn.LayerNorm(width) if dims == 0 else nn.GroupNorm(1, width)
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, width), width)
    return nn.Identity()


@ENCODERS.register("mlp", data_kinds=("image", "sequence", "tabular", "audio", "embeddings"), layer_probes=True)
class MLPEncoder(Encoder):
    """Multi-layer perceptron on the flattened sample.

    Each hidden block is Linear → normalisation → activation → dropout; the last layer is a plain Linear to
    the representation dimension. Works on any fixed-size input.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        hidden: tuple[int, ...] = param((256, 128), label="Hidden widths", min=1, max=65536,
                                        help="Width of each hidden layer, input side first.")
        out_dim: int = param(64, label="Representation dimension", min=1, max=65536)
        activation: Activation = param("relu", label="Activation")
        norm: Literal["none", "batch", "layer"] = param("none", label="Normalisation")
        dropout: float = param(0.0, label="Dropout", min=0.0, max=1.0, max_exclusive=True)

    def __init__(self, params: MLPEncoder.Params, data: DataSpec):
        super().__init__(params, data)
        width = data.n_features
        self.blocks = nn.ModuleList()
        for h in params.hidden:
            self.blocks.append(nn.Sequential(
                nn.Linear(width, h), make_norm(params.norm, h), ACTIVATIONS[params.activation](),
                nn.Dropout(params.dropout) if params.dropout > 0 else nn.Identity(),
            ))
            width = h
        self.head = nn.Linear(width, params.out_dim)
        self.out_dim = params.out_dim

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        out: dict[str, torch.Tensor] = {}
        h = x.flatten(1)
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            out[f"hidden{i}"] = h
        out["representation"] = self.head(h)
        return out


class _ConvEncoder(Encoder):
    """Shared body of the 2-D and 1-D CNNs: conv blocks that halve the resolution, global average pooling,
    then a linear layer to the representation. Layer outputs are the pooled feature maps."""

    dims: int = 2

    def __init__(self, params, data: DataSpec):
        super().__init__(params, data)
        shape = self._channels_first(data.sample_shape)
        conv = nn.Conv2d if self.dims == 2 else nn.Conv1d
        channels = shape[0]
        self.blocks = nn.ModuleList()
        size = min(shape[1:])
        for i, width in enumerate(params.channels):
            stride = 2 if (i > 0 and size >= 4) else 1  # keep tiny inputs (8x8 digits) from vanishing
            size = math.ceil(size / stride)
            self.blocks.append(nn.Sequential(
                conv(channels, width, params.kernel_size, stride=stride, padding=params.kernel_size // 2),
                make_norm(params.norm, width, self.dims), ACTIVATIONS[params.activation](),
            ))
            channels = width
        self.flatten = getattr(params, "pooling", "average") == "flatten"
        if self.flatten:  # the head reads the whole last feature map: where things are survives
            with torch.no_grad():
                h = torch.zeros(1, *shape)
                for block in self.blocks:
                    h = block.eval()(h)
                for block in self.blocks:
                    block.train()
            channels = h.numel()
        self.head = nn.Linear(channels, params.out_dim)
        self.out_dim = params.out_dim

    def _channels_first(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if len(shape) == self.dims + 1:
            return shape
        if len(shape) == self.dims:
            return (1, *shape)
        raise ConfigError("encoder.name", f"the {self.registry_name!r} encoder needs samples of shape "
                          f"{'(C, H, W) or (H, W)' if self.dims == 2 else '(C, T) or (T,)'}, got {shape}",
                          value=self.registry_name)

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if x.dim() == self.dims + 1:
            x = x.unsqueeze(1)
        out: dict[str, torch.Tensor] = {}
        h = x
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            out[f"conv{i}"] = h.flatten(2).mean(dim=2)  # pooled: (batch, channels)
        out["representation"] = self.head(h.flatten(1) if self.flatten else out[f"conv{len(self.blocks)}"])
        return out


@ENCODERS.register("cnn2d", data_kinds=("image",), layer_probes=True)
class CNN2dEncoder(_ConvEncoder):
    """Small 2-D convolutional network for images of any size and channel count (C×H×W).

    Blocks of 3×3 convolution → normalisation → activation; every block after the first halves the
    resolution (stride 2) while it is at least 4 pixels; global average pooling and a linear layer give the
    representation. Translation-equivariant features, unlike the MLP's; the pooling makes the representation
    nearly translation-invariant — ``pooling = "flatten"`` feeds the whole last feature map to the linear layer
    instead, so it keeps where things are (what predicting motion needs).
    """

    dims = 2

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        channels: tuple[int, ...] = param((32, 64, 128), label="Channels per block", min=1, max=4096, min_items=1)
        kernel_size: int = param(3, label="Kernel size", min=1, max=15)
        out_dim: int = param(64, label="Representation dimension", min=1, max=65536)
        activation: Activation = param("relu", label="Activation")
        norm: Literal["none", "batch", "group"] = param("batch", label="Normalisation")
        pooling: Literal["average", "flatten"] = param(
            "average", label="Pooling", help="average: global average of the last feature map (position "
            "forgotten); flatten: the whole map goes to the linear layer (position kept).")


@ENCODERS.register("cnn1d", data_kinds=("sequence", "audio"), layer_probes=True)
class CNN1dEncoder(_ConvEncoder):
    """Small 1-D convolutional network for signals and sequences (C×T, or T for one channel).

    The 1-D counterpart of ``cnn2d``: strided convolution blocks, global average pooling over time, a linear
    layer to the representation. Sees local temporal patterns wherever they occur. Five blocks by default: with
    kernel 7 and four halvings, each last-block feature sees 97 samples, long enough for the course of an event
    (a chirp's direction, a pulse's envelope) to survive the pooling; with three blocks (25 samples) only its
    local texture did (``bench/quality.py --signals``, SimCLR: linear probe 0.735 → 0.873, kNN 0.568 → 0.680).
    """

    dims = 1

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        channels: tuple[int, ...] = param((32, 64, 64, 64, 64), label="Channels per block", min=1, max=4096,
                                          min_items=1, help="One convolution block per entry; every block after "
                                          "the first halves the length.")
        kernel_size: int = param(7, label="Kernel size", min=1, max=63)
        out_dim: int = param(64, label="Representation dimension", min=1, max=65536)
        activation: Activation = param("relu", label="Activation")
        norm: Literal["none", "batch", "group"] = param("batch", label="Normalisation")


class _IdEncoder(Encoder):
    """Shared id handling: ids ≥ 0 index the table; PAD and MASK get their own rows."""

    reads_ids = True

    def _table(self, width: int) -> nn.Embedding:
        if self.data.vocab_size <= 0:
            raise ConfigError("encoder.name", f"the {self.registry_name!r} encoder reads ids, but this data has "
                              "no vocabulary (use it on token or graph data)", value=self.registry_name)
        self.pad_row = self.data.vocab_size
        self.mask_row = self.data.vocab_size + 1
        return nn.Embedding(self.data.vocab_size + 2, width, padding_idx=self.pad_row)

    def _ids(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float ids of shape (batch, length) → long row indices and the mask of real (non-pad) positions."""
        x = x.reshape(x.shape[0], -1)
        ids = x.round().long()
        rows = torch.where(ids == PAD_ID, self.pad_row, torch.where(ids == MASK_ID, self.mask_row, ids))
        return rows, ids != PAD_ID


def _masked_mean(h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    weights = keep.unsqueeze(-1).to(h.dtype)
    return (h * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


@ENCODERS.register("embedding", data_kinds=("tokens", "graph"), layer_probes=True)
class EmbeddingEncoder(_IdEncoder):
    """A learned vector per id: node embeddings for graphs, a bag of token embeddings for sequences.

    A sample of one id (a graph node) is represented by its row of the table; a sequence of ids by the mean of
    its tokens' rows (padding ignored), followed by an optional linear map. Word2vec-style: what it learns is
    exactly one vector per id, which makes its token embeddings easy to inspect.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        dim: int = param(32, label="Embedding dimension", min=1, max=65536)
        project: bool = param(False, label="Linear map after pooling",
                              help="Add a linear layer after the mean of the token vectors.")

    def __init__(self, params: EmbeddingEncoder.Params, data: DataSpec):
        super().__init__(params, data)
        self.table = self._table(params.dim)
        nn.init.normal_(self.table.weight, std=params.dim ** -0.5)
        with torch.no_grad():
            self.table.weight[self.pad_row].zero_()
        self.proj = nn.Linear(params.dim, params.dim) if params.project else nn.Identity()
        self.out_dim = params.dim

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        rows, keep = self._ids(x)
        pooled = _masked_mean(self.table(rows), keep)
        out = {"embedding": pooled}
        out["representation"] = self.proj(pooled)
        return out

    def sequence_outputs(self, x: torch.Tensor) -> torch.Tensor:
        rows, _ = self._ids(x)
        return self.table(rows)

    @property
    def sequence_width(self) -> int:
        return self.params.dim


@ENCODERS.register("transformer", data_kinds=("tokens",), layer_probes=True)
class TransformerEncoder(_IdEncoder):
    """A small transformer over token sequences (Vaswani et al., 2017), pre-norm, with learned positions.

    Token + position embeddings → N self-attention layers (padding masked out) → mean over real positions →
    linear map to the representation. Per-position states are available for masked-token prediction.
    """

    contextual = True  # each position's state depends on the others (masked-token prediction needs this)
    #: set by next-token prediction: each position attends only to itself and earlier positions, and the
    #: representation is the state at the last real token (the only one that has read the whole sequence)
    causal = False

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        width: int = param(64, label="Model width", min=8, max=4096)
        layers: int = param(2, label="Layers", min=1, max=24)
        heads: int = param(4, label="Attention heads", min=1, max=64)
        ff_mult: int = param(2, label="Feed-forward expansion", min=1, max=8)
        dropout: float = param(0.1, label="Dropout", min=0.0, max=1.0, max_exclusive=True)
        out_dim: int = param(64, label="Representation dimension", min=1, max=65536)

        def check(self) -> None:
            if self.width % self.heads:
                raise ConfigError("heads", f"the model width {self.width} is not divisible by {self.heads} heads",
                                  value=self.heads, allowed="a divisor of width")

    def __init__(self, params: TransformerEncoder.Params, data: DataSpec):
        super().__init__(params, data)
        self.length = int(math.prod(data.sample_shape))
        self.table = self._table(params.width)
        self.position = nn.Parameter(torch.randn(self.length, params.width) * 0.02)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(params.width, params.heads, params.width * params.ff_mult, params.dropout,
                                       activation="gelu", batch_first=True, norm_first=True)
            for _ in range(params.layers)
        )
        self.norm = nn.LayerNorm(params.width)
        self.head = nn.Linear(params.width, params.out_dim)
        self.out_dim = params.out_dim

    def _states(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        rows, keep = self._ids(x)
        h = self.table(rows) + self.position[: rows.shape[1]]
        padding = ~keep
        # a sequence with no real token would attend to nothing (NaN): let it attend to its padding instead
        padding = padding & keep.any(dim=1, keepdim=True)
        future = None
        if self.causal:
            length = rows.shape[1]
            future = torch.triu(torch.ones(length, length, dtype=torch.bool, device=rows.device), diagonal=1)
            padding = padding.clone()
            padding[:, 0] = False  # position 0 always sees itself (a sentence starting with padding stays finite)
        states = []
        for layer in self.layers:
            h = layer(h, src_mask=future, src_key_padding_mask=padding)
            states.append(h)
        return states, keep

    def _pool(self, h: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        if not self.causal:
            return _masked_mean(h, keep)
        last = (keep.long().cumsum(dim=1).argmax(dim=1))  # the last real position (0 for an empty sequence)
        return h[torch.arange(len(h), device=h.device), last]

    def layer_outputs(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        states, keep = self._states(x)
        out = {f"layer{i}": self._pool(h, keep) for i, h in enumerate(states, start=1)}
        out["representation"] = self.head(self._pool(self.norm(states[-1]), keep))
        return out

    def sequence_outputs(self, x: torch.Tensor) -> torch.Tensor:
        states, _ = self._states(x)
        return self.norm(states[-1])

    @property
    def sequence_width(self) -> int:
        return self.params.width
