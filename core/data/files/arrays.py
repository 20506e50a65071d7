"""NumPy files: .npy (memory-mapped) and .npz, never unpickled."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from core.data.base import DATASETS, SPLIT_NAMES, DataKind, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.errors import DataError
from core.params import BaseParams, param

FEATURE_NAMES = ("X", "x", "features", "data", "embeddings", "images")
LABEL_NAMES = ("y", "labels", "label", "targets", "target")

# How public benchmarks name the members of a split .npz (keras' mnist.npz: x_train, y_train, x_test, y_test).
_SPLIT_TOKENS = {"train": ("train", "training", "tr"), "val": ("val", "valid", "validation", "dev"),
                 "test": ("test", "testing", "te")}
_X_STEMS = ("x", "features", "images", "data", "inputs", "embeddings")
_Y_STEMS = ("y", "labels", "label", "targets", "target")


def split_members(names: list[str]) -> dict[str, tuple[str, str | None]] | None:
    """``{split: (features member, labels member or None)}`` when the members follow a known per-split naming
    (``x_train`` / ``train_x`` / ``train_images`` ..., any case) with at least train and test; else None."""
    lower = {n.lower(): n for n in names}

    def find(stems, tokens):
        for stem in stems:
            for tok in tokens:
                for cand in (f"{stem}_{tok}", f"{tok}_{stem}", f"{stem}{tok}", f"{tok}{stem}"):
                    if cand in lower:
                        return lower[cand]
        return None

    found = {}
    for split, tokens in _SPLIT_TOKENS.items():
        x = find(_X_STEMS, tokens)
        if x is not None:
            found[split] = (x, find(_Y_STEMS, tokens))
    found = {s: found[s] for s in ("train", "val", "test") if s in found}
    return found if "train" in found and "test" in found else None


def looks_split(names: list[str]) -> bool:
    return any(tok in n.lower() for n in names for tok in ("train", "test"))


def _split_hint(names: list[str]) -> str:
    # the example uses the file's own members, so it can be copied as it is
    train = next((n for n in names if "train" in n.lower()), names[0] if names else "x_train")
    test = next((n for n in names if "test" in n.lower() and n != train), None)
    example = f"array = \"{train}\"" + (f", test_array = \"{test}\"" if test else "")
    return ("Name the members in the data settings: array and labels_array for the training split, test_array and "
            "test_labels_array (and val_array, val_labels_array) for the others, e.g. " + example +
            "; or name one array to use it alone. Members: " + ", ".join(names))


def _no_member(path: Path, member: str, names: list[str]) -> DataError:
    """A member the archive lacks, with the closest one it has."""
    import difflib

    close = difflib.get_close_matches(member, names, n=1)
    hint = f"Did you mean {close[0]!r}? " if close else ""
    return fail(path, f"has no array {member!r}", f"{hint}Arrays: {', '.join(names)}")


def load_array(path: Path, member: str | None = None) -> np.ndarray:
    """A .npy file memory-mapped (read-only), or one member of an .npz file; pickled objects are refused."""
    with open(path, "rb") as fh:
        head = fh.read(6)
    if head != b"\x93NUMPY" and not head.startswith(b"PK"):
        raise fail(path, "is not a NumPy file (no .npy or .npz signature)",
                   "Save arrays with numpy.save / numpy.savez; pickles are never loaded")
    try:
        if path.suffix.lower() == ".npz" or head.startswith(b"PK"):
            arrays = npz_arrays(path)
            with np.load(path, allow_pickle=False) as archive:
                names = [n for n in archive.files if n in arrays]
                if not names:
                    raise fail(path, "holds no arrays (no .npy member)")
                if member is not None and member not in names and member.removesuffix(".npy") in names:
                    member = member.removesuffix(".npy")
                if member is not None and member not in names and member in archive.files:
                    raise fail(path, f"member {member!r} is not a NumPy array (.npy)", f"Arrays: {', '.join(names)}")
                if member is None:
                    member = next((n for n in FEATURE_NAMES if n in names), names[0])
                if member not in names:
                    raise _no_member(path, member, names)
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


def npz_arrays(path: Path) -> set[str]:
    """Names of the .npy members of an .npz archive (as NumPy lists them, without ``.npy``). A member whose path
    could leave the archive (``../``, absolute) makes the whole file suspect: it is refused."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise fail(path, f"is not a valid .npz archive ({err})", "Is it truncated, or another format?") from None
    for name in members:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or ".." in parts or (len(name) > 1 and name[1] == ":"):
            raise fail(path, f"member {name!r} has a path that leaves the archive; the file was refused",
                       "Save arrays with numpy.savez")
    return {n[:-4] for n in members if n.endswith(".npy")}


def npz_members(path: Path) -> list[str]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return list(archive.files)
    except Exception:
        load_array(path)
        raise


