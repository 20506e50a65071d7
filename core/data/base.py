"""The one dataset type every part of RepLearn Studio reads, and the registry of dataset sources."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np

from core.config.params import Params
from core.errors import DataError
from core.registry import Registry

# Token and node-id data stores ids as float32 values; these two ids are reserved for every vocabulary.
PAD_ID = -1  # "no token here" (sequences shorter than the array)
MASK_ID = -2  # "hidden token" (written by masking augmentations and masked prediction)

DataKind = Literal["image", "sequence", "tabular", "graph", "tokens", "audio", "embeddings"]
DATA_KINDS: tuple[str, ...] = ("image", "sequence", "tabular", "graph", "tokens", "audio", "embeddings")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Samples as one float32 array ``X`` of shape ``(n, *sample_shape)``, with optional labels and metadata.

    Images are ``(n, C, H, W)``; tabular rows ``(n, d)``. ``y`` holds class indices ``0..n_classes-1``
    (int64) whose names are ``label_names``. ``metadata`` columns (any dtype, length ``n``) are for colouring
    and search. ``value_range`` states known bounds of ``X`` (e.g. ``(0, 1)`` for images).
    """

    name: str
    kind: DataKind
    X: np.ndarray
    y: np.ndarray | None = None
    label_names: tuple[str, ...] = ()
    metadata: Mapping[str, np.ndarray] = field(default_factory=dict)
    value_range: tuple[float, float] | None = None
    recommended_normalization: Literal["none", "standardize", "minmax"] = "standardize"
    description: str = ""
    vocab: tuple[str, ...] = ()  # names of the ids, when X holds ids (tokens, graph nodes)
    edges: np.ndarray | None = None  # (E, 2) int64 node pairs, for graphs

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise DataError(f"dataset {self.name!r}: unknown kind {self.kind!r}; expected one of {', '.join(DATA_KINDS)}")
        X = np.asarray(self.X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise DataError(f"dataset {self.name!r}: expected at least one sample with features, got shape {X.shape}")
        if X.dtype != np.float32:
            X = X.astype(np.float32)
        if not np.isfinite(X).all():
            bad = int((~np.isfinite(X)).reshape(len(X), -1).any(axis=1).sum())
            raise DataError(f"dataset {self.name!r}: {bad} sample(s) contain NaN or infinite values")
        object.__setattr__(self, "X", X)
        if self.y is not None:
            y = np.asarray(self.y)
            if y.shape != (len(X),):
                raise DataError(f"dataset {self.name!r}: {len(X)} samples but labels of shape {y.shape}")
            if not np.issubdtype(y.dtype, np.integer):
                raise DataError(f"dataset {self.name!r}: labels must be class indices (integers), got {y.dtype}")
            y = y.astype(np.int64)
            n_classes = len(self.label_names) or int(y.max()) + 1
            if y.min() < 0 or y.max() >= n_classes:
                raise DataError(f"dataset {self.name!r}: labels must lie in 0..{n_classes - 1}")
            if not self.label_names:
                object.__setattr__(self, "label_names", tuple(str(i) for i in range(n_classes)))
            object.__setattr__(self, "y", y)
        if self.kind in ("tokens", "graph"):
            if not self.vocab:
                raise DataError(f"dataset {self.name!r}: {self.kind} data needs a vocabulary (the names of its ids)")
            ids = X[X >= 0]
            if ids.size and (ids.max() >= len(self.vocab) or not np.all(ids == np.round(ids))):
                raise DataError(f"dataset {self.name!r}: ids must be whole numbers below the vocabulary size {len(self.vocab)}")
            if not np.isin(X[X < 0], (PAD_ID, MASK_ID)).all():
                raise DataError(f"dataset {self.name!r}: negative ids other than padding ({PAD_ID}) and mask ({MASK_ID})")
        if self.edges is not None:
            edges = np.asarray(self.edges)
            if edges.ndim != 2 or edges.shape[1] != 2 or not np.issubdtype(edges.dtype, np.integer):
                raise DataError(f"dataset {self.name!r}: edges must be an (E, 2) integer array, got {edges.shape} {edges.dtype}")
            if edges.size and (edges.min() < 0 or edges.max() >= len(X)):
                raise DataError(f"dataset {self.name!r}: edges refer to nodes outside 0..{len(X) - 1}")
            object.__setattr__(self, "edges", edges.astype(np.int64))
        for key, column in self.metadata.items():
            if len(column) != len(X):
                raise DataError(f"dataset {self.name!r}: metadata column {key!r} has {len(column)} values for {len(X)} samples")

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(int(s) for s in self.X.shape[1:])

    @property
    def n_features(self) -> int:
        return int(np.prod(self.sample_shape))

    @property
    def has_labels(self) -> bool:
        return self.y is not None

    @property
    def n_classes(self) -> int:
        return len(self.label_names) if self.y is not None else 0

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)


@dataclass(frozen=True, eq=False)
class DataSpec:
    """What a model may know about the data when it is built (shapes, classes, ids, graph)."""

    kind: str
    sample_shape: tuple[int, ...]
    n_classes: int = 0  # 0 when the data has no labels
    value_range: tuple[float, float] | None = None  # known bounds of the (normalised) inputs
    vocab_size: int = 0  # number of ids when X holds ids; 0 otherwise
    edges: np.ndarray | None = None  # training edges of a graph (held-out ones are not here)
    held_out_edges: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.sample_shape))


class DatasetSource:
    """A registered way to obtain a :class:`Dataset` (built-in generator, file reader, ...)."""

    Params: type[Params]

    def __init__(self, params: Params):
        self.params = params

    def load(self) -> Dataset:
        raise NotImplementedError


DATASETS: Registry[DatasetSource] = Registry("dataset", base=DatasetSource)
