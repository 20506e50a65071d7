"""Collapse really happens where nothing prevents it, and not where the objective prevents it."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import core


def final_epoch(preset: str, tmp_path, epochs: int, **objective_params) -> core.EpochEnded:
    exp = core.load_preset(preset).with_training(epochs=epochs, warmup_epochs=0, device="cpu", checkpoint_every=0,
                                                 snapshot_every=0, batch_size=128)
    exp = dataclasses.replace(exp, encoder=core.EncoderConfig(name="mlp", params={"hidden": [128], "out_dim": 32}),
                              output=core.OutputConfig(root=str(tmp_path)))
    if objective_params:
        params = {**exp.objective.params.to_dict(), **objective_params}
        exp = dataclasses.replace(exp, objective=core.ObjectiveConfig(name=exp.objective.name, params=params))
    events = [e for e in core.train(exp) if isinstance(e, core.EpochEnded)]
    return events[-1]


def spread(d: core.Diagnostics) -> float:
    """Mean per-dimension std of the L2-normalised embeddings, relative to the healthy 1/sqrt(d)."""
    return d.mean_normalized_std * np.sqrt(d.dim)


def test_naive_siamese_collapses_the_representation(tmp_path):
    e = final_epoch("collapse-siamese-naive", tmp_path, epochs=15)
    assert spread(e.diagnostics) < 0.15
    assert e.train_loss < 1e-3


def test_simsiam_without_stop_gradient_collapses_its_projections(tmp_path):
    e = final_epoch("collapse-simsiam-no-stop-gradient", tmp_path, epochs=15)
    assert spread(e.projection_diagnostics) < 0.15
    assert e.train_loss < -0.99  # the trivial solution: every projection identical, cosine 1


@pytest.mark.parametrize("preset, params", [
    ("digits-simsiam", {}),
    ("digits-simsiam", {"output_batch_norm": False}),  # the same configuration as the collapse demo, with stop-gradient
    ("digits-byol", {}), ("digits-vicreg", {}), ("digits-barlow-twins", {}), ("digits-simclr", {}),
])
def test_objectives_that_prevent_collapse_stay_spread_out(tmp_path, preset, params):
    e = final_epoch(preset, tmp_path, epochs=10, **params)
    assert spread(e.diagnostics) > 0.4
    assert spread(e.projection_diagnostics) > 0.4
    assert e.diagnostics.effective_rank > 8
