"""Typed, self-describing parameters: the one place where configuration values are checked.

Every configurable thing (a dataset, an encoder, an objective, the training settings) is a frozen,
keyword-only dataclass whose fields are declared with :func:`param`. The field metadata (label, help text,
bounds, choices) is what the wizard's forms, the CLI's ``describe`` and the validation errors are generated
from, so a new option is written once.

Supported field types: ``int``, ``float``, ``bool``, ``str``, ``Literal[...]``, ``tuple[int, ...]`` /
``tuple[float, ...]`` / ``tuple[str, ...]``, and any of these ``| None``.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from core.errors import ConfigError

_SCALARS = (int, float, bool, str)


def param(
    default: Any,
    *,
    label: str,
    help: str = "",
    min: float | None = None,
    max: float | None = None,
    min_exclusive: bool = False,
    max_exclusive: bool = False,
    min_items: int = 0,
    pattern_hint: str | None = None,
) -> Any:
    """Declare a parameter field with its user-facing description and bounds.

    ``min``/``max`` bound numbers and every item of a tuple; ``min_items`` bounds a tuple's length.
    ``pattern_hint`` documents the accepted strings for free-form string fields that have a custom check.
    """
    meta = {
        "label": label,
        "help": help,
        "min": min,
        "max": max,
        "min_exclusive": min_exclusive,
        "max_exclusive": max_exclusive,
        "min_items": min_items,
        "pattern_hint": pattern_hint,
    }
    return dataclasses.field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldSpec:
    """Everything a form, a CLI option or a validator needs to know about one parameter."""

    name: str
    kind: str  # "int" | "float" | "bool" | "str" | "choice" | "tuple"
    default: Any
    label: str
    help: str
    optional: bool = False
    choices: tuple[Any, ...] = ()
    item_kind: str | None = None  # for tuples
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    max_exclusive: bool = False
    min_items: int = 0
    pattern_hint: str | None = None

    def allowed(self) -> str:
        """The allowed values in words, e.g. ``0 < value <= 10`` or ``'adam', 'sgd'``."""
        if self.kind == "choice":
            return ", ".join(repr(c) for c in self.choices)
        if self.kind == "bool":
            return "true or false"
        parts = []
        if self.kind == "tuple":
            parts.append(f"a list of {self.item_kind}s" + (f" with at least {self.min_items} item(s)" if self.min_items else ""))
        elif self.kind in ("int", "float"):
            parts.append("an integer" if self.kind == "int" else "a number")
        elif self.pattern_hint:
            parts.append(self.pattern_hint)
        else:
            parts.append("a string")
        lo = f"{_num(self.min)} {'<' if self.min_exclusive else '<='} " if self.min is not None else ""
        hi = f" {'<' if self.max_exclusive else '<='} {_num(self.max)}" if self.max is not None else ""
        if lo or hi:
            parts.append(("each " if self.kind == "tuple" else "") + f"{lo}value{hi}")
        text = ", ".join(parts)
        if self.optional:
            text += ", or empty"
        return text


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(tp)) == 2:
            return args[0], True
        raise TypeError(f"unsupported union type {tp!r}")
    return tp, False


def _kind_of(tp: Any) -> tuple[str, tuple[Any, ...], str | None]:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "choice", typing.get_args(tp), None
    if origin is tuple:
        args = typing.get_args(tp)
        if len(args) != 2 or args[1] is not Ellipsis or args[0] not in (int, float, str):
            raise TypeError(f"only tuple[int|float|str, ...] is supported, not {tp!r}")
        return "tuple", (), args[0].__name__
    if tp in _SCALARS:
        return tp.__name__, (), None
    raise TypeError(f"unsupported parameter type {tp!r}")


_SPEC_CACHE: dict[type, tuple[FieldSpec, ...]] = {}


def field_specs(cls: type) -> tuple[FieldSpec, ...]:
    """The :class:`FieldSpec` of every field of a parameter dataclass (cached)."""
    if cls in _SPEC_CACHE:
        return _SPEC_CACHE[cls]
    hints = typing.get_type_hints(cls, include_extras=False)
    specs = []
    for f in dataclasses.fields(cls):
        tp, optional = _unwrap_optional(hints[f.name])
        kind, choices, item_kind = _kind_of(tp)
        meta = f.metadata
        if "label" not in meta:
            raise TypeError(f"{cls.__qualname__}.{f.name} must be declared with param(...)")
        specs.append(
            FieldSpec(
                name=f.name, kind=kind, default=f.default, label=meta["label"], help=meta["help"],
                optional=optional, choices=choices, item_kind=item_kind, min=meta["min"], max=meta["max"],
                min_exclusive=meta["min_exclusive"], max_exclusive=meta["max_exclusive"],
                min_items=meta["min_items"], pattern_hint=meta["pattern_hint"],
            )
        )
    _SPEC_CACHE[cls] = tuple(specs)
    return _SPEC_CACHE[cls]


def _coerce_scalar(kind: str, value: Any, spec: FieldSpec, where: str) -> Any:
    def bad(problem: str) -> ConfigError:
        return ConfigError(where, problem, value=value, allowed=spec.allowed())

    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise bad(f"expected true or false, got {value!r}")
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"expected an integer, got {value!r}")
        if isinstance(value, float):
            if not value.is_integer():
                raise bad(f"expected an integer, got {value!r}")
            value = int(value)
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad(f"expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise bad(f"expected a finite number, got {value!r}")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise bad(f"expected a string, got {value!r}")
        return value
    raise AssertionError(kind)


def _check_bounds(x: float, spec: FieldSpec, where: str, shown: Any) -> None:
    lo_bad = spec.min is not None and (x <= spec.min if spec.min_exclusive else x < spec.min)
    hi_bad = spec.max is not None and (x >= spec.max if spec.max_exclusive else x > spec.max)
    if lo_bad or hi_bad:
        raise ConfigError(where, f"{shown!r} is out of range", value=shown, allowed=spec.allowed())


def coerce_field(spec: FieldSpec, value: Any, where: str | None = None) -> Any:
    """Check one value against its spec and return it in canonical form (lists become tuples, ints floats)."""
    where = where or spec.name
    if value is None:
        if spec.optional:
            return None
        raise ConfigError(where, "a value is required", value=None, allowed=spec.allowed())
    if spec.kind == "choice":
        if value not in spec.choices or isinstance(value, bool) != isinstance(spec.choices[0], bool):
            close = difflib.get_close_matches(str(value), [str(c) for c in spec.choices], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(where, f"{value!r} is not a valid choice{hint}", value=value, allowed=spec.allowed())
        return value
    if spec.kind == "tuple":
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(where, f"expected a list, got {value!r}", value=value, allowed=spec.allowed())
        assert spec.item_kind is not None  # every tuple field declares its item kind
        items = tuple(
            _coerce_scalar(spec.item_kind, v, spec, f"{where}[{i}]") for i, v in enumerate(value)
        )
        if len(items) < spec.min_items:
            raise ConfigError(where, f"needs at least {spec.min_items} item(s), got {len(items)}",
                              value=value, allowed=spec.allowed())
        if spec.item_kind in ("int", "float"):
            for i, v in enumerate(items):
                _check_bounds(v, spec, f"{where}[{i}]", v)
        return items
    value = _coerce_scalar(spec.kind, value, spec, where)
    if spec.kind in ("int", "float"):
        _check_bounds(value, spec, where, value)
    return value


@dataclass(frozen=True, kw_only=True)
class Params:
    """Base of every parameter dataclass: values are checked and normalised when the object is made.

    Subclasses are ``@dataclass(frozen=True, kw_only=True)`` with fields declared by :func:`param`. Override
    :meth:`check` for rules that involve several fields (raise :class:`ConfigError` naming the field).
    """

    def __post_init__(self) -> None:
        for spec in field_specs(type(self)):
            value = coerce_field(spec, getattr(self, spec.name))
            object.__setattr__(self, spec.name, value)
        self.check()

    def check(self) -> None:
        """Cross-field rules; the default has none."""

    def to_dict(self) -> dict[str, Any]:
        return to_mapping(self)


def to_mapping(obj: Any) -> dict[str, Any]:
    """A parameter dataclass as plain data (tuples become lists; ``None`` values are left out)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        v = getattr(obj, f.name)
        if v is None:
            continue
        if dataclasses.is_dataclass(v):
            v = to_mapping(v)
        elif isinstance(v, tuple):
            v = list(v)
        out[f.name] = v
    return out


def from_mapping(cls: type, data: Mapping[str, Any] | None, path: str = "") -> Any:
    """Build a :class:`Params` subclass from plain data, naming the field in every error.

    Unknown keys are rejected with the closest valid name; missing keys take their defaults.
    """
    data = dict(data or {})
    if not isinstance(data, dict):
        raise ConfigError(path, f"expected a table of settings, got {data!r}")
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            close = difflib.get_close_matches(key, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            where = f"{path}.{key}" if path else key
            raise ConfigError(where, f"unknown setting{hint}", value=key, allowed=", ".join(names) or "no settings")
    try:
        return cls(**data)
    except ConfigError as err:
        raise (err.with_prefix(path) if path else err) from None


# Registered classes declare ``class Params(BaseParams)``: the same class under a name that differs from the
# nested class's own (mypy cannot resolve ``class Params(Params)`` inside a class body).
BaseParams = Params
