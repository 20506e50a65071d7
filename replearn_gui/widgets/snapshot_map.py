"""A small live 2-D PCA of the latest snapshot in the training view (the Embeddings tab has the full explorer).

Each snapshot is projected in a worker (PCA of a few thousand points takes milliseconds, but the GUI thread never
waits on a projection) and turned onto the previous picture with Procrustes, so the map changes only where the
representation does. Snapshots that arrive while one is being projected are coalesced: only the newest is drawn
(a :class:`BackgroundJob` with the ``"latest"`` policy).
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

import core
from replearn_gui.explorer.colouring import categorical_palette
from replearn_gui.explorer.point_cloud import PointCloud
from replearn_gui.jobs import BackgroundJob


def snapshot_pca_job(embeddings: np.ndarray | str, run_dir: str | None, previous: np.ndarray | None,
                     epoch: int | None = None):
    """(coords, labels or None, epoch) of one snapshot: given as an array, or as the path of its ``.npy``."""
    Z = np.load(embeddings, allow_pickle=False) if isinstance(embeddings, str) else np.asarray(embeddings)
    yield core.ProjectionProgress("pca", 0.0, "projecting")
    coords = core.run_to_end(core.project(np.asarray(Z, dtype=np.float32), "pca")).coords
    if previous is not None and previous.shape == coords.shape:
        coords = core.procrustes(previous, coords)
    labels = None
    if run_dir is not None:
        labels = core.RunDirectory(run_dir).read_snapshot_labels()
        if labels is not None and len(labels) != len(coords):
            labels = None
    return coords, labels, epoch


class SnapshotMap(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("snapshotMap")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.setAspectLocked(True)
        self.plot.setMouseEnabled(False, False)
        self.plot.setBackground("w")
        self.cloud = PointCloud(size=4, opacity=0.8)
        self.plot.addItem(self.cloud)
        self.title = QLabel("Snapshot map: PCA of the latest snapshot")
        self.title.setObjectName("snapshotTitle")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)  # a narrow map wraps its title rather than cutting it off
        self.title.setToolTip("The fixed snapshot subset projected with PCA at each snapshot, aligned to the previous "
                              "picture. Open the Embeddings tab to explore it.")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.plot, 1)
        self.run_dir: str | None = None
        self.coords: np.ndarray | None = None
        self.labels: np.ndarray | None = None
        self.epoch: int | None = None
        self.job = BackgroundJob(self, policy="latest")
        self.job.done.connect(self._show)
        self.job.failed.connect(lambda exc, _details: self.title.setText(f"Snapshot map: {exc}"))

    @property
    def busy(self) -> bool:
        return self.job.busy

    def clear(self, run_dir: str | None = None) -> None:
        self.job.cancel()  # a projection of the previous run is no longer wanted
        self.run_dir = run_dir
        self.coords = self.labels = None
        self.epoch = None
        self.cloud.set_positions(np.zeros((0, 2)))
        self.title.setText("Snapshot map: PCA of the latest snapshot")

    def show_snapshot(self, embeddings: Any, epoch: int | None) -> None:
        """An array (live event) or a snapshot file path (opened run)."""
        self.job.start(snapshot_pca_job, embeddings, self.run_dir, self.coords, epoch)

    def _show(self, result: tuple) -> None:
        coords, labels, epoch = result
        first = self.coords is None or len(self.coords) != len(coords)
        self.coords, self.labels, self.epoch = coords, labels, epoch
        self.cloud.set_positions(coords)
        if labels is not None:
            codes = np.unique(labels, return_inverse=True)[1].ravel()
            self.cloud.set_colours(codes, categorical_palette(int(codes.max()) + 1 if len(codes) else 1))
        when = f"epoch {epoch}" if epoch is not None else "latest"
        self.title.setText(f"Snapshot map ({when}): PCA of {len(coords):,} samples")
        if first:
            self.plot.getViewBox().autoRange(items=[self.cloud])
        else:  # grow the view if the cloud spreads out, without jumping around every epoch
            self.plot.getViewBox().autoRange(items=[self.cloud], padding=0.05)

    def set_dark(self, dark: bool) -> None:
        self.plot.setBackground("#1e1e1e" if dark else "w")
