"""Parquet files and saved Hugging Face ``datasets`` folders, read with pyarrow.

Features are numeric columns, or one vector column of lists (``list<float>`` or ``fixed_size_list``). Rows are
read a row group (Parquet) or a record batch (Arrow) at a time into a float32 array — memory-mapped from a cache
file when the features are large — so a file larger than memory never sits in memory whole. Label, metadata and
split columns are small and read as they are.

A ``save_to_disk`` folder (``dataset_info.json``, ``state.json``, ``data-*.arrow`` in Arrow's stream format; a
``DatasetDict`` has one such folder per split and a ``dataset_dict.json``) is read without the ``datasets``
package; its splits become the data set's own split, and ``ClassLabel`` names become the label names.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from core.data.base import DATASETS, SPLIT_ALIASES, Dataset, DatasetSource, split_codes
from core.data.files.arrow import load_arrow
from core.data.files.common import check_fits_in_memory, existing_file, existing_folder, fail
from core.params import BaseParams, param

MEMORY_MAP_ABOVE = 1 << 30  # decoded features above this go to a memory-mapped cache file in "auto" mode


@dataclass(frozen=True)
class _Plan:
    """Which columns are what, decided from the schema before any row is read."""

    features: tuple[str, ...]  # numeric columns, or the one vector column
    vector: str | None
    width: int
    label: str | None
    metadata: tuple[str, ...]
    split: str | None


def _is_numeric(t) -> bool:
    load_arrow()
    import pyarrow.types as pt

    return pt.is_integer(t) or pt.is_floating(t) or pt.is_boolean(t) or pt.is_decimal(t)


def _is_list(t) -> bool:
    load_arrow()
    import pyarrow.types as pt

    return pt.is_list(t) or pt.is_large_list(t) or pt.is_fixed_size_list(t)


def _plan(schema, where: str, *, feature_columns, vector_column, label_column, metadata_columns, split_column,
          first_batch) -> _Plan:
    names = list(schema.names)

    def need(name: str | None, role: str) -> str | None:
        if name and name not in names:
            import difflib

            close = difflib.get_close_matches(name, names, n=1)
            hint = f"Did you mean {close[0]!r}? " if close else ""
            raise fail(where, f"has no {role} column {name!r}", f"{hint}Columns: {', '.join(names[:30])}")
        return name

    label, split = need(label_column, "label"), need(split_column, "split")
    metadata = tuple(str(need(m, "metadata")) for m in metadata_columns)  # need() returns a name it was given
    taken = {label, split, *metadata}
    if vector_column:
        need(vector_column, "vector")
        t = schema.field(vector_column).type
        if not _is_list(t) or not _is_numeric(t.value_type):
            raise fail(where, f"column {vector_column!r} holds {t}, not a list of numbers",
                       "Name a list<float> or fixed_size_list column, or the numeric feature columns")
        return _Plan((vector_column,), vector_column, _vector_width(t, first_batch, vector_column, where), label,
                     metadata, split)
    if feature_columns:
        features = tuple(str(need(c, "feature")) for c in feature_columns)
        for c in features:
            if not _is_numeric(schema.field(c).type):
                raise fail(where, f"feature column {c!r} holds {schema.field(c).type}, not numbers",
                           "Mark it as label_column or metadata_columns")
    else:
        lists = [c for c in names if c not in taken and _is_list(schema.field(c).type)
                 and _is_numeric(schema.field(c).type.value_type)]
        numeric = [c for c in names if c not in taken and _is_numeric(schema.field(c).type)]
        if len(lists) == 1:  # an embeddings file: the vector column is the features (ids etc. are not)
            return _plan(schema, where, feature_columns=(), vector_column=lists[0], label_column=label_column,
                         metadata_columns=metadata_columns, split_column=split_column, first_batch=first_batch)
        if not numeric:
            others = [f"{c} ({schema.field(c).type})" for c in names if c not in taken]
            raise fail(where, "has no numeric feature columns" + (f" (columns: {', '.join(others[:10])})" if others else ""),
                       "Name a vector column (vector_column) or the feature columns")
        features = tuple(numeric)
    return _Plan(features, None, len(features), label, metadata, split)


def _vector_width(t, first_batch, column: str, where: str) -> int:
    """A fixed-size list says its width; a plain list's first row does (every other row is checked to match)."""
    load_arrow()
    import pyarrow.types as pt

    if pt.is_fixed_size_list(t):
        return int(t.list_size)
    batch = first_batch(column)
    if batch is None or batch.num_rows == 0:
        raise fail(where, f"column {column!r} is empty")
    lengths = batch.column(column).value_lengths()
    return int(lengths[0].as_py() or 0)


