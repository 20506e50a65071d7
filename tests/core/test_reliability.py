"""Faults survived and foreign files refused: a process killed while writing a checkpoint, a full or read-only
disk, resuming from every checkpoint, lying files, and weights files that try to run code."""
from __future__ import annotations

import errno
import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

import core
from core.training import checkpoint as ck

KILLER = textwrap.dedent("""
    import os, signal, sys
    import core
    from core.training import checkpoint as ck

    target, when = sys.argv[2], int(sys.argv[3])
    calls = {"n": 0}
    original = getattr(ck, target)

    def dying(path, data):
        calls["n"] += 1
        if calls["n"] == when:
            if target == "atomic_write_bytes":  # die halfway through the checkpoint's bytes
                with open(str(path) + ".partial", "wb") as fh:
                    fh.write(data[: len(data) // 2])
                    fh.flush()
                    os.fsync(fh.fileno())
            os.kill(os.getpid(), signal.SIGKILL)  # after the file, before the manifest names it
        return original(path, data)

    setattr(ck, target, dying)
    core.run_to_end(core.train(core.load_experiment(sys.argv[1])))
""")


def final_weights(run_dir: str) -> dict[str, torch.Tensor]:
    return core.load_checkpoint(core.RunDirectory.open(run_dir).checkpoints).model


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run the interrupted ones must reproduce after resuming."""
    root = tmp_path_factory.mktemp("reference")
    exp = core.Experiment(
        name="kill", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 4}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=4, batch_size=256, device="cpu", snapshot_every=0, diagnostics_every=0,
                                     probe_every=0, keep_checkpoints=0, warmup_epochs=0),
        output=core.OutputConfig(root=str(root / "runs")))
    path = root / "kill.toml"
    core.save_experiment(exp, path)
    return path, core.run_to_end(core.train(exp)).run_dir


@pytest.mark.parametrize("target", ["atomic_write_bytes", "atomic_write_json"])
def test_a_process_killed_while_checkpointing_resumes_from_the_previous_checkpoint(reference, tmp_path, target):
    exp_path, reference_run = reference
    exp = core.load_experiment(exp_path)
    core.save_experiment(exp.with_output(root=str(tmp_path)), tmp_path / "exp.toml")
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "exp.toml"), target, "3"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr  # SIGKILL: no handler ran, nothing was tidied up
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    run = core.RunDirectory.open(run_dir)
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    assert [c["epoch"] for c in manifest["checkpoints"]] == [1, 2]  # the third never made it into the manifest
    assert core.load_checkpoint(run.checkpoints).state.epoch == 2
    result = core.run_to_end(core.resume(run_dir))
    assert result.status == "finished" and result.epochs_completed == 4
    for k, v in final_weights(reference_run).items():  # as if nothing had happened
        torch.testing.assert_close(final_weights(str(run_dir))[k], v)


def test_a_torn_checkpoint_is_caught_by_its_hash_and_skipped(reference, tmp_path):
    _, reference_run = reference
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(reference_run, copy)
    checkpoints = core.RunDirectory.open(copy).checkpoints
    newest = sorted(checkpoints.glob("step_*.safetensors"))[-1]
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # a filesystem that tore the write
    loaded = core.load_checkpoint(checkpoints)
    assert loaded.state.epoch == 3 and loaded.path != newest
    with pytest.raises(core.CheckpointError, match="corrupt"):
        core.load_checkpoint(checkpoints, newest.name)


def test_resume_from_every_checkpoint_reaches_the_same_end(reference):
    _, reference_run = reference
    run = core.RunDirectory.open(reference_run)
    names = [e["file"] for e in json.loads((run.checkpoints / "manifest.json").read_text())["checkpoints"]]
    assert len(names) == 4
    expected = final_weights(reference_run)
    for name in names[:-1]:
        import shutil
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            copy = shutil.copytree(reference_run, os.path.join(tmp, "run"))
            result = core.run_to_end(core.resume(copy, checkpoint=name))
            assert result.epochs_completed == 4
            for k, v in expected.items():
                torch.testing.assert_close(final_weights(copy)[k], v)


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk is full"), (errno.EROFS, "not writable"),
                                         (errno.EACCES, "not writable")])
def test_disk_full_or_read_only_stops_training_with_a_clear_message(tiny_experiment, monkeypatch, code, words):
    writes = {"n": 0}
    original = core.RunDirectory.append_metric

    def failing(self, record):
        writes["n"] += 1
        if writes["n"] > 12:
            raise core.training.rundir.explain_os_error(OSError(code, os.strerror(code)), self.metrics_path)
        return original(self, record)

    monkeypatch.setattr(core.RunDirectory, "append_metric", failing)
    gen = core.train(tiny_experiment)
    with pytest.raises(core.RunDirectoryError, match=words) as err:
        core.run_to_end(gen)
    assert "metrics.jsonl" in str(err.value)
    (run_dir,) = list(Path(tiny_experiment.output.root).iterdir())
    status = core.RunDirectory.open(run_dir).read_status()
    assert status["status"] == "failed" and words in status["message"]


def test_a_safetensors_file_whose_header_lies_is_refused(tmp_path, reference):
    _, reference_run = reference
    good = sorted(core.RunDirectory.open(reference_run).checkpoints.glob("step_*.safetensors"))[0]
    data = bytearray(good.read_bytes())
    data[:8] = (len(data) * 4).to_bytes(8, "little")  # a header longer than the file
    bad = tmp_path / "lying.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(core.CheckpointError, match="not a readable safetensors file"):
        ck.read_weights(bad)
    # even with a manifest that vouches for it (its hash matches), the header is checked
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "step_0000001.safetensors").write_bytes(bytes(data))
    entry = {"file": "step_0000001.safetensors", "sha256": core.fileio.sha256_file(checkpoints / "step_0000001.safetensors"),
             "step": 1, "epoch": 1}
    (checkpoints / "manifest.json").write_text(json.dumps({"checkpoints": [entry], "latest": entry["file"]}))
    with pytest.raises(core.CheckpointError, match="cannot be read"):
        core.load_checkpoint(checkpoints)


class Payload:
    """Unpickling this would create a folder: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.mark.parametrize("force_unsafe_env", [False, True])
