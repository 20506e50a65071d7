"""The training engine: events, commands, determinism, exact resume, failures."""
from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

import core
from core.objectives.base import OBJECTIVES, LossOutput
from core.objectives.supervised import Supervised
from core.params import Params, param


def collect(generator, commands=None):
    """Drive a generator, sending ``commands[i]`` after the i-th event; return (events, result)."""
    commands = commands or {}
    events = []
    value = None
    try:
        while True:
            event = generator.send(value)
            events.append(event)
            value = commands.get(len(events) - 1)
    except StopIteration as stop:
        return events, stop.value


def losses(events):
    return [e.loss for e in events if isinstance(e, core.StepEnded)]


def final_weights(run_dir):
    latest = json.loads((run_dir / "checkpoints" / "manifest.json").read_text())["latest"]
    return {k: v for k, v in load_file(run_dir / "checkpoints" / latest).items() if k.startswith("model/")}


def test_events_order_and_run_directory(tiny_experiment):
    events, result = collect(core.train(tiny_experiment))
    assert isinstance(events[0], core.RunStarted)
    assert isinstance(events[-1], core.RunFinished)
    steps = [e for e in events if isinstance(e, core.StepEnded)]
    start = events[0]
    assert len(steps) == start.total_steps == 4 * start.steps_per_epoch
    assert [e.step for e in steps] == list(range(1, len(steps) + 1))
    epochs = [e for e in events if isinstance(e, core.EpochEnded)]
    assert [e.epoch for e in epochs] == [1, 2, 3, 4]
    assert all(e.diagnostics is not None and e.diagnostics.dim == 8 for e in epochs)
    snaps = [e for e in events if isinstance(e, core.SnapshotReady)]
    assert [s.epoch for s in snaps] == [0, 1, 2, 3, 4]  # the initial representation too
    assert snaps[-1].embeddings.shape == (200, 8) and not snaps[-1].embeddings.flags.writeable

    run = core.RunDirectory.open(result.run_dir)
    assert run.read_config() == tiny_experiment
    records = list(run.read_metrics())
    assert len(records) == len(events)  # every event is a line
    assert [r["event"] for r in records][:2] == ["run_started", "snapshot"]
    assert "embeddings" not in records[1]
    status = run.read_status()
    assert status["status"] == "finished" and status["run_id"] == result.run_id
    assert status["test"]["test_accuracy"] == pytest.approx(result.test["test_accuracy"])
    np.testing.assert_array_equal(np.load(snaps[-1].path), snaps[-1].embeddings)
    subset = run.load_array("snapshots/subset.npy")
    assert len(subset) == 200 and np.all(np.diff(subset) > 0)
    labels = run.load_array("snapshots/labels.npy")
    assert labels.shape == (200,)
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    assert all(len(c["sha256"]) == 64 and c["seed"] == 0 for c in manifest["checkpoints"])
    assert manifest["checkpoints"][-1]["versions"]["torch"] == torch.__version__


def test_same_seed_same_losses_and_different_seed_differs(tiny_experiment):
    a = losses(collect(core.train(tiny_experiment))[0])
    b = losses(collect(core.train(tiny_experiment))[0])
    c = losses(collect(core.train(tiny_experiment.with_training(seed=1)))[0])
    assert a == b
    assert a != c


def test_watching_does_not_change_training(tiny_experiment):
    """Snapshots, diagnostics and a requested snapshot run on a forked RNG: the losses stay identical."""
    exp = tiny_experiment
    dropout = dataclasses.replace(exp, encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8, "dropout": 0.3}))
    quiet = dropout.with_training(snapshot_every=0, diagnostics_every=0)
    watched = losses(collect(core.train(dropout), {3: core.RequestSnapshot(), 5: core.RequestSnapshot()})[0])
    assert watched == losses(collect(core.train(quiet))[0])


def _random_views_experiment(tiny_experiment):
    """Every step draws: two augmented views and dropout, from torch's process-wide generators."""
    return dataclasses.replace(
        tiny_experiment, objective=core.ObjectiveConfig(name="vicreg", params={"projector_hidden": [32],
                                                                               "projector_dim": 32}),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8, "dropout": 0.2}),
        views=(core.AugmentationConfig(name="random_resized_crop"), core.AugmentationConfig(name="gaussian_noise")),
    ).with_training(epochs=2, batch_size=256, diagnostics_every=0, probe_every=0, snapshot_every=0)


