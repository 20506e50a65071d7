"""The experiment presets shipped in ``resources/experiments`` (the wizard's starting points)."""
from __future__ import annotations

from pathlib import Path

from core.config.io import load_experiment
from core.config.schema import Experiment
from core.errors import UnknownNameError

DEFAULT_PRESET = "digits-supervised"


def presets_dir() -> Path:
    import replearn_resources

    return replearn_resources.path("experiments")


def preset_names() -> list[str]:
    return sorted(p.stem for p in presets_dir().glob("*.toml"))


def preset_path(name: str) -> Path:
    path = presets_dir() / f"{name}.toml"
    if not path.is_file():
        import difflib

        names = preset_names()
        raise UnknownNameError("preset", name, names, difflib.get_close_matches(name, names, n=2))
    return path


def load_preset(name: str = DEFAULT_PRESET) -> Experiment:
    return load_experiment(preset_path(name))
