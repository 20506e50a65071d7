"""The epoch scrubber under the plot: a slider through the aligned layouts of a run's snapshots (interpolated
between epochs), Play, and the switch for the selection's trails. It drives :class:`ExplorerState`'s frame."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from replearn_gui.explorer.state import ExplorerState

FRAME_MS = 33  # epoch animation: 30 frames a second
FRAMES_PER_EPOCH = 12  # interpolated frames between two snapshots


class EpochScrubber(QWidget):
    trails_toggled = Signal(bool)

    def __init__(self, state: ExplorerState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.play = QPushButton("▶ Play")
        self.play.setObjectName("epochPlay")
        self.play.setCheckable(True)
        self.play.toggled.connect(self._play_toggled)
        row.addWidget(self.play)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("epochSlider")
        self.slider.valueChanged.connect(lambda v: self.state.set_frame(v / FRAMES_PER_EPOCH))
        row.addWidget(self.slider, 1)
        self.label = QLabel("")
        self.label.setObjectName("epochName")
        self.label.setMinimumWidth(80)
        row.addWidget(self.label)
        self.show_trails = QCheckBox("Trails of the selection")
        self.show_trails.setObjectName("showTrails")
        self.show_trails.toggled.connect(self.trails_toggled)
        row.addWidget(self.show_trails)
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_MS)
        self.timer.timeout.connect(self._next_frame)
        self.setVisible(False)
        state.frames_changed.connect(self._frames_changed)
        state.frame_changed.connect(lambda _: self._show_position())
        state.space_changed.connect(lambda: (self.play.setChecked(False), self.setVisible(False)))

    def _frames_changed(self) -> None:
        names = self.state.frame_names
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(len(names) - 1, 0) * FRAMES_PER_EPOCH)
        self.slider.blockSignals(False)
        self._show_position()
        self.setVisible(len(names) > 0)

    def _show_position(self) -> None:
        names = self.state.frame_names
        self.label.setText(names[self.state.current_frame] if names else "")
        self.slider.blockSignals(True)
        self.slider.setValue(round(self.state.frame_pos * FRAMES_PER_EPOCH))
        self.slider.blockSignals(False)

    def _play_toggled(self, on: bool) -> None:
        self.play.setText("❚❚ Pause" if on else "▶ Play")
        if on and self.state.frames:
            if self.state.frame_pos >= len(self.state.frames) - 1:
                self.state.set_frame(0)
            self.timer.start()
        else:
            self.timer.stop()

    def _next_frame(self) -> None:
        nxt = self.state.frame_pos + 1 / FRAMES_PER_EPOCH
        if nxt > len(self.state.frames) - 1 + 1e-9:
            self.play.setChecked(False)
            return
        self.state.set_frame(nxt)