def _fill(X: np.ndarray, batches: Iterable, plan: _Plan, where: str) -> None:
    """Copy the features of each batch into its rows of ``X``; ragged lists and nulls are refused by row."""
    load_arrow()
    import pyarrow as pa
    import pyarrow.compute as pc

    start = 0
    for batch in batches:
        n = batch.num_rows
        if plan.vector is not None:
            col = batch.column(plan.vector)
            if col.null_count:
                row = start + int(np.flatnonzero(np.asarray(col.is_null()))[0])
                raise fail(where, f"row {row + 1}: the vector in {plan.vector!r} is missing")
            if not pa.types.is_fixed_size_list(col.type):
                lengths = np.asarray(col.value_lengths())
                bad = np.flatnonzero(lengths != plan.width)
                if bad.size:
                    raise fail(where, f"column {plan.vector!r} holds lists of different lengths (row 1 has "
                               f"{plan.width} values, row {start + int(bad[0]) + 1} has {int(lengths[bad[0]])})",
                               "Every sample needs a vector of one length")
                values = pc.list_flatten(col)
            else:
                values = col.flatten()
            if values.null_count:
                raise fail(where, f"column {plan.vector!r} holds missing values inside a vector")
            X[start:start + n] = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(n, plan.width)
        else:
            for j, name in enumerate(plan.features):
                col = batch.column(name)
                if col.null_count:
                    row = start + int(np.flatnonzero(np.asarray(col.is_null()))[0])
                    raise fail(where, f"row {row + 1}, column {name!r}: the value is missing",
                               "Fill or drop missing values before loading")
                X[start:start + n, j] = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float32)
        start += n


def _small_columns(tables: list, plan: _Plan, where: str) -> tuple[np.ndarray | None, tuple[str, ...],
                                                                    dict[str, np.ndarray], np.ndarray | None]:
    """Labels (class indices and names), metadata columns and split codes, from the column-only tables."""
    load_arrow()
    import pyarrow as pa

    def column(name: str):
        return pa.chunked_array([c for t in tables for c in t.column(name).chunks], type=tables[0].schema.field(name).type)

    y: np.ndarray | None = None
    names: tuple[str, ...] = ()
    if plan.label:
        col = column(plan.label)
        if col.null_count:
            raise fail(where, f"the label column {plan.label!r} has {col.null_count} missing value(s)")
        values = np.asarray(col.to_numpy())
        classes = np.unique(values)
        y = np.searchsorted(classes, values).astype(np.int64)
        names = tuple(str(c) for c in classes)
    metadata = {m: np.asarray(column(m).to_pylist(), dtype=object if not _is_numeric(column(m).type) else None)
                for m in plan.metadata}
    metadata = {k: (v.astype(str) if v.dtype == object else v) for k, v in metadata.items()}
    split = split_codes(column(plan.split).to_pylist(), f"{where}, column {plan.split!r}") if plan.split else None
    return y, names, metadata, split


def _allocate(where: Path, key: str, n: int, width: int, memory_map: str) -> np.ndarray:
    nbytes = n * width * 4
    if memory_map == "always" or (memory_map == "auto" and nbytes > MEMORY_MAP_ABOVE):
        from core.data.files.images import cache_dir

        path = cache_dir().parent / "arrow" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + f".{os.getpid()}.part")
        return np.lib.format.open_memmap(part, mode="w+", dtype=np.float32, shape=(n, width))
    check_fits_in_memory(where, nbytes, "the features as float32")
    return np.empty((n, width), dtype=np.float32)


def _finish(X: np.ndarray) -> np.ndarray:
    """A memory-mapped cache file renamed to its final name once whole, and reopened read-only."""
    if isinstance(X, np.memmap) and str(X.filename).endswith(".part"):
        X.flush()
        part = Path(str(X.filename))
        del X
        final = part.with_name(part.name.split(".npy.")[0] + ".npy")
        os.replace(part, final)
        return np.load(final, mmap_mode="r", allow_pickle=False)
    return X


