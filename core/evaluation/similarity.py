"""Representation similarity: linear CKA (centred kernel alignment, Kornblith et al. 2019, "Similarity of Neural
Network Representations Revisited", eq. 5 / section 3).

For representations X (n × p) and Y (n × q) of the same n inputs, with columns centred:

    CKA(X, Y) = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F · ‖Yᵀ Y‖_F)

which equals HSIC(K, L) / √(HSIC(K, K) · HSIC(L, L)) for the linear kernels K = X Xᵀ, L = Y Yᵀ (the
feature-space form above costs O(n·p·q) instead of O(n²)). It is 1 for X against itself, invariant to
orthogonal transforms and isotropic scaling of either side, but not to arbitrary invertible linear maps — it
compares the geometry of the representations, not only the information they hold.

Used between the layers of one encoder (layer × layer) and between two runs' layers on the same inputs.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


def _centred(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    return X - X.mean(axis=0, keepdims=True)


def linear_cka(X: np.ndarray, Y: np.ndarray) -> float:
    """Linear CKA of two representations of the same samples (rows); 0 when either is constant."""
    if len(X) != len(Y):
        raise ValueError(f"CKA compares the same samples: {len(X)} rows against {len(Y)}")
    Xc, Yc = _centred(X), _centred(Y)
    cross = np.linalg.norm(Yc.T @ Xc) ** 2
    norm = np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)
    return float(cross / norm) if norm > 0 else 0.0


@dataclass(frozen=True)
class Similarity:
    """A CKA matrix: ``matrix[i, j]`` compares ``rows[i]`` with ``columns[j]``."""

    rows: tuple[str, ...]
    columns: tuple[str, ...]
    matrix: np.ndarray
    n_samples: int
    row_label: str = ""
    column_label: str = ""

    def to_record(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "columns": list(self.columns), "matrix": self.matrix.tolist(),
                "n_samples": self.n_samples, "row_label": self.row_label, "column_label": self.column_label}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Similarity:
        return cls(tuple(record["rows"]), tuple(record["columns"]), np.asarray(record["matrix"], dtype=float),
                   int(record.get("n_samples") or 0), record.get("row_label", ""), record.get("column_label", ""))


def cka_matrix(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray], row_label: str = "",
               column_label: str = "") -> Similarity:
    """CKA of every representation in ``a`` against every one in ``b`` (name -> n × features)."""
    rows, cols = list(a), list(b)
    m = np.array([[linear_cka(a[r], b[c]) for c in cols] for r in rows], dtype=np.float64)
    n = len(next(iter(a.values()))) if a else 0
    return Similarity(tuple(rows), tuple(cols), m, n, row_label, column_label)


def layer_representations(model, indices: np.ndarray, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Every named layer's output (``Encoder.layer_outputs``) for dataset samples ``indices`` of ``model`` (a
    :class:`core.ModelOnData`), on the CPU as float64 copies."""
    import torch

    model.model.eval()
    parts: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, len(indices), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(model.data.X[indices[start:start + batch_size]])).to(model.device)
            for layer, h in model.model.encoder.layer_outputs(x).items():
                parts.setdefault(layer, []).append(h.float().flatten(1).cpu().numpy().astype(np.float64))
    return {layer: np.concatenate(p) for layer, p in parts.items()}


def _sample(indices: np.ndarray, limit: int, seed: int) -> np.ndarray:
    indices = np.asarray(indices)
    if len(indices) <= limit:
        return indices
    return np.sort(np.random.default_rng(seed).choice(indices, size=limit, replace=False))


def layer_similarity(model, indices: Sequence[int] | np.ndarray | None = None, limit: int = 2000, seed: int = 0) -> Similarity:
    """Layer × layer CKA of one encoder on ``indices`` (default: its test split), at most ``limit`` samples."""
    if indices is None:
        s = model.data.splits
        indices = s.test if len(s.test) else s.val
    reps = layer_representations(model, _sample(np.asarray(indices), limit, seed))
    return cka_matrix(reps, reps, "layer", "layer")


def run_similarity(model_a, model_b, names: tuple[str, str] = ("run A", "run B"), limit: int = 2000,
                   seed: int = 0) -> Similarity:
    """CKA of run A's layers (rows) against run B's layers (columns) on the same inputs: A's test split, each
    run feeding the samples through its own preprocessing. The runs must have been trained on the same data."""
    from core.errors import ConfigError

    da, db = model_a.data.dataset, model_b.data.dataset
    if da.n != db.n or da.sample_shape != db.sample_shape or da.name != db.name:
        raise ConfigError("runs", f"CKA compares two runs on the same inputs, but {names[0]} was trained on "
                          f"{da.name!r} ({da.n} samples) and {names[1]} on {db.name!r} ({db.n} samples)")
    s = model_a.data.splits
    idx = _sample(s.test if len(s.test) else s.val, limit, seed)
    return cka_matrix(layer_representations(model_a, idx), layer_representations(model_b, idx),
                      names[0], names[1])


def compare_runs(run_a: str, run_b: str, limit: int = 2000, seed: int = 0) -> Similarity:
    """:func:`run_similarity` of two run directories (their default checkpoints)."""
    from pathlib import Path

    from core.training.inference import load_trained

    return run_similarity(load_trained(run_a), load_trained(run_b), (Path(run_a).name, Path(run_b).name),
                          limit, seed)
