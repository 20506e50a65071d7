"""New data through a trained encoder: ``replearn embed RUN DATA --out FILE.{npy,parquet,csv}``.

The data is read by the reader its name suggests (or the one named), checked against the encoder's input shape,
normalised with the run's saved preprocessing (the normaliser fitted on the training split, never refitted on
the new data) and embedded in batches.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ConfigError, DataError


@dataclass(frozen=True)
class EmbedResult:
    path: Path
    n: int
    dim: int
    dataset: str


def embed_data(run_dir: str | Path, data: str, out: str | Path, *, reader: str | None = None,
               params: dict[str, Any] | None = None, checkpoint: str | None = None, device: str = "cpu",
               batch_size: int = 1024) -> EmbedResult:
    from core.config.schema import DataConfig
    from core.data.files import reader_for
    from core.data.splits import Normalizer
    from core.report.export import sample_columns, write_embeddings_file
    from core.training.export import preprocessing_of
    from core.training.inference import load_trained
    from core.training.loop import load_data
    from core.training.rundir import RunDirectory

    out = Path(out)
    if out.suffix.lower() not in (".npy", ".parquet", ".csv"):
        raise ConfigError("--out", f"{out.name}: unknown embeddings format {out.suffix or '(no suffix)'!r}",
                          value=str(out), allowed=".npy, .parquet, .csv")
    name = reader or reader_for(data)
    if name is None:
        raise DataError(f"{data}: no reader recognises this file; name one with --reader (see `replearn list datasets`)")
    run = RunDirectory.open(run_dir)
    trained_on = run.read_config().data
    # new data of the run's own kind is read as the run's was (label_column, metadata_columns, ...)
    same = trained_on.params.to_dict() if trained_on.name == name else {}
    same.pop("path", None)
    config = DataConfig(name=name, params={**same, "path": data, **(params or {})})
    dataset = load_data(config)
    model = load_trained(run_dir, checkpoint=checkpoint, device=device)
    pre = preprocessing_of(run, model)
    if tuple(dataset.sample_shape) != tuple(pre["input_shape"]):
        raise DataError(f"{data}: samples of shape {dataset.sample_shape}, but the encoder of {run.path.name} reads "
                        f"{tuple(pre['input_shape'])}")
    normalizer = Normalizer.from_record(pre["normalization"])
    parts = []
    for start in range(0, dataset.n, batch_size):
        x = normalizer.apply(np.asarray(dataset.X[start:start + batch_size], dtype=np.float32))
        parts.append(model.embed_inputs(x, batch_size))
    Z = np.concatenate(parts)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_embeddings_file(out, sample_columns(dataset, np.arange(dataset.n)), Z)
    return EmbedResult(out, len(Z), int(Z.shape[1]), dataset.name)