def test_a_malicious_pt_file_runs_nothing(tmp_path, monkeypatch, force_unsafe_env):
    marker = tmp_path / "pwned"
    path = tmp_path / "weights.pt"
    with open(path, "wb") as fh:
        torch.save({"layer.weight": torch.zeros(2), "evil": Payload(str(marker))}, fh, pickle_protocol=2)
    if force_unsafe_env:  # torch honours this only where weights_only was not passed: we always pass it
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(core.CheckpointError, match=r"was refused: besides tensors it holds Python objects "
                                                   r"\(it asks for posix.mkdir\)") as refused:
        ck.read_weights(path)
    assert "weights_only" not in str(refused.value)  # torch's advice to unpickle everything is not passed on
    assert not marker.exists()
    raw = tmp_path / "raw.pkl.pt"
    raw.write_bytes(pickle.dumps(Payload(str(marker)), protocol=2))  # a bare pickle, not even a torch file
    with pytest.raises(core.CheckpointError):
        ck.read_weights(raw)
    assert not marker.exists()


def test_pretrained_weights_from_a_pt_file_start_the_encoder(tiny_experiment, tmp_path):
    source = core.initialised(tiny_experiment.with_training(seed=123))
    weights = {k: v.clone() for k, v in source.model.encoder.state_dict().items()}
    torch.save({"state_dict": weights}, tmp_path / "encoder.pth")
    exp = tiny_experiment.with_training(init_weights=str(tmp_path / "encoder.pth"), epochs=1)
    gen = core.train(exp)
    first_snapshot = next(e for e in gen if isinstance(e, core.SnapshotReady))
    gen.close()
    assert first_snapshot.epoch == 0 and first_snapshot.step == 0
    # the first snapshot is the encoder before any step: the pretrained one, not a fresh init
    Z0 = first_snapshot.embeddings
    subset = np.load(Path(first_snapshot.path).parent / "subset.npy")
    expected = source.embed(subset)
    np.testing.assert_allclose(Z0, expected, rtol=1e-5, atol=1e-6)
    wrong = {"0.weight": torch.zeros(3, 3)}
    torch.save(wrong, tmp_path / "wrong.pt")
    with pytest.raises(core.CheckpointError, match="does not fit this model"):
        core.run_to_end(core.train(tiny_experiment.with_training(init_weights=str(tmp_path / "wrong.pt"))))


def test_neighbours_and_perplexity_beyond_the_data_are_handled(tmp_path):
    X = np.random.default_rng(0).normal(size=(12, 4)).astype(np.float32)
    found = core.knn(X, 50)
    assert found.indices.shape == (12, 11)  # k is capped at n - 1: every other point, nearest first
    with pytest.raises(core.ConfigError, match=r"perplexity.*too large for 12 points"):
        core.run_to_end(core.project(X, "tsne", {"perplexity": 30.0}))


@pytest.mark.parametrize("after", ["RunStarted", "SnapshotReady", "StepEnded", "EpochEnded", "CheckpointSaved"])
def test_stop_at_every_phase_leaves_a_resumable_run(tiny_experiment, after):
    gen = core.train(tiny_experiment.with_training(epochs=2))
    event = next(gen)
    while type(event).__name__ != after:
        event = gen.send(None)
    try:
        while True:
            event = gen.send(core.Stop())
    except StopIteration as stop:
        result = stop.value
    assert result.status == "stopped"
    status = core.RunDirectory.open(result.run_dir).read_status()
    assert status["status"] == "stopped" and status["last_checkpoint"]
    resumed = core.run_to_end(core.resume(result.run_dir))
    assert resumed.status == "finished" and resumed.epochs_completed == 2
