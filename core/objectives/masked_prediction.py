"""Masked prediction: hide part of each sample and predict only the hidden part from what is visible."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.data.base import MASK_ID, PAD_ID
from core.errors import ConfigError
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import REAL_KINDS, ReconstructionObjective, ReconstructionParams
from core.params import param


def unit_mask(x: torch.Tensor, kind: str, ratio: float, patch: int) -> torch.Tensor:
    """A 0/1 mask of ``x``'s shape that hides whole units: image patches, time steps, or single features.

    Each unit is hidden with probability ``ratio``; at least one unit per sample is hidden.
    """
    n = x.shape[0]
    if kind == "image":
        img = x if x.dim() == 4 else x.unsqueeze(1)
        h, w = img.shape[-2:]
        gh, gw = -(-h // patch), -(-w // patch)
        units = torch.rand(n, gh * gw, device=x.device) < ratio
        units[torch.arange(n), torch.randint(0, gh * gw, (n,), device=x.device)] = True
        grid = units.view(n, 1, gh, gw).float()
        mask = grid.repeat_interleave(patch, dim=2).repeat_interleave(patch, dim=3)[..., :h, :w]
        return mask.expand_as(img).reshape(x.shape)
    if kind in ("sequence", "audio") and x.dim() >= 2:
        t = x.shape[-1]
        units = torch.rand(n, t, device=x.device) < ratio
        units[torch.arange(n), torch.randint(0, t, (n,), device=x.device)] = True
        shape = (n,) + (1,) * (x.dim() - 2) + (t,)
        return units.view(shape).float().expand_as(x)
    flat = x.reshape(n, -1)
    units = torch.rand_like(flat) < ratio
    units[torch.arange(n), torch.randint(0, flat.shape[1], (n,), device=x.device)] = True
    return units.float().view_as(x)


@OBJECTIVES.register("masked_prediction", data_kinds=REAL_KINDS + ("tokens",))
class MaskedPrediction(ReconstructionObjective):
    """Predict a hidden set M of positions from the visible context — image patches, time steps, features or
    tokens (Pathak et al., *Context Encoders*, 2016; Devlin et al., *BERT*, 2019; He et al., *MAE*, 2022).

    Real-valued data: the masked values are set to 0, the encoder reads the rest, and a decoder that is told
    which positions were hidden predicts the sample; only the hidden part is scored,
    :math:`\\mathcal L = \\frac1N\\sum_i \\frac{\\lVert M_i\\odot(\\hat x_i - x_i)\\rVert^2}{|M_i|}\\cdot d`, i.e. the
    mean squared error per hidden value, scaled to the sample's size. Tokens: hidden tokens become the MASK id
    and a linear layer on the encoder's per-position states predicts them (cross-entropy over hidden positions
    only; needs the transformer). The pressure: learn how the parts of a sample depend on each other.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        mask_ratio: float = param(0.5, label="Share hidden", min=0.0, max=1.0, min_exclusive=True, max_exclusive=True)
        patch_size: int = param(2, label="Image patch size (pixels)", min=1, max=256,
                                help="Images are hidden in square patches of this side.")

    @classmethod
    def supports_encoder(cls, encoder_cls: type, kind: str) -> bool:
        # a hidden token can only be predicted from per-position states that read the other tokens
        return kind != "tokens" or getattr(encoder_cls, "contextual", False)

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if data.kind == "tokens":
            if not self.supports_encoder(type(encoder), "tokens"):
                raise ConfigError("encoder.name", "masked token prediction needs an encoder that reads context "
                                  "(per-position states)", value=encoder.registry_name, allowed="transformer")
            self.token_head = nn.Linear(encoder.sequence_width, data.vocab_size)
        else:
            self.build_decoder(encoder.out_dim, extra_inputs=data.n_features)  # the decoder also sees the mask

    def forward(self, batch: Batch) -> LossOutput:
        if self.data.kind == "tokens":
            return self._tokens(batch)
        x = batch.x
        mask = unit_mask(x, self.data.kind, self.params.mask_ratio, self.params.patch_size)
        visible = x * (1 - mask)
        z = self.encoder(visible)
        out = self.decoder(torch.cat([z, mask.flatten(1)], dim=1))
        hidden = mask.flatten(1).sum(dim=1).clamp_min(1.0)
        per_value = self.reconstruction_loss(out, x, mask) * x.shape[0] / hidden.sum()  # mean over hidden values
        loss = per_value * self.data.n_features
        return LossOutput(loss=loss, terms={"masked_reconstruction": loss},
                          metrics={"masked_share": mask.mean()})

    def _tokens(self, batch: Batch) -> LossOutput:
        x = batch.x.reshape(batch.x.shape[0], -1)
        real = x != PAD_ID
        hide = (torch.rand_like(x) < self.params.mask_ratio) & real
        first_real = real.float().argmax(dim=1)
        hide[torch.arange(len(x)), first_real] |= ~hide.any(dim=1)  # hide at least one token per sentence
        masked = torch.where(hide, torch.full_like(x, MASK_ID), x)
        logits = self.token_head(self.encoder.sequence_outputs(masked))
        targets = x.round().long()
        loss = Fn.cross_entropy(logits[hide], targets[hide])
        acc = Fn.accuracy(logits[hide], targets[hide])
        return LossOutput(loss=loss, terms={"masked_tokens": loss}, metrics={"masked_token_accuracy": acc})

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """With nothing hidden, the decoder's redrawing of the whole sample."""
        zeros = torch.zeros(x.shape[0], self.data.n_features, device=x.device)
        return self.as_sample(self.decoder(torch.cat([self.encoder(x), zeros], dim=1)))
