"""Issue 17, the window as a person sees it: a failed or slow engine load, the dark theme's colours, the cockpit's
glossary tooltips, and nothing clipped or overlapping at the smallest supported size (1024 × 700)."""
from __future__ import annotations

import threading

import pytest

C10D = "operator _c10d_functional::_wrap_tensor_autograd does not exist"


def broken_loader(source):
    raise RuntimeError(C10D)


def test_a_failed_engine_load_reaches_the_error_dialog_and_offers_a_retry(qtbot, tmp_path, monkeypatch,
                                                                          tiny_experiment):
    from PySide6.QtCore import Qt

    import replearn_gui.main_window as mw

    monkeypatch.setattr(mw, "load_experiment_job", broken_loader)
    w = mw.MainWindow(runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=30000)
    box = w.error_box
    assert box.windowTitle() == "Cannot load the training engine"
    assert C10D in box.text() and "RuntimeError" in box.text()
    assert "Traceback" in box.detailedText() and "broken_loader" in box.detailedText()
    qtbot.waitUntil(lambda: not w.loader_job.busy, timeout=10000)
    # the window left the loading state: no busy bar, no ticking clock, and it says what failed and what to do
    assert w.progress.maximum() != 0 and not w.loading_clock.isActive()
    description = w.experiment_panel.description.text()
    assert "Loading" not in description and C10D in description and "Retry" in description
    assert "Loading" not in w.learn.start_page.placeholder.text(0)
    assert w.experiment_panel.retry_button.isVisible()
    assert not w.start_action.isEnabled()
    # the user fixes the problem and presses Retry (the button in the dialog): the experiment loads
    monkeypatch.setattr(mw, "load_experiment_job", lambda source: tiny_experiment)
    retry = box.findChild(type(box.buttons()[0]), "retryLoad")
    qtbot.mouseClick(retry, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: w.experiment is not None and w.start_action.isEnabled(), timeout=30000)
    assert w.experiment_panel.values["Experiment"].text() == "tiny"
    assert not w.experiment_panel.retry_button.isVisible()


