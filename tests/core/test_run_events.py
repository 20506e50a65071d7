"""One path for training events: what the engine yields comes back from metrics.jsonl as the same events."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import core
from core.training.events import event_from_record, to_record


@pytest.fixture(scope="module")
def vicreg_run(tmp_path_factory):
    """A short VICReg run (loss terms, projection diagnostics, covariance matrices) and its live events."""
    exp = core.Experiment(
        name="events", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="vicreg", params={"projector_hidden": [16], "projector_dim": 8}),
        training=core.TrainingConfig(epochs=2, batch_size=256, device="cpu", snapshot_points=64, eval_points=128,
                                     probe_every=1),
        output=core.OutputConfig(root=str(tmp_path_factory.mktemp("events"))))
    gen = core.train(exp)
    live = []
    while True:
        try:
            live.append(next(gen))
        except StopIteration as stop:
            return live, stop.value.run_dir


def test_replayed_events_equal_the_live_ones(vicreg_run):
    live, run_dir = vicreg_run
    replayed = list(core.RunDirectory.open(run_dir).read_events())
    assert [type(e) for e in replayed] == [type(e) for e in live]
    assert [to_record(e) for e in replayed] == [to_record(e) for e in live]
    epochs = [(a, b) for a, b in zip(live, replayed, strict=True) if isinstance(a, core.EpochEnded)]
    assert epochs and all(b.val_loss == pytest.approx(a.val_loss) for a, b in epochs)
    for a, b in epochs:  # the matrices the record leaves out come back from diagnostics/
        np.testing.assert_array_equal(b.diagnostics.covariance, a.diagnostics.covariance)
        np.testing.assert_array_equal(b.diagnostics.cross_correlation, a.diagnostics.cross_correlation)
        np.testing.assert_array_equal(b.projection_diagnostics.covariance, a.projection_diagnostics.covariance)
        assert b.diagnostics.verdict == a.diagnostics.verdict
        assert b.diagnostics.probe_accuracy == a.diagnostics.probe_accuracy is not None
    snapshot = next(e for e in replayed if isinstance(e, core.SnapshotReady))
    assert snapshot.embeddings is None and snapshot.path.endswith(".npy")


def test_a_torn_last_line_is_left_out_until_it_is_complete(vicreg_run, tmp_path):
    _, run_dir = vicreg_run
    lines = (core.RunDirectory.open(run_dir).metrics_path).read_bytes().splitlines(keepends=True)
    run = core.RunDirectory(tmp_path)
    run.metrics_path.write_bytes(b"".join(lines[:3]) + lines[3][:17])  # killed mid-line
    assert len(list(run.read_events())) == 3
    events, offset = run.read_events_from(0)
    assert len(events) == 3 and offset == len(b"".join(lines[:3]))
    with open(run.metrics_path, "ab") as fh:  # the writer finishes the line and writes one more
        fh.write(lines[3][17:] + lines[4])
    more, offset2 = run.read_events_from(offset)
    assert [to_record(e) for e in more] == [json.loads(lines[3]), json.loads(lines[4])]
    assert offset2 == run.metrics_path.stat().st_size


def test_unknown_kinds_are_skipped_and_broken_records_named(tmp_path):
    run = core.RunDirectory(tmp_path)
    good = {"event": "lr_changed", "run_id": "r", "step": 3, "base_lr": 0.1, "lr": 0.05}
    run.metrics_path.write_text(json.dumps({"event": "from_the_future", "x": 1}) + "\n" + "{not json\n"
                                + json.dumps(good) + "\n")
    (event,) = list(run.read_events())
    assert event == core.LearningRateChanged(run_id="r", step=3, base_lr=0.1, lr=0.05)
    run.metrics_path.write_text(json.dumps({"event": "step", "run_id": "r", "epoch": 1}) + "\n")
    with pytest.raises(core.RunDirectoryError, match=r"metrics.jsonl: a 'step' record has no 'step'"):
        list(run.read_events())


def test_from_record_inverts_to_record_for_every_event_kind(vicreg_run):
    live, _ = vicreg_run
    kinds = {type(e) for e in live}
    assert kinds >= {core.RunStarted, core.StepEnded, core.EpochEnded, core.SnapshotReady, core.CheckpointSaved,
                     core.RunFinished}
    for e in live:
        back = event_from_record(json.loads(json.dumps(to_record(e))))
        assert to_record(back) == to_record(e)
        assert type(e).from_record(to_record(e)).run_id == e.run_id
    finished = next(e for e in live if isinstance(e, core.RunFinished))
    assert dataclasses.replace(finished, test={}) == event_from_record({**to_record(finished), "test": None})


def test_a_diverging_run_gets_its_own_verdict_and_advice(tmp_path):
    """Learning rate 10: the loss ends orders of magnitude above its start, finite, so no NaN check fires."""
    exp = core.Experiment(
        name="diverging", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [32], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=1, batch_size=128, lr=10, device="cpu", diagnostics_every=0,
                                     probe_every=0, snapshot_every=0),
        output=core.OutputConfig(root=str(tmp_path)))
    result = core.run_to_end(core.train(exp))
    assert result.status == "finished" and result.verdict == "diverged"
    assert "learning rate (10) is most likely too high" in result.advice
    finished = [e for e in core.RunDirectory.open(result.run_dir).read_events() if isinstance(e, core.RunFinished)]
    assert finished[-1].verdict == "diverged" and finished[-1].advice == result.advice
    assert core.RunDirectory.open(result.run_dir).read_status()["verdict"] == "diverged"
    healthy = core.run_to_end(core.train(exp.with_training(lr=3e-3)))
    assert healthy.verdict == "" and healthy.advice == ""


def test_diverged_compares_the_end_with_the_start():
    from core.training.outcome import diverged

    assert diverged(2.3, 325.0) and diverged(25.0, 9e8) and diverged(1.0, float("inf"))
    assert diverged(2.3, 2.32, peak_loss=8e8)  # exploded, then died at chance level
    assert not diverged(2.3, 0.4, peak_loss=8e8)  # a spike it recovered from and learned after
    assert not diverged(2.3, 2.2, peak_loss=5.0)
    assert not diverged(2.3, 0.4) and not diverged(0.01, 0.5)  # a rise of under 1 is noise on a small loss
    assert not diverged(None, 3.0) and not diverged(2.0, None)


@pytest.mark.parametrize(("objective", "mechanism"), [
    ("vicreg", "variance regularisation"), ("simclr", "negatives"), ("byol", "EMA target"),
    ("simsiam", "stop-gradient"), ("barlow_twins", "cross-correlation")])
def test_collapse_advice_names_the_objectives_own_mechanism(objective, mechanism):
    from core.training.outcome import collapse_advice

    text = collapse_advice(objective, "dimensional collapse")
    assert mechanism in text
    assert "no variance term" not in text and "no dedicated" not in text
    assert collapse_advice(objective, "healthy") == ""


def test_a_tiny_evaluation_batch_is_too_small_not_collapsed():
    rng = np.random.default_rng(0)
    seven = core.compute_diagnostics(rng.normal(size=(7, 64)))
    assert seven.verdict.status == "too few samples" and not seven.verdict.collapsed
    assert "7 embeddings of 64 dimensions" in seven.verdict.sentence
    enough = core.compute_diagnostics(rng.normal(size=(512, 64)))
    assert enough.verdict.status == "healthy"
    same = core.compute_diagnostics(np.ones((7, 64)) + 1e-6 * rng.normal(size=(7, 64)))
    assert same.verdict.status == "complete collapse"  # a shared direction shows even in a few samples


def test_a_run_whose_loss_exploded_and_died_at_chance_is_diverged(tmp_path):
    """The digits preset at lr 10: cross-entropy 2.3 → ~1e8 within a few steps, then back at 2.3 (chance)."""
    exp = core.load_preset("digits-supervised").with_training(
        lr=10, epochs=2, diagnostics_every=0, probe_every=0, snapshot_every=0, device="cpu").with_output(
        root=str(tmp_path))
    result = core.run_to_end(core.train(exp))
    assert result.verdict == "diverged" and "exploded" in result.advice
    assert result.test["test_accuracy"] < 0.2
