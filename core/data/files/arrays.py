"""NumPy files: .npy (memory-mapped) and .npz, never unpickled."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from core.data.base import DATASETS, DataKind, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.errors import DataError
from core.params import Params, param

FEATURE_NAMES = ("X", "x", "features", "data", "embeddings", "images")
LABEL_NAMES = ("y", "labels", "label", "targets", "target")


def load_array(path: Path, member: str | None = None) -> np.ndarray:
    """A .npy file memory-mapped (read-only), or one member of an .npz file; pickled objects are refused."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head != b"\x93NUMPY" and not head.startswith(b"PK"):
        raise fail(path, "is not a NumPy file (no .npy or .npz signature)",
                   "Save arrays with numpy.save / numpy.savez; pickles are never loaded")
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as archive:
                names = list(archive.files)
                if not names:
                    raise fail(path, "holds no arrays")
                if member is None:
                    member = next((n for n in FEATURE_NAMES if n in names), names[0])
                if member not in names:
                    raise fail(path, f"has no array {member!r}", f"Arrays: {', '.join(names)}")
                return archive[member]
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err) or "Object arrays" in str(err) or "Python objects" in str(err):
            raise fail(path, "holds Python objects; refused, because loading them could run code",
                       "Save plain numeric arrays (np.save with a numeric dtype)") from None
        raise fail(path, f"is not a valid NumPy file ({err})", "Is it truncated, or another format?") from None
    except Exception as err:
        if isinstance(err, DataError):
            raise
        raise fail(path, f"is not a valid NumPy file ({type(err).__name__}: {err})",
                   "Is it truncated, or another format?") from None


def as_features(path: Path, a: np.ndarray) -> np.ndarray:
    if a.dtype.names is not None:
        raise fail(path, f"holds a structured array (fields {', '.join(a.dtype.names)})",
                   "Save the numeric feature columns as one plain 2-D array")
    if np.iscomplexobj(a):
        raise fail(path, f"holds complex numbers ({a.dtype})", "Save the real and imaginary parts as separate features")
    if a.dtype.kind not in "biuf":
        raise fail(path, f"holds {a.dtype} values, not numbers")
    if a.ndim < 2:
        raise fail(path, f"holds a {a.ndim}-D array of shape {a.shape}; features need one row per sample (2-D or more)")
    if a.dtype == np.float32:
        return a  # memory-mapped: stays on disk
    check_fits_in_memory(path, a.size * 4, "the features as float32")
    return np.asarray(a, dtype=np.float32)


def image_layout(a: np.ndarray) -> np.ndarray:
    """(n, H, W) → (n, 1, H, W); channels-last (n, H, W, C) with C in 1/3/4 → channels-first."""
    if a.ndim == 3:
        return a[:, None]
    if a.ndim == 4 and a.shape[-1] in (1, 3, 4) and a.shape[1] not in (1, 3, 4):
        return np.moveaxis(a, -1, 1)
    return a


def labels_from(path: Path, y: np.ndarray, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise fail(path, f"labels of shape {y.shape} do not match the {n} samples", "Give one label per sample")
    if y.dtype.kind in "iu":
        classes = np.unique(y)
        index = np.searchsorted(classes, y)
        return index.astype(np.int64), tuple(str(c) for c in classes)
    if y.dtype.kind in "US":
        classes = np.unique(y)
        return np.searchsorted(classes, y).astype(np.int64), tuple(str(c) for c in classes)
    if y.dtype.kind == "f" and np.all(y == np.round(y)):
        return labels_from(path, y.astype(np.int64), n)
    raise fail(path, f"labels of dtype {y.dtype} are not class ids or names")


@DATASETS.register("npy", kind="tabular", file=True, patterns=("*.npy", "*.npz"))
class NumpyArrays(DatasetSource):
    """A NumPy .npy or .npz file: 2-D features (tabular, signals or embeddings), 3-D or 4-D images. A float32
    .npy file is memory-mapped, so it need not fit in memory; nothing is ever unpickled."""

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        path: str = param("", label="File", help="A .npy file, or an .npz archive.")
        array: str | None = param(None, label="Features array (.npz)", help="Member name; empty = X / features / the first.")
        labels_array: str | None = param(None, label="Labels array (.npz)", help="Member of the .npz archive.")
        labels_path: str | None = param(None, label="Labels file", help="A separate .npy file, one label per sample.")
        kind: Literal["auto", "tabular", "image", "sequence", "embeddings"] = param(
            "auto", label="Data kind", help="auto: 2-D arrays are tabular, 3-D and 4-D arrays images.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        X = as_features(path, load_array(path, p.array))
        kind: DataKind = p.kind if p.kind != "auto" else ("tabular" if X.ndim == 2 else "image")
        if kind == "image":
            if X.ndim not in (3, 4):
                raise fail(path, f"an image array must be 3-D (n, H, W) or 4-D, got shape {X.shape}")
            X = image_layout(X)
        elif kind == "sequence" and X.ndim == 2:
            X = X[:, None, :]
        y: np.ndarray | None = None
        names: tuple[str, ...] = ()
        if p.labels_array:
            if path.suffix.lower() != ".npz":
                raise fail(path, "labels_array names a member of an .npz archive", "Use labels_path for a separate .npy file")
            y, names = labels_from(path, load_array(path, p.labels_array), len(X))
        elif p.labels_path:
            lp = existing_file(p.labels_path, "labels file")
            y, names = labels_from(lp, np.asarray(load_array(lp)), len(X))
        value_range = None
        if kind == "image":
            sample = np.asarray(X[: min(len(X), 256)])
            if sample.min() >= 0 and sample.max() <= 1:
                value_range = (0.0, 1.0)
        return Dataset(name=path.stem, kind=kind, X=X, y=y, label_names=names, value_range=value_range,
                       recommended_normalization="none" if value_range else "standardize",
                       description=f"{X.shape[0]} samples of shape {X.shape[1:]} from {path.name}", source=str(path))
