"""Linear probe: how much of the labels a logistic regression reads from the frozen representation."""
from __future__ import annotations

import numpy as np

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("linear_probe", label="linear probe", order=10, direction="higher", needs_labels=True,
                      help="logistic regression on frozen embeddings, fitted on train, C chosen on validation")
class LinearProbeAccuracy(EvaluationMethod):
    """Test accuracy of a linear probe fitted on the training split, its training accuracy and the confusion
    matrix on the test split."""

    def run(self, ctx: EvaluationContext) -> None:
        probe, Z, y, test, train = ctx.probe(), ctx.Z, ctx.y, ctx.test, ctx.splits.train
        pred = probe.predict(Z[test])
        r = ctx.result
        r.metrics["probe_accuracy"] = M.accuracy_metric("probe_accuracy", pred == y[test], note=f"C = {probe.C_:g}")
        r.metrics["probe_train_accuracy"] = M.Metric("probe_train_accuracy",
                                                     float((probe.predict(Z[train]) == y[train]).mean()))
        r.confusion = confusion(y[test], pred, len(ctx.data.dataset.label_names))


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m
