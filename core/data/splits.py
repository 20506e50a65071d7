"""Seeded, stratified train / validation / test splits and normalisation fitted on the training split."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.data.base import Dataset
from core.data.files.common import available_memory, human
from core.errors import ConfigError, DataError


@dataclass(frozen=True, eq=False)
class Splits:
    """Sorted sample indices of each split; ``stratified`` says whether class proportions were kept.

    ``origin`` is ``"predefined"`` when train and test are the data set's own (its official test set) and
    ``"random"`` for a seeded draw; ``val_origin`` is ``"predefined"`` when the data set also ships a
    validation set, else ``"carved"`` (from train) or ``"random"``."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    stratified: bool
    origin: Literal["random", "predefined"] = "random"
    val_origin: Literal["random", "carved", "predefined"] = "random"

    @property
    def evaluated_on(self) -> str:
        """The split evaluations score on: the test split, or the validation split when there is no test split."""
        return "test" if len(self.test) else "val"

    def held_out(self) -> np.ndarray:
        return self.test if len(self.test) else self.val

    def describe(self) -> str:
        """One phrase for records and reports, e.g. ``official test split (10000 samples)``."""
        name = self.evaluated_on
        n = len(self.held_out())
        if name == "test":
            kind = "official test split" if self.origin == "predefined" else "random test split"
        else:
            kind = {"predefined": "official validation split", "carved": "validation split carved from train"}.get(
                self.val_origin, "random validation split")
        return f"{kind} ({n} samples)"

    def record(self) -> dict:
        """What an evaluation record says about the split it used."""
        return {"evaluated_on": self.evaluated_on, "origin": self.origin, "val_origin": self.val_origin,
                "n_train": len(self.train), "n_val": len(self.val), "n_test": len(self.test),
                "description": self.describe()}


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
    def fit_rows(cls, kind: str, X: np.ndarray, rows: np.ndarray, chunk: int = 16384) -> Normalizer:
        """The same fit over ``X[rows]`` read a chunk at a time (memory-mapped data larger than memory): means
        and variances are merged chunk by chunk (Chan, Golub & LeVeque 1979), as exact as one pass over all."""
        count, mean, m2, low, high = chunked_moments(X, rows, chunk)
        if kind == "none":
            shift, scale = np.zeros(len(mean)), np.ones(len(mean))
        elif kind == "standardize":
            shift, scale = mean, np.sqrt(m2 / max(count, 1))
        elif kind == "minmax":
            shift, scale = low, high - low
        else:
            raise ValueError(f"unknown normalisation {kind!r}")
        scale = np.where(scale > 1e-12, scale, 1.0)
        return cls(kind=kind, shift=shift.astype(np.float32), scale=scale.astype(np.float32))  # type: ignore[arg-type]

    def to_record(self) -> dict:
        """Plain JSON: the kind, and the per-feature ``shift`` (mean or minimum) and ``scale`` (std or range)."""
        return {"kind": self.kind, "shift": self.shift.astype(float).tolist(), "scale": self.scale.astype(float).tolist()}

    @classmethod
    def from_record(cls, record: dict) -> Normalizer:
        return cls(kind=record["kind"], shift=np.asarray(record["shift"], np.float32),
                   scale=np.asarray(record["scale"], np.float32))

    def apply(self, X: np.ndarray, chunk: int = 16384) -> np.ndarray:
        """``(X - shift) / scale`` as float32, a chunk of rows at a time into one output array (no full-size
        temporaries: the peak is the result plus one chunk)."""
        out = np.empty(X.shape, dtype=np.float32)
        flat_out = out.reshape(len(X), -1)
        chunk = rows_per_chunk(flat_out.shape[1], 4, chunk)
        for start in range(0, len(X), chunk):
            part = np.asarray(X[start:start + chunk]).reshape(-1, flat_out.shape[1])
            flat_out[start:start + chunk] = (part - self.shift) / self.scale
        return out


CHUNK_BYTES = 64 << 20  # a chunk's rows are capped by bytes too: 16384 rows of a 16384-wide file would be 2 GiB


