"""TF Embedding Projector files: ``vectors.tsv`` and ``metadata.tsv``, to explore embeddings made elsewhere."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.files.common import check_fits_in_memory, existing_file, fail
from core.data.files.csv_table import _encode_labels, _metadata_column, decode
from core.params import Params, param


@DATASETS.register("projector", kind="embeddings", file=True, patterns=("vectors.tsv", "*_vectors.tsv"))
class ProjectorFiles(DatasetSource):
    """Embeddings in the TF Embedding Projector format: ``vectors.tsv`` (one tab-separated vector per line, no
    header) and an optional ``metadata.tsv`` (a header line when it has several columns; a single column has
    none). Explore them without training, or train on top of them."""

    @dataclass(frozen=True, kw_only=True)
    class Params(Params):
        path: str = param("", label="Vectors (vectors.tsv)")
        metadata_path: str | None = param(None, label="Metadata (metadata.tsv)")
        label_column: str | None = param(None, label="Label column", help="A metadata column used as the label.")

    def load(self) -> Dataset:
        p = self.params
        path = existing_file(p.path)
        raw = path.read_bytes()
        check_fits_in_memory(path, len(raw) * 4, "the vectors")
        text, _ = decode(raw, "auto", path)
        rows = [line.split("\t") for line in text.splitlines() if line.strip()]
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
        if p.metadata_path:
            mp = existing_file(p.metadata_path, "metadata file")
            mtext, _ = decode(mp.read_bytes(), "auto", mp)
            mrows = list(csv.reader(io.StringIO(mtext), delimiter="\t"))
            mrows = [r for r in mrows if r]
            columns = ["label"] if len(mrows[0]) == 1 else mrows[0]
            body = mrows if len(mrows[0]) == 1 else mrows[1:]
            if len(body) != len(X):
                raise fail(mp, f"has {len(body)} rows for {len(X)} vectors",
                           "One metadata row per vector (plus a header line when there are several columns)")
            for j, name in enumerate(columns):
                metadata[name] = _metadata_column([r[j] if j < len(r) else "" for r in body])
            label = p.label_column or (columns[0] if len(columns) == 1 else None)
            if label is not None:
                if label not in columns:
                    raise fail(mp, f"has no column {label!r}", f"Columns: {', '.join(columns)}")
                names, y = _encode_labels([str(v) for v in metadata[label]])
                if len(names) < 2:
                    y, names = None, ()
        return Dataset(name=path.parent.name or path.stem, kind="embeddings", X=X, y=y, label_names=names,
                       metadata=metadata, recommended_normalization="none", source=str(path),
                       description=f"{len(X)} vectors of dimension {X.shape[1]} from {path.name}")


def _is_float(cell: str) -> bool:
    try:
        float(cell)
        return True
    except ValueError:
        return False
