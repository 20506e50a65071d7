"""The one dataset type every part of RepLearn Studio reads, and the registry of dataset sources."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping

import numpy as np

from core.config.params import Params
from core.errors import DataError
from core.registry import Registry

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


class DatasetSource:
    """A registered way to obtain a :class:`Dataset` (built-in generator, file reader, ...)."""

    Params: type[Params]

    def __init__(self, params: Params):
        self.params = params

    def load(self) -> Dataset:
        raise NotImplementedError


DATASETS: Registry[DatasetSource] = Registry("dataset", base=DatasetSource)
