"""Experiments as TOML files: load (with migration and field-named errors) and save (atomically)."""
from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from core.config import migrations
from core.config.schema import (
    SCHEMA_VERSION,
    AugmentationConfig,
    DataConfig,
    EncoderConfig,
    Experiment,
    ObjectiveConfig,
    OutputConfig,
    SplitConfig,
    TrainingConfig,
)
from core.errors import ConfigError
from core.fileio import atomic_write_text
from core.params import from_mapping, to_mapping

_TOP_LEVEL = ("schema_version", "name", "description", "plugins", "data", "encoder", "objective", "views", "training", "output")


def experiment_to_dict(exp: Experiment) -> dict[str, Any]:
    """Plain data for TOML/JSON, with ``schema_version`` first."""
    return {
        "schema_version": SCHEMA_VERSION,
        "name": exp.name,
        "description": exp.description,
        **({"plugins": list(exp.plugins)} if exp.plugins else {}),
        "data": {"name": exp.data.name, "params": to_mapping(exp.data.params), "split": to_mapping(exp.data.split)},
        "encoder": {"name": exp.encoder.name, "params": to_mapping(exp.encoder.params)},
        "objective": {"name": exp.objective.name, "params": to_mapping(exp.objective.params)},
        "views": [{"name": v.name, "params": to_mapping(v.params)} for v in exp.views],
        "training": to_mapping(exp.training),
        "output": to_mapping(exp.output),
    }


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(key, f"expected a [{key}] table, got {value!r}")
    return dict(value)


def _views(doc: Mapping[str, Any]) -> tuple[AugmentationConfig, ...]:
    items = doc.get("views", [])
    if not isinstance(items, list):
        raise ConfigError("views", f"expected a list of [[views]] tables, got {items!r}")
    views = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ConfigError(f"views[{i}]", f"expected a table with a name, got {item!r}")
        try:
            views.append(_component(AugmentationConfig, {"views": item}, "views"))
        except ConfigError as err:
            err.field = f"views[{i}]" + err.field[len("views"):]
            err.args = (err._format(),)
            raise
    return tuple(views)


def _component(cls: Any, doc: Mapping[str, Any], key: str, extra: tuple[str, ...] = ()) -> Any:
    table = _table(doc, key)
    allowed = ("name", "params") + extra
    for k in table:
        if k not in allowed:
            raise ConfigError(f"{key}.{k}", "unknown setting", value=k, allowed=", ".join(allowed))
    kwargs: dict[str, Any] = {}
    if "name" not in table and dataclasses.fields(cls)[0].default is dataclasses.MISSING:
        raise ConfigError(f"{key}.name", "a name is required", allowed=", ".join(cls.registry().names()))
    if "name" in table:
        if not isinstance(table["name"], str):
            raise ConfigError(f"{key}.name", f"expected a name, got {table['name']!r}")
        kwargs["name"] = table["name"]
    params = table.get("params", {})
    if not isinstance(params, Mapping):
        raise ConfigError(f"{key}.params", f"expected a [{key}.params] table, got {params!r}")
    kwargs["params"] = dict(params)
    if "split" in extra:
        kwargs["split"] = from_mapping(SplitConfig, _table(table, "split"), f"{key}.split")
    return cls(**kwargs)


def experiment_from_dict(doc: Mapping[str, Any], base: Path | None = None) -> Experiment:
    """Validate plain data (e.g. parsed TOML) into an :class:`Experiment`, migrating older schemas. ``base``: the
    folder relative plugin files (``plugins = ["./my_encoder.py"]``) are taken from."""
    if not isinstance(doc, Mapping):
        raise ConfigError("", "an experiment must be a table of settings")
    doc = migrations.migrate(dict(doc), SCHEMA_VERSION)
    for key in doc:
        if key not in _TOP_LEVEL:
            raise ConfigError(key, "unknown setting", value=key, allowed=", ".join(_TOP_LEVEL))
    name = doc.get("name")
    if name is None:
        raise ConfigError("name", "every experiment needs a name")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", f"expected text, got {description!r}")
    plugins = doc.get("plugins", [])
    if not isinstance(plugins, list) or not all(isinstance(p, str) and p.strip() for p in plugins):
        raise ConfigError("plugins", f"expected a list of module or entry-point names, got {plugins!r}")
    if plugins:  # before the components are checked: their names may come from the plugins
        from core.plugins import load_plugins

        plugins = [str((base or Path.cwd()) / p) if p.endswith(".py") and not Path(p).expanduser().is_absolute()
                   else p for p in plugins]
        load_plugins(plugins, where="plugins")
    return Experiment(
        name=name,
        description=description,
        plugins=tuple(plugins),
        data=_component(DataConfig, doc, "data", extra=("split",)),
        encoder=_component(EncoderConfig, doc, "encoder"),
        objective=_component(ObjectiveConfig, doc, "objective"),
        views=_views(doc),
        training=from_mapping(TrainingConfig, _table(doc, "training"), "training"),
        output=from_mapping(OutputConfig, _table(doc, "output"), "output"),
    )


def dumps_experiment(exp: Experiment) -> str:
    return tomli_w.dumps(experiment_to_dict(exp))


def loads_experiment(text: str, source: str = "<string>", base: Path | None = None) -> Experiment:
    from core.errors import PluginError

    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError("", f"{source} is not valid TOML: {err}") from None
    try:
        return experiment_from_dict(doc, base)
    except PluginError as err:
        raise PluginError(f"{source}: {err}") from None


def load_experiment(path: str | os.PathLike) -> Experiment:
    """Read an experiment file; every problem is a :class:`ConfigError` naming the file and field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("", f"experiment file {str(path)!r} does not exist") from None
    except IsADirectoryError:
        raise ConfigError("", f"{str(path)!r} is a directory, not an experiment file") from None
    except UnicodeDecodeError as err:
        raise ConfigError("", f"{str(path)!r} is not a UTF-8 text file (byte {err.start})") from None
    except OSError as err:
        raise ConfigError("", f"cannot read {str(path)!r}: {err.strerror}") from None
    try:
        return resolve_data_paths(loads_experiment(text, source=str(path), base=path.resolve().parent),
                                  path.resolve().parent)
    except ConfigError as err:  # a value that does not validate: say which file holds it
        raise err.in_file(str(path)) from None


def resolve_data_paths(exp: Experiment, base: Path) -> Experiment:
    """Relative data file paths (``path``, ``*_path``) are taken from the experiment file's folder, and made
    absolute, so the run directory's copy of the experiment finds the same files from anywhere."""
    params = exp.data.params
    changes = {}
    for f in dataclasses.fields(params):
        value = getattr(params, f.name)
        if (f.name == "path" or f.name.endswith("_path")) and isinstance(value, str) and value:
            p = Path(value).expanduser()
            if not p.is_absolute():
                changes[f.name] = str((base / p).resolve())
    init = exp.training.init_weights
    if init and not Path(init).expanduser().is_absolute():
        exp = dataclasses.replace(exp, training=dataclasses.replace(
            exp.training, init_weights=str((base / Path(init).expanduser()).resolve())))
    if not changes:
        return exp
    data = DataConfig(name=exp.data.name, params=dataclasses.replace(params, **changes), split=exp.data.split)
    return dataclasses.replace(exp, data=data)


def save_experiment(exp: Experiment, path: str | os.PathLike) -> None:
    atomic_write_text(path, dumps_experiment(exp))