def test_other_work_in_the_process_does_not_change_a_runs_losses(tiny_experiment):
    """The app reads a run's layer names (a model built with the run's seed) and draws preview views while a run
    trains; that once reseeded torch's shared generator between two steps, and a run's losses depended on it."""
    exp = _random_views_experiment(tiny_experiment)
    plain = losses(collect(core.train(exp))[0])

    def meddle():
        core.initialised(exp)  # what the explorer's layer list does: seeds torch, builds a model
        torch.manual_seed(123)
        torch.rand(1000)
        return None

    events, value, gen = [], None, core.train(exp)
    with contextlib.suppress(StopIteration):
        while True:
            event = gen.send(value)
            events.append(event)
            value = meddle() if isinstance(event, core.StepEnded) and event.step in (1, 3) else None
    assert len(plain) > 4 and losses(events) == plain


def test_a_model_built_in_another_thread_while_a_run_trains_does_not_change_its_losses(tiny_experiment):
    exp = _random_views_experiment(tiny_experiment)
    plain = losses(collect(core.train(exp))[0])
    done, built = threading.Event(), []

    def build_models():
        while not done.is_set():
            built.append(core.initialised(exp).layer_names)

    builder = threading.Thread(target=build_models)
    builder.start()
    try:
        meddled = losses(collect(core.train(exp))[0])
    finally:
        done.set()
        builder.join()
    assert len(built) >= 2 and meddled == plain


@pytest.mark.parametrize("stop_after", ["epoch", "mid_epoch"])
def test_resume_gives_the_same_final_weights(tiny_experiment, stop_after):
    exp = dataclasses.replace(
        tiny_experiment,
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8, "dropout": 0.2, "norm": "batch"}),
    ).with_training(optimizer="adamw", schedule="cosine", warmup_epochs=1)
    _, straight = collect(core.train(exp))

    gen = core.train(exp)
    events = []
    # interrupt: at the end of epoch 2, or with a requested checkpoint in the middle of epoch 3
    for event in gen:
        events.append(event)
        if stop_after == "epoch" and isinstance(event, core.CheckpointSaved) and event.epoch == 2:
            break
        if stop_after == "mid_epoch" and isinstance(event, core.StepEnded) and event.epoch == 3 and event.batch == 3:
            saved = gen.send(core.SaveCheckpoint())
            assert isinstance(saved, core.CheckpointSaved) and saved.reason == "requested"
            break
    gen.close()
    run_dir = events[0].run_dir
    assert core.RunDirectory.open(run_dir).read_status()["status"] == "stopped"

    resumed_events, resumed = collect(core.resume(run_dir))
    assert resumed_events[0].resumed
    assert resumed.status == "finished" and resumed.epochs_completed == 4
    a, b = final_weights(__import__("pathlib").Path(straight.run_dir)), final_weights(__import__("pathlib").Path(run_dir))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0, msg=k)
    # the losses of the resumed steps equal the straight run's
    straight_losses = [e.loss for e in collect(core.train(exp))[0] if isinstance(e, core.StepEnded)]
    resumed_steps = [e for e in resumed_events if isinstance(e, core.StepEnded)]
    assert [e.loss for e in resumed_steps] == straight_losses[resumed_steps[0].step - 1:]


def test_commands_snapshot_checkpoint_lr_and_stop(tiny_experiment):
    gen = core.train(tiny_experiment)
    events = []
    sent = {2: core.RequestSnapshot(), 4: core.SetLearningRate(0.05), 7: core.Stop()}
    value = None
    result = None
    try:
        while True:
            events.append(gen.send(value))
            value = sent.get(len(events) - 1)
    except StopIteration as stop:
        result = stop.value
    kinds = [type(e).__name__ for e in events]
    i = kinds.index("SnapshotReady", 2)
    assert events[i].path.endswith(f"step_{events[i].step:07d}.npy")
    lr_event = next(e for e in events if isinstance(e, core.LearningRateChanged))
    assert lr_event.base_lr == 0.05
    later = [e for e in events if isinstance(e, core.StepEnded) and e.step > lr_event.step]
    assert later and later[0].lr == pytest.approx(lr_event.lr)
    assert result.status == "stopped"
    assert isinstance(events[-2], core.CheckpointSaved) and events[-2].reason == "stop"
    assert result.test == {}
    with pytest.raises(core.ConfigError, match=r"training\.lr"):
        core.SetLearningRate(-1.0)


