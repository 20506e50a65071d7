"""The report dialog: sections and formats, a live preview of the HTML, export with progress, "Open folder".

The files are written by core's ``write_report`` from core's ``build_report`` — exactly what ``replearn report``
writes. The preview is the HTML report itself, shown by Qt's rich-text browser: its inline SVG figures are
rendered to images first (QTextBrowser does not draw inline SVG), and it never loads anything from outside.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QRectF, Qt, QUrl
from PySide6.QtGui import QColor, QDesktopServices, QImage, QPainter, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

import core
from replearn_gui.evaluation.jobs import build_report_job, write_report_job
from replearn_gui.jobs import BackgroundJob
from replearn_gui.screen_fit import resize_within_screen

SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)


def svg_image(svg: str, width: int = 460) -> QImage:
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(QByteArray(svg.encode("utf-8")))
    size = renderer.defaultSize()
    height = int(width * size.height() / max(size.width(), 1)) if size.width() > 0 else width * 3 // 4
    image = QImage(width, height, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.white)
    p = QPainter(image)
    renderer.render(p, QRectF(0, 0, width, height))
    p.end()
    return image


# the report is a document: its HTML writes dark text (#222) and light borders, so the preview keeps a white page in
# both themes (on the dark theme's base the text was dark grey on near black)
DOCUMENT = ((QPalette.ColorRole.Base, "#ffffff"), (QPalette.ColorRole.Text, "#1a1a1a"),
            (QPalette.ColorRole.Window, "#ffffff"), (QPalette.ColorRole.WindowText, "#1a1a1a"),
            (QPalette.ColorRole.Link, "#0b57d0"), (QPalette.ColorRole.LinkVisited, "#6a1b9a"),
            (QPalette.ColorRole.PlaceholderText, "#6b6b6b"))


def document_palette(palette: QPalette) -> QPalette:
    """``palette`` with a light page and dark text in every colour group (the theme's palette changes no role set
    here, so a live theme switch keeps the page light)."""
    palette = QPalette(palette)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive, QPalette.ColorGroup.Disabled):
        for role, colour in DOCUMENT:
            palette.setColor(group, role, QColor(colour))
    return palette


class ReportDialog(QDialog):
    def __init__(self, run_dir: str, evaluations: list[str], parent: QWidget | None = None,
                 baselines: list[str] | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Report — {Path(run_dir).name}")
        self.setObjectName("reportDialog")
        resize_within_screen(self, 1000, 760)  # at 1024 × 700 the preview shrinks (it scrolls), not the buttons
        self.run_dir = run_dir
        self.evaluations = evaluations
        self.baselines = list(core.BASELINES) if baselines is None else list(baselines)
        self.data: Any = None
        self.paths: dict[str, Path] = {}
        options = QGroupBox("Contents and formats")
        grid = QGridLayout(options)
        grid.addWidget(QLabel("Sections:"), 0, 0)
        self.section_boxes = {}
        for j, name in enumerate(core.REPORT_SECTIONS):
            box = QCheckBox(name)
            box.setObjectName(f"section_{name}")
            box.setChecked(True)
            self.section_boxes[name] = box
            grid.addWidget(box, 0, j + 1)
        grid.addWidget(QLabel("Formats:"), 1, 0)
        self.format_boxes = {}
        for j, name in enumerate(core.REPORT_FORMATS):
            box = QCheckBox(name.upper())
            box.setObjectName(f"format_{name}")
            box.setChecked(True)
            self.format_boxes[name] = box
            grid.addWidget(box, 1, j + 1)
        grid.addWidget(QLabel("Folder:"), 2, 0)
        self.folder = QLineEdit(str(core.RunDirectory.open(run_dir).reports))
        self.folder.setObjectName("reportFolder")
        grid.addWidget(self.folder, 2, 1, 1, len(core.REPORT_SECTIONS) - 1)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_folder)
        grid.addWidget(browse, 2, len(core.REPORT_SECTIONS))
        self.preview = QTextBrowser()
        self.preview.setObjectName("reportPreview")
        self.preview.setOpenLinks(False)
        self.preview.setOpenExternalLinks(False)
        self.preview.setPalette(document_palette(self.preview.palette()))
        self.preview.setPlaceholderText("Press “Build preview” to see the run's report. The results the Evaluation "
                                        "tab stored are used where still valid; only what is missing or stale "
                                        "is computed.")
        self.progress = QProgressBar()
        self.progress.setObjectName("reportProgress")
        self.progress.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setObjectName("reportStatus")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        self.build_button = QPushButton("Build preview")
        self.build_button.setObjectName("reportBuild")
        self.build_button.clicked.connect(self.build)
        self.export_button = QPushButton("Export")
        self.export_button.setObjectName("reportExport")
        self.export_button.clicked.connect(self.export)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("reportCancel")  # bound to the jobs below
        self.open_button = QPushButton("Open folder")
        self.open_button.setObjectName("reportOpenFolder")
        self.open_button.clicked.connect(self.open_folder)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.build_button, self.export_button, self.cancel_button, self.open_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(options)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)
        for box in self.section_boxes.values():
            box.toggled.connect(self._contents_changed)
        # building the preview and writing the files: one at a time (the buttons are disabled while one runs)
        self.build_job = BackgroundJob(self, policy="refuse")
        self.build_job.done.connect(self._built)
        self.write_job = BackgroundJob(self, policy="refuse")
        self.write_job.done.connect(self._written)
        for job in (self.build_job, self.write_job):
            job.bind(progress=self.progress, status=self.status, cancel=self.cancel_button, cancelled="Cancelled.")
            job.report_errors(self, "The report failed")
            job.started.connect(self._set_enabled)
            job.finished.connect(self._set_enabled)
        self._set_enabled()

    @property
    def busy(self) -> bool:
        return self.build_job.busy or self.write_job.busy

    def _set_enabled(self) -> None:
        self.build_button.setEnabled(not self.busy)
        self.export_button.setEnabled(not self.busy and self.data is not None)
        self.cancel_button.setEnabled(self.build_job.running or self.write_job.running)
        self.open_button.setEnabled(not self.busy and bool(self.paths))

    def _contents_changed(self) -> None:
        self.data = None  # the sections are part of the report: build it again
        changed = "The sections changed: build the preview again before exporting."
        if self.build_job.running:  # its report has the old sections: dropped when it comes
            self.build_job.cancel(note=changed)
        self.status.setText(changed)
        self._set_enabled()

    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the report", self.folder.text())
        if path:
            self.folder.setText(path)

    def build(self) -> None:
        sections = [n for n, b in self.section_boxes.items() if b.isChecked()]
        if not sections:
            self.status.setText("Choose at least one section.")
            return
        self.build_job.start(build_report_job, self.run_dir, self.evaluations, sections, self.baselines,
                             message="Building the report…")

    def _built(self, result: tuple) -> None:
        self.data, html = result
        self.show_preview(html)
        self.progress.setValue(1000)
        reuse = self.data.reuse
        self.status.setText(("" if reuse is None else reuse.summary() + " ") +
                            "Preview ready. Export writes the chosen formats.")

    def show_preview(self, html: str) -> None:
        doc = self.preview.document()
        figures = SVG.findall(html)
        for i, svg in enumerate(figures):
            doc.addResource(QTextDocument.ResourceType.ImageResource, QUrl(f"figure:{i}"), svg_image(svg))
        counter = iter(range(len(figures)))
        self.preview.setHtml(SVG.sub(lambda _: f"<img src='figure:{next(counter)}'/> ", html))
        self.figure_count = len(figures)

    def export(self) -> None:
        formats = [n for n, b in self.format_boxes.items() if b.isChecked()]
        if self.data is None or not formats:
            self.status.setText("Build the preview and choose at least one format first.")
            return
        self.write_job.start(write_report_job, self.data, self.folder.text(), formats, message="Writing the report…")

    def _written(self, paths: dict) -> None:
        self.paths = paths
        self.progress.setValue(1000)
        self.status.setText("Written: " + ", ".join(str(p) for p in paths.values()))

    def cancel(self) -> None:
        self.build_job.cancel()
        self.write_job.cancel()

    def open_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(self.folder.text()))

    def reject(self) -> None:
        if self.busy:  # never leave a worker behind: cancel, and close when it has stopped
            self.cancel()
            self.build_job.when_idle(lambda: self.write_job.when_idle(super(ReportDialog, self).reject))
            return
        super().reject()
