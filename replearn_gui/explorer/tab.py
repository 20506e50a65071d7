"""The Embeddings tab: which space to look at (the trained model on every sample, or the training snapshots
with the epoch scrubber), and an optional second view linked to the first for comparison."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

import core
from replearn_gui.explorer.view import ExplorerView
from replearn_gui.jobs import BackgroundJob
from replearn_gui.widgets.error_dialog import is_user_error, show_worker_error

TRAINED, SNAPSHOTS = "trained", "snapshots"
CHECKPOINT_POLL_MS = 1000
NOTHING, BASELINE, SAME_SNAPSHOTS = "nothing", "baseline", "snapshots"


def load_space_job(run_dir: str, source: str, layer: str | None = None) -> tuple[Any, list, list]:
    """(space, snapshot arrays, snapshot names) for one run; the arrays are empty for the trained model.
    ``layer``: one of the encoder's layers instead of its output (trained model only)."""
    if source == TRAINED:
        return core.run_space(run_dir, layer=layer), [], []
    if source == BASELINE:
        return core.baseline_space(run_dir), [], []
    series = core.snapshot_series(run_dir)
    if not series.arrays:
        raise core.RunDirectoryError(f"{run_dir} has no complete snapshot yet")
    dataset = core.load_dataset(core.RunDirectory.open(run_dir).read_config())
    exp_name = Path(run_dir).name
    space = core.EmbeddingSpace(f"{exp_name} · snapshots", dataset, series.indices,
                                np.asarray(series.arrays[-1], dtype=np.float32))
    return space, [np.asarray(a, dtype=np.float32) for a in series.arrays], list(series.names)


