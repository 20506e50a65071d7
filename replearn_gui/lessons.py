"""The guided path: a Learn menu, a start page listing the lessons, and a lesson panel docked beside the run.

Opening a lesson shows its text in the dock and loads its preset in the wizard; "Check my run" answers the
lesson's questions from the open run's own records (in a worker: it reads files). Lessons and their checks live
in core (:mod:`core.lessons`); this module only shows them. Nothing here imports core before the engine is
loaded (:meth:`LearnController.engine_ready`), so the window still appears at once.
"""
from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

import core
from core import RunStarted
from replearn_gui.jobs import BackgroundJob

STATUS_MARK = {"yes": "✔", "no": "✘", "not yet": "…"}
STATUS_COLOUR = {"yes": "#2a8a3a", "no": "#b03a2e", "not yet": "#777777"}


def lesson_html(lesson: Any, glossary: Callable[[str], str | None] | None = None) -> str:
    """The lesson as rich text: its text (Markdown rendered by Qt), what to look at, and the terms it uses."""
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setMarkdown(lesson.text)
    body = doc.toHtml()
    looks = "".join(f"<li><b>{html.escape(x.panel)}</b> — {html.escape(x.what)}</li>" for x in lesson.look)
    parts = [f"<h2>{html.escape(lesson.title)}</h2>", body, "<h3>Look at</h3>", f"<ul>{looks}</ul>"]
    if lesson.also:
        parts.append("<p><b>Also try:</b> " + ", ".join(html.escape(p) for p in lesson.also) + "</p>")
    if glossary is not None and lesson.glossary:
        items = []
        for term in lesson.glossary:
            text = glossary(term)
            if text:
                items.append(f"<li><b>{html.escape(term)}</b>: {html.escape(text)}</li>")
        if items:
            parts.append("<h3>Terms</h3><ul>" + "".join(items) + "</ul>")
    return "".join(parts)