def test_a_slow_load_shows_a_busy_bar_and_counts_its_seconds(qtbot, tmp_path, monkeypatch, tiny_experiment):
    import replearn_gui.main_window as mw

    release = threading.Event()

    def slow_loader(source):
        release.wait(20)
        return tiny_experiment

    monkeypatch.setattr(mw, "load_experiment_job", slow_loader)
    w = mw.MainWindow(runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    try:
        assert w.progress.maximum() == 0  # an indeterminate (moving) bar
        qtbot.waitUntil(lambda: " s (" in w.statusBar().currentMessage(), timeout=5000)
        assert w.statusBar().currentMessage().startswith("Loading the training engine… 1 s")
    finally:
        release.set()
    qtbot.waitUntil(lambda: w.experiment is not None and not w.loader_job.busy, timeout=30000)
    assert w.progress.maximum() != 0 and not w.loading_clock.isActive()


# ---- the dark theme: colours as rendered ----------------------------------------------------------------------
def luminance(rgb) -> float:
    def channel(c):
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(float(c)) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def pixels(widget):
    """The widget as drawn on screen: an (h, w, 3) RGB array of its grabbed pixels."""
    import numpy as np
    from PySide6.QtGui import QImage

    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB32)
    raw = np.frombuffer(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine() // 4, 4)
    return raw[:, : image.width(), 2::-1].astype(int)  # BGRA in memory -> RGB


def background_and_text(widget):
    """The most common colour (the background) and the drawn colour that stands out most from it (the text)."""
    import numpy as np

    rgb = pixels(widget).reshape(-1, 3)
    colours, counts = np.unique(rgb, axis=0, return_counts=True)
    background = colours[counts.argmax()]
    text = max(colours, key=lambda c: contrast(c, background))
    return tuple(background), tuple(text)


def switch_theme_in_preferences(qtbot, window, dark: bool):
    """File → Preferences… (its shortcut), tick or untick Dark theme with the mouse, press OK."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtWidgets import QDialogButtonBox

    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.preferences is not None and window.preferences.isVisible(), timeout=5000)
    dialog = window.preferences
    if dialog.dark.isChecked() != dark:
        box = dialog.dark  # its indicator, at the left (the widget may be wider than its text)
        qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))
    assert dialog.dark.isChecked() == dark
    qtbot.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible(), timeout=5000)
    assert window.dark_action.isChecked() == dark


@pytest.mark.parametrize("dark", [False, True])
def test_about_link_and_health_banner_follow_the_theme(window, qtbot, dark):
    import numpy as np
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication, QLabel

    from core.diagnostics.collapse import Verdict

    switch_theme_in_preferences(qtbot, window, dark)
    try:
        app_window = QApplication.palette().color(QPalette.ColorRole.Window)
        assert (luminance(app_window.getRgb()[:3]) < 0.1) == dark
        # About: its docs link is drawn in the theme's link colour, readable on the box's background
        window.about_action.trigger()
        box = window.actions.about_box
        qtbot.waitUntil(box.isVisible, timeout=5000)
        label = box.findChild(QLabel, "qt_msgbox_label")
        link = label.palette().color(QPalette.ColorRole.Link)
        box_background = label.palette().color(QPalette.ColorRole.Window)
        assert contrast(link.getRgb()[:3], box_background.getRgb()[:3]) >= 4.5
        drawn = pixels(label)
        near_link = np.abs(drawn - np.array(link.getRgb()[:3])).sum(axis=2) < 60
        assert near_link.sum() > 30  # the link's glyphs are on screen in that colour
        box.close()
        # the health banner, for each verdict and for a diverged run: readable, and dark on a dark window
        cockpit = window.cockpit
        for status in ("healthy", "dimensional collapse", "complete collapse"):
            cockpit.show_verdict(Verdict(status, f"{status}: a sentence about it", ()))
            background, text = background_and_text(cockpit.banner)
            assert contrast(background, text) >= 4.5, (status, background, text)
            assert (luminance(background) < 0.1) == dark, (status, background)
        cockpit.show_diverged("Lower the learning rate.")
        background, text = background_and_text(cockpit.banner)
        assert "Diverged" in cockpit.banner.text()
        assert contrast(background, text) >= 4.5 and (luminance(background) < 0.1) == dark
    finally:
        if dark:
            switch_theme_in_preferences(qtbot, window, False)  # the next tests start light


# ---- the cockpit's chart titles explain themselves ---------------------------------------------------------------
def hover_tooltip(qtbot, widget, pos):
    """Hover ``pos`` of ``widget`` as a person would, and return the tooltip Qt shows there."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QHelpEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QToolTip

    QToolTip.hideText()
    qtbot.waitUntil(lambda: not QToolTip.isVisible(), timeout=5000)
    QTest.mouseMove(widget, pos)
    # what Qt sends after the hover delay (the offscreen platform has no hover timer of its own)
    QApplication.sendEvent(widget, QHelpEvent(QEvent.Type.ToolTip, pos, widget.mapToGlobal(pos)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=5000)
    return QToolTip.text()


def test_hovering_a_cockpit_chart_title_shows_its_glossary_tooltip(window, qtbot):
    from PySide6.QtCore import Qt

    cockpit = window.cockpit
    view = cockpit.view
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: cockpit.rank_plot.titleLabel.sceneBoundingRect().width() > 0, timeout=5000)
    expected = {"std_plot": "spread:", "rank_plot": "effective rank:", "spectrum_plot": "dimensional collapse:",
                "cov_plot": "decorrelation:", "heat_plot": "spread:", "probe_plot": "linear probe:",
                "au_plot": "alignment:", "cos_plot": "mean pairwise cosine:"}
    for attr, term in expected.items():
        title = getattr(cockpit, attr).titleLabel
        assert "(?)" in title.text  # the visible marker that the title explains itself
        rect = title.sceneBoundingRect()
        for x in (rect.left() + 0.25 * rect.width(), rect.center().x(), rect.left() + 0.75 * rect.width()):
            pos = view.mapFromScene(x, rect.center().y())
            tip = hover_tooltip(qtbot, view.viewport(), pos)
            assert term in tip, (attr, x, tip[:80])
            assert view.viewport().cursor().shape() == Qt.CursorShape.WhatsThisCursor


# ---- nothing covered, nothing clipped --------------------------------------------------------------------------
def text_fits(edit, text: str) -> bool:
    """A line edit shows ``text`` whole: its text area (inside the frame and Qt's 2 px margins) holds it."""
    from PySide6.QtWidgets import QStyle, QStyleOptionFrame

    option = QStyleOptionFrame()
    edit.initStyleOption(option)
    area = edit.style().subElementRect(QStyle.SubElement.SE_LineEditContents, option, edit)
    return edit.fontMetrics().horizontalAdvance(text) <= area.width() - 4


@pytest.mark.parametrize("width", [300, 480, 760])
def test_the_loss_legend_sits_outside_the_curves_and_the_lr_box_shows_its_text(qtbot, width):
    import numpy as np

    from replearn_gui.widgets.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(width, 300)
    plot.show()
    qtbot.waitExposed(plot)
    rng = np.random.default_rng(0)
    for step in range(1, 200):  # a VICReg-like run: the loss, its three terms and the learning rate
        loss = 25 * np.exp(-step / 40) + 15 + rng.normal()
        plot.add_step(step, loss, {"invariance": loss / 5, "variance": loss * 0.7, "covariance": 2.0}, 1e-3)
        if step % 20 == 0:
            plot.add_validation(step, loss)
    plot.set_training(True)
    plot.refresh()
    legend, vb = plot.plot.plotItem.legend, plot.plot.plotItem.vb
    assert len(legend.items) == 7
    # once laid out, the legend is above the data area (no curve passes under it) and whole on screen
    qtbot.waitUntil(lambda: legend.width() > 0 and not legend.sceneBoundingRect().intersects(vb.sceneBoundingRect()),
                    timeout=5000)
    on_screen = plot.plot.mapFromScene(legend.sceneBoundingRect()).boundingRect()
    assert plot.plot.viewport().rect().contains(on_screen), on_screen
    assert vb.height() > 60  # and the curves keep room
    assert text_fits(plot.lr_edit, plot.lr_edit.placeholderText())
    plot.lr_edit.setText("0.00025")
    assert text_fits(plot.lr_edit, "0.00025")


TEXT_WIDGETS = ("QLabel", "QAbstractButton", "QComboBox", "QLineEdit", "QAbstractSpinBox")


def clipped_widgets(root) -> list[str]:
    """Visible controls drawn narrower than their text needs (squeezed below their minimum size hint), or lying
    partly outside their parent (cut off by its edge). Scrolled contents and Qt's own parts are left out."""
    from PySide6 import QtWidgets

    kinds = tuple(getattr(QtWidgets, k) for k in TEXT_WIDGETS)
    problems = []
    for w in root.findChildren(QtWidgets.QWidget):
        if not w.isVisibleTo(root) or w.objectName().startswith("qt_") or isinstance(w.parent(), QtWidgets.QTabBar):
            continue
        name = f"{type(w).__name__} {w.objectName() or getattr(w, 'text', lambda: '')()!r}"
        wraps = isinstance(w, QtWidgets.QLabel) and w.wordWrap()
        if isinstance(w, kinds) and not wraps and w.width() < w.minimumSizeHint().width() - 1:
            problems.append(f"{name}: {w.width()} px wide, needs {w.minimumSizeHint().width()}")
        parent = w.parentWidget()
        scrolled = parent is not None and parent.objectName() == "qt_scrollarea_viewport"
        folded = isinstance(parent, QtWidgets.QSplitter) and parent.sizes()[parent.indexOf(w)] == 0
        if folded:  # a splitter pane the user (or the lesson) folded away is off screen on purpose
            continue
        inside = parent is None or parent.rect().adjusted(-1, -1, 1, 1).contains(w.geometry())
        if not (inside or scrolled or w.isWindow()):
            problems.append(f"{name}: {w.geometry()} outside its parent {parent.rect()}")
    return problems


def overlapping(items) -> list[tuple]:
    rects = [(i, i.sceneBoundingRect().adjusted(1, 1, -1, -1)) for i in items]
    return [(a, b) for k, (a, ra) in enumerate(rects) for b, rb in rects[k + 1:] if ra.intersects(rb)]


def check_the_window(qtbot, window, where: str) -> None:
    qtbot.wait(50)  # (layouts settle on posted events; nothing runs in the background here)
    assert clipped_widgets(window) == [], where
    cockpit = window.cockpit
    plots = [cockpit.std_plot, cockpit.rank_plot, cockpit.spectrum_plot, cockpit.cov_plot, cockpit.heat_plot,
             cockpit.probe_plot, cockpit.au_plot, cockpit.cos_plot]
    if cockpit.isVisible():
        assert overlapping(plots) == [], where
        assert all(cockpit.view.sceneRect().contains(p.sceneBoundingRect()) for p in plots), where
    figures = window.evaluation.figures
    if figures.isVisible():
        assert overlapping(figures.plots) == [], where
        assert all(p.sceneBoundingRect().right() <= figures.viewport().width() + 1 for p in figures.plots), where
        hint = figures._hints[figures.transfer_plot]
        assert figures.transfer_plot.vb.sceneBoundingRect().contains(hint.sceneBoundingRect()), where


def test_nothing_is_clipped_or_covered_at_1024_by_700(window, qtbot):
    import core

    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.embeddings.primary is not None, timeout=10000)
    for tab in (window.learn.start_page, window.training, window.embeddings, window.evaluation):
        window.tabs.setCurrentWidget(tab)
        check_the_window(qtbot, window, window.tabs.tabText(window.tabs.currentIndex()))
    # a lesson docked beside the tabs: the runs column folds away to make room, and comes back when it closes
    main = window.splitters["main"]
    # the runs column as a fresh install has it (the test session's saved layout may hold an earlier test's)
    main.setSizes([260, max(main.width() - 260, 1)])
    window.learn.open_lesson(core.all_lessons()[0].id)
    window.wizard.reject()
    qtbot.waitUntil(lambda: window.learn.dock.isVisible() and main.sizes()[0] == 0, timeout=5000)
    for tab in (window.training, window.embeddings, window.evaluation):
        window.tabs.setCurrentWidget(tab)
        check_the_window(qtbot, window, f"{window.tabs.tabText(window.tabs.currentIndex())} beside the lesson")
    window.learn.dock.close()
    qtbot.waitUntil(lambda: main.sizes()[0] >= 220, timeout=5000)  # the runs column is back, whole


