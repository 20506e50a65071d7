"""The experiment wizard: data → encoder → objective → training → review, every form generated from core's
registries. Loading data (which may be a large file) runs in a worker; errors appear on the page."""
from __future__ import annotations

import dataclasses
import traceback
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

import core
from replearn_gui.forms import ParamsForm
from replearn_gui.plain_text import plain_tooltip
from replearn_gui.workers import make_worker


def pixmap_from_preview(image: np.ndarray, scale: int = 4) -> QPixmap:
    """An 8-bit grey or RGB array as a pixmap, scaled up without smoothing (pixels stay crisp)."""
    img = np.ascontiguousarray(image)
    h, w = img.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if img.ndim == 2 else QImage.Format.Format_RGB888
    qimg = QImage(img.data, w, h, img.strides[0], fmt).copy()
    return QPixmap.fromImage(qimg).scaled(w * scale, h * scale, Qt.AspectRatioMode.KeepAspectRatio,
                                          Qt.TransformationMode.FastTransformation)


def _compact(combo: QComboBox) -> QComboBox:
    """Long entries (dataset summaries) must not widen the wizard past the screen."""
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(30)
    return combo


def readable(doc: str) -> str:
    """A registry docstring without its formulas (those are for the code's readers and the report): the
    sentences about the pressure and what to watch stay."""
    import re

    sentences = re.split(r"(?<=[.!?])\s+", " ".join(doc.split()))
    return " ".join(s for s in sentences if ":math:" not in s and "\\" not in s)


