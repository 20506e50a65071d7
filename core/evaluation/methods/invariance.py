"""Invariance and equivariance of the representation under each augmentation."""
from __future__ import annotations

from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("invariance", label="invariance", order=100, direction="higher",
                      help="how much embeddings move under each augmentation")
class Invariance(EvaluationMethod):
    """For each augmentation that fits the data: how far embeddings move (invariance) and whether they move
    consistently (equivariance), on the test split."""

    def run(self, ctx: EvaluationContext) -> None:
        from core.evaluation.properties import invariance_equivariance

        # streamed: the test inputs are read and transformed a batch at a time
        ctx.result.invariance = invariance_equivariance(ctx.embed, ctx.data.X, ctx.data.dataset.kind, ctx.seed,
                                                        rows=ctx.test)
