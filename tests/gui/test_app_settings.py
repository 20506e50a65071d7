"""Issue 17: the app's own settings (theme, window layout, recent files) live in core's config folder
(REPLEARN_CONFIG_DIR), and a window geometry saved on a bigger screen is clamped into the current one."""
from __future__ import annotations

import pytest


@pytest.fixture
def private_home(tmp_path, monkeypatch):
    """HOME, XDG_CONFIG_HOME and QSettings' default folder in tmp: what lands in the default place is seen."""
    from PySide6.QtCore import QSettings

    home = tmp_path / "home"
    (home / ".config").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("REPLEARN_CONFIG_DIR", str(tmp_path / "config"))
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(home / ".config"))
    yield home
    for fmt in (QSettings.Format.IniFormat, QSettings.Format.NativeFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(tmp_path / "qsettings-after"))


def open_window(qtbot, tmp_path, experiment_file):
    from replearn_gui.main_window import MainWindow

    w = MainWindow(experiment=str(experiment_file), runs_root=str(tmp_path / "runs"))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.experiment is not None and w.start_action.isEnabled(), timeout=60000)
    return w


def close_window(qtbot, w):
    w.close()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=30000)


def test_settings_are_written_in_the_config_folder_and_nothing_in_the_default_place(qtbot, tmp_path, private_home,
                                                                                  tiny_experiment_file):
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    w = open_window(qtbot, tmp_path, tiny_experiment_file)
    assert not w.dark_action.isChecked()
    # View → Dark theme, through the menu bar as a person opens it
    view_menu = next(a.menu() for a in w.menuBar().actions() if a.menu() and "View" in a.text())
    QTest.mouseClick(w.menuBar(), Qt.MouseButton.LeftButton, pos=w.menuBar().actionGeometry(view_menu.menuAction()).center())
    qtbot.waitUntil(view_menu.isVisible, timeout=5000)
    QTest.mouseClick(view_menu, Qt.MouseButton.LeftButton, pos=view_menu.actionGeometry(w.dark_action).center())
    qtbot.waitUntil(w.dark_action.isChecked, timeout=5000)
    w.resize(1024, 760)  # fits the offscreen screen (800 × 800) as far as the minimum allows
    close_window(qtbot, w)
    ini = tmp_path / "config" / "app.ini"
    assert ini.is_file()
    text = ini.read_text(encoding="utf-8")
    assert "dark=true" in text and "geometry" in text and "splitter" in text
    assert [p for p in private_home.rglob("*") if p.is_file()] == []  # nothing in ~/.config (nor anywhere in HOME)
    # the next start reads them back from there
    again = open_window(qtbot, tmp_path, tiny_experiment_file)
    assert again.dark_action.isChecked() and (again.width(), again.height()) == (1024, 760)
    close_window(qtbot, again)


def test_a_saved_geometry_bigger_than_the_screen_is_clamped_into_it(qtbot, tmp_path, private_home,
                                                                  tiny_experiment_file):
    w = open_window(qtbot, tmp_path, tiny_experiment_file)
    room = w.screen().availableGeometry()
    w.setGeometry(room.left() + 300, room.top() + 200, room.width() + 1500, room.height() + 900)
    qtbot.waitUntil(lambda: w.height() > room.height(), timeout=5000)
    close_window(qtbot, w)
    again = open_window(qtbot, tmp_path, tiny_experiment_file)
    qtbot.waitUntil(lambda: again.frameGeometry().bottom() <= room.bottom(), timeout=5000)
    frame = again.frameGeometry()
    assert room.top() <= frame.top() and frame.bottom() <= room.bottom()  # the status bar is on the screen
    assert room.left() <= frame.left()
    # as wide as the screen allows, never under the window's minimum
    assert frame.right() <= room.right() or again.width() == again.minimumWidth()
    close_window(qtbot, again)
