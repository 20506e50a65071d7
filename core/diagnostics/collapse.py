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


@dataclass(frozen=True)
class Verdict:
    """Healthy, dimensional collapse or complete collapse, with the numbers behind it and one sentence."""

    status: str  # "healthy" | "dimensional collapse" | "complete collapse" | "too few samples"
    sentence: str
    numbers: tuple[tuple[str, float], ...]

    @property
    def collapsed(self) -> bool:
        return self.status in ("dimensional collapse", "complete collapse")


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
    uniformity: float = float("nan")
    alignment: float | None = None  # needs two views of each sample
    covariance: np.ndarray | None = None  # d × d, for d <= COVARIANCE_MAX_DIM
    cross_correlation: np.ndarray | None = None  # of two views' embeddings (Barlow Twins' C)
    probe_accuracy: float | None = None  # online linear probe (refitted on detached features)
    knn_accuracy: float | None = None

    @property
    def verdict(self) -> Verdict:
        return collapse_verdict(self)

    @property
    def healthy_std(self) -> float:
        """The per-dimension std of L2-normalised embeddings spread evenly over the sphere: 1/√d."""
        return 1.0 / np.sqrt(self.dim)

    @property
    def mean_normalized_std(self) -> float:
        return float(self.normalized_std.mean())

    @classmethod
    def from_record(cls, r: dict) -> "Diagnostics":
        """Back from a metrics.jsonl record (the matrices live in diagnostics/ and are not restored here)."""
        def arr(key):
            return _frozen(np.asarray(r.get(key) or [], dtype=np.float64))

        nan = float("nan")
        return cls(n=int(r["n"]), dim=int(r["dim"]), std=arr("std"), normalized_std=arr("normalized_std"),
                   singular_values=arr("singular_values"), effective_rank=float(r["effective_rank"]),
                   mean_cosine=float(r["mean_cosine"]) if r.get("mean_cosine") is not None else nan,
                   uniformity=float(r["uniformity"]) if r.get("uniformity") is not None else nan,
                   alignment=r.get("alignment"), probe_accuracy=r.get("probe_accuracy"),
                   knn_accuracy=r.get("knn_accuracy"))

    @property
    def collapsed_dims(self) -> int:
        """Dimensions whose normalised spread is below a tenth of the healthy 1/√d."""
        return int((self.normalized_std < 0.1 * self.healthy_std).sum())

    def to_record(self) -> dict:
        v = self.verdict
        record = {
            "n": self.n, "dim": self.dim, "std": self.std.tolist(), "normalized_std": self.normalized_std.tolist(),
            "singular_values": self.singular_values.tolist(), "effective_rank": self.effective_rank,
            "mean_cosine": self.mean_cosine, "healthy_std": self.healthy_std,
            "mean_normalized_std": self.mean_normalized_std, "uniformity": self.uniformity,
            "alignment": self.alignment, "probe_accuracy": self.probe_accuracy, "knn_accuracy": self.knn_accuracy,
            "verdict": {"status": v.status, "sentence": v.sentence, "numbers": dict(v.numbers)},
        }
        return record  # the d × d matrices go to the run's diagnostics/ folder, not into every JSON line


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


MIN_SAMPLES = 16  # below this no verdict on the spread is given
COVARIANCE_MAX_DIM = 256  # larger matrices stay out of the events (and of metrics.jsonl)


def compute_diagnostics(Z: np.ndarray, *, views: tuple[np.ndarray, np.ndarray] | None = None,
                        probe_accuracy: float | None = None, knn_accuracy: float | None = None) -> Diagnostics:
    """Diagnostics of embeddings ``Z`` of shape ``(n, d)``; ``views`` = two views' embeddings of the same
    samples (for alignment and the cross-correlation matrix)."""
    from core.diagnostics.alignment import alignment, uniformity

    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 2:
        raise ValueError(f"diagnostics need at least two embeddings of shape (n, d), got {Z.shape}")
    U = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), _EPS)
    centred = Z - Z.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    d = Z.shape[1]
    cov = _frozen(centred.T @ centred / (len(Z) - 1)) if d <= COVARIANCE_MAX_DIM else None
    align = cross = None
    if views is not None:
        a, b = (np.asarray(v, dtype=np.float64) for v in views)
        align = alignment(a, b)
        if a.shape[1] <= COVARIANCE_MAX_DIM:
            an = (a - a.mean(0)) / np.maximum(a.std(0), _EPS)
            bn = (b - b.mean(0)) / np.maximum(b.std(0), _EPS)
            cross = _frozen(an.T @ bn / len(a))
    return Diagnostics(
        n=len(Z), dim=d, std=_frozen(Z.std(axis=0)), normalized_std=_frozen(U.std(axis=0)),
        singular_values=_frozen(sv), effective_rank=effective_rank(sv), mean_cosine=mean_pairwise_cosine(Z),
        uniformity=uniformity(Z[:1024]), alignment=align, covariance=cov, cross_correlation=cross,
        probe_accuracy=probe_accuracy, knn_accuracy=knn_accuracy,
    )


def collapse_verdict(d: Diagnostics) -> Verdict:
    """Complete collapse: the samples point (nearly) the same way. Dimensional collapse: they spread over only
    a few directions. The thresholds are in units of the healthy spread 1/√d, so they hold for any d."""
    spread = d.mean_normalized_std * np.sqrt(d.dim)  # 1.0 for unit vectors spread evenly over the sphere
    numbers = (("spread_vs_healthy", spread), ("mean_cosine", d.mean_cosine), ("effective_rank", d.effective_rank),
               ("dim", float(d.dim)), ("collapsed_dims", float(d.collapsed_dims)))
    if spread < 0.1 or d.mean_cosine > 0.95:
        return Verdict("complete collapse",
                       f"Complete collapse: the samples map to nearly the same vector (mean pairwise cosine "
                       f"{d.mean_cosine:.2f}, spread {spread:.0%} of healthy).", numbers)
    if d.n < MIN_SAMPLES:
        # a handful of samples spans a handful of directions: it looks like dimensional collapse without being one
        return Verdict("too few samples",
                       f"Too few samples to judge the spread: {d.n} embeddings of {d.dim} dimensions span at most "
                       f"{min(d.n - 1, d.dim)} directions (effective rank {d.effective_rank:.1f}). Use an evaluation "
                       f"batch of at least {max(MIN_SAMPLES, d.dim + 1)} samples.", numbers)
    ceiling = min(d.dim, d.n - 1)  # n samples span at most n - 1 directions
    if d.dim >= 4 and (d.collapsed_dims >= d.dim / 2 or d.effective_rank < 0.1 * ceiling):
        return Verdict("dimensional collapse",
                       f"Dimensional collapse: {d.collapsed_dims} of {d.dim} dimensions carry under a tenth of the "
                       f"healthy spread and the effective rank is {d.effective_rank:.1f} of {d.dim} — the "
                       "representation uses few directions.", numbers)
    return Verdict("healthy", f"Healthy: effective rank {d.effective_rank:.1f} of {d.dim}, spread {spread:.0%} of "
                   f"the healthy 1/√d, mean pairwise cosine {d.mean_cosine:.2f}.", numbers)