def _plain_label(text: str = "", wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # names come from user files: never HTML
    label.setWordWrap(wrap)
    return label


def load_data_job(name: str, params: Any) -> dict[str, Any]:
    """Load a dataset (in a worker) and summarise it for the data page."""
    entry = core.DATASETS.get(name)
    ds = entry.cls(params).load()
    counts = np.bincount(ds.y, minlength=ds.n_classes).tolist() if ds.y is not None else []
    picks = np.linspace(0, ds.n - 1, num=min(8, ds.n)).astype(int)
    return {"dataset": ds, "counts": counts, "previews": [core.preview(ds, int(i)) for i in picks]}


class DataPage(QWizardPage):
    loaded = Signal(object)

    def __init__(self, wizard: "ExperimentWizard"):
        super().__init__()
        self.wiz = wizard
        self.setTitle("Data")
        self.setSubTitle("A built-in dataset or your own file. Presets fill in the whole experiment.")
        self.dataset = None
        self._worker = None
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        self.presets = _compact(QComboBox())
        self.presets.setObjectName("presetCombo")
        self.presets.addItem("— start from a preset —", None)
        for name in core.preset_names():
            self.presets.addItem(name, name)
        self.presets.currentIndexChanged.connect(self._preset_chosen)
        row.addWidget(_plain_label("Preset:", wrap=False))
        row.addWidget(self.presets, 1)
        layout.addLayout(row)
        row = QHBoxLayout()
        self.source = _compact(QComboBox())
        self.source.setObjectName("datasetCombo")
        for entry in core.DATASETS:
            tag = " (your file)" if entry.info.get("file") else ""
            self.source.addItem(f"{entry.name}{tag} — {entry.summary}", entry.name)
        self.source.currentIndexChanged.connect(self._source_changed)
        row.addWidget(_plain_label("Dataset:", wrap=False))
        row.addWidget(self.source, 1)
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        row.addWidget(self.browse)
        layout.addLayout(row)
        self.form_holder = QVBoxLayout()
        layout.addLayout(self.form_holder)
        self.load_button = QPushButton("Load and preview")
        self.load_button.setObjectName("loadData")
        self.load_button.clicked.connect(self.load)
        layout.addWidget(self.load_button)
        self.status = _plain_label("")
        self.status.setObjectName("dataStatus")
        layout.addWidget(self.status)
        self.gallery = QGridLayout()
        self.gallery.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.gallery.setHorizontalSpacing(12)
        gallery_widget = QWidget()
        gallery_widget.setLayout(self.gallery)
        layout.addWidget(gallery_widget)
        layout.addStretch(1)
        self.form: ParamsForm | None = None
        self.select(wizard.start.data.name, wizard.start.data.params)

    def select(self, name: str, params: Any = None) -> None:
        self.source.blockSignals(True)
        self.source.setCurrentIndex(self.source.findData(name))
        self.source.blockSignals(False)
        self._build_form(name, params)

    def _build_form(self, name: str, params: Any = None) -> None:
        if self.form is not None:
            self.form.deleteLater()
        entry = core.DATASETS.get(name)
        self.form = ParamsForm(entry.Params, params, path="data.params")
        self.form.changed.connect(self._invalidate)
        self.form_holder.addWidget(self.form)
        self.browse.setEnabled("path" in self.form.widgets)
        self._invalidate()

    @Slot()
    def _source_changed(self) -> None:
        self._build_form(self.source.currentData())

    @Slot()
    def _preset_chosen(self) -> None:
        name = self.presets.currentData()
        if name:
            self.wiz.apply_experiment(core.load_preset(name))

    @Slot()
    def _browse(self) -> None:
        info = core.DATASETS.get(self.source.currentData()).info
        if info.get("folder"):
            path = QFileDialog.getExistingDirectory(self, "Choose a folder")
        else:
            patterns = " ".join(info.get("patterns", ()))
            filters = (f"{self.source.currentText()} ({patterns});;" if patterns else "") + "All files (*)"
            path = QFileDialog.getOpenFileName(self, "Choose a file", "", filters)[0]
        if path:
            self.form.set_value("path", path)

    def _invalidate(self) -> None:
        self.dataset = None
        self.status.setText("" if self.form.is_valid() else "Fix the settings above.")
        self.load_button.setEnabled(self.form.is_valid())
        self.completeChanged.emit()

    @Slot()
    def load(self) -> None:
        if not self.form.is_valid() or self._worker is not None:
            return
        self.status.setText("Loading…")
        self.load_button.setEnabled(False)
        worker = make_worker(load_data_job, self.source.currentData(), self.form.params())
        worker.returned.connect(self._loaded)
        worker.errored.connect(self._failed)
        worker.finished.connect(self._done)
        self._worker = worker
        worker.start()

    @Slot(object)
    def _loaded(self, result: dict) -> None:
        ds = result["dataset"]
        self.dataset = ds
        text = f"{ds.n} samples, kind {ds.kind}, sample shape {ds.sample_shape}."
        if result["counts"]:
            text += " Classes: " + ", ".join(f"{n} {c}" for n, c in zip(ds.label_names, result["counts"], strict=True))
        else:
            text += " No labels."
        if ds.notes:
            text += "\nNote: " + "; ".join(ds.notes)
        self.status.setText(text)
        while self.gallery.count():
            self.gallery.takeAt(0).widget().deleteLater()
        for k, p in enumerate(result["previews"]):
            label = _plain_label(p.title + ("\n" + p.text if p.text else ""))
            if p.image is not None:
                label = QLabel()
                label.setPixmap(pixmap_from_preview(p.image, max(1, 48 // max(p.image.shape[:2]))))
                label.setToolTip(plain_tooltip(p.title))
            self.gallery.addWidget(label, k // 4, k % 4)
        self.loaded.emit(ds)
        self.completeChanged.emit()

    @Slot(object)
    def _failed(self, exc: BaseException) -> None:
        self.dataset = None
        message = str(exc) if isinstance(exc, core.ReplearnError) else (
            f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-800:])
        self.status.setText(message)
        self.completeChanged.emit()

    @Slot()
    def _done(self) -> None:
        self._worker = None
        self.load_button.setEnabled(self.form.is_valid())

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return self.dataset is not None and self.form is not None and self.form.is_valid()

    def data_config(self):
        return core.DataConfig(name=self.source.currentData(), params=self.form.params(), split=self.wiz.start.data.split)


class ChoicePage(QWizardPage):
    """A registry choice (encoder or objective) with its description and its Params form."""

    def __init__(self, wizard: "ExperimentWizard", title: str, subtitle: str):
        super().__init__()
        self.wiz = wizard
        self.setTitle(title)
        self.setSubTitle(subtitle)
        layout = QVBoxLayout(self)
        self.combo = _compact(QComboBox())
        self.combo.setObjectName(f"{title.lower()}Combo")
        self.combo.currentIndexChanged.connect(self._changed)
        layout.addWidget(self.combo)
        self.about = _plain_label("")
        self.about.setObjectName(f"{title.lower()}About")
        layout.addWidget(self.about)
        self.extra = QHBoxLayout()
        layout.addLayout(self.extra)
        self.form_holder = QVBoxLayout()
        layout.addLayout(self.form_holder)
        layout.addStretch(1)
        self.form: ParamsForm | None = None
        self._pending_params: Any = None

    def registry(self):
        raise NotImplementedError

    def names(self) -> list[str]:
        raise NotImplementedError

    def fill(self, selected: str | None = None, params: Any = None) -> None:
        current = selected or self.combo.currentData()
        self._pending_params = params
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in self.names():
            self.combo.addItem(name, name)
        index = self.combo.findData(current)
        self.combo.setCurrentIndex(max(index, 0))
        self.combo.blockSignals(False)
        self._changed()

    @Slot()
    def _changed(self) -> None:
        name = self.combo.currentData()
        if name is None:
            return
        entry = self.registry().get(name)
        self.about.setText(readable(entry.description))
        if self.form is not None:
            self.form.deleteLater()
        params, self._pending_params = self._pending_params, None
        self.form = ParamsForm(entry.Params, params, path=f"{self.section}.params")
        self.form.changed.connect(self.completeChanged)
        self.form_holder.addWidget(self.form)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return self.form is not None and self.form.is_valid()


class EncoderPage(ChoicePage):
    section = "encoder"

    def __init__(self, wizard):
        super().__init__(wizard, "Encoder", "The network that turns a sample into its representation.")

    def registry(self):
        return core.ENCODERS

    def names(self) -> list[str]:
        return core.encoders_for(self.wiz.kind())

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        start = self.wiz.start.encoder
        self.fill(start.name, start.params if self.form is None else None)


class ObjectivePage(ChoicePage):
    section = "objective"

    def __init__(self, wizard):
        super().__init__(wizard, "Objective", "The learning pressure: what the representation is asked to keep.")
        self.views = QLabel()
        self.views.setObjectName("viewPreview")
        self.extra.addWidget(self.views)

    def registry(self):
        return core.OBJECTIVES

    def names(self) -> list[str]:
        ds = self.wiz.data_page.dataset
        return core.objectives_for(self.wiz.kind(), self.wiz.encoder_page.combo.currentData(), ds is not None and ds.has_labels)

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        start = self.wiz.start.objective
        self.fill(start.name, start.params if self.form is None else None)

    @Slot()
    def _changed(self) -> None:
        super()._changed()
        self._show_views()

    def _show_views(self) -> None:
        """Four augmented views of one real sample, for objectives that learn from views (images only)."""
        import torch

        name = self.combo.currentData()
        ds = self.wiz.data_page.dataset
        self.views.clear()
        if name is None or ds is None or ds.kind != "image" or not core.OBJECTIVES.get(name).cls.uses_views:
            return
        spec = core.DataSpec(kind=ds.kind, sample_shape=ds.sample_shape, value_range=ds.value_range)
        pipeline = core.make_views([(v.name, v.params) for v in self.wiz.start.views], spec)
        x = torch.from_numpy(np.asarray(ds.X[0], dtype=np.float32))
        g = torch.random.fork_rng()
        with g:
            torch.manual_seed(0)
            tiles = [x.numpy()] + [pipeline(x).numpy() for _ in range(4)]
        strip = np.concatenate([core.to_uint8(t[0] if t.ndim == 3 else t, ds.value_range) for t in tiles], axis=1)
        self.views.setPixmap(pixmap_from_preview(strip, max(1, 48 // strip.shape[0])))
        self.views.setToolTip("The first sample and four augmented views of it")


def available_devices() -> list[str]:
    """auto, cpu, and the accelerators this machine has."""
    import torch

    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        devices.append("mps")
    return devices


class TrainingPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle("Training")
        self.setSubTitle("How long and how fast to train. Hover a field for its meaning and allowed values.")
        layout = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.form = ParamsForm(core.TrainingConfig, wizard.start.training, path="training",
                               choices={"device": available_devices()})
        self.form.changed.connect(self.completeChanged)
        scroll.setWidget(self.form)
        layout.addWidget(scroll)

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return self.form.is_valid()


class ReviewPage(QWizardPage):
    def __init__(self, wizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle("Review")
        self.setSubTitle("The experiment as it will be saved with the run. Finish starts training.")
        layout = QVBoxLayout(self)
        self.summary = _plain_label("")
        self.summary.setObjectName("reviewSummary")
        layout.addWidget(self.summary)
        self.toml = QPlainTextEdit()
        self.toml.setObjectName("reviewToml")
        self.toml.setReadOnly(True)
        layout.addWidget(self.toml, 1)
        save = QPushButton("Save as preset…")
        save.clicked.connect(self._save)
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignLeft)
        self.error = _plain_label("")
        self.error.setStyleSheet("color: #b00020;")
        layout.addWidget(self.error)

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        try:
            exp = self.wiz.experiment()
            self.error.setText("")
        except core.ConfigError as err:
            self.error.setText(str(err))
            self.toml.setPlainText("")
            return
        t = exp.training
        self.summary.setText(f"{exp.objective.name} on {exp.data.name} with a {exp.encoder.name} encoder: "
                             f"{t.epochs} epochs of batches of {t.batch_size}, {t.optimizer} at lr {t.lr:g}, "
                             f"seed {t.seed}, device {t.device}.")
        self.toml.setPlainText(core.dumps_experiment(exp))

    @Slot()
    def _save(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save experiment", f"{self.wiz.experiment().name}.toml",
                                              "Experiments (*.toml)")
        if path:
            core.save_experiment(self.wiz.experiment(), path)

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return not self.error.text()


class ExperimentWizard(QWizard):
    """Builds an Experiment; ``experiment()`` is valid once every page is complete."""

    def __init__(self, start: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New experiment")
        self.setObjectName("experimentWizard")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.resize(760, 640)
        self.start = start
        self.data_page = DataPage(self)
        self.encoder_page = EncoderPage(self)
        self.objective_page = ObjectivePage(self)
        self.training_page = TrainingPage(self)
        self.review_page = ReviewPage(self)
        for page in (self.data_page, self.encoder_page, self.objective_page, self.training_page, self.review_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.FinishButton, "Start")

    def kind(self) -> str:
        ds = self.data_page.dataset
        return ds.kind if ds is not None else "image"

    def apply_experiment(self, exp: Any) -> None:
        """Start again from another experiment (a preset)."""
        self.start = exp
        self.data_page.select(exp.data.name, exp.data.params)
        for page in (self.encoder_page, self.objective_page):
            if page.form is not None:
                page.form.deleteLater()
                page.form = None
        for name, value in exp.training.to_dict().items():
            if name in self.training_page.form.widgets:
                self.training_page.form.set_value(name, value)
        if exp.training.grad_clip is None:
            self.training_page.form.set_value("grad_clip", None)

    def experiment(self):
        data, objective = self.data_page.source.currentData(), self.objective_page.combo.currentData()
        same = data == self.start.data.name and objective == self.start.objective.name
        name = self.start.name if same else f"{data}-{objective}"
        return dataclasses.replace(
            self.start, name=name,
            data=self.data_page.data_config(),
            encoder=core.EncoderConfig(name=self.encoder_page.combo.currentData(), params=self.encoder_page.form.params()),
            objective=core.ObjectiveConfig(name=self.objective_page.combo.currentData(),
                                           params=self.objective_page.form.params()),
            training=self.training_page.form.params(),
        )
