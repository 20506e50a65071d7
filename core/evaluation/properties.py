"""Robustness, invariance / equivariance, factor decodability and the property card.

Transforms with a known parameter (rotation angle, shift, brightness, noise level, gain) are applied to test
inputs; an *embedder* (a function from inputs to representations) is measured on the results:

- robustness: the linear probe (fitted on clean training embeddings) scored on corrupted test inputs, per level;
- invariance: mean ‖z(Tx) − z(x)‖ over mean ‖z(x) − z(x′)‖ for random other samples x′ (0 = unmoved, 1 = moved
  as far as another sample is);
- equivariance: R² of a ridge regression predicting the transform's parameter from z(Tx) − z(x), on held-out
  pairs (1 = the change is a readable function of the parameter);
- smoothness: mean ‖Δz‖ between input-space nearest neighbours over mean ‖Δz‖ of random pairs (a local
  Lipschitz ratio; small = smooth);
- compositionality (factors dataset): R² of an additive (linear) model from the generative factors to z.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from core.evaluation.metrics import Metric

Embedder = Callable[[np.ndarray], np.ndarray]


def _rotate(x: np.ndarray, degrees: np.ndarray) -> np.ndarray:
    import torch
    import torch.nn.functional as F

    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    a = torch.from_numpy(np.deg2rad(degrees).astype(np.float32))
    c, s, z = torch.cos(a), torch.sin(a), torch.zeros_like(a)
    theta = torch.stack([torch.stack([c, -s, z], 1), torch.stack([s, c, z], 1)], 1)
    grid = F.affine_grid(theta, list(t.shape), align_corners=False)
    return F.grid_sample(t, grid, padding_mode="zeros", align_corners=False).numpy()


def _shift(x: np.ndarray, amount: np.ndarray) -> np.ndarray:
    """Shift along the last axis by ``amount`` positions (circular for signals, zero-filled for images)."""
    out = np.empty_like(x)
    for i, k in enumerate(np.round(amount).astype(int)):
        out[i] = np.roll(x[i], k, axis=-1)
        if x.ndim == 4 and k:
            if k > 0:
                out[i, ..., :k] = 0
            else:
                out[i, ..., k:] = 0
    return out


@dataclass(frozen=True)
class Transform:
    name: str
    kinds: tuple[str, ...]
    low: float
    high: float
    apply: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (inputs, parameters) -> transformed inputs


TRANSFORMS = (
    Transform("rotation_degrees", ("image",), -30.0, 30.0, _rotate),
    Transform("shift", ("image", "sequence", "audio"), -2.0, 2.0, _shift),
    Transform("brightness", ("image",), -0.3, 0.3, lambda x, p: x + p.reshape(-1, *([1] * (x.ndim - 1)))),
    Transform("gain", ("sequence", "audio", "tabular", "embeddings"), 0.5, 1.5,
              lambda x, p: x * p.reshape(-1, *([1] * (x.ndim - 1)))),
)


def transforms_for(kind: str) -> list[Transform]:
    return [t for t in TRANSFORMS if kind in t.kinds]


def corruption_levels(kind: str) -> dict[str, list[float]]:
    """Corruptions for the robustness curve, in units of the (normalised) inputs."""
    levels = {"gaussian_noise": [0.0, 0.1, 0.2, 0.4, 0.8]}
    if kind == "image":
        levels["occlusion"] = [0.0, 0.1, 0.2, 0.3, 0.5]
        levels["shift"] = [0.0, 1.0, 2.0, 3.0]
    elif kind in ("sequence", "audio"):
        levels["shift"] = [0.0, 4.0, 16.0, 64.0]
    return levels


CORRUPTION_UNITS = {"gaussian_noise": "noise std (normalised input units)", "occlusion": "share of the area hidden",
                    "shift": "shift (pixels or samples)"}


def corrupt(x: np.ndarray, kind: str, level: float, rng: np.random.Generator) -> np.ndarray:
    """``x`` corrupted at ``level``. Every draw takes a fixed number of values per sample, in sample order, so a
    split corrupted a batch at a time gets the same corruption as the whole split at once (from one generator)."""
    if level == 0:
        return x
    if kind == "gaussian_noise":
        return x + np.float32(level) * rng.standard_normal(x.shape, dtype=np.float32)
    if kind == "shift":
        return _shift(x, np.where(rng.random(len(x)) < 0.5, -level, level))
    if kind == "occlusion":  # a blank square covering ``level`` of the image's area, at a random place
        out = x.copy()
        h, w = x.shape[-2:]
        side_h, side_w = max(1, round(np.sqrt(level) * h)), max(1, round(np.sqrt(level) * w))
        corner = rng.random((len(x), 2))
        tops = (corner[:, 0] * (h - side_h + 1)).astype(int)
        lefts = (corner[:, 1] * (w - side_w + 1)).astype(int)
        for i, (r, c) in enumerate(zip(tops, lefts, strict=True)):
            out[i, ..., r:r + side_h, c:c + side_w] = 0
        return out
    raise ValueError(kind)


EVAL_BATCH = 2048  # test rows read, corrupted and embedded at a time: memory independent of the split's size


def row_batches(X, rows: np.ndarray, batch_size: int | None = None):
    """``(position, X[rows[position:position + batch_size]])`` in order: the split is read a batch at a time from
    the (possibly memory-mapped, :class:`core.data.splits.NormalizedRows`) features, never whole."""
    batch_size = batch_size or EVAL_BATCH
    for start in range(0, len(rows), batch_size):
        yield start, np.asarray(X[rows[start:start + batch_size]])


def robustness(embed: Embedder, probe, X, y_test: np.ndarray, kind: str, seed: int = 0,
               rows: np.ndarray | None = None, batch_size: int | None = None) -> dict[str, list[tuple[float, float]]]:
    """For each corruption: (level, probe accuracy) pairs, level 0 first, on ``X[rows]`` (default: all of ``X``)
    with labels ``y_test``. The rows are read, corrupted and embedded a batch at a time and only the counts of
    correct predictions are kept; each (corruption, level) draws from its own generator, so the curves do not
    depend on the batch size."""
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    levels = corruption_levels(kind)
    streams = {(name, lv): np.random.default_rng([seed, i, j])
               for i, (name, lvs) in enumerate(levels.items()) for j, lv in enumerate(lvs) if lv}
    correct = dict.fromkeys(streams, 0)
    clean = 0  # level 0 is the same clean inputs for every corruption: embedded once per batch
    for start, x in row_batches(X, rows, batch_size):
        y = y_test[start:start + len(x)]
        clean += int((probe.predict(embed(x)) == y).sum())
        for (name, lv), rng in streams.items():
            correct[(name, lv)] += int((probe.predict(embed(corrupt(x, name, lv, rng))) == y).sum())
    n = len(rows)
    return {name: [(lv, (correct[(name, lv)] if lv else clean) / n if n else float("nan")) for lv in lvs]
            for name, lvs in levels.items()}


def relative_drop(curve: list[tuple[float, float]]) -> float:
    clean, worst = curve[0][1], curve[-1][1]
    return (clean - worst) / clean if clean > 0 else 0.0


def _r2_heldout(features: np.ndarray, target: np.ndarray, seed: int) -> float:
    from sklearn.linear_model import RidgeCV
    from sklearn.preprocessing import StandardScaler

    n = len(target)
    perm = np.random.default_rng(seed).permutation(n)
    tr, te = perm[: n // 2], perm[n // 2:]
    scaler = StandardScaler().fit(features[tr])
    model = RidgeCV(alphas=(0.1, 1.0, 10.0, 100.0)).fit(scaler.transform(features[tr]), target[tr])
    return float(model.score(scaler.transform(features[te]), target[te]))


def invariance_equivariance(embed: Embedder, X, kind: str, seed: int = 0, rows: np.ndarray | None = None,
                            batch_size: int | None = None) -> dict[str, dict[str, float]]:
    """Invariance and equivariance of each transform of ``kind`` on ``X[rows]`` (default: all of ``X``). The rows
    are read and transformed a batch at a time; only their representations (n × d, not the inputs) are kept."""
    rows = np.arange(len(X)) if rows is None else np.asarray(rows)
    n = len(rows)
    if n == 0:
        return {}
    rng = np.random.default_rng(seed)
    other = rng.permutation(n)
    transforms = transforms_for(kind)
    params = {t.name: rng.uniform(t.low, t.high, n).astype(np.float32) for t in transforms}
    Z: np.ndarray | None = None
    deltas: dict[str, np.ndarray] = {}
    for start, x in row_batches(X, rows, batch_size):
        z = embed(x)
        if Z is None:
            Z = np.empty((n, z.shape[1]), np.float32)
            deltas = {t.name: np.empty_like(Z) for t in transforms}
        stop = start + len(x)
        Z[start:stop] = z
        for t in transforms:
            deltas[t.name][start:stop] = embed(t.apply(x, params[t.name][start:stop])) - z
    assert Z is not None
    baseline = float(np.linalg.norm(Z - Z[other], axis=1).mean()) or 1.0
    return {name: {"invariance": float(np.linalg.norm(delta, axis=1).mean()) / baseline,
                   "equivariance_r2": _r2_heldout(delta, params[name], seed)} for name, delta in deltas.items()}


def smoothness(embed_z: np.ndarray, X: np.ndarray, seed: int = 0) -> float:
    """Mean ‖Δz‖ between each point and its nearest input-space neighbour, over the mean ‖Δz‖ of random pairs."""
    from core.projection.neighbors import knn

    flat = X.reshape(len(X), -1)
    nearest = knn(flat, 1, "euclidean").indices[:, 0]
    near = np.linalg.norm(embed_z - embed_z[nearest], axis=1).mean()
    rand = np.linalg.norm(embed_z - embed_z[np.random.default_rng(seed).permutation(len(X))], axis=1).mean()
    return float(near / rand) if rand > 0 else 0.0


# generative factors of the built-in data: shapes (and their motion), grid-world states and their value
FACTOR_COLUMNS = ("scale", "rotation_degrees", "x", "y", "brightness", "vx", "vy", "row", "col", "value")


def factor_scores(Z: np.ndarray, metadata: dict, seed: int = 0) -> dict[str, float]:
    """Linear decodability (R²) of each generative factor from z, and the additivity of an additive factor
    model of z (R² of z ≈ W·factors + b, averaged over dimensions) — the compositionality score."""
    from sklearn.linear_model import LinearRegression

    present = [c for c in FACTOR_COLUMNS if c in metadata]
    if not present:
        return {}
    F = np.stack([np.asarray(metadata[c], dtype=np.float64) for c in present], axis=1)
    if "rotation_degrees" in present:  # angles as (cos, sin): rotation is periodic
        j = present.index("rotation_degrees")
        rad = np.deg2rad(F[:, j])
        F = np.concatenate([np.delete(F, j, axis=1), np.cos(rad)[:, None], np.sin(rad)[:, None]], axis=1)
    scores = {f"decode_{c}": _r2_heldout(Z, np.asarray(metadata[c], dtype=np.float64), seed) for c in present}
    n = len(Z)
    perm = np.random.default_rng(seed).permutation(n)
    tr, te = perm[: n // 2], perm[n // 2:]
    model = LinearRegression().fit(F[tr], Z[tr])
    resid = ((Z[te] - model.predict(F[te])) ** 2).sum(axis=0)
    total = ((Z[te] - Z[te].mean(0)) ** 2).sum(axis=0)
    scores["compositionality_r2"] = float(np.mean(1 - resid / np.maximum(total, 1e-12)))
    return scores


def dims_for_variance(Z: np.ndarray, share: float = 0.95) -> int:
    s = np.linalg.svd(Z - Z.mean(0), compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(s) / s.sum(), share) + 1)


def property_card(metrics: dict[str, Metric], inv: dict | None, smooth: float, factors: dict, Z: np.ndarray) -> dict[str, dict]:
    """One score per property, with how it was measured (None where it could not be)."""
    from core.diagnostics.collapse import rankme

    rank = rankme(Z)
    card = {
        "compactness": {"score": rank / Z.shape[1],
                        "how": f"effective rank (RankMe) {rank:.1f} of {Z.shape[1]} dimensions; "
                               f"{dims_for_variance(Z)} dimensions hold 95% of the variance"},
        "separability": {"score": metrics["probe_accuracy"].value if "probe_accuracy" in metrics else None,
                         "how": "linear-probe accuracy on the test split"},
        "smoothness": {"score": 1.0 - smooth,
                       "how": f"1 − (distance to the input-space nearest neighbour's z / distance to a random "
                              f"sample's z) = 1 − {smooth:.2f}"},
    }
    if inv:
        card["invariance"] = {"score": float(np.mean([1 - min(v["invariance"], 1.0) for v in inv.values()])),
                              "how": "1 − mean relative movement of z under " + ", ".join(inv)}
        card["equivariance"] = {"score": float(np.mean([max(v["equivariance_r2"], 0.0) for v in inv.values()])),
                                "how": "mean R² of the transform parameter read linearly from z(Tx) − z(x)"}
    elif inv is None:
        card["invariance"] = card["equivariance"] = {"score": None, "how": "not evaluated (add the invariance "
                                                                           "evaluation)"}
    else:
        card["invariance"] = card["equivariance"] = {"score": None, "how": "no transforms for this data kind"}
    if "compositionality_r2" in factors:
        card["compositionality"] = {"score": factors["compositionality_r2"],
                                    "how": "R² of an additive linear model from the generative factors to z"}
    else:
        card["compositionality"] = {"score": None, "how": "needs data with generative factors (the factors dataset)"}
    return card
