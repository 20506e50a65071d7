"""Retrieval: are a sample's nearest neighbours of its own class?"""
from __future__ import annotations

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("retrieval", label="retrieval", order=40, direction="higher", needs_labels=True,
                      help="recall@10 and mAP@10 of same-label neighbours")
class Retrieval(EvaluationMethod):
    """Recall@10 and mAP@10 of same-label neighbours within the test split."""

    def run(self, ctx: EvaluationContext) -> None:
        ctx.result.metrics.update({m.name: m for m in M.retrieval(ctx.Z[ctx.test], ctx.y[ctx.test], seed=ctx.seed)})
