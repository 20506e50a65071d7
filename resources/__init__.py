"""RepLearn Studio's resources: experiment presets, themes, icons, report templates.

In a source checkout this is the top-level ``resources/`` folder; in an installed wheel it is the package
``replearn_resources``. Use :func:`path` to find a file in either case.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    return ROOT.joinpath(*parts)
