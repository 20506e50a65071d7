"""Alignment and uniformity of L2-normalised embeddings (Wang & Isola, ICML 2020).

alignment  = E over positive pairs of ‖f(x) − f(y)‖₂^α  (α = 2): how close two views of a sample land;
uniformity = log E over all pairs of exp(−t ‖f(x) − f(y)‖₂²)  (t = 2): how evenly the sphere is used
(lower is more uniform; every point identical gives 0, the maximum).
"""
from __future__ import annotations

import numpy as np


def _unit(Z: np.ndarray) -> np.ndarray:
    Z = np.asarray(Z, dtype=np.float64)
    return Z / np.maximum(np.linalg.norm(Z, axis=1, keepdims=True), 1e-12)


def alignment(Z1: np.ndarray, Z2: np.ndarray, alpha: float = 2.0) -> float:
    """Mean ‖u − v‖^α over the rows of two views (row i of each is the same sample)."""
    d = np.linalg.norm(_unit(Z1) - _unit(Z2), axis=1)
    return float(np.mean(d ** alpha))


def uniformity(Z: np.ndarray, t: float = 2.0) -> float:
    """log of the mean of exp(−t ‖u_i − u_j‖²) over distinct pairs i < j."""
    U = _unit(Z)
    n = len(U)
    if n < 2:
        return float("nan")
    sq = np.clip(2.0 - 2.0 * (U @ U.T), 0.0, None)  # ‖u − v‖² for unit vectors
    iu = np.triu_indices(n, k=1)
    vals = -t * sq[iu]
    m = vals.max()
    return float(m + np.log(np.mean(np.exp(vals - m))))  # log-mean-exp, stable