class _ArrowReader(DatasetSource):
    def _make(self, where: Path, name: str, parts: list[tuple[Any, int, Any]], plan: _Plan, key: str,
              split_from_folders: np.ndarray | None, label_names: tuple[str, ...] | None,
              kind: str, description: str) -> Dataset:
        """``parts``: (batch iterator factory, rows, column table of the small columns) per file."""
        n = sum(rows for _, rows, _ in parts)
        if n == 0:
            raise fail(where, "holds no rows")
        X = _allocate(where, key, n, plan.width, self.params.memory_map)
        try:
            offset = 0
            for batches, rows, _ in parts:
                _fill(X[offset:offset + rows], batches(), plan, str(where))
                offset += rows
            X = _finish(X)
        except BaseException:
            if isinstance(X, np.memmap):
                filename = str(X.filename)
                del X
                Path(filename).unlink(missing_ok=True)
            raise
        y, names, metadata, split = _small_columns([t for _, _, t in parts], plan, str(where))
        if label_names is not None and y is not None and plan.label:
            raw = np.concatenate([np.asarray(t.column(plan.label).to_numpy()) for _, _, t in parts])
            if raw.min() >= 0 and raw.max() < len(label_names):  # ClassLabel ids: keep the names, in their order
                y, names = raw.astype(np.int64), tuple(label_names)
        if split is None:
            split = split_from_folders
        if kind == "sequence":
            X = X.reshape(n, 1, plan.width)
        return Dataset(name=name, kind=kind, X=X, y=y, label_names=names, metadata=metadata, split=split,  # type: ignore[arg-type]
                       feature_names=plan.features if plan.vector is None else (),
                       recommended_normalization="none" if kind == "embeddings" else "standardize",
                       source=str(where), description=description)


def _columns_params():
    return dict(
        feature_columns=param((), label="Feature columns", help="Numeric columns used as features; empty = every "
                                                              "numeric column not named below (or the one list column)."),
        vector_column=param(None, label="Vector column", help="One column of lists (list<float> or fixed_size_list) "
                                                            "holding each sample's vector."),
        label_column=param(None, label="Label column"),
        metadata_columns=param((), label="Metadata columns", help="Kept for colouring and search, not used as features."),
        split_column=param(None, label="Split column", help="train / val / test per row: the data set's own split."),
    )


