"""What the embedding explorer looks at, without Qt: a run's embedding spaces, its snapshot series, searching
samples, summarising a selection and the label agreement of a neighbourhood.

An :class:`EmbeddingSpace` is a set of samples of one dataset with one vector each. Spaces of the same dataset
share sample indices, so two views (two runs, a run and its random-init baseline, two epochs) can be linked by
index alone.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.base import Dataset
from core.data.files.arrow import load_arrow
from core.errors import ConfigError, RunDirectoryError
from core.training.rundir import RunDirectory


@dataclass(frozen=True, eq=False)
class EmbeddingSpace:
    name: str  # what the view's title says, e.g. "simclr-digits · final"
    dataset: Dataset
    indices: np.ndarray  # (n,) dataset rows
    embeddings: np.ndarray  # (n, d) float32
    #: (n, 2) coordinates made with the embeddings elsewhere (a file's x / y columns); None = project them here
    layout: np.ndarray | None = None
    checkpoint: str | None = None  # the checkpoint file that embedded them, for a trained space

    def __post_init__(self):
        if len(self.indices) != len(self.embeddings):
            raise ValueError(f"{len(self.indices)} indices for {len(self.embeddings)} embeddings")
        if self.layout is not None and np.asarray(self.layout).shape != (len(self.indices), 2):
            raise ValueError(f"a layout of shape {np.asarray(self.layout).shape} for {len(self.indices)} points")

    @property
    def n(self) -> int:
        return len(self.indices)

    @property
    def labels(self) -> np.ndarray | None:
        return None if self.dataset.y is None else np.asarray(self.dataset.y)[self.indices]

    def label_names_of(self, positions: np.ndarray) -> list[str]:
        y = self.labels
        return [] if y is None else [self.dataset.label_names[int(k)] for k in y[positions]]

    def positions_of(self, dataset_rows: np.ndarray) -> np.ndarray:
        """Positions in this space of the given dataset rows; rows this space does not hold are dropped."""
        order = np.argsort(self.indices)
        rows = np.asarray(dataset_rows)
        at = np.searchsorted(self.indices, rows, sorter=order)
        at = np.clip(at, 0, len(order) - 1)
        found = self.indices[order[at]] == rows
        return order[at[found]]


@dataclass(frozen=True, eq=False)
class SnapshotSeries:
    """A run's snapshots: the same fixed subset of samples embedded at successive moments of training."""

    indices: np.ndarray  # (m,) dataset rows of the subset
    names: tuple[str, ...]  # "epoch 0", "epoch 1", ..., "step 1200"
    epochs: tuple[int | None, ...]
    arrays: tuple[np.ndarray, ...]  # (m, d) each, memory-mapped


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint of a run, as its manifest lists it (cheap to read while the run is training)."""

    file: str
    epoch: int
    step: int
    reason: str
    final: bool  # the run is no longer running: no newer checkpoint will come


def newest_checkpoint(run_dir: str | Path) -> CheckpointInfo | None:
    """The run's newest checkpoint by step, or None while it has none (or its manifest cannot be read yet)."""
    from core.training import checkpoint as ckpt

    try:
        run = RunDirectory.open(run_dir)
        entries = ckpt.read_manifest(run.checkpoints)["checkpoints"]
    except (OSError, ValueError, KeyError, RunDirectoryError, ckpt.CheckpointError):
        return None
    if not entries:
        return None
    try:
        running = run.read_status().get("status") == "running"
    except (OSError, ValueError, RunDirectoryError):
        running = True  # unreadable mid-write: assume more may come
    e = max(entries, key=lambda e: e["step"])
    return CheckpointInfo(str(e["file"]), int(e.get("epoch", 0)), int(e["step"]), str(e.get("reason", "")),
                          final=not running)


