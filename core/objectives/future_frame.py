"""Learning from time: predict the next frame of a clip, or the next observation and the reward of a step."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from core.errors import ConfigError
from core.models.heads import make_decoder
from core.objectives import functional as Fn
from core.objectives.base import OBJECTIVES, Batch, LossOutput
from core.objectives.reconstruction import ReconstructionObjective, ReconstructionParams
from core.params import param


def context_frames(x: torch.Tensor) -> torch.Tensor:
    """The clip with its last frame (channel) blanked: what the encoder may see of ``x`` (batch, frames, H, W)."""
    context = x.clone()
    context[:, -1] = 0
    return context


class _FramePrediction(ReconstructionObjective):
    """Shared: the encoder reads the earlier frames (the last one blanked), a decoder draws the last frame."""

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if data.kind != "image" or len(data.sample_shape) != 3 or data.sample_shape[0] < 2:
            raise ConfigError("data.name", f"{self.registry_name!r} needs clips: images whose channels are two or "
                              f"more frames, got samples of shape {tuple(data.sample_shape)}",
                              value=tuple(data.sample_shape), allowed="moving_shapes, gridworld")
        if params.loss == "bce" and (data.value_range is None or data.value_range[0] < 0 or data.value_range[1] > 1):
            raise ConfigError("objective.params.loss", "'bce' needs frames in [0, 1], but this data is not known to be",
                              value="bce", allowed="'mse'")
        self.frame_shape = (1, *data.sample_shape[1:])
        self.decoder = make_decoder(encoder, encoder.out_dim, self.frame_shape, params.decoder_hidden)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        # the representation of a clip is of what the model may know: the frames before the one it predicts
        return self.encoder(context_frames(x))

    def frame_loss(self, z: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        target = x[:, -1:]
        return self.reconstruction_loss(self.decoder(z), target)  # summed over the frame's pixels

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """The clip with the model's prediction in place of its last frame (for the reconstruction evaluation)."""
        out = x.clone()
        out[:, -1:] = self.as_sample(self.decoder(self.embed(x)))
        return out


@OBJECTIVES.register("future_frame", data_kinds=("image",), demo_data="moving_shapes")
class FutureFrame(_FramePrediction):
    """Predict the next frame of a clip from the frames before it (Srivastava et al., *Unsupervised Learning of
    Video Representations using LSTMs*, 2015; Mathieu et al., 2016).

    The frames are the image's channels. The encoder reads the clip with its last frame blanked and a decoder
    draws that frame: :math:`\\mathcal L = \\lVert \\hat x_T - x_T\\rVert^2` per clip (or the Bernoulli likelihood).
    To draw where the shape will be, the representation must keep what it is, where it is and how fast it
    moves — the probes of position and velocity (``decode_x``, ``decode_vx`` in the property card) show
    whether it did. Needs clips (moving_shapes).
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        pass

    def forward(self, batch: Batch) -> LossOutput:
        z = self.embed(batch.x)
        loss = self.frame_loss(z, batch.x)
        return LossOutput(loss=loss, terms={"future_frame": loss})


@OBJECTIVES.register("transition_model", data_kinds=("image",), demo_data="gridworld")
class TransitionModel(_FramePrediction):
    """Learn a state representation from transitions: predict the next observation and the step's reward
    from the current observation (world models: Ha & Schmidhuber, 2018; Hafner et al., *PlaNet*, 2019).

    Each sample is (observation now, observation after the policy's step) as channels. The encoder reads the
    current observation; a decoder draws the next one and a linear head predicts the reward:
    :math:`\\mathcal L = \\lVert \\hat o_{t+1} - o_{t+1}\\rVert^2 + \\lambda\\,(\\hat r_t - r_t)^2`. A representation
    that predicts what happens next and what it is worth should hold the agent's state — the probes of row,
    column and value (``decode_row``, ``decode_value``) say whether it does. Needs RL transitions (gridworld).
    """

    @dataclass(frozen=True, kw_only=True)
    class Params(ReconstructionParams):
        reward_weight: float = param(10.0, label="Reward weight λ", min=0.0, max=1e6,
                                     help="Weight of the squared reward error beside the next-observation error.")

    def __init__(self, params, encoder, data, views=None):
        super().__init__(params, encoder, data, views)
        if data.reward is None:
            raise ConfigError("data.name", "'transition_model' learns from rewards, and this data records none",
                              value="no reward", allowed="gridworld")
        self.register_buffer("rewards", torch.as_tensor(data.reward, dtype=torch.float32), persistent=False)
        self.reward_head = nn.Linear(encoder.out_dim, 1)

    def forward(self, batch: Batch) -> LossOutput:
        z = self.embed(batch.x)
        next_obs = self.frame_loss(z, batch.x)
        rewards: torch.Tensor = self.rewards  # type: ignore[assignment]  # a buffer
        reward = rewards[batch.index.to(rewards.device)]
        predicted = self.reward_head(z).squeeze(1)
        reward_loss = Fn.mse_reconstruction(predicted[:, None], reward[:, None])
        loss = next_obs + self.params.reward_weight * reward_loss
        return LossOutput(loss=loss, terms={"next_observation": next_obs,
                                            "reward": self.params.reward_weight * reward_loss},
                          metrics={"reward_mse": reward_loss.detach()})
