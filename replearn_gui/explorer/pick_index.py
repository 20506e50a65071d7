"""Which point is under the mouse, at any number of points, without ever blocking the GUI thread.

Picking answers "the visible point nearest to the cursor within a few screen pixels". A k-d tree answers it in
microseconds, but building one over a million points takes 1.5-5 s here: that build runs in a worker
(:class:`~replearn_gui.jobs.BackgroundJob`; scipy's build releases the GIL), and until the tree of the current
points is ready every pick is answered by a scan of the points near the cursor (a box test over contiguous
float32 axes, then exact float64 distances for the few inside it: a few ms at 1M). Both give the same answer.
Below :data:`TREE_FROM` visible points the scan is all there is (under a millisecond).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal

from replearn_gui.jobs import BackgroundJob

TREE_FROM = 50_000  # visible points from which a k-d tree is built (in a worker) to answer picks


def build_tree(points: np.ndarray):
    """A k-d tree over ``points`` (already scaled to screen-equal axes). Runs in a worker thread."""
    from scipy.spatial import cKDTree

    return cKDTree(points)


def _tree_job(points: np.ndarray, positions: np.ndarray, version: int, aspect: float):
    return build_tree(points), positions, version, aspect


def scan_pick(xy: np.ndarray, x32: np.ndarray, y32: np.ndarray, visible: np.ndarray | None, x: float, y: float,
              sx: float, sy: float, radius_px: float, extent: float) -> int | None:
    """The nearest visible point to (x, y) within ``radius_px`` on-screen pixels (pixel size ``sx`` × ``sy``
    data units), by a scan. The float32 box is padded by float32's rounding so no point inside is missed."""
    pad = 4 * np.finfo(np.float32).eps * (extent + abs(x) + abs(y))
    rx, ry = radius_px * sx + pad, radius_px * sy + pad
    near = x32 >= np.float32(x - rx)  # a vertical strip over every point: two passes
    near &= x32 <= np.float32(x + rx)
    idx = np.flatnonzero(near)
    if len(idx):  # then the box, over the strip's few points only
        ys = y32[idx]
        idx = idx[(ys >= np.float32(y - ry)) & (ys <= np.float32(y + ry))]
    if visible is not None and len(idx):
        idx = idx[visible[idx]]
    if not len(idx):
        return None
    d2 = ((xy[idx, 0] - x) / sx) ** 2 + ((xy[idx, 1] - y) / sy) ** 2
    best = int(np.argmin(d2))
    return int(idx[best]) if d2[best] < radius_px ** 2 else None


class PickIndex(QObject):
    """Picks over one :class:`PointCloud`'s points; :meth:`invalidate` when positions or visibility change.

    ``ready`` is emitted when a worker-built tree for the current points arrives (picks are correct before it
    too, only slower)."""

    ready = Signal()
    failed = Signal(str)  # a tree could not be built (picks keep being answered by the scan)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._version = 0  # bumped by every change of positions or visibility: older trees are stale
        self._tree: tuple | None = None  # (tree, positions it indexes or None for all, aspect, version)
        self._requested: tuple[int, float] | None = None  # (version, aspect) of the newest tree asked for
        self.job = BackgroundJob(self, policy="latest")  # a newer layout's request waits; the older one ends
        self.job.done.connect(self._built)
        self.job.failed.connect(lambda exc, _details: self.failed.emit(
            f"The pick index could not be built ({exc}); hovering scans the points instead."))

    @property
    def has_tree(self) -> bool:
        """True when picks are answered by a tree of the current points."""
        return self._tree is not None and self._tree[3] == self._version

    @property
    def building(self) -> bool:
        return self.job.busy

    def invalidate(self) -> None:
        self._version += 1
        self._tree = None

    def pick(self, cloud, x: float, y: float, pixel_size: tuple[float, float], radius_px: float) -> int | None:
        sx, sy = (max(float(abs(v)), 1e-300) for v in pixel_size)
        aspect = sy / sx
        tree = self._tree
        if tree is not None and tree[3] == self._version and abs(tree[2] - aspect) <= 1e-6 * aspect:
            kd, positions, _, _ = tree
            if kd.n == 0:
                return None
            dist, k = kd.query([x, y / aspect], k=1, distance_upper_bound=radius_px * sx)
            if not np.isfinite(dist):
                return None
            return int(k) if positions is None else int(positions[k])
        visible = cloud.visible
        n_visible = len(cloud.positions) if visible is None else int(np.count_nonzero(visible))
        if n_visible >= TREE_FROM and self._requested != (self._version, aspect):
            self._request(cloud, aspect)
        return scan_pick(cloud.positions, *cloud.axes32, visible, x, y, sx, sy, radius_px, cloud.extent)

    def _request(self, cloud, aspect: float) -> None:
        """Start building a tree of the points as they are now. The positions are copied here, on the GUI thread
        (an animation frame rewrites its buffer in place): one plain copy when every point is visible."""
        xy, visible = cloud.positions, cloud.visible
        positions = None if visible is None or visible.all() else np.flatnonzero(visible)
        points = xy.copy() if positions is None else xy[positions]
        if not np.isfinite(float(points.sum())):  # one pass finds out whether any coordinate is NaN / inf
            ok = np.isfinite(points).all(axis=1)
            positions = np.flatnonzero(ok) if positions is None else positions[ok]
            points = points[ok]
        if aspect != 1.0:
            points[:, 1] /= aspect
        self._requested = (self._version, aspect)
        self.job.start(_tree_job, points, positions, self._version, aspect)

    def _built(self, result: tuple) -> None:
        kd, positions, version, aspect = result
        if version != self._version:
            return  # the points changed while it was built: the next pick asks for a new one
        self._tree = (kd, positions, aspect, version)
        self.ready.emit()
