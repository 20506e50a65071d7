"""k-nearest-neighbour classification on the frozen representation."""
from __future__ import annotations

from core.diagnostics.probes import KNNProbe
from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("knn", label="kNN", order=20, direction="higher", needs_labels=True,
                      help="k-nearest-neighbour classifier (weighted and majority vote)")
class KNNAccuracy(EvaluationMethod):
    """Test accuracy of a distance-weighted and of a majority-vote kNN classifier over the training split."""

    def run(self, ctx: EvaluationContext) -> None:
        train, test, y = ctx.splits.train, ctx.test, ctx.y
        for weighted, label in ((True, "knn_accuracy"), (False, "knn_majority_accuracy")):
            pred = KNNProbe(weighted=weighted).fit(ctx.Z[train], y[train]).predict(ctx.Z[test])
            ctx.result.metrics[label] = M.accuracy_metric(label, pred == y[test])
