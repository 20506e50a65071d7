"""The sidebar's list of runs in the runs folder: name, status and the key number; open, resume, overlay, rename,
reveal and delete a run.

The runs are described in a worker (``RunDirectory.read_status`` and, for a run still being written, its latest
epoch from ``read_events``): the GUI thread never reads run files.
"""
from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal, Slot
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.jobs import BackgroundJob
from replearn_gui.plain_text import plain_tooltip

STATUS_MARK = {"running": "▶", "finished": "✓", "stopped": "■", "failed": "✗", "diverged": "⚠",
               "interrupted": "⊘"}
RUN_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9 _.\-]{0,120}$")


def describe_run(path: Path) -> tuple[str, str]:
    """(one-line label, tooltip) of a run directory, from its status and, while it runs, its latest epoch; a run
    whose process vanished while it said "running" is "interrupted" (core asks the run's lock, without taking it
    for long)."""
    run = core.RunDirectory(path)
    status = run.read_status()
    state = run.state()
    shown = "diverged" if status.get("verdict") == "diverged" else state
    test = status.get("test") or {}
    key = next((f"{k.replace('test_', '')} {v:.3f}" for k in ("test_accuracy", "linear_probe_accuracy")
                if isinstance((v := test.get(k)), (int, float))), "")
    if state == "running" and not key:
        try:
            last = None
            for event in run.read_events():
                if isinstance(event, (core.RunStarted, core.EpochEnded)):
                    last = event
            if isinstance(last, core.EpochEnded):
                key = f"epoch {last.epoch}"
        except core.ReplearnError:
            pass
    if shown == "diverged":  # said in words, not only by the mark: it ended, but its numbers mean nothing
        key = f"diverged  ·  {key}" if key else "diverged"
    label = f"{STATUS_MARK.get(shown, '?')} {path.name}" + (f"  ·  {key}" if key else "")
    tip = f"{path}\nstatus: {shown}" + (f"\n{status.get('message')}" if status.get("message") else "")
    if status.get("advice"):
        tip += f"\n{status['advice']}"
    return label, tip


def list_runs(root: str) -> list[tuple[str, str, str, str]]:
    """(path, label, tooltip, status) of every run under ``root``, newest first (in a worker)."""
    out = []
    for p in core.RunDirectory.list_runs(root):
        run = core.RunDirectory(p)
        stamp = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in (run.status_path, run.metrics_path))
        cached = _DESCRIBED.get(str(p))
        if cached is None or cached[0] != stamp:  # describe again only what changed since the last refresh
            label, tip = describe_run(p)
            cached = _DESCRIBED[str(p)] = (stamp, (label, tip, run.state()))
        out.append((str(p), *cached[1]))
    return out


_DESCRIBED: dict[str, tuple[tuple, tuple]] = {}  # path -> (file stamps, description); used by one worker at a time


