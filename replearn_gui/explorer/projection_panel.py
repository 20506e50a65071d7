"""Choosing a projection and its parameters; computing it happens in the view's worker."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

import core
from replearn_gui.forms import ParamsForm
from replearn_gui.warm_up import start_umap_warm_up, umap_warm_up_text

WARM_UP_POLL_MS = 250  # how often the UMAP warm-up's phase is shown while it runs


class ProjectionPanel(QWidget):
    compute = Signal(str, dict)  # method, params
    cancel = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entries = {name: core.PROJECTIONS.get(name) for name in core.PROJECTIONS.names()}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.method = QComboBox()
        self.method.setObjectName("projectionMethod")
        for name, entry in self.entries.items():
            self.method.addItem(name.upper() if name != "tsne" else "t-SNE", name)
            self.method.setItemData(self.method.count() - 1, entry.summary, Qt.ItemDataRole.ToolTipRole)
        row.addWidget(self.method, 1)
        self.go = QPushButton("Compute")
        self.go.setObjectName("projectionCompute")
        self.go.clicked.connect(self._compute)
        row.addWidget(self.go)
        self.stop = QPushButton("Cancel")
        self.stop.setObjectName("projectionCancel")
        self.stop.setEnabled(False)
        self.stop.clicked.connect(self.cancel)
        row.addWidget(self.stop)
        layout.addLayout(row)
        self.about = QLabel()
        self.about.setWordWrap(True)
        self.about.setTextFormat(Qt.TextFormat.PlainText)
        self.about.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.about)
        self.form_holder = QVBoxLayout()
        layout.addLayout(self.form_holder)
        self.progress = QProgressBar()
        self.progress.setObjectName("projectionProgress")
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(8)
        layout.addWidget(self.progress)
        self.status = QLabel("")
        self.status.setObjectName("projectionStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)  # the form and the progress stay together at the top
        self.form: ParamsForm | None = None
        self._warm_up_timer = QTimer(self)
        self._warm_up_timer.setInterval(WARM_UP_POLL_MS)
        self._warm_up_timer.timeout.connect(self._show_warm_up)
        self.method.currentIndexChanged.connect(self._method_changed)
        self._method_changed()

    def current_method(self) -> str:
        return self.method.currentData()

    def set_method(self, name: str, params: dict[str, Any] | None = None) -> None:
        self.method.setCurrentIndex(self.method.findData(name))
        if params:
            self._method_changed(params)

    def _method_changed(self, values: Any = None) -> None:
        entry = self.entries[self.current_method()]
        if self.current_method() == "umap":
            start_umap_warm_up()  # UMAP chosen before the idle warm-up began: begin now
            self._show_warm_up()
        self.about.setText(entry.summary)
        if self.form is not None:
            self.form.setParent(None)
            self.form.deleteLater()
        self.form = ParamsForm(entry.Params, values if isinstance(values, dict) else None,
                               path="projection.params")
        self.form.changed.connect(lambda: self.go.setEnabled(self.form.params() is not None and not self.busy))
        self.form_holder.addWidget(self.form)

    @property
    def busy(self) -> bool:
        return self.stop.isEnabled()

    def _compute(self) -> None:
        params = self.form.params() if self.form is not None else None
        if params is not None:
            self.compute.emit(self.current_method(), params.to_dict())

    def _show_warm_up(self) -> None:
        """While UMAP is chosen and its warm-up compiles, say so (a Compute now waits for it, with that phase)."""
        text = umap_warm_up_text() if self.current_method() == "umap" else ""
        if text and not self.busy:
            self.status.setText(text + " Compute waits for it.")
        elif not text and self.status.text().startswith("Preparing UMAP in the background"):
            self.status.setText("UMAP is ready.")
        if text and not self._warm_up_timer.isActive():
            self._warm_up_timer.start()
        elif not text:
            self._warm_up_timer.stop()

    def set_busy(self, busy: bool) -> None:
        self.stop.setEnabled(busy)
        self.go.setEnabled(not busy and self.form is not None and self.form.params() is not None)
        if not busy:
            self.progress.setValue(0)

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.status.setText(message)
