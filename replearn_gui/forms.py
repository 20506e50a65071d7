"""Forms generated from core's ``Params`` dataclasses: one widget per field, validated by core itself.

The field metadata gives the label, the bounds and the help (shown as a tooltip). Every edit rebuilds the
``Params`` through :func:`core.from_mapping` — the one validation place — and an error is shown right under the
offending field (framed in red), naming its label and key, until the values are valid again.
"""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QScrollArea, QSpinBox, QWidget

import core


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


# an error's text on a light and on a dark window: each keeps a contrast of at least 4.5 against its background
ERROR_COLOURS = {False: "#b00020", True: "#ff8a80"}


def error_colour(widget: QWidget) -> str:
    return ERROR_COLOURS[widget.palette().color(QPalette.ColorRole.Window).lightness() < 128]


class ParamsForm(QWidget):
    """Edits one Params class. ``values()`` is plain data; ``params()`` the validated instance (or None)."""

    changed = Signal()

    def __init__(self, params_cls: type, values: Any = None, parent: QWidget | None = None, path: str = "",
                 choices: dict[str, list[str]] | None = None):
        super().__init__(parent)
        self.choices = choices or {}  # free-text fields offered as a fixed list (e.g. the devices present)
        self.params_cls = params_cls
        self.path = path
        self.specs = core.field_specs(params_cls)
        current = values.to_dict() if hasattr(values, "to_dict") else dict(values or {})
        layout = QFormLayout(self)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        self.widgets: dict[str, QWidget] = {}
        for spec in self.specs:
            value = current.get(spec.name, spec.default)
            widget = self._widget(spec, value)
            tip = spec.help + ("\n" if spec.help else "") + f"Allowed: {spec.allowed()}"
            widget.setToolTip(tip)
            widget.setObjectName(f"field_{spec.name}")
            label = QLabel(spec.label + ":")
            label.setToolTip(tip)
            layout.addRow(label, widget)
            self.widgets[spec.name] = widget
        self.error = QLabel("")  # placed right under the field it is about (see _show_error)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        layout.addRow(self.error)
        if not self.specs:
            layout.addRow(QLabel("No settings."))
        self._params = None
        self._marked: QWidget | None = None  # the field framed as invalid
        self._validate()

    def _widget(self, spec, value) -> QWidget:
        if spec.name in self.choices:
            w = QComboBox()
            options = list(self.choices[spec.name])
            if value not in options:
                options.append(value)
            for c in options:
                w.addItem(str(c), c)
            w.setCurrentIndex(options.index(value))
            w.currentIndexChanged.connect(self._validate)
            return w
        if spec.kind == "bool":
            w = QCheckBox()
            w.setChecked(bool(value))
            w.toggled.connect(self._validate)
            return w
        if spec.kind == "choice":
            w = QComboBox()
            for c in spec.choices:
                w.addItem(str(c), c)
            w.setCurrentIndex(max(0, list(spec.choices).index(value) if value in spec.choices else 0))
            w.currentIndexChanged.connect(self._validate)
            return w
        if spec.kind == "int" and not spec.optional and spec.min is not None:
            w = QSpinBox()
            w.setRange(int(spec.min), int(min(spec.max if spec.max is not None else 2**31 - 1, 2**31 - 1)))
            w.setValue(int(value))
            w.valueChanged.connect(self._validate)
            return w
        w = QLineEdit(_text(value))
        if spec.optional:
            w.setPlaceholderText("empty")
        w.textChanged.connect(self._validate)
        return w

    def _raw(self, spec) -> Any:
        w = self.widgets[spec.name]
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QSpinBox):
            return w.value()
        text = w.text().strip()
        if text == "" and (spec.optional or spec.kind == "tuple"):
            return None if spec.optional else []
        if spec.kind == "tuple":
            parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
            return [_number(p, spec.item_kind) for p in parts]
        if spec.kind in ("int", "float"):
            return _number(text, spec.kind)
        return text

    def values(self) -> dict[str, Any]:
        return {spec.name: self._raw(spec) for spec in self.specs}

    def _validate(self) -> None:
        try:
            self._params = core.from_mapping(self.params_cls, self.values(), self.path)
            self._show_error(None)
        except core.ConfigError as err:
            self._params = None
            self._show_error(err)
        self.changed.emit()

    def _field_of(self, err: core.ConfigError) -> Any:
        """The spec of the field an error is about (its key ends in the field's name, maybe with an index)."""
        key = err.field.removeprefix(f"{self.path}.") if self.path else err.field
        name = key.split(".")[0].split("[")[0]
        return next((spec for spec in self.specs if spec.name == name), None)

    def _show_error(self, err: core.ConfigError | None) -> None:
        """The message under its field, in words a person reads first ("Learning rate (training.lr): ..."), and
        the field framed; nothing of either once the values are valid."""
        if self._marked is not None:
            self._marked.setStyleSheet("")
            self._marked = None
        if err is None:
            self.error.setText("")
            self.error.hide()
            return
        spec = self._field_of(err)
        text = str(err)
        if spec is not None and err.field and text.startswith(f"{err.field}:"):
            text = f"{spec.label} ({err.field}):{text[len(err.field) + 1:]}"
        self.error.setText(text)
        colour = error_colour(self)
        self.error.setStyleSheet(f"color: {colour};")
        layout = self.layout()
        layout.takeRow(self.error)
        if spec is not None:
            field = self.widgets[spec.name]
            field.setStyleSheet(f"{type(field).__name__} {{ border: 2px solid {colour}; border-radius: 3px; }}")
            self._marked = field
            layout.insertRow(layout.getWidgetPosition(field)[0] + 1, self.error)
        else:
            layout.addRow(self.error)
        self.error.show()
        QTimer.singleShot(0, self, self._reveal_error)  # once the layout has placed it

    def _reveal_error(self) -> None:
        """Scroll a long page so that the message is in view, not below the fold."""
        parent = self.parentWidget()
        while parent is not None and not isinstance(parent, QScrollArea):
            parent = parent.parentWidget()
        if parent is not None and self.error.isVisible():
            parent.ensureWidgetVisible(self.error, 0, 10)

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self.error.text():  # the theme changed: readable again
            self._validate()

    def params(self):
        return self._params

    def is_valid(self) -> bool:
        return self._params is not None

    def set_value(self, name: str, value: Any) -> None:
        """Set one field as a user would (tests, presets)."""
        w = self.widgets[name]
        if isinstance(w, QCheckBox):
            w.setChecked(bool(value))
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(w.findData(value))
        elif isinstance(w, QSpinBox):
            w.setValue(int(value))
        else:
            w.setText(_text(value))


def _number(text: str, kind: str | None) -> Any:
    try:
        return int(text) if kind == "int" else float(text)
    except ValueError:
        return text  # core's validation names the field and says what is allowed
