"""A linear probe on every layer of the encoder: where in the network the labels become readable."""
from __future__ import annotations

import numpy as np

from core.diagnostics.probes import LinearProbe
from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("layerwise", label="layer-wise probes", order=70, direction="higher", needs_labels=True,
                      learned_only=True, help="a linear probe on every layer of the encoder")
class LayerwiseProbes(EvaluationMethod):
    """Test accuracy of a linear probe on each layer the encoder reports (``Encoder.layer_outputs``), for
    encoders registered with ``layer_probes=True``."""

    def run(self, ctx: EvaluationContext) -> None:
        import torch

        model, splits, test, y = ctx.model, ctx.splits, ctx.test, ctx.y
        if not model.experiment.encoder.entry.info.get("layer_probes"):
            return
        model.model.eval()
        outputs: dict[str, list[np.ndarray]] = {}
        with torch.no_grad():
            for start in range(0, len(model.data.X), 2048):
                x = torch.from_numpy(model.data.X[start:start + 2048]).to(model.device)
                for layer, h in model.model.encoder.layer_outputs(x).items():
                    outputs.setdefault(layer, []).append(h.float().cpu().numpy())
        for layer, parts in outputs.items():
            H = np.concatenate(parts)
            probe = LinearProbe(random_state=ctx.seed).fit(H[splits.train], y[splits.train], H[splits.val], y[splits.val])
            ctx.result.layerwise.append(
                (layer, M.accuracy_metric(f"probe_accuracy[{layer}]", probe.predict(H[test]) == y[test])))
