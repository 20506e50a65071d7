"""The glossary: the chapter's terms in the app's words (``resources/glossary/glossary.toml``), findable by term or by
the metric names the engine records, for tooltips in the cockpit and the evaluation table."""
from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping


@functools.lru_cache(maxsize=1)
def glossary() -> Mapping[str, Mapping]:
    """term → {"text": ..., "metrics": [...]} (terms lower case)."""
    import replearn_resources

    with replearn_resources.path("glossary", "glossary.toml").open("rb") as f:
        return {k.lower(): v for k, v in tomllib.load(f).items()}


def define(term: str) -> str | None:
    """The definition of ``term`` (any case), or None."""
    entry = glossary().get(term.lower())
    return None if entry is None else entry["text"]


@functools.lru_cache(maxsize=512)
def explain_metric(name: str) -> str | None:
    """The glossary text for a recorded metric name: ``robustness_drop[noise]`` and ``probe_accuracy[layer1]``
    read as their base names, ``pca_2d_trustworthiness`` as itself or ``trustworthiness``."""
    base = re.sub(r"\[.*\]$", "", name.strip().lower().replace(" ", "_"))
    candidates = [base, re.sub(r"^pca_2d_", "", base)]
    for candidate in candidates:
        for term, entry in glossary().items():
            if candidate in entry.get("metrics", ()):
                return f"{term}: {entry['text']}"
    for candidate in candidates:  # a metric spelt like a term ("uniformity")
        text = define(candidate.replace("_", " "))
        if text:
            return f"{candidate.replace('_', ' ')}: {text}"
    return None
