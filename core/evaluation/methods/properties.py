"""The property card: factors, smoothness, invariance and the probe, on one page."""
from __future__ import annotations

import numpy as np

from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("properties", label="property card", order=110, direction="higher",
                      help="the property card: factors, smoothness, invariance, ...")
class Properties(EvaluationMethod):
    """Factor scores against the dataset's metadata, smoothness, and the property card that sums up what the
    other evaluations of this suite found (it runs last)."""

    def run(self, ctx: EvaluationContext) -> None:
        from core.evaluation.properties import factor_scores, property_card, smoothness

        r, Z, test, ds = ctx.result, ctx.Z, ctx.test, ctx.data.dataset
        sub = test[:2000]
        r.factors = factor_scores(Z, {k: np.asarray(v) for k, v in ds.metadata.items()}, ctx.seed)
        invariance = r.invariance if "invariance" in ctx.evaluations else None
        r.card = property_card(r.metrics, invariance, smoothness(Z[sub], ctx.data.X[sub], ctx.seed), r.factors, Z[test])
