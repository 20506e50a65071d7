"""Is the representation healthy? Spread, effective rank and similarity of a batch of embeddings.

The formulas:
- per-dimension standard deviation of the raw embeddings and of the L2-normalised ones; for unit vectors
  spread evenly over the sphere each dimension's std is about 1/√d (Jing et al., *Understanding Dimensional
  Collapse in Contrastive Self-supervised Learning*, ICLR 2022), so a mean far below that signals collapse;
- effective rank, RankMe (Garrido et al., ICML 2023): exp of the Shannon entropy of the normalised singular
  values, :math:`\\exp(-\\sum_k p_k\\log p_k)` with :math:`p_k = \\sigma_k / \\lVert\\sigma\\rVert_1 + \\varepsilon`;
- mean pairwise cosine similarity over distinct pairs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_EPS = 1e-7


@dataclass(frozen=True, eq=False)
class Diagnostics:
    """A snapshot of representation health. Arrays are read-only copies, safe to hand to another thread."""

    n: int
    dim: int
    std: np.ndarray  # per-dimension std of raw embeddings
    normalized_std: np.ndarray  # per-dimension std of L2-normalised embeddings
    singular_values: np.ndarray  # sorted, descending, of the centred embeddings
    effective_rank: float
    mean_cosine: float

    @property
    def healthy_std(self) -> float:
        """The per-dimension std of L2-normalised embeddings spread evenly over the sphere: 1/√d."""
        return 1.0 / np.sqrt(self.dim)

    @property
    def mean_normalized_std(self) -> float:
        return float(self.normalized_std.mean())

    def to_record(self) -> dict:
        return {
            "n": self.n, "dim": self.dim, "std": self.std.tolist(), "normalized_std": self.normalized_std.tolist(),
            "singular_values": self.singular_values.tolist(), "effective_rank": self.effective_rank,
            "mean_cosine": self.mean_cosine, "healthy_std": self.healthy_std,
            "mean_normalized_std": self.mean_normalized_std,
        }


def effective_rank(singular_values: np.ndarray) -> float:
    """RankMe: exp(entropy of σ / ‖σ‖₁). Equals k for k equal non-zero singular values; 1 for rank one."""
    s = np.asarray(singular_values, dtype=np.float64)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total + _EPS
    return float(np.exp(-(p * np.log(p)).sum()))


def mean_pairwise_cosine(Z: np.ndarray) -> float:
    """Mean cosine similarity over distinct pairs, in O(n·d) via the norm of the sum of unit vectors."""
    n = len(Z)
    if n < 2:
        return float("nan")
    U = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), _EPS)
    s = U.sum(axis=0)
    diag = (U * U).sum()
    return float((s @ s - diag) / (n * (n - 1)))


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


def compute_diagnostics(Z: np.ndarray) -> Diagnostics:
    """Diagnostics of embeddings ``Z`` of shape ``(n, d)`` (numpy, any float dtype)."""
    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 2:
        raise ValueError(f"diagnostics need at least two embeddings of shape (n, d), got {Z.shape}")
    U = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), _EPS)
    sv = np.linalg.svd(Z - Z.mean(axis=0), compute_uv=False)
    return Diagnostics(
        n=len(Z), dim=Z.shape[1], std=_frozen(Z.std(axis=0)), normalized_std=_frozen(U.std(axis=0)),
        singular_values=_frozen(sv), effective_rank=effective_rank(sv), mean_cosine=mean_pairwise_cosine(Z),
    )
