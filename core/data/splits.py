"""Seeded, stratified train / validation / test splits and normalisation fitted on the training split."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.data.base import Dataset
from core.errors import DataError


@dataclass(frozen=True, eq=False)
class Splits:
    """Sorted sample indices of each split; ``stratified`` says whether class proportions were kept."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified: bool


def make_splits(n: int, y: np.ndarray | None, *, val_fraction: float, test_fraction: float, seed: int,
                stratify: bool = True) -> Splits:
    """Split ``range(n)`` with a seeded permutation; stratified by ``y`` when asked and possible.

    Stratification needs every class to have a member in every split; when the data is too small for that,
    the split falls back to a plain random one and reports ``stratified=False``.
    """
    n_val = round(n * val_fraction)
    n_test = round(n * test_fraction)
    n_train = n - n_val - n_test
    if n_train < 2:
        raise DataError(f"only {n_train} training sample(s) are left after the validation and test splits of {n}")
    parts = _stratified(n, y, n_val, n_test, seed) if (stratify and y is not None) else None
    stratified = parts is not None
    if parts is None:
        perm = np.random.default_rng(seed).permutation(n)
        parts = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    test, val, train = (np.sort(p).astype(np.int64) for p in parts)
    return Splits(train=train, val=val, test=test, stratified=stratified)


def _stratified(n: int, y: np.ndarray, n_val: int, n_test: int, seed: int):
    """scikit-learn's stratified draw, twice; ``None`` when some class is too small to appear in every split."""
    from sklearn.model_selection import train_test_split

    idx = np.arange(n)
    try:
        rest, test = (idx, idx[:0]) if n_test == 0 else train_test_split(
            idx, test_size=n_test, stratify=y, random_state=seed)
        train, val = (rest, rest[:0]) if n_val == 0 else train_test_split(
            rest, test_size=n_val, stratify=y[rest], random_state=seed + 1)
    except ValueError:
        return None
    return test, val, train


@dataclass(frozen=True, eq=False)
class Normalizer:
    """Per-feature affine map ``(x - shift) / scale`` fitted on the training split only."""

    kind: Literal["none", "standardize", "minmax"]
    shift: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, kind: str, X_train: np.ndarray) -> Normalizer:
        flat = X_train.reshape(len(X_train), -1).astype(np.float64)
        d = flat.shape[1]
        if kind == "none":
            shift, scale = np.zeros(d), np.ones(d)
        elif kind == "standardize":
            shift, scale = flat.mean(axis=0), flat.std(axis=0)
        elif kind == "minmax":
            shift, scale = flat.min(axis=0), flat.max(axis=0) - flat.min(axis=0)
        else:
            raise ValueError(f"unknown normalisation {kind!r}")
        scale = np.where(scale > 1e-12, scale, 1.0)  # constant features stay constant instead of dividing by 0
        return cls(kind=kind, shift=shift.astype(np.float32), scale=scale.astype(np.float32))  # type: ignore[arg-type]

    @classmethod
    def fit_rows(cls, kind: str, X: np.ndarray, rows: np.ndarray, chunk: int = 65536) -> Normalizer:
        """The same fit over ``X[rows]`` read a chunk at a time: for memory-mapped data larger than memory."""
        rows = np.sort(np.asarray(rows))
        d = int(np.prod(X.shape[1:]))
        total, total_sq = np.zeros(d), np.zeros(d)
        low, high = np.full(d, np.inf), np.full(d, -np.inf)
        for start in range(0, len(rows), chunk):
            flat = np.asarray(X[rows[start:start + chunk]]).reshape(-1, d).astype(np.float64)
            total += flat.sum(axis=0)
            total_sq += (flat * flat).sum(axis=0)
            low, high = np.minimum(low, flat.min(axis=0)), np.maximum(high, flat.max(axis=0))
        n = max(len(rows), 1)
        if kind == "none":
            shift, scale = np.zeros(d), np.ones(d)
        elif kind == "standardize":
            shift = total / n
            scale = np.sqrt(np.maximum(total_sq / n - shift * shift, 0.0))
        elif kind == "minmax":
            shift, scale = low, high - low
        else:
            raise ValueError(f"unknown normalisation {kind!r}")
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(kind=kind, shift=shift.astype(np.float32), scale=scale.astype(np.float32))  # type: ignore[arg-type]

    def apply(self, X: np.ndarray) -> np.ndarray:
        shape = X.shape
        flat = X.reshape(len(X), -1)
        return ((flat - self.shift) / self.scale).astype(np.float32).reshape(shape)


