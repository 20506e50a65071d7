"""File → Export encoder: a run's encoder as safetensors, TorchScript or ONNX, with its preprocessing and card.

The files are written by core's ``export_encoder`` — exactly what ``replearn export`` writes — in a worker (it loads
the run and traces the encoder); what went wrong is said in place, in one sentence.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.jobs import BackgroundJob
from replearn_gui.screen_fit import resize_within_screen

FORMAT_LABELS = {"safetensors": "safetensors (weights)", "torchscript": "TorchScript (.pt graph)",
                 "onnx": "ONNX (.onnx graph)"}


def export_job(run_dir: str, fmt: str, folder: str) -> dict:
    result = core.export_encoder(run_dir, fmt, out=folder)
    return {"files": {k: str(v) for k, v in result.files.items()}, "check": result.card.get("check", {})}


class ExportEncoderDialog(QDialog):
    def __init__(self, run_dir: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Export encoder — {Path(run_dir).name}")
        self.setObjectName("exportEncoderDialog")
        self.run_dir = run_dir
        self.format = QComboBox()
        self.format.setObjectName("exportFormat")
        for fmt in core.EXPORT_FORMATS:
            self.format.addItem(FORMAT_LABELS.get(fmt, fmt), fmt)
        self.folder = QLineEdit(str(core.RunDirectory.open(run_dir).exports))
        self.folder.setObjectName("exportFolder")
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format:", self.format)
        form.addRow("Folder:", row)
        note = QLabel("The encoder of the newest checkpoint, its preprocessing (the normaliser's mean and scale, input "
                      "shape, data kind) and a card (objective, data set, metrics, versions). TorchScript and ONNX "
                      "graphs take raw samples and are checked against the encoder before they are written.")
        note.setWordWrap(True)
        self.status = QLabel("")
        self.status.setObjectName("exportStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("exportButton")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.export)
        self.open_button = QPushButton("Open folder")
        self.open_button.setEnabled(False)
        self.open_button.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text())))
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.open_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        resize_within_screen(self, 560, 240)
        self.job = BackgroundJob(self, policy="refuse")  # one export at a time; it cannot be interrupted halfway
        self.job.bind(status=self.status, failed="Not exported")
        self.job.done.connect(self._done)
        self.job.finished.connect(self._finished)

    @property
    def busy(self) -> bool:
        return self.job.busy

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the exported encoder", self.folder.text())
        if path:
            self.folder.setText(path)

    def export(self) -> None:
        if self.busy:
            return
        fmt = self.format.currentData()
        self.export_button.setEnabled(False)
        self.job.start(export_job, self.run_dir, fmt, self.folder.text(), message=f"Exporting the encoder as {fmt}…")

    def _done(self, result: dict) -> None:
        check = result["check"]
        checked = (f" Checked on {check['samples']} samples with {check['runtime']}: largest difference "
                   f"{check['max_abs_difference']:.2g}." if "max_abs_difference" in check else "")
        self.status.setText("Written: " + ", ".join(Path(p).name for p in result["files"].values()) + "." + checked)
        self.open_button.setEnabled(True)

    def _finished(self) -> None:
        self.export_button.setEnabled(True)

    def reject(self) -> None:
        if self.busy:  # an export cannot be interrupted halfway; close when it has finished
            self.job.when_idle(super().reject)
            return
        super().reject()
