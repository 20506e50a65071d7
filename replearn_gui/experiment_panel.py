"""The experiment panel: a read-only summary of the loaded experiment (the wizard edits it)."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QGroupBox, QLabel, QWidget


class ExperimentPanel(QGroupBox):
    """A read-only summary of the loaded experiment (the wizard will edit it)."""

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
        self.description = QLabel("Loading the training engine…")
        self.description.setTextFormat(Qt.TextFormat.PlainText)
        self.description.setWordWrap(True)
        self.description.setObjectName("experimentDescription")
        form.addRow(self.description)

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

    @staticmethod
    def _views_text(exp: Any) -> str:
        if not exp.objective.entry.cls.uses_views:
            return "none (single view)"
        if not exp.views:
            return "the default augmentations for this data"
        return ", ".join(v.name for v in exp.views)
