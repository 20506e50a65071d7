"""Which encoders and objectives fit which data: one set of rules for the engine, the wizard and the tests."""
from __future__ import annotations

from core.errors import ConfigError
from core.models.encoders import ENCODERS
from core.objectives.base import OBJECTIVES


def encoders_for(kind: str) -> list[str]:
    return [e.name for e in ENCODERS if kind in e.info.get("data_kinds", (kind,))]


def objectives_for(kind: str, encoder: str | None = None, has_labels: bool = True) -> list[str]:
    names = []
    for entry in OBJECTIVES:
        if kind not in entry.info.get("data_kinds", (kind,)):
            continue
        if entry.cls.requires_labels and not has_labels:
            continue
        if encoder is not None and not entry.cls.supports_encoder(ENCODERS.get(encoder).cls, kind):
            continue
        names.append(entry.name)
    return names


def check_compatible(kind: str, encoder: str, objective: str, has_labels: bool) -> None:
    """Raise a :class:`ConfigError` naming the field when the three do not fit together."""
    enc = ENCODERS.get(encoder, field="encoder.name")
    obj = OBJECTIVES.get(objective, field="objective.name")
    if kind not in enc.info.get("data_kinds", (kind,)):
        raise ConfigError("encoder.name", f"the {encoder!r} encoder cannot read {kind} data", value=encoder,
                          allowed=", ".join(encoders_for(kind)))
    if kind not in obj.info.get("data_kinds", (kind,)):
        raise ConfigError("objective.name", f"the {objective!r} objective does not apply to {kind} data",
                          value=objective, allowed=", ".join(objectives_for(kind, has_labels=has_labels)))
    if obj.cls.requires_labels and not has_labels:
        raise ConfigError("objective.name", f"{objective!r} needs labels, and this data has none", value=objective,
                          allowed=", ".join(objectives_for(kind, has_labels=False)))
    if not obj.cls.supports_encoder(enc.cls, kind):
        raise ConfigError("encoder.name", f"the {objective!r} objective cannot use the {encoder!r} encoder on "
                          f"{kind} data", value=encoder,
                          allowed=", ".join(e for e in encoders_for(kind)
                                            if obj.cls.supports_encoder(ENCODERS.get(e).cls, kind)))
