"""Robustness: how the linear probe's accuracy falls as the inputs are corrupted."""
from __future__ import annotations

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("robustness", label="robustness", order=90, direction="lower", needs_labels=True,
                      help="probe accuracy under growing input corruption")
class Robustness(EvaluationMethod):
    """The linear probe's accuracy on test inputs under growing corruption (noise, occlusion, ... by data
    kind), and its relative drop at the strongest level."""

    def run(self, ctx: EvaluationContext) -> None:
        from core.evaluation.properties import relative_drop, robustness

        r = ctx.result
        # the test inputs are read, corrupted and embedded a batch at a time (memory-mapped data is never loaded)
        r.robustness = robustness(ctx.embed, ctx.probe(), ctx.data.X, ctx.y[ctx.test], ctx.data.dataset.kind,
                                  ctx.seed, rows=ctx.test)
        for corruption, curve in r.robustness.items():
            r.metrics[f"robustness_drop[{corruption}]"] = M.Metric(
                f"robustness_drop[{corruption}]", relative_drop(curve), higher_is_better=False,
                note=f"relative probe-accuracy drop at level {curve[-1][0]:g}")
