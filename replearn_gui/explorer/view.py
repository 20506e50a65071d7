"""One embedding view: the scatter of every point, with colouring, legend, hover card, neighbours, selection,
search, projection, epoch scrubber and export.

The view shows an :class:`core.EmbeddingSpace` through a layout (2-D or 3-D coordinates) computed by core in a
superqt worker. Everything the user does with the mouse is answered on the GUI thread from indexes built once
(a k-d tree for picking, core's exact index for neighbours), never by recomputing.
"""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QCursor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QSlider,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.explorer import colouring
from replearn_gui.explorer.jobs import aligned_job, export_job, faithfulness_job, projection_job
from replearn_gui.explorer.marks import Lines, Marks
from replearn_gui.explorer.neighbours_panel import NeighboursPanel
from replearn_gui.explorer.point_cloud import PointCloud
from replearn_gui.explorer.previews import HoverCard
from replearn_gui.explorer.projection_panel import ProjectionPanel
from replearn_gui.explorer.viewbox import ExplorerViewBox, rotate
from replearn_gui.widgets.error_dialog import show_worker_error
from replearn_gui.workers import alive, make_worker
from replearn_gui.plain_text import plain_tooltip

LABEL_MODE, SINGLE_MODE, FAITHFUL_MODE = "label", "(one colour)", "faithfulness (neighbours kept)"
FRAME_MS = 33  # epoch animation: 30 frames a second
FRAMES_PER_EPOCH = 12  # interpolated frames between two snapshots


