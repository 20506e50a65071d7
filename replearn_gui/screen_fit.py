"""Dialog sizes bounded by the screen: a dialog asks for a comfortable size, but never for more than the available
area of the screen it opens on (at 1024 × 700 a 760 px tall dialog put its buttons below the bottom edge)."""
from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

FRAME = (16, 40)  # room for the window manager's frame and title bar


def available_area(widget: QWidget) -> QRect | None:
    """The available geometry (without panels and docks) of the screen ``widget`` (or its parent) is on."""
    parent = widget.parentWidget()
    screen = (parent.screen() if parent is not None else None) or widget.screen() or QGuiApplication.primaryScreen()
    return None if screen is None else screen.availableGeometry()


def resize_within_screen(widget: QWidget, width: int, height: int) -> None:
    """Resize ``widget`` to ``width`` × ``height``, or to the available area of its (parent's) screen if smaller;
    its layout then shrinks the part that scrolls (a preview, a list)."""
    room = available_area(widget)
    if room is None:
        widget.resize(width, height)
        return
    widget.resize(max(1, min(width, room.width() - FRAME[0])), max(1, min(height, room.height() - FRAME[1])))
