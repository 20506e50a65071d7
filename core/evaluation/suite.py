"""The evaluation suite: every evaluation on the learned representation and on three baselines.

``evaluate(model)`` is a generator (progress events; close it to cancel) that returns an :class:`Evaluation`.
Baselines, on the same splits: the raw input features, PCA of the raw features to the representation's
dimension (fitted on the training split), and the same encoder at its random initialisation — so every number
says whether learning helped. Probes fit on the training split (C chosen on the validation split) and are
scored on the test split.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Generator, Sequence

import numpy as np

from core.diagnostics.probes import KNNProbe, LinearProbe
from core.evaluation import metrics as M

EVALUATIONS = ("linear_probe", "knn", "clustering", "retrieval", "calibration", "faithfulness", "layerwise",
               "reconstruction", "robustness", "invariance", "properties", "similarity")
BASELINES = ("raw", "pca", "random_init")


@dataclass(frozen=True)
class EvaluationProgress:
    fraction: float
    message: str


@dataclass
class RepresentationResult:
    """All metrics of one representation (the learned one or a baseline)."""

    name: str
    dim: int
    metrics: dict[str, M.Metric] = field(default_factory=dict)
    reliability: M.Reliability | None = None
    confusion: np.ndarray | None = None
    layerwise: list[tuple[str, M.Metric]] = field(default_factory=list)
    robustness: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    invariance: dict[str, dict[str, float]] = field(default_factory=dict)
    factors: dict[str, float] = field(default_factory=dict)
    card: dict[str, dict] = field(default_factory=dict)
    similarity: Any = None  # a core.evaluation.similarity.Similarity: layer × layer linear CKA

    def value(self, name: str) -> float | None:
        m = self.metrics.get(name)
        return None if m is None else m.value


@dataclass
class Evaluation:
    experiment: str
    dataset: str
    n_train: int
    n_test: int
    label_names: tuple[str, ...]
    results: dict[str, RepresentationResult]
    seconds: float
    evaluations: tuple[str, ...]
    per_point_faithfulness: np.ndarray | None = None

    @property
    def learned(self) -> RepresentationResult:
        return self.results["learned"]

    def to_record(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "dataset": self.dataset, "n_train": self.n_train, "n_test": self.n_test,
            "label_names": list(self.label_names),
            "evaluations": list(self.evaluations), "seconds": self.seconds,
            "results": {
                name: {"dim": r.dim, "metrics": {k: m.to_record() for k, m in r.metrics.items()},
                       "layerwise": [{"layer": layer, **m.to_record()} for layer, m in r.layerwise],
                       "confusion": None if r.confusion is None else r.confusion.tolist(),
                       "robustness": {k: [list(p) for p in v] for k, v in r.robustness.items()},
                       "invariance": r.invariance, "factors": r.factors, "property_card": r.card,
                       "similarity": None if r.similarity is None else r.similarity.to_record(),
                       "reliability": None if r.reliability is None else {
                           "confidence": r.reliability.confidence.tolist(), "accuracy": r.reliability.accuracy.tolist(),
                           "share": r.reliability.share.tolist()}}
                for name, r in self.results.items()
            },
        }


def evaluate(model, evaluations: Sequence[str] = EVALUATIONS, baselines: Sequence[str] = BASELINES,
             seed: int = 0) -> Generator[EvaluationProgress, None, Evaluation]:
    """Run ``evaluations`` on ``model`` (a :class:`core.ModelOnData`) and on ``baselines``."""
    from core.errors import ConfigError

    unknown = [e for e in evaluations if e not in EVALUATIONS]
    if unknown:
        raise ConfigError("evaluations", f"unknown evaluation(s) {', '.join(unknown)}", allowed=", ".join(EVALUATIONS))
    started = time.perf_counter()
    data = model.data
    ds = data.dataset
    splits = data.splits
    test = splits.test if len(splits.test) else splits.val
    y = ds.y
    yield EvaluationProgress(0.0, "embedding the data")

    def flat(X: np.ndarray) -> np.ndarray:
        return X.reshape(len(X), -1).astype(np.float32)

    embedders = {"learned": model.embed_inputs}
    raw = flat(data.X)
    if "raw" in baselines:
        embedders["raw"] = flat
    learned_dim = model.embed(np.arange(min(2, ds.n))).shape[1]
    if "pca" in baselines and learned_dim < raw.shape[1]:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=learned_dim, random_state=seed).fit(raw[splits.train])
        embedders["pca"] = lambda X: pca.transform(flat(X)).astype(np.float32)
    if "random_init" in baselines:
        from core.training.inference import initialised

        embedders["random_init"] = initialised(model.experiment, device=str(model.device)).embed_inputs
    reps = {name: embed(data.X) for name, embed in embedders.items()}
    results: dict[str, RepresentationResult] = {}
    steps = len(reps) * len(evaluations)
    done = 0
    per_point = None
    for name, Z in reps.items():
        r = RepresentationResult(name, Z.shape[1])
        results[name] = r
        probe = None
        for ev in evaluations:
            yield EvaluationProgress(done / steps, f"{ev.replace('_', ' ')} on the {name.replace('_', ' ')} representation")
            done += 1
            if y is None and ev in ("linear_probe", "knn", "clustering", "retrieval", "calibration", "layerwise",
                                    "robustness"):
                continue
            if ev in ("linear_probe", "robustness") and probe is None:
                probe = LinearProbe(random_state=seed).fit(Z[splits.train], y[splits.train], Z[splits.val], y[splits.val])
            if ev == "linear_probe":
                pred = probe.predict(Z[test])
                r.metrics["probe_accuracy"] = M.mean_metric("probe_accuracy", pred == y[test], seed)
                r.metrics["probe_train_accuracy"] = M.Metric(
                    "probe_train_accuracy", float((probe.predict(Z[splits.train]) == y[splits.train]).mean()))
                r.confusion = _confusion(y[test], pred, len(ds.label_names))
                if "calibration" in evaluations:
                    cal, r.reliability = M.calibration(_full_proba(probe, Z[test], len(ds.label_names)), y[test], seed=seed)
                    r.metrics.update({m.name: m for m in cal})
            elif ev == "knn":
                for weighted, label in ((True, "knn_accuracy"), (False, "knn_majority_accuracy")):
                    pred = KNNProbe(weighted=weighted).fit(Z[splits.train], y[splits.train]).predict(Z[test])
                    r.metrics[label] = M.mean_metric(label, pred == y[test], seed)
            elif ev == "clustering" and len(np.unique(y[test])) > 1:
                r.metrics.update({m.name: m for m in M.clustering(Z[test], y[test], seed)})
            elif ev == "retrieval":
                r.metrics.update({m.name: m for m in M.retrieval(Z[test], y[test], seed=seed)})
            elif ev == "faithfulness" and name == "learned":
                from core.projection.methods import PCA as ProjPCA

                coords = ProjPCA(random_state=seed).fit_transform(Z)
                faith, per_point = M.faithfulness(Z, coords, seed=seed)
                r.metrics.update({f"pca_2d_{m.name}": m for m in faith})
            elif ev == "similarity" and name == "learned":
                from core.evaluation.similarity import layer_similarity

                r.similarity = layer_similarity(model, test, seed=seed)
            elif ev == "layerwise" and name == "learned":
                r.layerwise = list(_layerwise(model, splits, test, y, seed))
            elif ev == "reconstruction" and name == "learned":
                r.metrics.update(_reconstruction(model, test, seed))
            elif ev == "robustness":
                from core.evaluation.properties import relative_drop, robustness

                r.robustness = robustness(embedders[name], probe, data.X[test], y[test], ds.kind, seed)
                for corruption, curve in r.robustness.items():
                    r.metrics[f"robustness_drop[{corruption}]"] = M.Metric(
                        f"robustness_drop[{corruption}]", relative_drop(curve), higher_is_better=False,
                        note=f"relative probe-accuracy drop at level {curve[-1][0]:g}")
            elif ev == "invariance":
                from core.evaluation.properties import invariance_equivariance

                r.invariance = invariance_equivariance(embedders[name], data.X[test], ds.kind, seed)
            elif ev == "properties":
                from core.evaluation.properties import factor_scores, property_card, smoothness

                sub = test[:2000]
                r.factors = factor_scores(Z, {k: np.asarray(v) for k, v in ds.metadata.items()}, seed)
                invariance = r.invariance if "invariance" in evaluations else None
                r.card = property_card(r.metrics, invariance, smoothness(Z[sub], data.X[sub], seed), r.factors, Z[test])
    yield EvaluationProgress(1.0, "done")
    return Evaluation(model.experiment.name, ds.name, len(splits.train), len(test), ds.label_names, results,
                      time.perf_counter() - started, tuple(evaluations), per_point)


def _full_proba(probe: LinearProbe, Z: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over every class, also those the training split happened to lack."""
    p = probe.predict_proba(Z)
    full = np.zeros((len(Z), n_classes))
    full[:, probe.classes_] = p
    return full


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def _layerwise(model, splits, test, y, seed):
    import torch

    model.model.eval()
    outputs: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for start in range(0, len(model.data.X), 2048):
            x = torch.from_numpy(model.data.X[start:start + 2048]).to(model.device)
            for layer, h in model.model.encoder.layer_outputs(x).items():
                outputs.setdefault(layer, []).append(h.float().cpu().numpy())
    for layer, parts in outputs.items():
        H = np.concatenate(parts)
        probe = LinearProbe(random_state=seed).fit(H[splits.train], y[splits.train], H[splits.val], y[splits.val])
        yield layer, M.mean_metric(f"probe_accuracy[{layer}]", probe.predict(H[test]) == y[test], seed)


def _reconstruction(model, test, seed) -> dict[str, M.Metric]:
    import torch

    from core.objectives.base import Batch

    if not hasattr(model.model, "reconstruct"):
        return {}
    model.model.eval()
    x = torch.from_numpy(model.data.X[test]).to(model.device)
    with torch.no_grad():
        x_hat = model.model.reconstruct(x).float()
        mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1).cpu().numpy()
        out = {"reconstruction_mse": M.mean_metric("reconstruction_mse", mse, seed, higher_is_better=False)}
        rng = model.data.value_range
        if rng is not None:
            peak = (rng[1] - rng[0]) ** 2
            psnr = 10 * np.log10(peak / np.maximum(mse, 1e-12))
            out["psnr_db"] = M.mean_metric("psnr_db", psnr, seed)
        result = model.model(Batch(x=x, y=None, index=torch.as_tensor(test)))
        for key in ("elbo", "active_units"):
            if key in result.metrics:
                out[key] = M.Metric(key, float(result.metrics[key]))
    return out
