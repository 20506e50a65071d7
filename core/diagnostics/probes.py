"""Linear probe: how much of the labels a linear classifier can read from frozen features.

One protocol everywhere (training's end-of-run probe, the online probe, ``replearn evaluate``, reports, the
benchmarks): :data:`PROBE_PROTOCOL`. A logistic regression on standardised features is fitted on the training
split for every inverse regularisation ``C`` in :data:`PROBE_CS`; the ``C`` with the best validation accuracy is
kept (ties: the smaller ``C``), and that probe — fitted on the training split only — is what gets scored. The
validation split only chooses ``C``: the probe never sees it, so runs with different validation sizes compare.
"""
from __future__ import annotations

import numpy as np

PROBE_CS: tuple[float, ...] = (0.01, 0.1, 1.0, 10.0, 100.0)
PROBE_PROTOCOL = ("linear probe: logistic regression on standardised features, fitted on the training split, "
                  "C chosen on the validation split from {0.01, 0.1, 1, 10, 100}")
KNN_PROTOCOL = ("kNN: cosine similarity to the training split, the k = 20 nearest vote with weight exp(sim / 0.07) "
                "(Wu et al. 2018); knn_majority_accuracy: the same 20, one vote each.")


class LinearProbe:
    """Logistic regression on standardised, frozen features (scikit-learn estimator conventions).

    ``fit(X, y, X_val, y_val)`` returns ``self``: the protocol of :data:`PROBE_PROTOCOL` — one fit on the
    training data per ``C`` in ``Cs`` (warm-started from the previous, smaller ``C``), the one with the best
    validation accuracy kept (``C_``, ``validation_scores_``). Without validation data ``C_ = C`` (and
    ``protocol_`` says so). Fitted attributes end in ``_``; ``score`` is the accuracy.
    """

    def __init__(self, C: float = 1.0, Cs: tuple[float, ...] = PROBE_CS, max_iter: int = 1000,
                 random_state: int | None = 0):
        self.C = C
        self.Cs = Cs
        self.max_iter = max_iter
        self.random_state = random_state

    def _model(self, C: float):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=C, max_iter=self.max_iter, random_state=self.random_state)

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None) -> LinearProbe:
        import copy
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(X)
        Xs = self.scaler_.transform(X)
        self.validation_scores_: dict[float, float] = {}
        with warnings.catch_warnings():  # a probe that stops at max_iter is still a probe; the protocol is fixed
            warnings.simplefilter("ignore", ConvergenceWarning)
            if X_val is not None and y_val is not None and len(y_val):
                Xv = self.scaler_.transform(np.asarray(X_val, dtype=np.float64))
                model = self._model(min(self.Cs))
                model.set_params(warm_start=True)
                best = None
                for C in sorted(self.Cs):  # small C first: each fit starts from the smoother solution
                    model.set_params(C=C).fit(Xs, y)
                    self.validation_scores_[C] = float((model.predict(Xv) == np.asarray(y_val)).mean())
                    if best is None or self.validation_scores_[C] > self.validation_scores_[best[0]]:
                        best = (C, copy.deepcopy(model))
                assert best is not None  # Cs is not empty
                self.C_, self.model_ = best
                self.protocol_ = PROBE_PROTOCOL
            else:
                self.C_ = self.C
                self.model_ = self._model(self.C).fit(Xs, y)
                self.protocol_ = f"logistic regression on standardised features, C = {self.C:g} (no validation data)"
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict_proba(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())


class KNNProbe:
    """k-nearest-neighbour classifier on frozen features.

    ``weighted=True`` is the protocol of Wu et al. (2018) used by DINO and solo-learn: cosine similarity, the
    k most similar training samples vote with weight exp(sim / T) (k = 20, T = 0.07). ``weighted=False`` is
    a plain majority vote (ties go to the smallest class index).
    """

    SCORE_BYTES = 64 * 2**20

    def __init__(self, k: int = 20, temperature: float = 0.07, weighted: bool = True, batch_size: int = 1024):
        self.k = k
        self.temperature = temperature
        self.weighted = weighted
        self.batch_size = batch_size

    def fit(self, X: np.ndarray, y: np.ndarray) -> KNNProbe:
        X = np.asarray(X, dtype=np.float32)
        if len(X) == 0:
            raise ValueError("kNN needs at least one training sample")
        self.features_ = X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)
        self.labels_ = np.asarray(y)
        self.classes_ = np.unique(self.labels_)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        import torch

        X = np.asarray(X, dtype=np.float32)
        Q = torch.from_numpy(X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12))
        F = torch.from_numpy(self.features_)
        labels = torch.from_numpy(np.searchsorted(self.classes_, self.labels_))
        k = min(self.k, len(F))
        # queries per block: at most batch_size, fewer when the training set is large so that one block of
        # similarities stays near SCORE_BYTES (1024 queries x 160k training samples would be 640 MB)
        block = max(16, min(self.batch_size, self.SCORE_BYTES // (4 * len(F))))
        out = []
        for start in range(0, len(Q), block):
            sim, idx = (Q[start:start + block] @ F.T).topk(k, dim=1)
            weight = torch.exp(sim / self.temperature) if self.weighted else torch.ones_like(sim)
            votes = torch.zeros(len(sim), len(self.classes_), dtype=torch.float64)
            votes.scatter_add_(1, labels[idx], weight.double())
            out.append(votes.argmax(dim=1))
        return self.classes_[torch.cat(out).numpy()]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())
