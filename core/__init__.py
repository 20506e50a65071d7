"""RepLearn Studio's core library: data, models, objectives, the training engine, diagnostics and evaluation.

Pure Python (torch, numpy, scikit-learn); never imports Qt. Everything public is re-exported from
:mod:`core.api`, lazily: ``import core`` is cheap, and ``core.train`` imports the training engine when first read::

    import core
    result = core.run_to_end(core.train(core.load_preset("digits-supervised")))
"""
from __future__ import annotations

from typing import Any

from core import api as _api
from core._version import __version__

__all__ = ["__version__", *_api.__all__]


def __getattr__(name: str) -> Any:
    if name not in _api.__all__:  # AttributeError lets `from core import submodule` fall back to importing it
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(_api, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
