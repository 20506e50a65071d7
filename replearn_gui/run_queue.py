"""The run queue: experiments that start one after another when the current run ends."""
from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QGroupBox, QListWidget, QPushButton, QVBoxLayout, QWidget


class RunQueue(QGroupBox):
    """A list of experiments waiting their turn; hidden while empty."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Queued runs", parent)
        self.setObjectName("queueBox")
        layout = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.setObjectName("queueList")
        self.list.setMaximumHeight(90)
        layout.addWidget(self.list)
        self.remove_button = QPushButton("Remove from queue")
        self.remove_button.setObjectName("removeFromQueue")
        self.remove_button.clicked.connect(self.remove_selected)
        layout.addWidget(self.remove_button)
        self.items: list[Any] = []
        self.setVisible(False)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, experiment: Any) -> int:
        """Queue ``experiment``; its position (1 = next)."""
        self.items.append(experiment)
        self._show()
        return len(self.items)

    def pop(self) -> Any | None:
        """The next experiment, taken off the queue (None when empty)."""
        if not self.items:
            return None
        experiment = self.items.pop(0)
        self._show()
        return experiment

    def remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.items):
            del self.items[row]
            self._show()

    def _show(self) -> None:
        self.list.clear()
        for exp in self.items:
            self.list.addItem(f"{exp.name} · {exp.objective.name} on {exp.data.name}, {exp.training.epochs} epochs")
        self.setVisible(bool(self.items))
