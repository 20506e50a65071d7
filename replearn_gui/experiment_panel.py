"""The experiment panel: a read-only summary of the loaded experiment (the wizard edits it)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QPushButton, QWidget

LOADING = "Loading the training engine…"


class ExperimentPanel(QGroupBox):
    """A read-only summary of the loaded experiment (the wizard will edit it)."""

    retry = Signal()  # the user asks to load again after a failed load

    FIELDS = ("Experiment", "Dataset", "Encoder", "Objective", "Views", "Epochs", "Batch size", "Optimiser", "Seed",
              "Device")

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Experiment", parent)
        form = QFormLayout(self)
        # in a narrow column a value too wide beside its name goes below it, with the whole width
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.values: dict[str, QLabel] = {}
        for name in self.FIELDS:
            label = QLabel("…")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(f"{name}:", label)
            self.values[name] = label
        self.description = QLabel(LOADING)
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setWordWrap(True)
        self.description.setObjectName("experimentDescription")
        form.addRow(self.description)
        self.retry_button = QPushButton("Retry loading")
        self.retry_button.setObjectName("retryLoading")
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.hide()
        form.addRow(self.retry_button)

    def show_loading(self) -> None:
        """Loading again: the retry goes; the message says "Loading…" unless an experiment is on show."""
        self.retry_button.hide()
        if all(v.text() == "…" for v in self.values.values()):
            self.description.setText(LOADING)

    def show_failed(self, message: str, advice: str) -> None:
        """Where "Loading…" was: what failed and what to do, with a retry at hand."""
        self.description.setText(f"{message}\n\n{advice}")
        self.retry_button.show()

    def show_experiment(self, exp: Any) -> None:
        t = exp.training

        def changed(params) -> str:
            """Only the settings that differ from the defaults: the panel stays short and says what matters."""
            defaults = type(params)().to_dict()
            diff = {k: v for k, v in params.to_dict().items() if defaults.get(k) != v}
            return ", ".join(f"{k}={v}" for k, v in diff.items()) if diff else "defaults"

        enc, obj = changed(exp.encoder.params), changed(exp.objective.params)
        values = {
            "Experiment": exp.name, "Dataset": exp.data.name, "Encoder": f"{exp.encoder.name} ({enc})",
            "Objective": f"{exp.objective.name} ({obj})",
            "Views": self._views_text(exp), "Epochs": str(t.epochs),
            "Batch size": str(t.batch_size), "Optimiser": f"{t.optimizer}, lr {t.lr:g}, {t.schedule}",
            "Seed": str(t.seed), "Device": t.device,
        }
        for key, text in values.items():
            label = self.values[key]
            label.setText(text)
            label.setWordWrap(True)
            # wrapping happens between words: the longest word is the narrowest the value can be
            longest = max((label.fontMetrics().horizontalAdvance(w) for w in text.split()), default=0)
            label.setMinimumWidth(min(longest + 4, 200))
        self.description.setText(exp.description)
        self.retry_button.hide()

    @staticmethod
    def _views_text(exp: Any) -> str:
        if not exp.objective.entry.cls.uses_views:
            return "none (single view)"
        if not exp.views:
            return "the default augmentations for this data"
        return ", ".join(v.name for v in exp.views)
