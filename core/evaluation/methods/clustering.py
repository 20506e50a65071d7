"""How well k-means clusters of the representation match the labels."""
from __future__ import annotations

import numpy as np

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("clustering", label="clustering", order=30, direction="higher", needs_labels=True,
                      help="k-means against the labels: ARI, NMI, silhouette")
class Clustering(EvaluationMethod):
    """Adjusted Rand index, normalised mutual information and silhouette of k-means on the test split."""

    def run(self, ctx: EvaluationContext) -> None:
        y = ctx.y[ctx.test]
        if len(np.unique(y)) > 1:
            ctx.result.metrics.update({m.name: m for m in M.clustering(ctx.Z[ctx.test], y, ctx.seed)})