def test_supervised_preset_learns_digits(tmp_path):
    exp = core.load_preset("digits-supervised").with_output(root=str(tmp_path))
    result = core.run_to_end(core.train(exp))
    assert result.test["test_accuracy"] >= 0.97  # the target for supervised digits
    assert result.test["linear_probe_accuracy"] > 0.95


def test_autoencoder_preset_reconstructs_and_keeps_label_information(tmp_path):
    """BCE cannot reach 0 on grey pixels: measure the loss above the entropy floor, against the mean image's."""
    from sklearn.datasets import load_digits

    X = load_digits().images.reshape(-1, 64) / 16.0

    def bce(p, x):
        p = np.clip(p, 1e-7, 1 - 1e-7)
        return -(x * np.log(p) + (1 - x) * np.log(1 - p)).sum(axis=1).mean()

    floor, mean_image = bce(X, X), bce(X.mean(axis=0)[None], X)
    exp = core.load_preset("digits-autoencoder").with_output(root=str(tmp_path))
    result = core.run_to_end(core.train(exp))
    assert (result.test["test_loss"] - floor) < 0.4 * (mean_image - floor)
    assert result.test["linear_probe_accuracy"] > 0.85


# ---- failures ---------------------------------------------------------------------------------------------


@pytest.fixture
def nan_objective():
    @OBJECTIVES.register("nan_after_test")
    class NanAfter(Supervised):
        """Supervised, until the loss turns NaN at a chosen step (tests only)."""

        @dataclass(frozen=True, kw_only=True)
        class Params(Params):
            label_smoothing: float = param(0.0, label="Label smoothing", min=0.0, max=0.9)
            nan_at: int = param(5, label="NaN at step", min=1)

        calls = 0

        def forward(self, batch):
            out = super().forward(batch)
            if self.training:
                NanAfter.calls += 1
                if NanAfter.calls >= self.params.nan_at:
                    return LossOutput(loss=out.loss * float("nan"), terms={"cross_entropy": out.loss * float("nan")})
            return out

    yield NanAfter
    OBJECTIVES.unregister("nan_after_test")


def test_non_finite_loss_stops_with_epoch_and_step_and_keeps_checkpoint(tiny_experiment, nan_objective):
    exp = dataclasses.replace(tiny_experiment, objective=core.ObjectiveConfig(name="nan_after_test",
                                                                               params={"nan_at": 25}))
    gen = core.train(exp)
    events = []
    with pytest.raises(core.NonFiniteLossError) as info:
        for event in gen:
            events.append(event)
    err = info.value
    steps_per_epoch = events[0].steps_per_epoch
    assert err.step == 25 and err.epoch == (25 - 1) // steps_per_epoch + 1
    assert f"epoch {err.epoch}, step 25" in str(err)
    run = core.RunDirectory.open(events[0].run_dir)
    status = run.read_status()
    assert status["status"] == "failed" and "non-finite" in status["message"]
    # the last good checkpoint is intact and loads
    loaded = core.load_checkpoint(run.checkpoints)
    assert loaded.state.step < 25
    assert all(torch.isfinite(v).all() for v in loaded.model.values())
    assert err.last_checkpoint == str(loaded.path)


def test_batch_larger_than_training_set_is_a_config_error(tiny_experiment):
    with pytest.raises(core.ConfigError) as info:
        core.run_to_end(core.train(tiny_experiment.with_training(batch_size=5000)))
    assert info.value.field == "training.batch_size" and "1258 training samples" in str(info.value)


def test_missing_cuda_is_a_clear_error(tiny_experiment):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(core.DeviceError, match="no CUDA device"):
        core.run_to_end(core.train(tiny_experiment.with_training(device="cuda")))


def test_bce_autoencoder_refuses_standardized_inputs(tiny_experiment):
    exp = dataclasses.replace(
        tiny_experiment, objective=core.ObjectiveConfig(name="autoencoder", params={"loss": "bce"}),
        data=core.DataConfig(name="digits", split={"normalization": "standardize"}))
    with pytest.raises(core.ConfigError) as info:
        core.run_to_end(core.train(exp))
    assert info.value.field == "objective.params.loss"


def test_resume_falls_back_past_a_corrupt_checkpoint(tiny_experiment):
    _, result = collect(core.train(tiny_experiment.with_training(epochs=3)))
    run = core.RunDirectory.open(result.run_dir)
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    newest = run.checkpoints / manifest["latest"]
    data = bytearray(newest.read_bytes())
    data[-10] ^= 0xFF  # flip a byte of the tensor data
    newest.write_bytes(bytes(data))
    loaded = core.load_checkpoint(run.checkpoints)
    assert loaded.path != newest and loaded.state.epoch == 2
    with pytest.raises(core.CheckpointError, match="corrupt"):
        core.load_checkpoint(run.checkpoints, manifest["latest"])
    events, resumed = collect(core.resume(result.run_dir))
    assert events[0].start_epoch == 2 and resumed.status == "finished"


