"""Shared fixtures. Qt is never imported here: tests/core must pass without Qt installed."""
from __future__ import annotations

import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# the shared settings (runs folder) of the test session, never the user's own
os.environ["REPLEARN_CONFIG_DIR"] = tempfile.mkdtemp(prefix="replearn-settings-")
os.environ["REPLEARN_RUNS"] = tempfile.mkdtemp(prefix="replearn-runs-")  # runs with the default output root


@pytest.fixture
def tiny_experiment(tmp_path):
    """A seconds-long digits experiment writing under tmp_path."""
    import core

    return core.Experiment(
        name="tiny",
        data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=4, batch_size=128, lr=3e-3, device="cpu", snapshot_points=200,
                                     eval_points=128),
        output=core.OutputConfig(root=str(tmp_path / "runs")),
    )


@pytest.fixture(scope="session")
def explored_run(tmp_path_factory):
    """One finished digits run with epoch snapshots, shared by the explorer's core and GUI tests (they may add
    caches to it, embeddings and projections, but never change what training wrote)."""
    import core

    exp = core.Experiment(
        name="explore", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=3, batch_size=128, device="cpu", snapshot_points=150, eval_points=128),
        output=core.OutputConfig(root=str(tmp_path_factory.mktemp("explore"))))
    return core.run_to_end(core.train(exp)).run_dir
