"""Stored evaluations are reused only where still valid: same checkpoint, same configuration, the evaluations
and baselines asked for; the rest is computed and says so."""
from __future__ import annotations

import json

import pytest

import core
from core.evaluation.stored import merge_records, stamped

FAST = ("linear_probe", "knn")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    exp = core.Experiment(
        name="stored", data=core.DataConfig(name="digits"),
        encoder=core.EncoderConfig(name="mlp", params={"hidden": [16], "out_dim": 8}),
        objective=core.ObjectiveConfig(name="supervised"),
        training=core.TrainingConfig(epochs=2, batch_size=256, device="cpu", snapshot_points=50, eval_points=64),
        output=core.OutputConfig(root=str(tmp_path_factory.mktemp("stored"))))
    return core.run_to_end(core.train(exp)).run_dir


def checkpoints(run_dir):
    manifest = json.loads((core.RunDirectory.open(run_dir).checkpoints / "manifest.json").read_text())
    return [e["file"] for e in manifest["checkpoints"]]


def test_reuse_what_is_stored_and_compute_only_what_is_missing(run_dir, monkeypatch):
    record, check = core.run_to_end(core.evaluate_run(run_dir, FAST, ["raw"], reuse=False))
    assert check.missing == FAST and record["stamp"]["checkpoint"]["file"] == checkpoints(run_dir)[-1]
    stored = core.load_evaluation(core.RunDirectory.open(run_dir).reports)
    assert stored == json.loads(json.dumps(record))  # what the Evaluation tab stores
    # the same request again: nothing is computed (the suite is never entered)
    import core.evaluation.suite as suite

    calls = []
    real = suite.evaluate

    def counting(model, evaluations, *a, **k):
        calls.append(tuple(evaluations))
        return (yield from real(model, evaluations, *a, **k))

    monkeypatch.setattr(suite, "evaluate", counting)
    again, check = core.run_to_end(core.evaluate_run(run_dir, FAST, ["raw"]))
    assert calls == [] and check.reused == FAST and not check.missing
    assert again["results"] == stored["results"] and "nothing was recomputed" in check.summary()
    # one more evaluation: only that one is computed, the stored numbers stay
    more, check = core.run_to_end(core.evaluate_run(run_dir, FAST + ("clustering",), ["raw"]))
    assert calls == [("clustering",)] and check.reused == FAST and check.missing == ("clustering",)
    assert "computed clustering" in check.summary()
    learned = more["results"]["learned"]["metrics"]
    assert learned["probe_accuracy"] == stored["results"]["learned"]["metrics"]["probe_accuracy"]
    assert "ari" in learned and "ari" not in stored["results"]["learned"]["metrics"]
    # the property card sums up the probe and invariance of its own pass: they are computed with it
    _, check = core.run_to_end(core.evaluate_run(run_dir, FAST + ("properties",), ["raw"]))
    assert set(check.missing) == {"linear_probe", "properties"} and check.reused == ("knn",)
    # a baseline that was not asked for then means evaluating again
    _, check = core.run_to_end(core.evaluate_run(run_dir, FAST, ["raw", "random_init"]))
    assert check.missing == FAST and "random_init" in check.reason


def test_stale_checkpoint_or_configuration_is_recomputed(run_dir):
    first, last = checkpoints(run_dir)[0], checkpoints(run_dir)[-1]
    assert first != last
    reports = core.RunDirectory.open(run_dir).reports
    old, _ = core.run_to_end(core.evaluate_run(run_dir, FAST, ["raw"], checkpoint=first, reuse=False))
    assert old["stamp"]["checkpoint"]["file"] == first
    core.save_evaluation(old, reports)  # e.g. evaluated while the run was at its first epoch
    stamp = core.evaluation_stamp(run_dir, baselines=["raw"])
    check = core.check_stored(old, stamp, FAST, ["raw"])
    assert check.stale and first in check.reason and last in check.reason
    assert "newest checkpoint is " + last in core.stored_staleness(run_dir, old)
    record, check = core.run_to_end(core.evaluate_run(run_dir, FAST, ["raw"]))
    assert check.missing == FAST and record["stamp"]["checkpoint"]["file"] == last
    assert core.stored_staleness(run_dir, record) == ""
    other = dict(old["stamp"], checkpoint=stamp["checkpoint"], config="0" * 16)
    assert "another configuration" in core.check_stored(stamped(old, other), stamp, FAST, ["raw"]).reason
    unstamped = {k: v for k, v in old.items() if k != "stamp"}
    assert core.check_stored(unstamped, stamp, FAST, ["raw"]).stale


def test_a_record_round_trips_through_the_evaluation_it_came_from(run_dir):
    model = core.load_trained(run_dir)
    ev = core.run_to_end(core.evaluate(model, ("linear_probe", "calibration", "layerwise"), ["raw"]))
    back = core.evaluation_from_record(json.loads(json.dumps(core.fileio.json_ready(ev.to_record()))))
    assert json.loads(json.dumps(core.fileio.json_ready(back.to_record()))) == json.loads(
        json.dumps(core.fileio.json_ready(ev.to_record())))
    assert back.learned.metrics["probe_accuracy"].low == ev.learned.metrics["probe_accuracy"].low
    assert merge_records(ev.to_record(), None)["results"].keys() == ev.to_record()["results"].keys()


def test_report_says_what_it_reused(run_dir):
    core.run_to_end(core.evaluate_run(run_dir, FAST, core.BASELINES, reuse=False))
    data = core.run_to_end(core.build_report(run_dir, evaluations=FAST + ("retrieval",), sections=("evaluation",)))
    assert data.reuse.reused == FAST and data.reuse.missing == ("retrieval",)
    stored = core.load_evaluation(core.RunDirectory.open(run_dir).reports)
    assert set(data.evaluation.learned.metrics) > {"probe_accuracy", "knn_accuracy"}  # retrieval's added
    assert data.evaluation.learned.metrics["probe_accuracy"].value == (
        stored["results"]["learned"]["metrics"]["probe_accuracy"]["value"])
    assert stored["evaluations"] == list(FAST + ("retrieval",))  # the report stored what it computed