def test_resume_of_a_finished_run_needs_more_epochs(tiny_experiment):
    _, result = collect(core.train(tiny_experiment.with_training(epochs=2)))
    with pytest.raises(core.ConfigError, match="already completed 2 epoch"):
        core.run_to_end(core.resume(result.run_dir))
    _, more = collect(core.resume(result.run_dir, epochs=3))
    assert more.epochs_completed == 3


def test_a_run_stopped_during_its_end_of_run_resumes_into_just_the_end_of_run(tiny_experiment):
    """Issue 17: Stop in reply to the last EpochEnded (all epochs done, no test results) was a dead end."""
    exp = tiny_experiment.with_training(epochs=2)
    gen = core.train(exp)
    events, value = [], None
    try:
        while True:
            event = gen.send(value)
            events.append(event)
            value = core.Stop() if isinstance(event, core.EpochEnded) and event.epoch == 2 else None
    except StopIteration as stop:
        stopped = stop.value
    assert stopped.status == "stopped" and stopped.epochs_completed == 2 and stopped.test == {}
    run = core.RunDirectory.open(stopped.run_dir)
    assert run.read_status()["status"] == "stopped"

    copy = shutil.copytree(stopped.run_dir, Path(stopped.run_dir).parent / "copy")  # for `replearn resume`
    resumed_events, resumed = collect(core.resume(stopped.run_dir))
    assert resumed_events[0].resumed and resumed_events[0].start_epoch == 2
    assert not [e for e in resumed_events if isinstance(e, core.StepEnded)]  # no training, only the end of run
    assert resumed.status == "finished" and resumed.epochs_completed == 2
    assert {"test_loss", "linear_probe_accuracy", "knn_accuracy"} <= resumed.test.keys()
    status = run.read_status()
    assert status["status"] == "finished" and status["test"] == resumed.test
    # the same test figures as a run that was never stopped (same seed, same weights)
    _, straight = collect(core.train(exp))
    assert resumed.test == pytest.approx(straight.test)
    # now it is finished: resuming again needs more epochs, as for any finished run
    with pytest.raises(core.ConfigError, match="already completed 2 epoch"):
        core.run_to_end(core.resume(stopped.run_dir))
    # the CLI takes the same path: exit 0, finished, the same test figures
    from core.cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["resume", str(copy), "--quiet"], out, err) == 0, err.getvalue()
    by_cli = core.RunDirectory.open(copy).read_status()
    assert by_cli["status"] == "finished" and by_cli["test"] == pytest.approx(resumed.test)


def test_checkpoint_that_does_not_fit_the_model_is_refused(tiny_experiment):
    _, result = collect(core.train(tiny_experiment.with_training(epochs=1)))
    run = core.RunDirectory.open(result.run_dir)
    bigger = dataclasses.replace(tiny_experiment, encoder=core.EncoderConfig(name="mlp", params={"hidden": [33], "out_dim": 8}))
    run.write_config(bigger.with_training(epochs=2))
    with pytest.raises(core.CheckpointError, match=r"does not fit this model: .*shape"):
        core.run_to_end(core.resume(result.run_dir))


def test_keep_checkpoints_prunes_files_and_manifest(tiny_experiment):
    _, result = collect(core.train(tiny_experiment.with_training(epochs=4, keep_checkpoints=2)))
    run = core.RunDirectory.open(result.run_dir)
    manifest = json.loads((run.checkpoints / "manifest.json").read_text())
    files = sorted(p.name for p in run.checkpoints.glob("*.safetensors"))
    assert files == sorted(c["file"] for c in manifest["checkpoints"])
    assert len(files) == 2 and manifest["latest"] == files[-1]


