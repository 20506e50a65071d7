"""The window's actions: menus, toolbar, shortcuts, the theme, About and the keyboard-shortcut list.

Every command a person gives the window is a QAction here (menu item, toolbar button and shortcut at once), so
tests trigger the same object a click or a key press does.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette
from PySide6.QtWidgets import QApplication, QMainWindow, QMessageBox

DOCS_FOLDER = Path(__file__).resolve().parents[1] / "docs"

DARK = ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e6e6e6"),
        (QPalette.ColorRole.Base, "#1f1f1f"), (QPalette.ColorRole.AlternateBase, "#2b2b2b"),
        (QPalette.ColorRole.Text, "#e6e6e6"), (QPalette.ColorRole.Button, "#3a3a3a"),
        (QPalette.ColorRole.ButtonText, "#e6e6e6"), (QPalette.ColorRole.Highlight, "#3d7bd9"),
        (QPalette.ColorRole.HighlightedText, "#ffffff"), (QPalette.ColorRole.ToolTipBase, "#3a3a3a"),
        (QPalette.ColorRole.ToolTipText, "#e6e6e6"), (QPalette.ColorRole.PlaceholderText, "#9a9a9a"),
        # links (About's docs link, rich-text labels): the default dark blue is unreadable on the dark window
        (QPalette.ColorRole.Link, "#8ab4f8"), (QPalette.ColorRole.LinkVisited, "#c7a4f5"),
        (QPalette.ColorRole.BrightText, "#ffffff"))
DARK_DISABLED = ((QPalette.ColorRole.WindowText, "#7c7c7c"), (QPalette.ColorRole.Text, "#7c7c7c"),
                 (QPalette.ColorRole.ButtonText, "#7c7c7c"), (QPalette.ColorRole.Light, "#2b2b2b"),
                 (QPalette.ColorRole.Base, "#2b2b2b"), (QPalette.ColorRole.Button, "#333333"))


def dark_palette() -> QPalette:
    """The dark palette, with disabled widgets and actions drawn greyed (a palette set role by role otherwise
    gives the disabled group the active colours, so disabled actions look enabled)."""
    palette = QPalette()
    for role, colour in DARK:
        palette.setColor(role, QColor(colour))
    for role, colour in DARK_DISABLED:
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(colour))
    return palette


def apply_palette(dark: bool) -> None:
    app = QApplication.instance()
    app.setPalette(dark_palette() if dark else app.style().standardPalette())


def version_text() -> str:
    """The installed version, read without importing core (which would load torch)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("replearn-studio")
    except PackageNotFoundError:
        return "(not installed)"


