"""A scatter item for every point of a representation (100k and more) that stays interactive.

pyqtgraph's ScatterPlotItem spends 300-750 ms in ``setData`` at 100k points (it builds per-point records), which
rules out live t-SNE layouts, epoch animation and recolouring. This item keeps plain numpy arrays: positions, a
colour index per point into a palette, a visibility mask. Painting maps the positions to device pixels with the
painter's affine transform and stamps one pre-rendered disc per point from a sprite atlas in a single
``QPainter.drawPixmapFragments`` call (about 20 ms for 100k points here). Changing positions or colours costs
an array copy and a repaint. Picking is :class:`~replearn_gui.explorer.pick_index.PickIndex`'s: a scan near the
cursor, and a k-d tree built in a worker for large layouts.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPaintEngine, QPainter, QPen, QPixmap

from replearn_gui.explorer.pick_index import PickIndex

LOD_MIN_POINTS = 20_000  # below this many points in view every one is stamped
LOD_DENSE_POINTS = 300_000  # more in view than this: one point per two-pixel cell
FRAGMENT_FIELDS = 10  # QPainter.PixmapFragment: x, y, sourceLeft, sourceTop, width, height, scaleX, scaleY, rotation, opacity


def points_in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points, one polygon edge at a time (a lasso has a few hundred edges)."""
    poly = np.asarray(polygon, dtype=np.float64)
    x, y = points[:, 0], points[:, 1]
    inside = np.zeros(len(points), dtype=bool)
    if len(poly) < 3:
        return inside
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0), strict=True):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_at)
    return inside