class RunList(QWidget):
    open_run = Signal(str)
    resume_run = Signal(str)
    overlay_run = Signal(str)  # draw this run's curves beside the current ones
    clear_overlay = Signal()
    run_removed = Signal(str)  # deleted: a view showing it lets go
    run_renamed = Signal(str, str)  # old path, new path: a view showing it follows it
    runs_listed = Signal(list)  # the run directories now listed: other run pickers show the same runs

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QLabel("Runs (double-click to open, right-click for more)")
        title.setTextFormat(Qt.TextFormat.PlainText)
        title.setWordWrap(True)
        layout.addWidget(title)
        self.list = QListWidget()
        self.list.setObjectName("runList")
        self.list.setMinimumHeight(80)
        self.list.setWordWrap(True)  # long run names wrap instead of hiding their status behind a scroll bar
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.itemDoubleClicked.connect(lambda item: self.open_run.emit(item.data(Qt.ItemDataRole.UserRole)))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        layout.addWidget(self.list)
        self.root: Path | None = None
        self.busy_run: str | None = None  # the run this app is training: never renamed or deleted under it
        self.statuses: dict[str, str] = {}
        # whether a run can be resumed: the window's own test (the same as Run → Resume's), else its status
        self.resumable: Callable[[str], bool] | None = None
        self.engine_loaded = False
        self.message = ""
        self.job = BackgroundJob(self, policy="latest")
        self.job.done.connect(self._fill)

        def action(text: str, slot, shortcut=None) -> QAction:
            a = QAction(text, self.list)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(shortcut)
                a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
                self.list.addAction(a)
            return a

        self.open_action = action("Open", lambda: self._emit(self.open_run), Qt.Key.Key_Return)
        self.resume_action = action("Resume from its newest checkpoint", lambda: self._emit(self.resume_run))
        self.overlay_action = action("Overlay its curves on the training view", lambda: self._emit(self.overlay_run))
        self.clear_overlay_action = action("Remove the overlay", self.clear_overlay.emit)
        self.rename_action = action("Rename…", self.rename_selected, Qt.Key.Key_F2)
        self.reveal_action = action("Show in file manager", self.reveal_selected)
        self.delete_action = action("Delete…", self.delete_selected, QKeySequence.StandardKey.Delete)
        self.question: QMessageBox | None = None
        self.rename_dialog: QInputDialog | None = None

    # ---- the selected run -------------------------------------------------------------------------------
    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item is not None else None

    def _stopped(self, path: str) -> bool:
        return self.statuses.get(path) in ("stopped", "failed", "interrupted")

    def _emit(self, signal) -> None:
        path = self.selected()
        if path:
            signal.emit(path)

    def _menu(self, pos) -> None:
        item = self.list.itemAt(pos)
        menu = QMenu(self)
        if item is not None:
            self.list.setCurrentItem(item)
            path = item.data(Qt.ItemDataRole.UserRole)
            menu.addAction(self.open_action)
            if (self.resumable or self._stopped)(path):
                menu.addAction(self.resume_action)
            menu.addAction(self.overlay_action)
            menu.addSeparator()
            menu.addAction(self.rename_action)
            menu.addAction(self.reveal_action)
            menu.addAction(self.delete_action)
            menu.addSeparator()
        menu.addAction(self.clear_overlay_action)
        self.menu = menu
        menu.popup(self.list.viewport().mapToGlobal(pos))

    # ---- refreshing (in a worker) -----------------------------------------------------------------------
    def engine_ready(self) -> None:
        """Core is imported (by the experiment loader): from now on the list may describe runs in a worker."""
        self.engine_loaded = True
        self.refresh()

    @Slot()
    def refresh(self, root: str | None = None) -> None:
        if root is not None:
            self.root = Path(root)
        if self.root is None or not self.engine_loaded:
            return
        self.job.start(list_runs, str(self.root))

    def _fill(self, runs: list) -> None:
        selected = self.selected()
        self.list.clear()
        self.statuses = {}
        for path, label, tip, status in runs:
            item = QListWidgetItem(label)
            item.setToolTip(plain_tooltip(tip))
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.list.addItem(item)
            self.statuses[path] = status
            if path == selected:
                self.list.setCurrentItem(item)
        self.runs_listed.emit([path for path, *_ in runs])

    # ---- rename, reveal, delete ---------------------------------------------------------------------------
    def _refuse(self, path: str, what: str) -> bool:
        if path == self.busy_run or self.statuses.get(path) == "running":
            self._say(f"{Path(path).name} is still being trained: stop it before you {what} it.")
            return True
        return False

    def reveal_selected(self) -> None:
        path = self.selected()
        if path:
            QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def rename_selected(self) -> None:
        path = self.selected()
        if not path or self._refuse(path, "rename"):
            return
        dialog = QInputDialog(self)
        dialog.setObjectName("renameRun")
        dialog.setWindowTitle("Rename run")
        dialog.setLabelText(f"New name for {Path(path).name}:")
        dialog.setTextValue(Path(path).name)
        dialog.textValueSelected.connect(lambda name: self.rename(path, name))
        self.rename_dialog = dialog
        dialog.open()

    def rename(self, path: str, name: str) -> bool:
        """Rename the run directory (one ``os.rename``: it is either done or not); False with a message if not."""
        name = name.strip()
        src = Path(path)
        if name == src.name:
            return False
        if not RUN_NAME.match(name):
            self._say(f"{name!r} cannot be a run name: use letters, digits, spaces, '-', '_' or '.'.")
            return False
        target = src.with_name(name)
        if target.exists():
            self._say(f"A run called {name!r} already exists in {src.parent}.")
            return False
        try:
            os.rename(src, target)
        except OSError as err:
            self._say(f"Cannot rename {src.name}: {err.strerror or err}.")
            return False
        self.run_renamed.emit(path, str(target))
        self._say(f"Renamed {src.name} to {name}.")
        self.refresh()
        return True

    def delete_selected(self) -> None:
        path = self.selected()
        if not path or self._refuse(path, "delete"):
            return
        box = QMessageBox(QMessageBox.Icon.Warning, "Delete run",
                          f"Delete the run {Path(path).name} with its checkpoints, snapshots and reports? "
                          "This cannot be undone.", QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("deleteRunQuestion")
        delete = box.addButton("Delete", QMessageBox.ButtonRole.DestructiveRole)
        delete.setObjectName("confirmDelete")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)  # Enter must not delete: it cannot be undone
        box.buttonClicked.connect(lambda button: button is delete and self.delete(path))
        self.question = box
        box.open()

    def delete(self, path: str) -> bool:
        """Delete a run: first one atomic rename out of the list (so nothing is ever half-deleted in it), then
        the files are removed in a worker."""
        src = Path(path)
        trash = src.with_name(f".deleting-{src.name}-{uuid.uuid4().hex[:8]}")
        try:
            os.rename(src, trash)
        except OSError as err:
            self._say(f"Cannot delete {src.name}: {err.strerror or err}. Nothing was changed.")
            return False
        self.run_removed.emit(path)
        remover = BackgroundJob(self)
        remover.finished.connect(remover.deleteLater)
        remover.start(_remove_tree, str(trash))
        self._removers = [*getattr(self, "_removers", []), remover]
        self._say(f"Deleted {src.name}.")
        self.refresh()
        return True

    def _say(self, message: str) -> None:
        self.message = message
        window = self.window()
        if hasattr(window, "statusBar"):
            window.statusBar().showMessage(message, 8000)

    @property
    def busy(self) -> bool:
        return self.job.busy or any(r.busy for r in getattr(self, "_removers", []) if _valid(r))


def _valid(obj) -> bool:
    import shiboken6

    return shiboken6.isValid(obj)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path)
