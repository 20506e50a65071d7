"""The sidebar's list of runs in the runs folder: name, status and the key number."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QMenu, QVBoxLayout, QWidget

import core
from replearn_gui.wizard import _plain_label

STATUS_MARK = {"running": "▶", "finished": "✓", "stopped": "■", "failed": "✗"}


def describe_run(path: Path) -> tuple[str, str]:
    """(one-line label, tooltip) of a run directory, from its run.json."""
    try:
        status = core.RunDirectory(path).read_status()
    except OSError:
        status = {}
    state = status.get("status", "unknown")
    test = status.get("test") or {}
    key = next((f"{k.replace('test_', '')} {v:.3f}" for k in ("test_accuracy", "linear_probe_accuracy")
                if isinstance((v := test.get(k)), (int, float))), "")
    label = f"{STATUS_MARK.get(state, '?')} {path.name}" + (f"  ·  {key}" if key else "")
    tip = f"{path}\nstatus: {state}" + (f"\n{status.get('message')}" if status.get("message") else "")
    return label, tip


class RunList(QWidget):
    open_run = Signal(str)
    overlay_run = Signal(str)  # draw this run's curves beside the current ones
    clear_overlay = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(_plain_label("Runs (double-click to open)"))
        self.list = QListWidget()
        self.list.setObjectName("runList")
        self.list.itemDoubleClicked.connect(lambda item: self.open_run.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.list)
        self.root: Path | None = None

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            path = item.data(Qt.ItemDataRole.UserRole)
            menu.addAction("Open", lambda: self.open_run.emit(path))
            menu.addAction("Overlay its curves on the training view", lambda: self.overlay_run.emit(path))
        menu.addAction("Remove the overlay", self.clear_overlay.emit)
        menu.popup(self.list.viewport().mapToGlobal(pos))

    @Slot()
    def refresh(self, root: str | None = None) -> None:
        if root is not None:
            self.root = Path(root)
        if self.root is None or not self.root.is_dir():
            self.list.clear()
            return
        runs = core.RunDirectory.list_runs(self.root)
        selected = self.list.currentItem().data(Qt.ItemDataRole.UserRole) if self.list.currentItem() else None
        self.list.clear()
        for p in runs:
            label, tip = describe_run(p)
            item = QListWidgetItem(label)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, str(p))
            self.list.addItem(item)
            if str(p) == selected:
                self.list.setCurrentItem(item)
