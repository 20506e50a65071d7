"""Data-parallel training: 2 processes × batch B equal 1 process × batch 2B (gloo, CPU), and only rank 0 writes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import core


def experiment(objective: str, params: dict, batch: int, root) -> core.Experiment:
    return core.Experiment(
        name=f"ddp-{objective}", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 16}),
        objective=core.ObjectiveConfig(name=objective, params={"projector_hidden": [32], "projector_dim": 16, **params}),
        # SGD: Adam turns float noise in a gradient that is zero in exact arithmetic (a bias before BatchNorm)
        # into full-size steps, so two exact-but-differently-rounded runs drift apart under Adam
        training=core.TrainingConfig(epochs=2, batch_size=batch, lr=0.05, optimizer="sgd", device="cpu",
                                     warmup_epochs=0,
                                     drop_last=True, diagnostics_every=0, probe_every=0, snapshot_every=0,
                                     keep_checkpoints=0, num_threads=1),
        output=core.OutputConfig(root=str(root)))


def step_losses(run_dir) -> list[float]:
    return [r["loss"] for r in core.RunDirectory.open(run_dir).read_metrics() if r["event"] == "step"]


@pytest.mark.parametrize("objective, params", [("simclr", {"temperature": 0.5}), ("vicreg", {})])
def test_two_processes_equal_one_process_with_the_doubled_batch(tmp_path, objective, params):
    single = core.run_to_end(core.train(experiment(objective, params, 128, tmp_path / "one")))
    exp_path = tmp_path / "ddp.toml"
    core.save_experiment(experiment(objective, params, 64, tmp_path / "two"), exp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "core.cli", "train", str(exp_path)], capture_output=True, text=True, timeout=600,
                          env={**env, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    runs = [p for p in (tmp_path / "two").iterdir()]
    assert len(runs) == 1, runs  # rank 0 alone created and wrote a run directory
    run_dir = runs[0]
    assert proc.stdout.count("finished: 2 epoch(s)") == 1  # rank 0 speaks for both
    one, two = step_losses(single.run_dir), step_losses(run_dir)
    assert len(one) == len(two) == 2 * (1258 // 128)  # each record once, not once per process
    np.testing.assert_allclose(two, one, rtol=2e-4, atol=1e-5)
    w1 = core.load_checkpoint(core.RunDirectory.open(single.run_dir).checkpoints).model
    w2 = core.load_checkpoint(core.RunDirectory.open(run_dir).checkpoints).model
    assert set(w1) == set(w2)
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=1e-3, atol=2e-4)
    status = json.loads((run_dir / "run.json").read_text())
    assert status["status"] == "finished" and status["test"]["linear_probe_accuracy"] > 0.5


def test_global_batch_norm_matches_batch_norm_in_one_process():
    from core import distributed

    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(5)
    glob = distributed.convert_batch_norm(torch.nn.Sequential(torch.nn.BatchNorm1d(5)))[0]
    assert isinstance(glob, distributed.GlobalBatchNorm)
    x = torch.randn(32, 5) * 3 + 1
    torch.testing.assert_close(glob(x), bn(x))  # outside a gathering step it is plain BatchNorm
    torch.testing.assert_close(glob.running_var, bn.running_var)
