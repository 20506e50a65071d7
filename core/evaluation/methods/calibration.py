"""Calibration of the linear probe's probabilities."""
from __future__ import annotations

import numpy as np

from core.diagnostics.probes import LinearProbe
from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("calibration", label="calibration", order=15, direction="lower", needs_labels=True,
                      help="expected calibration error and Brier score of the probe")
class Calibration(EvaluationMethod):
    """Expected calibration error, Brier score and the reliability diagram of the linear probe on the test
    split (the probe is the one ``linear_probe`` scores)."""

    def run(self, ctx: EvaluationContext) -> None:
        n_classes = len(ctx.data.dataset.label_names)
        cal, ctx.result.reliability = M.calibration(full_proba(ctx.probe(), ctx.Z[ctx.test], n_classes),
                                                    ctx.y[ctx.test], seed=ctx.seed)
        ctx.result.metrics.update({m.name: m for m in cal})


def full_proba(probe: LinearProbe, Z: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over every class, also those the training split happened to lack."""
    p = probe.predict_proba(Z)
    full = np.zeros((len(Z), n_classes))
    full[:, probe.classes_] = p
    return full
