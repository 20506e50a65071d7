"""The app's own settings (theme, window layout, recent files) in the config folder core's settings use.

QSettings' default place (``~/.config/RepLearn/RepLearn Studio.conf``) would ignore ``REPLEARN_CONFIG_DIR``: the
app's settings live next to core's ``settings.json`` instead, in one INI file, so moving the config folder moves
all of them (and the tests never touch the user's own settings).
"""
from __future__ import annotations

from PySide6.QtCore import QSettings

import core

FILE_NAME = "app.ini"


def app_settings() -> QSettings:
    """The app's QSettings, an INI file in core's config folder (``core.config_dir()``)."""
    return QSettings(str(core.config_dir() / FILE_NAME), QSettings.Format.IniFormat)
