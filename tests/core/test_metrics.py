"""Each evaluation metric against the reference library that defines it (torchmetrics, scikit-learn, SciPy)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from core.evaluation import metrics as M


@pytest.fixture(scope="module")
def retrieval_case():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 6, 120)
    y[:1] = 99  # a query whose class has no other member: no relevant item anywhere
    Z = rng.normal(size=(120, 8)) + np.eye(8)[y % 8] * 1.5
    return Z, y


def _torchmetrics_retrieval(metric_cls, Z, y, k):
    """Every sample queries every other by cosine similarity, as torchmetrics sees it (one row per pair)."""
    U = Z / np.linalg.norm(Z, axis=1, keepdims=True)
    sim = U @ U.T
    n = len(Z)
    q, d = np.nonzero(~np.eye(n, dtype=bool))
    metric = metric_cls(top_k=k)
    return float(metric(torch.as_tensor(sim[q, d]), torch.as_tensor(y[q] == y[d]), indexes=torch.as_tensor(q)))


@pytest.mark.parametrize("k", [1, 5, 10])
def test_retrieval_metrics_equal_torchmetrics(retrieval_case, k):
    from torchmetrics.retrieval import RetrievalHitRate, RetrievalMAP, RetrievalRecall

    Z, y = retrieval_case
    hit, recall, mean_ap = M.retrieval(Z, y, k=k)
    assert (hit.name, recall.name, mean_ap.name) == (f"hit_rate@{k}", f"recall@{k}", f"map@{k}")
    assert hit.value == pytest.approx(_torchmetrics_retrieval(RetrievalHitRate, Z, y, k), abs=1e-6)
    assert recall.value == pytest.approx(_torchmetrics_retrieval(RetrievalRecall, Z, y, k), abs=1e-6)
    assert mean_ap.value == pytest.approx(_torchmetrics_retrieval(RetrievalMAP, Z, y, k), abs=1e-6)


def test_ece_equals_torchmetrics():
    from torchmetrics.classification import MulticlassCalibrationError

    rng = np.random.default_rng(1)
    logits = rng.normal(size=(500, 4)) * 2
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, 500)
    (ece, brier), _ = M.calibration(proba, y, bins=15)
    reference = MulticlassCalibrationError(num_classes=4, n_bins=15, norm="l1")(torch.as_tensor(proba), torch.as_tensor(y))
    assert ece.value == pytest.approx(float(reference), abs=1e-6)
    # the Brier score as a sum over classes (Brier 1950), what scikit-learn gives unscaled
    from sklearn.metrics import brier_score_loss

    assert brier.value == pytest.approx(brier_score_loss(y, proba, scale_by_half=False), abs=1e-9)


def test_clustering_scores_equal_scikit_learn():
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(3), 50)
    Z = rng.normal(size=(150, 4)) + np.eye(4)[y] * 2
    nmi, ari, _ = M.clustering(Z, y)
    pred = KMeans(n_clusters=3, n_init=10, random_state=0).fit_predict(Z)
    assert nmi.value == pytest.approx(normalized_mutual_info_score(y, pred))
    assert ari.value == pytest.approx(adjusted_rand_score(y, pred))


@pytest.mark.parametrize("successes,n", [(0, 10), (7, 10), (950, 1000), (10, 10)])
def test_wilson_interval_equals_scipy(successes, n):
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = M.wilson(successes, n)
    assert (low, high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    m = M.accuracy_metric("acc", np.arange(n) < successes)
    assert m.value == successes / n and (m.low, m.high) == (low, high)


def test_bootstrap_in_chunks_is_bounded_and_brackets_the_mean(monkeypatch):
    scores = np.random.default_rng(0).random(5000)
    monkeypatch.setattr(M, "_CHUNK_ELEMENTS", 5000 * 7)  # 7 resamples at a time: many chunks, one tail
    value, low, high = M.bootstrap(scores, n_boot=100)
    assert low < value < high and value == pytest.approx(scores.mean())
    # the percentile interval of the mean ≈ ±1.96 standard errors
    assert high - low == pytest.approx(2 * 1.96 * scores.std() / np.sqrt(5000), rel=0.3)


def test_majority_knn_equals_scikit_learn_cosine_neighbours():
    from sklearn.neighbors import KNeighborsClassifier

    from core.diagnostics.probes import KNNProbe

    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 6)) + np.eye(6)[y] * 1.2
    ours = KNNProbe(k=5, weighted=False).fit(X[:200], y[:200]).predict(X[200:])
    theirs = KNeighborsClassifier(5, metric="cosine", algorithm="brute").fit(X[:200], y[:200]).predict(X[200:])
    assert (ours == theirs).mean() >= 0.98  # equal but for vote ties, which the two break differently
