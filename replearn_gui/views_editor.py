"""The views editor: the augmentations a multi-view objective draws each sample's views with, in order, each one
a registry entry with its Params form (generated, like every form), added, changed and removed by the user."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

import core
from replearn_gui.forms import ParamsForm


def augmentations_for(kind: str) -> list[str]:
    return [e.name for e in core.AUGMENTATIONS if kind in e.info.get("data_kinds", ())]


class AugmentationRow(QWidget):
    changed = Signal()
    removed = Signal(object)

    def __init__(self, kind: str, name: str, params: Any, index: int):
        super().__init__()
        self.setObjectName(f"view_{index}")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        top = QHBoxLayout()
        self.combo = QComboBox()
        self.combo.setObjectName("augmentationCombo")
        for n in augmentations_for(kind):
            self.combo.addItem(n, n)
        self.combo.setCurrentIndex(max(self.combo.findData(name), 0))
        self.combo.currentIndexChanged.connect(self._renamed)
        self.remove = QPushButton("Remove")
        self.remove.setObjectName("removeAugmentation")
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        top.addWidget(self.combo, 1)
        top.addWidget(self.remove)
        layout.addLayout(top)
        self.index = index
        self.form: ParamsForm | None = None
        self._build(params)

    def _build(self, params: Any) -> None:
        if self.form is not None:
            self.form.deleteLater()
        entry = core.AUGMENTATIONS.get(self.combo.currentData())
        self.combo.setToolTip(entry.summary)
        self.form = ParamsForm(entry.Params, params, path=f"views[{self.index}].params")
        self.form.changed.connect(self.changed)
        self.layout().addWidget(self.form)

    def _renamed(self) -> None:
        self._build(None)  # another augmentation: its own defaults
        self.changed.emit()

    def spec(self) -> tuple[str, Any] | None:
        return None if not self.form.is_valid() else (self.combo.currentData(), self.form.params())


class ViewsEditor(QGroupBox):
    """``specs()`` is the pipeline as (name, params) pairs; ``changed`` fires on every edit."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Views: the augmentations each view is drawn with, in order", parent)
        self.setObjectName("viewsEditor")
        self.setToolTip("Multi-view objectives learn what stays the same across views: the augmentations decide "
                        "what the representation learns to ignore")
        self.rows_layout = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addLayout(self.rows_layout)
        self.add_button = QPushButton("Add augmentation")
        self.add_button.setObjectName("addAugmentation")
        self.add_button.clicked.connect(self._add)
        layout.addWidget(self.add_button)
        self.rows: list[AugmentationRow] = []
        self.kind: str | None = None

    def set_views(self, kind: str, specs) -> None:
        """Show ``specs`` ((name, params) pairs; those that do not fit ``kind`` are dropped)."""
        for row in self.rows:
            row.deleteLater()
        self.rows = []
        self.kind = kind
        fitting = augmentations_for(kind)
        for name, params in specs:
            if name in fitting:
                self._append(name, params)
        self.add_button.setEnabled(bool(fitting))
        self.changed.emit()

    def _append(self, name: str, params: Any) -> None:
        row = AugmentationRow(self.kind, name, params, len(self.rows))
        row.changed.connect(self.changed)
        row.removed.connect(self._remove)
        self.rows.append(row)
        self.rows_layout.addWidget(row)

    def _add(self) -> None:
        self._append(augmentations_for(self.kind)[0], None)
        self.changed.emit()

    def _remove(self, row: AugmentationRow) -> None:
        self.rows.remove(row)
        row.deleteLater()
        self.changed.emit()

    def specs(self) -> list[tuple[str, Any]] | None:
        out = [row.spec() for row in self.rows]
        return None if any(s is None for s in out) else out

    def is_valid(self) -> bool:
        return bool(self.rows) and self.specs() is not None
