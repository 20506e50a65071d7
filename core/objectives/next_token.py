"""Next-token prediction: read a sentence left to right and predict each next word (a causal language model)."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.data.base import PAD_ID
from core.errors import ConfigError
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput, Objective
from core.params import BaseParams, param


def next_token_targets(ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For ids (batch, length): the targets ``ids[:, 1:]`` of the predictions made at positions ``0..L-2`` and
    the mask of the pairs where both the reading position and the target are real tokens."""
    targets = ids[:, 1:]
    valid = (ids[:, :-1] != PAD_ID) & (targets != PAD_ID) & (targets >= 0)
    return targets, valid


@OBJECTIVES.register("next_token", data_kinds=("tokens",))
class NextToken(Objective):
    """Predict every next token from the tokens before it (Bengio et al., 2003; Radford et al., *GPT*, 2018).

    The transformer is made causal — position t attends only to positions ≤ t — and a linear layer on each
    position's state predicts the token at t + 1: :math:`\\mathcal L = -\\frac1{|P|}\\sum_{(i,t)\\in P}\\log
    p(x_{i,t+1}\\mid x_{i,\\le t})` over the pairs P of real tokens. The representation of a sentence is the state
    at its last real token (projected to the representation dimension): under the causal mask it is the only
    position that has read the whole sentence. Masked prediction sees both sides of a gap; next-token prediction
    only the past, so it must learn what tends to follow what.
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        label_smoothing: float = param(0.0, label="Label smoothing", min=0.0, max=1.0, max_exclusive=True)

    @classmethod
    def supports_encoder(cls, encoder_cls: type, kind: str) -> bool:
        # the next token is predicted from per-position states that read the earlier tokens
        return getattr(encoder_cls, "contextual", False) and hasattr(encoder_cls, "causal")

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if not self.supports_encoder(type(encoder), data.kind):
            raise ConfigError("encoder.name", "next-token prediction needs an encoder that reads earlier tokens "
                              "(per-position states under a causal mask)", value=encoder.registry_name,
                              allowed="transformer")
        encoder.causal = True
        self.token_head = nn.Linear(encoder.sequence_width, data.vocab_size)

    def forward(self, batch: Batch) -> LossOutput:
        ids = batch.x.reshape(batch.x.shape[0], -1).round().long()
        targets, valid = next_token_targets(ids)
        logits = self.token_head(self.encoder.sequence_outputs(batch.x))[:, :-1]
        if not valid.any():
            raise ConfigError("data", "next-token prediction needs sequences of at least two tokens")
        loss = Fn.cross_entropy(logits[valid], targets[valid], self.params.label_smoothing)
        return LossOutput(loss=loss, terms={"next_token": loss},
                          metrics={"next_token_accuracy": Fn.accuracy(logits[valid], targets[valid]),
                                   "perplexity": torch.exp(loss.detach())})