@DATASETS.register("parquet", kind="tabular", file=True, patterns=("*.parquet", "*.pq"))
class ParquetTable(_ArrowReader):
    """A Parquet file: numeric feature columns or one vector column (list / fixed-size list), a label column,
    metadata columns and a split column. Read a row group at a time, into a memory-mapped float32 cache when the
    features exceed 1 GiB, so files larger than memory can be trained on."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="File", help="A .parquet file.")
        feature_columns: tuple[str, ...] = _columns_params()["feature_columns"]
        vector_column: str | None = _columns_params()["vector_column"]
        label_column: str | None = _columns_params()["label_column"]
        metadata_columns: tuple[str, ...] = _columns_params()["metadata_columns"]
        split_column: str | None = _columns_params()["split_column"]
        kind: Literal["tabular", "embeddings", "sequence"] = param("tabular", label="Data kind")
        memory_map: Literal["auto", "always", "never"] = param(
            "auto", label="Memory-map", help="Read the features into a memory-mapped cache file (for files larger "
                                             "than memory). auto: above 1 GiB of float32 features.")

    def load(self) -> Dataset:
        load_arrow()
        import pyarrow as pa
        import pyarrow.parquet as pq

        p = self.params
        path = existing_file(p.path)
        try:
            pf = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise fail(path, f"is not a Parquet file pyarrow can read ({err})") from None
        schema = pf.schema_arrow

        def first_batch(column: str):
            if not pf.num_row_groups:
                return None
            batches = pf.read_row_group(0, columns=[column]).to_batches()
            return batches[0] if batches else None

        plan = _plan(schema, str(path), feature_columns=p.feature_columns, vector_column=p.vector_column,
                     label_column=p.label_column, metadata_columns=p.metadata_columns, split_column=p.split_column,
                     first_batch=first_batch)
        small = [c for c in (plan.label, plan.split, *plan.metadata) if c]
        table = pf.read(columns=small) if small else pa.table({"_": pa.array(np.zeros(pf.metadata.num_rows))})

        def batches():
            for g in range(pf.num_row_groups):  # one row group in memory at a time
                yield from pf.read_row_group(g, columns=list(plan.features)).to_batches()

        st = path.stat()
        key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{plan}"
        return self._make(path, path.stem, [(batches, pf.metadata.num_rows, table)], plan, key, None, None, p.kind,
                          f"{pf.metadata.num_rows} rows x {plan.width} features from {path.name}")


@DATASETS.register("hf_arrow", kind="tabular", file=True, folder=True, folder_files=("data-*.arrow",))
class HuggingFaceFolder(_ArrowReader):
    """A folder written by Hugging Face ``datasets``' ``save_to_disk`` (``dataset_info.json``, ``state.json`` and
    ``data-*.arrow`` files; a ``DatasetDict`` has a ``dataset_dict.json`` and one such folder per split), read
    with pyarrow alone. Its splits (train / validation / test) become the data set's own split; ClassLabel
    names become the label names."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        path: str = param("", label="Folder", help="The folder save_to_disk wrote.")
        feature_columns: tuple[str, ...] = _columns_params()["feature_columns"]
        vector_column: str | None = _columns_params()["vector_column"]
        label_column: str | None = param(None, label="Label column", help="Empty: the ClassLabel column, if any.")
        metadata_columns: tuple[str, ...] = _columns_params()["metadata_columns"]
        kind: Literal["tabular", "embeddings", "sequence"] = param("tabular", label="Data kind")
        memory_map: Literal["auto", "always", "never"] = param("auto", label="Memory-map")

    def load(self) -> Dataset:
        p = self.params
        root = existing_folder(p.path)
        if (root / "dataset_dict.json").is_file():
            splits = self._json(root / "dataset_dict.json").get("splits") or []
            folders = [(s, root / s) for s in splits]
            unknown = [s for s, _ in folders if str(s).lower() not in SPLIT_ALIASES]
            if unknown:
                raise fail(root / "dataset_dict.json", f"names split(s) {', '.join(map(repr, unknown))}, which are none "
                           "of train, validation or test", "Load one split's folder on its own")
        else:
            folders = [("train", root)]
        files = []
        for split, folder in folders:
            arrows = self._arrow_files(folder)
            files += [(split, f) for f in arrows]
        info = self._json(folders[0][1] / "dataset_info.json") if (folders[0][1] / "dataset_info.json").is_file() else {}
        features = info.get("features") or {}
        label = p.label_column or next((k for k, v in features.items() if isinstance(v, dict)
                                        and v.get("_type") == "ClassLabel"), None)
        label_names = None
        if label and isinstance(features.get(label), dict) and features[label].get("names"):
            label_names = tuple(str(n) for n in features[label]["names"])
        readers = [(split, f, self._open(f)) for split, f in files]
        schema = readers[0][2][0]
        for _, f, (s, _) in readers[1:]:
            if s.names != schema.names:
                raise fail(f, f"has columns {', '.join(s.names)}, but {files[0][1].name} has {', '.join(schema.names)}")
        first = readers[0][2][1][0] if readers[0][2][1] else None
        plan = _plan(schema, str(root), feature_columns=p.feature_columns, vector_column=p.vector_column,
                     label_column=label, metadata_columns=p.metadata_columns, split_column=None,
                     first_batch=lambda column: first)
        small = [c for c in (plan.label, *plan.metadata) if c]
        parts = []
        codes = []
        load_arrow()
        import pyarrow as pa

        for split, _f, (_, batches) in readers:
            rows = sum(b.num_rows for b in batches)
            table = pa.Table.from_batches(batches).select(small) if small else None
            parts.append(((lambda bs=batches: iter(bs)), rows, table))
            codes.append(np.full(rows, SPLIT_ALIASES[str(split).lower()], np.int8))
        if not small:
            parts = [(b, r, pa.table({"_": pa.array(np.zeros(r))})) for b, r, _ in parts]
        split_codes_ = np.concatenate(codes) if len(folders) > 1 else None
        key = "|".join(f"{f.resolve()}|{f.stat().st_size}|{f.stat().st_mtime_ns}" for _, f in files) + f"|{plan}"
        n = sum(r for _, r, _ in parts)
        desc = f"{n} rows x {plan.width} features from {root.name}/" + (
            f" (splits: {', '.join(s for s, _ in folders)})" if len(folders) > 1 else "")
        return self._make(root, root.name, parts, plan, key, split_codes_, label_names, p.kind, desc)

    @staticmethod
    def _json(path: Path) -> dict:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise fail(path, f"is not readable JSON ({err})") from None
        if not isinstance(data, dict):
            raise fail(path, "does not hold a JSON object")
        return data

    def _arrow_files(self, folder: Path) -> list[Path]:
        if not folder.is_dir():
            raise fail(folder, "is missing (dataset_dict.json names it as a split)")
        state = folder / "state.json"
        if state.is_file():
            names = [d.get("filename") for d in self._json(state).get("_data_files") or []]
            files = [folder / n for n in names if n]
            for f in files:
                if not f.is_file():
                    raise fail(f, "is listed in state.json but missing")
        else:
            files = sorted(folder.glob("data-*.arrow"))
        if not files:
            raise fail(folder, "holds no data-*.arrow files", "Point at the folder that save_to_disk wrote")
        return files

    @staticmethod
    def _open(f: Path):
        """Schema and record batches of an Arrow stream file, memory-mapped (zero-copy: pages are read on use)."""
        load_arrow()
        import pyarrow as pa

        try:
            source = pa.memory_map(str(f), "r")
            try:
                reader = pa.ipc.open_stream(source)
            except pa.ArrowInvalid:  # some writers use the Arrow file (random-access) format instead
                reader = pa.ipc.open_file(source)
                return reader.schema, [reader.get_batch(i) for i in range(reader.num_record_batches)]
            return reader.schema, list(reader)
        except (pa.ArrowInvalid, OSError) as err:
            raise fail(f, f"is not an Arrow file pyarrow can read ({err})") from None
