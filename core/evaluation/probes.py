"""Linear probe: how much of the labels a linear classifier can read from frozen features."""
from __future__ import annotations

import numpy as np


class LinearProbe:
    """Logistic regression on standardised, frozen features (scikit-learn estimator conventions).

    ``fit(X, y)`` returns ``self``; fitted attributes end in ``_``; ``score`` is the accuracy.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 2000, random_state: int | None = 0):
        self.C = C
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> "LinearProbe":
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler

        X = np.asarray(X, dtype=np.float64)
        self.scaler_ = StandardScaler().fit(X)
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.random_state)
        self.model_.fit(self.scaler_.transform(X), y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(self.scaler_.transform(np.asarray(X, dtype=np.float64)))

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())
