"""Settings shared by the command line and the app: where runs go by default.

The CLI (``replearn train`` of an experiment whose ``output.root`` is the default ``"runs"``) and the app write to
the same runs folder, so runs trained in a terminal appear in the app's run list. The folder is, in order:
the ``REPLEARN_RUNS`` environment variable, the one chosen in the app's Preferences (kept in
``settings.json`` in the user's config folder, ``REPLEARN_CONFIG_DIR`` to move it), or
``~/Documents/RepLearn Studio/runs`` (``~/RepLearn Studio/runs`` where there is no Documents folder).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from core.fileio import atomic_write_json

DEFAULT_ROOT = "runs"  # OutputConfig.root's default: "the user's runs folder"


def config_dir() -> Path:
    if os.environ.get("REPLEARN_CONFIG_DIR"):
        return Path(os.environ["REPLEARN_CONFIG_DIR"])
    if os.name == "nt" and os.environ.get("APPDATA"):
        return Path(os.environ["APPDATA"]) / "RepLearn Studio"
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "replearn-studio"


def settings_path() -> Path:
    return config_dir() / "settings.json"


def read_settings() -> dict:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def default_runs_folder() -> Path:
    docs = Path.home() / "Documents"
    return (docs if docs.is_dir() else Path.home()) / "RepLearn Studio" / "runs"


def runs_folder() -> Path:
    """The runs folder the CLI and the app share (see the module's docstring for the order)."""
    if os.environ.get("REPLEARN_RUNS"):
        return Path(os.environ["REPLEARN_RUNS"]).expanduser()
    chosen = read_settings().get("runs_folder")
    if isinstance(chosen, str) and chosen.strip():
        return Path(chosen).expanduser()
    return default_runs_folder()


def set_runs_folder(path: str | os.PathLike) -> None:
    """Remember ``path`` as the runs folder (atomically; the other settings are kept)."""
    settings = read_settings()
    settings["runs_folder"] = str(Path(path).expanduser().resolve())
    settings_path().parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(settings_path(), settings)


def resolve_root(root: str | os.PathLike) -> Path:
    """Where a run of an experiment with ``output.root = root`` goes: the shared runs folder for the default
    ``"runs"``, the given folder otherwise."""
    return runs_folder() if str(root) == DEFAULT_ROOT else Path(root)
