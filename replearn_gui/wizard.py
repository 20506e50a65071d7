"""The experiment wizard: data → encoder → objective → training → review, every form generated from core's
registries. Loading data (which may be a large file) runs in a worker; errors appear on the page."""
from __future__ import annotations

import dataclasses
import traceback
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
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
from replearn_gui.jobs import BackgroundJob
from replearn_gui.plain_text import plain_tooltip
from replearn_gui.views_editor import ViewsEditor, augmentations_for


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


def _scrolling_layout(page: QWizardPage) -> QVBoxLayout:
    """The page's content in a scroll area: long forms (a split, four augmentations) never clip the page."""
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    inner = QWidget()
    scroll.setWidget(inner)
    outer.addWidget(scroll)
    return QVBoxLayout(inner)


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

    def __init__(self, wizard: ExperimentWizard):
        super().__init__()
        self.wiz = wizard
        self.setTitle("Data")
        self.setSubTitle("A built-in dataset or your own file. Presets fill in the whole experiment.")
        self.dataset = None
        # one load at a time (the button is disabled meanwhile); a result answering older settings is dropped
        self.load_job = BackgroundJob(self, policy="refuse")
        self._loading: tuple | None = None  # what the running load was asked for
        self.load_job.done.connect(lambda result: self._loaded(result, self._loading))
        self.load_job.failed.connect(lambda exc, _details: self._failed(exc, self._loading))
        self.load_job.finished.connect(self._done)
        layout = _scrolling_layout(self)
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
        # a table's text columns, offered as its label or as metadata (colour and search by them later)
        self.columns_box = QGroupBox("Text columns of the table")
        self.columns_box.setObjectName("textColumns")
        self.columns_box.setToolTip("Columns that hold text cannot be features: each one is the label column or "
                                    "metadata (shown in the explorer's colouring and search)")
        self.columns_layout = QFormLayout(self.columns_box)
        self.columns_box.setVisible(False)
        self.column_roles: dict[str, QComboBox] = {}
        self._scanned: str | None = None
        # a table's header: one read at a time, the newest path read next (the path may change meanwhile)
        self.columns_job = BackgroundJob(self, policy="latest")
        self.columns_job.failed.connect(lambda _exc, _details: self._show_columns([], None))  # the load says why
        layout.addWidget(self.columns_box)
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
        split_box = QGroupBox("Split")
        split_layout = QVBoxLayout(split_box)
        self.split_form = ParamsForm(core.SplitConfig, wizard.start.data.split, path="data.split")
        self.split_form.setObjectName("splitForm")
        self.split_form.changed.connect(self.completeChanged)
        split_layout.addWidget(self.split_form)
        split_layout.addWidget(_plain_label("The random split is drawn with the training seed (Training page), so "
                                            "the same seed gives the same split."))
        layout.addWidget(split_box)
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
        """The settings changed: what was loaded (summary, gallery) describes other data now, so it goes."""
        self.dataset = None
        self._clear_gallery()
        self.status.setText("Press “Load and preview”." if self.form.is_valid() else "Fix the settings above.")
        self.load_button.setEnabled(self.form.is_valid() and not self.load_job.busy)
        self._scan_columns()
        self.completeChanged.emit()

    # ---- a table's text columns ---------------------------------------------------------------------------
    def _scan_columns(self) -> None:
        """Read the header of a CSV table (in a worker) when its path changed, to offer its text columns."""
        path = self.form.values().get("path") if self.source.currentData() == "csv" else None
        if not path or not Path(path).is_file():
            self._scanned = None
            self._show_columns([], None)
            return
        if path == self._scanned:
            return
        self._scanned = path
        self.columns_job.start(core.text_columns, path, self.form.values().get("delimiter", "auto"),
                               on_done=lambda columns, path=path: self._show_columns(columns, path))

    def _show_columns(self, columns: list[str], path: str | None) -> None:
        current = self.form.values().get("path") if self.form is not None else None
        if path is not None and path != current:
            return
        while self.columns_layout.rowCount():
            self.columns_layout.removeRow(0)
        self.column_roles = {}
        self.columns_box.setVisible(bool(columns))
        if not columns:
            return
        values = self.form.values()
        label = values.get("label_column")
        if label not in columns:  # a text column named like a label is the label, the rest metadata
            label = next((c for c in columns if c.lower() in ("label", "labels", "class", "target", "y")), label)
        for name in columns:
            combo = QComboBox()
            combo.setObjectName(f"column_{name}")
            combo.addItem("metadata", "metadata")
            combo.addItem("label", "label")
            combo.setCurrentIndex(1 if name == label else 0)
            combo.currentIndexChanged.connect(lambda _, name=name: self._role_chosen(name))
            self.column_roles[name] = combo
            self.columns_layout.addRow(_plain_label(name + ":", wrap=False), combo)
        self._apply_roles()

    def _role_chosen(self, name: str) -> None:
        if self.column_roles[name].currentData() == "label":  # one label column: the previous one is metadata
            for other, combo in self.column_roles.items():
                if other != name and combo.currentData() == "label":
                    combo.blockSignals(True)
                    combo.setCurrentIndex(0)
                    combo.blockSignals(False)
        self._apply_roles()

    def _apply_roles(self) -> None:
        label = next((n for n, c in self.column_roles.items() if c.currentData() == "label"), None)
        values = self.form.values()
        keep = [m for m in (values.get("metadata_columns") or []) if m not in self.column_roles]
        metadata = keep + [n for n, c in self.column_roles.items() if c.currentData() == "metadata"]
        if label is not None and values.get("label_column") != label:
            self.form.set_value("label_column", label)
        if list(values.get("metadata_columns") or []) != metadata:
            self.form.set_value("metadata_columns", metadata)

    def _clear_gallery(self) -> None:
        while self.gallery.count():
            self.gallery.takeAt(0).widget().deleteLater()

    def _requested(self) -> tuple:
        """What the page asks for now; a load whose result answers another request is dropped."""
        return self.source.currentData(), self.form.params()

    @Slot()
    def load(self) -> None:
        if not self.form.is_valid() or self.load_job.busy:
            return
        self.status.setText("Loading…")
        self.load_button.setEnabled(False)
        self._loading = self._requested()
        self.load_job.start(load_data_job, *self._loading)

    def _loaded(self, result: dict, requested: tuple | None = None) -> None:
        if requested is not None and requested != self._requested():
            self.status.setText("The settings changed while loading: press “Load and preview” again.")
            return
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
        self._clear_gallery()
        for k, p in enumerate(result["previews"]):
            label = _plain_label(p.title + ("\n" + p.text if p.text else ""))
            if p.image is not None:
                label = QLabel()
                label.setPixmap(pixmap_from_preview(p.image, max(1, 48 // max(p.image.shape[:2]))))
                label.setToolTip(plain_tooltip(p.title))
            self.gallery.addWidget(label, k // 4, k % 4)
        self.loaded.emit(ds)
        self.completeChanged.emit()

    def _failed(self, exc: BaseException, requested: tuple | None = None) -> None:
        if requested is not None and requested != self._requested():
            self.status.setText("The settings changed while loading: press “Load and preview” again.")
            return
        self.dataset = None
        self._clear_gallery()  # the previous data's pictures must not pass for this file's
        message = str(exc) if isinstance(exc, core.ReplearnError) else (
            f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-800:])
        self.status.setText(message)
        self.completeChanged.emit()

    @Slot()
    def _done(self) -> None:
        self.load_button.setEnabled(self.form.is_valid())

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return (self.dataset is not None and self.form is not None and self.form.is_valid()
                and self.split_form.is_valid())

    def data_config(self):
        return core.DataConfig(name=self.source.currentData(), params=self.form.params(), split=self.split_form.params())


class ChoicePage(QWizardPage):
    """A registry choice (encoder or objective) with its description and its Params form."""

    def __init__(self, wizard: ExperimentWizard, title: str, subtitle: str):
        super().__init__()
        self.wiz = wizard
        self.setTitle(title)
        self.setSubTitle(subtitle)
        layout = _scrolling_layout(self)
        self.page_layout = layout
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
        self._values: dict[str, dict] = {}  # name -> the values last in its form

    def registry(self):
        raise NotImplementedError

    def names(self) -> list[str]:
        raise NotImplementedError

    def fill(self, selected: str | None = None, params: Any = None) -> None:
        """Offer the names that fit the choices so far. The user's choice and the values typed for each name
        are kept (going Back and Next again must not lose them); ``selected`` / ``params`` come from the
        starting experiment."""
        names = self.names()
        if self.form is not None:
            self._values[self.combo.currentData()] = self.form.values()
        offered = [self.combo.itemData(i) for i in range(self.combo.count())]
        current = selected if selected in names else self.combo.currentData()
        if current not in names:
            current = names[0] if names else None
        if params is not None:
            self.forget()
            self._values[current] = params.to_dict() if hasattr(params, "to_dict") else dict(params)
        elif offered == names and current == self.combo.currentData() and self.form is not None:
            return  # nothing changed: the form stays as the user left it
        self.combo.blockSignals(True)
        self.combo.clear()
        for name in names:
            self.combo.addItem(name, name)
        self.combo.setCurrentIndex(max(self.combo.findData(current), 0))
        self.combo.blockSignals(False)
        self._changed()

    def forget(self) -> None:
        """Start again from the experiment's own choice (a preset was applied)."""
        self._values.clear()
        if self.form is not None:
            self.form.deleteLater()
            self.form = None

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        start = getattr(self.wiz.start, self.section)
        if self.form is None:
            self.fill(start.name, start.params)
        else:
            self.fill()

    @Slot()
    def _changed(self) -> None:
        name = self.combo.currentData()
        if name is None:
            return
        if self.form is not None:
            self._values[self.form.owner] = self.form.values()
            self.form.deleteLater()
        entry = self.registry().get(name)
        self.about.setText(readable(entry.description))
        self.form = ParamsForm(entry.Params, self._values.get(name), path=f"{self.section}.params")
        self.form.owner = name
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


class ObjectivePage(ChoicePage):
    section = "objective"

    def __init__(self, wizard):
        super().__init__(wizard, "Objective", "The learning pressure: what the representation is asked to keep.")
        self.views = QLabel()
        self.views.setObjectName("viewPreview")
        self.extra.addWidget(self.views)
        self.views_editor = ViewsEditor()
        self.views_editor.changed.connect(self._views_edited)
        self.views_editor.setVisible(False)
        self.page_layout.insertWidget(self.page_layout.count() - 1, self.views_editor)

    def uses_views(self) -> bool:
        name = self.combo.currentData()
        return name is not None and bool(core.OBJECTIVES.get(name).cls.uses_views)

    def _fill_views(self) -> None:
        """The experiment's views (or the kind's default pipeline) the first time and when the kind of data
        changed; the user's edits otherwise."""
        kind = self.wiz.kind()
        if self.views_editor.kind == kind:
            return
        start = [(v.name, v.params) for v in self.wiz.start.views]
        fitting = set(augmentations_for(kind))
        specs = start if start and all(n in fitting for n, _ in start) else list(core.DEFAULT_VIEWS.get(kind, ()))
        self.views_editor.set_views(kind, specs)

    @Slot()
    def _views_edited(self) -> None:
        self._show_views()
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 (Qt)
        return super().isComplete() and (not self.uses_views() or self.views_editor.is_valid())

    def view_configs(self) -> tuple:
        """The views the experiment saves: the edited pipeline for multi-view objectives."""
        if not self.uses_views() or self.views_editor.specs() is None:
            return tuple(self.wiz.start.views)
        return tuple(core.AugmentationConfig(name=n, params=p) for n, p in self.views_editor.specs())

    def registry(self):
        return core.OBJECTIVES

    def names(self) -> list[str]:
        ds = self.wiz.data_page.dataset
        return core.objectives_for(self.wiz.kind(), self.wiz.encoder_page.combo.currentData(), ds is not None and ds.has_labels)

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        super().initializePage()
        if self.uses_views():
            self._fill_views()
        self.views_editor.setVisible(self.uses_views())
        self._show_views()  # the data may have changed even when the objective did not

    @Slot()
    def _changed(self) -> None:
        super()._changed()
        if self.uses_views():
            self._fill_views()
        self.views_editor.setVisible(self.uses_views())
        self._show_views()

    def _show_views(self) -> None:
        """Four augmented views of one real sample, drawn with the pipeline being edited (images only)."""
        import torch

        ds = self.wiz.data_page.dataset
        self.views.clear()
        specs = self.views_editor.specs()
        if ds is None or ds.kind != "image" or not self.uses_views() or not specs:
            return
        spec = core.DataSpec(kind=ds.kind, sample_shape=ds.sample_shape, value_range=ds.value_range)
        pipeline = core.make_views(specs, spec)
        x = torch.from_numpy(np.asarray(ds.X[0], dtype=np.float32))
        # torch's generators are shared with a run that may be training (queued wizard experiments): draw only
        # between its steps, and never wait for one here on the GUI thread
        if not core.GLOBAL_RNG_LOCK.acquire(blocking=False):
            QTimer.singleShot(50, self, self._show_views)  # dropped if the page is gone by then
            return
        try:
            with core.global_rng(0):
                tiles = [x.numpy()] + [pipeline(x).numpy() for _ in range(4)]
        finally:
            core.GLOBAL_RNG_LOCK.release()
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
        names = QFormLayout()
        self.name = QLineEdit()
        self.name.setObjectName("experimentName")
        self.name.setToolTip("The experiment's name: the run folder is named after it")
        self.description = QPlainTextEdit()
        self.description.setObjectName("experimentDescription")
        self.description.setPlaceholderText("What this experiment is for (saved with the run and its report)")
        self.description.setFixedHeight(60)
        names.addRow("Name:", self.name)
        names.addRow("Description:", self.description)
        layout.addLayout(names)
        # once the user has typed a name or a description it is theirs; until then both follow the choices
        self.name_edited = self.description_edited = False
        self.name.textEdited.connect(self._name_typed)
        self.description.textChanged.connect(self._description_typed)
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
        self.error.setObjectName("reviewError")
        self.error.setStyleSheet("color: #b00020;")
        layout.addWidget(self.error)
        self._filling = False

    @Slot()
    def _name_typed(self) -> None:
        self.name_edited = True
        self.refresh()

    @Slot()
    def _description_typed(self) -> None:
        if not self._filling:
            self.description_edited = True
            self.refresh()

    def initializePage(self) -> None:  # noqa: N802 (Qt)
        self._filling = True
        if not self.name_edited:
            self.name.setText(self.wiz.default_name())
        if not self.description_edited:
            self.description.setPlainText(self.wiz.default_description())
        self._filling = False
        self.refresh()

    def refresh(self) -> None:
        try:
            exp = self.wiz.experiment()
            self.error.setText("")
        except core.ConfigError as err:
            self.error.setText(str(err))
            self.toml.setPlainText("")
            self.completeChanged.emit()
            return
        t = exp.training
        self.summary.setText(f"{exp.objective.name} on {exp.data.name} with a {exp.encoder.name} encoder: "
                             f"{t.epochs} epochs of batches of {t.batch_size}, {t.optimizer} at lr {t.lr:g}, "
                             f"seed {t.seed}, device {t.device}.")
        self.toml.setPlainText(core.dumps_experiment(exp))
        self.completeChanged.emit()

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
        for name, value in exp.data.split.to_dict().items():
            self.data_page.split_form.set_value(name, value)
        for page in (self.encoder_page, self.objective_page):
            page.forget()
        self.objective_page.views_editor.kind = None  # the preset's views, when the objective page is shown
        self.review_page.name_edited = self.review_page.description_edited = False
        for name, value in exp.training.to_dict().items():
            if name in self.training_page.form.widgets:
                self.training_page.form.set_value(name, value)
        if exp.training.grad_clip is None:
            self.training_page.form.set_value("grad_clip", None)

    def _same_as_start(self) -> bool:
        """Whether data, encoder and objective are still the starting experiment's (its name and description
        then still describe it)."""
        return (self.data_page.source.currentData() == self.start.data.name
                and self.encoder_page.combo.currentData() in (None, self.start.encoder.name)
                and self.objective_page.combo.currentData() in (None, self.start.objective.name))

    def default_name(self) -> str:
        if self._same_as_start():
            return self.start.name
        return f"{self.data_page.source.currentData()}-{self.objective_page.combo.currentData()}"

    def default_description(self) -> str:
        if self._same_as_start():
            return self.start.description
        return (f"{self.objective_page.combo.currentData()} on {self.data_page.source.currentData()} with a "
                f"{self.encoder_page.combo.currentData()} encoder.")

    def experiment(self):
        review = self.review_page
        name = review.name.text().strip() if review.name_edited else self.default_name()
        description = review.description.toPlainText().strip() if review.description_edited else (
            self.default_description())
        return dataclasses.replace(
            self.start, name=name, description=description,
            data=self.data_page.data_config(),
            encoder=core.EncoderConfig(name=self.encoder_page.combo.currentData(), params=self.encoder_page.form.params()),
            objective=core.ObjectiveConfig(name=self.objective_page.combo.currentData(),
                                           params=self.objective_page.form.params()),
            training=self.training_page.form.params(),
            views=self.objective_page.view_configs(),
        )
