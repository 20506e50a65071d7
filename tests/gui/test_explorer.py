"""The embedding explorer driven as a user would: projections, hover, click, lasso, search, epochs, linked views,
exports. Assertions compare with core's own answers."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QToolButton

import core


@pytest.fixture
def tab(qtbot, explored_run):
    from replearn_gui.explorer.tab import EmbeddingsTab

    t = EmbeddingsTab()
    qtbot.addWidget(t)
    t.resize(1300, 800)
    t.show()
    t.set_run(explored_run)
    qtbot.waitUntil(lambda: t.primary.coords is not None and not t.busy, timeout=60000)
    yield t
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=30000)


def move(qtbot, viewport, at):
    """A mouse move, paced as a hand moves: pyqtgraph's scene drops moves that come within 1/100 s of the last one
    (its mouseRateLimit), so back-to-back QTest moves would be lost."""
    qtbot.wait(11)
    QTest.mouseMove(viewport, at)


def widget_pos(view, position):
    x, y = view.cloud.positions[position]
    return view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(x, y)))


def test_trained_space_is_drawn_with_core_pca_and_every_point(tab, explored_run):
    view = tab.primary
    space = core.run_space(explored_run)
    assert view.space.n == space.n == 1797
    expected = core.run_to_end(core.project(space.embeddings, "pca"))
    np.testing.assert_allclose(view.coords, expected.coords, rtol=1e-4, atol=1e-4)
    assert view.cloud.last_drawn == 1797 or view.cloud.last_drawn == 0  # every point, or not painted yet
    view.plot.grab()  # paint: no point is silently dropped
    assert view.cloud.last_drawn == 1797
    legend = [view.legend.list.item(r).text() for r in range(view.legend.list.count())]
    assert legend[0] == f"0 ({int(np.sum(space.labels == 0))})" and len(legend) == 10


def test_clicking_a_point_lists_exactly_cores_nearest_neighbours(tab, qtbot):
    view = tab.primary
    view.neighbours_panel.k.setValue(7)
    q = 42
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos(view, q))
    picked = view.query
    assert picked is not None
    np.testing.assert_allclose(view.cloud.positions[picked], view.cloud.positions[q], atol=1e-3 * np.ptp(view.coords))
    truth = core.ExactIndex(view.space.embeddings, "cosine").query(view.space.embeddings[picked:picked + 1], 7,
                                                                    exclude_self=np.array([picked]))
    assert view.neighbours_panel.positions == truth.indices[0].tolist()
    np.testing.assert_allclose(view.neighbours_panel.distances, truth.distances[0], rtol=1e-5, atol=1e-6)
    agree = core.label_agreement(view.space, picked, truth.indices[0])
    assert f"{agree:.0%} share its label" in view.neighbours_panel.summary.text()
    view.neighbours_panel.metric.setCurrentText("euclidean")
    truth = core.ExactIndex(view.space.embeddings, "euclidean").query(view.space.embeddings[picked:picked + 1], 7,
                                                                       exclude_self=np.array([picked]))
    assert view.neighbours_panel.positions == truth.indices[0].tolist()
    view.neighbours_panel.in_layout.setChecked(True)
    layout_truth = np.argsort(np.linalg.norm(view.cloud.positions - view.cloud.positions[picked], axis=1))[1:8]
    assert set(view.neighbours_panel.positions) == set(layout_truth.tolist())
    assert "2-D picture" in view.neighbours_panel.summary.text()


def test_hover_shows_the_sample_in_a_plain_text_card(tab, qtbot):
    view = tab.primary
    q = 100
    move(qtbot, view.plot.viewport(), widget_pos(view, q))
    qtbot.waitUntil(lambda: view.card.isVisible(), timeout=5000)
    row = int(view.space.indices[view.card.position])
    assert np.allclose(view.cloud.positions[view.card.position], view.cloud.positions[q])
    assert view.card.text.text().startswith(f"#{row} · {view.space.dataset.label_names[view.space.dataset.y[row]]}")
    assert view.card.text.textFormat() == Qt.TextFormat.PlainText and not view.card.picture.pixmap().isNull()
    hx, hy = view.hover_mark.getData()
    assert np.allclose([hx[0], hy[0]], view.cloud.positions[q])
    corner = QPoint(3, 3)  # the view's corner: auto-range leaves a margin, no point is drawn there
    p = view.vb.mapSceneToView(view.plot.mapToScene(corner))
    assert view.pick_at(p.x(), p.y()) is None
    move(qtbot, view.plot.viewport(), corner)
    qtbot.waitUntil(lambda: not view.card.isVisible(), timeout=5000)
    assert len(view.hover_mark.getData()[0]) == 0


def drag(qtbot, viewport, points):
    """A left-button drag through screen points, as the mouse does it."""
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[0])
    for p in points[1:]:
        move(qtbot, viewport, p)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, points[-1])


def screen_of(view, x, y):
    return view.plot.mapFromScene(view.vb.mapViewToScene(QPointF(float(x), float(y))))


def test_lasso_selects_the_points_inside_and_exports_them(tab, tmp_path, qtbot):
    view = tab.primary
    lo, hi = view.coords.min(axis=0), view.coords.max(axis=0)
    mid = (lo + hi) / 2
    corners = [lo, (mid[0], lo[1]), mid, (lo[0], mid[1])]
    view.findChild(QToolButton, "tool_lasso").click()
    path = []  # the lasso drawn along the quarter's edges, ten mouse moves per edge
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True):
        path += [screen_of(view, x0 + t * (x1 - x0), y0 + t * (y1 - y0)) for t in np.linspace(0, 1, 10)]
    drag(qtbot, view.plot.viewport(), path)
    # the polygon the mouse drew, in data coordinates: what was selected is exactly what lies inside it
    polygon = np.array([[q.x(), q.y()] for q in (view.vb.mapSceneToView(view.plot.mapToScene(p)) for p in path)])
    from matplotlib.path import Path as MplPath

    inside = np.flatnonzero(MplPath(polygon).contains_points(view.coords[:, :2]))
    assert sorted(view.selected.tolist()) == inside.tolist() and len(inside) > 0
    assert view.selection_panel.text.text().startswith(f"{len(inside)} selected")
    out = tmp_path / "sel.csv"
    view.export("selection", str(out))
    qtbot.waitUntil(lambda: out.exists() and "Exported" in view.status.text(), timeout=10000)
    rows = list(csv.DictReader(out.open()))
    assert sorted(int(r["index"]) for r in rows) == sorted(view.space.indices[inside].tolist())
    assert {r["label"] for r in rows} <= set(view.space.dataset.label_names)
    view.show_selection_in_grid()
    assert view.neighbours_panel.grid.count() == min(len(inside), 100)


def test_search_highlights_index_and_label_matches(tab, qtbot):
    view = tab.primary
    qtbot.keyClicks(view.search_box, "#5")
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    assert view.matches.tolist() == [5]
    view.search_box.clear()
    assert view.matches is None
    view.regex.click()
    qtbot.keyClicks(view.search_box, "^7$")
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    assert view.matches.tolist() == np.flatnonzero(view.space.labels == 7).tolist()
    assert view.cloud.emphasis is not None and view.cloud.emphasis.sum() == np.sum(view.space.labels == 7)
    view.search_box.clear()
    qtbot.keyClicks(view.search_box, "^7$")
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    qtbot.keyClicks(view.search_box, "(")  # "^7$(": not a regular expression
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    assert "not a valid regular expression" in view.status.text()
    assert view.matches is None and view.cloud.emphasis is None  # the old highlights are gone
    assert len(view.search_marks.getData()[0]) == 0


def test_legend_hides_and_isolates_classes(tab):
    view = tab.primary
    item = view.legend.list.item(3)
    view.legend.list.scrollToItem(item)
    rect = view.legend.list.visualItemRect(item)
    QTest.mouseClick(view.legend.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())  # the class's row becomes current; the space bar unticks it
    QTest.keyClick(view.legend.list, Qt.Key.Key_Space)
    assert item.checkState() == Qt.CheckState.Unchecked
    visible = view.cloud.visible_positions()
    assert not np.any(view.space.labels[visible] == 3) and len(visible) == np.sum(view.space.labels != 3)
    item = view.legend.list.item(5)
    view.legend.list.scrollToItem(item)
    at = view.legend.list.visualItemRect(item).center()
    # a double click is press, release, then the double-click press: QTest.mouseDClick sends only the last
    QTest.mouseClick(view.legend.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    QTest.mouseDClick(view.legend.list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert set(view.space.labels[view.cloud.visible_positions()].tolist()) == {5}
    q = int(np.flatnonzero(view.space.labels == 2)[0])
    assert view.pick_at(*view.cloud.positions[q]) != q  # hidden points cannot be picked


def test_projection_cache_tsne_partial_layouts_and_cancel(tab, qtbot):
    view = tab.primary
    seen = []
    view.projection_panel.set_method("tsne", {"n_iter": 60, "early_exaggeration_iter": 20, "chunk": 20,
                                              "perplexity": 10.0})
    view.projection_panel.progress.valueChanged.connect(seen.append)
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    assert len(seen) >= 3 and view.coords.shape == (1797, 2)
    first = view.coords.copy()
    view.projection_panel.set_method("pca")
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=30000)
    view.projection_panel.set_method("tsne", {"n_iter": 60, "early_exaggeration_iter": 20, "chunk": 20,
                                              "perplexity": 10.0})
    view.projection_panel.go.click()  # computed before: shown at once, without a worker
    assert not view.busy and np.allclose(view.coords, first)
    view.projection_panel.set_method("tsne", {"n_iter": 5000, "chunk": 10, "perplexity": 12.0})
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: view.projection_panel.progress.value() > 0, timeout=30000)
    view.projection_panel.stop.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=30000)
    assert "Cancelled" in view.projection_panel.status.text() or "cache" in view.projection_panel.status.text()


def test_three_components_orbit(tab, qtbot):
    view = tab.primary
    view.projection_panel.set_method("pca", {"n_components": 3})
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy and view.coords.shape[1] == 3, timeout=30000)
    assert view.orbit.isVisibleTo(view)
    before = view.cloud.positions.copy()
    view.yaw.setValue(90)
    after = view.cloud.positions
    centred = view.coords - view.coords.mean(axis=0)
    np.testing.assert_allclose(after[:, 0], centred[:, 2], atol=1e-6)  # a quarter turn shows the third axis
    assert not np.allclose(before, after)


def test_epoch_scrubber_moves_through_aligned_snapshots(tab, qtbot, explored_run):
    tab.source.setCurrentIndex(1)
    view = tab.primary
    qtbot.waitUntil(lambda: len(view.frames) == 4 and not tab.busy, timeout=60000)
    series = core.snapshot_series(explored_run)
    assert view.space.n == 150 and view.frame_names == ["epoch 0", "epoch 1", "epoch 2", "epoch 3"]
    expected = core.run_to_end(core.aligned_sequence([np.asarray(a) for a in series.arrays], "pca"))
    view.scrubber.slider.setValue(0)
    np.testing.assert_allclose(view.coords, expected[0], rtol=1e-4, atol=1e-4)
    assert view.scrubber.label.text() == "epoch 0"
    view.scrubber.slider.setValue(17)  # between epochs 1 and 2 (12 frames per epoch): interpolated
    assert not any(np.allclose(view.coords, f) for f in view.frames)
    view.select(np.arange(10))
    view.scrubber.show_trails.setChecked(True)
    assert len(view.trails.getData()[0]) > 0
    view.scrubber.slider.setValue(0)
    view.scrubber.play.setChecked(True)
    qtbot.waitUntil(lambda: not view.scrubber.play.isChecked(), timeout=20000)  # plays to the last epoch and stops
    assert view.scrubber.label.text() == "epoch 3"
    np.testing.assert_allclose(view.coords, expected[-1], rtol=1e-4, atol=1e-4)


def test_compare_with_random_init_links_hover_and_selection(tab, qtbot):
    tab.compare.setCurrentIndex(tab.compare.findData("baseline"))
    qtbot.waitUntil(lambda: tab.secondary.coords is not None and not tab.busy, timeout=60000)
    left, right = tab.primary, tab.secondary
    assert "random init" in right.space.name
    left.select(np.array([3, 30, 300]))
    assert sorted(right.space.indices[right.linked].tolist()) == [3, 30, 300]
    at = int(left.space.positions_of(np.array([30]))[0])
    move(qtbot, left.plot.viewport(), widget_pos(left, at))
    qtbot.waitUntil(lambda: left.card.isVisible(), timeout=5000)
    row = int(left.space.indices[left.card.position])
    hx, hy = right.hover_mark.getData()
    np.testing.assert_allclose([hx[0], hy[0]], right.cloud.positions[right.space.positions_of(np.array([row]))[0]])


def test_exports_png_svg_projector_and_embeddings(tab, tmp_path, qtbot):
    view = tab.primary
    from PySide6.QtGui import QImage

    view.export("png", str(tmp_path / "v.png"))
    assert (tmp_path / "v.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = QImage(str(tmp_path / "v.png"))
    plot = view.plot.viewport().size()
    dpr = view.plot.devicePixelRatioF()
    # room for the title above the plot and the legend beside it
    assert image.width() > plot.width() * dpr + 100 and image.height() > plot.height() * dpr + 20
    view.plot.getPlotItem().autoBtn.show()  # the "A" auto-range button pyqtgraph shows over a moved view
    view.export("svg", str(tmp_path / "v.svg"))
    svg = (tmp_path / "v.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and svg.count("<path") >= 1
    assert view.title.text() in svg  # the title
    for name in view.space.dataset.label_names:  # every class of the legend, with its count
        assert f">{name} ({int(np.sum(view.space.labels == view.space.dataset.label_names.index(name)))})<" in svg
    assert "<image" not in svg  # the "A" button is a pixmap: it is not in the picture
    assert view.plot.getPlotItem().autoBtn.isVisible()  # and it is back on screen
    view.export("projector", str(tmp_path / "proj"))
    qtbot.waitUntil(lambda: (tmp_path / "proj" / "projector_config.json").exists(), timeout=20000)
    qtbot.waitUntil(lambda: "Exported" in view.status.text(), timeout=20000)
    tensor = np.loadtxt(tmp_path / "proj" / "tensor.tsv", delimiter="\t")
    np.testing.assert_allclose(tensor, view.space.embeddings, rtol=1e-4, atol=1e-5)
    view.export("embeddings", str(tmp_path / "e.csv"))
    qtbot.waitUntil(lambda: (tmp_path / "e.csv").exists(), timeout=20000)
    rows = list(csv.DictReader((tmp_path / "e.csv").open()))
    assert len(rows) == 1797 and float(rows[4]["x"]) == pytest.approx(view.coords[4, 0], rel=1e-4, abs=1e-5)


def test_colour_by_faithfulness_uses_cores_per_point_share(tab, qtbot):
    view = tab.primary
    view.colour_by.setCurrentText("faithfulness (neighbours kept)")
    qtbot.waitUntil(lambda: view.kept is not None and not view.busy, timeout=60000)
    _, kept = core.faithfulness(view.space.embeddings, view.shown_xy())
    np.testing.assert_allclose(view.kept, kept)
    assert view.legend.colour_bar.isVisibleTo(view) and view.legend.list.count() == 0


def test_a_projection_error_reaches_the_error_dialog(tab, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    def broken(*args, **kwargs):
        raise RuntimeError("the projection broke")
        yield

    monkeypatch.setattr(core, "project", broken)
    view = tab.primary
    view.projection_panel.set_method("pca", {"random_state": 7})  # not computed before: goes to the worker
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=30000)
    box = view.findChild(QMessageBox, "errorDialog")
    assert box is not None and "the projection broke" in box.text() and "Traceback" in box.detailedText()
    assert view.coords is not None  # the previous picture stays
    box.close()


def test_a_run_without_a_checkpoint_yet_is_explained_in_place(qtbot, tmp_path, tiny_experiment):
    from PySide6.QtWidgets import QMessageBox

    from replearn_gui.explorer.tab import EmbeddingsTab

    run = core.RunDirectory.create(tmp_path, "just-started")
    run.write_config(tiny_experiment)
    t = EmbeddingsTab()
    qtbot.addWidget(t)
    t.show()
    t.set_run(str(run.path))
    qtbot.waitUntil(lambda: "Cannot show this space" in t.message.text() and not t.busy, timeout=30000)
    assert "no checkpoint" in t.message.text() and t.findChild(QMessageBox, "errorDialog") is None


def hover_then_click(qtbot, view, position):
    """What a person does: move onto the point (the hover card and ring appear), then click it."""
    at = widget_pos(view, position)
    move(qtbot, view.plot.viewport(), at)
    qtbot.waitUntil(lambda: view.card.isVisible() and view.card.position is not None, timeout=5000)
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


@pytest.mark.parametrize("dims", [2, 3])
def test_hover_then_click_lists_the_neighbours_every_time(tab, qtbot, dims):
    view = tab.primary
    if dims == 3:
        view.projection_panel.set_method("pca", {"n_components": 3})
        view.projection_panel.go.click()
        qtbot.waitUntil(lambda: not view.busy and view.coords.shape[1] == 3, timeout=30000)
        view.yaw.setValue(30)
    view.neighbours_panel.k.setValue(5)
    for q in (42, 400, 1000):
        hover_then_click(qtbot, view, q)
        picked = view.query
        assert picked is not None, f"hovering then clicking point {q} listed no neighbours"
        np.testing.assert_allclose(view.cloud.positions[picked], view.cloud.positions[q],
                                   atol=1e-3 * np.ptp(view.cloud.positions))
        truth = core.ExactIndex(view.space.embeddings, "cosine").query(view.space.embeddings[picked:picked + 1], 5,
                                                                        exclude_self=np.array([picked]))
        assert view.neighbours_panel.positions == truth.indices[0].tolist()
    # a neighbour sits under its ring (and maybe the query's star): clicking it makes it the new query
    nb = view.neighbours_panel.positions[0]
    hover_then_click(qtbot, view, nb)
    # (another point may be drawn on the same pixel: either is the point under the cursor)
    assert view.query is not None
    assert (widget_pos(view, view.query) - widget_pos(view, nb)).manhattanLength() <= 2
    assert view.neighbours_panel.positions[0] != nb


def share_in_view(view):
    (x0, x1), (y0, y1) = view.vb.viewRange()
    xy = view.cloud.positions
    return float(np.mean((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)))


def test_tsne_can_be_watched_forming_and_a_users_zoom_is_kept(tab, qtbot):
    view = tab.primary
    shares = []
    view.layout_shown.connect(lambda: shares.append(share_in_view(view)))
    view.projection_panel.set_method("tsne", {"n_iter": 90, "early_exaggeration_iter": 20, "chunk": 10,
                                              "perplexity": 10.0, "random_state": 3})
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=60000)
    assert len(shares) >= 5
    assert min(shares) > 0.95, f"share of the points in view while t-SNE formed: {np.round(shares, 3)}"
    # a user who zooms in while the layout forms keeps the zoom
    view.projection_panel.set_method("tsne", {"n_iter": 2000, "early_exaggeration_iter": 20, "chunk": 10,
                                              "perplexity": 11.0, "random_state": 3})
    before = len(shares)
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: len(shares) >= before + 2, timeout=60000)
    centre = QPoint(view.plot.viewport().width() // 2, view.plot.viewport().height() // 2)
    qtbot.wait(11)
    QTest.mouseMove(view.plot.viewport(), centre)
    wheel = QWheelEvent(QPointF(centre), QPointF(view.plot.viewport().mapToGlobal(centre)), QPoint(0, 0),
                        QPoint(0, 480),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(view.plot.viewport(), wheel)  # the wheel turned four notches: zoom in
    zoomed = view.vb.viewRange()
    n = len(shares)
    qtbot.waitUntil(lambda: len(shares) >= n + 2 or not view.busy, timeout=60000)
    assert np.allclose(view.vb.viewRange(), zoomed)
    view.cancel()
    qtbot.waitUntil(lambda: not view.busy, timeout=30000)


def test_numeric_categories_sort_as_numbers_and_text_naturally():
    from replearn_gui.explorer import colouring

    c = colouring.categorical(np.array([10, 2, 1, 2, 10]))
    assert c.categories == ("1", "2", "10")
    assert [c.categories[i] for i in c.index] == ["10", "2", "1", "2", "10"]
    c = colouring.categorical(np.array(["run 10", "run 9", "10", "2", "b", "A"]))
    assert c.categories == ("2", "10", "A", "b", "run 9", "run 10")
    assert [c.categories[i] for i in c.index] == ["run 10", "run 9", "10", "2", "b", "A"]
    c = colouring.categorical(np.array([0.5, 1.0, 0.25]))
    assert c.categories == ("0.25", "0.5", "1")


def test_the_tab_follows_a_run_being_written_checkpoint_by_checkpoint(qtbot, tiny_experiment):
    """A run written elsewhere (the CLI, here the engine driven by the test): the tab shows the first checkpoint
    as soon as it exists, says when a newer one appears, and shows the final one when the run ends."""
    from replearn_gui.explorer.tab import EmbeddingsTab

    events = core.train(tiny_experiment)
    run_dir = None
    for event in events:
        if isinstance(event, core.RunStarted):
            run_dir = event.run_dir
            break
    t = EmbeddingsTab()
    qtbot.addWidget(t)
    t.resize(1200, 700)
    t.show()
    t.set_run(run_dir)
    assert "no checkpoint yet" in t.message.text()

    def until_checkpoint():
        for event in events:
            if isinstance(event, core.CheckpointSaved):
                return event
        return None

    first = until_checkpoint()
    qtbot.waitUntil(lambda: t.shown_checkpoint is not None and not t.busy, timeout=30000)
    assert t.shown_checkpoint == Path(first.path).name
    second = until_checkpoint()
    qtbot.waitUntil(lambda: "A newer checkpoint" in t.message.text(), timeout=10000)
    assert Path(second.path).name in t.message.text() and t.shown_checkpoint == Path(first.path).name
    assert t.reload.text() != "Reload"
    result = core.run_to_end(events)
    final = core.newest_checkpoint(result.run_dir)
    assert final.final
    qtbot.waitUntil(lambda: t.shown_checkpoint == final.file and not t.busy, timeout=30000)
    expected = core.run_space(result.run_dir)
    np.testing.assert_allclose(t.primary.space.embeddings, expected.embeddings, rtol=1e-5, atol=1e-6)
    t.cancel()
    qtbot.waitUntil(lambda: not t.busy, timeout=30000)


def test_a_new_layout_clears_the_hover_card_and_the_status_line(tab, qtbot):
    view = tab.primary
    qtbot.keyClicks(view.search_box, "#5")
    qtbot.keyClick(view.search_box, Qt.Key.Key_Return)
    assert "match" in view.status.text()
    move(qtbot, view.plot.viewport(), widget_pos(view, 10))
    qtbot.waitUntil(lambda: view.card.isVisible(), timeout=5000)
    view.projection_panel.set_method("pca", {"random_state": 5})  # another layout (not computed before)
    view.projection_panel.go.click()
    qtbot.waitUntil(lambda: not view.busy, timeout=30000)
    assert not view.card.isVisible() and len(view.hover_mark.getData()[0]) == 0
    assert view.status.text() == ""
    assert view.matches.tolist() == [5]  # the search itself still holds: its marks follow the points
    mx, my = view.search_marks.getData()
    np.testing.assert_allclose([mx[0], my[0]], view.cloud.positions[5])


def test_level_of_detail_draws_the_same_picture_from_fewer_stamps(qtbot):
    """Dense views stamp one point per device pixel; the picture stays what every stamp would give, emphasised
    points stay on top, and vector exports keep every point."""
    import pyqtgraph as pg
    from PySide6.QtGui import QImage

    from replearn_gui.explorer.point_cloud import LOD_MIN_POINTS, PointCloud

    rng = np.random.default_rng(0)
    n = LOD_MIN_POINTS * 3
    xy = rng.normal(size=(n, 2))
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    plot.resize(400, 300)
    plot.show()
    cloud = PointCloud()
    plot.addItem(cloud)
    cloud.set_positions(xy)
    cloud.set_colours(rng.integers(0, 3, n), [(200, 0, 0), (0, 150, 0), (0, 0, 200)])
    strong = np.zeros(n, dtype=bool)
    strong[rng.choice(n, 50, replace=False)] = True
    cloud.set_emphasis(strong)
    plot.getPlotItem().autoRange()

    def picture(lod):
        cloud.level_of_detail = lod
        image = plot.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
        ptr = image.constBits()
        a = np.frombuffer(ptr, np.uint8, image.sizeInBytes()).reshape(image.height(), image.bytesPerLine())
        return a[:, : image.width() * 3].reshape(image.height(), image.width(), 3).astype(np.int16), cloud.last_drawn

    every, drawn_all = picture(False)
    fewer, drawn_lod = picture(True)
    assert drawn_all == n and drawn_lod < 0.8 * n
    differs = np.abs(every - fewer).max(axis=2) > 60
    assert differs.mean() < 0.02, f"{differs.mean():.1%} of the pixels differ"
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    svg = QSvgGenerator()
    svg.setOutputDevice(buffer)
    p = QPainter(svg)
    plot.render(p)
    p.end()
    assert cloud.last_drawn == n  # a file gets every point
    # picking and lasso work on every point whatever is stamped
    q = int(np.flatnonzero(strong)[0])
    px = plot.getPlotItem().vb.viewPixelSize()
    assert np.allclose(xy[cloud.pick(*xy[q], px)], xy[q], atol=6 * max(px))
    assert len(cloud.positions_in_rect(-10, -10, 10, 10)) == n


def test_opening_a_broken_embeddings_file_says_so_in_the_status_bar(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not a parquet file at all")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(bad), "")))
    window.tabs.setCurrentWidget(window.embeddings)
    button = window.embeddings.open_file
    QTest.mouseClick(button, Qt.MouseButton.LeftButton, pos=button.rect().center())
    qtbot.waitUntil(lambda: "broken.parquet" in window.statusBar().currentMessage()
                    and not window.statusBar().currentMessage().startswith("Reading"), timeout=30000)
    said = window.statusBar().currentMessage()
    assert said.startswith("Could not open") and str(bad) in said
    assert "Cannot show this space" in window.embeddings.message.text()
