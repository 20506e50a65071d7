"""An axis for small plots: plain tick values (no "(x0.001)" SI scale in the label), and only as many ticks as
fit the axis' length without their texts touching."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtGui import QFontMetricsF

NICE_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def nice_step(at_least: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k that is at least ``at_least``."""
    if not math.isfinite(at_least) or at_least <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(at_least))
    return next(s * power for s in NICE_STEPS if s * power >= at_least * (1 - 1e-9))


def short_e(value: float) -> str:
    """2.5e-06 as "2.5e-6" and 5.0e-06 as "5e-6": a narrow axis has no room for the exponent's padding."""
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa.removesuffix('.0')}e{int(exponent)}"


def tick_text(values: list[float], spacing: float) -> list[str]:
    """Values at a tick spacing as short plain numbers: as many decimals as the spacing needs, e-notation for
    the very small or very large."""
    if not values:
        return []
    biggest = max(abs(v) for v in values)
    places = next((p for p in range(7) if abs(spacing * 10**p - round(spacing * 10**p)) < 1e-6 * spacing * 10**p),
                  7) if spacing > 0 else 0
    if places > 3 or biggest >= 1e5:
        return [short_e(v) if abs(v) > spacing * 1e-6 else "0" for v in values]
    # (0.0 + v: no "-0.00" for a tick at zero that arrived as -1e-17)
    return [f"{0.0 + (v if abs(v) > spacing * 1e-6 else 0.0):.{places}f}" for v in values]


class CompactAxis(pg.AxisItem):
    """An AxisItem whose ticks keep ``min_gap`` pixels between texts (vertical: between lines of text; horizontal:
    room for the widest text) and whose values are written out, never scaled into the label."""

    def __init__(self, orientation: str, min_gap: float = 6.0, **kwargs):
        super().__init__(orientation, **kwargs)
        self.min_gap = min_gap
        self.enableAutoSIPrefix(False)

    def _text_extent(self) -> float:
        """Pixels one tick text needs along the axis."""
        metrics = QFontMetricsF(self.style.get("tickFont") or self.font())
        if self.orientation in ("left", "right"):
            return metrics.height()
        return metrics.horizontalAdvance("-0.000")  # the longest text tick_text writes, give or take

    def tickSpacing(self, minVal, maxVal, size):  # noqa: N802 (pyqtgraph's name)
        if self._tickLevels is not None or self.logMode or size <= 0 or not maxVal > minVal:
            return super().tickSpacing(minVal, maxVal, size)
        span = maxVal - minVal
        at_least = span * (self._text_extent() + self.min_gap) / size
        if not (math.isfinite(span) and math.isfinite(at_least) and at_least > 0):
            return super().tickSpacing(minVal, maxVal, size)
        major = nice_step(at_least)
        return [(major, 0.0)]  # one level: minor ticks would only crowd a small plot

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        if self.logMode:
            return super().tickStrings(values, scale, spacing)
        return tick_text([v * scale for v in values], spacing * scale)

    def generateDrawSpecs(self, p):  # noqa: N802 (pyqtgraph's name)
        """As pyqtgraph's, less any tick text that would reach past the plot's own edges into its neighbour."""
        specs = super().generateDrawSpecs(p)
        plot = self.parentItem()
        if specs is None or plot is None:
            return specs
        axis_spec, tick_specs, text_specs = specs
        bounds = self.mapRectFromItem(plot, plot.boundingRect()).adjusted(-0.5, -0.5, 0.5, 0.5)
        return axis_spec, tick_specs, [spec for spec in text_specs if bounds.contains(spec[0])]