def _labels_hint(path: Path, names: list[str], n: int) -> str:
    """A note for an archive loaded without labels whose other member holds them."""
    for name in names:
        if name.lower() in LABEL_NAMES:
            return f"{path.name} has a member {name!r} that looks like labels: set labels_array = \"{name}\" to use it"
    return ""


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
    class Params(BaseParams):
        path: str = param("", label="File", help="A .npy file, or an .npz archive.")
        array: str | None = param(None, label="Features array (.npz)", help="Member name; empty = X / features / the first.")
        labels_array: str | None = param(None, label="Labels array (.npz)", help="Member of the .npz archive.")
        labels_path: str | None = param(None, label="Labels file", help="A separate .npy file, one label per sample.")
        test_array: str | None = param(None, label="Test features (.npz)",
                                       help="Member holding the data set's own test split (e.g. x_test); found by "
                                            "itself for x_train / x_test style archives.")
        test_labels_array: str | None = param(None, label="Test labels (.npz)", help="e.g. y_test")
        val_array: str | None = param(None, label="Validation features (.npz)", help="e.g. x_val; empty = none "
                                      "(carved from the training split)")
        val_labels_array: str | None = param(None, label="Validation labels (.npz)", help="e.g. y_val")
        kind: Literal["auto", "tabular", "image", "sequence", "embeddings"] = param(
            "auto", label="Data kind", help="auto: 2-D arrays are tabular, 3-D and 4-D arrays images.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        names = npz_members(path) if path.suffix.lower() == ".npz" else []
        members = self._split_layout(path, names)
        split = None
        notes: list[str] = []
        if members is None:
            X = as_features(path, load_array(path, p.array))
        else:
            parts = {s: as_features(path, load_array(path, x)) for s, (x, _) in members.items()}
            shapes = {s: a.shape[1:] for s, a in parts.items()}
            if len(set(shapes.values())) > 1:
                detail = ", ".join(f"{members[s][0]} {shapes[s]}" for s in parts)
                raise fail(path, f"its splits hold samples of different shapes ({detail})",
                           "Every split needs samples of one shape")
            X = np.concatenate([parts[s] for s in parts])
            split = np.concatenate([np.full(len(a), SPLIT_NAMES.index(s), np.int8) for s, a in parts.items()])
        kind: DataKind = p.kind if p.kind != "auto" else ("tabular" if X.ndim == 2 else "image")
        if kind == "image":
            if X.ndim not in (3, 4):
                raise fail(path, f"an image array must be 3-D (n, H, W) or 4-D, got shape {X.shape}")
            X = image_layout(X)
        elif kind == "sequence" and X.ndim == 2:
            X = X[:, None, :]
        y: np.ndarray | None = None
        label_names: tuple[str, ...] = ()
        if members is not None and any(lab for _, lab in members.values()):
            missing = [s for s, (_, lab) in members.items() if lab is None]
            if missing:
                raise fail(path, f"has labels for some splits but none for {', '.join(missing)}",
                           "Name the labels member of every split (labels_array, test_labels_array, val_labels_array)")
            labels = []
            for s, (x, lab) in members.items():
                a = np.asarray(load_array(path, lab))
                if a.shape[:1] != (len(parts[s]),) or a.ndim != 1:
                    raise fail(path, f"member {lab!r} holds labels of shape {a.shape} for the {len(parts[s])} samples "
                               f"of {x!r}", "Give one label per sample")
                labels.append(a)
            y, label_names = labels_from(path, np.concatenate(labels), len(X))
        elif p.labels_array:
            if path.suffix.lower() != ".npz":
                raise fail(path, "labels_array names a member of an .npz archive", "Use labels_path for a separate .npy file")
            y, label_names = labels_from(path, load_array(path, p.labels_array), len(X))
        elif p.labels_path:
            lp = existing_file(p.labels_path, "labels file")
            y, label_names = labels_from(lp, np.asarray(load_array(lp)), len(X))
        elif names:
            hint = _labels_hint(path, names, len(X))
            if hint:
                notes.append(hint)
        value_range = None
        if kind == "image":
            sample = np.asarray(X[: min(len(X), 256)])
            if sample.min() >= 0 and sample.max() <= 1:
                value_range = (0.0, 1.0)
        description = f"{X.shape[0]} samples of shape {X.shape[1:]} from {path.name}"
        if members is not None:
            description += " (its own split: " + ", ".join(f"{members[s][0]} {len(a)}" for s, a in parts.items()) + ")"
        return Dataset(name=path.stem, kind=kind, X=X, y=y, label_names=label_names, value_range=value_range,
                       recommended_normalization="none" if value_range else "standardize", split=split,
                       description=description, source=str(path), notes=tuple(notes))

    def _split_layout(self, path: Path, names: list[str]) -> dict[str, tuple[str, str | None]] | None:
        """The members of each split, named in the settings or found by their names; None = one array."""
        p = self.params
        named = {"test": (p.test_array, p.test_labels_array), "val": (p.val_array, p.val_labels_array)}
        if any(a or lab for a, lab in named.values()):
            if path.suffix.lower() != ".npz":
                raise fail(path, "test_array / val_array name members of an .npz archive")
            if not p.array:
                raise fail(path, "test_array is set but array (the training split's member) is not", _split_hint(names))
            layout = {"train": (p.array, p.labels_array)}
            for s, (a, lab) in named.items():
                if lab and not a:
                    raise fail(path, f"{s}_labels_array is set but {s}_array is not")
                if a:
                    layout[s] = (a, lab)
            for member in (m for pair in layout.values() for m in pair if m):
                if member not in names:
                    raise _no_member(path, member, names)
            return {s: layout[s] for s in SPLIT_NAMES if s in layout}
        if p.array or not names:
            return None
        found = split_members(names)
        if found is None and looks_split(names) and not any(n in names for n in FEATURE_NAMES):
            raise fail(path, "holds members that look like a train / test split, but none is named", _split_hint(names))
        if found is not None and p.labels_array:
            raise fail(path, f"labels_array = {p.labels_array!r} is set, but the archive has its own split",
                       _split_hint(names))
        return found
