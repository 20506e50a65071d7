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
