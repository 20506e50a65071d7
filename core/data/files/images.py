"""An image folder: one sub-folder per class of PNG / JPEG / BMP files, resized to one size."""
from __future__ import annotations

import hashlib
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, class_folders, existing_folder, fail, split_class_files
from core.params import BaseParams, param

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@DATASETS.register("image_folder", kind="image", file=True, folder=True)
class ImageFolder(DatasetSource):
    """A folder with one sub-folder per class (``cats/``, ``dogs/``...) of PNG, JPEG or BMP images, grey or RGB,
    resized to a square size and scaled to [0, 1]. Pillow's decompression-bomb limit is enforced."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Folder", help="The folder whose sub-folders are the classes, or that holds "
                                                    "train/ and test/ (and val/) folders of class folders.")
        size: int = param(32, label="Image side (pixels)", min=4, max=1024)
        color: Literal["auto", "grayscale", "rgb"] = param("auto", label="Colour",
                                                            help="auto: RGB if any image is in colour, else grey.")
        workers: int = param(4, label="Decoding threads", min=1, max=64,
                             help="Images are decoded and resized by this many threads (Pillow releases the GIL).")
        memory_map: Literal["auto", "always", "never"] = param(
            "auto", label="Memory-map",
            help="Decode once into a memory-mapped cache file and read it from there (for folders larger than "
                 "memory, and instant reloads). auto: when the decoded images exceed 1 GiB.")

    def load(self) -> Dataset:
        from PIL import Image

        with warnings.catch_warnings():  # once, here: the filters are process-wide, the decoding threads see them
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's limit, kept and enforced
            return self._load()

    def _load(self) -> Dataset:
        p = self.params
        root = existing_folder(p.path)
        if not class_folders(root):
            loose = [f.name for f in root.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES]
            hint = f" (it holds {len(loose)} loose image(s))" if loose else ""
            raise fail(root, f"has no class folders{hint}", "Put the images in one sub-folder per class, e.g. cats/ and dogs/")
        class_names, found, has_split = split_class_files(root, lambda f: f.suffix.lower() in IMAGE_SUFFIXES,
                                                          "PNG, JPEG or BMP images")
        files = [(k, f) for k, f, _ in found]
        paths = [f for _, f in files]
        modes = _modes(paths, p.workers)  # headers only: nothing is decoded yet
        colour = any(m in ("RGB", "RGBA", "CMYK", "YCbCr") for m in modes.values()) or any(
            _palette_has_colour(f) for f, m in modes.items() if m == "P")
        channels = {"rgb": 3, "grayscale": 1}.get(p.color, 3 if colour else 1)
        mode = "RGB" if channels == 3 else "L"
        shape = (len(paths), channels, p.size, p.size)
        nbytes = int(np.prod(shape)) * 4
        mapped = p.memory_map == "always" or (p.memory_map == "auto" and nbytes > MEMORY_MAP_ABOVE)
        if mapped:
            X = _cached_decode(root, paths, mode, p.size, shape, p.workers)
        else:
            check_fits_in_memory(root, nbytes, f"{len(paths)} images")
            X = np.empty(shape, dtype=np.float32)
            _decode_into(X, paths, mode, p.size, p.workers)
        notes = []
        distinct = set(modes.values())
        if len(distinct) > 1:
            notes.append(f"the images mix modes ({', '.join(sorted(distinct))}); all were converted to {mode}")
        if mapped:
            notes.append("decoded once into a memory-mapped cache; training streams it")
        y = np.array([k for k, _ in files], dtype=np.int64)
        split = np.array([code for _, _, code in found], dtype=np.int8) if has_split else None
        return Dataset(name=root.name, kind="image", X=X, y=y, label_names=tuple(class_names), split=split,
                       metadata={"file": np.array([str(f.relative_to(root)) for f in paths])},
                       value_range=(0.0, 1.0), recommended_normalization="none", source=str(root),
                       description=f"{len(files)} images in {len(class_names)} classes from {root.name}/"
                       + (" (its own train / test split)" if has_split else ""), notes=tuple(notes))


MEMORY_MAP_ABOVE = 1 << 30


def _opened(f: Path):
    """Pillow's image, with its errors turned into sentences that name the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        return Image.open(f)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bomb(f, err) from None
    except UnidentifiedImageError:
        raise fail(f, "is not an image Pillow can read (corrupt, or another format)") from None
    except (OSError, SyntaxError) as err:
        raise fail(f, f"cannot be decoded ({err})", "The file is probably truncated or corrupt") from None


def _modes(paths: list[Path], workers: int) -> dict[Path, str]:
    def mode(f: Path) -> str:
        with _opened(f) as im:
            return im.mode

    with ThreadPoolExecutor(workers) as pool:
        return dict(zip(paths, pool.map(mode, paths), strict=True))


def _bomb(f: Path, err: Exception):
    return fail(f, f"is too large to decode safely ({err})",
                "Pillow refuses images this big (a possible decompression bomb); shrink it first")


def _decode(f: Path, mode: str, size: int) -> np.ndarray:
    """One image as float32 (channels, size, size) in [0, 1]."""
    from PIL import Image

    try:
        with _opened(f) as im:
            im.load()
            arr = np.asarray(im.convert(mode).resize((size, size), Image.Resampling.BILINEAR),
                             dtype=np.float32) / 255.0
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise _bomb(f, err) from None
    except (OSError, SyntaxError) as err:
        raise fail(f, f"cannot be decoded ({err})", "The file is probably truncated or corrupt") from None
    return arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)


def _decode_into(X: np.ndarray, paths: list[Path], mode: str, size: int, workers: int) -> None:
    """Decode every image into its row of ``X`` with ``workers`` threads; the first failure (in file order)
    is the one reported."""
    def one(i: int) -> None:
        X[i] = _decode(paths[i], mode, size)

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(one, i) for i in range(len(paths))]:
            future.result()


def cache_dir() -> Path:
    base = os.environ.get("REPLEARN_CACHE_DIR") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "replearn-studio"
    return Path(base) / "image-folders"


def _cached_decode(root: Path, paths: list[Path], mode: str, size: int, shape: tuple, workers: int) -> np.ndarray:
    """The decoded images from a cache file named after the folder's files (names, sizes, times), the side and
    the colour mode — decoded into it the first time, written under a temporary name and renamed when whole."""
    h = hashlib.sha256(f"{root.resolve()}|{mode}|{size}".encode())
    for f in paths:
        st = f.stat()
        h.update(f"{f.relative_to(root)}|{st.st_size}|{st.st_mtime_ns}".encode())
    path = cache_dir() / f"{h.hexdigest()[:24]}.npy"
    if path.is_file():
        try:
            X = np.load(path, mmap_mode="r", allow_pickle=False)
            if X.shape == shape and X.dtype == np.float32:
                return X
        except (OSError, ValueError):
            pass  # a damaged cache entry is decoded again
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + f".{os.getpid()}.part")
    X = np.lib.format.open_memmap(part, mode="w+", dtype=np.float32, shape=shape)
    try:
        _decode_into(X, paths, mode, size, workers)
        X.flush()
    except BaseException:
        del X
        part.unlink(missing_ok=True)
        raise
    del X
    os.replace(part, path)
    return np.load(path, mmap_mode="r", allow_pickle=False)


def _palette_has_colour(f: Path) -> bool:
    with _opened(f) as im:
        rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    return bool(np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 1] != rgb[..., 2]))