def test_gradient_clipping_bounds_each_sgd_update(tiny_experiment):
    """Plain SGD with clipping: one step moves the weights by at most lr * clip."""
    lr, clip = 0.5, 1e-3
    exp = tiny_experiment.with_training(optimizer="sgd", momentum=0.0, weight_decay=0.0, lr=lr, schedule="constant",
                                        grad_clip=clip)
    gen = core.train(exp)
    for event in gen:
        if isinstance(event, core.StepEnded):
            saved = gen.send(core.SaveCheckpoint())
            break
    gen.close()
    after = core.load_checkpoint(__import__("pathlib").Path(saved.path).parent).model
    data = core.prepare(core.load_dataset(exp), val_fraction=0.1, test_fraction=0.2, stratify=True,
                        normalization="auto", seed=0)
    torch.manual_seed(exp.training.seed)
    before = core.build_model(exp, data).state_dict()
    moved = torch.sqrt(sum(((after[k] - before[k]) ** 2).sum() for k in before))
    assert 0 < moved <= lr * clip * (1 + 1e-4)


def test_live_diagnostics_have_views_probes_and_saved_matrices(tmp_path):
    exp = core.load_preset("digits-vicreg").with_training(epochs=2, warmup_epochs=0, probe_every=2, device="cpu")
    exp = exp.with_output(root=str(tmp_path))
    events = list(core.train(exp))
    start = events[0]
    assert 0.9 < start.baseline_probe_accuracy <= 1.0  # raw pixels, for the probe curve's reference line
    epochs = [e for e in events if isinstance(e, core.EpochEnded)]
    first, last = epochs[0].diagnostics, epochs[-1].diagnostics
    assert first.probe_accuracy is None and 0.5 < last.probe_accuracy <= 1.0 and last.knn_accuracy is not None
    assert last.alignment is not None and last.uniformity < 0
    assert epochs[-1].projection_diagnostics.cross_correlation.shape == (256, 256)
    run = core.RunDirectory.open(start.run_dir)
    with np.load(run.diagnostics / "epoch_002.npz") as saved:
        np.testing.assert_allclose(saved["representation_covariance"], last.covariance)
        assert saved["projection_cross_correlation"].shape == (256, 256)
    record = [r for r in run.read_metrics() if r["event"] == "epoch"][-1]["diagnostics"]
    assert record["verdict"]["status"] == "healthy" and "covariance" not in record


def test_several_commands_sent_at_once_are_all_carried_out(tiny_experiment):
    gen = core.train(tiny_experiment)
    events = []
    for event in gen:
        events.append(event)
        if isinstance(event, core.StepEnded) and event.step == 2:
            events.append(gen.send((core.RequestSnapshot(), core.SaveCheckpoint(), core.Stop())))
            break
    events += list(gen)
    kinds = [type(e).__name__ for e in events]
    i = kinds.index("StepEnded", kinds.index("StepEnded") + 1)
    assert kinds[i + 1:i + 3] == ["SnapshotReady", "CheckpointSaved"]
    assert events[-1].status == "stopped"


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_trains_and_keeps_fp32_weights(tiny_experiment, precision):
    result = core.run_to_end(core.train(tiny_experiment.with_training(precision=precision, epochs=3)))
    losses = [r["train_loss"] for r in core.RunDirectory.open(result.run_dir).read_metrics() if r["event"] == "epoch"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    weights = core.load_checkpoint(core.RunDirectory.open(result.run_dir).checkpoints).model
    assert all(v.dtype == torch.float32 for k, v in weights.items() if v.is_floating_point())
    full = core.run_to_end(core.train(tiny_experiment.with_training(epochs=3)))
    assert abs(result.test["test_accuracy"] - full.test["test_accuracy"]) < 0.08  # learns what fp32 learns


def test_compile_option_compiles_the_training_step(tiny_experiment, monkeypatch):
    modes = []

    def fake_compile(module, mode=None):
        modes.append(mode)
        return module

    monkeypatch.setattr(torch, "compile", fake_compile)
    core.run_to_end(core.train(tiny_experiment.with_training(compile="reduce-overhead", epochs=1)))
    assert modes == ["reduce-overhead"]
    with pytest.raises(core.ConfigError, match=r"compile: .fastest. is not a valid choice"):
        tiny_experiment.with_training(compile="fastest")


def test_streaming_a_memory_mapped_file_trains_like_loading_it(tmp_path):
    rng = np.random.default_rng(0)
    X = (rng.normal(size=(3000, 12)) * np.arange(1, 13) + 5).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 10).astype(np.int64)
    np.save(tmp_path / "x.npy", X)
    np.save(tmp_path / "y.npy", y)

    def run(loading: str, workers: int = 2):
        exp = core.Experiment(
            name=f"stream-{loading}", data=core.DataConfig(name="npy", params={"path": str(tmp_path / "x.npy"),
                                                                                 "labels_path": str(tmp_path / "y.npy")}),
            encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 4}),
            training=core.TrainingConfig(epochs=2, batch_size=100, device="cpu", data_loading=loading,
                                         loader_workers=workers, snapshot_points=50),
            output=core.OutputConfig(root=str(tmp_path / "runs")))
        result = core.run_to_end(core.train(exp))
        return result, [r["loss"] for r in core.RunDirectory.open(result.run_dir).read_metrics() if r["event"] == "step"]

    prepared = core.prepare_data(core.Experiment(
        name="p", data=core.DataConfig(name="npy", params={"path": str(tmp_path / "x.npy")}),
        training=core.TrainingConfig(data_loading="stream")))
    from core.data.splits import NormalizedRows

    assert isinstance(prepared.X, NormalizedRows) and isinstance(prepared.dataset.X, np.memmap)
    rows = np.array([2999, 5, 17, 5])
    expected = (X[rows] - prepared.normalizer.shift) / prepared.normalizer.scale
    np.testing.assert_allclose(prepared.X[rows], expected, rtol=1e-5, atol=1e-5)  # any order, repeats too
    np.testing.assert_allclose(prepared.normalizer.shift, X[prepared.splits.train].mean(0), rtol=1e-5)
    memory, memory_losses = run("memory")
    streamed, streamed_losses = run("stream")
    _unthreaded, unthreaded_losses = run("stream", workers=0)
    np.testing.assert_allclose(streamed_losses, memory_losses, rtol=1e-4, atol=1e-6)
    assert streamed_losses == unthreaded_losses  # the loader threads change nothing but the timing
    assert streamed.test["test_accuracy"] == pytest.approx(memory.test["test_accuracy"], abs=0.02)


