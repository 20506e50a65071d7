"""One embedding view: the plot of every point, with the tools above it, the side panel and the status line.

What the view shows lives in an :class:`ExplorerState` (layout, colouring, hidden categories, selection, search
matches, query, frames); the plot, the legend, the epoch scrubber, the selection panel and the exports subscribe
to it. This module holds the plot and what is answered from it: hover, click and neighbours, lasso, search, the
projection workers. Mouse answers come from indexes built once (a k-d tree for picking, core's exact index for
neighbours), never by recomputing.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.explorer import colouring, exports
from replearn_gui.explorer.jobs import aligned_job, export_job, faithfulness_job, projection_job
from replearn_gui.explorer.legend import LegendPanel
from replearn_gui.explorer.marks import Lines, Marks
from replearn_gui.explorer.neighbours_panel import NeighboursPanel
from replearn_gui.explorer.point_cloud import PointCloud
from replearn_gui.explorer.previews import HoverCard
from replearn_gui.explorer.projection_panel import ProjectionPanel
from replearn_gui.explorer.scrubber import EpochScrubber
from replearn_gui.explorer.selection_panel import SelectionPanel
from replearn_gui.explorer.state import NOTHING, ExplorerState
from replearn_gui.explorer.viewbox import ExplorerViewBox, rotate
from replearn_gui.jobs import BackgroundJob
from replearn_gui.widgets.error_dialog import show_worker_error

LABEL_MODE, SINGLE_MODE, FAITHFUL_MODE = "label", "(one colour)", "faithfulness (neighbours kept)"
HOVER_MS = 8  # mouse moves are coalesced: the newest position is picked at most this often


class ExplorerView(QWidget):
    hovered = Signal(int)  # dataset row under the mouse, -1 when none
    selection_changed = Signal(object)  # np.ndarray of dataset rows
    projection_done = Signal(object)  # core.ProjectionResult
    busy_changed = Signal(bool)
    layout_shown = Signal()  # the points moved: a new layout, a partial one, another frame or orbit angle

    def __init__(self, parent: QWidget | None = None, side_panel: bool = True):
        super().__init__(parent)
        self.state = ExplorerState(self)
        self.cache_dir: str | None = None
        self.user_moved_view = False  # the user zoomed or panned: a forming layout no longer re-frames the view
        self._dark = False
        self._index = None
        self._index_key: tuple | None = None
        # projections, aligned layouts and faithfulness share one job (a new one replaces the running one and
        # its late results are dropped); file exports have their own
        self.job = BackgroundJob(self, policy="replace")
        self.job.partial.connect(self._projection_progress)
        self.job.done.connect(lambda value: self._on_done(value))
        self.job.failed.connect(lambda exc, _details: self._projection_failed(exc))
        self.job.cancelled.connect(lambda: self.projection_panel.show_progress(
            0.0, "Cancelled; the picture shows the last finished layout."))
        self.job.finished.connect(self._worker_finished)
        self._on_done: Any = lambda value: None
        self.export_job = BackgroundJob(self, policy="replace")
        self.export_job.done.connect(lambda _: self.status.setText(f"Exported to {self._export_path}"))
        self.export_job.failed.connect(lambda exc, _details: (self.status.setText(f"Export failed: {exc}"),
                                                              show_worker_error(self, "Export failed", exc)))
        self._export_path = ""
        self._memory: dict[str, np.ndarray] = {}  # (space, method, params) -> layout: switching back is instant
        self._hover_at: QPoint | None = None
        self._build(side_panel)
        self._subscribe()

    # ---- what the view shows (read-only: change it through self.state) ------------------------------------
    space = property(lambda self: self.state.space)
    coords = property(lambda self: self.state.coords)
    colours = property(lambda self: self.state.colours)
    selected = property(lambda self: self.state.selected)
    matches = property(lambda self: self.state.matches)
    linked = property(lambda self: self.state.linked)
    query = property(lambda self: self.state.query)
    neighbours = property(lambda self: self.state.neighbours)
    kept = property(lambda self: self.state.kept)
    frames = property(lambda self: self.state.frames)
    frame_names = property(lambda self: self.state.frame_names)
    current_frame = property(lambda self: self.state.current_frame)
    embeddings = property(lambda self: self.state.embeddings)

    # ---- construction -----------------------------------------------------------------------------------
    def _build(self, side_panel: bool) -> None:
        self.vb = ExplorerViewBox()
        self.plot = pg.PlotWidget(viewBox=self.vb)
        self.plot.setObjectName("explorerPlot")
        self.plot.setBackground("w")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.vb.setAspectLocked(True)
        self.cloud = PointCloud()
        self.cloud.pick_index.failed.connect(lambda text: self.status.setText(text))
        self.vb.addItem(self.cloud)
        ring = dict(brush=None, pxMode=True)
        self.search_marks = Marks(size=11, pen=pg.mkPen((255, 140, 0), width=2), symbol="o", **ring)
        self.neighbour_lines = Lines(connect="pairs", pen=pg.mkPen((20, 20, 20, 140), width=1))
        self.neighbour_marks = Marks(size=12, pen=pg.mkPen((20, 20, 20), width=2), symbol="o", **ring)
        self.query_mark = Marks(size=18, pen=pg.mkPen((200, 0, 0), width=2.5), symbol="star",
                                brush=pg.mkBrush(255, 220, 0))
        self.hover_mark = Marks(size=16, pen=pg.mkPen((0, 0, 0), width=2), symbol="o", **ring)
        self.trails = Lines(connect="finite", pen=pg.mkPen((80, 80, 80, 150), width=1))
        for z, item in enumerate((self.trails, self.search_marks, self.neighbour_lines, self.neighbour_marks,
                                  self.query_mark, self.hover_mark)):
            item.setZValue(10 + z)
            self.vb.addItem(item, ignoreBounds=True)
        self.title = QLabel("")
        self.title.setObjectName("explorerTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setStyleSheet("font-weight: bold;")
        self.card = HoverCard(self)
        self.vb.clicked.connect(self._clicked)
        self.vb.region.connect(self._region)
        self.vb.sigRangeChangedManually.connect(lambda _: setattr(self, "user_moved_view", True))
        # hover from the viewport's own mouse moves, coalesced on a timer: pyqtgraph's scene drops moves that
        # follow each other within 10 ms, and the dropped one can be the last, leaving a stale hover
        self.plot.viewport().installEventFilter(self)
        self._hover_timer = QTimer(self)
        self._hover_timer.setSingleShot(True)
        self._hover_timer.setInterval(HOVER_MS)
        self._hover_timer.timeout.connect(self._hover_now)

        tools = QHBoxLayout()
        self.tool_group = QButtonGroup(self)
        for name, text, tip in (("pan", "Pan", "Drag to pan, wheel to zoom"),
                                ("lasso", "Lasso", "Drag around points to select them"),
                                ("rect", "Rectangle", "Drag a rectangle to select points")):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            b.setObjectName(f"tool_{name}")
            b.setChecked(name == "pan")
            b.toggled.connect(lambda on, name=name: on and setattr(self.vb, "tool", name))
            self.tool_group.addButton(b)
            tools.addWidget(b)
        tools.addSpacing(8)
        tools.addWidget(QLabel("Colour:"))
        self.colour_by = QComboBox()
        self.colour_by.setObjectName("colourBy")
        self.colour_by.currentTextChanged.connect(self._colour_mode_changed)
        tools.addWidget(self.colour_by)
        tools.addStretch(1)
        look = QHBoxLayout()  # a second row: how points look, and search (the second view of a pair hides it)
        look.addWidget(QLabel("Size"))
        self.size_slider = QSlider(Qt.Orientation.Horizontal)
        self.size_slider.setObjectName("pointSize")
        self.size_slider.setRange(2, 20)
        self.size_slider.setValue(5)
        self.size_slider.setFixedWidth(60)
        self.size_slider.valueChanged.connect(lambda v: self.cloud.set_style(size=v))
        look.addWidget(self.size_slider)
        look.addWidget(QLabel("Opacity"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setObjectName("pointOpacity")
        self.opacity_slider.setRange(5, 100)
        self.opacity_slider.setValue(85)
        self.opacity_slider.setFixedWidth(60)
        self.opacity_slider.valueChanged.connect(lambda v: self.cloud.set_style(opacity=v / 100))
        look.addWidget(self.opacity_slider)
        look.addStretch(1)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Search: #index, label, metadata…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMinimumWidth(120)
        self.search_box.setMaximumWidth(260)
        self.search_box.returnPressed.connect(self.run_search)
        self.search_box.textChanged.connect(lambda text: text or self.run_search())
        look.addWidget(self.search_box)
        self.regex = QCheckBox("regex")
        self.regex.setObjectName("searchRegex")
        look.addWidget(self.regex)
        self.export_button = QToolButton()
        self.export_button.setText("Export")
        self.export_button.setObjectName("explorerExport")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.export_button)
        menu.addAction("Image (PNG)…", lambda: self.ask_export("png"))
        menu.addAction("Vector image (SVG)…", lambda: self.ask_export("svg"))
        menu.addAction("TF Embedding Projector folder…", lambda: self.ask_export("projector"))
        menu.addAction("Embeddings and coordinates (CSV)…", lambda: self.ask_export("embeddings"))
        menu.addAction("Embeddings and coordinates (Parquet)…", lambda: self.ask_export("parquet"))
        self.export_button.setMenu(menu)
        tools.addWidget(self.export_button)
        self.look_row = QWidget()
        self.look_row.setLayout(look)
        look.setContentsMargins(0, 0, 0, 0)
        self.look_row.setVisible(side_panel)

        self.scrubber = EpochScrubber(self.state)
        self.scrubber.trails_toggled.connect(lambda _: self._update_trails())
        self.orbit = QWidget()
        orow = QHBoxLayout(self.orbit)
        orow.setContentsMargins(0, 0, 0, 0)
        orow.addWidget(QLabel("3-D orbit: turn"))
        self.yaw = QSlider(Qt.Orientation.Horizontal)
        self.yaw.setObjectName("orbitYaw")
        self.yaw.setRange(-180, 180)
        orow.addWidget(self.yaw, 1)
        orow.addWidget(QLabel("tilt"))
        self.pitch = QSlider(Qt.Orientation.Horizontal)
        self.pitch.setObjectName("orbitPitch")
        self.pitch.setRange(-90, 90)
        orow.addWidget(self.pitch, 1)
        for s in (self.yaw, self.pitch):
            s.valueChanged.connect(lambda _: self._show_layout("orbit"))
        self.orbit.setVisible(False)

        centre = QWidget()
        cl = QVBoxLayout(centre)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.addWidget(self.title)
        cl.addLayout(tools)
        cl.addWidget(self.look_row)
        cl.addWidget(self.plot, 1)
        cl.addWidget(self.orbit)
        cl.addWidget(self.scrubber)

        # the side panel: projection, neighbours, selection; the legend stays in sight whatever the tab
        self.projection_panel = ProjectionPanel()
        self.projection_panel.compute.connect(self.compute_projection)
        self.projection_panel.cancel.connect(self.cancel)
        self.legend = LegendPanel(self.state)
        self.neighbours_panel = NeighboursPanel()
        self.neighbours_panel.settings_changed.connect(lambda: self.query is not None and self.show_neighbours(
            self.query))
        self.neighbours_panel.activated.connect(self.show_neighbours)
        self.selection_panel = SelectionPanel(self.state)
        self.selection_panel.export_requested.connect(lambda: self.ask_export("selection"))
        self.selection_panel.grid_requested.connect(self.show_selection_in_grid)
        self.side = QTabWidget()
        self.side.setObjectName("explorerSide")
        self.side.addTab(self.projection_panel, "Projection")
        self.side.addTab(self.neighbours_panel, "Neighbours")
        self.side.addTab(self.selection_panel, "Selection")
        side = QSplitter(Qt.Orientation.Vertical)
        side.addWidget(self.side)
        side.addWidget(self.legend)
        side.setSizes([520, 200])
        side.setMinimumWidth(270)  # its three tabs side by side, without scroll arrows
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(centre)
        split.addWidget(side)
        split.setStretchFactor(0, 1)
        split.setSizes([700, 330])
        side.setVisible(side_panel)
        self.status = QLabel("")
        self.status.setObjectName("explorerStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)
        self._set_enabled(False)

    def _subscribe(self) -> None:
        s = self.state
        s.layout_changed.connect(self._show_layout)
        s.colouring_changed.connect(lambda: s.colours is not None and self.cloud.set_colours(s.colours.index,
                                                                                            s.colours.palette))
        s.hidden_changed.connect(lambda: self.cloud.set_visible(s.visible_mask()))
        s.emphasis_changed.connect(self._show_emphasis)
        s.selection_changed.connect(self._selection_changed)
        s.query_changed.connect(self._update_marks)
        s.frames_changed.connect(lambda: s.frames and s.set_frame(s.current_frame))
        s.frame_changed.connect(self._frame_changed)

    def _set_enabled(self, on: bool) -> None:
        for w in (self.colour_by, self.search_box, self.export_button):
            w.setEnabled(on)

    # ---- the space and its layout ------------------------------------------------------------------------
    def set_space(self, space: Any, cache_dir: str | None = None) -> None:
        """Show a new set of points (the layout follows from the projection panel's method)."""
        self.cancel()
        self.cache_dir = cache_dir
        self._index = None
        self.hover(None)
        self.state.set_space(space)
        self.neighbours_panel.clear_items()
        self.title.setText(f"{space.name} · {space.n:,} points · {space.embeddings.shape[1]} dimensions")
        self.colour_by.blockSignals(True)
        self.colour_by.clear()
        if space.labels is not None:
            self.colour_by.addItem(LABEL_MODE)
        self.colour_by.addItems(list(space.dataset.metadata))
        self.colour_by.addItems([FAITHFUL_MODE, SINGLE_MODE])
        self.colour_by.blockSignals(False)
        self.cloud.set_positions(np.zeros((space.n, 2)))
        self.cloud.setVisible(False)
        self._update_marks()
        self._set_enabled(True)

    def set_snapshots(self, embeddings: list[np.ndarray], names: list[str]) -> None:
        """Make this view scrub through snapshots of the same points (the space's points, in its order)."""
        self._index = None
        self.state.set_snapshots(embeddings, names)

    def set_frame(self, position: float) -> None:
        self.state.set_frame(position)

    def select(self, positions: np.ndarray) -> None:
        self.state.select(positions)

    def _memory_key(self, method: str, params: dict) -> str:
        return f"{id(self.space)}|{method}|{json.dumps(params, sort_keys=True)}"

    @Slot(str, dict)
    def compute_projection(self, method: str, params: dict) -> None:
        if self.space is None:
            return
        self.cancel()
        if method != self.projection_panel.current_method():
            self.projection_panel.set_method(method, params)
        if self.state.frame_embeddings:
            return self.compute_evolution(method, params)
        key = self._memory_key(method, params)
        if key in self._memory:
            self.set_layout(self._memory[key])
            self.projection_panel.show_progress(1.0, f"{method.upper()}: shown again (computed before).")
            self.projection_done.emit(None)
            return
        self._run(lambda result: self._projection_returned(key, result), f"Computing {method}…", projection_job,
                  np.asarray(self.space.embeddings, dtype=np.float32), method, params, self.cache_dir)

    def compute_evolution(self, method: str, params: dict) -> None:
        """Aligned layouts of every snapshot, so the scrubber can move through training."""
        self._run(self._frames_returned, f"Aligning {method} layouts of {len(self.state.frame_embeddings)} snapshots…",
                  aligned_job, list(self.state.frame_embeddings), method, params, self.cache_dir)

    def _run(self, on_done, message: str, fn, *args) -> None:
        self._on_done = on_done
        self.user_moved_view = False
        self.projection_panel.set_busy(True)
        self.projection_panel.show_progress(0.0, message)
        self.job.start(fn, *args)
        self.busy_changed.emit(True)  # after the start: a listener asking job.running must hear True (Cancel stays on)

    @property
    def busy(self) -> bool:
        """A projection, an export or the pick index is being made (closing waits for them)."""
        return self.job.busy or self.export_job.busy or self.cloud.pick_index.building

    def cancel(self) -> None:
        """Stops the projection at its next progress report; what it sends meanwhile is dropped."""
        self.job.cancel()

    @Slot(object)
    def _projection_progress(self, progress: Any) -> None:
        self.projection_panel.show_progress(progress.fraction, progress.message)
        if progress.coords is not None and not self.frames and len(progress.coords) == self.space.n:
            # t-SNE forming, live: the layout grows from PCA's ±1 to ±40, so the view follows it until the user
            # takes over by zooming or panning
            self.set_layout(progress.coords, "forming")

    def _projection_returned(self, key: str, result: Any) -> None:
        self._memory[key] = result.coords
        self.set_layout(result.coords, "forming" if self.user_moved_view else "new")
        how = "from the cache" if result.cached else f"in {result.seconds:.1f} s"
        self.projection_panel.show_progress(1.0, f"{result.method.upper()} of {self.space.n:,} points, {how}.")
        self.projection_done.emit(result)

    def _frames_returned(self, layouts: list) -> None:
        self.state.set_frames(layouts)
        self.projection_panel.show_progress(1.0, f"{len(self.frames)} aligned layouts: drag the slider or press Play.")
        self.vb.autoRange(items=[self.cloud])

    def _projection_failed(self, exc: BaseException) -> None:
        self.projection_panel.show_progress(0.0, f"Projection failed: {exc}")
        self.status.setText(f"Projection failed: {exc}")
        show_worker_error(self, "Projection failed", exc)

    def _worker_finished(self) -> None:
        self.projection_panel.set_busy(False)
        self.busy_changed.emit(False)

    def set_layout(self, coords: np.ndarray, how: str = "new") -> None:
        """``how``: "new" frames the view on the points; "forming" keeps the user's zoom once they took over."""
        dims_before = None if self.coords is None else self.coords.shape[1]
        self.state.set_layout(coords, how)
        if dims_before != self.coords.shape[1] or self.colours is None:
            self._colour_mode_changed(self.colour_by.currentText())

    def shown_xy(self) -> np.ndarray:
        if self.coords is None:
            return np.zeros((0, 2))
        if self.coords.shape[1] == 3:
            return rotate(self.coords, self.yaw.value(), self.pitch.value())
        if self.coords.shape[1] == 1:
            return np.column_stack([self.coords[:, 0], np.zeros(len(self.coords))])
        return self.coords[:, :2]

    def _show_layout(self, how: str = "orbit") -> None:
        """The points moved ("new", "forming", "frame" or "orbit"): redraw them and what sits on them."""
        if self.coords is None:
            return
        self.orbit.setVisible(self.coords.shape[1] == 3)
        self.cloud.set_positions(self.shown_xy())
        self.cloud.setVisible(True)
        self.cloud.set_visible(self.state.visible_mask())
        self.cloud.set_emphasis(self.state.emphasis_mask())
        self._update_marks()
        self._update_trails()
        if how == "new" or (how == "forming" and not self.user_moved_view):
            self.vb.autoRange(items=[self.cloud])
        if how in ("new", "forming"):
            # what was said about the previous picture (the card's point, a faithfulness figure) is no longer true
            self.hover(None)
            self.status.setText("")
        self.layout_shown.emit()

    def _frame_changed(self, moved: bool) -> None:
        if moved:
            self._index = None
            if self.query is not None:
                self.show_neighbours(self.query)

    def _update_trails(self) -> None:
        if not (self.frames and self.scrubber.show_trails.isChecked() and len(self.selected)):
            self.trails.setData([], [])
            return
        chosen = self.selected[:500]
        upto = self.current_frame + 1
        path = [f[chosen, :2] for f in self.frames[:upto]] + [np.full((len(chosen), 2), np.nan)]
        stacked = np.stack(path, axis=1).reshape(-1, 2)  # point by point: epochs in order, then a break
        self.trails.setData(stacked[:, 0], stacked[:, 1], connect="finite")

    # ---- colour ------------------------------------------------------------------------------------------
    def _colour_mode_changed(self, mode: str) -> None:
        if self.space is None or not mode:
            return
        try:
            if mode == LABEL_MODE:
                c = colouring.categorical(self.space.labels, self.space.dataset.label_names, "label")
            elif mode == SINGLE_MODE:
                c = colouring.Colouring(np.zeros(self.space.n, np.int32), [(70, 110, 200)], title="")
            elif mode == FAITHFUL_MODE:
                if self.kept is None:
                    self._compute_faithfulness()
                    return
                c = colouring.continuous(self.kept, "share of the 10 nearest neighbours kept")
            else:
                values = np.asarray(self.space.dataset.metadata[mode])[self.space.indices]
                c = colouring.for_column(values, mode)
        except ValueError as err:
            self.status.setText(str(err))
            return
        self.apply_colouring(c)

    def apply_colouring(self, c: colouring.Colouring) -> None:
        self.state.set_colouring(c)

    def hidden_categories(self) -> set[int]:
        return set(self.state.hidden)

    def _compute_faithfulness(self) -> None:
        if self.coords is None or self.job.busy:
            self.status.setText("Faithfulness needs a finished layout.")
            return
        self._run(self._faithfulness_returned, "Measuring how many true neighbours the picture keeps…",
                  faithfulness_job, np.asarray(self.embeddings, dtype=np.float32), self.shown_xy())

    def _faithfulness_returned(self, result: Any) -> None:
        metrics, kept = result
        self.state.set_kept(kept)
        text = ", ".join(f"{m.name} {m.value:.3f}" for m in metrics)
        self.projection_panel.show_progress(1.0, f"Faithfulness of this picture: {text}")
        self.status.setText(f"Faithfulness of this picture: {text}")
        if self.colour_by.currentText() == FAITHFUL_MODE:
            self._colour_mode_changed(FAITHFUL_MODE)

    # ---- hover, click, neighbours ------------------------------------------------------------------------
    def pick_at(self, x: float, y: float) -> int | None:
        if self.coords is None:
            return None
        px, py = self.vb.viewPixelSize()
        return self.cloud.pick(x, y, (px, py))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt)
        if watched is self.plot.viewport():
            if event.type() == QEvent.Type.MouseMove:
                self._hover_at = event.position().toPoint()
                if not self._hover_timer.isActive():
                    self._hover_timer.start()
            elif event.type() == QEvent.Type.Leave:
                self._hover_at = None
                self._hover_timer.stop()
                self.hover(None)
        return super().eventFilter(watched, event)

    def _hover_now(self) -> None:
        if self.coords is None or self._hover_at is None:
            return
        p = self.vb.mapSceneToView(self.plot.mapToScene(self._hover_at))
        self.hover(self.pick_at(p.x(), p.y()))

    def hover(self, position: int | None) -> None:
        if position is None or self.space is None:
            self.card.hide_card()
            self.hover_mark.setData([], [])
            self.hovered.emit(-1)
            return
        if position == self.card.position and self.card.isVisible():
            return
        row = int(self.space.indices[position])
        xy = self.cloud.positions[position]
        self.hover_mark.setData([xy[0]], [xy[1]])
        extra = f"at ({xy[0]:.3g}, {xy[1]:.3g})"
        if self.kept is not None:
            extra += f" · keeps {self.kept[position]:.0%} of its neighbours"
        self.card.show_preview(position, core.preview(self.space.dataset, row), extra, QCursor.pos())
        self.hovered.emit(row)

    def leaveEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.hover(None)
        super().leaveEvent(event)

    def _clicked(self, x: float, y: float) -> None:
        position = self.pick_at(x, y)
        if position is None:
            self.state.set_query(None)
            self.neighbours_panel.clear_items()
            return
        self.show_neighbours(position)
        self.side.setCurrentWidget(self.neighbours_panel)

    def neighbour_index(self):
        metric = self.neighbours_panel.metric.currentText()
        key = (id(self.embeddings), metric)
        if self._index is None or self._index_key != key:
            self._index = core.ExactIndex(np.asarray(self.embeddings, dtype=np.float32), metric)
            self._index_key = key
        return self._index

    def show_neighbours(self, position: int) -> None:
        """The k nearest neighbours of ``position``: in the full space (exact), or in the picture."""
        query = int(position)
        k = min(self.neighbours_panel.k.value(), self.space.n - 1)
        if k < 1:
            return
        if self.neighbours_panel.in_layout.isChecked():
            from scipy.spatial import cKDTree

            xy = self.cloud.positions
            dist, idx = cKDTree(xy).query(xy[query], k=k + 1)
            keep = idx != query
            idx, dist = idx[keep][:k], dist[keep][:k]
            where = "in the 2-D picture (euclidean)"
        else:
            found = self.neighbour_index().query(np.asarray(self.embeddings[query:query + 1], np.float32), k,
                                                 exclude_self=np.array([query]))
            idx, dist = found.indices[0], found.distances[0]
            where = f"in the {self.space.embeddings.shape[1]}-d representation ({found.metric})"
        self.state.set_query(query, np.asarray(idx, dtype=np.int64))
        agreement = core.label_agreement(self.space, query, self.neighbours)
        row = int(self.space.indices[query])
        title = f"{len(idx)} nearest neighbours of #{row} {where}"
        if agreement is not None:
            title += f"; {agreement:.0%} share its label"
        items = [(int(p), core.preview(self.space.dataset, int(self.space.indices[p])), float(d))
                 for p, d in zip(idx, dist, strict=True)]
        self.neighbours_panel.show_items(title, items)

    def _update_marks(self) -> None:
        xy = self.cloud.positions
        if self.query is None or not len(xy):
            for item in (self.query_mark, self.neighbour_marks):
                item.setData([], [])
            self.neighbour_lines.setData([], [])
        else:
            q = xy[self.query]
            nb = xy[self.neighbours]
            self.query_mark.setData([q[0]], [q[1]])
            self.neighbour_marks.setData(nb[:, 0], nb[:, 1])
            pairs = np.empty((2 * len(nb), 2))
            pairs[0::2] = q
            pairs[1::2] = nb
            self.neighbour_lines.setData(pairs[:, 0], pairs[:, 1])
        if self.matches is not None and len(self.matches) and len(xy):
            m = xy[self.matches[:2000]]
            self.search_marks.setData(m[:, 0], m[:, 1])
        else:
            self.search_marks.setData([], [])

    # ---- search and selection ----------------------------------------------------------------------------
    def run_search(self) -> None:
        if self.space is None:
            return
        text = self.search_box.text()
        try:
            matches = core.search(self.space, text, self.regex.isChecked()) if text.strip() else None
        except core.ReplearnError as err:
            self.search_box.setStyleSheet("color: #b00020;")
            self.status.setText(f"{err} The previous highlights are cleared.")
            self.state.set_matches(None)  # highlights of an earlier query would pass for this one's
            return
        self.search_box.setStyleSheet("")
        self.state.set_matches(matches)
        if matches is not None:
            self.status.setText(f"{len(matches):,} match(es) for {text!r}")

    def _show_emphasis(self) -> None:
        self.cloud.set_emphasis(self.state.emphasis_mask())
        self._update_marks()

    def _region(self, polygon: np.ndarray) -> None:
        if self.coords is None:
            return
        self.select(self.cloud.positions_in(polygon))
        self.side.setCurrentWidget(self.selection_panel)

    def _selection_changed(self) -> None:
        self._update_trails()
        if self.space is not None:
            self.selection_changed.emit(self.space.indices[self.selected])

    def show_selection_in_grid(self) -> None:
        shown = self.selected[:100]
        items = [(int(p), core.preview(self.space.dataset, int(self.space.indices[p])), None) for p in shown]
        more = f" (the first {len(shown)})" if len(self.selected) > len(shown) else ""
        self.neighbours_panel.show_items(f"{len(self.selected):,} selected{more}", items)
        self.side.setCurrentWidget(self.neighbours_panel)

    # ---- linking two views ------------------------------------------------------------------------------
    def show_linked_hover(self, row: int) -> None:
        if self.space is None or self.coords is None:
            return
        at = self.space.positions_of(np.array([row])) if row >= 0 else NOTHING
        if len(at):
            xy = self.cloud.positions[at[0]]
            self.hover_mark.setData([xy[0]], [xy[1]])
        else:
            self.hover_mark.setData([], [])

    def show_linked_selection(self, rows: np.ndarray) -> None:
        if self.space is None:
            return
        self.state.set_linked(self.space.positions_of(rows) if len(rows) else None)

    # ---- export ------------------------------------------------------------------------------------------
    def ask_export(self, kind: str) -> None:
        if self.space is None:
            return
        if kind == "projector":
            path = QFileDialog.getExistingDirectory(self, "Folder for the Embedding Projector files")
        else:
            filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "embeddings": "CSV (*.csv)",
                       "selection": "CSV (*.csv)", "parquet": "Parquet (*.parquet)"}
            path, _ = QFileDialog.getSaveFileName(self, "Export", "", filters[kind])
        if path:
            self.export(kind, path)

    def export(self, kind: str, path: str) -> None:
        """``png`` / ``svg`` of the plot as shown, with its title and legend; ``projector``, ``embeddings`` and
        ``selection`` files are written by core in a worker."""
        if kind in ("png", "svg"):
            self.status.setText(exports.write_picture(kind, path, self.plot, self.state, self.title.text(),
                                                      self._dark))
            return
        positions = self.selected if kind == "selection" else None
        coords = self.shown_xy() if self.coords is not None else None
        self._export_path = path
        self.status.setText(f"Exporting to {path}…")
        self.export_job.start(export_job, kind, path, self.space, np.asarray(self.embeddings), coords, positions)

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        self.plot.setBackground("#1e1e1e" if dark else "w")
        self.vb.outline.setPen(pg.mkPen((230, 230, 230) if dark else (30, 30, 30), width=1.5,
                                        style=Qt.PenStyle.DashLine, cosmetic=True))
        colour = (230, 230, 230) if dark else (20, 20, 20)
        self.neighbour_marks.setPen(pg.mkPen(colour, width=2))
        self.neighbour_lines.setPen(pg.mkPen(colour + (140,), width=1))
        self.hover_mark.setPen(pg.mkPen(colour, width=2))
