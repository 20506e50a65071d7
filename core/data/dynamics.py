"""Built-in data with time in it: moving shapes (video) and a small grid world (reinforcement learning).

Both store a sample's frames as the channels of an image — ``(frames, H, W)`` — so every image encoder reads
them, and both record the ground truth (position, velocity; state, reward, value) as metadata, so probes can
say what a representation keeps. Generated deterministically from the seed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.base import DATASETS, Dataset, DatasetSource
from core.data.synthetic import SHAPES, draw_shapes
from core.errors import ConfigError
from core.params import BaseParams, param


@DATASETS.register("moving_shapes", kind="image")
class MovingShapes(DatasetSource):
    """Short clips of one of the ``factors`` shapes moving in a straight line at constant velocity: the frames
    are the channels. Position (in the last frame before the final one), velocity, scale and rotation are
    recorded as metadata; the label is the shape. The data for predicting the future frame."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        clips: int = param(2000, label="Clips", min=10, max=1_000_000)
        frames: int = param(4, label="Frames per clip", min=2, max=64)
        size: int = param(24, label="Frame side (pixels)", min=8, max=256)
        max_speed: float = param(0.06, label="Largest speed (image widths per frame)", min=0.0, max=0.5)
        seed: int = param(0, label="Generator seed", min=0)

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        n, T = p.clips, p.frames
        shape = rng.integers(0, len(SHAPES), n)
        scale = rng.uniform(0.5, 0.8, n)
        rotation = rng.uniform(0, 2 * np.pi, n)
        brightness = rng.uniform(0.6, 1.0, n)
        velocity = rng.uniform(-p.max_speed, p.max_speed, (n, 2))
        margin = (0.3 * scale * 0.9)[:, None]
        span = np.abs(velocity) * (T - 1)  # the path must stay inside the frame
        if np.any(1 - 2 * margin - span <= 0):
            raise ConfigError("data.params.max_speed", f"a shape moving {p.max_speed:g} per frame for {T} frames "
                              "leaves the image", value=p.max_speed, allowed="a smaller speed or fewer frames")
        low = margin + np.where(velocity < 0, span, 0.0)
        start = low + rng.random((n, 2)) * (1 - 2 * margin - span)
        X = np.empty((n, T, p.size, p.size), dtype=np.float32)
        for t in range(T):
            pos = start + t * velocity
            X[:, t] = draw_shapes(shape, scale, rotation, pos[:, 0], pos[:, 1], brightness, p.size)[:, 0]
        seen = start + (T - 2) * velocity  # where the shape is in the last frame the model reads
        return Dataset(
            name="moving_shapes", kind="image", X=X, y=shape, label_names=SHAPES,
            metadata={"shape": np.array(SHAPES)[shape], "x": seen[:, 0], "y": seen[:, 1], "vx": velocity[:, 0],
                      "vy": velocity[:, 1], "speed": np.hypot(velocity[:, 0], velocity[:, 1]),
                      "x_start": start[:, 0], "y_start": start[:, 1], "scale": scale,
                      "rotation_degrees": np.degrees(rotation)},
            value_range=(0.0, 1.0), recommended_normalization="none", description=(self.__doc__ or "").split("\n")[0],
            source="built-in (generated)",
        )


# ---- a grid world under a fixed policy --------------------------------------------------------------------

ACTIONS = ("up", "down", "left", "right")
MOVES = {0: (-1, 0), 1: (1, 0), 2: (0, -1), 3: (0, 1)}


def policy(row: int, col: int, goal: tuple[int, int]) -> int:
    """The fixed policy: walk along the row to the goal's column, then along the column to the goal."""
    if col != goal[1]:
        return 3 if col < goal[1] else 2
    return 1 if row < goal[0] else 0


def policy_values(side: int, goal: tuple[int, int], gamma: float, sweeps: int = 500) -> np.ndarray:
    """V(s) under :func:`policy` by iterative policy evaluation, V(s) ← r(s, s') + γ V(s') (V(goal) = 0: the
    episode ends there), until it stops changing."""
    V = np.zeros((side, side))
    for _ in range(sweeps):
        new = np.zeros_like(V)
        for r in range(side):
            for c in range(side):
                if (r, c) == goal:
                    continue
                dr, dc = MOVES[policy(r, c, goal)]
                nr, nc = r + dr, c + dc
                new[r, c] = float((nr, nc) == goal) + gamma * V[nr, nc]
        if np.allclose(new, V, atol=0, rtol=0):
            break
        V = new
    return V


def render_grid(rows: np.ndarray, cols: np.ndarray, side: int, cell: int, goal: tuple[int, int]) -> np.ndarray:
    """Observations (n, side·cell, side·cell): the agent's cell at 1, the goal's at 0.5, the floor at 0."""
    img = np.zeros((len(rows), side * cell, side * cell), dtype=np.float32)
    g0, g1 = goal[0] * cell, goal[1] * cell
    img[:, g0:g0 + cell, g1:g1 + cell] = 0.5
    for i, (r, c) in enumerate(zip(rows, cols, strict=True)):
        img[i, r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = 1.0
    return img


@DATASETS.register("gridworld", kind="image")
class GridWorld(DatasetSource):
    """Transitions in a small grid world: an agent walks to a goal under a fixed policy (along the row, then the
    column). Each sample is two rendered observations — now and after the policy's step — as channels; the
    true state (row, column), the reward of the step (1 on reaching the goal) and the state's value under the
    policy are recorded as metadata. The label is the policy's action."""

    @dataclass(frozen=True, kw_only=True)
    class Params(BaseParams):
        transitions: int = param(2000, label="Transitions", min=10, max=1_000_000)
        side: int = param(6, label="Grid side (cells)", min=3, max=32)
        cell: int = param(4, label="Cell side (pixels)", min=1, max=32)
        gamma: float = param(0.9, label="Discount γ", min=0.0, max=1.0, max_exclusive=True)
        noise: float = param(0.05, label="Pixel noise std", min=0.0, max=1.0)
        seed: int = param(0, label="Generator seed", min=0)

    def load(self) -> Dataset:
        p = self.params
        rng = np.random.default_rng(p.seed)
        goal = (p.side // 2, p.side // 2)
        states = [(r, c) for r in range(p.side) for c in range(p.side) if (r, c) != goal]
        pick = rng.integers(0, len(states), p.transitions)
        rows = np.array([states[i][0] for i in pick])
        cols = np.array([states[i][1] for i in pick])
        action = np.array([policy(r, c, goal) for r, c in zip(rows, cols, strict=True)])
        moves = np.array([MOVES[a] for a in action])
        next_rows, next_cols = rows + moves[:, 0], cols + moves[:, 1]
        reward = ((next_rows == goal[0]) & (next_cols == goal[1])).astype(np.float64)
        V = policy_values(p.side, goal, p.gamma)
        frames = np.stack([render_grid(rows, cols, p.side, p.cell, goal),
                           render_grid(next_rows, next_cols, p.side, p.cell, goal)], axis=1)
        frames += p.noise * rng.standard_normal(frames.shape).astype(np.float32)
        return Dataset(
            name="gridworld", kind="image", X=frames, y=action, label_names=ACTIONS,
            metadata={"row": rows, "col": cols, "reward": reward, "value": V[rows, cols],
                      "next_row": next_rows, "next_col": next_cols, "action": np.array(ACTIONS)[action]},
            recommended_normalization="none", description=(self.__doc__ or "").split("\n")[0],
            source="built-in (generated)",
        )
