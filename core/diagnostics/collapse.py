"""Is the representation healthy? Spread, effective rank and similarity of a batch of embeddings.

The formulas:
- per-dimension standard deviation of the raw embeddings and of the L2-normalised ones; for unit vectors
  spread evenly over the sphere each dimension's std is about 1/√d (Jing et al., *Understanding Dimensional
  Collapse in Contrastive Self-supervised Learning*, ICLR 2022), so a mean far below that signals collapse;
- effective rank, RankMe (Garrido et al., ICML 2023): exp of the Shannon entropy of the normalised singular
  values, :math:`\\exp(-\\sum_k p_k\\log p_k)` with :math:`p_k = \\sigma_k / \\lVert\\sigma\\rVert_1 + \\varepsilon`;
  the singular values are those of the embeddings as they are, *not centred*, as in the paper (so
  RankMe(I₁₆) = 16; centring would remove one direction and give 15). The spectrum shown beside it
  (``singular_values``) is the centred one: the PCA spectrum of the batch;
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
    effective_rank: float  # RankMe of the uncentred embeddings (Garrido et al. 2023)
    mean_cosine: float
    uniformity: float = float("nan")
    alignment: float | None = None  # needs two views of each sample
    covariance: np.ndarray | None = None  # d × d, for d <= COVARIANCE_MAX_DIM
    cross_correlation: np.ndarray | None = None  # of two views' embeddings (Barlow Twins' C)
    probe_accuracy: float | None = None  # online linear probe (refitted on detached features)
    knn_accuracy: float | None = None
    view_accuracy: float | None = None  # contrastive accuracy of the two views (see view_task)
    positive_similarity: float | None = None  # mean cosine between the two views of a sample

    @property
    def view_hint(self) -> str | None:
        """A sentence when the views make the contrastive task too easy or too hard to teach much."""
        return view_hint(self.view_accuracy, self.positive_similarity)

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
    def from_record(cls, r: dict) -> Diagnostics:
        """Back from a metrics.jsonl record (the matrices live in diagnostics/ and are not restored here)."""
        def arr(key):
            return _frozen(np.asarray(r.get(key) or [], dtype=np.float64))

        nan = float("nan")
        return cls(n=int(r["n"]), dim=int(r["dim"]), std=arr("std"), normalized_std=arr("normalized_std"),
                   singular_values=arr("singular_values"), effective_rank=float(r["effective_rank"]),
                   mean_cosine=float(r["mean_cosine"]) if r.get("mean_cosine") is not None else nan,
                   uniformity=float(r["uniformity"]) if r.get("uniformity") is not None else nan,
                   alignment=r.get("alignment"), probe_accuracy=r.get("probe_accuracy"),
                   knn_accuracy=r.get("knn_accuracy"), view_accuracy=r.get("view_accuracy"),
                   positive_similarity=r.get("positive_similarity"))

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
            "view_accuracy": self.view_accuracy, "positive_similarity": self.positive_similarity,
            "view_hint": self.view_hint,
            "verdict": {"status": v.status, "sentence": v.sentence, "numbers": dict(v.numbers)},
        }
        return record  # the d × d matrices go to the run's diagnostics/ folder, not into every JSON line


VIEWS_TOO_EASY = 0.95  # contrastive accuracy above this: the views barely differ
VIEWS_TOO_HARD = 0.05  # ... below this (chance is 1 / (2B − 1)): the views share too little


def view_task(a: np.ndarray, b: np.ndarray, group: int = 256) -> tuple[float, float]:
    """How hard the two views make the contrastive task: (contrastive accuracy, mean positive cosine).

    Row i of ``a`` and ``b`` are two views of one sample. Within groups of ``group`` samples (a training batch's
    size, so the figure compares with SimCLR's own ``contrastive_accuracy``), each of the 2·group views looks for
    its most similar other view (cosine); the accuracy is the share that find their pair. Chance is
    1 / (2·group − 1). Near 1 the task is too easy: the encoder learns little it did not know."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    ua = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), _EPS)
    ub = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), _EPS)
    positive = float((ua * ub).sum(axis=1).mean())
    hits, total = 0, 0
    for start in range(0, len(ua), group):
        za, zb = ua[start:start + group], ub[start:start + group]
        m = len(za)
        if m < 2:
            continue
        z = np.concatenate([za, zb])
        sim = z @ z.T
        np.fill_diagonal(sim, -np.inf)
        target = np.concatenate([np.arange(m, 2 * m), np.arange(m)])
        hits += int((sim.argmax(axis=1) == target).sum())
        total += 2 * m
    return (hits / total if total else float("nan")), positive


