"""MNIST-style IDX files (plain or gzip): images and labels."""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.params import BaseParams, param

# the third byte of the magic number names the element type
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: Path) -> np.ndarray:
    """The array of an IDX file. A ``.gz`` is inflated as a stream: its header is read first and the size it
    declares is checked (against free memory) before the body is inflated, so a small file that would inflate to
    gigabytes (a gzip bomb) is refused early; inflating stops one byte past the declared size."""
    with open(path, "rb") as probe:
        gz = probe.read(2) == b"\x1f\x8b"
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as fh:
            magic = fh.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in IDX_TYPES:
                raise fail(path, "is not an IDX file (bad magic number)",
                           "Expected MNIST-style files such as train-images-idx3-ubyte")
            dtype, ndim = np.dtype(IDX_TYPES[magic[2]]), magic[3]
            dims = fh.read(4 * ndim)
            if len(dims) < 4 * ndim:
                raise fail(path, "is truncated inside its header")
            shape = tuple(int.from_bytes(dims[4 * i: 4 + 4 * i], "big") for i in range(ndim))
            header = 4 + 4 * ndim
            body_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            expected = header + body_bytes
            check_fits_in_memory(path, body_bytes + int(np.prod(shape, dtype=np.int64)) * 4,
                                 f"the {shape} array its header announces, as float32")
            body = fh.read(body_bytes + 1)
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        if not gz:
            raise
        raise fail(path, f"is a damaged gzip file ({err})") from None
    if len(body) != body_bytes:
        size = header + len(body)
        problem = "is truncated" if len(body) < body_bytes else "has trailing bytes"
        shown = f"{size} bytes" if len(body) < body_bytes else "more"
        raise fail(path, f"{problem}: its header announces {shape} ({expected} bytes), the file has {shown}")
    return np.frombuffer(body, dtype=dtype).reshape(shape)


@DATASETS.register("idx", kind="image", file=True, patterns=("*ubyte*", "*.idx", "*idx*.gz"))
class IdxImages(DatasetSource):
    """MNIST-style IDX files: an images file (n × H × W bytes) and an optional labels file, plain or .gz."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Images file", help="e.g. train-images-idx3-ubyte or its .gz")
        labels_path: str | None = param(None, label="Labels file", help="e.g. train-labels-idx1-ubyte; empty = none")
        test_path: str | None = param(None, label="Test images file",
                                      help="The data set's own test split, e.g. t10k-images-idx3-ubyte. Empty: the "
                                           "t10k-... file next to a train-... file when there is one.")
        test_labels_path: str | None = param(None, label="Test labels file", help="e.g. t10k-labels-idx1-ubyte")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        test_path, test_labels = self._test_files(path)
        images = read_idx(path)
        n_train = len(images)
        parts = [images]
        if test_path is not None:
            test_images = read_idx(test_path)
            if test_images.shape[1:] != images.shape[1:]:
                raise fail(test_path, f"holds images of shape {test_images.shape[1:]}, but {path.name} holds "
                           f"{images.shape[1:]}", "The train and test files must be of one data set")
            parts.append(test_images)
        images = np.concatenate(parts) if len(parts) > 1 else images
        if images.ndim not in (3, 4):
            raise fail(path, f"holds a {images.ndim}-D array {images.shape}; images need 3 dimensions (n, H, W)")
        scale = 255.0 if images.dtype == np.uint8 else 1.0
        X = (images.astype(np.float32) / scale)
        X = X[:, None] if X.ndim == 3 else X
        y: np.ndarray | None = None
        names: tuple[str, ...] = ()
        if p.labels_path:
            label_parts = [_labels(existing_file(p.labels_path, "labels file"), n_train)]
            if test_path is not None:
                if test_labels is None:
                    raise fail(test_path, "has no labels file, but the training images have one",
                               "Set test_labels_path (e.g. t10k-labels-idx1-ubyte)")
                label_parts.append(_labels(test_labels, len(X) - n_train))
            labels = np.concatenate(label_parts)
            classes = np.unique(labels)
            y, names = np.searchsorted(classes, labels).astype(np.int64), tuple(str(c) for c in classes)
        split = None
        if test_path is not None:
            split = np.concatenate([np.zeros(n_train, np.int8), np.full(len(X) - n_train, 2, np.int8)])
        in_unit = scale == 255.0 or (X.min() >= 0 and X.max() <= 1)
        return Dataset(name=path.name.split(".")[0], kind="image", X=X, y=y, label_names=names, split=split,
                       value_range=(0.0, 1.0) if in_unit else None,
                       recommended_normalization="none" if in_unit else "standardize", source=str(path),
                       description=f"{len(X)} images of {X.shape[-2]}x{X.shape[-1]} from {path.name}"
                       + (f" and {test_path.name} (its own test split)" if test_path is not None else ""))

    def _test_files(self, path: Path) -> tuple[Path | None, Path | None]:
        """The test images and labels: as set, or MNIST's t10k-... files beside train-... files."""
        p = self.params
        if p.test_path:
            test = existing_file(p.test_path, "test images file")
            return test, existing_file(p.test_labels_path, "test labels file") if p.test_labels_path else None
        if p.test_labels_path:
            raise fail(path, "test_labels_path is set but test_path is not")
        if not path.name.startswith("train-"):
            return None, None
        test = path.with_name("t10k-" + path.name[len("train-"):])
        if not test.is_file():
            return None, None
        labels = None
        if p.labels_path and Path(p.labels_path).name.startswith("train-"):
            candidate = Path(p.labels_path).with_name("t10k-" + Path(p.labels_path).name[len("train-"):])
            labels = candidate if candidate.is_file() else None
        return test, labels


def _labels(path: Path, n: int) -> np.ndarray:
    labels = read_idx(path)
    if labels.shape != (n,):
        raise fail(path, f"holds labels of shape {labels.shape} for {n} images")
    return labels
