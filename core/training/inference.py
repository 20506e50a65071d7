"""A trained (or freshly initialised) model with its data, for evaluation, projection and exploration."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from core.config.schema import Experiment
from core.data.splits import PreparedData, prepare_from_config
from core.objectives.base import Objective
from core.training import checkpoint as ckpt
from core.training.loop import build_model, load_dataset
from core.training.rundir import RunDirectory
from core.training.seeding import GLOBAL_RNG_LOCK, resolve_device


@dataclass
class ModelOnData:
    experiment: Experiment
    data: PreparedData
    model: Objective
    device: torch.device
    checkpoint: ckpt.CheckpointInfo | None = None  # the weights' checkpoint (None: freshly initialised); str() says
    # which and why in words

    @torch.no_grad()
    def embed(self, indices: np.ndarray | None = None, batch_size: int = 2048, space: str = "representation") -> np.ndarray:
        """Embeddings (eval mode, float32, on the CPU) of dataset samples ``indices`` (default: all)."""
        indices = np.arange(self.data.dataset.n) if indices is None else np.asarray(indices)
        if len(indices) <= batch_size:
            return self.embed_inputs(self.data.X[indices], batch_size, space)
        parts = [self.embed_inputs(self.data.X[indices[start:start + batch_size]], batch_size, space)
                 for start in range(0, len(indices), batch_size)]  # streamed data is read a batch at a time
        return np.concatenate(parts)

    @torch.no_grad()
    def embed_to_file(self, path: str | Path, indices: np.ndarray | None = None, batch_size: int = 4096,
                      space: str = "representation") -> np.ndarray:
        """Embeddings written batch by batch into a ``.npy`` file and returned memory-mapped: 1M × 128 never sits
        in memory twice (nor once, beyond the pages in use). The file appears complete or not at all."""
        import os

        indices = np.arange(self.data.dataset.n) if indices is None else np.asarray(indices)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        first = self.embed_inputs(self.data.X[indices[:1]], 1, space)
        out = np.lib.format.open_memmap(part, mode="w+", dtype=np.float32, shape=(len(indices), first.shape[1]))
        for start in range(0, len(indices), batch_size):
            chunk = indices[start:start + batch_size]
            out[start:start + len(chunk)] = self.embed_inputs(self.data.X[chunk], batch_size, space)
        out.flush()
        del out
        os.replace(part, path)
        return np.load(path, mmap_mode="r")

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The encoder's named layers, input side first; the last, ``representation``, is its output."""
        return tuple(self.model.encoder.layer_names)

    @torch.no_grad()
    def embed_inputs(self, X: np.ndarray, batch_size: int = 2048, space: str = "representation") -> np.ndarray:
        """Embeddings of arbitrary (normalised) inputs of the data's sample shape, e.g. corrupted copies.

        ``space``: ``"representation"`` (the encoder's output), ``"projection"`` (where the loss acts), or
        ``"layer:NAME"`` for one of the encoder's layers (:attr:`layer_names`), to see what each layer encodes."""
        if space.startswith("layer:"):
            layer = space.split(":", 1)[1]
            names = self.layer_names
            if layer not in names:
                from core.errors import ConfigError

                raise ConfigError("layer", f"the encoder has no layer {layer!r}", value=layer, allowed=", ".join(names))

            def fn(x):
                return self.model.encoder.layer_outputs(x)[layer]
        else:
            fn = self.model.embed if space == "representation" else self.model.project
        self.model.eval()
        parts = []
        for start in range(0, len(X), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(X[start:start + batch_size], dtype=np.float32)).to(self.device)
            out = fn(x)
            if out is None:
                raise ValueError(f"this model has no {space} space")
            parts.append(out.float().cpu())
        return torch.cat(parts).numpy() if parts else np.zeros((0, 0), np.float32)


def prepare_data(experiment: Experiment) -> PreparedData:
    split = experiment.data.split
    return prepare_from_config(load_dataset(experiment), split, seed=experiment.training.seed,
                               loading=experiment.training.data_loading)


def initialised(experiment: Experiment, device: str | None = None) -> ModelOnData:
    """The model exactly as training would start it (same seed, same initial weights)."""
    dev = resolve_device(device or experiment.training.device)
    data = prepare_data(experiment)
    with GLOBAL_RNG_LOCK:  # not in the middle of a training step's draws (a run restores its stream per step)
        torch.manual_seed(experiment.training.seed)
        model = build_model(experiment, data).to(dev)
    return ModelOnData(experiment, data, model, dev)


def load_trained(run_dir: str | Path, checkpoint: str | None = None, device: str | None = None) -> ModelOnData:
    """A run's model with the weights of ``checkpoint``; by default its best checkpoint when training kept one
    (``training.keep_best``), else its newest valid one. ``checkpoint`` on the result says which, in words."""
    run = RunDirectory.open(run_dir)
    experiment = run.read_config()
    name, why = ckpt.describe_choice(run.checkpoints, checkpoint)
    loaded = ckpt.load_checkpoint(run.checkpoints, name)
    result = initialised(experiment, device or "cpu")
    ckpt.restore_model(result.model, {k: v.to(result.device) for k, v in loaded.model.items()}, loaded.path.name)
    result.checkpoint = dataclasses.replace(loaded.info, why=why if name is not None else f"{loaded.path.name} ({why})")
    return result
