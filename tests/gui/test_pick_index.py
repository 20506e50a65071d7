"""Picking in large layouts: the k-d tree is built in a worker, the GUI thread never waits for it, and hover and
click answer correctly before the tree is ready (by a scan) and after (by the tree), driven by real mouse events."""
from __future__ import annotations

import threading

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtTest import QTest

import core
from replearn_gui.explorer import pick_index


def synthetic_space(n: int, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, n)
    Z = (rng.normal(size=(5, d))[y] * 3 + rng.normal(size=(n, d))).astype(np.float32)
    dataset = core.Dataset(name="picks", kind="tabular", X=Z.copy(), y=y, label_names=tuple("abcde"))
    return core.EmbeddingSpace("picks", dataset, np.arange(n), Z)


def screen_xy(view):
    """Every point's position on the viewport, in (fractional) widget pixels."""
    xy = view.cloud.positions
    return np.array([[p.x(), p.y()] for p in (view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(*v)))
                                                for v in xy.tolist())])


def nearest_on_screen(view, at):
    d = np.linalg.norm(screen_xy(view) - np.array([at.x(), at.y()]), axis=1)
    return int(np.argmin(d))


@pytest.fixture
def large_view(qtbot, monkeypatch):
    """An explorer view whose layout counts as large (the tree threshold lowered to keep the test small), with
    the tree's build held at a gate until the test opens it."""
    from replearn_gui.explorer.view import ExplorerView

    monkeypatch.setattr(pick_index, "TREE_FROM", 500)
    gate, started = threading.Event(), threading.Event()
    real_build = pick_index.build_tree

    def gated_build(points):
        started.set()
        assert gate.wait(20), "the test never opened the gate"
        return real_build(points)

    monkeypatch.setattr(pick_index, "build_tree", gated_build)
    view = ExplorerView()
    qtbot.addWidget(view)
    view.resize(1100, 750)
    view.show()
    space = synthetic_space(3000)
    view.set_space(space)
    layout = core.run_to_end(core.project(space.embeddings, "pca")).coords
    view.set_layout(layout)
    qtbot.waitExposed(view)
    yield view, gate, started
    gate.set()
    qtbot.waitUntil(lambda: not view.busy, timeout=20000)


def hover(qtbot, view, at):
    """Move the mouse to ``at``; wait until the card shows the point nearest to it on screen."""
    expected = nearest_on_screen(view, at)
    qtbot.wait(11)  # pyqtgraph drops moves closer than 10 ms
    QTest.mouseMove(view.plot.viewport(), at)
    qtbot.waitUntil(lambda: view.card.isVisible() and view.card.position == expected, timeout=5000)


def click_and_check_neighbours(qtbot, view, at, expected):
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert view.query == expected
    k = view.neighbours_panel.k.value()
    metric = view.neighbours_panel.metric.currentText()
    truth = core.ExactIndex(view.space.embeddings, metric).query(view.space.embeddings[expected:expected + 1], k,
                                                                 exclude_self=np.array([expected]))
    assert view.neighbours_panel.positions == truth.indices[0].tolist()


def test_hover_and_click_are_right_while_the_tree_builds_and_after(large_view, qtbot):
    view, gate, started = large_view
    screen = screen_xy(view)
    targets = [5, 1234, 2999]
    at = [view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(*view.cloud.positions[q]))) for q in targets]

    # right after the large layout arrived: the first hover asks for the tree and is answered by the scan
    hover(qtbot, view, at[0])
    qtbot.waitUntil(started.is_set, timeout=10000)  # (superqt starts its workers from the event loop)
    assert view.cloud.pick_index.building and not view.cloud.pick_index.has_tree
    # the GUI thread is not waiting on the build: its timers keep firing while the tree is being made
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(5)
    qtbot.waitUntil(lambda: len(ticks) >= 10, timeout=5000)
    timer.stop()
    assert not view.cloud.pick_index.has_tree
    hover(qtbot, view, at[1])
    click_and_check_neighbours(qtbot, view, at[1], nearest_on_screen(view, at[1]))

    # the tree arrives: the same answers, now from it
    with qtbot.waitSignal(view.cloud.pick_index.ready, timeout=20000):
        gate.set()
    assert view.cloud.pick_index.has_tree
    hover(qtbot, view, at[2])
    click_and_check_neighbours(qtbot, view, at[2], nearest_on_screen(view, at[2]))
    assert len(screen) == 3000


def test_a_new_layout_while_the_tree_builds_drops_the_stale_tree(large_view, qtbot):
    view, gate, started = large_view
    hover(qtbot, view, view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(*view.cloud.positions[9]))))
    qtbot.waitUntil(started.is_set, timeout=10000)
    moved = view.coords[:, ::-1].copy()  # a new layout of the same points while the old tree is being built
    view.set_layout(moved, "forming")
    gate.set()
    qtbot.waitUntil(lambda: not view.cloud.pick_index.building, timeout=20000)
    assert not view.cloud.pick_index.has_tree  # the finished tree indexed the old positions: dropped
    target = view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(*view.cloud.positions[77])))
    hover(qtbot, view, target)
    qtbot.waitUntil(lambda: view.cloud.pick_index.has_tree, timeout=20000)  # that hover asked for a new tree
    hover(qtbot, view, view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(*view.cloud.positions[1500]))))


@pytest.mark.parametrize("aspect", [1.0, 3.7])
def test_the_scan_and_the_tree_pick_the_same_point(aspect):
    """Random cursor positions over a layout with hidden points and unequal axes: the scan's answer equals the
    tree's and the exhaustive on-screen nearest point within the radius."""
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(20000, 2)) * [50.0, 3.0] + [1e4, -7.0]  # far from the origin: float32 rounding bites
    visible = rng.random(len(xy)) > 0.2
    sx = 0.05
    sy = sx * aspect
    x32, y32 = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    extent = float(np.abs(xy).max())
    positions = np.flatnonzero(visible)
    tree = pick_index.build_tree(xy[positions] * [1.0, 1.0 / aspect])
    found = 0
    for x, y in xy[rng.choice(len(xy), 300)] + rng.normal(scale=0.2, size=(300, 2)):
        scanned = pick_index.scan_pick(xy, x32, y32, visible, x, y, sx, sy, 6.0, extent)
        d, k = tree.query([x, y / aspect], k=1, distance_upper_bound=6.0 * sx)
        by_tree = None if not np.isfinite(d) else int(positions[k])
        px = np.hypot((xy[positions, 0] - x) / sx, (xy[positions, 1] - y) / sy)
        truth = int(positions[np.argmin(px)]) if px.min() < 6.0 else None
        assert scanned == by_tree == truth
        found += truth is not None
    assert 50 < found < 300  # both hits and misses were tried
