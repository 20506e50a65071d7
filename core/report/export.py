"""Exports: embeddings and coordinates (NPY, CSV), TF Embedding Projector files, selections.

CSV cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
return) are neutralised with a leading apostrophe; numbers stay numbers. Every file is written atomically.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.data.base import Dataset
from core.data.preview import preview
from core.fileio import atomic_write_text, atomic_writer

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SPRITE_MAX = 8192  # the Projector's largest sprite side


def safe_cell(value: Any) -> Any:
    """A value for a CSV cell: numbers as numbers, text with formula characters defused."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(path: str | Path, columns: Mapping[str, Sequence[Any]]) -> Path:
    names = list(columns)
    n = len(next(iter(columns.values()))) if columns else 0
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([safe_cell(c) for c in names])
    for i in range(n):
        writer.writerow([safe_cell(columns[c][i]) for c in names])
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def write_npy(path: str | Path, array: np.ndarray) -> Path:
    with atomic_writer(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
    return Path(path)


def sample_columns(dataset: Dataset, indices: np.ndarray) -> dict[str, Sequence[Any]]:
    """index, label (when there are labels) and every metadata column, for the given samples."""
    cols: dict[str, Sequence[Any]] = {"index": indices.tolist()}
    if dataset.y is not None:
        cols["label"] = [dataset.label_names[k] for k in dataset.y[indices]]
    for name, values in dataset.metadata.items():
        cols[name] = np.asarray(values)[indices].tolist()
    return cols


def write_embeddings_csv(path: str | Path, dataset: Dataset, indices: np.ndarray, embeddings: np.ndarray,
                         coords: np.ndarray | None = None) -> Path:
    cols = sample_columns(dataset, indices)
    for j in range(embeddings.shape[1]):
        cols[f"z{j}"] = embeddings[:, j].tolist()
    if coords is not None:
        for j, axis in enumerate("xyz"[: coords.shape[1]]):
            cols[axis] = coords[:, j].tolist()
    return write_csv(path, cols)


def write_selection_csv(path: str | Path, dataset: Dataset, indices: np.ndarray) -> Path:
    return write_csv(path, sample_columns(dataset, np.asarray(indices)))


def _tsv_cell(value: Any) -> str:
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_projector(directory: str | Path, dataset: Dataset, indices: np.ndarray, embeddings: np.ndarray,
                    name: str = "embeddings") -> dict[str, Path]:
    """Files the TF Embedding Projector opens: ``tensor.tsv``, ``metadata.tsv`` (with a header), a sprite for
    images, ``projector_config.json`` (standalone Projector) and ``projector_config.pbtxt`` (TensorBoard)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    indices = np.asarray(indices)
    out: dict[str, Path] = {}
    out["tensor"] = directory / "tensor.tsv"
    atomic_write_text(out["tensor"], "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in embeddings))
    cols = sample_columns(dataset, indices)
    header = list(cols)
    lines = ["\t".join(header)] + ["\t".join(_tsv_cell(cols[c][i]) for c in header) for i in range(len(indices))]
    out["metadata"] = directory / "metadata.tsv"
    atomic_write_text(out["metadata"], "\n".join(lines) + "\n")
    sprite = None
    if dataset.kind == "image":
        out["sprite"], thumb = _sprite(directory / "sprite.png", dataset, indices)
        sprite = {"imagePath": "sprite.png", "singleImageDim": [thumb, thumb]}
    entry: dict[str, Any] = {"tensorName": name, "tensorShape": list(embeddings.shape), "tensorPath": "tensor.tsv",
                             "metadataPath": "metadata.tsv"}
    if sprite:
        entry["sprite"] = sprite
    out["config"] = directory / "projector_config.json"
    atomic_write_text(out["config"], json.dumps({"embeddings": [entry]}, indent=2) + "\n")
    pbtxt = [f'embeddings {{\n  tensor_name: "{name}"\n  tensor_path: "tensor.tsv"\n  metadata_path: "metadata.tsv"']
    if sprite:
        pbtxt.append(f'  sprite {{\n    image_path: "sprite.png"\n    single_image_dim: {thumb}\n    single_image_dim: {thumb}\n  }}')
    pbtxt.append("}\n")
    out["pbtxt"] = directory / "projector_config.pbtxt"
    atomic_write_text(out["pbtxt"], "\n".join(pbtxt))
    return out


def _sprite(path: Path, dataset: Dataset, indices: np.ndarray) -> tuple[Path, int]:
    """A square grid of thumbnails, no larger than the Projector's 8192 × 8192 limit."""
    from PIL import Image

    n = len(indices)
    per_row = max(1, math.ceil(math.sqrt(n)))
    h, w = dataset.sample_shape[-2:]
    thumb = max(1, min(max(h, w), SPRITE_MAX // per_row))
    grid = Image.new("RGB", (per_row * thumb, per_row * thumb))
    for k, i in enumerate(indices):
        img = preview(dataset, int(i)).image
        assert img is not None  # image datasets always preview as an image
        tile = Image.fromarray(img).convert("RGB").resize((thumb, thumb), Image.Resampling.NEAREST)
        grid.paste(tile, ((k % per_row) * thumb, (k // per_row) * thumb))
    with atomic_writer(path, "wb") as fh:
        grid.save(fh, format="PNG")
    return path, thumb
