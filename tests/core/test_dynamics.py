"""Moving shapes and the grid world: deterministic, and their metadata agree with what the generator drew."""
from __future__ import annotations

import numpy as np
import pytest

import core
from core.data.dynamics import ACTIONS, MOVES, policy, policy_values


def load(name, **params):
    return core.DATASETS.get(name).cls(core.DATASETS.get(name).make_params(params)).load()


def _centre(frames):
    """Intensity-weighted centre (x, y) in [0, 1] image units of (n, H, W) frames."""
    h, w = frames.shape[-2:]
    ys, xs = (np.arange(h) + 0.5) / h, (np.arange(w) + 0.5) / w
    mass = frames.sum(axis=(1, 2))
    return np.stack([(frames.sum(axis=1) * xs).sum(1) / mass, (frames.sum(axis=2) * ys).sum(1) / mass], axis=1)


def test_moving_shapes_are_deterministic_under_a_seed():
    a, b = load("moving_shapes", clips=50, seed=3), load("moving_shapes", clips=50, seed=3)
    np.testing.assert_array_equal(a.X, b.X)
    assert not np.array_equal(a.X, load("moving_shapes", clips=50, seed=4).X)


def test_a_shapes_position_advances_by_its_velocity():
    ds = load("moving_shapes", clips=200, frames=5, size=32)
    assert ds.X.shape == (200, 5, 32, 32)
    v = np.stack([ds.metadata["vx"], ds.metadata["vy"]], axis=1)
    start = np.stack([ds.metadata["x_start"], ds.metadata["y_start"]], axis=1)
    for t in range(5):
        # the drawn shape sits where start + t · velocity says (to a fraction of a pixel)
        np.testing.assert_allclose(_centre(ds.X[:, t]), start + t * v, atol=0.5 / 32)
    steps = np.diff(np.stack([_centre(ds.X[:, t]) for t in range(5)]), axis=0)
    np.testing.assert_allclose(steps, np.broadcast_to(v, steps.shape), atol=0.3 / 32)
    # the recorded position is the one in the last frame the model reads (frame T - 2)
    np.testing.assert_allclose(np.stack([ds.metadata["x"], ds.metadata["y"]], axis=1), start + 3 * v)
    assert ds.X.min() >= 0 and ds.X.max() <= 1


def test_a_speed_that_leaves_the_image_is_refused():
    with pytest.raises(core.ConfigError, match="leaves the image"):
        load("moving_shapes", clips=10, frames=64, max_speed=0.5)


def _rollout_return(row, col, goal, gamma):
    """The discounted return of one episode from (row, col), walked step by step."""
    total, discount = 0.0, 1.0
    while (row, col) != goal:
        dr, dc = MOVES[policy(row, col, goal)]
        row, col = row + dr, col + dc
        total += discount * float((row, col) == goal)
        discount *= gamma
    return total


def test_gridworld_value_equals_the_discounted_return():
    ds = load("gridworld", transitions=300, side=6, gamma=0.8)
    goal = (3, 3)
    m = ds.metadata
    returns = [_rollout_return(r, c, goal, 0.8) for r, c in zip(m["row"], m["col"], strict=True)]
    np.testing.assert_allclose(m["value"], returns, rtol=1e-12)
    # with one reward at the goal, V(s) = γ^(steps to the goal − 1)
    steps = np.abs(m["row"] - 3) + np.abs(m["col"] - 3)
    np.testing.assert_allclose(m["value"], 0.8 ** (steps - 1))


def test_gridworld_transitions_follow_the_policy_and_render_the_state():
    ds = load("gridworld", transitions=200, side=5, cell=3, noise=0.0, seed=1)
    m = ds.metadata
    goal = (2, 2)
    for i in range(len(ds.X)):
        dr, dc = MOVES[int(ds.y[i])]
        assert (m["next_row"][i], m["next_col"][i]) == (m["row"][i] + dr, m["col"][i] + dc)
        assert ACTIONS[int(ds.y[i])] == m["action"][i]
        assert m["reward"][i] == float((m["next_row"][i], m["next_col"][i]) == goal)
        now = ds.X[i, 0]
        r, c = m["row"][i], m["col"][i]
        assert np.all(now[r * 3:(r + 1) * 3, c * 3:(c + 1) * 3] == 1.0) and now.sum() == 9 + 0.5 * 9
    assert m["reward"].sum() > 0
    again = load("gridworld", transitions=200, side=5, cell=3, seed=1, noise=0.0)
    np.testing.assert_array_equal(again.X, ds.X)


def test_policy_evaluation_of_a_corridor():
    V = policy_values(3, (1, 1), 0.5)
    assert V[1, 0] == 1.0 and V[0, 0] == 0.5 and V[1, 1] == 0.0


def _train(preset, tmp_path, data_params, epochs):
    """The preset, smaller: fewer samples, a narrower CNN (same pooling), a few epochs."""
    exp = core.load_preset(preset)
    small = {"channels": [8, 16], "out_dim": 16, "pooling": exp.encoder.params.pooling}
    exp = exp.__class__(**{**exp.__dict__, "data": core.DataConfig(name=exp.data.name, params=data_params),
                           "encoder": core.EncoderConfig(name="cnn2d", params=small),
                           "output": core.OutputConfig(root=str(tmp_path))})
    exp = exp.with_training(epochs=epochs, batch_size=32, lr=3e-3, device="cpu", snapshot_every=0,
                            checkpoint_every=epochs, warmup_epochs=0)
    gen = core.train(exp)
    events = []
    try:
        while True:
            events.append(next(gen))
    except StopIteration as stop:
        return stop.value, [e for e in events if isinstance(e, core.EpochEnded)]


def test_future_frame_preset_learns_and_its_representation_keeps_velocity(tmp_path):
    result, epochs = _train("moving-shapes-future-frame", tmp_path, {"clips": 500, "size": 16, "max_speed": 0.1}, epochs=6)
    assert epochs[-1].train_loss < 0.7 * epochs[0].train_loss
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(core.evaluate(model, ("properties",), baselines=("random_init",)))
    learned, random = ev.learned.factors, ev.results["random_init"].factors
    assert learned["decode_vx"] > 0.3 and learned["decode_x"] > 0.5
    assert learned["decode_vx"] > random["decode_vx"]


def test_transition_model_preset_learns_reward_and_keeps_state_and_value(tmp_path):
    result, epochs = _train("gridworld-transition-model", tmp_path, {"transitions": 400, "side": 5, "cell": 3},
                             epochs=6)
    assert epochs[-1].train_loss < 0.7 * epochs[0].train_loss
    assert epochs[-1].train_terms["reward"] < epochs[0].train_terms["reward"]
    model = core.load_trained(result.run_dir)
    ev = core.run_to_end(core.evaluate(model, ("properties",), baselines=()))
    f = ev.learned.factors
    assert f["decode_row"] > 0.5 and f["decode_col"] > 0.5 and f["decode_value"] > 0.3
