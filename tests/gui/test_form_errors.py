"""Issue 17: an invalid value typed into a wizard form is marked where it was typed — the field framed, the
message right under it (in view on a scrolled page), naming the field's label, readable in both themes."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import core


def contrast(a: str, b: str) -> float:
    """WCAG contrast of two colours."""
    from PySide6.QtGui import QColor

    def luminance(name):
        def channel(c):
            return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
        colour = QColor(name)
        return 0.2126 * channel(colour.redF()) + 0.7152 * channel(colour.greenF()) + 0.0722 * channel(colour.blueF())
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def retype(qtbot, field, text: str) -> None:
    from PySide6.QtCore import Qt

    qtbot.mouseClick(field, Qt.MouseButton.LeftButton)
    qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(field, text)


@pytest.mark.parametrize("field_name", ["lr", "grad_clip"])
def test_a_bad_learning_rate_is_marked_under_its_field_and_in_view(qtbot, tiny_experiment, field_name):
    from PySide6.QtCore import QRect

    from replearn_gui.forms import ERROR_COLOURS
    from replearn_gui.wizard import TrainingPage

    page = TrainingPage(SimpleNamespace(start=tiny_experiment))
    qtbot.addWidget(page)
    page.resize(640, 380)  # shorter than the form: the page scrolls
    page.show()
    qtbot.waitExposed(page)
    form = page.form
    field = form.widgets[field_name]
    scroll = form.parentWidget().parentWidget()
    scroll.ensureWidgetVisible(field)  # the user scrolled to the field to type into it
    retype(qtbot, field, "abc")
    assert not page.isComplete()
    label = next(spec.label for spec in form.specs if spec.name == field_name)
    assert form.error.text().startswith(f"{label} (training.{field_name}):"), form.error.text()
    assert "abc" in form.error.text()
    viewport = scroll.viewport()

    def in_view(widget) -> bool:
        top_left = widget.mapTo(viewport, widget.rect().topLeft())
        return widget.isVisible() and viewport.rect().contains(QRect(top_left, widget.size()))

    qtbot.waitUntil(lambda: in_view(form.error), timeout=3000)
    assert in_view(field)
    # right under the field: nothing between them
    assert 0 <= form.error.y() - field.geometry().bottom() < 20
    assert "border" in field.styleSheet() and ERROR_COLOURS[False] in field.styleSheet()
    assert ERROR_COLOURS[False] in form.error.styleSheet()
    retype(qtbot, field, "0.5")
    assert page.isComplete() and not form.error.isVisible() and field.styleSheet() == ""


def test_the_error_colour_is_readable_in_the_dark_theme(qtbot):
    from PySide6.QtGui import QColor, QPalette

    from replearn_gui.forms import ERROR_COLOURS, ParamsForm

    form = ParamsForm(core.TrainingConfig, core.TrainingConfig(), path="training")
    qtbot.addWidget(form)
    palette = form.palette()
    palette.setColor(QPalette.ColorRole.Window, QColor("#2b2b2b"))
    form.setPalette(palette)
    form.set_value("lr", "-1")
    assert ERROR_COLOURS[True] in form.error.styleSheet() and ERROR_COLOURS[True] in form.widgets["lr"].styleSheet()
    for dark, background in ((False, "#ffffff"), (True, "#2b2b2b")):
        assert contrast(ERROR_COLOURS[dark], background) >= 4.5
