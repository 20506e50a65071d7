"""What an evaluation produces: the metrics of each representation (the learned one and the baselines)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.evaluation import metrics as M


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
    #: which split the scores are on (:meth:`core.data.splits.Splits.record`): official or random test split, ...
    split: dict[str, Any] = field(default_factory=dict)
    baseline_notes: dict[str, str] = field(default_factory=dict)  # what each baseline is, e.g. PCA-k's k

    def notes(self) -> list[str]:
        """What every table of this evaluation says: the split and its size, the probe protocols, what the
        intervals cover, and what each baseline is."""
        from core.diagnostics.probes import KNN_PROTOCOL, PROBE_PROTOCOL
        from core.evaluation.metrics import BOOTSTRAP_RESAMPLES

        where = self.split.get("description") or f"test split ({self.n_test} samples)"
        n_val = self.split.get("n_val")
        out = [f"Scored on the {where}; probes fitted on the training split ({self.n_train} samples).",
               PROBE_PROTOCOL[0].upper() + PROBE_PROTOCOL[1:]
               + (f" ({n_val} validation samples)." if n_val is not None else "."),
               KNN_PROTOCOL,
               f"95% intervals over the {self.n_test} scored samples: Wilson score intervals for accuracies, "
               f"{BOOTSTRAP_RESAMPLES} bootstrap resamples for other averages. They cover the sampling of the "
               "scored set, not the variation between training seeds."]
        return out + [f"{name}: {text}" for name, text in self.baseline_notes.items()]

    @property
    def learned(self) -> RepresentationResult:
        return self.results["learned"]

    def to_record(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment, "dataset": self.dataset, "n_train": self.n_train, "n_test": self.n_test,
            "label_names": list(self.label_names), "split": self.split,
            "baseline_notes": dict(self.baseline_notes), "notes": self.notes(),
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
