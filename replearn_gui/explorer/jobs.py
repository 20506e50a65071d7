"""The explorer's background work, as generators and functions for superqt workers: projections (with the cache),
aligned snapshot layouts, faithfulness, and exports. They import core themselves (never on the GUI thread)."""
from __future__ import annotations

from typing import Any

import numpy as np

import core


def projection_job(X: np.ndarray, method: str, params: dict, cache_dir: str | None):
    cache = core.ProjectionCache(cache_dir) if cache_dir else None
    return (yield from core.project(X, method, params, cache=cache))


def aligned_job(arrays: list, method: str, params: dict, cache_dir: str | None):
    cache = core.ProjectionCache(cache_dir) if cache_dir else None
    snapshots = [np.asarray(a, dtype=np.float32) for a in arrays]
    return (yield from core.aligned_sequence(snapshots, method, params, cache=cache))


def faithfulness_job(Z: np.ndarray, coords: np.ndarray):
    yield core.ProjectionProgress("faithfulness", 0.1, "finding the true and the pictured neighbours of every point")
    metrics, kept = core.faithfulness(Z, coords)
    return metrics, kept


def export_job(kind: str, path: str, space: Any, embeddings: np.ndarray, coords: np.ndarray | None,
               positions: np.ndarray | None = None):
    rows = space.indices if positions is None else space.indices[positions]
    if kind == "projector":
        return core.write_projector(path, space.dataset, rows, embeddings)
    if kind == "embeddings":
        return core.write_embeddings_csv(path, space.dataset, rows, embeddings, coords)
    if kind == "parquet":  # a vector column and the 2-D layout: what pandas and Embedding Atlas read
        return core.write_embeddings_parquet(path, core.sample_columns(space.dataset, rows), embeddings, coords)
    return core.write_selection_csv(path, space.dataset, rows)