class LessonPanel(QWidget):
    """One lesson beside the run: text, what to look at, the questions and their answers."""

    preset_requested = Signal(str)

    def __init__(self, current_run: Callable[[], str | None], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("lessonPanel")
        self.current_run = current_run
        self.lesson: Any = None
        self.text = QTextBrowser()
        self.text.setObjectName("lessonText")
        self.text.setOpenExternalLinks(False)
        self.load_button = QPushButton("Load the preset in the wizard")
        self.load_button.setObjectName("lessonLoadPreset")
        self.load_button.clicked.connect(lambda: self.lesson and self.preset_requested.emit(self.lesson.preset))
        self.check_button = QPushButton("Check my run")
        self.check_button.setObjectName("lessonCheck")
        self.check_button.setToolTip("Answer the questions from the open run's records (and its last evaluation)")
        self.check_button.clicked.connect(self.check)
        self.questions_box = QWidget()
        self.questions_layout = QVBoxLayout(self.questions_box)
        self.questions_layout.setContentsMargins(0, 0, 0, 0)
        self.status = QLabel("")
        self.status.setObjectName("lessonStatus")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        buttons = QHBoxLayout()
        buttons.addWidget(self.load_button)
        buttons.addWidget(self.check_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text, 1)
        title = QLabel("<b>Questions</b>")
        layout.addWidget(title)
        layout.addWidget(self.questions_box)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.answer_labels: list[QLabel] = []
        self.job = BackgroundJob(self, policy="refuse")  # one check at a time
        self.job.bind(status=self.status, failed="Could not read the run")
        self.job.done.connect(self._answered)
        self.job.finished.connect(self._done)

    def show_lesson(self, lesson: Any, glossary: Callable[[str], str | None] | None = None) -> None:
        self.lesson = lesson
        self.text.setHtml(lesson_html(lesson, glossary))
        while self.questions_layout.count():
            item = self.questions_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.answer_labels = []
        for i, q in enumerate(lesson.questions, start=1):
            ask = QLabel(f"{i}. {q.ask}")
            ask.setWordWrap(True)
            ask.setTextFormat(Qt.TextFormat.PlainText)
            ask.setToolTip(f"Checked from the run: {q.check_text}")
            answer = QLabel("")
            answer.setObjectName(f"lessonAnswer{i}")
            answer.setWordWrap(True)
            answer.setTextFormat(Qt.TextFormat.PlainText)
            self.questions_layout.addWidget(ask)
            self.questions_layout.addWidget(answer)
            self.answer_labels.append(answer)
        self.status.setText(f"Preset: {lesson.preset}. Train it (or open its run), then press 'Check my run'.")

    @Slot()
    def check(self) -> None:
        run = self.current_run()
        if self.lesson is None:
            return
        if run is None:
            self.status.setText("No run is open: load the preset, train it, then check.")
            return
        if self.job.start(core.check_run, self.lesson, run, message="Reading the run…"):
            self.check_button.setEnabled(False)

    @Slot(object)
    def _answered(self, answers: list) -> None:
        for label, a in zip(self.answer_labels, answers, strict=False):
            label.setText(f"{STATUS_MARK[a.status]} {a.sentence}" + (f"\n{a.question.explain}"
                                                                     if a.status != "not yet" and a.question.explain else ""))
            label.setStyleSheet(f"color: {STATUS_COLOUR[a.status]};")
        self.status.setText(f"Checked against {self.current_run()}.")

    @Slot()
    def _done(self) -> None:
        self.check_button.setEnabled(True)


class StartPage(QWidget):
    """The lessons by section: what the app shows when no run is open."""

    lesson_chosen = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("startPage")
        intro = QLabel("<h2>Learn representation learning by doing it</h2>"
                       "<p>Each lesson trains a preset, tells you where to look and asks a question that the app "
                       "answers from your run. Double-click a lesson to begin, or use <b>File › New experiment</b> "
                       "to build your own.</p>")
        intro.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setObjectName("lessonTree")
        self.tree.setHeaderLabels(["Lesson", "Preset"])
        self.tree.setColumnWidth(0, 420)
        self.tree.itemActivated.connect(self._activated)  # a double click, or Enter
        self.open_button = QPushButton("Open lesson")
        self.open_button.setObjectName("openLesson")
        self.open_button.clicked.connect(lambda: self._activated(self.tree.currentItem()))
        self.placeholder = QTreeWidgetItem(["Loading the lessons…", ""])
        self.tree.addTopLevelItem(self.placeholder)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.tree, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_button)
        layout.addLayout(row)

    def fill(self, sections: dict[str, list]) -> None:
        self.tree.clear()
        for section, items in sections.items():
            top = QTreeWidgetItem([section, ""])
            top.setFlags(top.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.tree.addTopLevelItem(top)
            for lesson in items:
                child = QTreeWidgetItem([lesson.title, lesson.preset])
                child.setData(0, Qt.ItemDataRole.UserRole, lesson.id)
                child.setToolTip(0, lesson.text.split("\n\n")[0])
                top.addChild(child)
            top.setExpanded(True)

    def item_for(self, lesson_id: str) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                if top.child(j).data(0, Qt.ItemDataRole.UserRole) == lesson_id:
                    return top.child(j)
        return None

    @Slot(QTreeWidgetItem)
    def _activated(self, item: QTreeWidgetItem | None) -> None:
        lesson_id = None if item is None else item.data(0, Qt.ItemDataRole.UserRole)
        if lesson_id:
            self.lesson_chosen.emit(lesson_id)


NARROW_WINDOW = 1400  # below this width (the default 1320 too) a docked lesson folds the runs column away


class LearnController(QObject):
    """Adds the Learn menu, the start page (a tab) and the lesson dock to the main window."""

    def __init__(self, window: QMainWindow, show_start: bool = True):
        super().__init__(window)
        self.window = window
        self.menu = QMenu("&Learn", window)
        self.menu.setObjectName("learnMenu")
        self.menu.addAction("Loading the lessons…").setEnabled(False)
        bar = window.menuBar()
        help_action = next((a for a in bar.actions() if a.text().replace("&", "") == "Help"), None)
        bar.insertMenu(help_action, self.menu) if help_action is not None else bar.addMenu(self.menu)
        self.panel = LessonPanel(lambda: getattr(window, "opened_run", None))
        self.panel.preset_requested.connect(self.load_preset)
        self.dock = QDockWidget("Lesson", window)
        self.dock.setObjectName("lessonDock")
        self.dock.setWidget(self.panel)
        self.dock.hide()  # docked the first time a lesson opens
        self.start_page = StartPage()
        self.start_page.lesson_chosen.connect(self.open_lesson)
        tabs = window.tabs
        tabs.insertTab(0, self.start_page, "Start")
        tabs.setCurrentIndex(0 if show_start else 1)
        window.controller.event.connect(self._on_event)
        self.glossary: Callable[[str], str | None] | None = None
        self.ready = False
        self._folded: list[int] | None = None  # the main splitter's sizes before the lesson folded the runs column

    def leave_start_page(self) -> None:
        """A run is on screen: show its training view rather than the start page."""
        if self.window.tabs.currentWidget() is self.start_page:
            self.window.tabs.setCurrentIndex(1)

    @Slot(object)
    def _on_event(self, event: Any) -> None:
        if isinstance(event, RunStarted):
            self.leave_start_page()

    def engine_failed(self) -> None:
        """The engine did not load: the placeholders say why the lessons are missing instead of "Loading…"."""
        if self.ready:
            return
        text = "The lessons appear once the training engine has loaded (see the message on the left)."
        self.start_page.placeholder.setText(0, text)
        self.menu.clear()
        self.menu.addAction(text).setEnabled(False)

    def engine_ready(self) -> None:
        """Fill the menu and the start page, and add the glossary to the cockpit's tooltips (core is loaded)."""
        if self.ready:
            return
        self.ready = True
        self.glossary = core.define
        sections: dict[str, list] = {}
        for lesson in core.all_lessons():
            sections.setdefault(lesson.section, []).append(lesson)
        self.start_page.fill(sections)
        self.menu.clear()
        for section, items in sections.items():
            sub = self.menu.addMenu(section)
            for lesson in items:
                sub.addAction(lesson.title, lambda i=lesson.id: self.open_lesson(i))
        self.menu.addSeparator()
        self.menu.addAction("Start page", lambda: self.window.tabs.setCurrentWidget(self.start_page))
        cockpit = getattr(self.window, "cockpit", None)
        if cockpit is not None and hasattr(cockpit, "explain_with"):
            cockpit.explain_with(core.define)

    @Slot(str)
    def open_lesson(self, lesson_id: str) -> None:
        if not self.ready:
            self.window.statusBar().showMessage("The lessons open once the engine has loaded.", 5000)
            return
        lesson = core.load_lesson(lesson_id)
        self.panel.show_lesson(lesson, self.glossary)
        self.dock.setWindowTitle(f"Lesson — {lesson.title}")
        if self.window.dockWidgetArea(self.dock) == Qt.DockWidgetArea.NoDockWidgetArea:
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.dock.visibilityChanged.connect(self._dock_visibility)
        self.dock.show()
        self.dock.raise_()
        self._make_room()
        self.load_preset(lesson.preset)

    def _make_room(self) -> None:
        """On a narrow window (below 1400 px) the lesson takes the place of the experiment / runs column, which
        folds away (its splitter handle stays at the left edge) and comes back when the lesson closes: beside
        both, the tabs would be squeezed below their controls' width."""
        w = self.window
        main = getattr(w, "splitters", {}).get("main")
        if main is None or w.width() >= NARROW_WINDOW or self._folded is not None or main.sizes()[0] == 0:
            return
        self._folded = main.sizes()
        main.setSizes([0, sum(self._folded)])
        w.statusBar().showMessage("The runs column is folded to make room for the lesson: drag the left edge to "
                                  "bring it back; it returns when the lesson closes.", 8000)

    @Slot(bool)
    def _dock_visibility(self, visible: bool) -> None:
        main = getattr(self.window, "splitters", {}).get("main")
        if not visible and self._folded is not None and main is not None and not self.dock.isFloating():
            main.setSizes(self._folded)
            self._folded = None

    @Slot(str)
    def load_preset(self, preset: str) -> None:
        """The wizard, started from the preset (the user reviews it and presses Finish to train)."""
        w = self.window
        if getattr(w, "experiment", None) is None:
            w.statusBar().showMessage("The engine is still loading; try again in a moment.", 5000)
            return
        w.new_experiment()
        if w.wizard is not None and w.wizard.isVisible():
            w.wizard.apply_experiment(core.load_preset(preset))