def run_space(run_dir: str | Path, checkpoint: str | None = None, device: str | None = None,
              layer: str | None = None) -> EmbeddingSpace:
    """Every sample of the run's dataset embedded by its best checkpoint when training kept one
    (``training.keep_best``), else its newest valid one (or ``checkpoint``).

    The embeddings are written batch-wise to ``embeddings/<checkpoint>.npy`` in the run and memory-mapped from
    there: large spaces never need to fit in memory twice, and reopening the run reuses the file. ``layer``
    (one of :func:`encoder_layers`) gives that layer's outputs instead of the representation ("show layer k";
    not cached)."""
    from core.training.inference import load_trained

    run = RunDirectory.open(run_dir)
    trained = load_trained(run_dir, checkpoint, device)  # the best checkpoint when training kept one
    if layer is not None and layer != "representation":
        H = trained.embed(space=f"layer:{layer}")
        return EmbeddingSpace(f"{trained.experiment.name} · layer {layer}", trained.data.dataset, np.arange(len(H)), H)
    assert trained.checkpoint is not None  # load_trained always says which checkpoint it loaded
    cached = run.embedding_cache(trained.checkpoint.path)
    Z: np.ndarray | None = None
    if cached.is_file():
        try:
            Z = np.load(cached, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            Z = None
        if Z is not None and (Z.ndim != 2 or len(Z) != trained.data.dataset.n):
            Z = None  # written for other data: embed again
    if Z is None:
        try:
            Z = trained.embed_to_file(cached)
        except OSError:  # a read-only run (e.g. someone else's): keep them in memory instead
            Z = trained.embed()
        _forget_pruned(run, cached)
    from core.training import checkpoint as ckpt

    best = ckpt.best_checkpoint(run.checkpoints)
    used = trained.checkpoint
    which = f" (best by {best['metric']}, epoch {best['epoch']})" if best and best["file"] == used.file else ""
    return EmbeddingSpace(f"{trained.experiment.name} · trained{which} · {Path(used.file).stem}", trained.data.dataset,
                          np.arange(len(Z)), Z, checkpoint=used.file)


def encoder_layers(run_dir: str | Path) -> tuple[str, ...]:
    """The named layers of a run's encoder, input side first (the last is ``representation``)."""
    from core.training.inference import initialised

    return initialised(RunDirectory.open(run_dir).read_config(), "cpu").layer_names


def file_space(path: str | Path, reader: str | None = None) -> EmbeddingSpace:
    """Embeddings made elsewhere, to explore without training: a Parquet file (a vector column; the other columns
    are metadata, ``label`` the label, numeric ``x`` and ``y`` a precomputed 2-D layout), TF Embedding Projector
    files (``tensor.tsv`` / ``vectors.tsv`` + ``metadata.tsv``), a CSV of ``z0..zN`` columns (as our exports write
    it) or a 2-D ``.npy`` array."""
    from core.config.schema import DataConfig
    from core.data.files import reader_for
    from core.errors import DataError
    from core.training.loop import load_data

    path = Path(path)
    name = reader or reader_for(str(path))
    if name not in ("parquet", "projector", "csv", "npy"):
        raise DataError(f"{path}: not an embeddings file (expected .parquet, tensor.tsv / vectors.tsv, .csv or .npy)")
    params: dict = {"path": str(path)}
    if name == "parquet":
        params.update(_parquet_roles(path))
    elif name == "csv":
        params.update(_csv_roles(path))
    if name in ("parquet", "npy", "csv"):
        params["kind"] = "embeddings"
    dataset = load_data(DataConfig(name=name, params=params))
    Z = np.ascontiguousarray(np.asarray(dataset.X, dtype=np.float32).reshape(dataset.n, -1))
    layout = None
    x, y = dataset.metadata.get("x"), dataset.metadata.get("y")
    if x is not None and y is not None and np.issubdtype(np.asarray(x).dtype, np.number) \
            and np.issubdtype(np.asarray(y).dtype, np.number):
        layout = np.stack([np.asarray(x, np.float32), np.asarray(y, np.float32)], axis=1)
    return EmbeddingSpace(name=f"{path.name} (file)", dataset=dataset, indices=np.arange(dataset.n), embeddings=Z,
                          layout=layout)


def _parquet_roles(path: Path) -> dict:
    load_arrow()
    import pyarrow.parquet as pq
    import pyarrow.types as pt

    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError: the reader says what is wrong
        return {}
    lists = [f.name for f in schema if pt.is_list(f.type) or pt.is_large_list(f.type) or pt.is_fixed_size_list(f.type)]
    if len(lists) != 1:
        return {}  # the reader explains what it finds
    others = [f.name for f in schema if f.name != lists[0]]
    label = "label" if "label" in others else None
    return {"vector_column": lists[0], "label_column": label,
            "metadata_columns": tuple(c for c in others if c != label)}


def _csv_roles(path: Path) -> dict:
    import re as _re

    with open(path, encoding="utf-8-sig", errors="replace") as fh:
        header = [c.strip() for c in fh.readline().rstrip("\r\n").split(",")]
    z = [c for c in header if _re.fullmatch(r"z\d+", c)]
    if not z:
        return {}
    label = "label" if "label" in header else None
    return {"label_column": label, "metadata_columns": tuple(c for c in header if c not in z and c != label)}


def _forget_pruned(run: RunDirectory, keep: Path) -> None:
    """Delete cached embeddings of checkpoints the run no longer has (``keep_checkpoints`` pruned them): each
    can be as large as the dataset."""
    from core.training import checkpoint as ckpt

    try:
        listed = {Path(e["file"]).stem for e in ckpt.read_manifest(run.checkpoints)["checkpoints"]}
        for old in run.embeddings.glob("*.npy"):
            if old != keep and old.stem not in listed:
                old.unlink(missing_ok=True)
    except (OSError, ValueError, KeyError):
        pass  # tidying is a courtesy; never a reason to fail


def baseline_space(run_dir: str | Path, device: str | None = None) -> EmbeddingSpace:
    """The same samples through the run's encoder as training initialised it (same seed): the untrained baseline."""
    from core.training.inference import initialised

    exp = RunDirectory.open(run_dir).read_config()
    model = initialised(exp, device or "cpu")
    Z = model.embed()
    return EmbeddingSpace(f"{exp.name} · random init", model.data.dataset, np.arange(len(Z)), Z)


def snapshot_series(run_dir: str | Path) -> SnapshotSeries:
    """The run's snapshot files in training order (epoch snapshots, and requested ones at a step)."""
    run = RunDirectory.open(run_dir)
    subset_path = run.subset_path
    if not subset_path.is_file():
        raise RunDirectoryError(f"{run.path} has no snapshots (snapshot_every was 0, or the run ended before its "
                                "first one)")
    indices = np.load(subset_path, allow_pickle=False)
    items = []
    for path in run.snapshot_files():
        m = re.fullmatch(r"(epoch|step)_(\d+)\.npy", path.name)
        if not m:
            continue
        try:
            Z = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError):
            continue  # a snapshot being written right now; the next look finds it whole
        if Z.ndim != 2 or len(Z) != len(indices):
            continue
        kind, number = m.group(1), int(m.group(2))
        items.append(((number, 0) if kind == "epoch" else (np.inf, number), f"{kind} {number}",
                      number if kind == "epoch" else None, Z))
    items.sort(key=lambda item: item[0])
    return SnapshotSeries(indices, tuple(i[1] for i in items), tuple(i[2] for i in items), tuple(i[3] for i in items))