def rows_per_chunk(width: int, itemsize: int, rows: int) -> int:
    """At most ``rows`` rows, and at most :data:`CHUNK_BYTES` of ``width`` values of ``itemsize`` bytes."""
    return max(1, min(rows, CHUNK_BYTES // max(1, width * itemsize)))


def chunked_moments(X, rows: np.ndarray, chunk: int = 16384):
    """``(count, mean, m2, min, max)`` per feature of the flattened ``X[rows]``, in float64, read a chunk at a time:
    means and sums of squared deviations are merged chunk by chunk (Chan, Golub & LeVeque 1979), as exact as one
    pass over all (``m2 / count`` is the variance)."""
    rows = np.sort(np.asarray(rows))
    d = int(np.prod(X.shape[1:]))
    chunk = rows_per_chunk(d, 8, chunk)
    count, mean, m2 = 0, np.zeros(d), np.zeros(d)
    low, high = np.full(d, np.inf), np.full(d, -np.inf)
    for start in range(0, len(rows), chunk):
        flat = np.asarray(X[rows[start:start + chunk]]).reshape(-1, d).astype(np.float64)
        n_b = len(flat)
        mean_b = flat.mean(axis=0)
        m2_b = ((flat - mean_b) ** 2).sum(axis=0)
        delta = mean_b - mean
        total = count + n_b
        mean = mean + delta * (n_b / total)
        m2 = m2 + m2_b + delta * delta * (count * n_b / total)
        count = total
        low, high = np.minimum(low, flat.min(axis=0)), np.maximum(high, flat.max(axis=0))
    return count, mean, m2, low, high


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

    def preprocessing(self) -> dict:
        """What a model trained on this data expects, for whoever feeds it new samples (saved with the run)."""
        ds = self.dataset
        return {"format": 1, "data_kind": ds.kind, "input_shape": list(ds.sample_shape), "dtype": "float32",
                "normalization": self.normalizer.to_record(),
                "value_range": None if ds.value_range is None else list(ds.value_range),
                "label_names": list(ds.label_names), "feature_names": list(ds.feature_names),
                "formula": "x_model = (x - shift) / scale, per feature of the flattened sample"}

    @property
    def value_range(self) -> tuple[float, float] | None:
        """Known bounds of the model's inputs after normalisation (for BCE reconstruction)."""
        if self.normalizer.kind == "minmax":
            return (0.0, 1.0)
        if self.normalizer.kind == "none":
            return self.dataset.value_range
        return None


def predefined_splits(dataset: Dataset, *, val_fraction: float, seed: int, stratify: bool = True) -> Splits:
    """The data set's own split; a validation set is carved (seeded, stratified when possible) from train when
    the data set has none. A class seen in val / test but never in train is refused: nothing could learn it."""
    codes = dataset.split
    assert codes is not None
    train, val, test = (np.flatnonzero(codes == c).astype(np.int64) for c in (0, 1, 2))
    where = dataset.source or dataset.name
    if len(train) == 0:
        raise DataError(f"{where}: the data set's own split has no training samples")
    val_origin: Literal["random", "carved", "predefined"] = "predefined"
    stratified = True
    if len(val) == 0 and val_fraction > 0:
        y_train = dataset.y[train] if dataset.y is not None else None
        inner = make_splits(len(train), y_train, val_fraction=val_fraction, test_fraction=0.0, seed=seed,
                            stratify=stratify)
        train, val, stratified = train[inner.train], train[inner.val], inner.stratified
        val_origin = "carved"
    elif len(val) == 0:
        val_origin = "carved"
    if dataset.y is not None:
        seen = set(np.unique(dataset.y[train]).tolist())
        for name, rows in (("test", test), ("validation", val)):
            missing = sorted(set(np.unique(dataset.y[rows]).tolist()) - seen)
            if missing:
                labels = ", ".join(repr(dataset.label_names[m]) for m in missing[:5])
                raise DataError(f"{where}: the {name} split has samples of class {labels} but the training split has "
                                "none; add training samples of it or remove it from the other splits")
    return Splits(train=train, val=val, test=test, stratified=stratified, origin="predefined", val_origin=val_origin)


def choose_splits(dataset: Dataset, *, mode: str, val_fraction: float, test_fraction: float, seed: int,
                  stratify: bool = True) -> Splits:
    """``mode``: ``predefined`` (the data set's own split), ``random``, or ``auto`` (predefined when there is one)."""
    if mode == "predefined" and not dataset.has_split:
        raise ConfigError("data.split.mode", f"'predefined', but {dataset.source or dataset.name} ships no split of its "
                          "own (no x_train / x_test members, split column or train/ and test/ folders)",
                          value=mode, allowed="random, or a data set with its own split")
    if mode not in ("auto", "random", "predefined"):
        raise ConfigError("data.split.mode", f"unknown split mode {mode!r}", value=mode,
                          allowed="auto, random, predefined")
    if dataset.has_split and mode != "random":
        return predefined_splits(dataset, val_fraction=val_fraction, seed=seed, stratify=stratify)
    return make_splits(dataset.n, dataset.y, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                       stratify=stratify)


def prepare_from_config(dataset: Dataset, split, *, seed: int, loading: str = "auto") -> PreparedData:
    """:func:`prepare` with the settings of a :class:`core.config.schema.SplitConfig`."""
    return prepare(dataset, val_fraction=split.val_fraction, test_fraction=split.test_fraction,
                   stratify=split.stratify, normalization=split.normalization, seed=seed, loading=loading,
                   mode=split.mode)


def prepare(dataset: Dataset, *, val_fraction: float, test_fraction: float, stratify: bool, normalization: str,
            seed: int, loading: str = "auto", mode: str = "auto") -> PreparedData:
    """Splits and normalised features. ``loading``: ``"memory"`` normalises everything now; ``"stream"`` (for a
    memory-mapped dataset) normalises rows as they are read; ``"auto"`` streams memory-mapped data above
    :data:`STREAM_ABOVE_BYTES`. ``mode``: see :func:`choose_splits`."""
    splits = choose_splits(dataset, mode=mode, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed,
                           stratify=stratify)
    kind = dataset.recommended_normalization if normalization == "auto" else normalization
    mapped = isinstance(dataset.X, np.memmap)
    normalized_bytes = int(np.prod(dataset.X.shape)) * 4
    free = available_memory()
    too_big = free is not None and normalized_bytes > free // 2  # leave room for the model, the views, the OS
    stream = mapped and (loading == "stream" or (loading == "auto" and (dataset.X.nbytes > STREAM_ABOVE_BYTES
                                                                         or too_big)))
    if mapped and not stream and free is not None and normalized_bytes > free:  # refused before it fills memory
        raise DataError(f"{dataset.source or dataset.name}: training.data_loading = \"memory\" needs "
                        f"{human(normalized_bytes)} for the normalised features, but only {human(free)} of memory "
                        "is free. Set data_loading = \"auto\" or \"stream\" to read the file batch by batch")
    if mapped:  # fitted a chunk at a time: the training split is never copied whole
        normalizer = Normalizer.fit_rows(kind, dataset.X, splits.train)
    else:
        normalizer = Normalizer.fit(kind, dataset.X[splits.train])
    if stream:
        return PreparedData(dataset=dataset, splits=splits, normalizer=normalizer,
                            X=NormalizedRows(dataset.X, normalizer))  # type: ignore[arg-type]
    return PreparedData(dataset=dataset, splits=splits, normalizer=normalizer, X=normalizer.apply(dataset.X))


def split_edges(edges: np.ndarray, *, held_out_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Hold out a seeded share of a graph's edges (at least one when there are two or more)."""
    edges = np.asarray(edges, dtype=np.int64)
    rng = np.random.default_rng(seed + 11)
    perm = rng.permutation(len(edges))
    k = round(len(edges) * held_out_fraction)
    k = min(max(k, 1), len(edges) - 1) if len(edges) >= 2 else 0
    return edges[np.sort(perm[k:])], edges[np.sort(perm[:k])]
