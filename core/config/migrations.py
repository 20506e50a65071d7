"""Upgrades of experiment files written by older schema versions.

``MIGRATIONS[v]`` turns a version-``v`` document (plain data) into a version-``v + 1`` one. Loading applies
them in order up to :data:`core.config.schema.SCHEMA_VERSION`; a file from a newer version is refused with a
clear message instead of being misread.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.errors import SchemaVersionError

Document = dict[str, Any]

# Version 1 is the first released schema: nothing to migrate yet. Add ``MIGRATIONS[1] = _v1_to_v2`` when the
# schema changes, and a test that loads a version-1 file.
MIGRATIONS: dict[int, Callable[[Document], Document]] = {}


def migrate(doc: Document, current: int) -> Document:
    """Bring ``doc`` up to schema ``current``; a missing ``schema_version`` is taken as ``current``."""
    version = doc.get("schema_version", current)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise SchemaVersionError("schema_version", f"{version!r} is not a schema version", value=version,
                                 allowed=f"an integer from 1 to {current}")
    if version > current:
        raise SchemaVersionError(
            "schema_version",
            f"this file was written by a newer RepLearn Studio (schema {version}); this version reads up to "
            f"schema {current}. Update RepLearn Studio to open it",
            value=version,
        )
    doc = dict(doc)
    while version < current:
        if version not in MIGRATIONS:
            raise SchemaVersionError("schema_version", f"no migration from schema {version}", value=version)
        doc = MIGRATIONS[version](doc)
        version += 1
        doc["schema_version"] = version
    doc["schema_version"] = current
    return doc
