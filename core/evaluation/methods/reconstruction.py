"""Reconstruction quality, for objectives with a decoder."""
from __future__ import annotations

import numpy as np

from core.evaluation import metrics as M
from core.evaluation.methods.base import EVALUATIONS, EvaluationContext, EvaluationMethod


@EVALUATIONS.register("reconstruction", label="reconstruction", order=80, direction="lower", learned_only=True,
                      help="reconstruction error, for objectives with a decoder")
class Reconstruction(EvaluationMethod):
    """Mean squared error and PSNR of the decoder's reconstruction of the test split (and the ELBO and active
    units of a VAE); nothing for models without a decoder."""

    def run(self, ctx: EvaluationContext) -> None:
        import torch

        from core.objectives.base import Batch

        model, test, seed = ctx.model, ctx.test, ctx.seed
        if not hasattr(model.model, "reconstruct"):
            return
        model.model.eval()
        x = torch.from_numpy(model.data.X[test]).to(model.device)
        with torch.no_grad():
            x_hat = model.model.reconstruct(x).float()
            mse = ((x_hat - x) ** 2).flatten(1).mean(dim=1).cpu().numpy()
            out = {"reconstruction_mse": M.mean_metric("reconstruction_mse", mse, seed, higher_is_better=False)}
            rng = model.data.value_range
            if rng is not None:
                peak = (rng[1] - rng[0]) ** 2
                psnr = 10 * np.log10(peak / np.maximum(mse, 1e-12))
                out["psnr_db"] = M.mean_metric("psnr_db", psnr, seed)
            result = model.model(Batch(x=x, y=None, index=torch.as_tensor(test)))
            for key in ("elbo", "active_units"):
                if key in result.metrics:
                    out[key] = M.Metric(key, float(result.metrics[key]))
        ctx.result.metrics.update(out)
