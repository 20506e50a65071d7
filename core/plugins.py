"""Plugins: the user's own encoders, objectives, datasets and evaluations, from outside this code base.

A plugin is a Python module that registers entries when it is imported (``@ENCODERS.register("my_net")`` ...).
Loading one runs its code, so nothing is loaded unless the user names it:

- ``plugins = ["my_module"]`` at the top of an experiment TOML (saved with the run, so ``resume``, ``evaluate``,
  ``report``, ``export`` and the app load the same ones when they read the run's config); a name ending in
  ``.py`` is a file, relative to the experiment file's folder;
- ``--plugin my_module`` on the command line (any command), repeatable;
- in the app, the plugins the opened experiment names; the status bar says which are loaded.

A name is a module to import (``my_package.encoders``) or the name of an installed package's *entry point* in one
of :data:`GROUPS` (``[project.entry-points."replearn.encoders"] my_net = "my_package.encoders"``). Installed entry
points are listed (``replearn plugins``) and offered in messages about unknown names, never loaded on their own.
An entry point may point at a module or at a function, which is called once with no arguments.
"""
from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from core.errors import PluginError

GROUPS = ("replearn.encoders", "replearn.objectives", "replearn.datasets", "replearn.evaluations")


@dataclass(frozen=True)
class PluginInfo:
    name: str  # as the user named it
    target: str  # the module (or module:function) that was imported
    source: str  # "module" or "entry point <group>"


_LOADED: dict[str, PluginInfo] = {}


def entry_points() -> list[tuple[str, str, str]]:
    """``(group, name, value)`` of every installed entry point in :data:`GROUPS`, without loading any."""
    from importlib.metadata import entry_points as eps

    found = []
    for group in GROUPS:
        for ep in eps(group=group):
            found.append((group, ep.name, ep.value))
    return sorted(found)


def loaded() -> list[PluginInfo]:
    """The plugins loaded in this process, in the order they were loaded."""
    return list(_LOADED.values())


def load_plugins(names: Iterable[str], where: str = "plugins") -> list[PluginInfo]:
    """Import each named plugin once; :class:`~core.errors.PluginError` names the plugin, ``where`` it was named
    (``plugins`` in a file, ``--plugin``) and what went wrong."""
    out = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        # a file is the same plugin however it is spelled (./p.py on the command line, /abs/p.py in a run's config)
        key = str(Path(name).expanduser().resolve()) if name.endswith(".py") else name
        if key not in _LOADED:
            _LOADED[key] = _load(name, where)
        out.append(_LOADED[key])
    return out


def _load(name: str, where: str) -> PluginInfo:
    points = [(g, n, v) for g, n, v in entry_points() if n == name]
    if points:
        from importlib.metadata import entry_points as eps

        group, _, value = points[0]
        (ep,) = [e for e in eps(group=group) if e.name == name]
        obj = _guarded(name, value, where, ep.load)
        if callable(obj) and not isinstance(obj, type) and not hasattr(obj, "__path__") and \
                type(obj).__name__ != "module":
            _guarded(name, value, where, obj)
        return PluginInfo(name, value, f"entry point {group}")
    if name.endswith(".py"):  # a file next to the experiment: imported under its own name
        path = Path(name).expanduser()
        if not path.is_file():
            raise PluginError(f"{where}: plugin file {str(path)!r} does not exist")
        module = _guarded(name, name, where, lambda: _import_file(path))
        return PluginInfo(name, str(path), "file")
    module = _guarded(name, name, where, lambda: importlib.import_module(name))
    return PluginInfo(name, getattr(module, "__name__", name), "module")


def _import_file(path):
    import importlib.util

    module_name = f"replearn_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module


def _guarded(name: str, target: str, where: str, action):
    try:
        return action()
    except ModuleNotFoundError as err:
        missing = err.name or target
        if missing == target.split(":")[0] or target.startswith(missing + "."):
            raise PluginError(f"{where}: plugin {name!r}: no module named {missing!r} (is it installed, or on "
                              "PYTHONPATH?)") from None
        raise PluginError(f"{where}: plugin {name!r} failed while being imported: it needs the module {missing!r}, "
                          "which is not installed") from None
    except Exception as err:  # noqa: BLE001 - the user's code: any error it raises is reported as the plugin's
        frame = traceback.extract_tb(sys.exc_info()[2])[-1]
        raise PluginError(f"{where}: plugin {name!r} failed while being imported: {type(err).__name__}: {err} "
                          f"({frame.filename}, line {frame.lineno})") from None


def offer(kind: str, name: str) -> str:
    """A hint for an unknown registry name that an installed, not loaded entry point provides."""
    group = {"encoder": "replearn.encoders", "objective": "replearn.objectives",
             "dataset": "replearn.datasets", "evaluation": "replearn.evaluations"}.get(kind)
    try:
        points = [(g, n, v) for g, n, v in entry_points() if g == group and n == name and n not in _LOADED]
    except Exception:  # noqa: BLE001 - broken package metadata must not hide the real message
        return ""
    if not points:
        return ""
    return (f" The installed plugin {points[0][2]!r} provides it: add plugins = [\"{name}\"] to the experiment "
            f"or pass --plugin {name}.")


# the names the package face exports
loaded_plugins = loaded
plugin_entry_points = entry_points
