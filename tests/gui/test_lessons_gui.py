"""The Learn menu, the start page and the lesson dock: a lesson opens beside the wizard and checks a real run."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import core


def _learn_action(window, title):
    for section in window.learn.menu.actions():
        sub = section.menu()
        if sub is None:
            continue
        for a in sub.actions():
            if a.text() == title:
                return a
    raise AssertionError(f"no Learn menu entry {title!r}")


def test_learn_menu_lists_every_lesson_by_section(window):
    menu_titles = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menu_titles.index("Learn") == menu_titles.index("Help") - 1
    sections = {a.text(): [x.text() for x in a.menu().actions()] for a in window.learn.menu.actions() if a.menu()}
    lessons = core.all_lessons()
    assert sum(len(v) for v in sections.values()) == len(lessons)
    assert "Collapse" in sections and "Anti-collapse 2: stop-gradient" in sections["Collapse"]


def test_opening_a_lesson_shows_it_beside_the_run_and_loads_its_preset(window, qtbot):
    _learn_action(window, "Anti-collapse 2: stop-gradient").trigger()
    panel = window.learn.panel
    assert window.learn.dock.isVisible()
    assert "stop-gradient" in panel.text.toPlainText() and "Look at" in panel.text.toPlainText()
    assert "Terms" in panel.text.toPlainText()  # the lesson's glossary entries
    wiz = window.wizard
    qtbot.waitUntil(lambda: wiz is not None and wiz.isVisible(), timeout=5000)
    assert wiz.start.name == "collapse-simsiam-no-stop-gradient"
    assert wiz.data_page.source.currentData() == "digits"
    wiz.reject()
    assert window.learn.dock.isVisible()  # the lesson stays while the user works


def test_check_my_run_answers_from_the_open_runs_records(window, qtbot, tiny_experiment):
    result = core.run_to_end(core.train(tiny_experiment))
    _learn_action(window, "What makes a representation useful").trigger()
    window.wizard.reject()
    panel = window.learn.panel
    QTest.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    assert "No run is open" in panel.status.text()
    window.open_run(result.run_dir)
    QTest.mouseClick(panel.check_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: all(label.text() for label in panel.answer_labels), timeout=20000)
    facts = core.RunFacts.read(result.run_dir)
    expected = [a.status for a in core.load_lesson("01-useful-representations").answer(facts)]
    marks = {"yes": "✔", "no": "✘", "not yet": "…"}
    assert [label.text()[0] for label in panel.answer_labels] == [marks[s] for s in expected]
    from core.lessons import Reference

    rank = facts.value(Reference.parse("last:diagnostics.effective_rank"))
    assert f"{rank:.3g}" in panel.answer_labels[1].text()  # the run's own number is quoted
    qtbot.waitUntil(lambda: panel.check_button.isEnabled(), timeout=5000)


def test_start_page_opens_a_lesson_on_double_click(qtbot, tmp_path):
    from replearn_gui.main_window import MainWindow

    w = MainWindow(runs_root=str(tmp_path / "runs"))  # no experiment given: the app starts on the start page
    qtbot.addWidget(w)
    w.show()
    assert w.tabs.currentWidget() is w.learn.start_page
    qtbot.waitUntil(lambda: w.experiment is not None and w.learn.ready, timeout=60000)
    item = w.learn.start_page.item_for("15-collapse")
    tree = w.learn.start_page.tree
    tree.scrollToItem(item)
    rect = tree.visualItemRect(item)
    # a double click as a mouse makes it: press-release, then press-double-click-release
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: w.learn.dock.isVisible(), timeout=5000)
    assert w.learn.panel.lesson.id == "15-collapse"
    w.wizard.reject()


def test_glossary_reaches_the_cockpit_and_the_evaluation_table(window, qtbot, tiny_experiment):
    assert "effective rank:" in window.cockpit.rank_plot.toolTip()
    assert "Roy & Vetterli" in window.cockpit.rank_plot.toolTip()
    result = core.run_to_end(core.train(tiny_experiment))
    record = core.run_to_end(core.evaluate(core.load_trained(result.run_dir), ("linear_probe",), ()))
    core.RunDirectory.open(result.run_dir).write_evaluation(record.to_record())
    window.open_run(result.run_dir)
    table = window.evaluation.table
    row = next(i for i in range(table.rowCount()) if table.item(i, 0).text() == "probe accuracy")
    assert "logistic-regression" in table.item(row, 0).toolTip()
