"""training.log_to = ["tensorboard"]: the scalars of metrics.jsonl, read back with TensorBoard's own reader."""
import pytest

import core
from core.training.trackers import scalars


def test_tensorboard_gets_the_same_scalars_as_metrics_jsonl(tiny_experiment):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    exp = tiny_experiment.with_training(epochs=2, log_to=("tensorboard",))
    result = core.run_to_end(core.train(exp))
    run = core.RunDirectory.open(result.run_dir)
    expected: dict[str, list[tuple[int, float]]] = {}
    for record in run.read_metrics():
        for tag, value in scalars(record):
            expected.setdefault(tag, []).append((int(record.get("step") or 0), value))
    assert {"step/loss", "step/lr", "epoch/train_loss", "epoch/val_loss", "test/test_loss"} <= set(expected)
    events = EventAccumulator(str(run.tensorboard), size_guidance={"scalars": 0})
    events.Reload()
    assert set(events.Tags()["scalars"]) == set(expected)
    for tag, points in expected.items():
        got = [(e.step, e.value) for e in events.Scalars(tag)]
        assert [s for s, _ in got] == [s for s, _ in points]
        assert [v for _, v in got] == pytest.approx([v for _, v in points], rel=1e-6)  # stored as float32


def test_an_unknown_tracker_is_refused_by_name(tiny_experiment):
    with pytest.raises(core.ConfigError, match=r"training\.log_to: unknown tracker 'wandb' \(allowed: tensorboard\)"):
        tiny_experiment.with_training(log_to=("wandb",))