class NormalizedRows:
    """The normalised features of a memory-mapped dataset, computed for the rows asked for, when asked: data larger
    than memory is never normalised (nor read) as a whole. Indexing returns float32 arrays like the in-memory
    version; ``np.asarray`` materialises everything (for code that needs it, on data that fits)."""

    def __init__(self, raw: np.ndarray, normalizer: Normalizer):
        self.raw = raw
        self.normalizer = normalizer
        self.shape = raw.shape
        self.dtype = np.dtype(np.float32)
        self.ndim = raw.ndim

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self.normalizer.apply(np.asarray(self.raw[int(key)])[None])[0]
        if isinstance(key, slice):
            return self.normalizer.apply(np.asarray(self.raw[key]))
        rows = np.asarray(key)
        order = np.argsort(rows, kind="stable")  # read the file front to back, then restore the order asked for
        out = np.empty((len(rows),) + self.shape[1:], dtype=np.float32)
        out[order] = self.normalizer.apply(np.asarray(self.raw[rows[order]]))
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self.normalizer.apply(np.asarray(self.raw))
        return out if dtype is None else out.astype(dtype)

    def reshape(self, *shape) -> np.ndarray:
        return np.asarray(self).reshape(*shape)


STREAM_ABOVE_BYTES = 1 << 30  # memory-mapped data above 1 GiB is streamed in "auto" mode


@dataclass(frozen=True, eq=False)
class PreparedData:
    """A dataset with its splits and the normalised features the model sees."""

    dataset: Dataset
    splits: Splits
    normalizer: Normalizer
    X: np.ndarray

    @property
    def value_range(self) -> tuple[float, float] | None:
        """Known bounds of the model's inputs after normalisation (for BCE reconstruction)."""
        if self.normalizer.kind == "minmax":
            return (0.0, 1.0)
        if self.normalizer.kind == "none":
            return self.dataset.value_range
        return None


def prepare(dataset: Dataset, *, val_fraction: float, test_fraction: float, stratify: bool, normalization: str,
            seed: int, loading: str = "auto") -> PreparedData:
    """Splits and normalised features. ``loading``: ``"memory"`` normalises everything now; ``"stream"`` (for a
    memory-mapped dataset) normalises rows as they are read; ``"auto"`` streams memory-mapped data above
    :data:`STREAM_ABOVE_BYTES`."""
    splits = make_splits(dataset.n, dataset.y, val_fraction=val_fraction, test_fraction=test_fraction,
                         seed=seed, stratify=stratify)
    kind = dataset.recommended_normalization if normalization == "auto" else normalization
    mapped = isinstance(dataset.X, np.memmap)
    stream = mapped and (loading == "stream" or (loading == "auto" and dataset.X.nbytes > STREAM_ABOVE_BYTES))
    if stream:
        normalizer = Normalizer.fit_rows(kind, dataset.X, splits.train)
        return PreparedData(dataset=dataset, splits=splits, normalizer=normalizer,
                            X=NormalizedRows(dataset.X, normalizer))  # type: ignore[arg-type]
    normalizer = Normalizer.fit(kind, dataset.X[splits.train])
    return PreparedData(dataset=dataset, splits=splits, normalizer=normalizer, X=normalizer.apply(dataset.X))


def split_edges(edges: np.ndarray, *, held_out_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a seeded share of a graph's edges (at least one when there are two or more)."""
    edges = np.asarray(edges, dtype=np.int64)
    rng = np.random.default_rng(seed + 11)
    perm = rng.permutation(len(edges))
    k = round(len(edges) * held_out_fraction)
    k = min(max(k, 1), len(edges) - 1) if len(edges) >= 2 else 0
    return edges[np.sort(perm[k:])], edges[np.sort(perm[:k])]
