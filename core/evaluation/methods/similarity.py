"""Linear CKA between the encoder's layers: which layers represent the inputs alike."""
from __future__ import annotations

from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("similarity", label="layer similarity (CKA)", order=75, direction="higher",
                      learned_only=True, help="linear CKA between the encoder's layers (and between compared runs)")
class LayerSimilarity(EvaluationMethod):
    """Layer × layer linear CKA (Kornblith et al. 2019, :mod:`core.evaluation.similarity`) of the encoder's
    layer outputs on the test split (at most 2000 samples), for encoders registered with ``layer_probes=True``
    (those that report their layers)."""

    def run(self, ctx: EvaluationContext) -> None:
        from core.evaluation.similarity import layer_similarity

        if not ctx.model.experiment.encoder.entry.info.get("layer_probes"):
            return
        ctx.result.similarity = layer_similarity(ctx.model, ctx.test, seed=ctx.seed)
