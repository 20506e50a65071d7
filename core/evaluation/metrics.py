"""Evaluation metrics on frozen embeddings, each with a bootstrap 95% interval where it averages over samples.

Every function takes plain arrays and returns :class:`Metric` values; the formulas are in the docstrings and the
tests check them against hand-computed values and scikit-learn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """A value with its bootstrap 95% interval (``None`` where the value is not an average over samples)."""

    name: str
    value: float
    low: float | None = None
    high: float | None = None
    higher_is_better: bool = True
    note: str = ""

    def to_record(self) -> dict:
        return {"name": self.name, "value": self.value, "low": self.low, "high": self.high,
                "higher_is_better": self.higher_is_better, "note": self.note}


def bootstrap(per_sample: np.ndarray, n_boot: int = 1000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-sample scores and the 2.5 / 97.5 percentiles of the means of ``n_boot`` resamples."""
    per_sample = np.asarray(per_sample, dtype=np.float64)
    if len(per_sample) == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = per_sample[rng.integers(0, len(per_sample), (n_boot, len(per_sample)))].mean(axis=1)
    return float(per_sample.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def mean_metric(name: str, per_sample: np.ndarray, seed: int = 0, higher_is_better: bool = True) -> Metric:
    value, low, high = bootstrap(per_sample, seed=seed)
    return Metric(name, value, low, high, higher_is_better)


# ---- calibration ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Reliability:
    """Per confidence bin: its mean confidence, its accuracy and its share of the samples (for the diagram)."""

    confidence: np.ndarray
    accuracy: np.ndarray
    share: np.ndarray


def calibration(proba: np.ndarray, y: np.ndarray, bins: int = 15, seed: int = 0) -> tuple[list[Metric], Reliability]:
    """ECE with ``bins`` equal-width confidence bins (Guo et al., 2017):
    :math:`\\sum_b \\frac{|B_b|}{n}\\,|\\mathrm{acc}(B_b) - \\mathrm{conf}(B_b)|`; the Brier score
    :math:`\\frac1n\\sum_i \\lVert p_i - e_{y_i}\\rVert^2`."""
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    c_mean, a_mean, share = np.zeros(bins), np.zeros(bins), np.zeros(bins)
    for b in range(bins):
        sel = which == b
        if sel.any():
            c_mean[b], a_mean[b], share[b] = conf[sel].mean(), correct[sel].mean(), sel.mean()
    ece = float(np.sum(share * np.abs(a_mean - c_mean)))
    onehot = np.zeros_like(proba)
    onehot[np.arange(len(y)), y] = 1.0
    brier = ((proba - onehot) ** 2).sum(axis=1)
    # the ECE's interval: recompute it on bootstrap resamples
    rng = np.random.default_rng(seed)
    eces = []
    for _ in range(200):
        idx = rng.integers(0, len(y), len(y))
        eces.append(_ece(conf[idx], correct[idx], edges))
    return ([Metric("ece", ece, float(np.percentile(eces, 2.5)), float(np.percentile(eces, 97.5)), False),
             mean_metric("brier", brier, seed, higher_is_better=False)],
            Reliability(c_mean, a_mean, share))


def _ece(conf: np.ndarray, correct: np.ndarray, edges: np.ndarray) -> float:
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, len(edges) - 2)
    total = 0.0
    for b in np.unique(which):
        sel = which == b
        total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return float(total)


# ---- clustering ----------------------------------------------------------------------------------------------


def clustering(Z: np.ndarray, y: np.ndarray, seed: int = 0) -> list[Metric]:
    """k-means with k = the number of classes: NMI and ARI against the labels, and the silhouette."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score, silhouette_samples

    k = len(np.unique(y))
    pred = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(Z)
    metrics = [Metric("nmi", float(normalized_mutual_info_score(y, pred))),
               Metric("ari", float(adjusted_rand_score(y, pred)))]
    if 1 < len(np.unique(pred)) < len(Z):
        sample = np.random.default_rng(seed).choice(len(Z), size=min(len(Z), 2000), replace=False)
        metrics.append(mean_metric("silhouette", silhouette_samples(Z[sample], pred[sample]), seed))
    return metrics


# ---- retrieval -----------------------------------------------------------------------------------------------


def retrieval(Z: np.ndarray, y: np.ndarray, k: int = 10, seed: int = 0) -> list[Metric]:
    """Each sample queries all others (cosine): Recall@k = 1 if a same-label item is among its k nearest;
    mAP@k = the mean over queries of the average precision over the first k results."""
    from core.projection.neighbors import knn

    nb = knn(Z, k, "cosine")
    rel = (y[nb.indices] == y[:, None]).astype(np.float64)
    hit = rel.max(axis=1)
    precision_at = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    n_rel = np.minimum(np.bincount(y)[y] - 1, rel.shape[1])
    ap = np.where(n_rel > 0, (precision_at * rel).sum(axis=1) / np.maximum(n_rel, 1), 0.0)
    return [mean_metric(f"recall@{k}", hit, seed), mean_metric(f"map@{k}", ap, seed)]


# ---- projection faithfulness ---------------------------------------------------------------------------------


def faithfulness(Z: np.ndarray, coords: np.ndarray, k: int = 10, seed: int = 0) -> tuple[list[Metric], np.ndarray]:
    """How honest a 2-D picture is: trustworthiness (are the picture's neighbours real ones?), continuity
    (are the real neighbours still neighbours in the picture?), both as in Venna & Kaski (2001) — equal to
    scikit-learn's ``trustworthiness`` — and the per-point share of the k nearest neighbours kept."""
    from sklearn.manifold import trustworthiness

    from core.projection.neighbors import knn

    n = len(Z)
    sample = np.random.default_rng(seed).choice(n, size=min(n, 2000), replace=False)
    Zs, Cs = Z[sample], coords[sample]
    k_eff = min(k, (len(sample) - 1) // 2 - 1) if len(sample) < 4 * k else k
    trust = float(trustworthiness(Zs, Cs, n_neighbors=k_eff))
    cont = float(trustworthiness(Cs, Zs, n_neighbors=k_eff))
    high = knn(Z, k, "euclidean").indices
    low = knn(coords, k, "euclidean").indices
    kept = np.array([len(set(a) & set(b)) / k for a, b in zip(high, low, strict=True)])
    return ([Metric("trustworthiness", trust), Metric("continuity", cont), mean_metric(f"knn_preserved@{k}", kept, seed)],
            kept)