class WindowActions(QObject):
    """Builds the actions on ``window`` (which provides the slots) and its menus and toolbar."""

    NAMES = ("new_action", "open_action", "open_data_action", "open_run_action", "checkpoint_action", "quit_action",
             "report_action", "export_encoder_action", "start_action", "queue_action", "pause_action", "stop_action", "resume_action",
             "preferences_action", "about_action", "shortcuts_action", "dark_action")

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        w = window

        def action(text: str, slot, shortcut=None, tip: str = "") -> QAction:
            a = QAction(text, w)
            a.triggered.connect(slot)
            if shortcut is not None:
                a.setShortcut(shortcut)
            a.setStatusTip(tip)
            a.setToolTip(tip or text.replace("&", ""))
            return a

        self.new_action = action("&New experiment…", w.new_experiment, QKeySequence.StandardKey.New,
                                 "Choose data, encoder, objective and training in the wizard")
        self.open_action = action("&Open experiment…", w.choose_experiment, QKeySequence.StandardKey.Open,
                                  "Load an experiment TOML file")
        self.open_data_action = action("Open &data…", w.choose_data, "Ctrl+D",
                                       "Start a new experiment on your own data file or folder")
        self.open_run_action = action("Open &run…", w.choose_run, "Ctrl+Shift+O",
                                      "Open a run directory (also one that is still being written)")
        self.checkpoint_action = action("Save &checkpoint", w.save_checkpoint, QKeySequence.StandardKey.Save,
                                        "Save a checkpoint of the running training now")
        self.quit_action = action("&Quit", w.close, QKeySequence.StandardKey.Quit)
        self.report_action = action("&Report…", lambda: w.open_report_dialog(w.opened_run), "Ctrl+E",
                                    "Evaluate the open run and export its report (HTML, PDF, JSON, Markdown, CSV)")
        self.export_encoder_action = action("&Encoder…", lambda: w.open_export_dialog(w.opened_run), None,
                                            "Export the open run's encoder (safetensors, TorchScript, ONNX) with its "
                                            "preprocessing and a card")
        self.start_action = action("&Start", w.start_training, "Ctrl+R", "Train the loaded experiment")
        self.queue_action = action("&Queue", w.queue_current, "Ctrl+Shift+R",
                                   "Train the loaded experiment after the runs already going (or now, if none)")
        self.pause_action = action("&Pause", w.toggle_pause, "Ctrl+P", "Pause or resume at the next step")
        self.stop_action = action("S&top", w.controller.stop, "Ctrl+.",
                                  "Stop after the current step, saving a checkpoint")
        self.resume_action = action("Resume &stopped run", lambda: w.resume_run(w.resume_target()), "Ctrl+Shift+P",
                                    "Continue the stopped run selected in the run list (or the open one) from its "
                                    "newest checkpoint (as 'replearn resume' does)")
        self.preferences_action = action("&Preferences…", w.show_preferences, QKeySequence.StandardKey.Preferences,
                                         "Runs folder, torch threads, theme")
        if self.preferences_action.shortcut().isEmpty():
            self.preferences_action.setShortcut("Ctrl+,")
        self.about_action = action("&About RepLearn Studio", self.show_about)
        self.shortcuts_action = action("&Keyboard shortcuts", self.show_shortcuts, "F1")
        self.dark_action = action("&Dark theme", w.toggle_theme, "Ctrl+Shift+T")
        self.dark_action.setCheckable(True)
        self.window = w

        menu = w.menuBar()
        file_menu = menu.addMenu("&File")
        for a in (self.new_action, self.open_action, self.open_data_action, self.open_run_action):
            file_menu.addAction(a)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(w._fill_recent)
        file_menu.addSeparator()
        export_menu = file_menu.addMenu("&Export")
        export_menu.addAction(self.report_action)
        export_menu.addAction(self.export_encoder_action)
        for kind, text in (("png", "Embedding view as &PNG…"), ("svg", "Embedding view as &SVG…"),
                           ("projector", "TF Embedding &Projector files…"), ("embeddings", "Embeddings as &CSV…"),
                           ("parquet", "Embeddings as P&arquet…")):
            export_menu.addAction(text, lambda kind=kind: w.export_embeddings(kind))
        file_menu.addSeparator()
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        run_menu = menu.addMenu("&Run")
        for a in (self.start_action, self.queue_action, self.pause_action, self.stop_action, self.resume_action,
                  self.checkpoint_action):
            run_menu.addAction(a)
        self.run_menu = run_menu
        menu.addMenu("&View").addAction(self.dark_action)
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(self.shortcuts_action)
        help_menu.addAction(self.about_action)
        toolbar = w.addToolBar("Run")
        toolbar.setObjectName("runToolbar")
        toolbar.setMovable(False)
        for a in (self.new_action, self.open_action, self.start_action, self.pause_action, self.stop_action):
            toolbar.addAction(a)
        self.toolbar = toolbar
        self.about_box: QMessageBox | None = None

    def show_shortcuts(self) -> None:
        rows = [(a.text().replace("&", ""), a.shortcut().toString(QKeySequence.SequenceFormat.NativeText))
                for a in (getattr(self, n) for n in self.NAMES)]
        box = QMessageBox(self.window)
        box.setWindowTitle("Keyboard shortcuts")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText("\n".join(f"{key:<16} {name}" for name, key in rows if key))
        box.open()

    def show_about(self) -> None:
        box = QMessageBox(self.window)
        box.setObjectName("aboutBox")
        box.setWindowTitle("About RepLearn Studio")
        box.setTextFormat(Qt.TextFormat.RichText)
        docs = QUrl.fromLocalFile(str(DOCS_FOLDER)).toString()
        box.setText(f"<b>RepLearn Studio {version_text()}</b><br>Train representations, watch their health, "
                    f"explore the embedding space.<br><br>Licence: MIT.<br>"
                    f"Documentation: <a href='{docs}'>{DOCS_FOLDER}</a>")
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        box.open()
        self.about_box = box
