"""Every error reaches the user: our own errors as a plain message, anything else with its traceback."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox, QWidget

from core import ReplearnError


def is_user_error(exc: BaseException) -> bool:
    """Errors core raises on purpose (bad config, bad data, non-finite loss...): no traceback needed."""
    return isinstance(exc, ReplearnError)


def show_error(parent: QWidget | None, title: str, exc: BaseException, details: str = "") -> QMessageBox:
    """A non-blocking message box (``open()``, not ``exec()``), so no worker or test waits on it."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning if is_user_error(exc) else QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setTextFormat(Qt.TextFormat.PlainText)  # messages may quote user data: never read them as HTML
    if is_user_error(exc):
        box.setText(str(exc))
    else:
        box.setText(f"Something went wrong inside RepLearn Studio: {type(exc).__name__}: {exc}")
        if details:
            box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    copy = box.addButton("Copy", QMessageBox.ButtonRole.ActionRole)
    copy.setObjectName("copyError")
    # ActionRole buttons would close the box; copying must leave it open for the user
    copy.clicked.disconnect()
    copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(box.text() + ("\n\n" + details if details else "")))
    box.open()
    return box


def show_worker_error(parent: QWidget, title: str, exc: BaseException) -> QMessageBox:
    """An exception a worker raised, with its traceback under Details (for errors that are not ours)."""
    import traceback

    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return show_error(parent, title, exc, details)