def search(space: EmbeddingSpace, query: str, regex: bool = False) -> np.ndarray:
    """Positions in ``space`` whose index, label or any metadata value matches ``query``.

    ``#12`` or ``12`` matches sample 12 exactly; otherwise a case-insensitive substring (or a regular
    expression with ``regex``) is looked for in the label and every metadata column.
    """
    query = query.strip()
    if not query:
        return np.zeros(0, dtype=np.int64)
    hits = np.zeros(space.n, dtype=bool)
    number = query[1:] if query.startswith("#") else query
    if number.isdigit():
        hits |= space.indices == int(number)
        if query.startswith("#"):
            return np.flatnonzero(hits)
    if regex:
        try:
            pattern = re.compile(query, re.IGNORECASE)
        except re.error as err:
            raise ConfigError("search", f"not a valid regular expression: {err}", value=query) from None
        match: Callable[[str], object] = pattern.search
    else:
        needle = query.lower()

        def match(text: str) -> bool:
            return needle in text.lower()

    columns: list[np.ndarray] = []
    if space.labels is not None:
        columns.append(np.asarray(space.dataset.label_names, dtype=object)[space.labels])
    columns += [np.asarray(values)[space.indices] for values in space.dataset.metadata.values()]
    for column in columns:
        uniques, inverse = np.unique(np.asarray(column).astype(str), return_inverse=True)
        good = np.array([bool(match(u)) for u in uniques], dtype=bool)  # each distinct value is tested once
        hits |= good[inverse.ravel()]
    return np.flatnonzero(hits)


@dataclass(frozen=True)
class SelectionSummary:
    count: int
    labels: tuple[tuple[str, int], ...]  # (label, count), most frequent first
    metadata: tuple[tuple[str, str], ...]  # (column, a short description of its values in the selection)

    def text(self) -> str:
        lines = [f"{self.count} selected"]
        if self.labels:
            lines.append("labels: " + ", ".join(f"{name} {k}" for name, k in self.labels[:10])
                         + (" …" if len(self.labels) > 10 else ""))
        lines += [f"{name}: {desc}" for name, desc in self.metadata]
        return "\n".join(lines)


def selection_summary(space: EmbeddingSpace, positions: np.ndarray) -> SelectionSummary:
    positions = np.asarray(positions, dtype=np.int64)
    labels: tuple = ()
    if space.labels is not None and len(positions):
        counts = Counter(space.label_names_of(positions))
        labels = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    meta = []
    for name, values in space.dataset.metadata.items():
        col = np.asarray(values)[space.indices[positions]]
        if not len(col):
            continue
        if np.issubdtype(col.dtype, np.number):
            meta.append((name, f"mean {np.mean(col):.3g}, min {np.min(col):.3g}, max {np.max(col):.3g}"))
        else:
            top = Counter(col.astype(str).tolist()).most_common(3)
            meta.append((name, ", ".join(f"{v} ({k})" for v, k in top)))
    return SelectionSummary(len(positions), labels, tuple(meta))


def label_agreement(space: EmbeddingSpace, query: int, neighbours: np.ndarray) -> float | None:
    """Share of ``neighbours`` (positions) with the same label as ``query`` (a position); None without labels."""
    y = space.labels
    if y is None or not len(neighbours):
        return None
    return float(np.mean(y[np.asarray(neighbours)] == y[query]))
