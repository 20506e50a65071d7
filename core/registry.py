"""Typed registries: the extension points of RepLearn Studio.

Datasets, encoders and objectives (later augmentations, projections, probes) are classes registered by a
decorator. Each has a nested frozen ``Params`` dataclass (see :mod:`core.params`); the wizard's forms,
the CLI's ``list``/``describe`` and the contract tests are generated from the registry, so adding an
objective is one file and no GUI code::

    @OBJECTIVES.register("vicreg", data_kinds=("image", "tabular"))
    class VICReg(Objective):
        '''Variance-Invariance-Covariance regularisation (Bardes et al., 2022). ...'''
        @dataclass(frozen=True, kw_only=True)
        class Params(core.Params):
            sim_coeff: float = param(25.0, label="Invariance weight", min=0)
"""
from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from core.errors import UnknownNameError
from core.params import FieldSpec, Params, field_specs, from_mapping

_BaseParams = Params  # Entry.Params (a property) shadows the name inside Entry

T = TypeVar("T")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered class with what the front ends show about it."""

    kind: str
    name: str
    cls: type[T]
    info: Mapping[str, Any] = field(default_factory=dict)

    @property
    def Params(self) -> type[_BaseParams]:  # noqa: N802 - named after the nested class it returns
        return self.cls.Params  # type: ignore[attr-defined]

    @property
    def fields(self) -> tuple[FieldSpec, ...]:
        return field_specs(self.Params)

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.cls.__doc__ or "")

    @property
    def summary(self) -> str:
        """The first sentence of the class docstring, on one line."""
        paragraph = " ".join(self.description.split("\n\n")[0].split())
        end = re.search(r"(?<=[.!?])\s(?=[A-Z(])", paragraph)
        return paragraph[: end.start()] if end else paragraph

    def make_params(self, values: _BaseParams | Mapping[str, Any] | None = None, path: str = "") -> _BaseParams:
        """Parameters for this entry from an instance, a mapping, or nothing (defaults)."""
        if isinstance(values, self.Params):
            return values
        if isinstance(values, _BaseParams):
            raise TypeError(f"{type(values).__qualname__} is not the Params of {self.kind} {self.name!r}")
        return from_mapping(self.Params, values, path)


class Registry(Generic[T]):
    """Named classes of one kind (``"objective"``, ``"encoder"``, ...)."""

    def __init__(self, kind: str, base: type | None = None, builtins: tuple[str, ...] = ()):
        """``builtins`` names the modules that register the built-in entries; they are imported the first time
        the registry is read (so ``import core`` stays cheap and a registry is never seen half-filled)."""
        self.kind = kind
        self.base = base
        self.builtins = builtins
        self._loaded = not builtins
        self._loading = False
        # another thread reading while the built-ins import must wait for them, not see the registry half-filled
        # (the app's experiment loader and its engine warm-up read registries at the same time). Re-entrant: the
        # modules being imported register into this registry on the importing thread.
        self._lock = threading.RLock()
        self._entries_: dict[str, Entry[T]] = {}

    @property
    def _entries(self) -> dict[str, Entry[T]]:
        if not self._loaded:
            with self._lock:
                if not self._loaded and not self._loading:
                    self._loading = True  # the modules register into this registry while loading
                    try:
                        for module in self.builtins:
                            importlib.import_module(module)
                    finally:
                        self._loaded, self._loading = True, False
        return self._entries_

    def register(self, name: str, **info: Any) -> Callable[[type[T]], type[T]]:
        """Class decorator: register ``cls`` under ``name`` with extra ``info`` (e.g. ``data_kinds``)."""
        if not _NAME.match(name):
            raise ValueError(f"{self.kind} name {name!r} must be lower_snake_case")

        def decorator(cls: type[T]) -> type[T]:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is already registered by {self._entries[name].cls!r}")
            params = getattr(cls, "Params", None)
            if not (isinstance(params, type) and issubclass(params, Params) and dataclasses.is_dataclass(params)):
                raise TypeError(f"{cls.__qualname__} needs a nested Params dataclass deriving from core.Params")
            if self.base is not None and not issubclass(cls, self.base):
                raise TypeError(f"{cls.__qualname__} must derive from {self.base.__qualname__}")
            field_specs(params)  # fail at import time on an undeclared or unsupported field
            cls.registry_name = name  # type: ignore[attr-defined]
            self._entries_[name] = Entry(self.kind, name, cls, dict(info))
            return cls

        return decorator

    def get(self, name: str, field: str = "") -> Entry[T]:
        """The entry called ``name``; an unknown name raises with the closest suggestions."""
        try:
            return self._entries[name]
        except (KeyError, TypeError):
            suggestions = difflib.get_close_matches(str(name), list(self._entries), n=2, cutoff=0.5)
            err = UnknownNameError(self.kind, str(name), self.names(), suggestions, field)
            from core.plugins import offer

            hint = offer(self.kind, str(name))
            if hint:  # an installed plugin provides it: say how to load it (it is never loaded unasked)
                err.problem += hint
                err.args = (err._format(),)
            raise err from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[Entry[T]]:
        return iter(self.entries())

    def __len__(self) -> int:
        return len(self._entries)

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and plug-in reloads)."""
        self._entries.pop(name, None)
