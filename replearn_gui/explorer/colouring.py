"""Colours for points: a categorical palette per label or metadata value, or a continuous colour map."""
from __future__ import annotations

import colorsys
import re
from dataclasses import dataclass

import numpy as np

CATEGORICAL = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
               (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207), (174, 199, 232), (255, 187, 120),
               (152, 223, 138), (255, 152, 150), (197, 176, 213), (196, 156, 148), (247, 182, 210), (199, 199, 199),
               (219, 219, 141), (158, 218, 229))
CONTINUOUS_LEVELS = 256
MAX_CATEGORIES = 60  # more distinct values than this is treated as a number (or refused, for text)


def categorical_palette(n: int) -> list[tuple[int, int, int]]:
    """Tableau's 20 colours, then evenly spread hues (golden ratio) for more classes."""
    colours = list(CATEGORICAL[:n])
    for i in range(len(colours), n):
        r, g, b = colorsys.hsv_to_rgb((i * 0.618033988749895) % 1.0, 0.65, 0.85)
        colours.append((int(r * 255), int(g * 255), int(b * 255)))
    return colours


def viridis(levels: int = CONTINUOUS_LEVELS) -> list[tuple[int, int, int]]:
    import pyqtgraph as pg

    table = pg.colormap.get("viridis").getLookupTable(nPts=levels, alpha=False)
    return [tuple(int(c) for c in row) for row in table]


@dataclass(frozen=True, eq=False)
class Colouring:
    """What the scatter needs: a colour index per point and the palette; the legend or colour bar to show."""

    index: np.ndarray  # (n,) int32 into palette
    palette: list[tuple[int, int, int]]
    categories: tuple[str, ...] = ()  # legend entries (categorical)
    value_range: tuple[float, float] | None = None  # colour bar (continuous)
    title: str = ""


def natural_key(text: str) -> tuple:
    """Sorts "2" before "10" and "run 9" before "run 10": runs of digits compare as numbers."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part.lower())
                 for part in re.split(r"(\d+)", text) if part)


def _number_name(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def categorical(values: np.ndarray, names: tuple[str, ...] | None = None, title: str = "") -> Colouring:
    """Integer codes (with ``names``) or arbitrary values: their distinct values become the categories, in
    numeric order for numbers (1, 2, 10, not 1, 10, 2) and natural order for text."""
    if names is not None:
        codes = np.asarray(values, dtype=np.int64)
        return Colouring(codes.astype(np.int32), categorical_palette(len(names)), tuple(names), title=title)
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.number) or values.dtype == bool:
        uniques, codes = np.unique(values, return_inverse=True)
        labels = tuple(_number_name(v) for v in uniques)
    else:
        uniques, codes = np.unique(values.astype(str), return_inverse=True)
        order = sorted(range(len(uniques)), key=lambda i: natural_key(str(uniques[i])))
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes = rank[codes.ravel()]
        labels = tuple(str(uniques[i]) for i in order)
    return Colouring(codes.ravel().astype(np.int32), categorical_palette(len(labels)), labels, title=title)


def continuous(values: np.ndarray, title: str = "") -> Colouring:
    """Values mapped linearly onto viridis between their 1st and 99th percentile (outliers do not wash it out);
    non-finite values take the lowest colour."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    lo, hi = (float(np.percentile(finite, 1)), float(np.percentile(finite, 99))) if len(finite) else (0.0, 1.0)
    if hi <= lo:
        hi = lo + 1.0
    t = np.clip((np.nan_to_num(v, nan=lo) - lo) / (hi - lo), 0.0, 1.0)
    index = np.round(t * (CONTINUOUS_LEVELS - 1)).astype(np.int32)
    return Colouring(index, viridis(), value_range=(lo, hi), title=title)


def for_column(values: np.ndarray, title: str) -> Colouring:
    """A metadata column: numbers with many distinct values get a colour map, everything else a palette."""
    values = np.asarray(values)
    distinct = len(np.unique(values))
    if np.issubdtype(values.dtype, np.number) and distinct > 12:
        return continuous(values, title)
    if distinct > MAX_CATEGORIES:
        raise ValueError(f"{title!r} has {distinct} distinct values: too many to tell apart by colour")
    return categorical(values, title=title)