class EmbeddingsTab(QWidget):
    loaded = Signal()  # a space is shown (tests wait on it)
    status = Signal(str)  # what became of an opened file, for the window's status bar

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.run_dir: str | None = None
        self.runs_root: str | None = None
        self._loaded_key: tuple | None = None
        # the primary view's space (a run's or a file's), the second view's, the run's layer names: each a job
        # of its own; a newer request replaces the running one and its late result is dropped
        self.loader = BackgroundJob(self, policy="replace")
        self.loader.started.connect(self._loading_changed)
        self.loader.finished.connect(self._loading_changed)
        self.comparison_job = BackgroundJob(self, policy="replace")
        self.layers_job = BackgroundJob(self, policy="replace")  # a run without layers keeps the output only
        self.shown_checkpoint: str | None = None  # the checkpoint whose embeddings the primary view shows
        self.newer_checkpoint: Any = None  # core.CheckpointInfo of a newer one, offered with Reload
        self._tried_checkpoint: str | None = None
        # a run being trained (here or by the CLI) writes checkpoints: the tab looks for them while it is shown
        self.watch = QTimer(self)
        self.watch.setInterval(CHECKPOINT_POLL_MS)
        self.watch.timeout.connect(self.look_for_checkpoints)
        top = QHBoxLayout()
        top.addWidget(QLabel("Show:"))
        self.source = QComboBox()
        self.source.setObjectName("explorerSource")
        self.source.addItem("Trained model · every sample", TRAINED)
        self.source.addItem("Training snapshots · epoch by epoch", SNAPSHOTS)
        self.source.currentIndexChanged.connect(lambda _: self.load())
        top.addWidget(self.source)
        top.addWidget(QLabel("Layer:"))
        self.layer = QComboBox()  # "show layer k": what each layer of the encoder encodes
        self.layer.setObjectName("explorerLayer")
        self.layer.setToolTip("Show the outputs of one layer of the encoder instead of the representation "
                              "(the trained model only; per-layer probes are in the Evaluation tab)")
        self.layer.addItem("output (representation)", None)
        self.layer.currentIndexChanged.connect(lambda _: self.load())
        top.addWidget(self.layer)
        top.addStretch(1)
        # a second row: at 1024 px one row would squeeze the choices below their text
        second = QHBoxLayout()
        second.addWidget(QLabel("Compare with:"))
        self.compare = QComboBox()
        self.compare.setObjectName("explorerCompare")
        self.compare.currentIndexChanged.connect(lambda _: self.load_comparison())
        # long run names are elided in the box (the list shows them whole) rather than widening the tab
        self.compare.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.compare.setMinimumContentsLength(16)
        second.addWidget(self.compare, 1)
        self.open_file = QPushButton("Open embeddings file…")
        self.open_file.setObjectName("explorerOpenFile")
        self.open_file.setToolTip("Explore embeddings made elsewhere, without training: Parquet (a vector column; x / y "
                                  "columns are its layout), TF Embedding Projector tensor.tsv, CSV or .npy")
        self.open_file.clicked.connect(self._choose_file)
        second.addWidget(self.open_file)
        self.reload = QPushButton("Reload")
        self.reload.setToolTip("Embed again (e.g. after more training)")
        self.reload.clicked.connect(lambda: self.load(force=True))
        second.addWidget(self.reload)
        self.message = QLabel("Open or train a run to explore its embedding space.")
        self.message.setObjectName("explorerMessage")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(second)
        layout.addWidget(self.message)
        layout.addWidget(self.split, 1)
        self.primary: ExplorerView | None = None
        self.secondary: ExplorerView | None = None
        self._dark = False
        self._fill_compare()

    def engine_ready(self) -> None:
        """Build the views once core is imported (their forms come from its registries); importing it here,
        on the GUI thread, would hold the window back by seconds at start-up."""
        if self.primary is not None:
            return
        self.primary = ExplorerView()
        self.secondary = ExplorerView(side_panel=False)
        self.secondary.setVisible(False)
        self.split.addWidget(self.primary)
        self.split.addWidget(self.secondary)
        # linked views: hovering or selecting in one shows the same samples in the other
        self.primary.hovered.connect(self.secondary.show_linked_hover)
        self.secondary.hovered.connect(self.primary.show_linked_hover)
        self.primary.selection_changed.connect(self.secondary.show_linked_selection)
        self.secondary.selection_changed.connect(self.primary.show_linked_selection)
        self.primary.projection_done.connect(self._mirror_projection)
        # while a space loads, the projection panel's Cancel stops the load (and Compute waits for the new space)
        self.primary.projection_panel.cancel.connect(self.cancel_load)
        # a projection of the old space that ends while a new one loads must not end the load's busy state
        self.primary.busy_changed.connect(lambda _busy: self._loading_changed())
        self.set_dark(self._dark)

    @property
    def views(self) -> tuple:
        return () if self.primary is None else (self.primary, self.secondary)

    @property
    def loading(self) -> bool:
        return self.loader.busy or self.comparison_job.busy or self.layers_job.busy

    @property
    def busy(self) -> bool:
        return self.loading or any(v.busy for v in self.views)

    def cancel(self) -> None:
        self.cancel_load()
        for view in self.views:
            view.cancel()

    def cancel_load(self) -> None:
        """Drop the spaces being loaded (a load cannot be interrupted: its result is dropped when it comes)."""
        if not (self.loader.running or self.comparison_job.running):
            return
        self.loader.cancel()
        self.comparison_job.cancel()
        self._loaded_key = None  # asked for again when the tab is shown, or by Reload
        self.message.setText("Cancelled: the picture is not changed. Reload embeds the samples again.")
        self._loading_changed()

    def _loading_changed(self) -> None:
        """The projection panel is busy while the primary space loads or a projection runs."""
        if self.primary is not None:
            self.primary.projection_panel.set_busy(self.loader.running or self.primary.job.running)

    def set_run(self, run_dir: str | None, runs_root: str | None = None) -> None:
        """The run to explore (finished, or being trained here or by the CLI); it is embedded when the tab is
        shown (embedding costs a pass over the data), and its newer checkpoints are looked for meanwhile."""
        if run_dir != self.run_dir:
            self.shown_checkpoint = self.newer_checkpoint = self._tried_checkpoint = None
        self.run_dir = run_dir
        self.runs_root = runs_root or self.runs_root
        self.engine_ready()
        self._fill_compare()
        self._fill_layers()
        if self.isVisible():
            self.load()
            self.watch.start()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt)
        super().showEvent(event)
        self.load()
        if self.run_dir is not None:
            self.watch.start()

    def hideEvent(self, event) -> None:  # noqa: N802 (Qt)
        self.watch.stop()
        super().hideEvent(event)

    def look_for_checkpoints(self) -> None:
        """Offer the newest checkpoint: the first one at once (nothing else is shown), the final one at once (the
        run is over), a newer mid-run one by saying so beside Reload (re-embedding costs a pass over the data)."""
        if self.run_dir is None or self.primary is None or self.source.currentData() != TRAINED or self.loading:
            return
        newest = core.newest_checkpoint(self.run_dir)
        if newest is None or newest.file in (self.shown_checkpoint, self._tried_checkpoint):
            return
        if self.shown_checkpoint is None or newest.final:
            self.load(force=True)
        elif self.newer_checkpoint is None or self.newer_checkpoint.step != newest.step:
            self.newer_checkpoint = newest
            self.reload.setText("Reload: newer checkpoint")
            self.message.setText(f"A newer checkpoint ({newest.file}, epoch {newest.epoch}) has been written; "
                                 f"Reload shows it. This picture is of {self.shown_checkpoint}.")

    def _fill_compare(self) -> None:
        self.compare.blockSignals(True)
        self.compare.clear()
        self.compare.addItem("nothing", NOTHING)
        self.compare.addItem("the encoder before training (random init)", BASELINE)
        self.compare.addItem("this run's snapshots (another epoch)", SAME_SNAPSHOTS)
        for p in core.RunDirectory.list_runs(self.runs_root):
            if str(p) != self.run_dir:
                self.compare.addItem(f"run {p.name}", str(p))
        self.compare.blockSignals(False)

    def _fill_layers(self) -> None:
        """Back to the output, and the run's layer names read in the background."""
        self.layer.blockSignals(True)
        while self.layer.count() > 1:
            self.layer.removeItem(1)
        self.layer.setCurrentIndex(0)
        self.layer.blockSignals(False)
        if self.run_dir is None:
            return
        self.layers_job.start(core.encoder_layers, self.run_dir,
                              on_done=lambda names, run=self.run_dir: self._show_layers(run, names))

    def _show_layers(self, run_dir: str, names: tuple) -> None:
        if run_dir != self.run_dir:
            return
        for name in names:
            if name != "representation":
                self.layer.addItem(f"layer {name}", name)

    def _load_failed(self, exc: BaseException) -> None:
        """Our own errors (no checkpoint yet, no snapshots) are said in place; anything else opens the dialog."""
        self.message.setText(f"Cannot show this space: {exc}")
        self._loaded_key = None  # try again next time the tab is shown
        if not is_user_error(exc):
            show_worker_error(self, "Cannot show this space", exc)

    def _choose_file(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Open embeddings", "",
                                              "Embeddings (*.parquet *.tsv *.csv *.npy);;All files (*)")
        if path:
            self.open_embeddings_file(path)

    def open_embeddings_file(self, path: str) -> None:
        """Show embeddings from a file in the primary view, with the file's own 2-D layout when it has one."""
        self.engine_ready()
        self.run_dir = None  # the space is the file's, not a run's
        self._loaded_key = ("file", path)
        self.message.setText(f"Reading {Path(path).name}…")
        self.status.emit(f"Reading {path}…")
        self.loader.start(core.file_space, path,
                          on_done=lambda space, key=self._loaded_key: self._show_file(space, key),
                          on_failed=lambda exc, p=path: self._file_failed(p, exc))

    def _file_failed(self, path: str, exc: BaseException) -> None:
        self._load_failed(exc)
        self.status.emit(f"Could not open {path}: {exc}")

    def _show_file(self, space: Any, key: tuple) -> None:
        if key != self._loaded_key:
            return
        self.primary.set_space(space, None)
        if space.layout is not None:
            self.primary.set_layout(space.layout)
            where = "its own 2-D layout (x, y)"
        else:
            panel = self.primary.projection_panel
            params = panel.form.params() if panel.form is not None else None
            self.primary.compute_projection(panel.current_method(), params.to_dict() if params else {})
            where = "a projection computed here"
        self.message.setText(f"{space.n:,} embeddings from {space.name.removesuffix(' (file)')}, shown with {where}.")
        self.status.emit(f"Opened {space.name.removesuffix(' (file)')}: {space.n:,} embeddings")
        self.loaded.emit()

    def load(self, force: bool = False) -> None:
        if self.run_dir is None or self.primary is None:
            return
        source = self.source.currentData()
        layer = self.layer.currentData() if source == TRAINED else None
        self.layer.setEnabled(source == TRAINED)
        newest = core.newest_checkpoint(self.run_dir) if source == TRAINED else None
        key = (self.run_dir, source, layer, newest.file if newest else None)
        if key == self._loaded_key and not force:
            return
        if source == TRAINED and newest is None:
            self._loaded_key = None  # looked for again while the tab is shown
            self.message.setText("Cannot show this space yet: the run has no checkpoint yet. The picture appears "
                                 "here as soon as it writes its first one.")
            return
        self._loaded_key = key
        self._tried_checkpoint = newest.file if newest else None  # a failed load is not retried every second
        self.newer_checkpoint = None
        self.reload.setText("Reload")
        self.message.setText("Embedding the samples with the run's encoder…")
        self.loader.start(load_space_job, self.run_dir, source, layer,
                          on_done=lambda r, key=key: self._show(self.primary, r, key), on_failed=self._load_failed)

    def _show(self, view: ExplorerView, result: tuple, key: tuple | None = None) -> None:
        space, arrays, names = result
        if key is not None and key != self._loaded_key:
            return  # the user has asked for something else meanwhile
        cache = str(Path(self.run_dir) / "projections") if self.run_dir else None
        if view is self.primary:
            self.shown_checkpoint = space.checkpoint
        view.set_space(space, cache)
        if arrays:
            view.set_snapshots(arrays, names)
        panel = self.primary.projection_panel
        params = panel.form.params() if panel.form is not None else None
        if view is self.primary or not self.primary.busy:
            view.compute_projection(panel.current_method(), params.to_dict() if params else {})
        self.message.setText(self._describe(space, arrays))
        self.loaded.emit()

    @staticmethod
    def _describe(space: Any, arrays: list) -> str:
        what = f"{len(arrays)} snapshots of {space.n:,} samples" if arrays else f"{space.n:,} samples"
        if space.checkpoint and not arrays:
            what += f" embedded by the checkpoint {space.checkpoint}"
        return (f"{what}. Hover a point to see it, click for its neighbours, lasso to select; "
                "choose the projection on the right.")

    def load_comparison(self) -> None:
        choice = self.compare.currentData()
        if self.secondary is None:
            return
        if choice in (None, NOTHING) or self.run_dir is None:
            self.comparison_job.cancel()
            self.secondary.setVisible(False)
            return
        self.secondary.setVisible(True)
        run, source = (self.run_dir, choice) if choice in (BASELINE, SAME_SNAPSHOTS) else (choice, TRAINED)
        self.comparison_job.start(load_space_job, run, source, on_done=lambda r: self._show(self.secondary, r),
                                  on_failed=self._load_failed)

    def _mirror_projection(self, _result: Any) -> None:
        """The second view follows the first one's projection, so the two pictures are comparable."""
        if self.secondary.isVisible() and self.secondary.space is not None:
            panel = self.primary.projection_panel
            params = panel.form.params()
            if params is not None:
                self.secondary.compute_projection(panel.current_method(), params.to_dict())

    def set_dark(self, dark: bool) -> None:
        self._dark = dark
        for view in self.views:
            view.set_dark(dark)
