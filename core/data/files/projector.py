"""TF Embedding Projector files: ``vectors.tsv`` and ``metadata.tsv``, to explore embeddings made elsewhere."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.data.files.csv_table import _encode_labels, decode
from core.params import BaseParams, param


@DATASETS.register("projector", kind="embeddings", file=True, patterns=("vectors.tsv", "*_vectors.tsv", "tensor.tsv", "tensors.tsv", "*_tensor.tsv"))
class ProjectorFiles(DatasetSource):
    """Embeddings in the TF Embedding Projector format: ``tensor.tsv`` or ``vectors.tsv`` (one tab-separated vector
    per line, no header) and an optional ``metadata.tsv`` (a header line when it has several columns; a single
    column has none and is the label). A ``metadata.tsv`` beside the vectors is read by itself; a ``label``
    column is the label. Explore them without training, or train on top of them."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Vectors (tensor.tsv / vectors.tsv)")
        metadata_path: str | None = param(None, label="Metadata (metadata.tsv)",
                                          help="Empty: the metadata.tsv beside the vectors, if there is one.")
        label_column: str | None = param(None, label="Label column", help="A metadata column used as the label.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        raw = path.read_bytes()
        check_fits_in_memory(path, len(raw) * 4, "the vectors")
        text, _ = decode(raw, "auto", path)
        rows = [line.split("\t") for line in text.splitlines() if line.strip()]
        if not rows:
            raise fail(path, "holds no vectors (only blank lines)", "One tab-separated vector per line")
        width = len(rows[0])
        for i, row in enumerate(rows, start=1):
            if len(row) != width:
                raise fail(path, f"line {i} has {len(row)} values, line 1 has {width}")
        try:
            X = np.array(rows, dtype=np.float32)
        except ValueError:
            bad = next((i, c) for i, row in enumerate(rows, 1) for c in row if not _is_float(c))
            raise fail(path, f"line {bad[0]}: {bad[1]!r} is not a number", "vectors.tsv holds numbers only") from None
        metadata: dict[str, np.ndarray] = {}
        y: np.ndarray | None = None
        names: tuple[str, ...] = ()
        notes: list[str] = []
        mp = None
        if p.metadata_path:
            mp = existing_file(p.metadata_path, "metadata file")
        elif (path.parent / "metadata.tsv").is_file():  # the Projector's own layout: tensor.tsv + metadata.tsv
            mp = path.parent / "metadata.tsv"
            notes.append(f"metadata read from {mp.name} beside {path.name}")
        if mp is not None:
            mtext, _ = decode(mp.read_bytes(), "auto", mp)
            mrows = [r for r in csv.reader(io.StringIO(mtext), delimiter="\t") if r and any(c.strip() for c in r)]
            if not mrows:
                raise fail(mp, "holds no metadata (only blank lines)",
                           "One row per vector, with a header line when there are several columns")
            # the Projector's rule: one column has no header line; two or more have one
            single = len(mrows[0]) == 1
            columns = ["label"] if single else [_undefuse(c) for c in mrows[0]]
            body = mrows if single else mrows[1:]
            if len(body) != len(X):
                raise fail(mp, f"has {len(body)} rows for {len(X)} vectors",
                           "One metadata row per vector (plus a header line when there are several columns)")
            cells = {name: [_undefuse(r[j]) if j < len(r) else "" for r in body] for j, name in enumerate(columns)}
            for name, values in cells.items():
                metadata[name] = _typed_column(values)
            label = p.label_column or ("label" if "label" in columns else None)
            if label is not None:
                if label not in columns:
                    raise fail(mp, f"has no column {label!r}", f"Columns: {', '.join(columns)}")
                names, y = _encode_labels(cells[label])  # the original strings, not numbers made of them
                if len(names) < 2:
                    y, names = None, ()
                else:
                    metadata.pop(label)
        return Dataset(name=path.parent.name or path.stem, kind="embeddings", X=X, y=y, label_names=names,
                       metadata=metadata, recommended_normalization="none", source=str(path), notes=tuple(notes),
                       description=f"{len(X)} vectors of dimension {X.shape[1]} from {path.name}")


def _undefuse(cell: str) -> str:
    """A cell our exports defused against spreadsheet formulas (a leading apostrophe) back to its text."""
    return cell[1:] if cell.startswith("'") and cell[1:2] in ("=", "+", "-", "@") else cell


def _typed_column(cells: list[str]) -> np.ndarray:
    """Whole numbers as int64, other numbers as float64, anything else as text (as it was written)."""
    try:
        return np.array([int(c) for c in cells], dtype=np.int64)
    except ValueError:
        pass
    try:
        return np.array([float(c) for c in cells])
    except ValueError:
        return np.array(cells)


def _is_float(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False
