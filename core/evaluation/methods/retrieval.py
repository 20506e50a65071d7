"""Retrieval: are a sample's nearest neighbours of its own class?"""
from __future__ import annotations

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("retrieval", label="retrieval", order=40, direction="higher", needs_labels=True,
                      help="hit rate, recall and mAP over the 10 nearest same-label neighbours (torchmetrics' definitions)")
class Retrieval(EvaluationMethod):
    """hit_rate@10, recall@10 and map@10 of same-label neighbours within the test split, as torchmetrics'
    RetrievalHitRate / RetrievalRecall / RetrievalMAP with top_k = 10 define them (docs/metrics.md)."""

    def run(self, ctx: EvaluationContext) -> None:
        ctx.result.metrics.update({m.name: m for m in M.retrieval(ctx.Z[ctx.test], ctx.y[ctx.test], seed=ctx.seed)})