class ExplorerView(QWidget):
    hovered = Signal(int)  # dataset row under the mouse, -1 when none
    selection_changed = Signal(object)  # np.ndarray of dataset rows
    projection_done = Signal(object)  # core.ProjectionResult
    busy_changed = Signal(bool)
    layout_shown = Signal()  # the points moved: a new layout, a partial one, another frame or orbit angle

    def __init__(self, parent: QWidget | None = None, side_panel: bool = True):
        super().__init__(parent)
        self.space: Any = None
        self.cache_dir: str | None = None
        self.coords: np.ndarray | None = None  # the layout (n, 2 or 3)
        self.colours: colouring.Colouring | None = None
        self.selected = np.zeros(0, dtype=np.int64)  # positions
        self.matches: np.ndarray | None = None
        self.linked: np.ndarray | None = None
        self.query: int | None = None
        self.neighbours: np.ndarray = np.zeros(0, dtype=np.int64)
        self.kept: np.ndarray | None = None  # per-point share of neighbours the layout keeps
        self.frames: list[np.ndarray] = []  # aligned layouts of snapshots
        self.frame_embeddings: list[np.ndarray] = []
        self.frame_names: list[str] = []
        self._frame_pos = 0.0
        self._index = None
        self._index_key: tuple | None = None
        self._worker = None
        self._export_worker = None
        self._cancelled = False
        self._memory: dict[str, np.ndarray] = {}  # (space, method, params) -> layout: switching back is instant
        self._build(side_panel)

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
        self.user_moved_view = False  # the user zoomed or panned: a forming layout no longer re-frames the view
        self.vb.sigRangeChangedManually.connect(lambda _: setattr(self, "user_moved_view", True))
        self.vb.region.connect(self._region)
        self._hover_proxy = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=60, slot=self._mouse_moved)

        # tools above the plot
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
        self.size_slider.setFixedWidth(90)
        self.size_slider.valueChanged.connect(lambda v: self.cloud.set_style(size=v))
        look.addWidget(self.size_slider)
        look.addWidget(QLabel("Opacity"))
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setObjectName("pointOpacity")
        self.opacity_slider.setRange(5, 100)
        self.opacity_slider.setValue(85)
        self.opacity_slider.setFixedWidth(90)
        self.opacity_slider.valueChanged.connect(lambda v: self.cloud.set_style(opacity=v / 100))
        look.addWidget(self.opacity_slider)
        look.addStretch(1)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("searchBox")
        self.search_box.setPlaceholderText("Search: #index, label, metadata…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setMinimumWidth(160)
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

        # the epoch scrubber and the 3-D orbit under the plot
        self.scrubber = QWidget()
        srow = QHBoxLayout(self.scrubber)
        srow.setContentsMargins(0, 0, 0, 0)
        self.play = QPushButton("▶ Play")
        self.play.setObjectName("epochPlay")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play_toggled)
        srow.addWidget(self.play)
        self.epoch_slider = QSlider(Qt.Orientation.Horizontal)
        self.epoch_slider.setObjectName("epochSlider")
        self.epoch_slider.valueChanged.connect(self._slider_moved)
        srow.addWidget(self.epoch_slider, 1)
        self.epoch_label = QLabel("")
        self.epoch_label.setObjectName("epochName")
        self.epoch_label.setMinimumWidth(80)
        srow.addWidget(self.epoch_label)
        self.show_trails = QCheckBox("Trails of the selection")
        self.show_trails.setObjectName("showTrails")
        self.show_trails.toggled.connect(lambda _: self._update_trails())
        srow.addWidget(self.show_trails)
        self.scrubber.setVisible(False)
        self.play_timer = QTimer(self)
        self.play_timer.setInterval(FRAME_MS)
        self.play_timer.timeout.connect(self._next_frame)
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
            s.valueChanged.connect(lambda _: self._show_layout(keep_view=True))
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

        # the side panel: projection, legend, neighbours, selection
        self.projection_panel = ProjectionPanel()
        self.projection_panel.compute.connect(self.compute_projection)
        self.projection_panel.cancel.connect(self.cancel)
        self.legend = QListWidget()
        self.legend.setObjectName("legend")
        self.legend.setToolTip("Untick to hide a class; double-click to show it alone")
        self.legend.itemChanged.connect(lambda _: self._apply_visibility())
        self.legend.itemDoubleClicked.connect(self._isolate)
        self.colour_bar = QLabel()
        self.colour_bar.setObjectName("colourBar")
        self.colour_bar.setTextFormat(Qt.TextFormat.PlainText)
        show_all = QPushButton("Show all")
        show_all.clicked.connect(self._show_all)
        legend_box = QWidget()
        ll = QVBoxLayout(legend_box)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.legend, 1)
        ll.addWidget(self.colour_bar)
        ll.addWidget(show_all)
        self.neighbours_panel = NeighboursPanel()
        self.neighbours_panel.settings_changed.connect(lambda: self.query is not None and self.show_neighbours(
            self.query))
        self.neighbours_panel.activated.connect(self.show_neighbours)
        selection_box = QWidget()
        sl = QVBoxLayout(selection_box)
        sl.setContentsMargins(0, 0, 0, 0)
        self.selection_text = QLabel("Nothing selected. Use Lasso or Rectangle above the plot.")
        self.selection_text.setObjectName("selectionSummary")
        self.selection_text.setTextFormat(Qt.TextFormat.PlainText)
        self.selection_text.setWordWrap(True)
        self.selection_text.setAlignment(Qt.AlignmentFlag.AlignTop)
        sl.addWidget(self.selection_text, 1)
        buttons = QHBoxLayout()
        self.export_selection = QPushButton("Export CSV…")
        self.export_selection.setObjectName("exportSelection")
        self.export_selection.clicked.connect(lambda: self.ask_export("selection"))
        self.selection_grid = QPushButton("Show in grid")
        self.selection_grid.setObjectName("selectionGrid")
        self.selection_grid.clicked.connect(self.show_selection_in_grid)
        clear = QPushButton("Clear")
        clear.clicked.connect(lambda: self.select(np.zeros(0, dtype=np.int64)))
        for b in (self.export_selection, self.selection_grid, clear):
            buttons.addWidget(b)
        sl.addLayout(buttons)
        self.side = QTabWidget()
        self.side.setObjectName("explorerSide")
        self.side.addTab(self.projection_panel, "Projection")
        self.side.addTab(self.neighbours_panel, "Neighbours")
        self.side.addTab(selection_box, "Selection")
        side = QSplitter(Qt.Orientation.Vertical)  # the legend stays in sight whatever the tab
        side.addWidget(self.side)
        side.addWidget(legend_box)
        side.setSizes([520, 200])
        side.setMinimumWidth(300)
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

    def _set_enabled(self, on: bool) -> None:
        for w in (self.colour_by, self.search_box, self.export_button, self.export_selection, self.selection_grid):
            w.setEnabled(on)

    # ---- the space and its layout ------------------------------------------------------------------------
    def set_space(self, space: Any, cache_dir: str | None = None) -> None:
        """Show a new set of points (the layout follows from the projection panel's method)."""
        self.cancel()
        self.space = space
        self.cache_dir = cache_dir
        self.coords = None
        self.kept = None
        self.frames, self.frame_embeddings, self.frame_names = [], [], []
        self.scrubber.setVisible(False)
        self._index = None
        self.selected = np.zeros(0, dtype=np.int64)
        self.matches = self.linked = None
        self.query = None
        self.neighbours = np.zeros(0, dtype=np.int64)
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
        self.select(np.zeros(0, dtype=np.int64))

    @property
    def embeddings(self) -> np.ndarray:
        """The vectors neighbours are searched in: the current snapshot's while scrubbing epochs."""
        if self.frame_embeddings:
            return self.frame_embeddings[self.current_frame]
        return self.space.embeddings

    def _memory_key(self, method: str, params: dict) -> str:
        return f"{id(self.space)}|{method}|{json.dumps(params, sort_keys=True)}"

    @Slot(str, dict)
    def compute_projection(self, method: str, params: dict) -> None:
        if self.space is None:
            return
        self.cancel()
        if method != self.projection_panel.current_method():
            self.projection_panel.set_method(method, params)
        if self.frame_embeddings:
            return self.compute_evolution(method, params)
        key = self._memory_key(method, params)
        if key in self._memory:
            self.set_layout(self._memory[key])
            self.projection_panel.show_progress(1.0, f"{method.upper()}: shown again (computed before).")
            self.projection_done.emit(None)
            return
        worker = make_worker(projection_job, np.asarray(self.space.embeddings, dtype=np.float32), method, params,
                               self.cache_dir)
        worker.returned.connect(alive(self, lambda result: self._projection_returned(key, result)))
        self._run(worker, f"Computing {method}…")

    def compute_evolution(self, method: str, params: dict) -> None:
        """Aligned layouts of every snapshot, so the scrubber can move through training."""
        worker = make_worker(aligned_job, list(self.frame_embeddings), method, params, self.cache_dir)
        worker.returned.connect(self._frames_returned)
        self._run(worker, f"Aligning {method} layouts of {len(self.frame_embeddings)} snapshots…")

    def _run(self, worker, message: str) -> None:
        worker.yielded.connect(self._projection_progress)
        worker.errored.connect(self._projection_failed)
        worker.finished.connect(self._worker_finished)
        self._worker = worker
        self._cancelled = False
        self.user_moved_view = False
        self.projection_panel.set_busy(True)
        self.projection_panel.show_progress(0.0, message)
        self.busy_changed.emit(True)
        worker.start()

    @property
    def busy(self) -> bool:
        return self._worker is not None or self._export_worker is not None

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.quit()  # stops at the next progress report; the finished signal tidies up
            self._cancelled = True

    @Slot(object)
    def _projection_progress(self, progress: Any) -> None:
        if self._cancelled:
            return  # reports already on their way when the user cancelled
        self.projection_panel.show_progress(progress.fraction, progress.message)
        if progress.coords is not None and not self.frames and len(progress.coords) == self.space.n:
            # t-SNE forming, live: the layout grows from PCA's ±1 to ±40, so the view follows it until the user
            # takes over by zooming or panning
            self.set_layout(progress.coords, keep_view=self.user_moved_view)

    def _projection_returned(self, key: str, result: Any) -> None:
        self._memory[key] = result.coords
        self.set_layout(result.coords, keep_view=self.user_moved_view and self.coords is not None)
        how = "from the cache" if result.cached else f"in {result.seconds:.1f} s"
        self.projection_panel.show_progress(1.0, f"{result.method.upper()} of {self.space.n:,} points, {how}.")
        self.projection_done.emit(result)

    def _frames_returned(self, layouts: list) -> None:
        self.frames = [np.asarray(c, dtype=np.float64) for c in layouts]
        self.projection_panel.show_progress(1.0, f"{len(self.frames)} aligned layouts: drag the slider or press Play.")
        self.set_frame(self.current_frame)
        self.vb.autoRange()

    def _projection_failed(self, exc: BaseException) -> None:
        self.projection_panel.show_progress(0.0, f"Projection failed: {exc}")
        self.status.setText(f"Projection failed: {exc}")
        show_worker_error(self, "Projection failed", exc)

    def _worker_finished(self) -> None:
        self._worker = None
        self.projection_panel.set_busy(False)
        if self._cancelled:
            self.projection_panel.show_progress(0.0, "Cancelled; the picture shows the last finished layout.")
        self.busy_changed.emit(False)

    def set_layout(self, coords: np.ndarray, keep_view: bool = False) -> None:
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim != 2 or len(coords) != self.space.n:
            raise ValueError(f"a layout of shape {coords.shape} for {self.space.n} points")
        changed_dims = self.coords is None or self.coords.shape[1] != coords.shape[1]
        self.coords = coords
        self.kept = None
        self.orbit.setVisible(coords.shape[1] == 3)
        self._show_layout(keep_view=keep_view and not changed_dims)
        if changed_dims or self.colours is None:
            self._colour_mode_changed(self.colour_by.currentText())

    def shown_xy(self) -> np.ndarray:
        if self.coords is None:
            return np.zeros((0, 2))
        if self.coords.shape[1] == 3:
            return rotate(self.coords, self.yaw.value(), self.pitch.value())
        if self.coords.shape[1] == 1:
            return np.column_stack([self.coords[:, 0], np.zeros(len(self.coords))])
        return self.coords[:, :2]

    def _show_layout(self, keep_view: bool = True) -> None:
        if self.coords is None:
            return
        self.cloud.set_positions(self.shown_xy())
        self.cloud.setVisible(True)
        self._apply_visibility()
        self._apply_emphasis()
        self._update_marks()
        if not keep_view:
            self.vb.autoRange(items=[self.cloud])
        self.layout_shown.emit()

    # ---- epochs ------------------------------------------------------------------------------------------
    def set_snapshots(self, embeddings: list[np.ndarray], names: list[str]) -> None:
        """Make this view scrub through snapshots of the same points (the space's points, in its order)."""
        self.frame_embeddings = [np.asarray(z) for z in embeddings]
        self.frame_names = list(names)
        self.frames = []
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setRange(0, (len(names) - 1) * FRAMES_PER_EPOCH)
        self.epoch_slider.setValue((len(names) - 1) * FRAMES_PER_EPOCH)
        self.epoch_slider.blockSignals(False)
        self._frame_pos = float(len(names) - 1)
        self.epoch_label.setText(names[-1] if names else "")
        self.scrubber.setVisible(len(names) > 0)
        self._index = None

    @property
    def current_frame(self) -> int:
        return int(round(self._frame_pos)) if self.frame_embeddings else 0

    def set_frame(self, position: float) -> None:
        """Show the layout at ``position`` (fractional positions interpolate between two snapshots)."""
        if not self.frames:
            return
        position = float(np.clip(position, 0, len(self.frames) - 1))
        before = self.current_frame
        self._frame_pos = position
        i = int(np.floor(position))
        t = position - i
        coords = self.frames[i] if t == 0 or i + 1 >= len(self.frames) else (1 - t) * self.frames[i] + t * self.frames[i + 1]
        self.coords = coords
        self.orbit.setVisible(coords.shape[1] == 3)
        self._show_layout(keep_view=True)
        self.epoch_label.setText(self.frame_names[self.current_frame])
        self.epoch_slider.blockSignals(True)
        self.epoch_slider.setValue(int(round(position * FRAMES_PER_EPOCH)))
        self.epoch_slider.blockSignals(False)
        self._update_trails()
        if self.current_frame != before:
            self._index = None
            self.kept = None
            if self.query is not None:
                self.show_neighbours(self.query)

    def _slider_moved(self, value: int) -> None:
        self.set_frame(value / FRAMES_PER_EPOCH)

    def _play_toggled(self, on: bool) -> None:
        self.play.setText("❚❚ Pause" if on else "▶ Play")
        if on and self.frames:
            if self._frame_pos >= len(self.frames) - 1:
                self.set_frame(0)
            self.play_timer.start()
        else:
            self.play_timer.stop()

    def _next_frame(self) -> None:
        nxt = self._frame_pos + 1 / FRAMES_PER_EPOCH
        if nxt > len(self.frames) - 1 + 1e-9:
            self.play.setChecked(False)
            return
        self.set_frame(nxt)

    def _update_trails(self) -> None:
        if not (self.frames and self.show_trails.isChecked() and len(self.selected)):
            self.trails.setData([], [])
            return
        chosen = self.selected[:500]
        upto = self.current_frame + 1
        path = [f[chosen, :2] for f in self.frames[:upto]] + [np.full((len(chosen), 2), np.nan)]
        stacked = np.stack(path, axis=1).reshape(-1, 2)  # point by point: epochs in order, then a break
        self.trails.setData(stacked[:, 0], stacked[:, 1], connect="finite")

    # ---- colour, legend, visibility ----------------------------------------------------------------------
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
        self.colours = c
        self.cloud.set_colours(c.index, c.palette)
        self.legend.blockSignals(True)
        self.legend.clear()
        counts = np.bincount(c.index, minlength=len(c.palette))
        for i, name in enumerate(c.categories):
            pix = QPixmap(12, 12)
            pix.fill(QColor(*c.palette[i]))
            item = QListWidgetItem(QIcon(pix), f"{name} ({counts[i]:,})")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            item.setData(Qt.ItemDataRole.UserRole, i)
            self.legend.addItem(item)
        self.legend.blockSignals(False)
        if c.value_range is not None:
            self.colour_bar.setPixmap(self._colour_bar_pixmap(c))
            self.colour_bar.setToolTip(plain_tooltip(
                f"{c.title}: {c.value_range[0]:.3g} (dark) to {c.value_range[1]:.3g} (yellow)"))
        else:
            self.colour_bar.clear()
        self.colour_bar.setVisible(c.value_range is not None)
        self._apply_visibility()

    def _colour_bar_pixmap(self, c: colouring.Colouring) -> QPixmap:
        pix = QPixmap(240, 40)
        pix.fill(QColor(0, 0, 0, 0))
        p = QPainter(pix)
        for x in range(200):
            p.setPen(QColor(*c.palette[int(x / 199 * (len(c.palette) - 1))]))
            p.drawLine(x + 20, 0, x + 20, 16)
        p.setPen(self.palette().text().color())
        lo, hi = c.value_range
        p.drawText(QRectF(0, 18, 120, 20), Qt.AlignmentFlag.AlignLeft, f"{lo:.3g}")
        p.drawText(QRectF(120, 18, 120, 20), Qt.AlignmentFlag.AlignRight, f"{hi:.3g}")
        p.end()
        return pix

    def hidden_categories(self) -> set[int]:
        return {self.legend.item(r).data(Qt.ItemDataRole.UserRole) for r in range(self.legend.count())
                if self.legend.item(r).checkState() != Qt.CheckState.Checked}

    def _apply_visibility(self) -> None:
        hidden = self.hidden_categories()
        if not hidden or self.colours is None:
            self.cloud.set_visible(None)
        else:
            self.cloud.set_visible(~np.isin(self.colours.index, list(hidden)))

    def _isolate(self, item: QListWidgetItem) -> None:
        self.legend.blockSignals(True)
        for r in range(self.legend.count()):
            other = self.legend.item(r)
            other.setCheckState(Qt.CheckState.Checked if other is item else Qt.CheckState.Unchecked)
        self.legend.blockSignals(False)
        self._apply_visibility()

    def _show_all(self) -> None:
        self.legend.blockSignals(True)
        for r in range(self.legend.count()):
            self.legend.item(r).setCheckState(Qt.CheckState.Checked)
        self.legend.blockSignals(False)
        self._apply_visibility()

    def _compute_faithfulness(self) -> None:
        if self.coords is None or self.busy:
            self.status.setText("Faithfulness needs a finished layout.")
            return
        worker = make_worker(faithfulness_job, np.asarray(self.embeddings, dtype=np.float32), self.shown_xy())
        worker.returned.connect(self._faithfulness_returned)
        self._run(worker, "Measuring how many true neighbours the picture keeps…")

    def _faithfulness_returned(self, result: Any) -> None:
        metrics, kept = result
        self.kept = kept
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

    def _mouse_moved(self, args: tuple) -> None:
        if self.coords is None:
            return
        pos = args[0]
        if not self.plot.sceneBoundingRect().contains(pos):
            return self.hover(None)
        p = self.vb.mapSceneToView(pos)
        self.hover(self.pick_at(p.x(), p.y()))

    def hover(self, position: int | None) -> None:
        if position is None:
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
            self.query = None
            self.neighbours = np.zeros(0, dtype=np.int64)
            self.neighbours_panel.clear_items()
            self._update_marks()
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
        self.query = int(position)
        k = min(self.neighbours_panel.k.value(), self.space.n - 1)
        if k < 1:
            return
        if self.neighbours_panel.in_layout.isChecked():
            from scipy.spatial import cKDTree

            xy = self.cloud.positions
            dist, idx = cKDTree(xy).query(xy[self.query], k=k + 1)
            keep = idx != self.query
            idx, dist = idx[keep][:k], dist[keep][:k]
            where = "in the 2-D picture (euclidean)"
        else:
            found = self.neighbour_index().query(np.asarray(self.embeddings[self.query:self.query + 1], np.float32), k,
                                                 exclude_self=np.array([self.query]))
            idx, dist = found.indices[0], found.distances[0]
            where = f"in the {self.space.embeddings.shape[1]}-d representation ({found.metric})"
        self.neighbours = np.asarray(idx, dtype=np.int64)
        agreement = core.label_agreement(self.space, self.query, self.neighbours)
        row = int(self.space.indices[self.query])
        title = f"{len(idx)} nearest neighbours of #{row} {where}"
        if agreement is not None:
            title += f"; {agreement:.0%} share its label"
        items = [(int(p), core.preview(self.space.dataset, int(self.space.indices[p])), float(d))
                 for p, d in zip(idx, dist, strict=True)]
        self.neighbours_panel.show_items(title, items)
        self._update_marks()

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
            self.matches = core.search(self.space, text, self.regex.isChecked()) if text.strip() else None
        except core.ReplearnError as err:
            self.search_box.setStyleSheet("color: #b00020;")
            self.status.setText(f"{err} The previous highlights are cleared.")
            self.matches = None  # highlights of an earlier query would pass for this one's
            self._apply_emphasis()
            self._update_marks()
            return
        self.search_box.setStyleSheet("")
        if self.matches is not None:
            self.status.setText(f"{len(self.matches):,} match(es) for {text!r}")
        self._apply_emphasis()
        self._update_marks()

    def _region(self, polygon: np.ndarray) -> None:
        if self.coords is None:
            return
        self.select(self.cloud.positions_in(polygon))
        self.side.setCurrentIndex(2)

    def select(self, positions: np.ndarray) -> None:
        self.selected = np.asarray(positions, dtype=np.int64)
        if self.space is not None and len(self.selected):
            self.selection_text.setText(core.selection_summary(self.space, self.selected).text())
        else:
            self.selection_text.setText("Nothing selected. Use Lasso or Rectangle above the plot.")
        self.export_selection.setEnabled(len(self.selected) > 0)
        self.selection_grid.setEnabled(len(self.selected) > 0)
        self._apply_emphasis()
        self._update_trails()
        if self.space is not None:
            self.selection_changed.emit(self.space.indices[self.selected])

    def _apply_emphasis(self) -> None:
        if self.space is None:
            return
        mask = None
        for group in (self.selected if len(self.selected) else None, self.matches, self.linked):
            if group is not None:
                mask = np.zeros(self.space.n, dtype=bool) if mask is None else mask
                mask[group] = True
        self.cloud.set_emphasis(mask)

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
        at = self.space.positions_of(np.array([row])) if row >= 0 else np.zeros(0, dtype=np.int64)
        if len(at):
            xy = self.cloud.positions[at[0]]
            self.hover_mark.setData([xy[0]], [xy[1]])
        else:
            self.hover_mark.setData([], [])

    def show_linked_selection(self, rows: np.ndarray) -> None:
        if self.space is None:
            return
        self.linked = self.space.positions_of(rows) if len(rows) else None
        self._apply_emphasis()

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
        """``png`` / ``svg`` of the plot as shown; ``projector``, ``embeddings`` and ``selection`` files are
        written by core in a worker."""
        if kind == "png":
            ok = self.plot.grab().save(path, "PNG")
            self.status.setText(f"Saved {path}" if ok else f"Could not write {path}")
            return
        if kind == "svg":
            return self._export_svg(path)
        positions = self.selected if kind == "selection" else None
        coords = self.shown_xy() if self.coords is not None else None
        worker = make_worker(export_job, kind, path, self.space, np.asarray(self.embeddings), coords, positions)
        worker.returned.connect(alive(self, lambda _: self.status.setText(f"Exported to {path}")))
        worker.errored.connect(alive(self, lambda exc: (self.status.setText(f"Export failed: {exc}"),
                                                        show_worker_error(self, "Export failed", exc))))
        worker.finished.connect(self._export_finished)
        self.status.setText(f"Exporting to {path}…")
        self._export_worker = worker
        worker.start()

    def _export_finished(self) -> None:
        self._export_worker = None

    def _export_svg(self, path: str) -> None:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice
        from PySide6.QtSvg import QSvgGenerator


        rect = self.plot.viewport().rect()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(rect.size())
        generator.setViewBox(rect)
        generator.setTitle(self.title.text())
        p = QPainter(generator)
        self.plot.render(p)
        p.end()
        buffer.close()
        try:
            core.atomic_write_bytes(path, bytes(data.data()))  # never a half-written file
        except OSError as err:
            self.status.setText(f"Could not write {path}: {err.strerror or err}")
            return
        self.status.setText(f"Saved {path}")

    def set_dark(self, dark: bool) -> None:
        self.plot.setBackground("#1e1e1e" if dark else "w")
        self.vb.outline.setPen(pg.mkPen((230, 230, 230) if dark else (30, 30, 30), width=1.5,
                                        style=Qt.PenStyle.DashLine, cosmetic=True))
        colour = (230, 230, 230) if dark else (20, 20, 20)
        self.neighbour_marks.setPen(pg.mkPen(colour, width=2))
        self.neighbour_lines.setPen(pg.mkPen(colour + (140,), width=1))
        self.hover_mark.setPen(pg.mkPen(colour, width=2))
