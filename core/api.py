"""The public surface of ``core``: everything the GUI, the CLI and notebooks use.

Importing it registers the built-in datasets, encoders and objectives.
"""
from __future__ import annotations

from core.data import builtin as _builtin_data  # noqa: F401  (registration)
from core.data.base import DATASETS
from core.models.encoders import ENCODERS
from core import objectives as _builtin_objectives  # noqa: F401  (registration)
from core.objectives.base import OBJECTIVES
from core.registry import Registry

REGISTRIES: dict[str, Registry] = {"datasets": DATASETS, "encoders": ENCODERS, "objectives": OBJECTIVES}

__all__ = [name for name in dir() if not name.startswith("_") and name != "annotations"]
