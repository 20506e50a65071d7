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
from core.data.files.arrow import load_arrow
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


def write_embeddings_parquet(path: str | Path, columns: Mapping[str, Sequence[Any]], embeddings: np.ndarray,
                             coords: np.ndarray | None = None, vector_column: str = "embedding") -> Path:
    """One row per sample: ``columns`` (index, label, metadata), the vector as one fixed-size-list column of
    float32 (``embedding``) and, when given, the 2-D layout as ``x`` and ``y`` (``z`` for 3-D) — what pandas
    (``read_parquet``) and Embedding Atlas (``embedding-atlas FILE --x x --y y --vector embedding``) read as is."""
    load_arrow()
    import pyarrow as pa
    import pyarrow.parquet as pq

    embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
    _n, d = embeddings.shape
    arrays, names = [], []
    for name, values in columns.items():
        arrays.append(pa.array(np.asarray(values).tolist() if isinstance(values, np.ndarray) else list(values)))
        names.append(str(name))
    arrays.append(pa.FixedSizeListArray.from_arrays(pa.array(embeddings.reshape(-1)), d))
    names.append(vector_column)
    if coords is not None:
        for j, axis in enumerate("xyz"[: coords.shape[1]]):
            arrays.append(pa.array(np.asarray(coords[:, j], dtype=np.float32)))
            names.append(axis)
    table = pa.Table.from_arrays(arrays, names=names)
    with atomic_writer(path, "wb") as fh:
        pq.write_table(table, fh)
    return Path(path)


def write_embeddings_file(path: str | Path, columns: Mapping[str, Sequence[Any]], embeddings: np.ndarray,
                          coords: np.ndarray | None = None) -> Path:
    """Embeddings by the file's suffix: ``.npy`` (the vectors only), ``.parquet`` (vector column, columns,
    layout), ``.csv`` (``z0..zN`` columns after the others)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return write_npy(path, np.asarray(embeddings, dtype=np.float32))
    if suffix == ".parquet":
        return write_embeddings_parquet(path, columns, embeddings, coords)
    if suffix == ".csv":
        cols = dict(columns)
        for j in range(embeddings.shape[1]):
            cols[f"z{j}"] = embeddings[:, j].tolist()
        if coords is not None:
            for j, axis in enumerate("xyz"[: coords.shape[1]]):
                cols[axis] = coords[:, j].tolist()
        return write_csv(path, cols)
    from core.errors import ConfigError

    raise ConfigError("--out", f"{path.name}: unknown embeddings format {suffix or '(no suffix)'!r}", value=str(path),
                      allowed=".npy, .parquet, .csv")


def write_selection_csv(path: str | Path, dataset: Dataset, indices: np.ndarray) -> Path:
    return write_csv(path, sample_columns(dataset, np.asarray(indices)))


def _tsv_cell(value: Any) -> str:
    return str(value).replace("\t", " ").replace("\n", " ").replace("\r", " ")


def write_projector(directory: str | Path, dataset: Dataset, indices: np.ndarray, embeddings: np.ndarray,
                    name: str = "embeddings") -> dict[str, Path]:
    """Files the TF Embedding Projector opens: ``tensor.tsv``, ``metadata.tsv`` (a header line only with two or
    more columns, as the Projector requires; text cells defused like CSV cells), a sprite for images,
    ``projector_config.json`` (standalone Projector) and ``projector_config.pbtxt`` (TensorBoard). Unlabelled data
    without metadata gets no ``metadata.tsv``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    indices = np.asarray(indices)
    out: dict[str, Path] = {}
    out["tensor"] = directory / "tensor.tsv"
    atomic_write_text(out["tensor"], "".join("\t".join(f"{v:.6g}" for v in row) + "\n" for row in embeddings))
    cols = sample_columns(dataset, indices)
    if np.array_equal(indices, np.arange(dataset.n)):
        cols.pop("index")  # every sample in order: the Projector's own point numbers say it
    elif len(cols) == 1:
        cols = {}  # the row numbers alone: a one-column metadata.tsv would be read as labels; leave it out
    header = list(cols)
    if cols:
        # The Projector's rule: a header line only when there are two or more columns
        body = ["\t".join(_tsv_cell(safe_cell(cols[c][i])) for c in header) for i in range(len(indices))]
        lines = (["\t".join(_tsv_cell(safe_cell(c)) for c in header)] if len(header) > 1 else []) + body
        out["metadata"] = directory / "metadata.tsv"
        atomic_write_text(out["metadata"], "\n".join(lines) + "\n")
    sprite = None
    if dataset.kind == "image":
        out["sprite"], thumb = _sprite(directory / "sprite.png", dataset, indices)
        sprite = {"imagePath": "sprite.png", "singleImageDim": [thumb, thumb]}
    entry: dict[str, Any] = {"tensorName": name, "tensorShape": list(embeddings.shape), "tensorPath": "tensor.tsv"}
    if cols:
        entry["metadataPath"] = "metadata.tsv"
    if sprite:
        entry["sprite"] = sprite
    out["config"] = directory / "projector_config.json"
    atomic_write_text(out["config"], json.dumps({"embeddings": [entry]}, indent=2) + "\n")
    pbtxt = [f'embeddings {{\n  tensor_name: "{name}"\n  tensor_path: "tensor.tsv"'
             + ('\n  metadata_path: "metadata.tsv"' if cols else "")]
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
