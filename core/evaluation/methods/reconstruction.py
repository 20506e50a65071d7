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
        from core.evaluation.properties import row_batches

        model.model.eval()
        mse_parts: list[np.ndarray] = []
        sums: dict[str, float] = {}
        n, reports_units = 0, False
        with torch.no_grad():
            for start, xb in row_batches(model.data.X, test):  # a batch at a time: the split is never loaded
                x = torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32)).to(model.device)
                x_hat = model.model.reconstruct(x).float()
                mse_parts.append(((x_hat - x) ** 2).flatten(1).mean(dim=1).cpu().numpy())
                index = torch.as_tensor(test[start:start + len(xb)])
                result = model.model(Batch(x=x, y=None, index=index))
                if "elbo" in result.metrics:  # a mean over the batch: weighted by its size
                    sums["elbo"] = sums.get("elbo", 0.0) + float(result.metrics["elbo"]) * len(xb)
                reports_units = "active_units" in result.metrics
                n += len(xb)
        mse = np.concatenate(mse_parts) if mse_parts else np.zeros(0)
        out = {"reconstruction_mse": M.mean_metric("reconstruction_mse", mse, seed, higher_is_better=False)}
        rng = model.data.value_range
        if rng is not None:
            peak = (rng[1] - rng[0]) ** 2
            psnr = 10 * np.log10(peak / np.maximum(mse, 1e-12))
            out["psnr_db"] = M.mean_metric("psnr_db", psnr, seed)
        if "elbo" in sums and n:
            out["elbo"] = M.Metric("elbo", sums["elbo"] / n)
        if reports_units and len(test) > 1:
            from core.objectives.vae import active_units

            # a variance over the whole split (Burda et al. 2016), not a batch mean: computed on the split's
            # representations, which the suite already holds (the VAE's representation is μ(x))
            mu = torch.from_numpy(np.ascontiguousarray(ctx.Z[test], dtype=np.float32))
            out["active_units"] = M.Metric("active_units", float(active_units(mu)))
        ctx.result.metrics.update(out)