class PointCloud(pg.GraphicsObject):
    def __init__(self, size: float = 5.0, opacity: float = 0.85):
        super().__init__()
        self._xy = np.zeros((0, 2), dtype=np.float64)
        self._colour = np.zeros(0, dtype=np.int32)
        self._palette: list[tuple[int, int, int]] = [(70, 110, 200)]
        self._visible: np.ndarray | None = None
        self._emphasis: np.ndarray | None = None
        self._draw_order = np.zeros(0, dtype=np.int64)
        self._bounds = QRectF()
        self.size = float(size)
        self.opacity = float(opacity)
        self._atlas: QPixmap | None = None
        self._atlas_key: tuple | None = None
        self._fragments = np.zeros((0, FRAGMENT_FIELDS), dtype=np.float64)
        self._fragments_diameter: tuple | None = None
        # caches for painting, dropped by the setters that change them (None: to be rebuilt)
        self._order: np.ndarray | None = None
        self._style: tuple | None = None
        self._style_key: tuple | None = None
        self._pixel_owner = np.zeros(0, dtype=np.int64)
        self._ordered_xy: tuple | None = None
        self._x32 = self._y32 = np.zeros(0, dtype=np.float32)
        self.level_of_detail = True  # dense views stamp one point per device pixel (see _topmost_per_pixel)
        self.pick_index = PickIndex(self)
        self._extent = 0.0
        self.last_drawn = 0  # points stamped by the last paint (culling shows here)

    # ---- data ---------------------------------------------------------------------------------------------
    @property
    def positions(self) -> np.ndarray:
        return self._xy

    def set_positions(self, xy: np.ndarray) -> None:
        """New coordinates for the same points (or a new set: then colours and visibility reset)."""
        xy = np.asarray(xy, dtype=np.float64)[:, :2]
        if len(xy) != len(self._xy):
            self._colour = np.zeros(len(xy), dtype=np.int32)
            self._visible = None
            self._emphasis = None
            # a fixed random drawing order: no class is always painted on top of the others
            self._draw_order = np.random.default_rng(0).permutation(len(xy))
            self._order = None
        self._xy = np.ascontiguousarray(xy)
        # contiguous float32 axes for painting (cheap to gather and map); the float64 pair stays for picking
        self._x32 = np.ascontiguousarray(self._xy[:, 0], dtype=np.float32)
        self._y32 = np.ascontiguousarray(self._xy[:, 1], dtype=np.float32)
        self.prepareGeometryChange()
        if len(xy) and np.isfinite(float(self._x32.sum()) + float(self._y32.sum())):  # all finite: one pass
            lo = (float(self._x32.min()), float(self._y32.min()))
            hi = (float(self._x32.max()), float(self._y32.max()))
        else:
            finite = self._xy[np.isfinite(self._xy).all(axis=1)]
            lo, hi = (finite.min(axis=0), finite.max(axis=0)) if len(finite) else (None, None)
        if lo is not None:
            self._bounds = QRectF(lo[0], lo[1], max(hi[0] - lo[0], 1e-9), max(hi[1] - lo[1], 1e-9))
        else:
            self._bounds = QRectF()
        self._extent = 0.0 if lo is None else float(max(abs(lo[0]), abs(lo[1]), abs(hi[0]), abs(hi[1])))
        self.pick_index.invalidate()
        self._ordered_xy = None
        self.update()

    def set_colours(self, index: np.ndarray, palette: list[tuple[int, int, int]]) -> None:
        """Point i is drawn in ``palette[index[i]]``."""
        index = np.asarray(index, dtype=np.int32)
        if len(index) != len(self._xy):
            raise ValueError(f"{len(index)} colours for {len(self._xy)} points")
        if len(palette) == 0 or (len(index) and (index.min() < 0 or index.max() >= len(palette))):
            raise ValueError("a colour index outside the palette")
        self._colour = index
        self._style = None
        self._palette = [tuple(int(c) for c in rgb[:3]) for rgb in palette]
        self.update()

    def set_visible(self, mask: np.ndarray | None) -> None:
        if mask is None and self._visible is None:
            return  # nothing changes: keep the drawing caches (recolouring and animation frames pass here)
        self._visible = None if mask is None else np.asarray(mask, dtype=bool)
        self._order = None
        self.pick_index.invalidate()
        self.update()

    @property
    def emphasis(self) -> np.ndarray | None:
        return self._emphasis

    @property
    def visible(self) -> np.ndarray | None:
        return self._visible

    def set_emphasis(self, mask: np.ndarray | None) -> None:
        """Emphasised points are drawn on top at full opacity, the others faded (selections, search matches)."""
        if mask is None and self._emphasis is None:
            return
        self._emphasis = None if mask is None else np.asarray(mask, dtype=bool)
        self._order = None
        self.update()

    def set_style(self, size: float | None = None, opacity: float | None = None) -> None:
        if size is not None:
            self.size = float(size)
        if opacity is not None:
            self.opacity = float(opacity)
        self.update()

    @property
    def axes32(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y as contiguous float32 arrays (what painting maps, and picking scans)."""
        return self._x32, self._y32

    @property
    def extent(self) -> float:
        """The largest absolute coordinate of a finite point (float32 rounding scales with it)."""
        return self._extent

    def visible_positions(self) -> np.ndarray:
        return np.arange(len(self._xy)) if self._visible is None else np.flatnonzero(self._visible)

    # ---- picking ----------------------------------------------------------------------------------------------
    def pick(self, x: float, y: float, pixel_size: tuple[float, float], radius_px: float = 6.0) -> int | None:
        """The visible point nearest to data position (x, y) within ``radius_px`` screen pixels, or None: the
        on-screen distance, even when the axes are not equally scaled. Never waits for an index to be built."""
        return self.pick_index.pick(self, x, y, pixel_size, radius_px)

    def positions_in(self, polygon: np.ndarray) -> np.ndarray:
        """Visible points inside a polygon given in data coordinates (lasso), as positions."""
        positions = self.visible_positions()
        return positions[points_in_polygon(self._xy[positions], polygon)]

    def positions_in_rect(self, x0: float, y0: float, x1: float, y1: float) -> np.ndarray:
        positions = self.visible_positions()
        p = self._xy[positions]
        inside = ((p[:, 0] >= min(x0, x1)) & (p[:, 0] <= max(x0, x1)) & (p[:, 1] >= min(y0, y1))
                  & (p[:, 1] <= max(y0, y1)))
        return positions[inside]

    # ---- painting ----------------------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt)
        return self._bounds

    def _sprite_atlas(self, diameter: int) -> QPixmap:
        key = (diameter, tuple(self._palette))
        if self._atlas_key != key:
            atlas = QPixmap(diameter * len(self._palette), diameter)
            atlas.fill(Qt.GlobalColor.transparent)
            p = QPainter(atlas)
            p.setRenderHint(QPainter.RenderHint.Antialiasing)
            for i, rgb in enumerate(self._palette):
                p.setPen(QPen(QColor(*rgb).darker(130), 0.6 if diameter >= 6 else 0))
                p.setBrush(QBrush(QColor(*rgb)))
                p.drawEllipse(QRectF(i * diameter + 0.5, 0.5, diameter - 1.0, diameter - 1.0))
            p.end()
            self._atlas, self._atlas_key = atlas, key
        return self._atlas

    def _draw_order_now(self) -> np.ndarray:
        """Visible points in drawing order, emphasised ones last (on top); cached until visibility or emphasis
        change, so a pan or an animation frame does not redo it."""
        if self._order is None:
            order = self._draw_order if self._visible is None else self._draw_order[self._visible[self._draw_order]]
            if self._emphasis is not None:
                strong = self._emphasis[order]
                order = np.concatenate([order[~strong], order[strong]])
            self._order = order
            self._style = None
            self._ordered_xy = None
        return self._order

    def _positions_in_order(self, order: np.ndarray) -> np.ndarray:
        """x and y (float32) in drawing order: one gather per new layout or order, none per pan."""
        if self._ordered_xy is None:
            self._ordered_xy = (np.take(self._x32, order), np.take(self._y32, order))
        return self._ordered_xy

    def _per_point_style(self, order: np.ndarray, diameter: int) -> tuple[np.ndarray, np.ndarray]:
        """Sprite column and opacity of each point in drawing order (cached until colours, emphasis or size
        change)."""
        key = (diameter, self.opacity)
        if self._style is None or self._style_key != key:
            source = (self._colour[order] * diameter).astype(np.float64)
            if self._emphasis is None:
                alpha = np.full(len(order), self.opacity)
            else:
                alpha = np.where(self._emphasis[order], self.opacity, 0.12 * self.opacity)
            self._style, self._style_key = (source, alpha), key
        return self._style

    def paint(self, p: QPainter, *args) -> None:
        if not len(self._xy):
            return
        order = self._draw_order_now()
        t = p.transform()
        if p.paintEngine() is not None and p.paintEngine().type() not in (QPaintEngine.Type.Raster,
                                                                          QPaintEngine.Type.OpenGL2):
            x, y = self._xy[order, 0], self._xy[order, 1]
            px = t.m11() * x + t.m21() * y + t.dx()
            py = t.m12() * x + t.m22() * y + t.dy()
            return self._paint_vector(p, px, py, order)  # files get every point, exactly
        device = p.device()
        dpr = device.devicePixelRatioF() if hasattr(device, "devicePixelRatioF") else 1.0
        diameter = max(2, round(self.size * dpr))
        source, alpha = self._per_point_style(order, diameter)
        x, y = self._positions_in_order(order)
        px = np.float32(t.m11()) * x
        px += np.float32(t.m21()) * y
        px += np.float32(t.dx())
        py = np.float32(t.m12()) * x
        py += np.float32(t.m22()) * y
        py += np.float32(t.dy())
        margin = self.size
        w, h = device.width(), device.height()
        inside = px > -margin
        inside &= px < w + margin
        inside &= py > -margin
        inside &= py < h + margin
        keep = np.flatnonzero(inside)
        if self.level_of_detail and len(keep) > LOD_MIN_POINTS:
            # a solid field of points (more than LOD_DENSE_POINTS in view): two-pixel cells look the same
            cell = 2 if len(keep) > LOD_DENSE_POINTS else 1
            keep = keep[self._topmost_per_pixel(px[keep], py[keep], w, h, margin, cell)]
        n = len(keep)
        self.last_drawn = n
        if not n:
            return
        atlas = self._sprite_atlas(diameter)
        atlas.setDevicePixelRatio(1.0)
        if len(self._fragments) < n or self._fragments_diameter != (diameter, dpr):
            self._fragments = np.zeros((max(n, len(self._fragments)), FRAGMENT_FIELDS), dtype=np.float64)
            self._fragments[:, 4] = self._fragments[:, 5] = diameter  # the columns that never change
            self._fragments[:, 6] = self._fragments[:, 7] = 1.0 / dpr
            self._fragments_diameter = (diameter, dpr)
        f = self._fragments[:n]
        f[:, 0] = px[keep]
        f[:, 1] = py[keep]
        f[:, 2] = source[keep]
        f[:, 9] = alpha[keep]
        p.save()
        p.resetTransform()
        # PySide6 takes a pointer to the first fragment of a C array plus its length: numpy's buffer is that array
        first = shiboken6.wrapInstance(f.ctypes.data, QPainter.PixmapFragment)
        p.drawPixmapFragments(first, n, atlas)
        p.restore()

    def _topmost_per_pixel(self, px: np.ndarray, py: np.ndarray, w: int, h: int, margin: float,
                           cell_px: int) -> np.ndarray:
        """Level of detail for dense views: of the points whose centres fall in the same device pixel only the
        one drawn last (the one on top) is stamped; the others would be covered by it to within a pixel. Returns
        positions into ``px`` in drawing order. Zoomed in, points spread out and nothing is dropped."""
        m = int(np.ceil(margin)) + 1
        cols = (w + 2 * m) // cell_px + 1
        ix = ((px + m) / cell_px).astype(np.int64)
        iy = ((py + m) / cell_px).astype(np.int64)
        cell = iy * cols + ix
        size = cols * ((h + 2 * m) // cell_px + 1)
        if len(self._pixel_owner) < size:
            self._pixel_owner = np.empty(size, dtype=np.int64)
        owner = self._pixel_owner[:size]
        owner.fill(-1)
        # one plain fancy assignment: where centres share a pixel, the last in drawing order is written last
        owner[cell] = np.arange(len(cell))
        won = np.zeros(len(cell), dtype=bool)
        won[owner[owner >= 0]] = True
        return np.flatnonzero(won)

    def _paint_vector(self, p: QPainter, px: np.ndarray, py: np.ndarray, order: np.ndarray) -> None:
        """SVG / PDF / print: real circles, one path per colour, so the file stays a vector drawing."""
        from PySide6.QtGui import QPainterPath

        p.save()
        p.resetTransform()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = self.size / 2
        colours = self._colour[order]
        for c in np.unique(colours):
            path = QPainterPath()
            for x, y in zip(px[colours == c].tolist(), py[colours == c].tolist(), strict=True):
                path.addEllipse(QPointF(x, y), r, r)
            colour = QColor(*self._palette[int(c)])
            colour.setAlphaF(self.opacity)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(QBrush(colour))
            p.drawPath(path)
        self.last_drawn = len(order)
        p.restore()
