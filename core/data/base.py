"""The one dataset type every part of RepLearn Studio reads, and the registry of dataset sources."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from core.errors import DataError
from core.params import Params
from core.registry import Registry

# Token and node-id data stores ids as float32 values; these two ids are reserved for every vocabulary.
PAD_ID = -1  # "no token here" (sequences shorter than the array)
MASK_ID = -2  # "hidden token" (written by masking augmentations and masked prediction)

DataKind = Literal["image", "sequence", "tabular", "graph", "tokens", "audio", "embeddings"]
DATA_KINDS: tuple[str, ...] = ("image", "sequence", "tabular", "graph", "tokens", "audio", "embeddings")

# A data set's own split: one code per sample (``Dataset.split``), in this order.
SPLIT_NAMES: tuple[str, ...] = ("train", "val", "test")
SPLIT_ALIASES = {"train": 0, "training": 0, "val": 1, "valid": 1, "validation": 1, "dev": 1, "test": 2,
                 "testing": 2, "t10k": 2}


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
    feature_names: tuple[str, ...] = ()  # names of the columns of tabular data
    vocab_metadata: Mapping[str, np.ndarray] = field(default_factory=dict)  # per id (e.g. a word's category)
    source: str = ""  # where it came from: a file path, or "built-in"
    notes: tuple[str, ...] = ()  # warnings for the user (constant columns, dropped rows, fallback encodings, ...)
    #: the data set's own split, when it ships one: int8 codes into :data:`SPLIT_NAMES` (0 train, 1 val, 2 test)
    split: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.kind not in DATA_KINDS:
            raise DataError(f"dataset {self.name!r}: unknown kind {self.kind!r}; expected one of {', '.join(DATA_KINDS)}")
        X = self.X if isinstance(self.X, np.memmap) else np.asarray(self.X)
        if X.ndim < 2 or X.shape[0] == 0:
            raise DataError(f"dataset {self.name!r}: expected at least one sample with features, got shape {X.shape}")
        if X.dtype != np.float32:
            X = X.astype(np.float32)  # a memory-mapped float32 file stays mapped: no copy
        bad = first_non_finite(X)
        if bad is not None:
            raise DataError(f"dataset {self.name!r}: sample {bad} contains NaN or infinite values")
        object.__setattr__(self, "X", X)
        if self.feature_names and len(self.feature_names) != int(np.prod(X.shape[1:])):
            raise DataError(f"dataset {self.name!r}: {len(self.feature_names)} feature names for "
                            f"{int(np.prod(X.shape[1:]))} features")
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
        if self.split is not None:
            split = np.asarray(self.split)
            if split.shape != (len(X),) or not np.isin(split, (0, 1, 2)).all():
                raise DataError(f"dataset {self.name!r}: the split must give each of the {len(X)} samples one of "
                                f"{', '.join(SPLIT_NAMES)}")
            object.__setattr__(self, "split", split.astype(np.int8))
        for key, column in self.metadata.items():
            if len(column) != len(X):
                raise DataError(f"dataset {self.name!r}: metadata column {key!r} has {len(column)} values for {len(X)} samples")
        for key, column in self.vocab_metadata.items():
            if len(column) != len(self.vocab):
                raise DataError(f"dataset {self.name!r}: vocabulary metadata {key!r} has {len(column)} values for "
                                f"{len(self.vocab)} ids")

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

    @property
    def has_split(self) -> bool:
        """Whether the data set ships its own train / test (/ val) split."""
        return self.split is not None


def split_codes(values, where: str) -> np.ndarray:
    """Split names (train / val / validation / dev / test, any case) as :data:`SPLIT_NAMES` codes; ``where`` names
    the file and column for the message about a value that is none of them."""
    out = np.empty(len(values), dtype=np.int8)
    for i, v in enumerate(values):
        code = SPLIT_ALIASES.get(str(v).strip().lower())
        if code is None:
            raise DataError(f"{where}: row {i + 1} has split {str(v)!r}; expected train, val (validation, dev) or test")
        out[i] = code
    return out


def first_non_finite(X: np.ndarray, chunk: int = 65536) -> int | None:
    """Index of the first sample holding NaN or ±inf, checked in chunks (a memory-mapped file is not copied)."""
    for start in range(0, len(X), chunk):
        block = np.asarray(X[start:start + chunk]).reshape(min(chunk, len(X) - start), -1)
        ok = np.isfinite(block).all(axis=1)
        if not ok.all():
            return start + int(np.argmin(ok))
    return None


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
    #: per-sample reward (dataset order; ``Batch.index`` looks it up), when the data are RL transitions
    reward: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return int(np.prod(self.sample_shape))


class DatasetSource:
    """A registered way to obtain a :class:`Dataset` (built-in generator, file reader, ...)."""

    Params: type[Params]
    params: Any  # an instance of the subclass's own nested Params (typed Any: each reads its own fields)

    def __init__(self, params: Any):
        self.params = params

    def load(self) -> Dataset:
        raise NotImplementedError


DATASETS: Registry[DatasetSource] = Registry("dataset", base=DatasetSource,
                                             builtins=("core.data.builtin", "core.data.synthetic", "core.data.dynamics",
                                                      "core.data.files"))