def view_hint(accuracy: float | None, positive: float | None) -> str | None:
    if accuracy is None or not np.isfinite(accuracy):
        return None
    if accuracy > VIEWS_TOO_EASY:
        return (f"The views are easy to tell apart (contrastive accuracy {accuracy:.2f}, positive-pair cosine "
                f"{positive:.2f}): stronger augmentations (larger shifts, more noise or masking, crops) would "
                "teach the encoder more.")
    if accuracy < VIEWS_TOO_HARD:
        return (f"The views share too little (contrastive accuracy {accuracy:.2f}): weaker augmentations, or more "
                "epochs, may help the encoder find what they have in common.")
    return None


def effective_rank(singular_values: np.ndarray) -> float:
    """RankMe: exp(entropy of σ / ‖σ‖₁). Equals k for k equal non-zero singular values; 1 for rank one."""
    s = np.asarray(singular_values, dtype=np.float64)
    total = s.sum()
    if total <= 0:
        return 0.0
    p = s / total + _EPS
    return float(np.exp(-(p * np.log(p)).sum()))


def rankme(Z: np.ndarray) -> float:
    """RankMe of embeddings ``Z`` (n, d) exactly as Garrido et al. (2023) define it: the effective rank of the
    singular values of Z itself, uncentred."""
    return effective_rank(np.linalg.svd(np.asarray(Z, dtype=np.float64), compute_uv=False))


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
                        probe_accuracy: float | None = None, knn_accuracy: float | None = None,
                        view_group: int = 256, view_strength: bool = True) -> Diagnostics:
    """Diagnostics of embeddings ``Z`` of shape ``(n, d)``; ``views`` = two views' embeddings of the same
    samples (for alignment and the cross-correlation matrix). ``view_strength``: also how easy the views are to
    match (:func:`view_task`), which says something only about an objective that learns from views."""
    from core.diagnostics.alignment import alignment, uniformity

    Z = np.asarray(Z, dtype=np.float64)
    if Z.ndim != 2 or len(Z) < 2:
        raise ValueError(f"diagnostics need at least two embeddings of shape (n, d), got {Z.shape}")
    U = Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), _EPS)
    centred = Z - Z.mean(axis=0)
    sv = np.linalg.svd(centred, compute_uv=False)
    d = Z.shape[1]
    cov = _frozen(centred.T @ centred / (len(Z) - 1)) if d <= COVARIANCE_MAX_DIM else None
    align = cross = view_acc = positive = None
    if views is not None:
        a, b = (np.asarray(v, dtype=np.float64) for v in views)
        align = alignment(a, b)
        if view_strength:
            view_acc, positive = view_task(a, b, view_group)
        if a.shape[1] <= COVARIANCE_MAX_DIM:
            an = (a - a.mean(0)) / np.maximum(a.std(0), _EPS)
            bn = (b - b.mean(0)) / np.maximum(b.std(0), _EPS)
            cross = _frozen(an.T @ bn / len(a))
    return Diagnostics(
        n=len(Z), dim=d, std=_frozen(Z.std(axis=0)), normalized_std=_frozen(U.std(axis=0)),
        singular_values=_frozen(sv), effective_rank=rankme(Z), mean_cosine=mean_pairwise_cosine(Z),
        uniformity=uniformity(Z[:1024]), alignment=align, covariance=cov, cross_correlation=cross,
        probe_accuracy=probe_accuracy, knn_accuracy=knn_accuracy, view_accuracy=view_acc,
        positive_similarity=positive,
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
