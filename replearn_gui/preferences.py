"""Preferences: the runs folder (shared with the command line), torch threads for training, the theme."""
from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)


class PreferencesDialog(QDialog):
    def __init__(self, runs_root: str | None, threads: int, dark: bool, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("preferences")
        self.setWindowTitle("Preferences")
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.runs_folder = QLineEdit(runs_root or "")
        self.runs_folder.setObjectName("runsFolder")
        self.runs_folder.setMinimumWidth(320)
        self.runs_folder.textChanged.connect(self._check)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row.addWidget(self.runs_folder, 1)
        row.addWidget(browse)
        form.addRow("Runs folder:", row)
        note = QLabel("New runs go here, from the app and from 'replearn train' (REPLEARN_RUNS overrides it).")
        note.setTextFormat(Qt.TextFormat.PlainText)
        note.setWordWrap(True)
        form.addRow(note)
        self.threads = QSpinBox()
        self.threads.setObjectName("torchThreads")
        self.threads.setRange(1, max(1, os.cpu_count() or 1))
        self.threads.setValue(max(1, min(threads, self.threads.maximum())))
        self.threads.setToolTip("torch threads for training (from the next run on); 1 keeps the window smooth on "
                                "small machines")
        form.addRow("Torch threads:", self.threads)
        self.dark = QCheckBox("Dark theme")
        self.dark.setObjectName("darkTheme")
        self.dark.setChecked(dark)
        form.addRow(self.dark)
        self.error = QLabel("")
        self.error.setObjectName("preferencesError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setStyleSheet("color: #b00020;")
        form.addRow(self.error)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._check()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Runs folder", self.runs_folder.text())
        if path:
            self.runs_folder.setText(path)

    def problem(self) -> str:
        text = self.runs_folder.text().strip()
        if not text:
            return "Choose a runs folder."
        path = Path(text).expanduser()
        if path.exists() and not path.is_dir():
            return f"{path} is a file, not a folder."
        parent = next((p for p in (path, *path.parents) if p.exists()), None)
        if parent is None or not os.access(parent, os.W_OK):
            return f"{path} cannot be created or written here."
        return ""

    def _check(self) -> None:
        problem = self.problem()
        self.error.setText(problem)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem)

    def values(self) -> tuple[str, int, bool]:
        return str(Path(self.runs_folder.text().strip()).expanduser()), self.threads.value(), self.dark.isChecked()