@pytest.mark.parametrize("width", [370, 520, 800])
def test_evaluation_figures_fit_their_width_and_hints_stay_inside_their_plot(qtbot, width):
    from replearn_gui.evaluation.figures import EvaluationFigures

    figures = EvaluationFigures()
    qtbot.addWidget(figures)
    figures.resize(800, 1400)
    figures.show()
    qtbot.waitExposed(figures)
    figures.resize(width, 1400)  # as when the window or a splitter narrows the tab
    qtbot.waitUntil(lambda: figures.columns == max(1, min(3, width // 240)), timeout=5000)
    qtbot.wait(50)  # (the grid lays out on a posted event)
    assert overlapping(figures.plots) == []
    assert all(p.sceneBoundingRect().right() <= figures.viewport().width() + 1 for p in figures.plots), [
        round(p.sceneBoundingRect().right()) for p in figures.plots]
    for plot in (figures.transfer_plot, figures.invariance_plot):
        hint = figures._hints.get(plot)
        if hint is not None:
            assert plot.vb.sceneBoundingRect().contains(hint.sceneBoundingRect())
    hint = figures._hints[figures.transfer_plot]
    assert "Transfer" in hint.textItem.toPlainText()


def test_a_failing_engine_warm_up_reaches_the_error_dialog_and_the_window_stays_usable(qtbot, tmp_path,
                                                                                       monkeypatch,
                                                                                       tiny_experiment_file):
    import core
    from replearn_gui.main_window import MainWindow

    def broken_warm_up():
        raise RuntimeError(C10D)

    monkeypatch.setattr(core, "warm_up_engine", broken_warm_up)
    w = MainWindow(experiment=str(tiny_experiment_file), runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.error_box is not None and w.error_box.isVisible(), timeout=30000)
    assert w.error_box.windowTitle() == "Cannot prepare the training engine"
    assert C10D in w.error_box.text() and "broken_warm_up" in w.error_box.detailedText()
    qtbot.waitUntil(lambda: not w.warm_up.busy and w.start_action.isEnabled(), timeout=10000)
    assert w.experiment_panel.values["Experiment"].text() == "tiny" and w.progress.maximum() != 0
    w.error_box.close()
