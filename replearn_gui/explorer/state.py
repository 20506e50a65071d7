"""What one embedding view shows, outside any widget: the space, its layout, colouring, hidden categories,
selection, search matches, the clicked point and its neighbours, and the epoch frames.

Views subscribe to the signals (napari's components / _qt split): the plot, the legend, the epoch scrubber, the
selection panel and the exports read this state and change it only through its setters, so two widgets never
hold two versions of the same fact. Positions are row numbers of the space (0..n-1), not dataset rows.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Signal

from replearn_gui.explorer.colouring import Colouring

NOTHING = np.zeros(0, dtype=np.int64)


class ExplorerState(QObject):
    space_changed = Signal()  # a new set of points: everything else was reset
    layout_changed = Signal(str)  # new coordinates: "new" (a finished layout), "forming" (t-SNE partials), "frame"
    colouring_changed = Signal()
    hidden_changed = Signal()  # categories ticked off in the legend
    emphasis_changed = Signal()  # selection, search matches or the linked view's selection
    selection_changed = Signal()
    query_changed = Signal()  # the clicked point and its neighbours
    frames_changed = Signal()  # snapshots (or their aligned layouts) arrived
    frame_changed = Signal(bool)  # the shown frame moved; True when it moved to another snapshot

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.space: Any = None
        self.coords: np.ndarray | None = None  # the layout (n, 1-3)
        self.colours: Colouring | None = None
        self.hidden: frozenset[int] = frozenset()  # category indexes of ``colours`` not drawn
        self.selected = NOTHING
        self.matches: np.ndarray | None = None
        self.linked: np.ndarray | None = None
        self.query: int | None = None
        self.neighbours = NOTHING
        self.kept: np.ndarray | None = None  # per-point share of neighbours the layout keeps
        self.frame_embeddings: list[np.ndarray] = []
        self.frame_names: list[str] = []
        self.frames: list[np.ndarray] = []  # aligned layouts of the snapshots
        self.frame_pos = 0.0
        self._between: np.ndarray | None = None

    # ---- the points ------------------------------------------------------------------------------------------
    def set_space(self, space: Any) -> None:
        self.space = space
        self.coords = self.colours = self.matches = self.linked = self.query = self.kept = None
        self.hidden = frozenset()
        self.selected = self.neighbours = NOTHING
        self.frame_embeddings, self.frame_names, self.frames = [], [], []
        self.frame_pos = 0.0
        self.space_changed.emit()

    @property
    def n(self) -> int:
        return 0 if self.space is None else self.space.n

    @property
    def embeddings(self) -> np.ndarray:
        """The vectors neighbours are searched in: the current snapshot's while scrubbing epochs."""
        if self.frame_embeddings:
            return self.frame_embeddings[self.current_frame]
        return self.space.embeddings

    def set_layout(self, coords: np.ndarray, how: str = "new") -> None:
        coords = np.asarray(coords, dtype=np.float64)
        if coords.ndim != 2 or len(coords) != self.n:
            raise ValueError(f"a layout of shape {coords.shape} for {self.n} points")
        self.coords = coords
        self.kept = None  # faithfulness belongs to one layout
        self.layout_changed.emit(how)

    def set_kept(self, kept: np.ndarray | None) -> None:
        self.kept = kept

    # ---- colour and visibility ---------------------------------------------------------------------------
    def set_colouring(self, colours: Colouring) -> None:
        self.colours = colours
        self.hidden = frozenset()
        self.colouring_changed.emit()
        self.hidden_changed.emit()

    def set_hidden(self, categories: set[int] | frozenset[int]) -> None:
        self.hidden = frozenset(int(c) for c in categories)
        self.hidden_changed.emit()

    def visible_mask(self) -> np.ndarray | None:
        if not self.hidden or self.colours is None:
            return None
        return ~np.isin(self.colours.index, list(self.hidden))

    # ---- selection, matches, query -----------------------------------------------------------------------
    def select(self, positions: np.ndarray) -> None:
        self.selected = np.asarray(positions, dtype=np.int64)
        self.selection_changed.emit()
        self.emphasis_changed.emit()

    def set_matches(self, positions: np.ndarray | None) -> None:
        self.matches = None if positions is None else np.asarray(positions, dtype=np.int64)
        self.emphasis_changed.emit()

    def set_linked(self, positions: np.ndarray | None) -> None:
        self.linked = positions
        self.emphasis_changed.emit()

    def emphasis_mask(self) -> np.ndarray | None:
        """Points drawn at full strength over the faded rest: the selection, search matches, the linked view's."""
        mask = None
        for group in (self.selected if len(self.selected) else None, self.matches, self.linked):
            if group is not None:
                mask = np.zeros(self.n, dtype=bool) if mask is None else mask
                mask[group] = True
        return mask

    def set_query(self, position: int | None, neighbours: np.ndarray = NOTHING) -> None:
        self.query = None if position is None else int(position)
        self.neighbours = np.asarray(neighbours, dtype=np.int64)
        self.query_changed.emit()

    # ---- epochs ------------------------------------------------------------------------------------------
    def set_snapshots(self, embeddings: list[np.ndarray], names: list[str]) -> None:
        """Scrub through snapshots of the same points (the space's points, in its order)."""
        self.frame_embeddings = [np.asarray(z) for z in embeddings]
        self.frame_names = list(names)
        self.frames = []
        self.frame_pos = float(max(len(names) - 1, 0))
        self.frames_changed.emit()

    def set_frames(self, layouts: list[np.ndarray]) -> None:
        self.frames = [np.asarray(c, dtype=np.float64) for c in layouts]
        self.frames_changed.emit()

    @property
    def current_frame(self) -> int:
        return round(self.frame_pos) if self.frame_embeddings else 0

    def set_frame(self, position: float) -> None:
        """Show the layout at ``position`` (fractional positions interpolate between two snapshots)."""
        if not self.frames:
            return
        position = float(np.clip(position, 0, len(self.frames) - 1))
        before = self.current_frame
        self.frame_pos = position
        i = int(np.floor(position))
        t = position - i
        if t == 0 or i + 1 >= len(self.frames):
            coords = self.frames[i]
        else:  # in place in one buffer: an animation frame of 1M points allocates nothing
            if self._between is None or self._between.shape != self.frames[i].shape:
                self._between = np.empty_like(self.frames[i])
            coords = np.multiply(self.frames[i], 1 - t, out=self._between)
            coords += t * self.frames[i + 1]
        self.coords = coords
        moved = self.current_frame != before
        if moved:
            self.kept = None
        self.layout_changed.emit("frame")
        self.frame_changed.emit(moved)
