"""Evaluation metrics on frozen embeddings, each with a 95% interval where it averages over samples (Wilson for
accuracies, a bootstrap over the scored samples otherwise). ``docs/metrics.md`` lists every definition.

Every function takes plain arrays and returns :class:`Metric` values; the formulas are in the docstrings and the
tests check them against hand-computed values and scikit-learn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """A value with its 95% interval (``None`` where the value is not an average over samples): Wilson for
    accuracies, bootstrap over the scored samples otherwise. Intervals cover test-set sampling, not training seeds."""

    name: str
    value: float
    low: float | None = None
    high: float | None = None
    higher_is_better: bool = True
    note: str = ""

    def to_record(self) -> dict:
        return {"name": self.name, "value": self.value, "low": self.low, "high": self.high,
                "higher_is_better": self.higher_is_better, "note": self.note}


BOOTSTRAP_RESAMPLES = 1000
_CHUNK_ELEMENTS = 1 << 22  # resample indices drawn at a time: 32 MB of int64, whatever the test-set size


def bootstrap(per_sample: np.ndarray, n_boot: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-sample scores and the 2.5 / 97.5 percentiles of the means of ``n_boot`` resamples (with
    replacement, of the same size). The resamples are drawn in chunks, so memory stays bounded for any ``n``."""
    per_sample = np.asarray(per_sample, dtype=np.float64)
    n = len(per_sample)
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    rows = max(1, _CHUNK_ELEMENTS // n)
    for start in range(0, n_boot, rows):
        stop = min(start + rows, n_boot)
        means[start:stop] = per_sample[rng.integers(0, n, (stop - start, n))].mean(axis=1)
    return float(per_sample.mean()), float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    r"""Wilson score interval for a binomial proportion (Wilson 1927; ``z`` = 1.96 for 95%):
    :math:`\frac{\hat p + z^2/2n \pm z\sqrt{\hat p(1-\hat p)/n + z^2/4n^2}}{1 + z^2/n}`."""
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def mean_metric(name: str, per_sample: np.ndarray, seed: int = 0, higher_is_better: bool = True) -> Metric:
    """The mean of per-sample scores with its bootstrap 95% interval."""
    value, low, high = bootstrap(per_sample, seed=seed)
    return Metric(name, value, low, high, higher_is_better)


def accuracy_metric(name: str, correct: np.ndarray, note: str = "") -> Metric:
    """The share of correct predictions with its Wilson 95% interval (exact enough, and O(1) at any size)."""
    correct = np.asarray(correct, dtype=bool)
    low, high = wilson(int(correct.sum()), len(correct))
    value = float(correct.mean()) if len(correct) else float("nan")
    return Metric(name, value, low, high, True, note)


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
    r"""Each sample queries all others by cosine similarity; an item is relevant when it has the query's label.
    Per query, over its k nearest (the definitions of torchmetrics' retrieval metrics with ``top_k=k``, which the
    tests check against):

    - ``hit_rate@k`` (``RetrievalHitRate``): 1 if a relevant item is among the k, else 0;
    - ``recall@k`` (``RetrievalRecall``): relevant items among the k / all relevant items;
    - ``map@k`` (``RetrievalMAP``): average precision over the k, :math:`\frac{1}{R_k}\sum_{i\le k}
      \mathrm{rel}_i\,P@i` with :math:`R_k` the relevant items *retrieved* in the top k (0 when none).

    A query with no relevant item at all scores 0 (torchmetrics' ``empty_target_action="neg"``).
    """
    from core.projection.neighbors import knn

    y = np.asarray(y)
    nb = knn(Z, k, "cosine")
    rel = (y[nb.indices] == y[:, None]).astype(np.float64)
    hit = rel.max(axis=1)
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    n_rel = counts[inverse] - 1  # every other sample of the query's class
    recall = np.where(n_rel > 0, rel.sum(axis=1) / np.maximum(n_rel, 1), 0.0)
    precision_at = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
    retrieved = rel.sum(axis=1)
    ap = np.where(retrieved > 0, (precision_at * rel).sum(axis=1) / np.maximum(retrieved, 1), 0.0)
    return [mean_metric(f"hit_rate@{k}", hit, seed), mean_metric(f"recall@{k}", recall, seed),
            mean_metric(f"map@{k}", ap, seed)]


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
