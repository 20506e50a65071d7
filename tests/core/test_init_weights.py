"""Weights in: a run directory, one of its checkpoints, or a foreign state dict with a prefix or other key names."""
import io
from pathlib import Path

import numpy as np
import pytest
import torch

import core
from core.cli import main
from core.training.checkpoint import fit_keys


def first_snapshot(exp):
    gen = core.train(exp)
    snap = next(e for e in gen if isinstance(e, core.SnapshotReady))
    gen.close()
    return snap.embeddings, np.load(Path(snap.path).parent / "subset.npy")


@pytest.fixture(scope="module")
def source_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("init")
    exp = core.Experiment(
        name="source", encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        training=core.TrainingConfig(epochs=1, batch_size=128, device="cpu", snapshot_points=100, eval_points=64,
                                     probe_every=0, diagnostics_every=0),
        output=core.OutputConfig(root=str(root / "runs")))
    return exp, core.run_to_end(core.train(exp)).run_dir


@pytest.mark.parametrize("which", ["run directory", "checkpoint file"])
def test_a_run_or_its_checkpoint_starts_the_encoder(source_run, tmp_path, which):
    exp, run_dir = source_run
    source = run_dir if which == "run directory" else str(sorted(Path(run_dir, "checkpoints").glob("*.safetensors"))[-1])
    target = exp.with_training(init_weights=source, seed=7).with_output(root=str(tmp_path))
    Z0, subset = first_snapshot(target)
    np.testing.assert_allclose(Z0, core.load_trained(run_dir).embed(subset), rtol=1e-5, atol=1e-6)


def test_a_prefix_is_stripped_and_keys_are_renamed(source_run, tmp_path):
    exp, run_dir = source_run
    own = core.load_trained(run_dir).model.encoder.state_dict()
    torch.save({"state_dict": {f"module.{k}": v for k, v in own.items()}}, tmp_path / "ddp.pth")
    Z0, subset = first_snapshot(exp.with_training(init_weights=str(tmp_path / "ddp.pth")).with_output(root=str(tmp_path)))
    np.testing.assert_allclose(Z0, core.load_trained(run_dir).embed(subset), rtol=1e-5, atol=1e-6)
    # a backbone among other parts: the prefix is named, the other parts are ignored; 'fc.' is renamed 'head.'
    renamed = {("backbone." + k).replace("backbone.head.", "backbone.fc."): v for k, v in own.items()}
    renamed["classifier.weight"] = torch.zeros(3, 8)
    weights, found = fit_keys(renamed, own, strip="backbone.", key_map=("backbone.fc.=backbone.head.",))
    assert found is None and set(weights) == set(own)
    assert fit_keys({f"module.{k}": v for k, v in own.items()}, own)[1] == "module."


def test_a_mismatch_is_one_sentence_and_leaves_no_run(source_run, tmp_path):
    exp, run_dir = source_run
    own = core.load_trained(run_dir).model.encoder.state_dict()
    weights = {k.replace("head.", "fc."): v for k, v in own.items()}
    torch.save(weights, tmp_path / "other.pt")
    target = exp.with_training(init_weights=str(tmp_path / "other.pt")).with_output(root=str(tmp_path / "runs"))
    core.save_experiment(target, tmp_path / "exp.toml")
    out, err = io.StringIO(), io.StringIO()
    assert main(["train", str(tmp_path / "exp.toml")], out=out, err=err) == 2
    message = err.getvalue().strip()
    assert message == ("replearn: error: training.init_weights: other.pt does not fit this model: 2 missing key(s) "
                       "(head.bias, head.weight), 2 unexpected key(s) (fc.bias, fc.weight); set "
                       "training.init_strip_prefix (e.g. 'module.') or training.init_key_map (e.g. 'fc.=head.') to "
                       "rename the keys")
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    fixed = target.with_training(init_key_map=("fc.=head.",))
    first_snapshot(fixed)  # the rename makes it fit
    with pytest.raises(core.ConfigError, match=r"init_key_map: rule 1 \('fc.'\) is not 'old=new'"):
        target.with_training(init_key_map=("fc.",))