def test_keep_best_marks_the_best_checkpoint_and_early_stopping_ends_the_run(tmp_path):
    from core.training import checkpoint as ckpt

    # a learning rate so high that the validation loss gets worse after the first epochs: the best is early
    exp = core.load_preset("digits-supervised").with_training(
        epochs=12, device="cpu", warmup_epochs=0, lr=0.5, optimizer="sgd", momentum=0.0, keep_best="val_loss",
        early_stopping=2, keep_checkpoints=2, snapshot_every=0, diagnostics_every=0, probe_every=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))
    run = core.RunDirectory.open(result.run_dir)
    best = ckpt.best_checkpoint(run.checkpoints)
    losses = {r["epoch"]: r["val_loss"] for r in run.read_metrics() if r.get("event") == "epoch"}
    assert best is not None and best["metric"] == "val_loss"
    assert best["value"] == pytest.approx(min(losses.values())) and losses[best["epoch"]] == best["value"]
    assert result.status == "finished" and result.epochs_completed == best["epoch"] + 2 < 12  # patience 2
    assert "early stopping" in run.read_status()["message"]
    assert (run.checkpoints / best["file"]).is_file()  # rotation (keep 2) never deletes the best
    # the end-of-run figures are the best checkpoint's, and evaluation uses it by default and says so
    model = core.load_trained(result.run_dir)
    assert model.checkpoint.file == best["file"] and "best by val_loss" in str(model.checkpoint)
    from core.evaluation.suite import evaluate

    ev = core.run_to_end(evaluate(model, ("linear_probe",), ()))
    assert ev.learned.value("probe_accuracy") == pytest.approx(result.test["linear_probe_accuracy"], abs=1e-12)


def test_keep_best_names_what_the_run_records():
    with pytest.raises(core.ConfigError, match="early_stopping"):
        core.TrainingConfig(early_stopping=3)
    with pytest.raises(core.ConfigError, match="keep_best"):
        core.TrainingConfig(keep_best="accuracy please")


def test_the_online_probe_can_drive_keep_best_for_self_supervised_runs(tmp_path):
    from core.training import checkpoint as ckpt

    exp = core.load_preset("digits-simclr").with_training(epochs=3, device="cpu", warmup_epochs=0, probe_every=0,
                                                          keep_best="probe_accuracy", snapshot_every=0)
    result = core.run_to_end(core.train(exp.with_output(root=str(tmp_path))))
    run = core.RunDirectory.open(result.run_dir)
    probes = {r["epoch"]: r["diagnostics"]["probe_accuracy"] for r in run.read_metrics() if r.get("event") == "epoch"}
    assert set(probes) == {1, 2, 3} and all(v is not None for v in probes.values())  # measured every epoch
    best = ckpt.best_checkpoint(run.checkpoints)
    assert best["metric"] == "probe_accuracy" and best["value"] == pytest.approx(max(probes.values()))
