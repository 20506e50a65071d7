"""An image folder: one sub-folder per class of PNG / JPEG / BMP files, resized to one size."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np

from core.config.params import Params, param
from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_folder, fail

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


@DATASETS.register("image_folder", kind="image", file=True)
class ImageFolder(DatasetSource):
    """A folder with one sub-folder per class (``cats/``, ``dogs/``...) of PNG, JPEG or BMP images, grey or RGB,
    resized to a square size and scaled to [0, 1]. Pillow's decompression-bomb limit is enforced."""

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        path: str = param("", label="Folder", help="The folder whose sub-folders are the classes.")
        size: int = param(32, label="Image side (pixels)", min=4, max=1024)
        color: Literal["auto", "grayscale", "rgb"] = param("auto", label="Colour",
                                                            help="auto: RGB if any image is in colour, else grey.")

    def load(self) -> Dataset:
        from PIL import Image, UnidentifiedImageError

        p = self.params
        root = existing_folder(p.path)
        classes = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
        if not classes:
            loose = [f.name for f in root.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES]
            hint = f" (it holds {len(loose)} loose image(s))" if loose else ""
            raise fail(root, f"has no class folders{hint}", "Put the images in one sub-folder per class, e.g. cats/ and dogs/")
        files: list[tuple[int, object]] = []
        for k, folder in enumerate(classes):
            found = sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise fail(folder, "is an empty class folder (no PNG, JPEG or BMP images)",
                           "Add images to it or remove the folder")
            files += [(k, f) for f in found]
        channels = 3 if p.color == "rgb" else 1
        check_fits_in_memory(root, len(files) * 3 * p.size * p.size * 4, f"{len(files)} images")
        images, modes = [], set()
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's limit, kept and enforced
            for _, f in files:
                try:
                    with Image.open(f) as im:
                        im.load()
                        modes.add(im.mode)
                        images.append(im.copy())
                except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
                    raise fail(f, f"is too large to decode safely ({err})",
                               "Pillow refuses images this big (a possible decompression bomb); shrink it first") from None
                except UnidentifiedImageError:
                    raise fail(f, "is not an image Pillow can read (corrupt, or another format)") from None
                except (OSError, SyntaxError) as err:
                    raise fail(f, f"cannot be decoded ({err})", "The file is probably truncated or corrupt") from None
        colour = any(im.mode in ("RGB", "RGBA", "CMYK", "YCbCr") or (im.mode == "P" and _palette_has_colour(im))
                     for im in images)
        if p.color == "auto":
            channels = 3 if colour else 1
        mode = "RGB" if channels == 3 else "L"
        X = np.empty((len(images), channels, p.size, p.size), dtype=np.float32)
        for i, im in enumerate(images):
            arr = np.asarray(im.convert(mode).resize((p.size, p.size), Image.Resampling.BILINEAR), dtype=np.float32) / 255.0
            X[i] = arr[None] if channels == 1 else np.moveaxis(arr, -1, 0)
        notes = []
        if len(modes) > 1:
            notes.append(f"the images mix modes ({', '.join(sorted(modes))}); all were converted to {mode}")
        y = np.array([k for k, _ in files], dtype=np.int64)
        return Dataset(name=root.name, kind="image", X=X, y=y, label_names=tuple(c.name for c in classes),
                       metadata={"file": np.array([str(f.relative_to(root)) for _, f in files])},
                       value_range=(0.0, 1.0), recommended_normalization="none", source=str(root),
                       description=f"{len(files)} images in {len(classes)} classes from {root.name}/", notes=tuple(notes))


def _palette_has_colour(im) -> bool:
    rgb = np.asarray(im.convert("RGB"), dtype=np.int16)
    return bool(np.any(rgb[..., 0] != rgb[..., 1]) or np.any(rgb[..., 1] != rgb[..., 2]))
