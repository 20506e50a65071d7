"""How honest a 2-D picture of the representation is."""
from __future__ import annotations

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("faithfulness", label="faithfulness", order=60, direction="higher", learned_only=True,
                      help="how honest a 2-D PCA picture of the space is")
class Faithfulness(EvaluationMethod):
    """Trustworthiness, continuity and neighbour agreement of a 2-D PCA layout, overall and per point."""

    def run(self, ctx: EvaluationContext) -> None:
        from core.projection.methods import PCA

        coords = PCA(random_state=ctx.seed).fit_transform(ctx.Z)
        faith, ctx.per_point_faithfulness = M.faithfulness(ctx.Z, coords, seed=ctx.seed)
        ctx.result.metrics.update({f"pca_2d_{m.name}": m for m in faith})
